"""`omr merge`: the databases of several scanning stations into one room database.

Each station's runs (with their files, sheets and failures) and decisions are written into the room
database as new rows with the station's own times and values, each with its origin (``origins``:
the station and the row's id there), and chained into the room's log as any write is; the station's
log entries are kept as they were (``station_log``) and the room's ``omr verify`` checks their chain
again. A file whose content the room already holds (scanned at two stations) keeps the first
station's reads, and the later station's record of it becomes a skip; a sheet of a new file is vetted
by the caller's duplicate check (the same as `omr scan`'s), so the same sheet scanned at two
stations waits for a person and is never counted twice. Two stations' decisions on the same row or
sheet that disagree are reported. What a station brought once is never brought again: merging the
same station twice changes nothing. A run still running on the station is left for a later merge.

Verifying the station's own chain before merging is the caller's job (omr.audit.verify), as is
reading the station from a private copy.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from omr.read.results import SheetRead
from omr.store.chain import sheet_payload
from omr.store.database import Store
from omr.store.readback import DECISION_COLUMNS, decision_from_row
from omr.store.records import Decision, StoreError
from omr.store.sheets import insert_sheet, load_sheets

Vet = Callable[[list[SheetRead]], list[SheetRead]]


@dataclass
class MergeReport:
    """What one station brought into the room database."""

    station: str
    outcome: str = "merged"  # merged | already-merged | nothing-new
    runs: int = 0
    files: int = 0
    sheets: int = 0
    files_already_here: int = 0  # the same content, read at another station first: its reads kept
    decisions: int = 0
    conflicts: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def station_key(station: Store) -> str | None:
    """The hash of a station database's first log entry: the same station whatever its file is called."""
    row = station._conn.execute("SELECT hash FROM log WHERE id = 1").fetchone()
    return None if row is None else row[0]


def merge_station(room: Store, station: Store, name: str, database_sha256: str, vet: Vet | None = None
                  ) -> MergeReport:
    """Bring what `station` holds that the room does not into `room`, in one transaction."""
    report = MergeReport(name)
    key, head = station_key(station), station.log_head()
    if key is None or head is None:
        report.outcome = "nothing-new"
        report.notes.append("the station's database is empty")
        return report
    src, dst = station._conn, room._conn
    if dst.execute("SELECT 1 FROM stations WHERE log_head = ?", (head.hash,)).fetchone():
        report.outcome = "already-merged"
        return report
    runs_done = _merged_ids(dst, key, "run")
    decisions_done = _merged_ids(dst, key, "decision")
    runs = [r for (r,) in src.execute("SELECT id FROM runs WHERE status <> 'running' ORDER BY id")
            if r not in runs_done]
    running = [r for (r,) in src.execute("SELECT id FROM runs WHERE status = 'running' ORDER BY id")]
    if running:
        report.notes.append(f"run(s) {', '.join(map(str, running))} still running at the station: merged once "
                            "they end")
    with room._write():
        _check_log_prefix(dst, src, key, name)
        cur = dst.execute(
            "INSERT INTO stations (name, station_key, database_sha256, log_head, log_entries, merged_at) "
            "VALUES (?, ?, ?, ?, ?, ?)", (name, key, database_sha256, head.hash, head.id, room._clock()))
        station_id = int(cur.lastrowid)
        _copy_log(dst, src, key)
        run_ids: dict[int, int] = {}
        for run in runs:
            run_ids[run] = _merge_run(room, station, run, station_id, vet, report)
        decisions = [d for d in station.decisions() if d.id not in decisions_done]
        _merge_decisions(room, station, decisions, station_id, key, report)
        if not runs and not report.decisions:
            raise _NothingNew
    return report


class _NothingNew(Exception):
    """Rolls back a merge that would only record the station's newer log head."""


def merge(room: Store, station: Store, name: str, database_sha256: str, vet: Vet | None = None) -> MergeReport:
    """`merge_station`, where a station with nothing new to bring leaves the room as it was."""
    try:
        return merge_station(room, station, name, database_sha256, vet)
    except _NothingNew:
        report = MergeReport(name, "nothing-new")
        report.notes.append("nothing new since its last merge (a scan still running there is merged once it ends)")
        return report


def _merged_ids(conn: sqlite3.Connection, key: str, kind: str) -> set[int]:
    return {r for (r,) in conn.execute(
        "SELECT o.station_row_id FROM origins o JOIN stations st ON st.id = o.station_id "
        "WHERE st.station_key = ? AND o.kind = ?", (key, kind))}


def _check_log_prefix(dst: sqlite3.Connection, src: sqlite3.Connection, key: str, name: str) -> None:
    """The station's log must still begin with what an earlier merge copied (its log only grows)."""
    last = dst.execute("SELECT max(id), (SELECT hash FROM station_log WHERE station_key = ? ORDER BY id DESC "
                       "LIMIT 1) FROM station_log WHERE station_key = ?", (key, key)).fetchone()
    if last[0] is None:
        return
    there = src.execute("SELECT hash FROM log WHERE id = ?", (last[0],)).fetchone()
    if there is None or there[0] != last[1]:
        raise StoreError(f"station {name}: its log no longer holds entry {last[0]} as merged before: the station's "
                         "database was rewritten since; not merged")


