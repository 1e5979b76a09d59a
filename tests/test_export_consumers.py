"""The exports as their consumers read them.

- The ballot manifest through a reader that applies the column rules VotingWorks Arlo publishes for
  its CSV uploads (written here from those rules: encoding, comma separation, required/unexpected
  columns per audit type, every cell filled, whole numbers, unique batches, no "total" cell, no
  last line equal to the sum of the others, no batch of 0 ballots), in every audit type.
- The Dominion CVR file through a reader of the format as Arlo reads it (four header rows,
  "Contest (Vote For=N)", the record columns, "" = contest not on the card, o/u = over/undervote,
  an overvote skipped, anything else a whole number), its totals equal to results.json.
- cvr.json over the bundled sample scans (every contest kind, with human decisions): what the NIST
  schema cannot say: every id resolves, Overvotes + Undervotes + votes = VotesAllowed, the image
  location and file hash find the scanned file.
- results.csv and results-vi.csv through pandas (utf-8-sig; sep=";" and decimal=","), results.xlsx
  through openpyxl.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import re
import shutil
import subprocess
import sys
from collections import Counter, defaultdict
from pathlib import Path
from urllib.parse import unquote

import jsonschema
import openpyxl
import pandas as pd
import pytest
from conftest import BUNDLED_TEMPLATES, ROOT
from test_tally_support import decision, make_read, person, rejected_read, tally_of, template

from omr.count.stored import run_templates, tally_store
from omr.count.tally import Tally
from omr.reports import render_reports
from omr.store.database import Store

SCHEMA = Path(__file__).resolve().parent / "data" / "nist-cvr-1500-103.schema.json"
AUDIT_TYPES = ("BALLOT_POLLING", "BATCH_COMPARISON", "BALLOT_COMPARISON", "HYBRID")


class Refused(ValueError):
    """The consumer would refuse the file."""


# --------------------------------------------------------------------------------------------------
# Arlo's published CSV rules


TOTAL = re.compile(r"(^|[^a-zA-Z])(sub)?totals?($|[^a-zA-Z])", re.IGNORECASE)
WHOLE_NUMBER = re.compile(r"^(\d+|\d{1,3}(,\d{3})+)$")  # as an en_US locale reads integers


def decode(data: bytes) -> str:
    """UTF-8 (a byte-order mark is read as such); anything else refused."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise Refused(f"cannot decode: {exc}") from None


def manifest_columns(audit_type: str) -> list[tuple[str, str, bool, bool]]:
    """(name, kind, required, part of the unique key) of a manifest in one audit type."""
    by_tabulator = audit_type in ("BALLOT_COMPARISON", "HYBRID")
    columns = [("Container", "text", False, False), ("Tabulator", "text", by_tabulator, by_tabulator),
               ("Batch Name", "text", True, True), ("Number of Ballots", "number", True, False)]
    if audit_type == "HYBRID":
        columns.append(("CVR", "yes_no", True, False))
    return columns


def read_arlo_manifest(data: bytes, audit_type: str) -> list[dict]:
    columns = manifest_columns(audit_type)
    text = decode(data)
    first = text.splitlines()[0] if text else ""
    try:
        if csv.Sniffer().sniff(first).delimiter != ",":
            raise Refused("columns must be separated by commas")
    except csv.Error:
        raise Refused("columns must be separated by commas") from None
    rows = [[cell.strip() for cell in row] for row in csv.reader(io.StringIO(text))]
    if len(rows) < 2:
        raise Refused("at least one row after the headers")
    names = {name.lower(): name for name, *_ in columns}
    headers = [names.get(h.lower(), h) for h in rows[0]]
    if len(set(headers)) != len(headers):
        raise Refused("column headers must be unique")
    missing = {name for name, _, required, _ in columns if required} - set(headers)
    if missing:
        raise Refused(f"Missing required column: {', '.join(sorted(missing))}")
    if set(headers) - set(names.values()):
        raise Refused(f"unexpected columns: {sorted(set(headers) - set(names.values()))}")
    kinds = {name: kind for name, kind, *_ in columns}
    key = [name for name, _, _, unique in columns if unique]
    parsed, seen = [], set()
    for n, row in enumerate(rows[1:], start=2):
        if not any(row):
            continue
        if len(row) != len(headers):
            raise Refused(f"wrong number of cells in row {n}")
        values = dict(zip(headers, row))
        for header, value in values.items():
            if value == "":
                raise Refused(f"a value is required in column {header}, row {n}")
            if TOTAL.search(value):
                raise Refused(f"row {n} looks like a total row")
            if kinds[header] == "number":
                if not WHOLE_NUMBER.match(value):
                    raise Refused(f"expected a number in column {header}, row {n}: {value}")
                values[header] = int(value.replace(",", ""))
            elif kinds[header] == "yes_no":
                if value.lower() not in ("y", "yes", "n", "no"):
                    raise Refused(f"expected Y or N in column {header}, row {n}")
                values[header] = value.lower() in ("y", "yes")
        identity = tuple(values[k] for k in key)
        if identity in seen:
            raise Refused(f"duplicate {key}: {identity}")
        seen.add(identity)
        if values["Number of Ballots"] == 0:
            raise Refused(f"batch with 0 ballots in row {n}")
        parsed.append(values)
    counts = [r["Number of Ballots"] for r in parsed]
    if len(counts) > 2 and counts[-1] == sum(counts[:-1]) and counts[-1] != 0:
        raise Refused("the last row looks like a total row")
    return parsed


