"""The results database: round trips, one transaction per file, append-only decisions and the
hash-chained log that catches edits made behind the tool's back. Real SQLite files in tmp dirs."""

from __future__ import annotations

import hashlib
import json
import random
import sqlite3
import struct
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pytest

import omr
from omr.read.results import MarkRead, Reason, Registration, RowRead, SheetRead
from omr.store import database
from omr.store.chain import (
    GENESIS_HASH,
    LogEntry,
    TablesNow,
    canonical_json,
    chain_hash,
    chain_problems,
    content_problems,
    sheet_payload,
)
from omr.store.database import Store
from omr.store.environment import environment_info, tool_code_sha256
from omr.store.records import LogHead, PageFailure, RunCounts, RunInfo, RunTemplate, StoreError
from omr.store.schema import APPLICATION_ID, SCHEMA_VERSION

OPTIONS = ("high", "mid", "low")


@dataclass(frozen=True)
class Failure:  # what omr.scan.ingest.PageError looks like to the store
    source: str
    page: int | None
    message: str


def verdict(store: Store) -> tuple[bool, int | None, str]:
    """The log check's three fields, in the order the assertions below read them."""
    v = store.verify_log()
    return v.ok, v.first_broken, v.message


def sha(name: str) -> str:
    return hashlib.sha256(name.encode()).hexdigest()


def make_sheet(source: str, page: int, seed: int = 0, **changes) -> SheetRead:
    rnd = random.Random(f"{source}:{page}:{seed}")
    rows = []
    for r in range(3):
        row_id = f"p{r + 1}"
        scores = [round(rnd.random(), 4) for _ in OPTIONS]
        states = ["marked" if s > 0.5 else "marginal" if s > 0.3 else "blank" for s in scores]
        marks = tuple(MarkRead("c1", row_id, o, s, st, round(rnd.uniform(-1, 1), 3), round(rnd.uniform(-1, 1), 3))
                      for o, s, st in zip(OPTIONS, scores, states))
        choices = tuple(o for o, st in zip(OPTIONS, states) if st == "marked")
        if "marginal" in states:
            box = OPTIONS[states.index("marginal")]
            status, reasons = "review", (Reason("marginal", f"box c1/{row_id}/{box}", (20.5, 40.0 + r, 5.0, 5.0)),)
        elif len(choices) == 1:
            status, reasons = "valid", ()
        else:
            status, reasons = "invalid", (Reason("overvote" if choices else "no_mark", "Ông Nguyễn Văn Á"),)
        rows.append(RowRead("c1", row_id, status, reasons, choices, marks))
    read = SheetRead(
        source=source, page=page, status="review" if any(r.status == "review" for r in rows) else "ok",
        reasons=(Reason("extra_writing", "chữ ký ở lề phải", (180.0, 12.5, 20.0, 8.25)),) if page % 2 == 0 else (),
        image_sha256=sha(f"image {source} {page} {seed}"), template_id="tin-nhiem", fingerprint=sha("template"),
        template_page=1, test=False, serial=page * 10,
        registration=Registration(180 if page == 2 else 0, 3 if page == 3 else 4, round(rnd.random() / 5, 4),
                                  7.874, tuple(round(rnd.uniform(-5, 5), 6) for _ in range(9))),
        rows=tuple(rows), metrics={"blur": round(rnd.random() * 100, 3), "ink_outside": round(rnd.random(), 4)},
        signature=bytes(rnd.randrange(256) for _ in range(16)))
    return replace(read, **changes)


def rejected_sheet(source: str, page: int) -> SheetRead:
    return SheetRead(source=source, page=page, status="rejected",
                     reasons=(Reason("unknown_template", "QR fingerprint 0123… not among the templates"),),
                     image_sha256=sha(f"image {source} {page} rejected"))


def run_info(**changes) -> RunInfo:
    info = RunInfo(tool_version="0.1.0", options={"jobs": 1, "inputs": [Path("scans")]},
                   templates=[{"id": "tin-nhiem", "fingerprint": sha("template"), "path": "t.yaml"}],
                   calibration={"name": "default", "marked": 0.2, "marginal": [0.07, 0.2]},
                   environment=environment_info())
    return replace(info, **changes)


def counter_clock(start: int = 0):
    state = {"n": start}

    def clock() -> str:
        state["n"] += 1
        return f"2026-01-01T00:00:{state['n']:02d}.000000Z"

    return clock


def table_counts(path: Path) -> dict[str, int]:
    con = sqlite3.connect(path)
    try:
        names = [n for (n,) in con.execute("SELECT name FROM sqlite_master WHERE type = 'table' "
                                           "AND name NOT LIKE 'sqlite_%'")]
        return {n: con.execute(f"SELECT count(*) FROM {n}").fetchone()[0] for n in names}
    finally:
        con.close()


def tamper(path: Path, *statements: str, params: tuple = ()) -> None:
    """Edit the file as someone with the sqlite3 shell would: drop the guard triggers, then write."""
    con = sqlite3.connect(path)
    for (name,) in con.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'").fetchall():
        con.execute(f"DROP TRIGGER {name}")
    for statement in statements:
        con.execute(statement, params if statement.count("?") else ())
    con.commit()
    con.close()


