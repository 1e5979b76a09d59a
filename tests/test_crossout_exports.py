"""A cross-out election's exports as their consumers read them (issue 14): the votes (a name left on a
valid ballot), not how often a name was struck.

- cvr-dominion.csv and manifest.csv through the readers of tests/test_export_consumers.py (Arlo's rules,
  re-implemented from its Dominion parser): one contest "vote for K", each candidate a choice, invalid
  ballots as Arlo skips them (o: more names left than K, u: invalid otherwise), a list on two pages on the
  ballot's first card; totals equal the election's votes and every ballot is a ballot cast in the contest.
- cvr.json: the schema, every reference, per record Overvotes + Undervotes + votes = K, and over the
  report votes per candidate + undervotes + overvotes = ballots x K, the way a consumer checks.
- results.csv through pandas and results.xlsx through openpyxl: a line per candidate with its votes.
"""

from __future__ import annotations

import io
import json
from collections import Counter

import jsonschema
import openpyxl
import pandas as pd
import pytest
from test_crossout import STATE
from test_crossout_pages import long_ballot_text
from test_export_consumers import SCHEMA, check_nist_references_and_arithmetic, read_arlo_manifest, read_dominion

from omr.ballot.layout import fingerprint, layout
from omr.ballot.template import load_template, parse_template
from omr.count.tally import tally_reads
from omr.read.interpret import Policy, crossout_rows, sheet_status
from omr.read.results import MARKED, MarkRead, Reason, SheetRead
from omr.reports import render_reports
from omr.reports.arlo import choice_names, crossout_contest_name
from omr.store.records import Decision

SEATS_STATE = 3


def page_read(t, left: set[str], source: str, page: int, template_page: int = 1, stamp: str = "present"
              ) -> SheetRead:
    """One scanned page as the reader makes it: each name on the page struck unless in `left`."""
    c = t.contests[0]
    pl = layout(t).pages[template_page - 1]
    marks = {cell.row_id: [MarkRead(c.id, cell.row_id, "struck", 0.0 if cell.row_id in left else 0.9,
                                    "blank" if cell.row_id in left else MARKED)] for cell in pl.strike_cells}
    rows = crossout_rows(c, marks, stamp, False, whole=len(layout(t).pages) == 1)
    reasons = () if stamp == "present" else (Reason(f"stamp-{stamp}", "no stamp seen"),)
    status = sheet_status(rows, list(reasons), Policy())  # the reader's own rule
    return SheetRead(source, page, status, reasons, f"img-{source}-{page}", t.id, fingerprint(t), template_page,
                     rows=tuple(rows))


def reject(sheet_id: int, why: str = "added-content") -> Decision:
    return Decision(sheet_id, sheet_id, "sheet", None, None, "reject-sheet", (), why, "Tổ trưởng", "",
                    "2026-03-15T20:00:00", {}, None)


@pytest.fixture(scope="module")
def state_count():
    """Eight state ballots (5 names, 3 seats): four valid (3, 3, 2 and 1 left), more names left than K, every
    name struck, and two a person rejected (no stamp on the paper; a name added)."""
    t = load_template(STATE)
    ids = list(t.contests[0].row_ids)
    plan = [({ids[0], ids[1], ids[2]}, "present"), ({ids[0], ids[3], ids[4]}, "present"),
            ({ids[1], ids[2]}, "present"), ({ids[0]}, "present"), ({ids[0], ids[1], ids[2], ids[3]}, "present"),
            (set(), "present"), ({ids[0], ids[1]}, "absent"), ({ids[2]}, "present")]
    reads = [(i + 1, page_read(t, left, "to-3/hom-1.pdf", i + 1, stamp=stamp)) for i, (left, stamp) in
             enumerate(plan)]
    tally = tally_reads(reads, {(7, None, None): reject(7, "no-stamp"), (8, None, None): reject(8)}, [t], issued=8,
                        collected=8)
    return t, tally, render_reports(tally)