def test_the_manifest_reader_refuses_what_arlo_refuses() -> None:
    good = "Container,Tabulator,Batch Name,Number of Ballots\nbox,t,b1,50\nbox,t,b2,50\nbox,t,b3,30\n"
    assert len(read_arlo_manifest(good.encode(), "BALLOT_POLLING")) == 3
    for bad, why in [
        (good.replace("b3,30", "b3,100"), "last row looks like a total"),
        (good.replace("b2", "b1"), "duplicate"),
        (good.replace("b3", "Subtotal"), "total row"),
        (good.replace("30", "30.5"), "expected a number"),
        (good.replace(",50\nbox", ",\nbox", 1), "a value is required"),
        ("# PROVISIONAL: 1 sheet(s) await review\n" + good, "commas"),
        (good.replace(",", ";"), "commas"),
    ]:
        with pytest.raises(Refused, match=why):
            read_arlo_manifest(bad.encode(), "BALLOT_POLLING")
    with pytest.raises(Refused, match="Missing required column: CVR"):
        read_arlo_manifest(good.encode(), "HYBRID")
    with pytest.raises(Refused, match="Missing required column: Tabulator"):
        read_arlo_manifest(good.replace("Tabulator,", "").replace("t,", "").encode(), "BALLOT_COMPARISON")


# --------------------------------------------------------------------------------------------------
# The Dominion CVR file as Arlo reads it


def _value(cell: str) -> str:
    return cell[2:-1] if cell.startswith('="') and cell.endswith('"') else cell


def read_dominion(data: bytes, manifest: list[dict]) -> dict:
    """{"totals": {contest: {choice: votes}}, "ballots": {contest: cards with it}, "records": {(tabulator,
    batch): [record ids]}, "votes_allowed": {contest: n}}; Refused as Arlo would refuse the file."""
    rows = list(csv.reader(io.StringIO(decode(data))))
    contest_row = [" ".join(c.splitlines()) for c in rows[1]]
    first = next(i for i, value in enumerate(contest_row) if value != "")
    contests, allowed = [], {}
    for header in contest_row[first:]:
        m = re.match(r"^(.+) \(Vote For=(\d+)\)$", header)
        if not m:
            raise Refused(f"invalid contest name: {header}")
        contests.append(m[1])
        allowed[m[1]] = int(m[2])
    choices = rows[2][first:]
    columns: dict[str, dict[str, int]] = defaultdict(dict)
    for i, (contest, choice) in enumerate(zip(contests, choices)):
        columns[contest][choice] = i
    index = {h: i for i, h in enumerate(rows[3][:first])}
    batches = {(r.get("Tabulator"), r["Batch Name"]) for r in manifest}
    totals = {c: dict.fromkeys(cols, 0) for c, cols in columns.items()}
    ballots: Counter = Counter()
    records: dict[tuple[str, str], list[int]] = defaultdict(list)
    for row in rows[4:]:
        fields = {}
        for name in ("CvrNumber", "TabulatorNum", "BatchId", "RecordId", "ImprintedId"):
            if name not in index or not _value(row[index[name]]):
                raise Refused(f"missing required column {name}")
            fields[name] = _value(row[index[name]])
        key = (fields["TabulatorNum"], fields["BatchId"])
        if key not in batches:
            raise Refused(f"no batch in the manifest for {key}")
        records[key].append(int(fields["RecordId"]))
        cells = row[first:]
        for contest, cols in columns.items():
            values = {choice: cells[i] for choice, i in cols.items()}
            if any(v == "" for v in values.values()):
                continue  # not on this card
            ballots[contest] += 1
            if any(v in ("o", "u") for v in values.values()):
                continue
            try:
                votes = {choice: int(v) for choice, v in values.items()}
            except ValueError:
                raise Refused(f"unable to parse {sorted(set(values.values()))} as integers") from None
            if sum(votes.values()) > allowed[contest]:
                continue  # an overvote
            for choice, v in votes.items():
                totals[contest][choice] += v
    return {"totals": totals, "ballots": dict(ballots), "records": dict(records), "votes_allowed": allowed}