def log_entry(path: Path, kind: str, **match) -> int:
    con = sqlite3.connect(path)
    try:
        for eid, payload in con.execute("SELECT id, payload FROM log WHERE kind = ? ORDER BY id", (kind,)):
            obj = json.loads(payload)
            if all(obj.get(k) == v for k, v in match.items()):
                return eid
    finally:
        con.close()
    raise AssertionError(f"no {kind} entry with {match}")


@pytest.fixture
def filled(tmp_path):
    """A database with one finished run: a.pdf (3 pages, one rejected), b.pdf (1 page), a failed
    file, and a decision."""
    db = tmp_path / "results.sqlite"
    reads_a = [make_sheet("scans/a.pdf", 1), make_sheet("scans/a.pdf", 2), rejected_sheet("scans/a.pdf", 3)]
    reads_b = [make_sheet("scans/b.pdf", 1, seed=7)]
    with Store(db) as store:
        run = store.begin_run(run_info())
        assert store.record_file(run, "scans/b.pdf", sha("b"), 1000, reads_b, []) == "read"
        assert store.record_file(run, "scans/a.pdf", sha("a"), 3000, reads_a, []) == "read"
        assert store.record_file(run, "scans/bad.pdf", sha("bad"), 10, [],
                                 [Failure("scans/bad.pdf", None, "not a PDF: no header")]) == "failed"
        sheet_id = store.sheet_items()[0].id
        store.add_decision(sheet_id, scope="row", contest_id="c1", row_id="p1", action="set", choices=["low"],
                           reviewer="Trần Thị B")
        store.finish_run(run, "finished", {"sheets": 4})
    return db, reads_a + reads_b


# --------------------------------------------------------------------------------------------------
# Round trip


def test_round_trip_rebuilds_equal_reads_in_path_and_page_order(filled):
    db, reads = filled
    with Store(db) as store:
        back = store.sheets()
        assert back == reads  # a.pdf pages 1-3, then b.pdf, though b was recorded first
        assert [(s.source, s.page) for s in back] == [("scans/a.pdf", 1), ("scans/a.pdf", 2), ("scans/a.pdf", 3),
                                                      ("scans/b.pdf", 1)]
        for got, want in zip(back, reads):
            assert got.registration == want.registration
            assert got.rows == want.rows and got.reasons == want.reasons
            assert got.metrics == want.metrics and got.signature == want.signature
            assert [m.score.hex() for r in got.rows for m in r.marks] == \
                   [float(m.score).hex() for r in want.rows for m in r.marks]
            assert got.to_json() == want.to_json()
        assert back[2].registration is None and back[2].rows == () and back[2].status == "rejected"
        assert back[1].rotation == 180 and back[1].reasons[0].detail == "chữ ký ở lề phải"
        assert back[1].reasons[0].where == (180.0, 12.5, 20.0, 8.25) and back[2].reasons[0].where is None
        assert store.sheets_of_source(sha("a")) == reads[:3] and store.sheets_of_source(sha("zz")) == []
        items = store.sheet_items()
        assert [s.read for s in items] == back
        assert store.sheet(items[1].id) == reads[1]
        assert store.sheets(run_id=1) == back and store.sheets(run_id=99) == []
        with pytest.raises(StoreError, match="sheet 999 does not exist"):
            store.sheet(999)


def test_scores_come_back_as_the_identical_floats(tmp_path):
    rnd = random.Random(5)
    values = [0.0, 1.0, 0.1, 0.9999, 0.0001, 0.5, 1 / 3, 0.30000000000000004] + \
             [round(rnd.random(), 4) for _ in range(300)]
    marks = tuple(MarkRead("c", "r", f"o{i}", v, "blank", -v, v) for i, v in enumerate(values))
    numpy_marks = tuple(MarkRead("c", "n", f"o{i}", np.float64(v), "blank") for i, v in enumerate(values[:20]))
    read = make_sheet("x.pdf", 1, rows=(RowRead("c", "r", "review", (), (), marks),
                                        RowRead("c", "n", "review", (), (), numpy_marks)))
    with Store(tmp_path / "r.sqlite") as store:
        run = store.begin_run(run_info())
        store.record_file(run, "x.pdf", sha("x"), 1, [read], [])
    with Store(tmp_path / "r.sqlite") as store:
        (back,) = store.sheets()
    got = [struct.pack("<d", m.score) for m in back.rows[0].marks]
    assert got == [struct.pack("<d", v) for v in values]
    assert [m.dx_mm for m in back.rows[0].marks] == [-v for v in values]
    assert all(type(m.score) is float for r in back.rows for m in r.marks)
    assert [m.score for m in back.rows[1].marks] == values[:20]


def test_signatures_for_duplicate_detection(filled):
    db, reads = filled
    with Store(db) as store:
        sigs = list(store.signatures())
        # the duplicate check fetches a candidate's signature by its id
        assert store.signature(sigs[2].sheet_id) == sigs[2].signature and store.signature(10**9) == b""
    # the rejected page has no signature and is left out
    assert [(s.path, s.page) for s in sigs] == [("scans/a.pdf", 1), ("scans/a.pdf", 2), ("scans/b.pdf", 1)]
    assert (sigs[0].fingerprint, sigs[0].template_page, sigs[0].signature) == (sha("template"), 1, reads[0].signature)


