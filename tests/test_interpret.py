"""Contest rules on box states: QĐ 96 confidence rows, choose min..max, yes/no, and sheet status."""

from __future__ import annotations

import pytest

from omr.ballot.template import Contest, Option, Person
from omr.read.interpret import (
    Policy,
    interpret_row,
    row_needs_person,
    sheet_needs_person,
    sheet_review_codes,
    sheet_status,
)
from omr.read.results import BLANK, MARGINAL, MARKED, MarkRead, Reason, SheetRead

LEVELS = (Option("cao", "Tín nhiệm cao"), Option("tin-nhiem", "Tín nhiệm"), Option("thap", "Tín nhiệm thấp"))
CONFIDENCE = Contest("tn", "confidence", "", "", LEVELS, (Person("p1", "Nguyễn Văn A", ""),), 1, 1)
COUNCIL = Contest("council", "choose", "City Council", "", tuple(Option(c, c) for c in "abcdef"), (), 1, 3)
MEASURE = Contest("m", "yesno", "Measure A", "", (Option("yes", "Yes"), Option("no", "No")), (), 1, 1)


def marks(contest: Contest, row: str, states: dict[str, str]) -> list[MarkRead]:
    score = {MARKED: 0.3, MARGINAL: 0.01, BLANK: 0.0}
    return [MarkRead(contest.id, row, o.id, score[states.get(o.id, BLANK)], states.get(o.id, BLANK))
            for o in contest.options]


@pytest.mark.parametrize("states, status, choices, code", [
    ({"cao": MARKED}, "valid", ("cao",), None),
    ({"thap": MARKED}, "valid", ("thap",), None),
    ({}, "invalid", (), "no-mark"),
    ({"cao": MARKED, "thap": MARKED}, "invalid", ("cao", "thap"), "several-marks"),
    ({"cao": MARKED, "tin-nhiem": MARKED, "thap": MARKED}, "invalid", ("cao", "tin-nhiem", "thap"), "several-marks"),
    ({"cao": MARKED, "thap": MARGINAL}, "review", ("cao",), "marginal-mark"),
    ({"tin-nhiem": MARGINAL}, "review", (), "marginal-mark"),
])
def test_confidence_row(states: dict, status: str, choices: tuple, code: str | None) -> None:
    row = interpret_row(CONFIDENCE, "p1", marks(CONFIDENCE, "p1", states), None)
    assert row.status == status and row.choices == choices
    assert [r.code for r in row.reasons][:1] == ([code] if code else [])


def test_marginal_reason_names_the_box() -> None:
    row = interpret_row(CONFIDENCE, "p1", marks(CONFIDENCE, "p1", {"cao": MARKED, "thap": MARGINAL}), None)
    assert "tn / p1 / thap" in row.reasons[0].detail


def test_crossed_out_name_voids_the_row_whatever_is_marked() -> None:
    row = interpret_row(CONFIDENCE, "p1", marks(CONFIDENCE, "p1", {"cao": MARKED}), "a line through the name")
    assert row.status == "invalid"
    assert [r.code for r in row.reasons] == ["crossed-out-name"]


@pytest.mark.parametrize("marked, status, code", [
    ("a", "valid", None), ("abc", "valid", None), ("abcd", "invalid", "overvote"), ("", "invalid", "undervote"),
])
def test_choose_within_min_and_max(marked: str, status: str, code: str | None) -> None:
    row = interpret_row(COUNCIL, "council", marks(COUNCIL, "council", {c: MARKED for c in marked}), None)
    assert row.status == status and row.choices == tuple(marked)
    assert [r.code for r in row.reasons] == ([code] if code else [])


def test_choose_with_min_zero_accepts_no_mark() -> None:
    optional = Contest("c", "choose", "", "", COUNCIL.options, (), 0, 3)
    assert interpret_row(optional, "c", marks(optional, "c", {}), None).status == "valid"


@pytest.mark.parametrize("marked, status", [("yes", "valid"), ("no", "valid"), ("", "invalid"), ("yes,no", "invalid")])
def test_yes_no(marked: str, status: str) -> None:
    states = {o: MARKED for o in marked.split(",") if o}
    assert interpret_row(MEASURE, "m", marks(MEASURE, "m", states), None).status == status