def contest_names(tally: Tally) -> dict[tuple[str, str, str], str]:
    """(template, contest, row) -> the contest's name in the Dominion file."""
    from omr.reports.text import row_title

    out = {}
    for t in tally.templates:
        for c in t.contests:
            for row_id in c.row_ids:
                out[(t.id, c.id, row_id)] = " ".join(row_title(c, row_id).split())
    return out


def assert_dominion_totals_equal_results(reports: dict[str, bytes], tally: Tally) -> dict:
    manifest = read_arlo_manifest(reports["manifest.csv"], "BALLOT_COMPARISON")
    read = read_dominion(reports["cvr-dominion.csv"], manifest)
    results = json.loads(reports["results.json"])
    names = contest_names(tally)
    compared = 0
    for c in results["contests"]:
        labels = {o["id"]: o["label"] for o in c["options"]}
        if c["kind"] == "crossout":  # one contest of votes (tests/test_crossout_exports.py)
            compared += len(c["rows"])
            continue
        for row in c["rows"]:
            name = names[(c["template"], c["id"], row["id"])]
            got = read["totals"][name]
            assert {labels[o]: n for o, n in row["counts"].items()} == got, name
            compared += 1
    # every card of the manifest has one record, numbered 1..n in its batch (Arlo's ballot positions)
    for r in manifest:
        assert sorted(read["records"][(r["Tabulator"], r["Batch Name"])]) == list(range(1, r["Number of Ballots"] + 1))
    assert compared == sum(len(c["rows"]) for c in results["contests"]) > 0
    return read


# --------------------------------------------------------------------------------------------------
# A count with every contest kind, every decision and every way a row is void (reads as the scanner
# makes them)


def varied_count() -> Tally:
    g, s = template("general"), template("seed")
    p = person(s)
    reads = [
        # a two-page ballot, every contest valid (council: 2 of 3, an undervote)
        make_read(g, {"mayor": ["chen"], "council": ["ito", "baker"]}, source="box-1/tray-1.pdf", page=1),
        make_read(g, {"measure-a": ["yes"], "measure-b": ["no"]}, source="box-1/tray-1.pdf", page=2, template_page=2),
        # overvotes: 2 for mayor, 5 for 3 council seats, 2 on a yes/no question; no mark on the other
        make_read(g, {"mayor": ["chen", "smith"], "council": ["ito", "baker", "garcia", "hansen", "patel"]},
                  source="box-1/tray-1.pdf", page=3),
        make_read(g, {"measure-a": [], "measure-b": ["yes", "no"]}, source="box-1/tray-1.pdf", page=4,
                  template_page=2, default=None),
        # a marginal mark a person sets; a question a person voids
        make_read(g, {"mayor": ["okafor"], "council": []}, marginal={"mayor": "okafor"}, source="box-1/tray-1.pdf",
                  page=5),
        make_read(g, {"measure-a": ["no"], "measure-b": ["yes"]}, source="box-1/tray-1.pdf", page=6, template_page=2),
        # a ballot a person rejects as a whole (both sheets)
        make_read(g, {"mayor": ["alvarez"], "council": ["nguyen"]}, source="box-2/tray-2.pdf", page=1),
        make_read(g, {"measure-a": ["yes"], "measure-b": ["yes"]}, source="box-2/tray-2.pdf", page=2, template_page=2),
        # confidence: plain votes, two marks a person sets, no mark accepted, a crossed-out name accepted
        make_read(s, {p: ["thap"]}, source="box-2/lo.pdf", page=1),
        make_read(s, {p: ["cao"]}, source="box-2/lo.pdf", page=2),
        make_read(s, {p: ["cao", "thap"]}, source="box-2/lo.pdf", page=3),
        make_read(s, {p: []}, source="box-2/lo.pdf", page=4),
        make_read(s, {p: ["tin-nhiem"]}, crossed=[p], source="box-2/lo.pdf", page=5),
        make_read(s, {p: ["thap"]}, source="box-2/lo.pdf", page=6, test=True),  # a test sheet: not a card
        rejected_read("not-issued", source="box-2/lo.pdf", page=7),  # a card, no contest of this count
    ]
    decisions = [
        decision(3, "accept"), decision(3, "accept", row=("mayor", "mayor")), decision(4, "accept"),
        decision(5, "set", row=("mayor", "mayor"), choices=["okafor"], reason="a light mark"),
        decision(5, "accept"), decision(6, "invalid", row=("measure-b", "measure-b"), reason="torn"),
        decision(7, "reject-sheet", reason="signed"), decision(8, "reject-sheet", reason="signed"),
        decision(11, "set", row=("tin-nhiem", p), choices=["thap"], reason="cao struck through"),
        decision(12, "accept"), decision(13, "accept"),
    ]
    return tally_of(reads, *decisions)


@pytest.fixture(scope="module")
def varied() -> tuple[Tally, dict[str, bytes]]:
    t = varied_count()
    return t, render_reports(t)