# --------------------------------------------------------------------------------------------------
# The file itself


def test_wal_foreign_keys_schema_version_and_application_id(tmp_path):
    db = tmp_path / "r.sqlite"
    with Store(db) as store:
        assert store._conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
        run = store.begin_run(run_info())
        store.record_file(run, "x.pdf", sha("x"), 1, [make_sheet("x.pdf", 1)], [])
        assert (tmp_path / "r.sqlite-wal").exists()
    con = sqlite3.connect(db)
    assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert con.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert con.execute("PRAGMA application_id").fetchone()[0] == APPLICATION_ID
    con.close()


def test_a_file_that_is_not_a_database_is_refused_and_left_alone(tmp_path):
    for name, content in (("notes.txt", b"hello, this is not SQLite\n" * 40), ("noise.bin", bytes(range(256)) * 20)):
        path = tmp_path / name
        path.write_bytes(content)
        with pytest.raises(StoreError, match="not a Ballot OMR results database"):
            Store(path)
        assert path.read_bytes() == content


def test_another_programs_sqlite_database_is_refused(tmp_path):
    path = tmp_path / "other.sqlite"
    con = sqlite3.connect(path)
    con.execute("CREATE TABLE invoices (id INTEGER)")
    con.commit()
    con.close()
    with pytest.raises(StoreError, match="SQLite database, but not a Ballot OMR results database"):
        Store(path)


def test_a_database_from_a_newer_version_is_refused_clearly(tmp_path):
    path = tmp_path / "r.sqlite"
    Store(path).close()
    con = sqlite3.connect(path)
    con.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    con.close()
    with pytest.raises(StoreError, match=rf"newer Ballot OMR \(database schema version {SCHEMA_VERSION + 1}"):
        Store(path)


def test_a_database_of_an_unknown_older_version_is_refused(tmp_path):
    path = tmp_path / "r.sqlite"
    Store(path).close()
    con = sqlite3.connect(path)
    con.execute("PRAGMA user_version = 0")
    con.close()
    with pytest.raises(StoreError, match="schema version 0 cannot be opened"):
        Store(path)


def test_missing_paths_and_folders(tmp_path):
    with pytest.raises(StoreError, match="is a folder"):
        Store(tmp_path)
    with pytest.raises(StoreError, match="no such results database"):
        Store(tmp_path / "missing.sqlite", create=False)
    assert not (tmp_path / "missing.sqlite").exists()
    with pytest.raises(StoreError, match="does not exist"):
        Store(tmp_path / "no" / "such" / "dir.sqlite")


# --------------------------------------------------------------------------------------------------
# Runs


def test_runs_record_what_is_needed_to_repeat_them(tmp_path):
    with Store(tmp_path / "r.sqlite", clock=counter_clock()) as store:
        run = store.begin_run(run_info())
        info = store.run(run)
        assert info.status == "running" and info.finished_at is None and info.summary is None
        assert info.options == {"jobs": 1, "inputs": ["scans"]}  # the Path stored as text
        assert info.templates == (RunTemplate(id="tin-nhiem", fingerprint=sha("template"), path="t.yaml"),)
        assert info.calibration_name == "default" and info.calibration["marginal"] == [0.07, 0.2]
        env = info.environment
        assert env["python"] and env["libraries"]["numpy"] == np.__version__
        assert {"opencv", "pypdfium2", "zxing-cpp", "Pillow"} <= set(env["libraries"])
        store.record_file(run, "x.pdf", sha("x"), 5, [make_sheet("x.pdf", 1)], [])
        store.finish_run(run, "finished", {"read": 1})
        info = store.run(run)
        assert info.status == "finished" and info.summary == {"read": 1}
        assert info.started_at < info.finished_at
        assert info.counts == RunCounts(read=1, skipped_already_read=0, failed=0, sheets=1, failures=0)
        with pytest.raises(StoreError, match="already finished"):
            store.finish_run(run, "finished", {})
        with pytest.raises(StoreError, match="already finished"):
            store.record_file(run, "y.pdf", sha("y"), 5, [make_sheet("y.pdf", 1)], [])
        with pytest.raises(StoreError, match="'finished' or 'interrupted'"):
            store.finish_run(store.begin_run(run_info()), "done", {})
        with pytest.raises(StoreError, match="run 42 does not exist"):
            store.run(42)
        assert [r.id for r in store.runs()] == [1, 2]
        assert store.source_status(sha("y")) is None


# --------------------------------------------------------------------------------------------------
# Files: counted once, all or nothing