@pytest.fixture(scope="module")
def two_page_count():
    """Three ballots of a two-page list (18 names, 9 seats) in one file: valid with 9 left (5 + 4), valid
    with 4 left all on page 2, and 11 left over the two pages (more than 9: invalid)."""
    t = parse_template(long_ballot_text(), "long.yaml")
    p1 = [c.row_id for c in layout(t).pages[0].strike_cells]
    p2 = [c.row_id for c in layout(t).pages[1].strike_cells]
    plan = [(1, set(p1[:5])), (2, set(p2[:4])), (1, set()), (2, set(p2[4:8])), (1, set(p1[:5])), (2, set(p2[:6]))]
    reads = [(i + 1, page_read(t, left, "lo-2.pdf", i + 1, template_page=page)) for i, (page, left) in
             enumerate(plan)]
    tally = tally_reads(reads, {}, [t], issued=3, collected=3)
    return t, tally, render_reports(tally)


@pytest.fixture(scope="module")
def validator() -> jsonschema.Draft4Validator:
    return jsonschema.Draft4Validator(json.loads(SCHEMA.read_text(encoding="utf-8")),
                                      format_checker=jsonschema.Draft4Validator.FORMAT_CHECKER)


def votes_by_name(t, tally) -> dict[str, int]:
    (e,) = tally.elections
    names = dict(zip(t.contests[0].row_ids, choice_names(t.contests[0])))
    return {names[c.row_id]: c.votes for c in e.candidates}


@pytest.mark.parametrize("count", ["state_count", "two_page_count"])
def test_arlo_reads_one_contest_vote_for_k_with_the_votes(count, request) -> None:
    t, tally, reports = request.getfixturevalue(count)
    (e,) = tally.elections
    assert not tally.provisional
    manifest = read_arlo_manifest(reports["manifest.csv"], "BALLOT_COMPARISON")
    read = read_dominion(reports["cvr-dominion.csv"], manifest)
    name = crossout_contest_name(t, t.contests[0])
    assert list(read["totals"]) == [name] and read["votes_allowed"] == {name: t.contests[0].seats}
    assert read["totals"][name] == votes_by_name(t, tally)
    # every ballot, valid or not, is a ballot cast in the contest (a two-page ballot: once, on its first card)
    assert read["ballots"][name] == e.valid + e.invalid == len(tally.sheets) // len(layout(t).pages)


def test_invalid_ballots_are_overvotes_or_undervotes_as_arlo_skips_them(state_count) -> None:
    t, tally, reports = state_count
    lines = reports["cvr-dominion.csv"].decode("utf-8-sig").splitlines()[4:]
    cells = [line.split(",")[6:] for line in lines]
    assert [sorted(set(c)) for c in cells] == [["0", "1"], ["0", "1"], ["0", "1"], ["0", "1"], ["o"], ["u"], ["u"],
                                               ["u"]]
    assert [c.count("1") for c in cells[:4]] == [3, 3, 2, 1]
    (e,) = tally.elections
    assert (e.valid, e.invalid) == (4, 4) and e.invalid_by_reason == {
        "added-content": 1, "all-struck": 1, "no-stamp": 1, "too-many-left": 1}


@pytest.mark.parametrize("count", ["state_count", "two_page_count"])
def test_nist_votes_undervotes_and_overvotes_add_up_to_ballots_times_seats(count, request, validator) -> None:
    t, tally, reports = request.getfixturevalue(count)
    report = json.loads(reports["cvr.json"])
    assert not list(validator.iter_errors(report))
    check_nist_references_and_arithmetic(report)
    (e,) = tally.elections
    seats = t.contests[0].seats
    votes: Counter = Counter()
    under = over = ballots = 0
    for record in report["CVR"]:
        snap = next(s for s in record["CVRSnapshot"] if s["@id"] == record["CurrentSnapshotId"])
        for cc in snap["CVRContest"]:
            ballots += 1
            under += cc["Undervotes"]
            over += cc["Overvotes"]
            for cs in cc["CVRContestSelection"]:
                votes[cs["ContestSelectionId"].rsplit("/", 1)[1]] += cs["TotalNumberVotes"]
    assert ballots == e.valid + e.invalid
    assert sum(votes.values()) + under + over == ballots * seats
    assert +votes == {c.row_id: c.votes for c in e.candidates if c.votes}
    assert over == (seats if "too-many-left" in e.invalid_by_reason else 0) * e.invalid_by_reason.get(
        "too-many-left", 0)