def test_the_varied_count_is_final_and_has_every_kind_of_row(varied) -> None:
    t, _ = varied
    assert not t.provisional
    statuses = Counter((r.status, r.codes[0] if r.codes else "") for s in t.sheets for r in s.rows)
    for wanted in [("valid", ""), ("invalid", "overvote"), ("invalid", "several-marks"), ("invalid", "no-mark"),
                   ("invalid", "crossed-out-name"), ("invalid", "decided-invalid")]:
        assert statuses[wanted], wanted
    assert {c.kind for c in t.contests} == {"confidence", "choose", "yesno"}


@pytest.mark.parametrize("audit_type", AUDIT_TYPES)
def test_the_manifests_pass_arlos_rules_in_every_audit_type(varied, audit_type: str) -> None:
    _, reports = varied
    expected = [("box-1", "ballot-omr", "tray-1", 6), ("box-2", "ballot-omr", "lo", 6),
                ("box-2", "ballot-omr", "tray-2", 2)]
    if audit_type == "HYBRID":
        with pytest.raises(Refused, match="Missing required column: CVR"):
            read_arlo_manifest(reports["manifest.csv"], audit_type)
        rows = read_arlo_manifest(reports["manifest-hybrid.csv"], audit_type)
        assert all(r["CVR"] is True for r in rows)
    else:
        rows = read_arlo_manifest(reports["manifest.csv"], audit_type)
        with pytest.raises(Refused, match="unexpected columns"):
            read_arlo_manifest(reports["manifest-hybrid.csv"], audit_type)
    # ballot cards (sheets): 3 two-page ballots in tray-1; 5 read sheets + the sheet not issued in lo
    # (the test sheet is not a card); the rejected ballot's 2 sheets in tray-2
    assert [(r["Container"], r["Tabulator"], r["Batch Name"], r["Number of Ballots"]) for r in rows] == expected


@pytest.mark.parametrize("audit_type", AUDIT_TYPES)
def test_a_provisional_manifest_is_importable_too(audit_type: str) -> None:
    t = template("seed")
    reads = [make_read(t, marginal={person(t): "cao"}, source="lo/a.pdf", page=1), make_read(t, source="lo/a.pdf",
                                                                                             page=2)]
    tally = tally_of(reads)
    assert tally.provisional
    reports = render_reports(tally)
    name = "manifest-hybrid.csv" if audit_type == "HYBRID" else "manifest.csv"
    assert read_arlo_manifest(reports[name], audit_type)[0]["Number of Ballots"] == 2


def test_the_manifest_counts_ballot_cards_not_ballots() -> None:
    g = template("general")
    reads = []
    for i in range(6):  # 6 two-page ballots: 12 sheets in the box
        reads.append(make_read(g, {"mayor": ["chen"]}, source="tray.pdf", page=2 * i + 1))
        reads.append(make_read(g, {"measure-a": ["yes"]}, source="tray.pdf", page=2 * i + 2, template_page=2))
    rows = read_arlo_manifest(render_reports(tally_of(reads, collected=6))["manifest.csv"], "BATCH_COMPARISON")
    assert [(r["Batch Name"], r["Number of Ballots"]) for r in rows] == [("tray", 12)]


def test_files_of_one_name_in_folders_of_one_name_stay_separate_batches() -> None:
    t = template("seed")
    places = [("/srv/a/scans/lo.pdf", 1), ("/srv/b/scans/lo.pdf", 1), ("/srv/b/scans/lo.pdf", 2),
              ("/srv/b/box-1/lo.pdf", 1), ("/srv/b/box-1/other.pdf", 1)]
    tally = tally_of([make_read(t, source=source, page=page) for source, page in places])
    rows = read_arlo_manifest(render_reports(tally)["manifest.csv"], "BALLOT_POLLING")
    assert [(r["Container"], r["Batch Name"], r["Number of Ballots"]) for r in rows] == [
        ("box-1", "box-1/lo", 1), ("box-1", "other", 1), ("scans", "a/scans/lo", 1), ("scans", "b/scans/lo", 2)]


def test_a_batch_named_total_is_said_before_arlo_refuses_it() -> None:
    from omr.reports.arlo import manifest_problems

    t = template("seed")
    tally = tally_of([make_read(t, source="scans/lo-1.pdf"), make_read(t, source="scans/Totals-2.pdf")])
    with pytest.raises(Refused, match="total row"):
        read_arlo_manifest(render_reports(tally)["manifest.csv"], "BALLOT_POLLING")
    assert manifest_problems(tally) == ["batch Totals-2 (folder scans): Arlo refuses a manifest line with the word "
                                        "'total' in it; rename the folder or file to audit it in Arlo"]
    assert manifest_problems(tally_of([make_read(t, source="scans/lo-1.pdf")])) == []