def test_a_file_already_read_is_not_stored_twice(filled):
    db, reads = filled
    with Store(db) as store:
        assert store.source_status(sha("a")) == "read"
        assert store.source_status(sha("A").upper()) is None
        run = store.begin_run(run_info())
        # a copy of a.pdf under another name, given to a later run
        outcome = store.record_file(run, "copy/a.pdf", sha("a"), 3000, [make_sheet("copy/a.pdf", 1)], [])
        assert outcome == "skipped-already-read"
        store.record_skip(run, "scans/b.pdf", sha("b"))
        with pytest.raises(StoreError, match="never recorded"):
            store.record_skip(run, "new.pdf", sha("new"))
        assert store.sheets() == reads and store.sheets(run_id=run) == []
        assert store.run(run).counts.skipped_already_read == 2
        assert store.verify_log().ok


def test_a_failed_file_is_recorded_and_may_be_read_later(filled):
    db, _ = filled
    with Store(db) as store:
        assert store.source_status(sha("bad")) == "failed"
        assert store.failures(1) == [PageFailure("scans/bad.pdf", None, "not a PDF: no header")]
        run = store.begin_run(run_info())
        pages = [make_sheet("scans/bad.pdf", 1), make_sheet("scans/bad.pdf", 3)]
        assert store.record_file(run, "scans/bad.pdf", sha("bad"), 10, pages,
                                 [Failure("scans/bad.pdf", 2, "page 2: JPEG stream truncated")]) == "read"
        assert store.source_status(sha("bad")) == "read"
        assert store.failures(1) == [PageFailure("scans/bad.pdf", None, "not a PDF: no header")]  # history stays
        # what still stands
        assert store.failures() == [PageFailure("scans/bad.pdf", 2, "page 2: JPEG stream truncated")]
        assert store.failures(run) == store.failures()
        assert [s.page for s in store.sheets(run)] == [1, 3]
        assert store.verify_log().ok


def test_inputs_that_could_not_be_opened_are_recorded_without_a_hash(tmp_path):
    with Store(tmp_path / "r.sqlite") as store:
        first = store.begin_run(run_info())
        store.record_failure(first, Failure("scans/missing.pdf", None, "file or folder not found"))
        store.finish_run(first, "finished", {})
        assert store.failures(first) == store.failures() == [
            PageFailure("scans/missing.pdf", None, "file or folder not found")]
        second = store.begin_run(run_info())  # the file turned up
        store.record_file(second, "scans/missing.pdf", sha("m"), 5, [make_sheet("scans/missing.pdf", 1)], [])
        assert store.failures() == [] and len(store.failures(first)) == 1
        assert store.verify_log().ok


@pytest.mark.parametrize("interruption", [RuntimeError("disk full"), KeyboardInterrupt()])
def test_an_interrupted_file_leaves_nothing_and_can_be_recorded_again(tmp_path, monkeypatch, interruption):
    db = tmp_path / "r.sqlite"
    reads = [make_sheet("big.pdf", p) for p in range(1, 5)]
    store = Store(db)
    run = store.begin_run(run_info())
    store.record_file(run, "small.pdf", sha("small"), 5, [make_sheet("small.pdf", 1)], [])
    before = table_counts(db)
    inserted = []
    original = database.insert_sheet

    def failing_insert(conn, run_id, sha256, read):
        if len(inserted) == 2:
            raise interruption
        inserted.append(original(conn, run_id, sha256, read))
        return inserted[-1]

    monkeypatch.setattr(database, "insert_sheet", failing_insert)
    with pytest.raises(type(interruption)):
        store.record_file(run, "big.pdf", sha("big"), 9000, reads, [Failure("big.pdf", 5, "page 5 unreadable")])
    assert len(inserted) == 2  # two pages were written before the failure...
    assert table_counts(db) == before  # ...and rolled back with everything else of that file
    with Store(db) as other:  # what another process sees
        assert other.source_status(sha("big")) is None
        assert [s.source for s in other.sheets()] == ["small.pdf"]
        assert other.verify_log().ok
    monkeypatch.setattr(database, "insert_sheet", original)
    assert store.record_file(run, "big.pdf", sha("big"), 9000, reads, [Failure("big.pdf", 5, "x")]) == "read"
    assert store.sheets(run)[:4] == reads
    assert store.verify_log().ok
    store.close()


def test_bad_reads_are_refused_before_anything_is_written(tmp_path):
    db = tmp_path / "r.sqlite"
    with Store(db) as store:
        run = store.begin_run(run_info())
        before = table_counts(db)
        good = make_sheet("x.pdf", 1)
        row = good.rows[0]
        nan_row = replace(row, marks=(replace(row.marks[0], score=float("nan")),) + row.marks[1:])
        with pytest.raises(StoreError, match=r"x.pdf page 2, row c1/p1, option high: score: nan"):
            store.record_file(run, "x.pdf", sha("x"), 1, [good, make_sheet("x.pdf", 2, rows=(nan_row,))], [])
        with pytest.raises(StoreError, match="two reads of the same page"):
            store.record_file(run, "x.pdf", sha("x"), 1, [good, good], [])
        with pytest.raises(StoreError, match="state 'ticked'"):
            bad = replace(row, marks=(replace(row.marks[0], state="ticked"),))
            store.record_file(run, "x.pdf", sha("x"), 1, [replace(good, rows=(bad,))], [])
        with pytest.raises(StoreError, match="sha256 must be 64 hexadecimal digits"):
            store.record_file(run, "x.pdf", "abc", 1, [good], [])
        with pytest.raises(StoreError, match="nothing to record"):
            store.record_file(run, "x.pdf", sha("x"), 1, [], [])
        assert table_counts(db) == before


