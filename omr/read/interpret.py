"""Contest rules: box states -> row status, and everything found -> sheet status.

Quy định 96-QĐ/TW (confidence): one mark per person is valid; no mark, or two or three marks, makes
that person's row invalid, not the sheet; a crossed-out name voids its row and sends the sheet to a
human. Choose contests are valid within min..max marks (overvote otherwise). Yes/no needs exactly
one mark. Any marginal mark sends the sheet to review with the box named: the machine never guesses.
"""

from __future__ import annotations

from dataclasses import dataclass

from omr.ballot.template import Contest
from omr.codes import ROW_REVIEW_CODES, RULE_INVALID_CODES, SHEET_REVIEW_CODES
from omr.read.results import (
    INVALID,
    MARGINAL,
    MARKED,
    REVIEW,
    SHEET_OK,
    SHEET_REJECTED,
    SHEET_REVIEW,
    VALID,
    MarkRead,
    Reason,
    RowRead,
    SheetRead,
)


@dataclass(frozen=True)
class Policy:
    """What goes to a human besides marginal marks and crossed-out names."""

    review_invalid_rows: bool = False  # True: rows with no mark or several marks go to a human too


def interpret_row(contest: Contest, row_id: str, marks: list[MarkRead], crossed: str | None,
                  beside: tuple[str, ...] = ()) -> RowRead:
    """The status of one row (a person, or a whole choose/yes-no contest) from its marks; ink found
    next to a box of the row (`beside`: what was seen) sends the row to a person."""
    marked = tuple(m.option_id for m in marks if m.state == MARKED)
    marginal = [m for m in marks if m.state == MARGINAL]
    reasons: list[Reason] = []
    for m in marginal:
        reasons.append(Reason("marginal-mark", f"{contest.id} / {row_id} / {m.option_id}: score {m.score:.3f}"))
    if crossed is not None:
        reasons.append(Reason("crossed-out-name", f"{contest.id} / {row_id}: {crossed}"))
        return RowRead(contest.id, row_id, INVALID, tuple(reasons), marked, tuple(marks))
    n = len(marked)
    if contest.kind == "confidence" or contest.kind == "yesno":
        if n == 0 and not marginal:
            reasons.append(Reason("no-mark", f"{contest.id} / {row_id}: no box marked"))
        elif n >= 2:
            reasons.append(Reason("several-marks", f"{contest.id} / {row_id}: {n} boxes marked "
                                  f"({', '.join(marked)})"))
    elif n > contest.max_marks:
        reasons.append(Reason("overvote", f"{contest.id}: {n} marked, at most {contest.max_marks} allowed"))
    elif n < contest.min_marks and not marginal:
        reasons.append(Reason("undervote", f"{contest.id}: {n} marked, at least {contest.min_marks} required"))
    for detail in beside:
        reasons.append(Reason("mark-beside-box", f"{contest.id} / {row_id}: {detail}"))
    if marginal or beside:
        status = REVIEW
    elif any(r.code in RULE_INVALID_CODES for r in reasons):
        status = INVALID
    else:
        status = VALID
    return RowRead(contest.id, row_id, status, tuple(reasons), marked, tuple(marks))


def sheet_status(rows: list[RowRead], sheet_reasons: list[Reason], policy: Policy) -> str:
    """ok, review or rejected for a sheet that was registered and identified."""
    if any(r.code == "rejected" for r in sheet_reasons):
        return SHEET_REJECTED
    if any(r.code in SHEET_REVIEW_CODES for r in sheet_reasons):
        return SHEET_REVIEW
    for row in rows:
        if row.status == REVIEW or any(r.code in ROW_REVIEW_CODES for r in row.reasons):
            return SHEET_REVIEW
        if policy.review_invalid_rows and row.status == INVALID:
            return SHEET_REVIEW
    return SHEET_OK


# What awaits a person: the one rule the tally and the review screen share


def sheet_review_codes(read: SheetRead) -> tuple[str, ...]:
    """The sheet-level reasons (not a row's) that sent a read sheet to a person."""
    if read.status != SHEET_REVIEW:
        return ()
    return tuple(r.code for r in read.reasons if r.code in SHEET_REVIEW_CODES)