def test_a_last_batch_equal_to_the_others_is_not_taken_for_a_total_row() -> None:
    t = template("seed")
    reads = [make_read(t, {person(t): ["cao"]}, source=f"{name}.pdf", page=i + 1)
             for name, n in (("a", 50), ("b", 50), ("c", 100)) for i in range(n)]
    data = render_reports(tally_of(reads, collected=200))["manifest.csv"]
    for audit_type in AUDIT_TYPES[:3]:
        rows = read_arlo_manifest(data, audit_type)
        assert sorted((r["Batch Name"], r["Number of Ballots"]) for r in rows) == [("a", 50), ("b", 50), ("c", 100)]


def test_dominion_cvr_totals_equal_results_json(varied) -> None:
    tally, reports = varied
    read = assert_dominion_totals_equal_results(reports, tally)
    lines = list(csv.reader(io.StringIO(reports["cvr-dominion.csv"].decode("utf-8-sig"))))
    assert lines[3][:5] == ["CvrNumber", "TabulatorNum", "BatchId", "RecordId", "ImprintedId"]
    assert read["votes_allowed"]["City Council"] == 3 and read["totals"]["Mayor"]["David Chen"] == 1
    # overvotes and void rows are o/u in every cell of the contest; the other page of a ballot is empty
    by_record = {(r[2], r[3]): r for r in lines[4:]}
    header = lines[1]

    def cells(batch: str, record: str, contest: str) -> set[str]:
        found = {by_record[(batch, record)][i] for i, h in enumerate(header) if h.startswith(contest)}
        assert found, contest
        return found

    assert cells("tray-1", "3", "City Council (") == {"o"} and cells("tray-1", "4", "Measure A:") == {"u"}
    assert cells("tray-1", "4", "Measure B:") == {"o"} and cells("tray-1", "6", "Measure B:") == {"u"}
    assert cells("tray-1", "1", "Measure A:") == {""} and cells("tray-2", "1", "Mayor (") == {"u"}
    assert cells("lo", "6", "Nguyễn Hồng Quang") == {""}  # the sheet not issued: no contest of this count
    # a contest's ballots: the cards it is on (rejected ballots included, as Arlo counts ballots cast)
    assert read["ballots"]["Mayor"] == 4


def test_a_dominion_file_with_undecided_votes_is_refused() -> None:
    t = template("seed")
    tally = tally_of([make_read(t, marginal={person(t): "cao"}, source="lo.pdf", page=1)])
    reports = render_reports(tally)
    manifest = read_arlo_manifest(reports["manifest.csv"], "BALLOT_COMPARISON")
    with pytest.raises(Refused, match="pending-review"):
        read_dominion(reports["cvr-dominion.csv"], manifest)


# --------------------------------------------------------------------------------------------------
# NIST SP 1500-103: what the schema cannot check


def check_nist_references_and_arithmetic(report: dict) -> Counter:
    """Every id resolves and every decided contest adds up; returns what was seen, for coverage."""
    seen: Counter = Counter()
    ids = [o["@id"] for key in ("GpUnit", "Election", "ReportingDevice") for o in report[key]]
    devices = {d["@id"] for d in report["ReportingDevice"]}
    assert set(report["ReportGeneratingDeviceIds"]) <= devices
    gpunits = {g["@id"] for g in report["GpUnit"]}
    elections = {}
    for e in report["Election"]:
        assert e["ElectionScopeId"] in gpunits
        candidates = {c["@id"] for c in e.get("Candidate", [])}
        contests = {}
        for c in e["Contest"]:
            ids.append(c["@id"])
            selections = {}
            for sel in c["ContestSelection"]:
                ids.append(sel["@id"])
                assert set(sel.get("CandidateIds", [])) <= candidates, sel
                selections[sel["@id"]] = sel
            if c["@type"] == "CVR.RetentionContest":
                assert c["CandidateId"] in candidates
            if c["@type"] != "CVR.BallotMeasureContest":
                seen["contest with a candidate: " + c["@type"]] += 1
            contests[c["@id"]] = (c, selections)
        ids += sorted(candidates)
        elections[e["@id"]] = contests
    for record in report["CVR"]:
        contests = elections[record["ElectionId"]]
        assert record["CreatingDeviceId"] in devices
        snapshot_ids = [s["@id"] for s in record["CVRSnapshot"]]
        ids += snapshot_ids
        assert record["CurrentSnapshotId"] in snapshot_ids
        assert [s["Type"] for s in record["CVRSnapshot"]][:2] == ["original", "interpreted"]
        for snap in record["CVRSnapshot"]:
            for cc in snap["CVRContest"]:
                contest, selections = contests[cc["ContestId"]]
                allowed = contest.get("VotesAllowed", 1)
                votes = 0
                for cs in cc["CVRContestSelection"]:
                    assert cs["ContestSelectionId"] in selections
                    allocated = sum(p["NumberVotes"] for p in cs["SelectionPosition"] if p["IsAllocable"] == "yes")
                    assert cs["TotalNumberVotes"] == allocated
                    votes += allocated
                    assert all(p["NumberVotes"] == 1 for p in cs["SelectionPosition"])
                decided = snap["Type"] != "original" and cc.get("OtherStatus") != "needs-adjudication"
                if decided:
                    assert cc["Overvotes"] + cc["Undervotes"] + votes == allowed, (record["UniqueId"], cc)
                    seen[(snap["Type"], contest["@type"], tuple(cc.get("Status", ())))] += 1
                else:
                    assert "Overvotes" not in cc and "Undervotes" not in cc and votes == 0
                    seen[(snap["Type"], "undecided")] += 1
    assert len(ids) == len(set(ids)), [i for i, n in Counter(ids).items() if n > 1][:5]
    return seen