# --------------------------------------------------------------------------------------------------
# Decisions


def test_decisions_are_appended_revised_and_the_latest_is_in_force(filled):
    db, reads = filled
    with Store(db, clock=counter_clock(10)) as store:
        sheet_id = store.sheet_items()[1].id  # a.pdf page 2
        machine_row = reads[1].rows[1]
        first = store.add_decision(sheet_id, scope="row", contest_id="c1", row_id="p2", action="accept",
                                   reviewer=" Lê Văn C ", note="rõ ràng")
        second = store.add_decision(sheet_id, scope="row", contest_id="c1", row_id="p2", action="set",
                                    choices=["mid"], reviewer="Phạm D", reason="tick is in the mid box",
                                    supersedes=first)
        third = store.add_decision(sheet_id, scope="row", contest_id="c1", row_id="p2", action="invalid",
                                   reviewer="Phạm D", reason="name crossed out")
        reject = store.add_decision(sheet_id, scope="sheet", action="reject-sheet", reviewer="Lê Văn C",
                                    reason="not issued by the committee")
        undo = store.add_decision(sheet_id, scope="sheet", action="accept", reviewer="Trưởng ban")

        history = store.decisions(sheet_id)
        assert [d.id for d in history] == [first, second, third, reject, undo]
        assert [d.supersedes for d in history] == [None, first, second, None, reject]
        assert history[0].reviewer == "Lê Văn C" and history[0].note == "rõ ràng"
        assert history[0].choices == machine_row.choices  # 'accept' records the machine's choices
        assert history[1].choices == ("mid",) and history[2].choices == ()
        assert history[0].machine["marks"][0]["score"] == machine_row.marks[0].score
        assert history[3].machine == {"status": reads[1].status, "reasons": [
            {"code": "extra_writing", "detail": "chữ ký ở lề phải", "where": [180.0, 12.5, 20.0, 8.25]}]}
        assert history[0].created_at < history[1].created_at

        latest = store.latest_decisions()
        assert latest[(sheet_id, "c1", "p2")].id == third
        assert latest[(sheet_id, None, None)].id == undo
        assert set(latest) == {(sheet_id, "c1", "p2"), (sheet_id, None, None), (store.sheet_items()[0].id, "c1", "p1")}
        assert set(store.latest_decisions(sheet_id)) == {(sheet_id, "c1", "p2"), (sheet_id, None, None)}
        assert store.sheets() == reads  # the machine read is untouched

        with pytest.raises(StoreError, match=f"latest decision is now {third}, not {second}"):
            store.add_decision(sheet_id, scope="row", contest_id="c1", row_id="p2", action="accept",
                               reviewer="E", supersedes=second)
        with pytest.raises(StoreError, match="reviewer's name"):
            store.add_decision(sheet_id, scope="row", contest_id="c1", row_id="p2", action="accept", reviewer="  ")
        with pytest.raises(StoreError, match="needs a reason"):
            store.add_decision(sheet_id, scope="row", contest_id="c1", row_id="p2", action="invalid", reviewer="E")
        with pytest.raises(StoreError, match="no option maybe in this row"):
            store.add_decision(sheet_id, scope="row", contest_id="c1", row_id="p2", action="set",
                               choices=["maybe"], reviewer="E")
        with pytest.raises(StoreError, match="use 'set'"):
            store.add_decision(sheet_id, scope="row", contest_id="c1", row_id="p2", action="accept",
                               choices=["low", "mid", "high"], reviewer="E")
        with pytest.raises(StoreError, match="no row c1/p9"):
            store.add_decision(sheet_id, scope="row", contest_id="c1", row_id="p9", action="accept", reviewer="E")
        with pytest.raises(StoreError, match="sheet 999 does not exist"):
            store.add_decision(999, scope="sheet", action="reject-sheet", reviewer="E", reason="x")
        with pytest.raises(StoreError, match="sheet decision is one of"):
            store.add_decision(sheet_id, scope="sheet", action="set", reviewer="E")
        assert len(store.decisions()) == 6
        assert store.verify_log().ok
    with Store(db) as store:  # and all of it is still there after reopening
        assert store.latest_decisions()[(sheet_id, "c1", "p2")].action == "invalid"


def test_the_database_refuses_to_update_or_delete_what_is_append_only(filled):
    db, _ = filled
    con = sqlite3.connect(db)
    for statement in ("UPDATE decisions SET reviewer = 'X'", "DELETE FROM decisions", "UPDATE marks SET score = 1",
                      "DELETE FROM sheets WHERE id = 1", "UPDATE log SET payload = '{}'", "DELETE FROM log",
                      "UPDATE runs SET options = '{}'", "UPDATE sources SET status = 'failed' WHERE status = 'read'"):
        with pytest.raises(sqlite3.DatabaseError):
            con.execute(statement)
    con.close()
    with Store(db) as store:
        assert store.verify_log().ok