def sheet_needs_person(read: SheetRead) -> bool:
    """A sheet-level decision is needed: the machine rejected the sheet, or found something on it
    (not in a row) that sends it to a person."""
    return read.status == SHEET_REJECTED or bool(sheet_review_codes(read))


def row_needs_person(read: SheetRead, row: RowRead) -> bool:
    """A row a person must decide: on a sheet sent to review, any row not simply valid."""
    if read.status != SHEET_REVIEW:
        return False
    return row.status != VALID or any(r.code in ROW_REVIEW_CODES for r in row.reasons)


# Cross-out election ballots (phiếu bầu, gạch tên): the ballot's rules, first match wins.
# The reader applies them to what it read; the tally applies them again once people have decided.

STRUCK_OUT, LEFT, UNCLEAR = "struck", "left", "unclear"  # a name struck out, left (a vote), or unclear
STAMP_PRESENT, STAMP_ABSENT, STAMP_UNCLEAR = "present", "absent", "unclear"
@dataclass(frozen=True)
class CrossoutVerdict:
    """The rules' answer for one cross-out ballot: valid, invalid (with the rule) or review (why)."""

    status: str  # valid | invalid | review
    code: str | None  # the rule that voided it (omr.codes.CROSSOUT_VERDICT_CODES) or the cause of review
    detail: str
    left: int  # names surely left (votes)


def crossout_verdict(contest: Contest, names: dict[str, str], stamp: str, writing: bool,
                     whole: bool = True, accepted: bool = False) -> CrossoutVerdict:
    """Judge one ballot from each name's reading (struck / left / unclear), the stamp (present / absent /
    unclear) and whether writing on it still awaits a person, by the contest's rules
    (``Contest.crossout_rules``: its regime's, omr.ballot.regimes, with the template's overrides).

    First match wins: stamp absent -> invalid or review (state: invalid, Điều 74; party, mass: a person
    decides, invalid suggested); stamp unclear -> review; writing -> review (a person decides whether it is
    an added name or other content: both invalid); more names left than K -> invalid, or review where the
    statute says so (an untouched ballot has its own field); an unclear name -> review; all struck ->
    invalid (state), invalid on a list with surplus (party, mass); else valid.
    Names surely left decide "more than K" even when others are unclear: however they are read the
    ballot is invalid, so nobody is asked. `whole` False: the names of one page of a longer list, judged
    only as far as that page can tell (all struck is not known; the tally judges the whole ballot).
    `accepted`: a person accepted the ballot, which settles the rules that only ask for a person."""
    rules = contest.crossout_rules
    k = contest.seats
    left = sum(1 for v in names.values() if v == LEFT)
    unclear = sum(1 for v in names.values() if v == UNCLEAR)
    if stamp == STAMP_ABSENT and rules.stamp_absent == "invalid":
        return CrossoutVerdict(INVALID, "no-stamp", f"no stamp ({rules.cite('no-stamp')})", left)
    if stamp == STAMP_ABSENT and rules.stamp_absent == "review" or stamp == STAMP_UNCLEAR and \
            rules.stamp_unclear == "review":
        detail = ("whether the ballot is stamped cannot be told" if stamp == STAMP_UNCLEAR else
                  "no stamp seen: a person checks the paper ballot (invalid if it has none)")
        return CrossoutVerdict(REVIEW, f"stamp-{stamp}", detail, left)
    if writing:
        return CrossoutVerdict(REVIEW, "extra-writing", "writing on the ballot: an added name or other content "
                               "makes it invalid, a person decides", left)
    untouched = whole and left == len(contest.candidates)
    if left > k and not (accepted and (rules.untouched if untouched else rules.too_many_left) == "review"):
        status = INVALID if (rules.untouched if untouched else rules.too_many_left) == "invalid" else REVIEW
        what = "no name struck" if untouched else f"{left} names left"
        return CrossoutVerdict(status, "too-many-left", f"{what}, {k} to elect ({rules.cite('too-many-left')})",
                               left)
    if unclear:
        return CrossoutVerdict(REVIEW, "strike-unclear", f"{unclear} name(s) unclear", left)
    surplus = len(contest.candidates) > k
    if whole and left == 0 and (rules.all_struck == "invalid" or rules.all_struck == "invalid-with-surplus"
                                and surplus):
        return CrossoutVerdict(INVALID, "all-struck", f"every name struck ({rules.cite('all-struck')})", left)
    return CrossoutVerdict(VALID, None, f"{left} name(s) left of {k} to elect", left)