def _copy_log(dst: sqlite3.Connection, src: sqlite3.Connection, key: str) -> None:
    after = dst.execute("SELECT coalesce(max(id), 0) FROM station_log WHERE station_key = ?", (key,)).fetchone()[0]
    dst.executemany(
        "INSERT INTO station_log (station_key, id, created_at, kind, payload, prev_hash, hash) "
        "VALUES (?, ?, ?, ?, ?, ?, ?)",
        [(key, *row) for row in src.execute("SELECT id, created_at, kind, payload, prev_hash, hash FROM log "
                                            "WHERE id > ? ORDER BY id", (after,))])


def _merge_run(room: Store, station: Store, run: int, station_id: int, vet: Vet | None,
               report: MergeReport) -> int:
    """One finished station run, its files, sheets and failures; returns its id in the room."""
    src, dst = station._conn, room._conn
    cols = ("started_at", "finished_at", "tool_version", "environment", "options", "templates",
            "calibration_name", "calibration", "status", "summary")
    values = src.execute(f"SELECT {', '.join(cols)} FROM runs WHERE id = ?", (run,)).fetchone()
    new = int(dst.execute(f"INSERT INTO runs ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})",
                          values).lastrowid)
    dst.execute("INSERT INTO origins (kind, row_id, station_id, station_row_id) VALUES ('run', ?, ?, ?)",
                (new, station_id, run))
    room._append_log(room._payload("run-start", new))
    for fid in [f for (f,) in src.execute("SELECT id FROM page_failures WHERE run_id = ? AND source_sha256 IS NULL "
                                          "ORDER BY id", (run,))]:
        _copy_failure(room, src, fid, new)
    for path, sha, outcome in src.execute("SELECT path, sha256, outcome FROM run_files WHERE run_id = ? ORDER BY id",
                                          (run,)).fetchall():
        _merge_file(room, station, run, new, path, sha, outcome, vet, report)
    room._append_log(room._payload("run-end", new))
    report.runs += 1
    return new


def _merge_file(room: Store, station: Store, run: int, new_run: int, path: str, sha: str, outcome: str,
                vet: Vet | None, report: MergeReport) -> None:
    src, dst = station._conn, room._conn
    here = room.source_status(sha)
    size, pages, error = src.execute("SELECT size, page_count, error FROM sources WHERE sha256 = ?",
                                     (sha,)).fetchone()
    if outcome == "skipped-already-read" or here == "read":
        if here is None:  # skipped at the station because a run not merged (still running) read it
            report.notes.append(f"{path}: skipped at the station as read by a run still running there: left out")
            return
        if outcome != "skipped-already-read":
            report.files_already_here += 1
        _insert_run_file(room, new_run, path, sha, "skipped-already-read")
        return
    if here is None:
        dst.execute("INSERT INTO sources (sha256, size, first_path, first_run_id, page_count, status, error) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?)", (sha, size, path, new_run, pages, outcome, error))
    else:  # failed here before: this station's run tried again
        dst.execute("UPDATE sources SET page_count = ?, status = ?, error = ? WHERE sha256 = ?",
                    (pages, outcome, error, sha))
    _insert_run_file(room, new_run, path, sha, outcome)
    report.files += 1
    if outcome == "read":
        reads = [s.read for s in load_sheets(src, "s.source_sha256 = ? AND s.run_id = ?", (sha, run))]
        for read in _vetted(reads, vet):
            sheet_id = insert_sheet(dst, new_run, sha, read)
            (stored,) = load_sheets(dst, "s.id = ?", (sheet_id,))
            room._append_log(sheet_payload(stored.read, sha))
            report.sheets += 1
    for (fid,) in src.execute("SELECT id FROM page_failures WHERE run_id = ? AND source_sha256 = ? ORDER BY id",
                              (run, sha)).fetchall():
        _copy_failure(room, src, fid, new_run)


def _vetted(reads: list[SheetRead], vet: Vet | None) -> list[SheetRead]:
    """The room's duplicate check on a station's file; a sheet the station already found to be a
    copy keeps its finding as it was (it is not flagged twice)."""
    if vet is None or not reads:
        return reads
    checked = vet(list(reads))
    if [r.page for r in checked] != [r.page for r in reads]:
        raise StoreError(f"{reads[0].source}: the duplicate check changed which pages are stored")
    return [r if any(x.code == "duplicate" for x in r.reasons) else c for r, c in zip(reads, checked)]


def _insert_run_file(room: Store, run_id: int, path: str, sha: str, outcome: str) -> None:
    cur = room._conn.execute("INSERT INTO run_files (run_id, path, sha256, outcome) VALUES (?, ?, ?, ?)",
                             (run_id, path, sha, outcome))
    room._append_log(room._payload("file", int(cur.lastrowid)))