# --------------------------------------------------------------------------------------------------
# The log


def test_a_clean_database_verifies(filled):
    db, _ = filled
    with Store(db) as store:
        ok, first, message = verdict(store)
        head = store.log_head()
    assert (ok, first) == (True, None) and message.startswith(f"log intact: {head.id} entries")
    kinds = [k for (k,) in sqlite3.connect(db).execute("SELECT kind FROM log ORDER BY id")]
    assert kinds == ["run-start", "file", "sheet", "file", "sheet", "sheet", "sheet", "file", "failure", "decision",
                     "run-end"]


def test_verify_names_a_mark_score_edited_directly(filled):
    db, reads = filled
    tamper(db, "UPDATE marks SET score = 0.9876 WHERE sheet_id = (SELECT id FROM sheets WHERE path = 'scans/a.pdf' "
               "AND page = 2) AND row_id = 'p3' AND option_id = 'low'")
    entry = log_entry(db, "sheet", source_sha256=sha("a"), page=2)
    with Store(db) as store:
        ok, first, message = verdict(store)
    assert not ok and first == entry
    assert "scans/a.pdf page 2" in message and "rows[2](c1/p3).marks[2](low).score" in message
    assert f"log has {reads[1].rows[2].marks[2].score}, database has 0.9876" in message


@pytest.mark.parametrize(("statement", "named"), [
    ("UPDATE sheets SET status = 'ok'", "status: log has \"review\", database has \"ok\""),
    ("UPDATE sheets SET signature = x'00'", "signature"),
    ("UPDATE sheets SET test = 1", "test: log has false, database has true"),
    ("UPDATE sheets SET fingerprint = 'ff'", "fingerprint"),
    ("UPDATE sheets SET residual_mm = 0.0", "registration.residual_mm"),
    ("UPDATE sheet_reasons SET code = 'nothing'",
     'reasons[0](extra_writing).code: log has "extra_writing", database has "nothing"'),
    ("DELETE FROM sheet_reasons", "reasons: 1 item(s) in the log, 0 stored"),
    ("UPDATE rows SET choices = '[\"high\"]' WHERE row_id = 'p1'", "rows[0](c1/p1).choices"),
    ("UPDATE marks SET state = 'marked' WHERE row_id = 'p2' AND option_id = 'mid'", "rows[1](c1/p2).marks[1](mid)"),
    ("UPDATE row_reasons SET where_x_mm = 1, where_y_mm = 1, where_w_mm = 1, where_h_mm = 1", ".where"),
])
def test_verify_names_any_field_of_a_read_edited(filled, statement, named):
    db, reads = filled
    target = "WHERE sheet_id = (SELECT id FROM sheets WHERE path = 'scans/a.pdf' AND page = 2)"
    if statement.startswith("UPDATE sheets"):
        target = "WHERE path = 'scans/a.pdf' AND page = 2"
    joined = f"{statement} {target}" if " WHERE " not in statement else statement.replace(" WHERE ", f" {target} AND ")
    assert reads[1].status == "review" and reads[1].reasons and any(r.reasons for r in reads[1].rows)
    tamper(db, joined)
    with Store(db) as store:
        ok, first, message = verdict(store)
    assert not ok and first == log_entry(db, "sheet", source_sha256=sha("a"), page=2)
    assert "scans/a.pdf page 2" in message and named in message


def test_verify_notices_a_sheet_moved_to_another_run(filled):
    db, _ = filled
    with Store(db) as store:
        store.begin_run(run_info())
    tamper(db, "UPDATE sheets SET run_id = 2 WHERE page = 3")
    with Store(db) as store:
        ok, first, message = verdict(store)
    assert not ok and first is None and "claims run 2, which did not read it" in message


@pytest.mark.parametrize(("statement", "named"), [
    (f"UPDATE sources SET first_path = 'elsewhere.pdf' WHERE sha256 = '{sha('a')}'", "first given as elsewhere.pdf"),
    (f"UPDATE sources SET status = 'failed' WHERE sha256 = '{sha('a')}'", "is marked failed but has 3 sheet(s)"),
    ("INSERT INTO marks VALUES (999, 'c1', 'p1', 'x', 9, 0.5, 'marked', 0, 0)", "marks row"),
])
def test_verify_notices_inconsistent_tables(filled, statement, named):
    db, _ = filled
    tamper(db, statement)
    with Store(db) as store:
        ok, first, message = verdict(store)
    assert not ok and first is None and named in message


@pytest.mark.parametrize("with_children", [False, True])
def test_verify_names_a_deleted_sheet(filled, with_children):
    db, _ = filled
    where = "(SELECT id FROM sheets WHERE path = 'scans/b.pdf')"
    children = [f"DELETE FROM {t} WHERE sheet_id = {where}" for t in ("decisions", "marks", "row_reasons", "rows",
                                                                      "sheet_reasons")]
    tamper(db, *(children if with_children else []), f"DELETE FROM sheets WHERE id = {where}")
    entry = log_entry(db, "sheet", source_sha256=sha("b"), page=1)
    with Store(db) as store:
        ok, first, message = verdict(store)
        assert [s.source for s in store.sheets()] == ["scans/a.pdf"] * 3
    assert not ok and first == entry
    assert "no longer in the database (deleted)" in message