def current_totals(report: dict) -> Counter:
    totals: Counter = Counter()
    for record in report["CVR"]:
        snap = next(s for s in record["CVRSnapshot"] if s["@id"] == record["CurrentSnapshotId"])
        for cc in snap["CVRContest"]:
            for cs in cc["CVRContestSelection"]:
                totals[cs["ContestSelectionId"]] += cs["TotalNumberVotes"]
    return totals


def results_totals(results: dict) -> Counter:
    totals: Counter = Counter()
    for e in results.get("elections", []):  # cross-out contests: a name left on a valid ballot is a vote
        for cand in e["candidates"]:
            totals[f"{e['template']}/{e['contest']}/{cand['id']}"] += cand["votes"]
    for c in results["contests"]:
        if c["kind"] == "crossout":
            continue
        for row in c["rows"]:
            base = f"{c['template']}/{c['id']}" + (f"/{row['id']}" if c["kind"] == "confidence" else "")
            for option, n in row["counts"].items():
                totals[f"{base}/{option}"] += n
    return totals


@pytest.fixture(scope="module")
def validator() -> jsonschema.Draft4Validator:
    checker = jsonschema.Draft4Validator.FORMAT_CHECKER
    assert not checker.conforms("lo.pdf#page=1", "uri")  # formats checked strictly (rfc3987 installed)
    return jsonschema.Draft4Validator(json.loads(SCHEMA.read_text(encoding="utf-8")), format_checker=checker)


def test_nist_arithmetic_and_references_of_the_varied_count(varied, validator) -> None:
    tally, reports = varied
    report = json.loads(reports["cvr.json"])
    assert not list(validator.iter_errors(report))
    seen = check_nist_references_and_arithmetic(report)
    for kind, status in [("CVR.CandidateContest", ("overvoted",)), ("CVR.BallotMeasureContest", ("overvoted",)),
                         ("CVR.BallotMeasureContest", ("not-indicated",)), ("CVR.RetentionContest", ()),
                         ("CVR.RetentionContest", ("invalidated-rules",)), ("CVR.CandidateContest", ())]:
        assert seen[("modified", kind, status)] or seen[("interpreted", kind, status)], (kind, status)
    assert seen["contest with a candidate: CVR.RetentionContest"] and seen[
        "contest with a candidate: CVR.CandidateContest"]
    assert +current_totals(report) == +results_totals(json.loads(reports["results.json"]))
    # the two sheets of each two-page ballot share a ballot id; the sheets of another ballot do not
    general = [r for r in report["CVR"] if r["BallotStyleId"] == "general-election-en"]
    ballots = Counter(r["BallotAuditId"] for r in general)
    assert sorted(ballots.values()) == [2, 2, 2, 2] and len(general) == 8
    for r in general:
        assert r["BallotAuditId"] == f"{r['BatchId']}/{r['BatchSequenceId'] - int(r['BallotSheetId']) + 1}"


def test_a_broken_reference_or_sum_is_caught(varied) -> None:
    report = json.loads(varied[1]["cvr.json"])
    contest = next(cc for r in report["CVR"] for cc in r["CVRSnapshot"][1]["CVRContest"] if "Overvotes" in cc)
    contest["Undervotes"] += 1
    with pytest.raises(AssertionError):
        check_nist_references_and_arithmetic(report)
    report = json.loads(varied[1]["cvr.json"])
    report["CVR"][0]["CVRSnapshot"][0]["CVRContest"][0]["ContestId"] += "-x"
    with pytest.raises(KeyError):
        check_nist_references_and_arithmetic(report)


# --------------------------------------------------------------------------------------------------
# The bundled sample scans: scanned, every doubt decided by a person, tallied


def omr(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(ROOT / "cli.py"), *args], capture_output=True, text=True, timeout=600)


