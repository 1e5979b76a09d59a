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