def test_verify_names_an_edited_decision(filled):
    db, _ = filled
    tamper(db, "UPDATE decisions SET choices = '[\"high\"]' WHERE id = 1")
    entry = log_entry(db, "decision", id=1)
    with Store(db) as store:
        ok, first, message = verdict(store)
    assert not ok and first == entry
    assert "decision 1 by Trần Thị B" in message and 'choices[0]: log has "low", database has "high"' in message


def test_verify_names_a_reordered_log(filled):
    db, _ = filled
    a = log_entry(db, "sheet", source_sha256=sha("a"), page=1)
    b = log_entry(db, "sheet", source_sha256=sha("a"), page=2)
    tamper(db, f"UPDATE log SET id = -1 WHERE id = {a}", f"UPDATE log SET id = {a} WHERE id = {b}",
           f"UPDATE log SET id = {b} WHERE id = -1")
    with Store(db) as store:
        ok, first, message = verdict(store)
    assert not ok and first == a and "does not follow the entry before it" in message


@pytest.mark.parametrize("which", ["middle", "last"])
def test_verify_names_a_removed_log_entry(filled, which):
    db, _ = filled
    entry = log_entry(db, "sheet", source_sha256=sha("b"), page=1) if which == "middle" else log_entry(db, "run-end")
    tamper(db, f"DELETE FROM log WHERE id = {entry}")
    with Store(db) as store:
        ok, first, message = verdict(store)
    assert not ok and first == entry and f"log entry {entry} removed" in message


def test_verify_catches_a_log_entry_rewritten_with_a_fresh_hash(filled):
    """Editing a payload and recomputing its hash is caught twice: the entry no longer matches the
    tables, and the next entry no longer chains to it."""
    db, _ = filled
    entry = log_entry(db, "decision", id=1)
    con = sqlite3.connect(db)
    payload, prev = con.execute("SELECT payload, prev_hash FROM log WHERE id = ?", (entry,)).fetchone()
    con.close()
    forged = payload.replace('"reviewer":"Trần Thị B"', '"reviewer":"Người khác"')
    assert forged != payload
    new_hash = hashlib.sha256((prev + forged).encode()).hexdigest()
    tamper(db, "UPDATE log SET payload = ?, hash = ? WHERE id = ?", params=(forged, new_hash, entry))
    with Store(db) as store:
        ok, first, message = verdict(store)
        problems = store.log_problems()
    assert not ok and first == entry and "reviewer" in message
    assert any(p.entry_id == entry + 1 and "does not follow" in p.message for p in problems)


def test_verify_catches_rows_added_behind_the_tools_back(filled):
    db, _ = filled
    tamper(db, "INSERT INTO decisions (sheet_id, scope, action, choices, reason, reviewer, note, created_at, machine) "
               "VALUES (1, 'sheet', 'reject-sheet', '[]', 'x', 'intruder', '', '2026', '{}')")
    with Store(db) as store:
        ok, first, message = verdict(store)
    assert not ok and first is None and "decision 2 is in the database but not in the log" in message


def test_verify_checks_a_published_head(filled):
    db, _ = filled
    with Store(db) as store:
        head = store.log_head().hash
        assert store.verify_log(head).ok
        verdict = store.verify_log("f" * 64)
        assert (verdict.ok, verdict.first_broken) == (False, None)


# The hash of the log of a fixed history, made before the store was split into modules
# (omr/store/database.py at 9e5622a): a payload, its canonical text or the chain changing shows here.
FORMAT_HEAD = "bdb2a55b5ec47f5227c64cfefdfdff7a91a7188e6b89d9146d97842359f34b0e"


def fixed_history(db: Path) -> None:
    """Every kind of log entry, with a fixed clock and environment: two runs, files read, skipped and
    failed, a path that could not be opened, row and sheet decisions and a revision."""
    with Store(db, clock=counter_clock()) as store:
        run = store.begin_run(run_info(environment={"tool": "0.1.0", "python": "3.x"}))
        store.record_file(run, "scans/a.pdf", sha("a"), 3000, [make_sheet("scans/a.pdf", p) for p in (1, 2)]
                          + [rejected_sheet("scans/a.pdf", 3)], [Failure("scans/a.pdf", 4, "page 4: truncated")])
        store.record_file(run, "scans/bad.pdf", sha("bad"), 10, [], [Failure("scans/bad.pdf", None, "not a PDF")])
        store.record_failure(run, Failure("scans/missing.pdf", None, "file or folder not found"))
        store.finish_run(run, "finished", {"sheets": 3, "ratio": 0.5})
        run = store.begin_run(run_info(environment={"tool": "0.1.0", "python": "3.x"}))
        store.record_file(run, "copy/a.pdf", sha("a"), 3000, [make_sheet("copy/a.pdf", 1)], [])
        store.record_file(run, "scans/bad.pdf", sha("bad"), 10, [make_sheet("scans/bad.pdf", 1, seed=3)], [])
        store.finish_run(run, "interrupted", {})
        first = store.add_decision(1, scope="row", contest_id="c1", row_id="p2", action="set", choices=["mid"],
                                   reviewer="Trần Thị B", reason="tick in mid", note="rõ")
        store.add_decision(1, scope="row", contest_id="c1", row_id="p2", action="invalid", reviewer="Lê C",
                           reason="gạch tên", supersedes=first)
        store.add_decision(2, scope="sheet", action="reject-sheet", reviewer="Lê C", reason="không phải phiếu")


