"""Helpers shared by the tally and report tests: sheet reads as the scanner makes them (the contest
rules of omr.read.interpret applied to box states), decisions as the store returns them, and the
tally of a few reads. Also the checks that keep the tally's copies of reader constants in step."""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Mapping, Sequence
from functools import cache

from conftest import GENERAL_EN_TEMPLATE, LEADERS_TEMPLATE, SEED_TEMPLATE

from omr.ballot.layout import fingerprint, layout
from omr.ballot.template import Template, load_template
from omr.count.tally import Tally, tally_reads
from omr.read.interpret import Policy, interpret_row, sheet_status
from omr.read.results import BLANK, MARGINAL, MARKED, MarkRead, Reason, SheetRead
from omr.store.records import Decision

SCORES = {MARKED: 0.21, MARGINAL: 0.015, BLANK: 0.002}
_decisions = itertools.count(1)


@cache
def template(name: str = "seed") -> Template:
    return load_template({"seed": SEED_TEMPLATE, "leaders": LEADERS_TEMPLATE, "general": GENERAL_EN_TEMPLATE}[name])


def person(t: Template, index: int = 0) -> str:
    return t.contests[0].rows[index].id


# The tally tests read sheets as a committee that confirms every invalid row would have them read
# (profile review_invalid_rows: true), so that rows awaiting a person are easy to make; the default
# profile counts a clear empty row or overvote invalid by the rules without a person.
CONFIRM_INVALID_ROWS = Policy(review_invalid_rows=True)


def make_read(t: Template, votes: Mapping[str, Sequence[str]] | None = None, *, source: str = "scans/batch-01.pdf",
              page: int = 1, template_page: int = 1, marginal: Mapping[str, str] | None = None,
              crossed: Sequence[str] = (), reasons: Sequence[Reason] = (), test: bool = False,
              image: str | None = None, default: str | None = "first",
              policy: Policy = CONFIRM_INVALID_ROWS) -> SheetRead:
    """A read of one page of `t`: `votes` maps a row id (a person, or a choose/yes-no contest id) to
    the options marked; rows not named get their first option (`default="first"`) or nothing."""
    votes = dict(votes or {})
    marginal = dict(marginal or {})
    pl = layout(t).pages[template_page - 1]
    contests = {c.id: c for c in t.contests}
    boxes: dict[tuple[str, str], list[str]] = {}
    for b in pl.boxes:
        boxes.setdefault((b.contest_id, b.row_id), []).append(b.option_id)
    rows = []
    for (cid, rid), options in boxes.items():
        chosen = votes.get(rid, [options[0]] if default == "first" else [])
        marks = []
        for o in options:
            state = MARGINAL if marginal.get(rid) == o else MARKED if o in chosen else BLANK
            marks.append(MarkRead(cid, rid, o, SCORES[state], state))
        strike = "the printed name is crossed out" if rid in crossed else None
        rows.append(interpret_row(contests[cid], rid, marks, strike))
    sheet_reasons = list(reasons) + [Reason("crossed-out-name", f"{contests[t.contests[0].id].id} / {rid}")
                                     for rid in crossed]
    status = sheet_status(rows, sheet_reasons, policy)
    # the same arguments, the same image: reproducible, and different reads get different images
    digest = image or hashlib.sha256(repr((t.id, sorted(votes.items()), source, page, template_page,
                                           sorted(marginal.items()), list(crossed), [str(r) for r in reasons],
                                           test, default)).encode()).hexdigest()
    return SheetRead(source=source, page=page, status=status, reasons=tuple(sheet_reasons), image_sha256=digest,
                     template_id=t.id, fingerprint=fingerprint(t), template_page=template_page, test=test,
                     rows=tuple(rows))


def rejected_read(kind: str = "not-issued", *, source: str = "scans/batch-01.pdf", page: int = 1) -> SheetRead:
    detail = {"not-issued": "not issued by the counting committee: fingerprint 0123456789abcdef… matches no given "
                            "template",
              "unreadable": "not registered: no corner marker found"}[kind]
    fp = "ab" * 32 if kind == "not-issued" else None
    return SheetRead(source=source, page=page, status="rejected", reasons=(Reason("rejected", detail),),
                     image_sha256=hashlib.sha256(f"rejected {kind} {source} {page}".encode()).hexdigest(),
                     fingerprint=fp)


def decision(sheet_id: int, action: str, *, row: tuple[str, str] | None = None, choices: Sequence[str] = (),
             reason: str = "", reviewer: str = "Trần Thị Bình", supersedes: int | None = None,
             id: int | None = None) -> Decision:
    """A decision as the store returns it; ids increase in the order decisions are made."""
    return Decision(id=next(_decisions) if id is None else id, sheet_id=sheet_id, scope="row" if row else "sheet",
                    contest_id=row[0] if row else None, row_id=row[1] if row else None, action=action,
                    choices=tuple(choices), reason=reason, reviewer=reviewer, note="",
                    created_at="2026-06-29T10:00:00.000000Z", machine={}, supersedes=supersedes)


def decisions_of(*items: Decision) -> dict:
    """As Store.latest_decisions(): the latest per (sheet, contest, row)."""
    out: dict = {}
    for d in sorted(items, key=lambda d: d.id):
        out[(d.sheet_id, d.contest_id, d.row_id)] = d
    return out


def tally_of(reads: Sequence[SheetRead], *decisions: Decision, templates: Sequence[Template] | None = None,
             **numbers) -> Tally:
    """The tally of reads numbered 1, 2, ... in order (their store ids)."""
    if templates is None:
        templates = [template("seed"), template("leaders"), template("general")]
    return tally_reads(list(enumerate(reads, start=1)), decisions_of(*decisions), templates, **numbers)


def row_of(t: Tally, row_id: str, contest_id: str | None = None):
    for c in t.contests:
        for r in c.rows:
            if r.row_id == row_id and (contest_id is None or c.id == contest_id):
                return r
    raise KeyError(row_id)


def codes(t: Tally) -> list[str]:
    return [d.code for d in t.reconciliation.discrepancies]


def test_helper_reads_look_like_the_scanners() -> None:
    t = template("seed")
    assert make_read(t).status == "ok"
    assert make_read(t, {person(t): []}).status == "review"  # an invalid row goes to a person when asked
    assert make_read(t, {person(t): []}, policy=Policy()).status == "ok"  # by default the rules decide it
    assert make_read(t, marginal={person(t): "thap"}).rows[0].status == "review"