def _copy_failure(room: Store, src: sqlite3.Connection, failure_id: int, new_run: int) -> None:
    sha, path, page, message = src.execute("SELECT source_sha256, path, page, message FROM page_failures "
                                           "WHERE id = ?", (failure_id,)).fetchone()
    cur = room._conn.execute("INSERT INTO page_failures (run_id, source_sha256, path, page, message) "
                             "VALUES (?, ?, ?, ?, ?)", (new_run, sha, path, page, message))
    room._append_log(room._payload("failure", int(cur.lastrowid)))


def _merge_decisions(room: Store, station: Store, decisions: list[Decision], station_id: int, key: str,
                     report: MergeReport) -> None:
    """The station's decisions on sheets the room holds (the same file content and page), in the order
    they were made; a decision on a sheet another station decided otherwise is reported."""
    src, dst = station._conn, room._conn
    mapped = {o: r for r, o in dst.execute(
        "SELECT o.row_id, o.station_row_id FROM origins o JOIN stations st ON st.id = o.station_id "
        "WHERE st.station_key = ? AND o.kind = 'decision'", (key,))}
    for d in decisions:
        where = src.execute("SELECT source_sha256, page, path FROM sheets WHERE id = ?", (d.sheet_id,)).fetchone()
        sheet = dst.execute("SELECT id FROM sheets WHERE source_sha256 = ? AND page = ?", where[:2]).fetchone()
        if sheet is None:
            report.notes.append(f"decision {d.id} on {where[2]} page {where[1]}: its sheet is not merged yet (a run "
                                "still running at the station): merged with it later")
            continue
        supersedes = None if d.supersedes is None else mapped.get(d.supersedes)
        latest = _latest(dst, sheet[0], d)
        if latest is not None and latest.id != supersedes and _outcome(latest) != _outcome(d):
            report.conflicts.append(_conflict_text(dst, latest, d, report.station, where))
        cur = dst.execute(
            "INSERT INTO decisions (sheet_id, scope, contest_id, row_id, action, choices, reason, reviewer, note, "
            "created_at, machine, supersedes) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (sheet[0], *src.execute("SELECT scope, contest_id, row_id, action, choices, reason, reviewer, note, "
                                    "created_at, machine FROM decisions WHERE id = ?", (d.id,)).fetchone(),
             supersedes))
        new = int(cur.lastrowid)
        mapped[d.id] = new
        dst.execute("INSERT INTO origins (kind, row_id, station_id, station_row_id) VALUES ('decision', ?, ?, ?)",
                    (new, station_id, d.id))
        room._append_log(room._payload("decision", new))
        report.decisions += 1


def _latest(conn: sqlite3.Connection, sheet_id: int, d: Decision) -> Decision | None:
    row = conn.execute(f"SELECT {DECISION_COLUMNS} FROM decisions WHERE sheet_id = ? AND scope = ? AND contest_id IS ? "
                       "AND row_id IS ? ORDER BY id DESC LIMIT 1", (sheet_id, d.scope, d.contest_id, d.row_id)
                       ).fetchone()
    return None if row is None else decision_from_row(row)


def _outcome(d: Decision) -> tuple[str, tuple[str, ...]]:
    return d.action, tuple(d.choices)


def _conflict_text(conn: sqlite3.Connection, before: Decision, now: Decision, station: str,
                   where: tuple[str, int, str]) -> str:
    origin = conn.execute("SELECT st.name FROM origins o JOIN stations st ON st.id = o.station_id "
                          "WHERE o.kind = 'decision' AND o.row_id = ?", (before.id,)).fetchone()
    scope = "the sheet" if now.scope == "sheet" else f"row {now.contest_id}/{now.row_id}"
    return (f"{where[2]} page {where[1]}, {scope}: {origin[0] if origin else 'this room'} decided "
            f"{_words(before)} ({before.reviewer}, {before.created_at}); station {station} decided {_words(now)} "
            f"({now.reviewer}, {now.created_at}); the later merged is in force: decide it again in omr review")


def _words(d: Decision) -> str:
    return d.action + (f" {json.dumps(list(d.choices), ensure_ascii=False)}" if d.action == "set" else "")


def origins(room: Store) -> list[dict[str, Any]]:
    """Every merged station (its latest merge): name, key, file hash, log head, runs and decisions brought."""
    return [dict(zip(("name", "key", "database_sha256", "log_head", "runs", "decisions"), row))
            for row in room._conn.execute(
                "SELECT st.name, st.station_key, st.database_sha256, st.log_head, "
                "(SELECT count(*) FROM origins o JOIN stations s2 ON s2.id = o.station_id "
                " WHERE s2.station_key = st.station_key AND o.kind = 'run'), "
                "(SELECT count(*) FROM origins o JOIN stations s2 ON s2.id = o.station_id "
                " WHERE s2.station_key = st.station_key AND o.kind = 'decision') "
                "FROM stations st WHERE st.id IN (SELECT max(id) FROM stations GROUP BY station_key) ORDER BY st.id")]

