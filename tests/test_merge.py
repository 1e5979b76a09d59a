"""`omr merge`: two scanning stations' real databases into one room database. The stations scanned
a file in common and the same physical sheet (one identical image, one scanned again) at both; the
room must count each sheet once, keep every run and decision with its origin, verify, refuse a
tampered station naming its broken entry, change nothing on a second merge, and tally as one
database holding all the scans."""

from __future__ import annotations

import hashlib
import shutil
import sqlite3
from pathlib import Path

import pytest
from conftest import SEED_TEMPLATE

from ballot_sim import simulate as S
from omr.ballot.template import load_template
from omr.cli.main import main
from omr.count.stored import tally_store
from omr.read.calibration import load_profile
from omr.review.model import AWAITING, TemplateShelf, load_queue
from omr.scan.batch import ScanOptions, scan
from omr.store.database import Store
from omr.store.merge import origins

TEMPLATES = [str(SEED_TEMPLATE)]


@pytest.fixture(scope="module")
def scans(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """a-only.pdf (station A), b-only.pdf (station B: one page the very image of an A page, one the
    same A sheet scanned again), shared.pdf (scanned at both), late.pdf (B, after the first merge)."""
    root = tmp_path_factory.mktemp("stations")
    template = load_template(SEED_TEMPLATE)
    sim = S.Simulator([template], seed=16)
    marked = [p for i in range(40) for p in sim.ballot(i, template, "office-scanner")
              if sum(b.expected == "marked" for b in p.expected.boxes) == 1]
    a, b, shared, late = marked[0:4], marked[4:7], marked[7:10], marked[10:12]
    S.write_pages(a, root, "a-only.pdf", "pdf")
    S.write_pages([a[1], *b, sim.rescan(a[2], "office-scanner", 3)], root, "b-only.pdf", "pdf")
    S.write_pages(shared, root, "shared.pdf", "pdf")
    S.write_pages(late, root, "late.pdf", "pdf")
    return {p.stem: p for p in root.glob("*.pdf")}


def _scan(db: Path, files: list[Path]) -> None:
    options = ScanOptions((load_template(SEED_TEMPLATE),), tuple(TEMPLATES), load_profile(), jobs=1)
    with Store(db) as store:
        scan([str(f) for f in files], store, options)


@pytest.fixture(scope="module")
def stations(scans: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Station databases (A: a-only + shared; B: b-only + shared) and one database of every scan."""
    work = tmp_path_factory.mktemp("dbs")
    dbs = {"station-a": work / "station-a.sqlite", "station-b": work / "station-b.sqlite", "all": work / "all.sqlite"}
    _scan(dbs["station-a"], [scans["a-only"], scans["shared"]])
    _scan(dbs["station-b"], [scans["b-only"], scans["shared"]])
    _scan(dbs["all"], [scans["a-only"], scans["b-only"], scans["shared"]])
    return dbs


def _merge(capsys, *args: str) -> tuple[int, str, str]:
    code = main(["merge", *args])
    out = capsys.readouterr()
    return code, out.out, out.err


def _tally(db: Path) -> dict:
    with Store(db) as store:
        t = tally_store(store, [load_template(SEED_TEMPLATE)]).to_json()
    return {k: v for k, v in t.items() if k not in ("as_of", "log_head")}


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_two_stations_merge_into_one_count(stations: dict[str, Path], tmp_path: Path, capsys) -> None:
    room = tmp_path / "room.sqlite"
    code, out, err = _merge(capsys, str(stations["station-a"]), str(stations["station-b"]), "-o", str(room))
    assert code == 0, out + err
    assert "1 file(s) already read at another station" in out
    with Store(room) as store, Store(stations["all"]) as everything:
        sheets = store.sheet_items()
        # every sheet once: shared.pdf's pages stored once, from station A
        assert sorted((s.source_sha256, s.read.page) for s in sheets) == \
               sorted((s.source_sha256, s.read.page) for s in everything.sheet_items())
        assert len(sheets) == 4 + 5 + 3
        # the same sheet at both stations (the very image, and a new scan of it) waits for a person
        copies = {s.read.page for s in sheets if Path(s.read.source).name == "b-only.pdf"
                  and any(r.code == "duplicate" for r in s.read.reasons)}
        assert copies == {1, 5}
        assert store.verify_log().ok
        # every run kept with its origin; station B's read of shared.pdf became a skip here
        runs = store.runs()
        assert [r.id for r in runs] == [1, 2]
        assert {o["name"]: (o["runs"], o["decisions"]) for o in origins(store)} == \
               {"station-a": (1, 0), "station-b": (1, 0)}
        outcomes = [(f.run_id, Path(s.first_path).name, f.outcome) for s in store.sources() for f in s.files]
        assert (2, "shared.pdf", "skipped-already-read") in outcomes and (1, "shared.pdf", "read") in outcomes
        awaiting_room = load_queue(store, TemplateShelf(store, TEMPLATES)).counts()[AWAITING]
        awaiting_all = load_queue(everything, TemplateShelf(everything, TEMPLATES)).counts()[AWAITING]
    assert awaiting_room == awaiting_all >= 2
    tally = _tally(room)
    assert tally == _tally(stations["all"])
    assert tally["reconciliation"]["pending_review"] >= 2 and tally["provisional"]
    assert main(["verify", "--db", str(room)]) == 0
    assert main(["tally", "--db", str(room), "--issued", "10", "--collected", "10", "-o",
                 str(tmp_path / "kiem-phieu")]) == 1  # provisional: the copies wait for a person


def test_merging_a_station_again_changes_nothing_and_brings_only_what_is_new(
        stations: dict[str, Path], scans: dict[str, Path], tmp_path: Path, capsys) -> None:
    room = tmp_path / "room.sqlite"
    a, b = tmp_path / "station-a.sqlite", tmp_path / "station-b.sqlite"
    shutil.copy(stations["station-a"], a)
    shutil.copy(stations["station-b"], b)
    assert _merge(capsys, str(a), str(b), "-o", str(room))[0] == 0
    before = _sha(room)
    code, out, _ = _merge(capsys, str(b), str(a), "-o", str(room))
    assert code == 0 and out.count("already merged, nothing changed") == 2
    assert _sha(room) == before  # not one byte written
    _scan(b, [scans["late"]])  # station B goes on scanning; the room takes only its new run
    code, out, _ = _merge(capsys, str(a), str(b), "-o", str(room))
    assert code == 0 and "merged 1 run(s), 1 file(s), 2 sheet(s)" in out, out
    with Store(room) as store:
        assert len(store.runs()) == 3 and len(store.sheet_items()) == 12 + 2
        assert store.verify_log().ok


def test_a_tampered_station_is_refused_with_its_broken_entry_named(stations: dict[str, Path], tmp_path: Path,
                                                                  capsys) -> None:
    bad = tmp_path / "station-b.sqlite"
    shutil.copy(stations["station-b"], bad)
    con = sqlite3.connect(bad)
    con.execute("DROP TRIGGER marks_no_update")
    con.execute("UPDATE marks SET score = 0.9, state = 'marked' WHERE rowid = (SELECT min(rowid) FROM marks "
                "WHERE state = 'blank')")
    con.commit()
    con.close()
    with sqlite3.connect(bad) as con:
        entry = con.execute("SELECT l.id FROM log l WHERE l.kind = 'sheet' ORDER BY l.id LIMIT 1").fetchone()[0]
    room = tmp_path / "room.sqlite"
    code, out, err = _merge(capsys, str(stations["station-a"]), str(bad), "-o", str(room))
    assert code == 2 and not room.exists()
    assert f"REFUSED {bad}" in err and f"log entry {entry}" in err and "nothing merged" in err


def test_conflicting_decisions_on_the_same_sheet_are_reported(stations: dict[str, Path], tmp_path: Path,
                                                              capsys) -> None:
    a, b = tmp_path / "station-a.sqlite", tmp_path / "station-b.sqlite"
    shutil.copy(stations["station-a"], a)
    shutil.copy(stations["station-b"], b)
    choices = {}
    for db, reviewer, pick in ((a, "Nguyễn Văn A", 0), (b, "Trần Thị B", 1)):
        with Store(db) as store:
            sheet = next(s for s in store.sheet_items() if Path(s.read.source).name == "shared.pdf")
            row = sheet.read.rows[0]
            option = row.marks[pick].option_id
            store.add_decision(sheet.id, scope="row", action="set", contest_id=row.contest_id, row_id=row.row_id,
                               choices=[option], reviewer=reviewer)
            choices[reviewer] = option
    room = tmp_path / "room.sqlite"
    code, out, _ = _merge(capsys, str(a), str(b), "-o", str(room))
    assert code == 1
    assert "CONFLICT" in out and "Nguyễn Văn A" in out and "Trần Thị B" in out and "omr review" in out
    with Store(room) as store:
        assert len(store.decisions()) == 2  # both kept, each with its station
        assert {o["name"]: o["decisions"] for o in origins(store)} == {"station-a": 1, "station-b": 1}
        assert store.verify_log().ok
    assert main(["verify", "--db", str(room)]) == 0


def test_audit_of_the_merged_database_finds_nothing_different(stations: dict[str, Path], scans: dict[str, Path],
                                                              tmp_path: Path, capsys) -> None:
    room = tmp_path / "room.sqlite"
    assert _merge(capsys, str(stations["station-a"]), str(stations["station-b"]), "-o", str(room))[0] == 0
    files = [str(scans[n]) for n in ("a-only", "b-only", "shared")]
    assert main(["audit", *files, "--db", str(room), "--template", *TEMPLATES, "--jobs", "1"]) == 0, \
        capsys.readouterr().out


def test_a_station_log_edited_inside_the_room_is_found_by_verify(stations: dict[str, Path], tmp_path: Path,
                                                                 capsys) -> None:
    room = tmp_path / "room.sqlite"
    assert _merge(capsys, str(stations["station-a"]), str(stations["station-b"]), "-o", str(room))[0] == 0
    con = sqlite3.connect(room)
    con.execute("DROP TRIGGER station_log_no_update")
    con.execute("UPDATE station_log SET payload = replace(payload, '\"status\":\"ok\"', '\"status\":\"review\"') "
                "WHERE rowid = (SELECT min(rowid) FROM station_log WHERE kind = 'sheet' AND payload LIKE "
                "'%\"status\":\"ok\"%' AND station_key = (SELECT station_key FROM stations WHERE name = 'station-b'))")
    assert con.total_changes == 1
    con.commit()
    con.close()
    assert main(["verify", "--db", str(room)]) == 1
    assert "station station-b's log as merged" in capsys.readouterr().out


def test_a_database_of_schema_1_is_upgraded_in_place_and_still_verifies(stations: dict[str, Path],
                                                                         tmp_path: Path) -> None:
    old = tmp_path / "old.sqlite"
    shutil.copy(stations["station-a"], old)
    con = sqlite3.connect(old)
    for name, kind in con.execute("SELECT name, type FROM sqlite_master WHERE type IN ('table', 'trigger') AND "
                                  "(name LIKE 'station%' OR name LIKE 'origins%')").fetchall():
        con.execute(f"DROP {kind} IF EXISTS {name}")
    con.execute("PRAGMA user_version = 1")
    con.commit()
    con.close()
    with Store(old) as store:
        assert store._conn.execute("PRAGMA user_version").fetchone()[0] == 2
        assert store.verify_log().ok and len(store.sheet_items()) == 7