def test_sheet_status() -> None:
    valid = interpret_row(CONFIDENCE, "p1", marks(CONFIDENCE, "p1", {"cao": MARKED}), None)
    invalid = interpret_row(CONFIDENCE, "p1", marks(CONFIDENCE, "p1", {}), None)
    unsure = interpret_row(CONFIDENCE, "p1", marks(CONFIDENCE, "p1", {"cao": MARGINAL}), None)
    assert sheet_status([valid], [], Policy()) == "ok"
    assert sheet_status([unsure], [], Policy()) == "review"
    assert sheet_status([invalid], [], Policy(review_invalid_rows=True)) == "review"
    assert sheet_status([invalid], [], Policy(review_invalid_rows=False)) == "ok"
    assert sheet_status([valid], [Reason("extra-writing", "a note")], Policy()) == "review"
    assert sheet_status([valid], [Reason("fiducial-missing", "said, not judged")], Policy()) == "ok"
    assert sheet_status([valid], [Reason("rejected", "not issued")], Policy()) == "rejected"


def test_crossed_out_name_with_a_marginal_mark_is_void_not_pending() -> None:
    """The strike voids the row whatever the boxes say; the marginal box is still named for the reviewer."""
    row = interpret_row(CONFIDENCE, "p1", marks(CONFIDENCE, "p1", {"tin-nhiem": MARGINAL}), "a line through the name")
    assert row.status == "invalid"
    assert [r.code for r in row.reasons] == ["marginal-mark", "crossed-out-name"]


def test_overvote_with_a_marginal_mark_goes_to_review_and_keeps_both_reasons() -> None:
    row = interpret_row(COUNCIL, "council", marks(COUNCIL, "council", {"a": MARKED, "b": MARKED, "c": MARKED,
                                                                     "d": MARKED, "e": MARGINAL}), None)
    assert row.status == "review" and row.choices == ("a", "b", "c", "d")
    assert [r.code for r in row.reasons] == ["marginal-mark", "overvote"]


def test_undervote_is_not_claimed_while_a_marginal_mark_could_make_it_up() -> None:
    two_needed = Contest("c2", "choose", "", "", COUNCIL.options, (), 2, 3)
    row = interpret_row(two_needed, "c2", marks(two_needed, "c2", {"a": MARKED, "b": MARGINAL}), None)
    assert row.status == "review" and [r.code for r in row.reasons] == ["marginal-mark"]
    row = interpret_row(two_needed, "c2", marks(two_needed, "c2", {"a": MARKED}), None)
    assert row.status == "invalid" and [r.code for r in row.reasons] == ["undervote"]


def test_yes_and_no_both_marked_says_several_marks() -> None:
    row = interpret_row(MEASURE, "m", marks(MEASURE, "m", {"yes": MARKED, "no": MARKED}), None)
    assert [r.code for r in row.reasons] == ["several-marks"] and "yes, no" in row.reasons[0].detail


def test_a_marginal_mark_alone_is_no_claim_of_no_mark() -> None:
    row = interpret_row(MEASURE, "m", marks(MEASURE, "m", {"no": MARGINAL}), None)
    assert row.status == "review" and [r.code for r in row.reasons] == ["marginal-mark"]


def test_sheet_status_rejected_wins_over_review_and_a_crossed_row_reviews_whatever_the_policy() -> None:
    crossed = interpret_row(CONFIDENCE, "p1", marks(CONFIDENCE, "p1", {"cao": MARKED}), "a line through the name")
    assert sheet_status([crossed], [], Policy(review_invalid_rows=False)) == "review"
    assert sheet_status([crossed], [Reason("rejected", "x"), Reason("extra-writing", "y")], Policy()) == "rejected"
    assert sheet_status([], [Reason("blank-sheet", "")], Policy()) == "review"


def _sheet(status: str, reasons: tuple[Reason, ...], rows: tuple = ()) -> SheetRead:
    return SheetRead("s.pdf", 1, status, reasons, "0" * 64, rows=rows)


def test_what_awaits_a_person_on_a_sheet_and_its_rows() -> None:
    valid = interpret_row(CONFIDENCE, "p1", marks(CONFIDENCE, "p1", {"cao": MARKED}), None)
    unsure = interpret_row(CONFIDENCE, "p2", marks(CONFIDENCE, "p2", {"cao": MARGINAL}), None)
    writing = _sheet("review", (Reason("extra-writing", "a note"), Reason("fiducial-missing", "said")), (valid,))
    assert sheet_review_codes(writing) == ("extra-writing",) and sheet_needs_person(writing)
    assert not row_needs_person(writing, valid)
    rows_only = _sheet("review", (), (valid, unsure))
    assert sheet_review_codes(rows_only) == () and not sheet_needs_person(rows_only)
    assert [row_needs_person(rows_only, r) for r in rows_only.rows] == [False, True]
    rejected = _sheet("rejected", (Reason("rejected", "not registered"),))
    assert sheet_needs_person(rejected) and sheet_review_codes(rejected) == ()
    ok = _sheet("ok", (Reason("fiducial-missing", "said"),), (valid,))
    assert not sheet_needs_person(ok) and not row_needs_person(ok, valid)