def test_the_file_format_and_the_log_payloads_are_unchanged(tmp_path):
    fixed_history(tmp_path / "r.sqlite")
    with Store(tmp_path / "r.sqlite") as store:
        assert store.verify_log().ok
        assert store.log_head() == LogHead(18, FORMAT_HEAD)


def chained(*payloads: dict) -> list[LogEntry]:
    entries, prev = [], GENESIS_HASH
    for i, payload in enumerate(payloads, 1):
        text = canonical_json(payload)
        entries.append(LogEntry(i, payload["kind"], text, prev, chain_hash(prev, text)))
        prev = entries[-1].hash
    return entries


def test_the_chain_check_is_a_pure_function_of_the_entries():
    entries = chained(*({"kind": "file", "id": i} for i in (1, 2, 3)))
    problems, parsed = chain_problems(entries, 3, entries[1].hash)
    assert problems == [] and [p.obj["id"] for p in parsed] == [1, 2, 3]
    problems, parsed = chain_problems([entries[0], entries[2]], 4, entries[1].hash)
    assert [p.entry_id for p in problems] == [2, 3, 4, None]
    assert problems[0].message == "log entry 2 removed" and "does not follow" in problems[1].message
    assert problems[2].message == "log entry 4 removed from the end of the log"
    assert "published log head" in problems[3].message and len(parsed) == 2


def test_entries_are_checked_against_what_the_tables_give_now():
    entries = chained({"kind": "file", "id": 1, "path": "a.pdf"}, {"kind": "failure", "id": 1, "path": "b.pdf"})
    _, parsed = chain_problems(entries, None, None)
    now = {("file", 1): {"kind": "file", "id": 1, "path": "A.pdf"}}  # edited; the failure row deleted
    tables = TablesNow(sheets={}, runs=[], ids={"file": [1, 9], "failure": [], "decision": []},
                       payload=lambda kind, row_id: now.get((kind, row_id)))
    assert [(p.entry_id, p.message) for p in content_problems(parsed, tables)] == [
        (1, 'log entry 1 (file record 1 (a.pdf)): the database was edited: path: log has "a.pdf", '
            'database has "A.pdf"'),
        (2, "log entry 2 (failure 1 (b.pdf page None)): no longer in the database (deleted)"),
        (None, "file record 9 is in the database but not in the log (added behind the tool's back)")]


def test_the_recorded_code_hash_covers_every_module_of_the_package():
    root = Path(omr.__file__).resolve().parent
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*.py"), key=lambda p: p.relative_to(root).as_posix()):
        digest.update(path.relative_to(root).as_posix().encode() + b"\0")
        digest.update(path.read_bytes().replace(b"\r\n", b"\n") + b"\0")
    assert (root / "read" / "pipeline.py").is_file() and tool_code_sha256() == digest.hexdigest()


# --------------------------------------------------------------------------------------------------
# Determinism


def test_the_same_reads_give_the_same_sheet_payloads_anywhere(tmp_path):
    reads = [make_sheet("a.pdf", p) for p in (1, 2)] + [rejected_sheet("a.pdf", 3)]

    def store_and_dump(db: Path, prefix: str, order, clock) -> tuple[list[str], list[tuple[str, str]]]:
        moved = [replace(r, source=prefix + r.source) for r in order]
        with Store(db, clock=clock) as store:
            run = store.begin_run(run_info())
            store.record_file(run, prefix + "a.pdf", sha("a"), 1, moved, [])
            store.finish_run(run, "finished", {})
        con = sqlite3.connect(db)
        sheets = [p for (p,) in con.execute("SELECT payload FROM log WHERE kind = 'sheet' ORDER BY id")]
        everything = con.execute("SELECT payload, hash FROM log ORDER BY id").fetchall()
        con.close()
        return sheets, everything

    one, log_one = store_and_dump(tmp_path / "one.sqlite", "/home/committee/", reads, counter_clock())
    two, _ = store_and_dump(tmp_path / "two.sqlite", "D:/audit/", list(reversed(reads)), counter_clock(30))
    three, log_three = store_and_dump(tmp_path / "three.sqlite", "/home/committee/", reads, counter_clock())
    assert one == two  # other paths, other times, other order: same reads, same payloads
    assert log_one == log_three  # same inputs and clock: a bit-identical log
    assert one[0] == json.dumps(sheet_payload(reads[0], sha("a")), sort_keys=True, ensure_ascii=False,
                                separators=(",", ":"))
    assert "committee" not in "".join(one) and "2026" not in "".join(one)