def decide_everything(store: Store, tally: Tally) -> Counter:
    """A person's decision on every doubt, varied: rows accepted, set to their first option or voided
    in turn; sheets accepted, every fifth rejected; unreadable pages set aside."""
    ids = {(s.source, s.page): s.sheet_id for s in tally.sheets}
    actions: Counter = Counter()
    turn = 0
    for s in tally.sheets:
        sid = ids[(s.source, s.page)]
        if s.outcome == "unreadable":
            store.add_decision(sid, scope="sheet", action="reject-sheet", reviewer="Tổ kiểm phiếu", reason="no ballot")
            actions["sheet reject-sheet"] += 1
            continue
        if not s.pending:
            continue
        rows = {f"{r.contest_id}/{r.row_id}": r for r in s.rows}
        for code in s.pending:
            if code not in rows:
                continue
            row = rows[code]
            turn += 1
            action = ("accept", "set", "invalid")[turn % 3]
            first = next((m.option_id for m in row.marks), None)
            store.add_decision(sid, scope="row", action=action, reviewer="Tổ kiểm phiếu", contest_id=row.contest_id,
                               row_id=row.row_id, choices=[first] if action == "set" else None,
                               reason="decided by the team" if action == "invalid" else "")
            actions[f"row {action}"] += 1
        turn += 1
        sheet_action = "reject-sheet" if turn % 5 == 0 else "accept"
        store.add_decision(sid, scope="sheet", action=sheet_action, reviewer="Tổ kiểm phiếu", reason="decided")
        actions[f"sheet {sheet_action}"] += 1
    return actions


@pytest.fixture(scope="module")
def samples(tmp_path_factory: pytest.TempPathFactory) -> dict:
    work = tmp_path_factory.mktemp("samples")
    db = work / "results.sqlite"
    proc = omr("scan", str(ROOT / "sample_scans"), "--template", *map(str, BUNDLED_TEMPLATES), "--db", str(db),
               "--jobs", "2")
    assert proc.returncode == 1, proc.stdout[-2000:] + proc.stderr[-2000:]  # sheets await review
    with Store(db) as store:
        templates = run_templates(store)
        provisional = tally_store(store, templates)
        actions = decide_everything(store, provisional)
        final = tally_store(store, templates)
    return {"provisional": provisional, "final": final, "actions": actions,
            "reports": {"provisional": render_reports(provisional), "final": render_reports(final)}}


@pytest.mark.slow  # the bundled samples scanned, or LibreOffice started
def test_the_samples_are_decided_in_every_way(samples) -> None:
    assert samples["provisional"].provisional and not samples["final"].provisional
    assert set(samples["actions"]) >= {"row accept", "row set", "row invalid", "sheet accept", "sheet reject-sheet"}
    assert {c.kind for c in samples["final"].contests} == {"confidence", "choose", "yesno", "crossout"}  # issue 14


@pytest.mark.slow  # the bundled samples scanned, or LibreOffice started
@pytest.mark.parametrize("which", ["provisional", "final"])
def test_nist_arithmetic_and_references_over_the_samples(samples, validator, which: str) -> None:
    reports = samples["reports"][which]
    report = json.loads(reports["cvr.json"])
    assert not list(validator.iter_errors(report))
    seen = check_nist_references_and_arithmetic(report)
    assert +current_totals(report) == +results_totals(json.loads(reports["results.json"]))
    kinds = {k[1] for k in seen if isinstance(k, tuple) and len(k) == 3}
    assert kinds == {"CVR.CandidateContest", "CVR.BallotMeasureContest", "CVR.RetentionContest"}
    statuses = {s for k in seen if isinstance(k, tuple) and len(k) == 3 for s in k[2]}
    assert statuses >= {"overvoted", "not-indicated", "invalidated-rules"}
    if which == "final":
        assert seen[("modified", "undecided")] == 0 and any(k[0] == "modified" for k in seen if isinstance(k, tuple))
    else:
        assert seen[("interpreted", "undecided")] > 0


@pytest.mark.slow  # the bundled samples scanned, or LibreOffice started
def test_the_samples_cvr_images_lead_to_the_scanned_files(samples) -> None:
    report = json.loads(samples["reports"]["final"]["cvr.json"])
    folder = ROOT / "sample_scans"
    hashes: dict[str, str] = {}
    for record in report["CVR"]:
        by_file, pixels = record["BallotImage"]
        scheme, _, reference = by_file["Location"].partition(":")
        path, _, page = reference.partition("#page=")
        assert scheme == "file"
        assert pixels["Location"] == by_file["Location"] and int(page) >= 1
        assert pixels["Hash"]["OtherType"] == "ballot-omr-pixels-sha-256"
        name = unquote(path)
        if name not in hashes:
            hashes[name] = hashlib.sha256((folder / name).read_bytes()).hexdigest()
        assert by_file["Hash"] == {"@type": "CVR.Hash", "Type": "sha-256", "Value": hashes[name]}
        assert name.startswith(record["BatchId"].split("/")[-1])
    assert len(hashes) == 10  # the nine files of the confidence and choice samples, the cross-out batch