def name_reading(contest: Contest, marks: list[MarkRead]) -> str:
    """One row's name as struck / left / unclear: the strike read (state of option "struck"), or on the
    agree style left only when "Đồng ý" alone is marked (both or neither: no vote, QĐ 190 Điều 30)."""
    if any(m.state == MARGINAL for m in marks):
        return UNCLEAR
    if contest.style == "agree":
        chosen = [m.option_id for m in marks if m.state == MARKED]
        return LEFT if chosen == [contest.options[0].id] else STRUCK_OUT
    return STRUCK_OUT if any(m.state == MARKED for m in marks) else LEFT


def crossout_rows(contest: Contest, marks: dict[str, list[MarkRead]], stamp: str, writing: bool,
                  where: dict[str, tuple[float, float, float, float]] | None = None, whole: bool = True,
                  why: dict[str, str] | None = None) -> list[RowRead]:
    """Every candidate's row of one cross-out ballot, judged together: the ballot's verdict on each row
    (invalid with its rule, or valid), an unclear name sent to a person unless nothing depends on it.
    `why`: per row, what the scan shows of an unclear name (strike_call), said in its reason's detail."""
    names = {row_id: name_reading(contest, m) for row_id, m in marks.items()}
    verdict = crossout_verdict(contest, names, stamp, writing, whole)
    rows = []
    for row_id, row_marks in marks.items():
        reasons: list[Reason] = []
        box = (where or {}).get(row_id)
        seen = (why or {}).get(row_id, "")
        if contest.style == "agree" and names[row_id] == STRUCK_OUT and \
                sum(1 for m in row_marks if m.state == MARKED) != 1:
            reasons.append(Reason("agree-no-vote", f"{contest.id} / {row_id}: both boxes or neither marked "
                                  f"({contest.crossout_rules.cite('agree-no-vote') or 'QĐ 190-QĐ/TW Điều 30'})",
                                  box))
        status = VALID
        if verdict.status == REVIEW and verdict.code == "too-many-left":  # the statute asks a person
            status = INVALID
            reasons.append(Reason("too-many-left", f"{contest.id} / {row_id}: {verdict.detail}"))
            reasons.append(Reason("crossout-rule-review", f"{contest.id} / {row_id}: {verdict.detail}: the "
                                  "rules ask a person (invalid suggested)"))
        elif verdict.status == INVALID:
            status = INVALID
            reasons.append(Reason(verdict.code or "ballot-invalid", f"{contest.id} / {row_id}: {verdict.detail}"))
            if names[row_id] == UNCLEAR:
                reasons.append(Reason("strike-unclear-settled", f"{contest.id} / {row_id}: unclear"
                                      + (f" (the scan shows {seen})" if seen else "")
                                      + ", but the ballot is invalid however it is read", box))
        elif names[row_id] == UNCLEAR:
            status = REVIEW
            reasons.append(Reason("strike-unclear", f"{contest.id} / {row_id}: is the name struck out?"
                                  + (f" The scan shows {seen}" if seen else ""), box))
        struck = names[row_id] == STRUCK_OUT
        choices = (tuple(m.option_id for m in row_marks if m.state == MARKED) if contest.style == "agree"
                   else (("struck",) if struck else ()))
        rows.append(RowRead(contest.id, row_id, status, tuple(reasons), choices, tuple(row_marks)))
    return rows


def name_from_choices(contest: Contest, choices: tuple[str, ...] | list[str]) -> str:
    """A person's decision on a name (the options they set) as struck / left."""
    if contest.style == "agree":
        return LEFT if tuple(choices) == (contest.options[0].id,) else STRUCK_OUT
    return STRUCK_OUT if "struck" in choices else LEFT
