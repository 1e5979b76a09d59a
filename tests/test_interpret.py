"""Contest rules on box states: QĐ 96 confidence rows, choose min..max, yes/no, and sheet status."""

from __future__ import annotations

import pytest

from omr.ballot.template import Contest, Option, Person
from omr.read.interpret import Policy, interpret_row, sheet_status
from omr.read.results import BLANK, MARGINAL, MARKED, MarkRead, Reason

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