@pytest.mark.slow  # the bundled samples scanned, or LibreOffice started
def test_the_samples_dominion_totals_equal_results_json(samples) -> None:
    reports = samples["reports"]["final"]
    assert_dominion_totals_equal_results(reports, samples["final"])
    for audit_type in AUDIT_TYPES[:3]:
        read_arlo_manifest(reports["manifest.csv"], audit_type)
    read_arlo_manifest(reports["manifest-hybrid.csv"], "HYBRID")
    manifest = read_arlo_manifest(samples["reports"]["provisional"]["manifest.csv"], "BALLOT_POLLING")
    assert sum(r["Number of Ballots"] for r in manifest) > 80


# --------------------------------------------------------------------------------------------------
# results.csv, results-vi.csv, results.xlsx in spreadsheet tools


def _results_frame(results: dict) -> list[tuple]:
    return [(c["id"], row["id"], option, n, row["percent"][option]) for c in results["contests"]
            for row in c["rows"] for option, n in row["counts"].items()]


@pytest.mark.parametrize("variant", ["results.csv", "results-vi.csv"])
def test_results_csv_read_by_pandas(varied, variant: str) -> None:
    _, reports = varied
    if variant == "results.csv":
        frame = pd.read_csv(io.BytesIO(reports[variant]), encoding="utf-8-sig", keep_default_na=False)
    else:
        frame = pd.read_csv(io.BytesIO(reports[variant]), encoding="utf-8-sig", sep=";", decimal=",",
                            keep_default_na=False)
    assert frame.columns[0] == "provisional"  # the BOM is not part of the first header
    assert frame["percent"].dtype == "float64" and frame["count"].dtype == "int64"
    got = list(frame[["contest", "row", "option", "count", "percent"]].itertuples(index=False, name=None))
    assert got == _results_frame(json.loads(reports["results.json"]))
    assert (frame["total"] == frame["valid"] + frame["invalid"] + frame["pending"]).all()
    mayor = frame[(frame["contest"] == "mayor") & (frame["option"] == "chen")].iloc[0]
    assert (mayor["contest_title"], mayor["option_label"], mayor["percent"]) == ("Mayor", "David Chen", 25.0)


def test_results_vi_csv_has_decimal_commas_and_vietnamese_names() -> None:
    from test_reports import committee_day

    text = render_reports(committee_day())["results-vi.csv"].decode("utf-8-sig")
    assert ";thap;Tín nhiệm thấp;4;57,14;7;" in text and "57.14" not in text


def test_results_xlsx_holds_the_numbers(varied) -> None:
    tally, reports = varied
    sheet = openpyxl.load_workbook(io.BytesIO(reports["results.xlsx"])).active
    rows = list(sheet.iter_rows(values_only=True))
    header = rows[0]
    got = [(r[header.index("contest")], r[header.index("row")], r[header.index("option")], r[header.index("count")],
            r[header.index("percent")]) for r in rows[1:]]
    assert got == _results_frame(json.loads(reports["results.json"]))
    assert render_reports(varied_count())["results.xlsx"] == reports["results.xlsx"]  # same tally, same bytes


@pytest.mark.slow  # the bundled samples scanned, or LibreOffice started
@pytest.mark.skipif(shutil.which("soffice") is None, reason="LibreOffice is not installed (apt-get install "
                    "libreoffice-calc-nogui)")
@pytest.mark.parametrize(("variant", "options"), [("results.csv", "44,34,76,1,,1033"),
                                                  ("results-vi.csv", "59,34,76,1,,1066")])
def test_results_csv_opens_in_libreoffice(varied, tmp_path: Path, variant: str, options: str) -> None:
    """LibreOffice Calc imports the file (UTF-8; en-US, resp. vi-VN number formats) with numbers as numbers."""
    _, reports = varied
    (tmp_path / variant).write_bytes(reports[variant])
    proc = subprocess.run(["soffice", "--headless", "--convert-to", "xlsx", f"--infilter=CSV:{options}",
                           "--outdir", str(tmp_path / "out"), str(tmp_path / variant)], capture_output=True,
                          text=True, timeout=120, env={**os.environ, "HOME": str(tmp_path)})
    assert proc.returncode == 0, proc.stderr
    sheet = openpyxl.load_workbook(tmp_path / "out" / variant.replace(".csv", ".xlsx")).active
    rows = list(sheet.iter_rows(values_only=True))
    header = rows[0]
    assert header[0] == "provisional"
    got = [(r[header.index("contest")], r[header.index("row")], r[header.index("option")], r[header.index("count")],
            r[header.index("percent")]) for r in rows[1:]]
    assert got == _results_frame(json.loads(reports["results.json"]))
    assert "Nguyễn Hồng Quang" in {r[header.index("name")] for r in rows[1:]}