@pytest.mark.parametrize("count", ["state_count", "two_page_count"])
def test_results_csv_and_xlsx_carry_the_votes(count, request) -> None:
    t, tally, reports = request.getfixturevalue(count)
    (e,) = tally.elections
    frame = pd.read_csv(io.BytesIO(reports["results.csv"]), encoding="utf-8-sig")
    assert set(frame["option"]) == {"vote"} and list(frame["row"]) == list(t.contests[0].row_ids)
    votes = {c.row_id: c.votes for c in e.candidates}
    assert dict(zip(frame["row"], frame["count"])) == votes
    assert set(frame["valid"]) == {e.valid} and set(frame["invalid"]) == {e.invalid}
    assert set(frame["percent_base"]) == {e.valid}  # state rules: of the valid ballots
    best = max(e.candidates, key=lambda c: c.votes)
    assert frame.loc[frame["row"] == best.row_id, "percent"].item() == pytest.approx(float(best.percent))
    vi = pd.read_csv(io.BytesIO(reports["results-vi.csv"]), encoding="utf-8-sig", sep=";", decimal=",")
    assert dict(zip(vi["row"], vi["count"])) == votes
    sheet = openpyxl.load_workbook(io.BytesIO(reports["results.xlsx"])).active
    header = [c.value for c in sheet[1]]
    got = {line[header.index("row")]: line[header.index("count")]
           for line in sheet.iter_rows(min_row=2, values_only=True)}
    assert got == votes


def test_a_party_count_without_a_base_has_no_percentage(state_count) -> None:
    party = load_template(STATE.parent / "bau-bch-cdyt-dong-nai-2025.yaml")
    ids = list(party.contests[0].row_ids)
    reads = [(1, page_read(party, set(ids[:7]), "bch.pdf", 1))]
    reports = render_reports(tally_reads(reads, {}, [party], issued=1, collected=1))
    frame = pd.read_csv(io.BytesIO(reports["results.csv"]), encoding="utf-8-sig")
    assert frame["percent"].isna().all() and frame["count"].sum() == 7
    reports = render_reports(tally_reads(reads, {}, [party], issued=1, collected=1, base=10))
    frame = pd.read_csv(io.BytesIO(reports["results.csv"]), encoding="utf-8-sig")
    assert set(frame["percent_base"]) == {10} and frame["percent"].max() == pytest.approx(10.0)


def test_a_kept_unclear_strike_is_not_struck_and_an_undecided_ballot_allocates_nothing() -> None:
    """A person who keeps the machine's read of an unclear stroke ("accept") keeps what the machine
    chose: no strike, as a marginal box kept is not marked. Until then the ballot allocates no vote in
    the CVR (its interpreted snapshot is the count before review: needs adjudication)."""
    t = load_template(STATE)
    c = t.contests[0]
    ids = list(c.row_ids)
    marks = {r: [MarkRead(c.id, r, "struck", 0.9 if i < 2 else 0.0, MARKED if i < 2 else "blank")]
             for i, r in enumerate(ids)}
    marks[ids[4]] = [MarkRead(c.id, ids[4], "struck", 0.2, "marginal")]
    rows = crossout_rows(c, marks, "present", False)
    read = SheetRead("lo.pdf", 1, sheet_status(rows, [], Policy()), (), "img", t.id, fingerprint(t), 1,
                     rows=tuple(rows))
    assert read.status == "review"
    undecided = tally_reads([(1, read)], {}, [t], collected=1)
    report = json.loads(render_reports(undecided)["cvr.json"])
    (contest,) = report["CVR"][0]["CVRSnapshot"][1]["CVRContest"]
    assert contest["OtherStatus"] == "needs-adjudication" and contest["Selections"] == 0
    keep = Decision(1, 1, "row", c.id, ids[4], "accept", (), "", "Tổ trưởng", "", "2026-03-15T20:00:00", {}, None)
    (e,) = tally_reads([(1, read)], {(1, c.id, ids[4]): keep}, [t], collected=1).elections
    assert (e.valid, e.pending) == (1, 0)
    assert {x.row_id: x.votes for x in e.candidates} == {ids[0]: 0, ids[1]: 0, ids[2]: 1, ids[3]: 1, ids[4]: 1}
