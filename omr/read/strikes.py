"""Struck-out names on a cross-out election ballot: how much of each printed name a stroke crosses.

The strike is the vote here. It is measured twice, once per printed line of the name (one struck
line of a two-line name is enough): straight strokes through the letters' bodies, with the print's
own straight runs discounted (as :mod:`omr.read.inspect` finds crossed-out names on confidence
ballots, with its functions), and the share of the blank gaps between and inside the words that ink
crosses. A strike shows in both; blurred bold letters (phones, resampling) make runs but never reach
the middle of a gap; specks reach a gap but make no run: the lesser of the two is the coverage.
Beside it, the new ink anywhere in the name's cell and along the rules above and below it: a line
under or over the name, a circle, a tick or a stroke between two rows leave ink without crossing the
letters, and must reach a person rather than pass as "not struck".
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import cv2
import numpy as np

from omr.ballot.layout import NameCell, Rect
from omr.read.identify import upright_patch
from omr.read.inspect import (
    CREASE_DARK,
    NAME_PX_PER_MM,
    STRIKE_INK,
    STRIKE_KERNEL_MM,
    STRIKE_MAX_WIDTH_MM,
    ink_mask,
    straight_strokes,
)
from omr.read.marks import InkLevels, raw_darkness
from omr.read.register import local_scale
from omr.read.results import BLANK, MARGINAL, MARKED

CELL_GROW_MM = 0.8  # past the cell's ruled borders: a stroke along the line between two rows counts for both
CELL_INSET_MM = 0.5  # inside the cell's left and right borders (the table's vertical rules)
PRINT_GROW_PX = 4  # the blank print grown by this much: registration, blur, 1-bit jaggies ...
SHARP_GROW_PX = 2  # ... or by this much on a sharp scan (edges narrower than SHARP_EDGE_MM): a small tick
SHARP_EDGE_MM = 0.3  # over the letters must not hide in the margin kept for blur


FAINT_SHARE = 0.6  # stray ink in a cell is looked for from 60 % of the usual darkness: light pencil
LIGHT_SHARE = 0.35  # "not struck" needs no line through the name even from 35 % of it: pencil on a pale scan
LIGHT_SHARP_SHARE = 0.25  # or from 25 % on a sharp scan (SHARP_EDGE_MM), whose letters leave the gaps between
#                           them white (a blurred scan's halo fills them): a grainy pencil a seventh of black ...
LIGHT_FLOOR_GREY = 45.0  # ... but never from fewer grey levels below the paper than this: JPEG's ringing beside
#                          the letters reaches that far whatever the contrast (a pale scan stays at 35 %)
PALE_DARKNESS = 0.35  # a broad band lighter than this (paper 0, printed black 1) is a fold's shadow, not a pen
BRIDGE_MM = 2.5  # a stroke through bold letters hides behind their stems for up to this long
BODY_TOP, BODY_BOTTOM = 0.25, 0.8  # the letters' bodies, as shares of a printed line's height from its top


@dataclass(frozen=True)
class StrikeMeasure:
    coverage: float  # the largest share of one printed line crossed through its letters' bodies (see above)
    ink_mm2: float  # new ink in the name's cell, mm^2, from 60 % of the usual darkness (light pencil too)
    pale: bool  # a broad pale band across the name (a fold's shadow, soft pencil): never a strike by itself
    gaps: float = 0.0  # the share of the blank gaps crossed by ink, alone: a tick or a short stroke over the letters
    seen: float = 1.0  # the share of the name's width the scan shows (a scanner streak hides the rest)
    off_strike_mm2: float = 0.0  # ink away from the strike's line: dots, a tick, a circle (restored?)
    faint: float = 0.0  # coverage from faint_share of the usual darkness: a light ballpoint or pencil strike
    #                     (measured only where the usual darkness shows no line: see measure_strike; a gap's
    #                     column with more ink than a pen line's width is not crossed: crossed_share)
    dotted: float = 0.0  # a line of specks through the letters (dotted_share): a thin strike a 1-bit scan broke up
    thin: float = 0.0  # coverage with the gaps judged from FAINT_SHARE of the darkness: a thin pen line that the
    #                    usual threshold leaves one pixel wide, which the gaps' 2x2 opening removes; 0 where a
    #                    lighter line runs on past the name (runs_on: a fold's shadow); on a 1-bit scan whose
    #                    gaps are crossed, also how fully one line crosses them and the paper past the name's
    #                    ends (gaps_and_ends_on_one_line)
    arms: int = 0  # places on a strike with ink both above and below it (arms_across): an x drawn on it (restored?)
    light: float = 0.0  # coverage with runs and gaps both from FAINT_SHARE of the darkness, where that line is a
    #                     pen's (light_strike_share): a light ballpoint or pencil strike; 0 where it runs on
    runs_on: bool = False  # a line from LIGHT_SHARE of the darkness runs on past the name through the blank
    #                        paper of its line to the cell's end or OVERSHOOT_MM on (runs_past_name): a fold's
    #                        shadow, which no hand draws
    beside_mm2: float = 0.0  # ink in the name's row outside its cell (its number, date of birth, the margin), in
    #                          pieces that do not reach into the cell (ink_beside_name): a line through the date
    #                          of birth or the number instead of the name
    crease: bool = False  # a fold's crease found across the page runs through or beside the name's cell, no darker
    #                       across the name than along the rest of the row (crease_shade): its light line (`faint`)
    #                       is the fold's, and the cell's and row's ink are measured with its shade lifted
    specks: tuple[int, int, int, int] = (0, 0, 0, 0)  # the cell's lone specks (Grain.counts): away from the name and
    #                                                  in how many columns, near it and in how many columns
    ink_less_specks_mm2: float = 0.0  # ink_mm2 less the lone specks: what it is where the page shows its grain

    @property
    def crossed(self) -> float:
        """The share of a printed line a stroke crosses, the gaps judged at the usual darkness or lighter,
        or the whole line from FAINT_SHARE of it where that line stops within OVERSHOOT_MM past it, before the
        cell's end, as a pen's does."""
        return max(self.coverage, self.thin, self.light)


def strike_call(m: StrikeMeasure, struck_at: float, clear_below: float, ink_mm2: float,
                restored_mm2: float = float("inf"), min_seen: float = 0.0, light_below: float = 1.0,
                dotted_below: float = 1.0, light_fold_below: float = 1.0) -> tuple[str, str]:
    """marked (struck), blank (not struck) or marginal (unclear: a person decides), and for an unclear name
    what the scan shows there, said to the person asked (what to look for). A strike with more than
    `restored_mm2` of ink off its line (dots, a tick, a circle), or an x drawn on it (`arms`), may have
    been taken back; a name the scan shows less than `min_seen` of (a scanner streak) is for a person
    whatever its ink; a name a light line crosses (`light_below` or more of it, from LIGHT_SHARE of the
    darkness) is never "not struck": a light ballpoint or pencil strike on a pale scan, which a person reads
    (`light_fold_below` where that line runs on past the name through the blank paper to the cell's end or
    OVERSHOOT_MM on, as a fold's shadow does: such shadows cross untouched names); nor is one a line of specks
    crosses (`dotted_below` or more of it: a thin pen's strike that a 1-bit threshold broke up), nor one with
    ink in its row beside its cell (`beside_mm2`: a line through the date of birth or the number instead of
    the name). The light line of a fold's crease with nothing more on it (`crease`) does not count."""
    if m.seen < min_seen:
        return MARGINAL, f"a scanner streak or a fold over {1 - m.seen:.0%} of the name"
    if m.crossed >= struck_at and not m.pale:
        if m.arms:
            return MARGINAL, "a line through the name with an x drawn on it: taken back?"
        if m.off_strike_mm2 >= restored_mm2:
            return MARGINAL, (f"a line through the name and {m.off_strike_mm2:.2f} mm2 of ink off it (dots, a tick, "
                              "a circle): taken back?")
        return MARKED, ""
    light_at = max(light_below, light_fold_below) if m.runs_on else light_below
    faint = 0.0 if m.crease else m.faint
    seen = []  # what the scan shows, strongest first
    if max(m.coverage, m.gaps) >= clear_below:
        seen.append(f"a broad pale band across {m.coverage:.0%} of the name (a fold's shadow, or soft pencil)"
                    if m.pale else f"a line across {m.coverage:.0%} of the name" if m.coverage >= m.gaps
                    else f"ink across {m.gaps:.0%} of the spaces between its letters")
    if faint >= light_at:
        seen.append(f"a light line across {faint:.0%} of the name (light pencil, or a fold's shadow)")
    if m.dotted >= dotted_below:
        seen.append(f"a line of specks across {m.dotted:.0%} of the name (a thin line the 1-bit scan broke up?)")
    if m.beside_mm2 > 0:
        seen.append(f"{m.beside_mm2:.2f} mm2 of ink beside the name in its row (its number or date of "
                    "birth struck instead?)")
    if m.ink_mm2 >= ink_mm2:
        seen.append(f"{m.ink_mm2:.2f} mm2 of new ink in the name's cell")
    if not seen:
        return BLANK, ""
    return MARGINAL, "; ".join(seen)


def _printed(ref: np.ndarray, memo: dict, key: tuple, grow_px: int = PRINT_GROW_PX) -> np.ndarray:
    """The blank print (sharp and blurred) grown by `grow_px`: the same for every sheet, memoised."""
    key = key + (grow_px,)
    if key not in memo:
        s = NAME_PX_PER_MM
        printed = np.zeros(ref.shape, np.uint8)
        for sigma in (0.0, 1.5):
            blurred = cv2.GaussianBlur(ref, (0, 0), sigma) if sigma else ref
            printed |= ink_mask(blurred, InkLevels(0.0, 255.0), s, STRIKE_INK).astype(np.uint8)
        grow = np.ones((2 * grow_px + 1, 2 * grow_px + 1), np.uint8)
        memo[key] = cv2.dilate(printed, grow).astype(bool)
    return memo[key]


Line = tuple[float, float, float, float, float]  # a scanner streak on the page: x0, y0, x1, y1, width (mm)
STREAK_MARGIN_MM = 0.75  # either side of a streak's measured width: its blurred edge


def streak_mask(region: Rect, shape: tuple[int, ...], streaks: Sequence[Line], s: float = NAME_PX_PER_MM
                ) -> np.ndarray:
    """Pixels of an upright patch of `region` (at `s` px/mm) that a scanner streak covers: the scan says
    nothing about the voter there (a streak runs the page's length; a hand's stroke does not)."""
    mask = np.zeros(shape[:2], bool)
    if not streaks or mask.size == 0:
        return mask
    for streak in streaks:
        mask |= near_line(region, shape, streak, streak[4] / 2 + STREAK_MARGIN_MM, s)
    return mask


def near_line(region: Rect, shape: tuple[int, ...], line: Line, reach_mm: float, s: float = NAME_PX_PER_MM
              ) -> np.ndarray:
    """Pixels of an upright patch of `region` (at `s` px/mm) within `reach_mm` of a line on the page (its x0, y0,
    x1, y1 in mm; a scanner streak, a fold's crease)."""
    px = region.x + np.arange(shape[1]) / s  # as upright_patch samples them, a column ...
    py = region.y + np.arange(shape[0]) / s  # ... and a row at a time
    x0, y0, x1, y1 = line[:4]
    dx, dy = x1 - x0, y1 - y0
    norm = max(float(np.hypot(dx, dy)), 1e-9)
    # each term once per column or row, not per pixel: the same products, subtracted pixel by pixel
    return np.abs(((px - x0) * dy)[None, :] - ((py - y0) * dx)[:, None]) / norm <= reach_mm


def ink_off_streaks(scan: np.ndarray, hidden: np.ndarray, levels: InkLevels) -> np.ndarray:
    """ink_mask at `levels` (STRIKE_INK) with the pixels a scanner streak covers (`hidden`) left out of the
    paper gauged round each pixel, and never ink: a light streak would raise the paper for a few millimetres
    either side, and the bare paper there would pass for ink; so would the page's paper put in its place
    beside a photo's shaded edge."""
    return ink_mask(scan, levels, NAME_PX_PER_MM, STRIKE_INK, hidden if hidden.any() else None)


GAP_CLEAR_PX = 3  # a gap column this close to a letter may hold the letter's blurred edge


def body_band(line: Rect) -> Rect:
    """The band of one printed line's letter bodies, in page mm."""
    return Rect(line.x, line.y + BODY_TOP * line.h, line.w, (BODY_BOTTOM - BODY_TOP) * line.h)


Band = tuple[np.ndarray, np.ndarray, np.ndarray]  # a line's letter bodies: as scanned, as printed, under a streak


def _band(gray: np.ndarray, homography: np.ndarray, band: Rect, reference: np.ndarray,
          streaks: Sequence[Line] = ()) -> Band:
    """A band of the page (mm): as scanned (upright, NAME_PX_PER_MM), as printed (the blank page's reference;
    their shapes differ when the band leaves the page) and the pixels a scanner streak covers."""
    s = NAME_PX_PER_MM
    scan = upright_patch(gray, homography, band, s)
    x0, y0 = int(np.floor(band.x * s)), int(np.floor(band.y * s))
    ref = reference[y0:y0 + scan.shape[0], x0:x0 + scan.shape[1]] if x0 >= 0 and y0 >= 0 else reference[:0, :0]
    return scan, ref, streak_mask(band, scan.shape, streaks)


def _body_band(gray: np.ndarray, homography: np.ndarray, line: Rect, reference: np.ndarray,
               streaks: Sequence[Line] = ()) -> Band:
    """The band of one printed line's letter bodies (_band). Made once per line and sheet: every measure of
    the line reads the same arrays."""
    return _band(gray, homography, body_band(line), reference, streaks)


def _gap_columns(ref: np.ndarray) -> np.ndarray:
    """The columns of a band of the blank print with no letter within GAP_CLEAR_PX: a line's gaps."""
    letters = ink_mask(ref, InkLevels(0.0, 255.0), NAME_PX_PER_MM, STRIKE_INK).any(axis=0).astype(np.uint8)[None, :]
    return ~cv2.dilate(letters, np.ones((1, 2 * GAP_CLEAR_PX + 1), np.uint8))[0].astype(bool)


def gap_heights(band: Band, levels: InkLevels, memo: dict, key: tuple) -> np.ndarray:
    """For each blank column between and inside the words of one printed line (no print in the letters'
    bodies; the columns a scanner streak covers left out), how many pixels of ink (_gap_ink) the scan has
    there through the bodies; none when the line has fewer than 4 such columns."""
    scan, ref, hidden = band
    if ref.shape != scan.shape or scan.size == 0:
        return np.zeros(0, np.int64)
    memo_key = key + ("gaps",)
    if memo_key not in memo:
        memo[memo_key] = _gap_columns(ref)
    gaps = memo[memo_key] & ~hidden.any(axis=0)
    if gaps.sum() < 4:
        return np.zeros(0, np.int64)
    return np.count_nonzero(_gap_ink(scan, hidden, levels), axis=0)[gaps]


def crossed_share(heights: np.ndarray, tallest_mm: float = float("inf")) -> float:
    """The share of a line's gaps (gap_heights) that ink crosses: a strike crosses every gap of the part of the
    name it strikes; blurred letters never reach the middle of a gap, a tick crosses few. A column with more
    ink than `tallest_mm` high is not crossed: from a faint level (`faint`), the letters' blurred edges reaching
    into a gap and a faint scan's shading fill a gap's column from top to bottom, a pen line crosses it."""
    if heights.size == 0:
        return 0.0
    return float(((heights > 0) & (heights <= tallest_mm * NAME_PX_PER_MM)).mean())


def gap_coverage(band: Band, levels: InkLevels, memo: dict, key: tuple) -> float:
    """Share of the blank columns of one printed line where the scan has ink through the bodies (gap_heights,
    crossed_share)."""
    return crossed_share(gap_heights(band, levels, memo, key))


def _gap_ink(scan: np.ndarray, hidden: np.ndarray, levels: InkLevels) -> np.ndarray:
    """The ink gap_coverage looks for in a line's gaps: single specks out, a one-pixel line along the row kept."""
    raw = ink_off_streaks(scan, hidden, levels).astype(np.uint8)
    ink = cv2.morphologyEx(raw, cv2.MORPH_OPEN, np.ones((2, 2), np.uint8))
    ink |= cv2.morphologyEx(raw, cv2.MORPH_OPEN, np.ones((1, 3), np.uint8))
    return ink.astype(bool)


def gaps_and_ends_on_one_line(gray: np.ndarray, homography: np.ndarray, line: Rect, reference: np.ndarray,
                              levels: InkLevels, streaks: Sequence[Line] = ()) -> float:
    """How fully one straight line (within DOT_LINE_MM, at DOT_SLOPES) crosses a printed line of a name where
    the scan can show it: through the bodies, in the gaps between and inside the words and on the bare paper
    up to LIGHT_BEFORE_MM before and LIGHT_AFTER_MM after the name. The share of the name's gaps on the line,
    and of its width from the line's first sign to its last: a thin strike a 1-bit threshold broke up and
    stepped a pixel at a time leaves no 3 mm run through bold letters, whose gaps may be no more than the
    spaces between the words; a part of the name struck shows in its own part only."""
    s = NAME_PX_PER_MM
    band = body_band(line)
    scan, ref, hidden = _band(gray, homography, Rect(band.x - LIGHT_BEFORE_MM, band.y,
                                                     band.w + LIGHT_BEFORE_MM + LIGHT_AFTER_MM, band.h),
                              reference, streaks)
    if ref.shape != scan.shape or scan.size == 0:
        return 0.0
    bare = _gap_columns(ref) & ~hidden.any(axis=0)
    first, last = int(round(LIGHT_BEFORE_MM * s)), int(round((LIGHT_BEFORE_MM + band.w) * s))
    in_name = np.zeros(scan.shape[1], bool)
    in_name[first:last] = True
    if (bare & in_name).sum() < 4:
        return 0.0
    ys, xs = np.nonzero(_gap_ink(scan, hidden, levels) & bare[None, :])
    if len(xs) == 0:
        return 0.0
    bin_h, width = DOT_LINE_MM * s / 2, scan.shape[1]
    best: np.ndarray = np.zeros(0, np.int64)
    for slope in DOT_SLOPES:
        cut = np.floor((ys - slope * xs) / bin_h).astype(np.int64)
        cut -= cut.min()
        on = np.unique(np.concatenate([cut * width + xs, (cut + 1) * width + xs]))  # a line's ink straddles two bins
        fullest = int(np.argmax(np.bincount(on // width)))
        columns = on[on // width == fullest] % width
        if len(columns) > len(best):
            best = columns
    crossed = float(in_name[best].sum()) / float((bare & in_name).sum())
    span = (min(int(best.max()) + 1, last) - max(int(best.min()), first)) / float(last - first)
    return max(min(crossed, span), 0.0)


DOT_LINE_MM = 0.5  # the specks of one line lie within this height of it (two bins: its edges)
DOT_BLOCK_MM = 1.0  # the name's width is counted in blocks this wide: a speck's block is crossed
DOT_MIN_BLOCKS = 4  # specks in fewer blocks, or fewer than twice as many blocks to see them in: no line
DOT_SLOPES = np.tan(np.radians(np.arange(-20.0, 20.1, 2.0)))  # the angles a hand strikes at


def _blocks_on_lines(cut: np.ndarray, xs: np.ndarray, width: float, n_cuts: int, n_blocks: int) -> np.ndarray:
    """Per line (`cut`: the bin of each point's height along it), the blocks holding a point within it or
    the bin above: a line's specks straddle two neighbouring bins."""
    on = np.zeros((n_cuts, n_blocks), bool)
    on[cut, (xs / width).astype(np.int64)] = True
    on[1:] |= on[:-1].copy()
    return on.sum(axis=1)


def dotted_share(band: Band, levels: InkLevels, memo: dict, key: tuple) -> float:
    """Share of one printed line's width (in DOT_BLOCK_MM blocks) holding specks of new ink that lie on one
    straight line through the letters' bodies: a thin pen's strike that a 1-bit threshold broke into specks
    (the 2x2 opening of the other measures removes them, and no 3 mm run is left) still lies on one line;
    1-bit speckle and a letter's jaggies do not. Columns a scanner streak covers are left out."""
    s = NAME_PX_PER_MM
    scan, ref, hidden = band
    if ref.shape != scan.shape or scan.size < 16:
        return 0.0
    printed = _printed(ref, memo, key + ("dots",), SHARP_GROW_PX)
    ink = ink_off_streaks(scan, hidden, levels) & ~printed
    ys, xs = np.nonzero(ink)
    if len(xs) < 3:
        return 0.0
    open_y, open_x = np.nonzero(~printed)  # where a line's specks could show at all (every speck is there too)
    width, bin_h = DOT_BLOCK_MM * s, DOT_LINE_MM * s / 2
    n_blocks = int(np.ceil(scan.shape[1] / width))
    best, share, seen = 0, 0.0, 0
    for slope in DOT_SLOPES:
        cut_open = np.floor((open_y - slope * open_x) / bin_h).astype(np.int64)
        lo, n_cuts = int(cut_open.min()), int(cut_open.max() - cut_open.min()) + 2
        hits = _blocks_on_lines(np.floor((ys - slope * xs) / bin_h).astype(np.int64) - lo, xs, width, n_cuts, n_blocks)
        room = _blocks_on_lines(cut_open - lo, open_x, width, n_cuts, n_blocks)
        c = int(np.argmax(hits))
        if hits[c] > best:
            best, seen = int(hits[c]), int(room[c])
            share = best / max(seen, 1)
    return float(share) if best >= DOT_MIN_BLOCKS and seen >= 2 * DOT_MIN_BLOCKS else 0.0


def _print_runs(ref: np.ndarray, length: int, sigma: float, memo: dict, key: tuple) -> np.ndarray:
    """Straight runs the blank print itself has (bold letters blurred together), grown: not strikes."""
    memo_key = key + ("runs", sigma, length)
    if memo_key not in memo:
        runs = np.zeros(ref.shape, np.uint8)
        paper_levels = InkLevels(0.0, 255.0)
        for sg in sorted({0.0, sigma, round(1.5 * sigma, 1)}):
            blurred = cv2.GaussianBlur(ref, (0, 0), sg) if sg > 0 else ref
            runs |= straight_strokes(ink_mask(blurred, paper_levels, NAME_PX_PER_MM, STRIKE_INK)
                                     .astype(np.uint8), length)
        memo[memo_key] = cv2.dilate(runs, np.ones((5, 5), np.uint8)).astype(bool)
    return memo[memo_key]


def body_coverage(band: Band, levels: InkLevels, blur_mm: float, memo: dict, key: tuple) -> tuple[float, bool, float]:
    """Share of one printed line's width crossed by a straight stroke (3 mm runs, -20..20 degrees, as
    omr.read.inspect finds crossed-out names) through the letters' bodies. Where the print has runs of
    its own the stroke is not counted, and such gaps (shorter than BRIDGE_MM) are bridged: a strike is
    one line, the print's runs are a letter wide. Also whether the stroke is broad and pale: wider than a
    pen line (STRIKE_MAX_WIDTH_MM) in most columns and not dark, the shadow of a fold; and the share of
    the line's columns the scan shows (a scanner streak's are left out of the share crossed)."""
    s = NAME_PX_PER_MM
    scan, ref, hidden = band
    if ref.shape != scan.shape or scan.size == 0:
        return 0.0, False, 0.0
    length = int(round(STRIKE_KERNEL_MM * s))
    sigma = round(blur_mm * s / 2.56, 1)
    strokes = straight_strokes(ink_off_streaks(scan, hidden, levels).astype(np.uint8), length)
    runs = _print_runs(ref, length, sigma, memo, key)
    strokes &= ~runs
    columns = strokes.any(axis=0)
    bridge = int(round(BRIDGE_MM * s))
    closed = cv2.morphologyEx(columns.astype(np.uint8)[None, :], cv2.MORPH_CLOSE, np.ones((1, bridge), np.uint8),
                              borderType=cv2.BORDER_CONSTANT, borderValue=0)[0].astype(bool)
    # only where the print's own runs hide a stroke: a gap in plain paper is no strike
    closed = columns | (closed & runs.any(axis=0))
    seen = ~hidden.any(axis=0)
    if seen.sum() < 4:
        return 0.0, False, 0.0
    pale = False
    hit = strokes.any(axis=0)
    if hit.sum() >= 4 and np.median(strokes.sum(axis=0)[hit]) > STRIKE_MAX_WIDTH_MM * s:
        darkness = (levels.paper - scan.astype(np.float32)) / max(levels.contrast, 1.0)
        pale = bool(np.median(darkness[strokes.astype(bool)]) < PALE_DARKNESS)  # a pen is darker than a fold
    return float(closed[seen].mean()), pale, float(seen.mean())


BLOCK_MM = 4.0  # the cell's ink is counted in column blocks this wide ...
NOISE_PERCENTILE = 10  # ... less this percentile of the blocks: what the scan leaves across the whole row
STRIKE_REACH_MM = 1.2  # ink this close to a strike's straight line is the strike (double, wavy, its ends)
STRIKE_TAIL_MM = 4.0  # and this far on past its straight strokes, along their line: the hand's run-out past
#                       the name, which curves or thins below the 3 mm runs a stroke is found by


def print_grow_px(blur_mm: float) -> int:
    """How far the blank print is grown before ink off it counts as new (PRINT_GROW_PX, SHARP_GROW_PX)."""
    return SHARP_GROW_PX if blur_mm < SHARP_EDGE_MM else PRINT_GROW_PX


def _region_scan(gray: np.ndarray, homography: np.ndarray, region: Rect, reference: np.ndarray, grow_px: int,
                 memo: dict, key: tuple, streaks: Sequence[Line]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A region of the page as scanned, upright at NAME_PX_PER_MM; where the print is (blurred or not:
    grown by `grow_px`; memoised under `key`); where the scan shows the paper (not a scanner streak). A
    region that leaves the page is all print: nothing in it is read as new ink."""
    s = NAME_PX_PER_MM
    scan = upright_patch(gray, homography, region, s)
    x0, y0 = int(np.floor(region.x * s)), int(np.floor(region.y * s))
    ref = reference[y0:y0 + scan.shape[0], x0:x0 + scan.shape[1]] if x0 >= 0 and y0 >= 0 else reference[:0, :0]
    if ref.shape != scan.shape:
        printed = np.ones(scan.shape, bool)
    else:
        printed = _printed(ref, memo, key, grow_px)
    return scan, printed, ~streak_mask(region, scan.shape, streaks)


def off_print_darkness(gray: np.ndarray, homography: np.ndarray, region: Rect, reference: np.ndarray,
                       levels: InkLevels, memo: dict, key: tuple, streaks: Sequence[Line]) -> np.ndarray:
    """A region's darkness (paper 0, full ink 1) upright at NAME_PX_PER_MM, 0 wherever the blank print
    is (grown by PRINT_GROW_PX whatever the scan's blur, so two scans of one sheet leave out the same
    pixels) and on `streaks`: what a hand drew there, as the duplicate signature keeps it. `key` memoises
    the print."""
    scan, printed, seen = _region_scan(gray, homography, region, reference, PRINT_GROW_PX, memo, key, streaks)
    dark = np.clip(raw_darkness(scan, levels.black, levels.paper), 0.0, 1.0)
    dark[printed | ~seen] = 0.0
    return dark


def _cell_region(cell: NameCell) -> Rect:
    """The part of the page a name's cell is measured in: grown CELL_GROW_MM past its rules, CELL_INSET_MM
    inside its borders."""
    r = cell.rect
    return Rect(r.x + CELL_INSET_MM, r.y - CELL_GROW_MM, r.w - 2 * CELL_INSET_MM, r.h + 2 * CELL_GROW_MM)


def _cell_scan(gray: np.ndarray, homography: np.ndarray, cell: NameCell, reference: np.ndarray, blur_mm: float,
               memo: dict, streaks: Sequence[Line]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The name's cell (grown past its rules) as _region_scan takes it: once per name, judged at several
    levels (_cell_ink, _straight_off_print)."""
    return _region_scan(gray, homography, _cell_region(cell), reference, print_grow_px(blur_mm), memo,
                        ("strike-cell", cell.contest_id, cell.row_id), streaks)


def _raw_ink(region_scan: tuple[np.ndarray, np.ndarray, np.ndarray], levels: InkLevels) -> np.ndarray:
    """Ink at `levels` in a _region_scan where the scan shows the paper, the print kept."""
    scan, _, seen = region_scan
    return ink_off_streaks(scan, ~seen, levels)


def _new_ink(raw: np.ndarray, printed: np.ndarray) -> np.ndarray:
    """The ink off the print, less single pixels (a 2x2 opening), as uint8."""
    return cv2.morphologyEx((raw & ~printed).astype(np.uint8), cv2.MORPH_OPEN, np.ones((2, 2), np.uint8))


def _cell_ink(cell_scan: tuple[np.ndarray, np.ndarray, np.ndarray], cell: NameCell,
              levels: InkLevels) -> tuple[np.ndarray, np.ndarray]:
    """New ink at `levels` in the name's cell (_cell_scan's: print and streaks removed), and the straight
    strokes through the name's lines (print kept: a strike runs through the letters), as masks of its patch."""
    scan, printed, _ = cell_scan
    raw = _raw_ink(cell_scan, levels)
    ink = _new_ink(raw, printed)
    bodies = np.zeros(scan.shape, bool)  # the letters' bodies: a strike crosses them, a circle's arc does not
    bodies[_line_rows(cell, scan.shape[0], body_band)] = True
    strokes = straight_strokes(raw.astype(np.uint8), int(round(STRIKE_KERNEL_MM * NAME_PX_PER_MM)))
    count, labels = cv2.connectedComponents(strokes, connectivity=8)
    through = np.bincount(labels[bodies], minlength=count) > 0  # the pieces with a pixel in the bodies
    through[0] = False
    return ink.astype(bool), through[labels] & ~printed


def _straight_off_print(cell_scan: tuple[np.ndarray, np.ndarray, np.ndarray], levels: InkLevels) -> np.ndarray:
    """Every straight stroke at `levels` in the name's cell (_cell_scan's), off the print."""
    raw = _raw_ink(cell_scan, levels)
    return straight_strokes(raw.astype(np.uint8), int(round(STRIKE_KERNEL_MM * NAME_PX_PER_MM))).astype(bool) \
        & ~cell_scan[1]


def _line_rows(cell: NameCell, height: int, band: Callable[[Rect], Rect] = lambda line: line) -> np.ndarray:
    """The rows of _cell_ink's patch (`height` rows) within the name's printed lines, or within `band` of each."""
    s, top = NAME_PX_PER_MM, cell.rect.y - CELL_GROW_MM
    rows = np.zeros(height, bool)
    for line in cell.lines or (cell.text_rect,):
        b = band(line)
        rows[max(int((b.y - top) * s), 0):max(int(np.ceil((b.y + b.h - top) * s)), 0)] = True
    return rows


SPECK_MM2 = 0.08  # a piece of ink this small (a 1-bit or rough scan's grain, dust) ...
SPECK_ALONE_MM = 1.0  # ... with no other ink this near is a lone speck: a hand's ink is one piece, or (a light
#                       stroke a threshold broke up) grains close together
GRAIN_MIN = 6  # lone specks in the row away from the name (SIGN_BEFORE_MM, SIGN_AFTER_MM) that show the paper's
#                grain; the name's own are the grain's where no more than twice as dense, plus one
GRAIN_PAIR = 2  # away from the name, specks this many together are the grain's too (a dense grain pairs some),
GRAIN_PAIR_MM2 = 2 * SPECK_MM2  # each up to this large (its darker pixels, two of the scan's, make one speck)


def speck_masks(ink: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The pieces of `ink` that are lone specks (SPECK_MM2, SPECK_ALONE_MM), and those in GRAIN_PAIR (each up
    to GRAIN_PAIR_MM2 and no other ink that near), as masks."""
    s = NAME_PX_PER_MM
    count, labels, stats, _ = cv2.connectedComponentsWithStats(ink.astype(np.uint8), connectivity=8)
    area = stats[:, cv2.CC_STAT_AREA]
    small = area <= GRAIN_PAIR_MM2 * s * s
    small[0] = False
    if not small.any():
        return np.zeros(ink.shape, bool), np.zeros(ink.shape, bool)
    reach = 2 * int(round(SPECK_ALONE_MM * s)) + 1
    near = cv2.dilate(ink.astype(np.uint8), cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (reach, reach)))
    _, groups = cv2.connectedComponents(near, connectivity=8)
    on = labels > 0
    # a piece lies in one group (it is connected, and `near` holds it): its group is that of any of its pixels
    group_of = np.zeros(count, np.int64)
    group_of[labels[on]] = groups[on]
    pieces = np.bincount(group_of[1:], minlength=int(groups.max()) + 1)  # pieces per group
    larger = np.bincount(group_of[1:], weights=~small[1:], minlength=pieces.size)  # pieces past GRAIN_PAIR_MM2
    lone = small & (area <= SPECK_MM2 * s * s) & (pieces[group_of] == 1)
    paired = small & (pieces[group_of] <= GRAIN_PAIR) & (larger[group_of] == 0)
    return lone[labels], paired[labels]


@dataclass(frozen=True)
class Grain:
    """A name's cell's lone specks (speck_masks): how many lie in the row away from the name (SIGN_BEFORE_MM,
    SIGN_AFTER_MM) and in how many columns, how many near it and in how many columns; and the mask of them."""

    away: int
    away_columns: int
    near: int
    near_columns: int
    specks: np.ndarray = field(repr=False)

    @property
    def counts(self) -> tuple[int, int, int, int]:
        return self.away, self.away_columns, self.near, self.near_columns


def is_grain(counts: tuple[int, int, int, int], away: int, away_columns: int) -> bool:
    """Whether a name's lone specks near it (Grain.counts) are the paper's grain, which new_ink_mm2's
    NOISE_PERCENTILE block (none in most blocks) leaves counted, given `away` specks in `away_columns` columns
    away from the names (of its own row, or of every row of the page: a 1-bit scan's sparse grain): GRAIN_MIN
    of them at least, and the name's own no denser than twice as much, plus one (a tick the letters hide
    leaves a speck or two on a clean paper)."""
    near, near_columns = counts[2], counts[3]
    return away >= GRAIN_MIN and near <= 2 * away * near_columns / max(away_columns, 1) + 1


def grain(ink: np.ndarray, name: tuple[int, int]) -> Grain:
    """The lone specks of `ink` (a name's cell; `name`: its columns), counted away from the name and near it;
    the mask holds the specks in GRAIN_PAIR away from it too."""
    s = NAME_PX_PER_MM
    specks, paired = speck_masks(ink) if ink.any() else (np.zeros(ink.shape, bool),) * 2
    near = np.zeros(ink.shape[1], bool)
    near[max(int(name[0] - SIGN_BEFORE_MM * s), 0):int(name[1] + SIGN_AFTER_MM * s)] = True
    mine = away = 0
    if specks.any():
        _, labels = cv2.connectedComponents(specks.astype(np.uint8), connectivity=8)
        columns = np.zeros(int(labels.max()) + 1, np.int64)
        columns[labels[specks]] = np.nonzero(specks)[1]
        at = columns[1:]
        away, mine = int((~near[at]).sum()), int(near[at].sum())
    return Grain(away, max(int((~near).sum()), 1), mine, int(near.sum()), specks | (paired & ~near[None, :]))


def new_ink_mm2(ink: np.ndarray) -> float:
    """Ink in the cell beyond what the scan leaves all along the row: counted in column blocks, each less
    the NOISE_PERCENTILE block (a fold's shadow along the row, 1-bit speckle and a rule's jaggies are in
    every block; a hand's mark in fewer: a line under or over a name, a ring round it span less than 90 %)."""
    s = NAME_PX_PER_MM
    per_column = ink.sum(axis=0).astype(np.float32)
    block = max(1, int(round(BLOCK_MM * s)))
    n = len(per_column) // block
    if n < 4:
        return float(per_column.sum()) / (s * s)
    blocks = per_column[:n * block].reshape(n, block).sum(axis=1)
    floor = float(np.percentile(blocks, NOISE_PERCENTILE))
    rest = float(per_column[n * block:].sum())
    return float(np.maximum(blocks - floor, 0).sum() + max(rest - floor * len(per_column[n * block:]) / block, 0)) \
        / (s * s)


UPRIGHT_SHARE = 0.5  # ink down this share of a column of the cell (grown past both rules) runs through the row


def on_the_name(ink: np.ndarray) -> np.ndarray:
    """The cell's ink (grown CELL_GROW_MM past its rules) that a voter's sign on this name could be: between
    the rules (a neighbouring row's strike may reach past one), and not in columns ink runs down from rule to
    rule and past both (a scanner streak the page's inspection did not find: a sign on a name stays in its row)."""
    grow = int(round(CELL_GROW_MM * NAME_PX_PER_MM))
    through = (ink.mean(axis=0) >= UPRIGHT_SHARE).astype(np.uint8)[None, :]
    through = cv2.dilate(through, np.ones((1, 2 * SHARP_GROW_PX + 1), np.uint8))[0].astype(bool)
    inside = ink & ~through[None, :]
    inside[:grow] = False
    inside[inside.shape[0] - grow:] = False
    return inside


SIGN_BEFORE_MM, SIGN_AFTER_MM = 4.0, 15.0  # a sign that a strike is taken back is on the name or this near it


ARM_BLOCK_MM = 2.0  # an x drawn on a strike: in a block this wide, new ink both above and below the strike
ARM_MIN_PX = 4  # (at least this many pixels each side, at NAME_PX_PER_MM)
ARM_CLEAR_MM = 0.5  # past the strike's own strokes (both lines of a double strike) by this much
ARM_REACH_MM = 4.0  # and within this of the strike's middle


@dataclass(frozen=True)
class StrikeLine:
    """A strike's line in a cell's patch: its columns (first to last of its straight strokes) and, in each,
    the middle, top and bottom rows of the strokes (interpolated between them: over the letters, where the
    print hides them)."""

    columns: np.ndarray
    middle: np.ndarray
    top: np.ndarray
    bottom: np.ndarray


SLIVER_PX = 2  # a column of the strokes no taller than this, beyond the strike's reach: a tip the print cut off
SECOND_LINE_MM = (0.5, 2.0)  # a double strike's second line: this far from the middle of the first, one side,
SECOND_LINE_SPREAD_MM = 0.35  # its pixels this near their median distance from it (it runs alongside),
SECOND_LINE_SPAN = 0.5  # from end to end over this share of the strike's length: dots, a tick, an x do not


def strike_line(strokes: np.ndarray) -> StrikeLine | None:
    """The line of the straight strokes through a name (None without any), without the stroke columns more
    than a double strike's width (SECOND_LINE_MM) off their straight fit, or beyond the strike's reach
    (STRIKE_REACH_MM) with a sliver of it (SLIVER_PX): another stroke joined to them there, as the tip of an
    x's arm drawn over the letters to take the name back, would bend the line and its edges out to take in
    the x's arms."""
    columns = np.flatnonzero(strokes.any(axis=0))
    if len(columns) == 0:
        return None
    rows = np.arange(strokes.shape[0], dtype=np.float32)[:, None]
    on = strokes[:, columns].astype(bool)
    count = on.sum(axis=0)
    middle = (on * rows).sum(axis=0) / count
    top, bottom = on.argmax(axis=0), len(on) - 1 - on[::-1].argmax(axis=0)
    if len(columns) > 2:
        keep = np.ones(len(columns), bool)
        for _ in range(2):
            fit = np.polyval(np.polyfit(columns[keep], middle[keep], 1), columns)
            off = np.abs(middle - fit) / NAME_PX_PER_MM
            keep = (off <= SECOND_LINE_MM[1]) & ((off <= STRIKE_REACH_MM) | (count > SLIVER_PX))
            if keep.sum() < 2:
                keep[:] = True
                break
        columns, middle, top, bottom = columns[keep], middle[keep], top[keep], bottom[keep]
    struck = np.arange(columns[0], columns[-1] + 1)
    return StrikeLine(struck, *(np.interp(struck, columns, v) for v in (middle, top, bottom)))


def second_line(away: np.ndarray, strike: StrikeLine) -> np.ndarray:
    """Of the ink away from a strike's line (`away`: a mask of the cell's patch), the pixels of a second
    stroke drawn alongside it, as a double strike's (SECOND_LINE_MM, SECOND_LINE_SPREAD_MM, SECOND_LINE_SPAN),
    which the line's reach (fit on the one of the two the letters hid less) may leave out; none otherwise."""
    s = NAME_PX_PER_MM
    out = np.zeros(away.shape, bool)
    ys, xs = np.nonzero(away[:, strike.columns])
    if ys.size == 0:
        return out
    offset = (ys - strike.middle[xs]) / s
    side = np.sign(np.median(offset))
    near = (side * offset >= SECOND_LINE_MM[0]) & (side * offset <= SECOND_LINE_MM[1])
    if not near.any():
        return out
    along = near & (np.abs(offset - np.median(offset[near])) <= SECOND_LINE_SPREAD_MM)
    if xs[along].max() - xs[along].min() + 1 < SECOND_LINE_SPAN * len(strike.columns):
        return out
    out[ys[along], strike.columns[xs[along]]] = True
    return out


def off_strike_mm2(ink: np.ndarray, strike: StrikeLine | None, name: tuple[int, int]) -> float:
    """On a struck name, the new ink away from the strike's line (beyond STRIKE_REACH_MM of its middle, and
    not a double strike's second line) on and near the name (`name`: its columns; SIGN_BEFORE_MM,
    SIGN_AFTER_MM, so that a scan's line along the row is not measured past them): dots, a tick, an x or a
    circle added after the strike, the voter's sign that the name is restored."""
    s = NAME_PX_PER_MM
    span = slice(max(int(name[0] - SIGN_BEFORE_MM * s), 0), int(name[1] + SIGN_AFTER_MM * s))
    if strike is None:
        return new_ink_mm2(ink[:, span])
    line = np.zeros(ink.shape, np.uint8)
    line[np.clip(np.rint(strike.middle).astype(int), 0, ink.shape[0] - 1), strike.columns] = 1
    if len(strike.columns) > 1:  # and its straight fit (a double strike's middle may zigzag between its lines),
        # on past both ends by STRIKE_TAIL_MM
        tail = int(round(STRIKE_TAIL_MM * s))
        columns = np.arange(max(strike.columns[0] - tail, 0), min(strike.columns[-1] + tail + 1, ink.shape[1]))
        fit = np.polyval(np.polyfit(strike.columns, strike.middle, 1), columns)
        line[np.clip(np.rint(fit).astype(int), 0, ink.shape[0] - 1), columns] = 1
    reach = 2 * int(round(STRIKE_REACH_MM * s)) + 1
    near = cv2.dilate(line, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (reach, reach))).astype(bool)
    away = ink & ~near
    return new_ink_mm2((away & ~second_line(away, strike))[:, span])


def arms_across(ink: np.ndarray, strike: StrikeLine | None) -> int:
    """Blocks of the strike (ARM_BLOCK_MM wide) with new ink both above and below it, past its strokes: the
    arms of a small x drawn on the strike to take the name back. Over a blurred scan's letters the print
    hides most of an x, and what is left (its arms' tips, ~1 mm2) passes for noise by area; a strike's own
    waves, a second stroke or noise do not reach both sides in one place."""
    s = NAME_PX_PER_MM
    block = int(round(ARM_BLOCK_MM * s))
    n = 0 if strike is None else len(strike.columns) // block
    if n == 0:
        return 0
    row = np.arange(ink.shape[0], dtype=np.float32)[:, None]
    clear, far = ARM_CLEAR_MM * s, ARM_REACH_MM * s
    on = ink[:, strike.columns]
    up = on & (row < strike.top[None, :] - clear) & (row > strike.middle[None, :] - far)
    down = on & (row > strike.bottom[None, :] + clear) & (row < strike.middle[None, :] + far)
    above = up[:, :n * block].reshape(len(on), n, block).sum(axis=(0, 2))
    below = down[:, :n * block].reshape(len(on), n, block).sum(axis=(0, 2))
    return int((np.minimum(above, below) >= ARM_MIN_PX).sum())


LIGHT_BEFORE_MM, LIGHT_AFTER_MM = 3.0, 5.0  # a light strike starts no more than this before the name; within
#                                             these of it a line is a hand's, beyond them it may be a fold's
LIGHT_MIN_WIDTH_MM = 0.2  # and is thicker than one pixel (a noisy scan's level crossings are one pixel thin)
RUN_EDGE_MM = 3.0  # a line past that runs on to within this of the cell's end is a fold's shadow, across the page,
OVERSHOOT_MM = 15.0  # as is one that runs on more than this past the name (a hand overshoots by 5-12 mm)


def pen_reach(words: tuple[int, int], width: int) -> tuple[float, float]:
    """Where a hand's light line may lie in a name's cell `width` columns wide (`words`: the printed words'
    columns, the "Ông"/"Bà" before the name included): from LIGHT_BEFORE_MM before the words to short of
    RUN_EDGE_MM before the cell's end and of OVERSHOOT_MM past the words; a line reaching either bound runs on
    as a fold's shadow does. Declared once for runs_past_name and light_strike_share, which must agree."""
    s = NAME_PX_PER_MM
    return words[0] - LIGHT_BEFORE_MM * s, min(width - RUN_EDGE_MM * s, words[1] + OVERSHOOT_MM * s)


def runs_past_name(lighter: np.ndarray, rows: np.ndarray, words: tuple[int, int]) -> bool:
    """Whether a straight stroke of the lighter levels (`lighter`: off the print, from LIGHT_SHARE of the
    darkness, across the name's cell) lies in the name's lines (`rows`) beyond LIGHT_BEFORE_MM before and
    LIGHT_AFTER_MM after the printed words (`words`: their columns, the "Ông"/"Bà" before the name included)
    and on to within RUN_EDGE_MM of the cell's end on that side, or OVERSHOOT_MM past the words (pen_reach): a
    fold's shadow runs on through the blank paper across the page; a hand's line stops near the name (seed
    2718 and 3301 sets: strikes from 6.9 mm inside to 2.5 mm before the name's start and 4.0 mm past its end;
    folds to the cell's edge), at the "Ông" before it, which it often strikes too, or, overshooting, 5-12 mm
    past it in the blank paper."""
    s = NAME_PX_PER_MM
    beyond = lighter[rows].any(axis=0)
    start, end = pen_reach(words, len(beyond))
    first, last = max(int(np.ceil(start)), 0), max(int(np.ceil(words[1] + LIGHT_AFTER_MM * s)), 0)
    return bool(beyond[:min(first, int(np.ceil(RUN_EDGE_MM * s)))].any()
                or beyond[max(last, int(np.ceil(end))):].any())


def light_strike_share(strike: StrikeLine, name: tuple[int, int], words: tuple[int, int], width: int) -> float:
    """The share of the name's columns a light line spans, where it is a pen's: within pen_reach (from
    LIGHT_BEFORE_MM before the printed words, `words`, to short of RUN_EDGE_MM before the end of the cell,
    `width` columns, where a fold's shadow runs on to, and of OVERSHOOT_MM past the words), and thicker than
    LIGHT_MIN_WIDTH_MM; else 0. From FAINT_SHARE of the usual darkness a fold's shadow crosses a name as fully
    as a pencil does (the print's blur adds to its shade there): the caller also asks that nothing lighter
    runs on past the name (runs_past_name)."""
    s = NAME_PX_PER_MM
    start, end = pen_reach(words, width)
    if strike.columns[0] < start or strike.columns[-1] >= end:
        return 0.0
    if np.median(strike.bottom - strike.top + 1) < LIGHT_MIN_WIDTH_MM * s:
        return 0.0
    spanned = np.clip(strike.columns, name[0], name[1] - 1)
    return float(len(np.unique(spanned)) / max(name[1] - name[0], 1))


RULE_BAND_MM = 1.5  # either side of a ruled line between two rows
RULE_EXTRA_MM = 0.35  # a pen line along the rule makes it at least this much thicker
RULE_DARKER_MM = 0.125  # or its darkness summed across the rule this much more (mm of full darkness): a pen
#                         line beside the rule or half over it, which a threshold merges into the rule's width
RULE_DARKER_BILEVEL_MM = 0.19  # on a 1-bit scan, where the rule's jaggies alone make a pixel's difference
RULE_MIN_RUN_MM = 5.0  # for at least this long
RULE_OWN_PERCENTILE = 20  # the rule's own width: this percentile of its columns' ink
RULE_PAPER_PERCENTILE = 90  # the paper either side of the rule, per column (a photo's light varies)
RULE_SPREAD = 4.0  # on a grey scan, and by this many times its own spread along the rule (a photo's uneven light)
RULE_CORE_MM = 0.8  # the darkness is summed this near the rule only (a photo's shading across the band adds up)
RULE_NEAR_MM = 0.05  # or darker than the rules next to it at the same columns by this much, for this long:
RULE_NEAR_RUN_MM = 15.0  # a pen line hugging the rule, mostly hidden by it (a light pencil, or right over it),
#                          that stops short of the rule's ends by this much too (a fold runs the page's width)
RULE_SHADE = 0.03  # and where the paper on one side of the rule is no darker than on the other by this share of
#                   the contrast (a pen line hugging the rule leaves both sides white: 0.014 at most, measured;
#                   a fold's shadow lying along it darkens one side: 0.05-0.07), over RULE_SHADE_MM
RULE_SHADE_MM = 5.0
RULE_JAGGY_MM = 4.0  # on a 1-bit scan, the rules' darkness averaged over this length (a rule's jaggies alternate
#                      a pixel thicker and thinner along it) ...
RULE_NEAR_BILEVEL_MM = 0.09  # ... darker than the lighter of the rules next to it by this much, or RULE_NEAR_BILEVEL_PX
RULE_NEAR_BILEVEL_PX = 0.7  # of the scan's pixels where they are larger (a pen line dissolved into dashes hugging the
#                             rule adds 0.1-0.2 mm; the jaggies' phase a pixel, 0.127 mm at 200 dpi) ...
RULE_NEAR_BILEVEL_RUN_MM = 25.0  # ... for this long (a line drawn along a name, 27-40 measured; the jaggies' phase
#                                  runs shorter where it does not run a table's width)
RULE_NEAR_BILEVEL_CLEAR_MM = 0.25  # darker by this much, or RULE_NEAR_BILEVEL_CLEAR_PX of the scan's pixels (90th
RULE_NEAR_BILEVEL_CLEAR_PX = 2.0  # percentile along the run), is no jaggies' phase (measured at 200 dpi over about
#                                   2,500 rules of 1-bit scans: 0.19 at most with noise; lines 0.18-0.58)
RULE_FAINT_RULES = 2  # a run less dark than that counts where no more of a column's rules show one (a skew's phase
#                       shows on most: 4-10 of them on the pages seen), for RULE_FAINT_RUN_MM (the dips of a line a
RULE_FAINT_RUN_MM = 18.0  # pixel thick break its run: 19-24 mm of lines 30-35 mm long)
RULE_STEP_MM = 0.1  # where a crease runs along a rule, a pen line there is a step this much darker than the rule
#                     over RULE_SIDE_MM either side of it, both ends rising or falling so over RULE_EDGE_MM (a
RULE_EDGE_MM = 3.5  # line drawn between two names measured 0.16 mm darker; on 79 untouched creased rules of rough,
RULE_SIDE_MM = 8.0  # faint, phone and office scans, seeds 3030 and 6060, the largest such step found was 0.074)
RULE_EDGE_GAP_MM = 0.5  # the windows either side of a step's column start this far from it (its own blur)

@dataclass(frozen=True)
class RuleBand:
    """One printed rule between two rows of names, as scanned: per column of the name column."""

    darkness: np.ndarray  # the darkness summed across the rule (RULE_CORE_MM either side), in pixels of full darkness
    overdrawn: np.ndarray  # columns where the rule is thicker or darker than its own (see rule_band)
    shade: np.ndarray  # how much darker the paper on the rule's darker side is than on its lighter side (share of
    #                    the contrast): a fold's shadow along the rule, broad where a pen's line is narrow
    seen: np.ndarray  # columns no scanner streak crosses near the rule (elsewhere the darkness says nothing)


def percentile_columns(image: np.ndarray, q: float) -> np.ndarray:
    """np.percentile(image, q, axis=0) of a 2-D integer image, to the bit: numpy's linear method (the rank
    (n - 1) q / 100, its two neighbouring values, numpy's interpolation between them), the columns' values
    taken by one partition of the transposed image, without np.percentile's per-call machinery (a rule's
    band cost 0.35 ms a call; a third of that now)."""
    n = image.shape[0]
    rank = (n - 1) * (q / 100)
    lo = int(np.floor(rank))
    hi = min(lo + 1, n - 1)
    t = np.float64(rank - lo)
    ordered = np.partition(np.ascontiguousarray(image.T), (lo, hi) if hi != lo else lo, axis=1)
    below, above = ordered[:, lo], ordered[:, hi]
    diff = np.subtract(above, below)  # never negative: above is the larger
    if t >= 0.5:  # numpy's interpolation, from the nearer value
        return np.subtract(above, diff * (1 - t))
    return np.add(below, diff * t)


def rule_band(gray: np.ndarray, homography: np.ndarray, x: float, y: float, w: float,
              levels: InkLevels, streaks: Sequence[Line] = (), bilevel: bool = False) -> RuleBand:
    """The printed rule at height y (from x, w long): its darkness, and where it is thicker than its own
    width (RULE_OWN_PERCENTILE of its columns; the scan's blur sets it) by RULE_EXTRA_MM or more, from
    FAINT_SHARE of the usual darkness, or darker across (RULE_DARKER_MM, and RULE_SPREAD times the rule's
    own spread on a grey scan; RULE_DARKER_BILEVEL_MM on a 1-bit one); a scanner streak's columns are not."""
    s = NAME_PX_PER_MM
    region = Rect(x, y - RULE_BAND_MM, w, 2 * RULE_BAND_MM)
    scan = upright_patch(gray, homography, region, s)
    if scan.size == 0:
        return RuleBand(np.zeros(0, np.float32), np.zeros(0, np.uint8), np.zeros(0, np.float32), np.zeros(0, bool))
    seen = ~streak_mask(region, scan.shape, streaks)
    thick = ink_off_streaks(scan, ~seen, levels.lighter(FAINT_SHARE)).sum(axis=0).astype(np.float32)
    core = slice(int(round((RULE_BAND_MM - RULE_CORE_MM) * s)), int(round((RULE_BAND_MM + RULE_CORE_MM) * s)))
    visible = seen[core].all(axis=0)
    # the paper from the pixels no streak covers (a light streak beside the rule is no paper to measure from)
    paper = percentile_columns(scan if visible.all() else np.where(seen, scan, 0),
                               RULE_PAPER_PERCENTILE).astype(np.float32)
    sides = np.minimum(percentile_columns(scan[:core.start], RULE_PAPER_PERCENTILE),
                       percentile_columns(scan[core.stop:], RULE_PAPER_PERCENTILE)).astype(np.float32)
    dark = np.clip((paper[None, :] - scan.astype(np.float32)) / max(levels.contrast, 1.0), 0.0, 1.0)
    darkness = (dark * seen)[core].sum(axis=0)
    # over a few millimetres: a noisy scan's paper varies column by column as much as a shadow's edge
    shade = cv2.blur(((paper - sides) / max(levels.contrast, 1.0))[None, :], (int(round(RULE_SHADE_MM * s)), 1))[0]
    if visible.sum() < RULE_MIN_RUN_MM * s:  # a streak along the rule hides it: nothing to compare with
        return RuleBand(darkness, np.zeros(darkness.size, np.uint8), shade, visible)
    # its own width and darkness where no streak crosses its core (a streak's columns are thinner and lighter)
    own = float(np.median(darkness[visible]))
    spread = 1.4826 * float(np.median(np.abs(darkness[visible] - own)))  # how much its darkness varies along it
    darker = RULE_DARKER_BILEVEL_MM * s if bilevel else max(RULE_DARKER_MM * s, RULE_SPREAD * spread)
    # the rule's own width: a low percentile, as a long pen line may pass the median; its own darkness: the
    # median (a photo's or a rough scan's darkness varies along the rule more than a threshold's width does)
    over = ((thick >= np.percentile(thick[visible], RULE_OWN_PERCENTILE) + RULE_EXTRA_MM * s)
            | (darkness >= own + darker)) & visible
    return RuleBand(darkness, over.astype(np.uint8), shade, visible)


def _run_mm(flags: np.ndarray, min_mm: float) -> float:
    """The longest run of flagged columns, gaps up to BRIDGE_MM closed (a stroke hides behind a streak's
    columns or breaks up), in mm; 0 below `min_mm`."""
    if flags.size == 0:
        return 0.0
    s = NAME_PX_PER_MM
    closed = cv2.morphologyEx(flags.astype(np.uint8)[None, :], cv2.MORPH_CLOSE,
                              np.ones((1, int(round(BRIDGE_MM * s))), np.uint8))
    run = longest_run(closed[0]) / s
    return run if run >= min_mm else 0.0


def overdrawn_rules(gray: np.ndarray, homography: np.ndarray, cells: Sequence[NameCell], levels: InkLevels,
                    streaks: Sequence[Line] = (), bilevel: bool = False, creases: Sequence[Line] = ()
                    ) -> dict[tuple[float, float], float]:
    """How long a pen line runs along each printed rule above or below a name (keyed by the name column's x
    and the rule's y, rounded to 0.01 mm), in mm: as rule_band finds it, or where the rule is darker by
    RULE_NEAR_MM than the lighter of the rules next to it at the same columns, for RULE_NEAR_RUN_MM or
    more. The rules of one table are printed alike and scanned alike: a photo's uneven light and the blur
    change neighbouring rules together, so a pen line hugging one rule (half hidden by it, or a light
    pencil beside it) shows against them where it does not against the rule's own median (the line may run
    along most of the rule); the lighter neighbour, as the other may carry a line or a shadow too; above
    what the rule shows against it elsewhere (a line is a step, a toner or blur gradient is not). Not
    where a fold's shadow lies along the rule: where one side's paper is darker (RULE_SHADE), or where the
    rule is darker along all but RULE_NEAR_RUN_MM of its length (no hand draws from end to end); nor where
    a scanner streak crosses one of the rules; nor column by column on a 1-bit scan (`bilevel`), where a
    rule's jaggies step a pixel where its neighbours' do not, as much as such a line adds: there, averaged
    along the rule (_hugging_bilevel). Where a fold's crease found across the page (`creases`) runs along the
    rule, its valley within the band rule_band measures (RULE_BAND_MM), the valley darkens and thickens the
    rule as a pen's line would: there only a line's sharp ends tell it (stepped_up).
    """
    columns: dict[tuple[float, float], set[float]] = {}
    for cell in cells:  # a name column's rules: each cell's top and bottom, shared by neighbouring rows
        r = cell.rect
        columns.setdefault((round(r.x, 2), round(r.w, 2)), set()).update((round(r.y, 2), round(r.y + r.h, 2)))
    out: dict[tuple[float, float], float] = {}
    for (x, w), rules in columns.items():
        ys = sorted(rules)
        bands = [rule_band(gray, homography, x, y, w, levels, streaks, bilevel) for y in ys]
        if bilevel:  # the scan's pixel, in mm, where the column is
            pixel_mm = 1.0 / max(local_scale(homography, (x + w / 2, (ys[0] + ys[-1]) / 2)), 1e-6)
            hugging = _hugging_bilevel(bands, pixel_mm)
        for k, (y, band) in enumerate(zip(ys, bands)):
            creased = _along_creases(x, y, band.darkness.size, creases)
            along = max(_run_mm(band.overdrawn & ~creased, RULE_MIN_RUN_MM), hugging[k] if bilevel else 0.0)
            if creased.any():  # there a line shows by its sharp ends only
                along = max(along, _run_mm(stepped_up(band.darkness) & creased & band.seen, RULE_NEAR_RUN_MM))
            near = [bands[j] for j in _neighbour_rules(bands, k)]
            if near and not bilevel:
                step = RULE_NEAR_MM * NAME_PX_PER_MM
                excess = band.darkness - np.minimum.reduce([b.darkness for b in near])
                if np.count_nonzero(excess < step) / NAME_PX_PER_MM >= RULE_NEAR_RUN_MM:
                    # a pen line is a step above the rest of the rule, which may differ from its neighbours a little
                    # all along (a blur or toner gradient): as for its own width, a low percentile
                    excess -= max(float(np.percentile(excess, RULE_OWN_PERCENTILE)), 0.0)
                    flags = ((excess >= step) & (band.shade < RULE_SHADE) & ~creased
                             & np.logical_and.reduce([b.seen for b in [band, *near]]))
                    along = max(along, _run_mm(flags, RULE_NEAR_RUN_MM))
            out[(x, y)] = along
    return out


def _along_creases(x: float, y: float, columns: int, creases: Sequence[Line]) -> np.ndarray:
    """Which of a rule's `columns` (from x, at NAME_PX_PER_MM; the rule at height y) a crease runs along: its
    valley (the line's width) within RULE_BAND_MM of the rule, where rule_band measures it (a valley 1.3-1.7
    mm off the rule made it overdrawn for 12 mm: two untouched names to a person, seed 2020 rough idx 96)."""
    rule = Rect(x, y, columns / NAME_PX_PER_MM, 0.0)
    out = np.zeros(columns, bool)
    for crease in creases:
        out |= np.abs(below_line(rule, (1, columns), crease)[0]) <= (RULE_BAND_MM + crease[4] / 2) * NAME_PX_PER_MM
    return out


def stepped_up(darkness: np.ndarray) -> np.ndarray:
    """The columns of a rule (its `darkness`, as rule_band sums it) where it steps up by RULE_STEP_MM and back
    down RULE_NEAR_RUN_MM or more further on, darker all along than the rule either side: a pen line drawn
    along it, whose ends rise within RULE_EDGE_MM. A crease along the rule darkens it over tens of millimetres
    (seed 1357 rough idx 20: from 3.6 to 2.7 pixels over 130 mm, where a pen line added 1.3 over 38 mm with
    ends a millimetre long), so a running median cannot tell them apart, a step can. The rule's own ends
    count as one end (a line drawn on past the name column), not as both, and a step leaves RULE_NEAR_RUN_MM
    of the rule outside it (no hand draws from end to end; the rule's ends may fall off where it meets the
    table's edges). A line pressed harder along part of it steps up twice: each rise is paired with each fall."""
    s = NAME_PX_PER_MM
    n, w, gap = darkness.size, int(round(RULE_EDGE_MM * s)), int(round(RULE_EDGE_GAP_MM * s))
    side = int(round(RULE_SIDE_MM * s))
    step, shortest = RULE_STEP_MM * s, RULE_NEAR_RUN_MM * s
    sums = np.concatenate([[0.0], np.cumsum(darkness, dtype=np.float64)])
    x = np.arange(gap + w, n - gap - w + 1)
    rise = np.zeros(n)  # the mean darkness just after each column less that just before it
    rise[x] = (sums[x + gap + w] - sums[x + gap] - sums[x - gap] + sums[x - gap - w]) / w
    out = np.zeros(n, bool)
    for a in [0, *_peaks(rise, step)]:
        for b in [*_peaks(-rise, step), n]:
            if b - a < shortest or n - (b - a) < shortest:
                continue
            level = float(np.median(darkness[a + gap:b - gap]))
            sides = [darkness[max(a - side, 0):a - gap]] if a > 0 else []
            sides += [darkness[b + gap:b + side]] if b < n else []
            if all(part.size and level >= float(np.median(part)) + step for part in sides):
                out[a:b] = True
    return out


def _peaks(score: np.ndarray, floor: float) -> list[int]:
    """Where each run of `score` at `floor` or more is highest."""
    return [int(a + np.argmax(score[a:b])) for a, b in zip(*run_bounds(score >= floor))]


def _neighbour_rules(bands: Sequence[RuleBand], k: int) -> list[int]:
    """The rules just above and below rule `k` of a name column that were measured along the same columns."""
    return [j for j in (k - 1, k + 1)
            if 0 <= j < len(bands) and bands[j].darkness.size == bands[k].darkness.size > 0]


def _hugging_bilevel(bands: Sequence[RuleBand], pixel_mm: float) -> list[float]:
    """On a 1-bit scan whose pixels are `pixel_mm` wide, how long a pen line hugs each rule of one name column,
    in mm: where the rule's darkness, averaged over RULE_JAGGY_MM, passes the lighter of its neighbours' (each
    taken no lighter than its own median: a neighbour's jaggies may thin it for a stretch) by
    RULE_NEAR_BILEVEL_MM or RULE_NEAR_BILEVEL_PX of a pixel (above what it passes them by elsewhere, as
    overdrawn_rules does on grey), for RULE_NEAR_BILEVEL_RUN_MM or more, and stops short of the rule's ends by
    RULE_NEAR_RUN_MM. A thin line the threshold dissolves into dashes beside the rule shows only so. A skew's
    phase thickens most rules of a table at once by a pixel, where a voter's line between two names is one (or
    two): a run darker by less than RULE_NEAR_BILEVEL_CLEAR_MM (or _PX) counts, from RULE_FAINT_RUN_MM, only
    where no more than RULE_FAINT_RULES rules of the column are darker so for RULE_NEAR_RUN_MM (a faint line
    and the jaggies on two more rules are then missed as before)."""
    s = NAME_PX_PER_MM
    window = int(round(RULE_JAGGY_MM * s))
    step = max(RULE_NEAR_BILEVEL_MM, RULE_NEAR_BILEVEL_PX * pixel_mm)
    clear_step = max(RULE_NEAR_BILEVEL_CLEAR_MM, RULE_NEAR_BILEVEL_CLEAR_PX * pixel_mm)
    smooth = [cv2.blur(b.darkness[None, :], (window, 1))[0] if b.darkness.size else b.darkness for b in bands]
    floor = [np.maximum(d, np.median(d)) if d.size else d for d in smooth]
    runs, faint = [0.0] * len(bands), [0.0] * len(bands)  # a line's run; the run of a rule no clearer than jaggies
    for k in range(len(bands)):
        near = _neighbour_rules(bands, k)
        if not near:
            continue
        excess = (smooth[k] - np.minimum.reduce([floor[j] for j in near])) / s
        excess -= max(float(np.percentile(excess, RULE_OWN_PERCENTILE)), 0.0)
        flags = (excess >= step) & np.logical_and.reduce([bands[j].seen for j in (k, *near)])
        if np.count_nonzero(~flags) / s < RULE_NEAR_RUN_MM or not flags.any():
            continue
        if float(np.percentile(excess[flags], 90)) >= clear_step:
            runs[k] = _run_mm(flags, RULE_NEAR_BILEVEL_RUN_MM)
        else:
            faint[k] = _run_mm(flags, RULE_NEAR_RUN_MM)
    if sum(run > 0 for run in faint) <= RULE_FAINT_RULES:
        runs = [max(run, faint_run if faint_run >= RULE_FAINT_RUN_MM else 0.0) for run, faint_run in zip(runs, faint)]
    return runs


def rule_overdrawn_mm(rules: dict[tuple[float, float], float], cell: NameCell) -> float:
    """The longer pen line along the rule above or below `cell` (overdrawn_rules' measure)."""
    r = cell.rect
    return max(rules.get((round(r.x, 2), round(y, 2)), 0.0) for y in (r.y, r.y + r.h))


BESIDE_PIECE_MM2 = 1.0  # a piece of ink beside the name's cell counts from this much ink ...
BESIDE_PIECE_MM = 3.0  # ... or this long (a speck of dust, toner or 1-bit speckle is neither)
BESIDE_RULE_MM = 1.0  # below the rule above the row and above the one below (their edges, a pixel off, are print)


def ink_beside_name(gray: np.ndarray, homography: np.ndarray, cell: NameCell, row: Rect, reference: np.ndarray,
                    levels: InkLevels, blur_mm: float, memo: dict, streaks: Sequence[Line] = (),
                    shade: CreaseShade | None = None) -> float:
    """New ink in the name's row (`row`: the table's width and the margins a strike may overshoot into, as
    the layout's ink zone) outside the name's cell, mm^2, in pieces that do not reach into the cell: a line
    through the date of birth or the number instead of the name, a mark beside it. A strike through the
    name that runs on into them is one piece with the cell's ink (the table's rules it crosses, print here,
    are bridged: BRIDGE_MM); specks count only from BESIDE_PIECE_MM2 of ink or BESIDE_PIECE_MM long. `shade`:
    a fold's crease along the row (crease_shade), lifted first."""
    s = NAME_PX_PER_MM
    region = Rect(row.x, cell.rect.y + BESIDE_RULE_MM, row.w, cell.rect.h - 2 * BESIDE_RULE_MM)  # clear of the rules
    row_scan = _region_scan(gray, homography, region, reference, print_grow_px(blur_mm), memo,
                            ("strike-row", cell.contest_id, cell.row_id), streaks)
    if shade is not None:
        row_scan = (shade.lift(row_scan[0], region, levels.contrast), *row_scan[1:])
    ink = _new_ink(_raw_ink(row_scan, levels.lighter(FAINT_SHARE)), row_scan[1])
    if not ink.any():
        return 0.0
    joined = cv2.morphologyEx(ink, cv2.MORPH_CLOSE, np.ones((1, int(round(BRIDGE_MM * s)) | 1), np.uint8))
    count, labels, stats, _ = cv2.connectedComponentsWithStats(joined, connectivity=8)
    c0, c1 = int(round((cell.rect.x - region.x) * s)), int(round((cell.rect.x + cell.rect.w - region.x) * s))
    in_cell = np.bincount(labels[:, max(c0, 0):max(c1, 0)].ravel(), minlength=count) > 0
    area = np.bincount(labels[ink > 0], minlength=count) / (s * s)  # the ink itself, not the bridges
    total = 0.0
    for i in range(1, count):
        long = max(stats[i, cv2.CC_STAT_WIDTH], stats[i, cv2.CC_STAT_HEIGHT]) / s >= BESIDE_PIECE_MM
        if not in_cell[i] and (area[i] >= BESIDE_PIECE_MM2 or long):
            total += float(area[i])
    return total


CREASE_REACH_MM = 2.5  # either side of a crease's line: its shading, and any pen line drawn along it
CREASE_PAPER_MM = 4.0  # a column's paper: its brightest pixels (CREASE_PAPER_PERCENTILE) this near the crease
#                       (the compared offsets, and CREASE_PAPER_MM - CREASE_REACH_MM past them)
CREASE_PAPER_PERCENTILE = 90
CREASE_EDGE_MM = 6.0  # the paper's edges (a photo's shadows) are not compared
CREASE_EXTRA = 0.06  # a pen's line adds at least this much darkness (share of the contrast) at some distance
#                      from the crease (a light pencil ~0.2): across the name, beside what the crease has elsewhere
CREASE_MIN_COLUMNS = (4, 60)  # pixels an offset needs in the name's gaps, and elsewhere along the row (5 mm)
CREASE_KNOWN = 0.7  # of the offsets compared, at least this share seen on both sides (the rest: a rule's print)
CREASE_INK_MM2 = 0.15  # new ink along such a crease in the name's cell counts beyond this much: the specks left
#                       once its shade is lifted (CreaseShade; 0-0.13 mm2 on simulated untouched names, 0.06-0.5
#                       before it was) are not a hand's sign; a dot a pen leaves (0.3 mm2 and more) is


def below_line(region: Rect, shape: tuple[int, ...], line: Line) -> np.ndarray:
    """How far each pixel of an upright patch of `region` (`shape`, at NAME_PX_PER_MM) lies below a line across
    the page (its x0, y0, x1, y1 in mm: a fold's crease), in pixels, as upright_patch samples them."""
    s = NAME_PX_PER_MM
    x0, y0, x1, y1 = line[:4]
    slope = (y1 - y0) / max(x1 - x0, 1e-9)
    xs = region.x + np.arange(shape[1]) / s
    return np.arange(shape[0])[:, None] - ((y0 + slope * (xs - x0)) - region.y)[None, :] * s


@dataclass(frozen=True)
class CreaseShade:
    """A fold's crease across a name (`line`, from edge to edge of the paper) and its darkness across it as
    the row outside the name's cell shows it (share of the contrast below each column's paper), pixel
    offset by pixel offset from `first` (NAME_PX_PER_MM; positive: down the page)."""

    line: Line
    first: int
    darkness: np.ndarray = field(repr=False)

    def lift(self, scan: np.ndarray, region: Rect, contrast: float) -> np.ndarray:
        """`scan` (a patch of `region`, upright at NAME_PX_PER_MM) with the fold's darkness taken out: each
        pixel lightened by what the row shows at its offset from the crease (the shade's lit side is left
        as it is). What a hand drew there stays darker than the paper."""
        offset = np.rint(below_line(region, scan.shape, self.line)).astype(np.int64) - self.first
        inside = (offset >= 0) & (offset < len(self.darkness))
        lift = np.zeros(scan.shape, np.float32)
        lift[inside] = np.maximum(self.darkness[offset[inside]], 0.0) * contrast
        return np.clip(np.rint(scan.astype(np.float32) + lift), 0, 255).astype(np.uint8)


def crease_shade(gray: np.ndarray, homography: np.ndarray, cell: NameCell, crease: Line, reference: np.ndarray,
                 levels: InkLevels, blur_mm: float, streaks: Sequence[Line] = ()) -> CreaseShade | None:
    """The shade of a fold's crease found across the page (`crease`: its line from edge to edge) where it runs
    through the cell of a one-line name, or within CREASE_REACH_MM of it (through the letters' bodies, beside
    them or below them: its shade reaches them), and is no darker there than along the rest of the row; None
    where it is darker, or where that cannot be told. Its darkness profile across the line, over the letters'
    bodies and CREASE_REACH_MM either side of the crease, in the name's gaps (columns clear of print across
    the bodies; a rule's pixels left out one by one) against the row's paper outside the name's cell (its
    number, date of birth, the margins), compared offset by offset. A pen line through the letters, along
    the crease or beside it, darkens some offset across the name only; a fold darkens the row alike from
    edge to edge, which no hand draws. The shade is the row's profile over the compared offsets and
    CREASE_REACH_MM past them (each offset's median outside the cell, or in the name's gaps where they show
    less; where the row shows no paper, as at the nearest offsets where it does), offsets from the crease's
    line as its valley shows it beside the cell (_moved_to_valley; the line it returns with)."""
    s = NAME_PX_PER_MM
    x0, y0, x1, y1, _ = crease
    slope = (y1 - y0) / max(x1 - x0, 1e-9)
    t = cell.text_rect
    reach, paper_mm = CREASE_REACH_MM, CREASE_PAPER_MM - CREASE_REACH_MM
    if len(cell.lines) > 1:
        return None  # the other line's letters lie beyond the crease's reach: a strike there is not compared
    band = body_band(t if not cell.lines else cell.lines[0])
    ends = [y0 + slope * (x - x0) for x in (band.x, band.x + band.w)]
    if min(ends) - reach > cell.rect.y + cell.rect.h or max(ends) + reach < cell.rect.y:
        return None
    # the offsets compared, mm from the crease: its own reach, and all of the letters' bodies
    lo, hi = min(-reach, band.y - max(ends)), max(reach, band.y + band.h - min(ends))
    region = Rect(x0 + CREASE_EDGE_MM, min(y0, y1) + lo - reach, x1 - x0 - 2 * CREASE_EDGE_MM,
                  abs(y1 - y0) + hi - lo + 2 * reach)  # the shade's reach past the compared offsets
    scan, printed, seen = _region_scan(gray, homography, region, reference, print_grow_px(blur_mm), {}, ("crease",),
                                       streaks)
    if scan.size == 0 or printed.all():
        return None
    xs = region.x + np.arange(scan.shape[1]) / s  # as upright_patch samples them

    def measured(line: Line) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Each pixel's offset below the line, whether it shows the paper near it, each column's paper and each
        pixel's darkness against it."""
        offset = below_line(region, scan.shape, line)
        usable = (offset >= (lo - paper_mm) * s) & (offset <= (hi + paper_mm) * s) & ~printed & seen
        paper = column_percentile(scan, usable, CREASE_PAPER_PERCENTILE)
        return offset, usable, paper, (paper[None, :] - scan.astype(np.float32)) / max(levels.contrast, 1.0)

    offset, usable, paper, dark = measured(crease)
    moved = _moved_to_valley(crease, dark, offset, usable, xs, cell.rect)  # through its valley beside the cell
    if moved is not crease:
        crease = moved
        offset, usable, paper, dark = measured(crease)
    body = (offset >= (band.y - max(ends)) * s) & (offset <= (band.y + band.h - min(ends)) * s)
    window = (offset >= lo * s) & (offset <= hi * s)
    # columns clear of print across the letters' bodies (the name's gaps) and of streaks in the window; the
    # rules above and below the row, which the window may reach, are left out pixel by pixel
    clear = ~(body & ~usable).any(axis=0) & ~(window & ~seen).any(axis=0) & np.isfinite(paper)
    inside = clear & (xs >= t.x) & (xs < t.x + t.w)
    outside = clear & ((xs < cell.rect.x) | (xs >= cell.rect.x + cell.rect.w))
    bins = np.where(usable, np.rint(offset).astype(np.int64), np.iinfo(np.int64).min)
    first, last = int(np.floor(lo * s)), int(np.ceil(hi * s))
    extra = np.full(last - first + 1, np.nan)
    margin = int(round(reach * s))  # the shade lifted this far past the compared offsets
    shade = np.full(last - first + 1 + 2 * margin, np.nan, np.float32)
    for k in range(first - margin, last + margin + 1):  # the crease's profile, offset by offset
        at = bins == k
        row, mine = at & outside[None, :], at & inside[None, :]
        if row.sum() < CREASE_MIN_COLUMNS[1]:
            continue
        shade[k - first + margin] = along_row = np.median(dark[row])
        if mine.sum() >= CREASE_MIN_COLUMNS[0]:
            gaps = np.median(dark[mine])
            shade[k - first + margin] = min(along_row, gaps)  # never lifted by more than the name's gaps show
            if first <= k <= last:
                extra[k - first] = gaps - along_row  # the name's gaps against the row
    known = np.isfinite(extra)
    if known.sum() < CREASE_KNOWN * len(extra):
        return None  # too little of the window shows paper on both sides to compare
    smooth = np.convolve(np.where(known, extra, 0.0), np.ones(3), mode="same") / np.maximum(
        np.convolve(known.astype(np.float64), np.ones(3), mode="same"), 1.0)  # a pen line is 4 px wide or more
    if smooth[known].max() >= CREASE_EXTRA:
        return None
    # an offset the row shows no paper at (a rule's print along it) is shaded as the nearest ones it does: a broad
    # shadow runs on under the rule, and a lift stopping short of it would leave its edge as a line of ink
    shown = np.flatnonzero(np.isfinite(shade))
    shade = np.interp(np.arange(len(shade)), shown, shade[shown]).astype(np.float32) if shown.size \
        else np.zeros(len(shade), np.float32)
    return CreaseShade(crease, first - margin, shade)


CREASE_SHIFT_PX = 8  # the found crease's line is moved by at most this much (1 mm) to where its valley lies


def _moved_to_valley(crease: Line, dark: np.ndarray, offset: np.ndarray, usable: np.ndarray, xs: np.ndarray,
                     cell: Rect) -> Line:
    """The crease's line moved to its valley as the row shows it on each side of the name's cell: the offset
    from the line darkest in each side's median darkness, offset by offset, within CREASE_SHIFT_PX, and at
    least CREASE_DARK darker than the lightest there. The line was found at PAGE_PX_PER_MM over 1 mm bins,
    and may lie most of a millimetre off its valley at one side of a cell; a lift beside the valley leaves
    its edge as dashes of ink. The line as found (the same object) where a side shows too little paper, or
    no such valley."""
    x0, y0, x1, y1, width = crease
    bins = np.rint(offset).astype(np.int64)
    points = []
    for side in (xs < cell.x, xs >= cell.x + cell.w):
        at = usable & side[None, :]
        at_bins, at_dark = bins[at], dark[at]  # the side's paper, taken out once for all the offsets
        profile = np.full(2 * CREASE_SHIFT_PX + 1, np.nan)
        for i, k in enumerate(range(-CREASE_SHIFT_PX, CREASE_SHIFT_PX + 1)):
            here = at_dark[at_bins == k]
            if here.size >= CREASE_MIN_COLUMNS[1]:
                profile[i] = np.median(here)
        if not np.isfinite(profile).all():
            return crease
        k = int(np.argmax(profile))
        if k in (0, len(profile) - 1) or profile[k] - profile.min() < CREASE_DARK:
            return crease  # no valley within reach: a shadow's edge, or the crease fading out
        points.append((float(np.median(xs[at.any(axis=0)])), (k - CREASE_SHIFT_PX) / NAME_PX_PER_MM))
    (xa, da), (xb, db) = points
    slope = (db - da) / max(xb - xa, 1e-9)
    return (x0, y0 + da + slope * (x0 - xa), x1, y1 + da + slope * (x1 - xa), width)


def column_percentile(image: np.ndarray, where: np.ndarray, q: float) -> np.ndarray:
    """Each column's `q`th percentile of its pixels `where` true (numpy's linear method), NaN for a column with
    none: np.nanpercentile's numbers, without its loop over the columns (90 ms for a row of a page)."""
    keyed = np.sort(np.where(where, image.astype(np.float32), np.inf), axis=0)  # the others sort last
    n = where.sum(axis=0)
    rank = (np.maximum(n, 1) - 1) * (q / 100.0)
    lo = np.floor(rank).astype(np.int64)
    hi = np.minimum(lo + 1, np.maximum(n - 1, 0))
    some = n > 0
    low = np.where(some, np.take_along_axis(keyed, lo[None, :], axis=0)[0], np.nan)
    high = np.where(some, np.take_along_axis(keyed, hi[None, :], axis=0)[0], np.nan)
    return (low + (high - low) * (rank - lo)).astype(np.float32)


def run_bounds(flags: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Where each run of true (non-zero) values in a 1-d array starts, and where it ends (one past it)."""
    edges = np.diff(np.concatenate(([0], (np.asarray(flags) != 0).astype(np.int8), [0])))
    return np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)


def longest_run(flags: np.ndarray) -> int:
    """The longest run of true (non-zero) values in a 1-d array."""
    starts, ends = run_bounds(flags)
    return int((ends - starts).max()) if starts.size else 0


def faint_share(levels: InkLevels, blur_mm: float) -> float:
    """The share of the usual darkness from which "not struck" needs no line through a name (`faint`)."""
    if blur_mm >= SHARP_EDGE_MM:
        return LIGHT_SHARE
    return min(LIGHT_SHARE, max(LIGHT_SHARP_SHARE, LIGHT_FLOOR_GREY / max(levels.contrast, 1.0)))


def measure_strike(gray: np.ndarray, homography: np.ndarray, cell: NameCell, reference: np.ndarray,
                   levels: InkLevels, blur_mm: float, memo: dict, streaks: Sequence[Line] = (),
                   light_under: float = 1.0, bilevel: bool = False, light_below: float = 0.0,
                   struck_at: float = 1.0, along: float = 0.0, row: Rect | None = None,
                   creases: Sequence[Line] = ()) -> StrikeMeasure:
    """How struck one candidate's name is (`reference`: the blank page at NAME_PX_PER_MM); `streaks`:
    the scanner streaks found on the page, whose pixels say nothing about the voter. The light line
    (`faint`) is looked for only where the usual darkness shows less than `light_under` of a line (the
    profile's strike_clear_below: elsewhere the name is struck or unclear whatever it shows); there, on a
    1-bit scan (`bilevel`), so is a line of specks (`dotted`: a grey scan keeps a thin line whole, and
    its noise makes specks that a light line's measure already judges). A light pen's line (`light`) is
    looked for only where the usual darkness shows less than `struck_at` of a line (the profile's
    strike_struck_at: elsewhere the name is struck already), and whether a light line runs on past the name
    to the cell's end or OVERSHOOT_MM on (`runs_on`) where it could make a light strike or where `faint`,
    counting the gap columns a broad shade fills (a fold's), reaches `light_below` (the profile's
    strike_light_below: below it, the name is not struck either way). `along`: how long a pen line runs
    along the rule above or below the name
    (rule_overdrawn_mm), counted with the cell's new ink; `row`: the name's row as the layout's ink zone,
    whose ink outside the cell is measured (ink_beside_name);
    `creases`: folds found across the page, whose crease may be the light line running on through the name or
    beside it, and whose shade the cell's ink then leaves out (crease_shade)."""
    best, pale, crossed_gaps, seen, faint, dotted, thin = 0.0, False, 0.0, 1.0, 0.0, 0.0, 0.0
    shaded = 0.0  # `faint` with the gap columns a broad shade fills counted too: where a fold's shadow may lie
    light, lightest = levels.lighter(FAINT_SHARE), levels.lighter(LIGHT_SHARE)
    faintest = levels.lighter(faint_share(levels, blur_mm))
    light_gaps: dict[int, float] = {}  # per printed line: its gaps judged from FAINT_SHARE, once
    lines = cell.lines or (cell.text_rect,)  # the name's printed lines
    bands = [_body_band(gray, homography, line, reference, streaks) for line in lines]
    for i, band in enumerate(bands):
        key = ("strike-body", cell.contest_id, cell.row_id, i)
        runs, broad_pale, shown = body_coverage(band, levels, blur_mm, memo, key)
        gaps = gap_coverage(band, levels, memo, key)
        if bilevel and gaps >= struck_at > max(runs, thin):  # a thin line the threshold broke, stepping rows
            thin = max(thin, min(gaps, gaps_and_ends_on_one_line(gray, homography, lines[i], reference, levels,
                                                                 streaks)))
        coverage = min(runs, gaps)  # a strike shows in both; blurred letters only in runs, specks only in gaps
        crossed_gaps = max(crossed_gaps, gaps)
        if runs > gaps:  # the runs see more of a line than the gaps do: a thin line they may have lost
            light_gaps[i] = gap_coverage(band, light, memo, key)
            thin = max(thin, min(runs, light_gaps[i]))
        # a broad pale band between the words (a fold's shadow): the confidence ballot's check, reused
        pale = pale or broad_pale
        best = max(best, coverage)
        seen = min(seen, shown)
    for i, band in enumerate(bands):
        if max(best, crossed_gaps) >= light_under:
            break
        # "not struck" needs no strike even from a light pen: the same measures from faint_share of the darkness
        key = ("strike-body", cell.contest_id, cell.row_id, i)
        light_runs = body_coverage(band, faintest, blur_mm, memo, key)[0]
        heights = gap_heights(band, faintest, memo, key)
        faint = max(faint, min(light_runs, crossed_share(heights, STRIKE_MAX_WIDTH_MM)))
        shaded = max(shaded, min(light_runs, crossed_share(heights)))
        if bilevel:
            dotted = max(dotted, dotted_share(band, levels, memo, key))
    cell_scan = _cell_scan(gray, homography, cell, reference, blur_mm, memo, streaks)
    ink, strokes = _cell_ink(cell_scan, cell, light)
    t, x0 = cell.text_rect, _cell_region(cell).x  # the name's columns in the cell's patch (_cell_ink's)
    name = (int((t.x - x0) * NAME_PX_PER_MM), int(np.ceil((t.x + t.w - x0) * NAME_PX_PER_MM)))
    words = name if cell.prefix is None else (int((cell.prefix.x - x0) * NAME_PX_PER_MM), name[1])
    off, arms, light_share = 0.0, 0, 0.0
    strike = strike_line(strokes)  # from FAINT_SHARE of the darkness (_cell_ink's levels)
    for i, band in enumerate(bands):
        if strike is None or max(best, thin) >= struck_at or pale:
            break
        # a light pen's line: runs and gaps both from FAINT_SHARE of the darkness (a fold's shadow: see below)
        key = ("strike-body", cell.contest_id, cell.row_id, i)
        runs, broad_pale, _ = body_coverage(band, light, blur_mm, memo, key)
        if not broad_pale:
            if i not in light_gaps:
                light_gaps[i] = gap_coverage(band, light, memo, key)
            light_share = max(light_share, min(runs, light_gaps[i]))
    candidate = strike is not None and light_share > max(best, thin)  # the lighter level sees more of a line
    runs_on = False
    if candidate or (shaded > 0 and shaded >= light_below):  # does a line from LIGHT_SHARE stop in the cell?
        lighter = _straight_off_print(cell_scan, lightest)
        runs_on = runs_past_name(lighter, _line_rows(cell, lighter.shape[0]), words)
    light_share = min(light_share, light_strike_share(strike, name, words, ink.shape[1])) \
        if candidate and not runs_on else 0.0
    if runs_on:  # a fold's shadow across the name, whose lighter edge fills the gaps too: no thin pen's line
        thin = 0.0
    if max(best, thin, light_share) > 0:  # a stroke through the name: was it taken back?
        mine = on_the_name(ink)
        off, arms = off_strike_mm2(mine, strike, name), arms_across(mine, strike)
    beside = 0.0 if row is None else ink_beside_name(gray, homography, cell, row, reference, levels, blur_mm, memo,
                                                     streaks)
    shade = None  # a fold's crease through or beside the name's cell, with nothing more on it (crease_shade)
    if creases and max(best, thin, light_share) < struck_at and (shaded >= light_below or ink.any() or beside > 0):
        shade = next((c for c in (crease_shade(gray, homography, cell, line, reference, levels, blur_mm, streaks)
                                  for line in creases) if c is not None), None)
    extra = 0.0  # what a crease's band holds past CREASE_INK_MM2, counted with the rest of the cell's ink
    if shade is not None:  # the cell's and the row's ink again with the fold's shade lifted: what a hand drew stays
        region = _cell_region(cell)
        lifted = (shade.lift(cell_scan[0], region, levels.contrast), *cell_scan[1:])
        ink = _cell_ink(lifted, cell, light)[0]
        if row is not None:
            beside = ink_beside_name(gray, homography, cell, row, reference, levels, blur_mm, memo, streaks, shade)
        along_crease = near_line(region, ink.shape, shade.line, CREASE_REACH_MM)  # its specks: below CREASE_INK_MM2
        extra = max(float((ink & along_crease).sum()) / NAME_PX_PER_MM ** 2 - CREASE_INK_MM2, 0.0)
        ink = ink & ~along_crease
    specks = grain(ink, name)
    if is_grain(specks.counts, specks.away, specks.away_columns):  # the row shows the paper's grain
        ink_mm2 = less_grain = new_ink_mm2(ink & ~specks.specks) + extra
    else:  # the page may show it (omr.read.crossout): the ink both with and without the lone specks
        ink_mm2 = new_ink_mm2(ink) + extra
        less_grain = new_ink_mm2(ink & ~specks.specks) + extra if specks.specks.any() else ink_mm2
    ink_mm2 += along * 0.5
    less_grain += along * 0.5
    return StrikeMeasure(round(best, 4), round(ink_mm2, 2), pale, round(crossed_gaps, 4),
                         round(seen, 3), round(off, 2), round(faint, 4), round(dotted, 4), round(thin, 4),
                         arms, round(light_share, 4), runs_on, round(beside, 2), shade is not None,
                         specks.counts, round(less_grain, 2))
