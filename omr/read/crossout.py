"""One page of a cross-out election ballot: each name read as struck / not struck / unclear, the
stamp, then the ballot's rules (omr.read.interpret) on all of them at once."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import numpy as np

from omr.ballot.layout import PageLayout
from omr.ballot.template import STRUCK, Template
from omr.read.calibration import Profile
from omr.read.inspect import PageReference
from omr.read.interpret import STAMP_PRESENT, crossout_rows
from omr.read.marks import InkLevels
from omr.read.results import MARKED, MarkRead, Reason, RowRead
from omr.read.stamp import read_stamp
from omr.read.strikes import Line, is_grain, measure_strike, overdrawn_rules, rule_overdrawn_mm, strike_call


def read_crossout_page(gray: np.ndarray, homography: np.ndarray, pl: PageLayout, template: Template,
                       reference: PageReference, levels: InkLevels, blur_mm: float, contrast: float,
                       profile: Profile, box_marks: list[MarkRead], writing: bool, streaks: Sequence[Line],
                       bilevel: bool = False, creases: Sequence[Line] = ()
                       ) -> tuple[list[RowRead], list[Reason], dict[str, float], str]:
    """Rows of the page's cross-out contest, the sheet's stamp reasons, the numbers behind them, and the
    stamp's state (present when the page has no stamp area). A
    name mostly hidden by a scanner streak is unclear whatever its ink says; on a 1-bit scan (`bilevel`) so
    is one a line of specks crosses (a thin strike the threshold broke up). `creases`: folds found across the
    page, whose crease alone never makes a name unclear."""
    contest = next(c for c in template.contests if c.kind == "crossout")
    marks: dict[str, list[MarkRead]] = {r: [] for r in contest.row_ids}
    # a scanner streak's or a 1-bit fold line's pixels (`streaks`) are left out of every measure (each runs
    # the page's length; a hand's stroke stays in its row); a name they hide too much of is unclear
    # (strike_min_seen)
    where: dict[str, tuple[float, float, float, float]] = {}
    why: dict[str, str] = {}  # an unclear name's: what the scan shows that a person is asked about
    # pen lines between rows (not a fold's crease along a rule)
    rules = overdrawn_rules(gray, homography, pl.strike_cells, levels, streaks, bilevel, creases)
    measures = [measure_strike(gray, homography, cell, reference.fine, levels, blur_mm, reference.memo, streaks,
                               profile.strike_clear_below, bilevel, profile.strike_light_below,
                               profile.strike_struck_at, rule_overdrawn_mm(rules, cell), cell.row or cell.rect,
                               creases) for cell in pl.strike_cells]
    # the paper's grain, judged over the page where one row shows too few of its lone specks (a 1-bit scan's)
    away, away_columns = sum(m.specks[0] for m in measures), sum(m.specks[1] for m in measures)
    measures = [replace(m, ink_mm2=m.ink_less_specks_mm2) if is_grain(m.specks, away, away_columns) else m
                for m in measures]
    for cell, m in zip(pl.strike_cells, measures):
        r = cell.rect
        row = cell.row or r
        state, why[cell.row_id] = strike_call(
            m, profile.strike_struck_at, profile.strike_clear_below, profile.strike_ink_mm2,
            profile.strike_restored_bilevel_mm2 if bilevel else profile.strike_restored_mm2, profile.strike_min_seen,
            profile.strike_light_below, profile.strike_dotted_below, profile.strike_light_fold_below)
        score = m.crossed if state == MARKED else m.coverage  # the share that made it struck
        marks[cell.row_id].append(MarkRead(cell.contest_id, cell.row_id, STRUCK, score, state))
        shown = row if m.beside_mm2 > 0 else r  # the whole row where ink lies beside the name: the person sees it
        where[cell.row_id] = (round(shown.x, 1), round(shown.y, 1), round(shown.w, 1), round(shown.h, 1))
    for m in box_marks:
        if m.contest_id == contest.id:
            marks[m.row_id].append(m)
    metrics: dict[str, float] = {}
    reasons: list[Reason] = []
    stamp_state = STAMP_PRESENT
    if pl.stamp is not None:
        stamp = read_stamp(gray, homography, pl.stamp, reference, levels, contrast, profile.min_contrast,
                           profile.stamp_present_mm2, profile.stamp_absent_mm2, profile.stamp_ring_share, streaks)
        stamp_state = stamp.state
        metrics["stamp_ink_mm2"] = stamp.ink_mm2
        metrics["stamp_ring"] = stamp.ring
        z = pl.stamp
        if stamp.state != STAMP_PRESENT and getattr(contest.crossout_rules, f"stamp_{stamp.state}") != "ignore":
            reasons.append(Reason(f"stamp-{stamp.state}", stamp.detail, (z.x, z.y, z.w, z.h)))
    rows = crossout_rows(contest, {r: m for r, m in marks.items() if m}, stamp_state, writing, where,
                         whole=pl.count == 1, why=why)  # one page of a longer list: the tally judges the whole ballot
    return rows, reasons, metrics, stamp_state
