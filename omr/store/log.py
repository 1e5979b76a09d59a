"""The log table: appending an entry in the transaction that writes what it describes, the payload
each row gives now, and the check of the whole log against the tables (the I/O around the pure
functions of :mod:`omr.store.chain`)."""

from __future__ import annotations

import sqlite3
from typing import Any

from omr.store import chain
from omr.store.readback import DECISION_COLUMNS, decision_from_row, run_row
from omr.store.records import LogHead, LogProblem
from omr.store.sheets import load_sheets


def append(conn: sqlite3.Connection, created_at: str, payload: dict[str, Any] | None) -> int:
    """Append one entry chained to the last; returns its id. `payload` is built from what the
    tables hold (plain data already)."""
    assert conn.in_transaction, "log entries are written with the data they describe"
    assert payload is not None, "the row a log entry describes is written first"
    text = chain.dumps(payload)
    last = conn.execute("SELECT hash FROM log ORDER BY id DESC LIMIT 1").fetchone()
    prev_hash = last[0] if last else chain.GENESIS_HASH
    cur = conn.execute(
        "INSERT INTO log (created_at, kind, payload, prev_hash, hash) VALUES (?, ?, ?, ?, ?)",
        (created_at, payload["kind"], text, prev_hash, chain.chain_hash(prev_hash, text)))
    return int(cur.lastrowid)


def stored_payload(conn: sqlite3.Connection, kind: str, row_id: Any) -> dict[str, Any] | None:
    """The payload the row `row_id` of `kind` (any kind but a sheet) gives now; None when there is
    no such row."""
    if kind in ("run-start", "run-end"):
        r = run_row(conn, row_id)
        if r is None:
            return None
        if kind == "run-end":
            return chain.run_end_payload(row_id, r)
        return _with_origin(conn, chain.run_start_payload(row_id, r), "run", row_id)
    if kind == "file":
        row = conn.execute(
            "SELECT f.run_id, f.path, f.sha256, f.outcome, s.size FROM run_files f "
            "LEFT JOIN sources s ON s.sha256 = f.sha256 WHERE f.id = ?", (row_id,)).fetchone()
        return None if row is None else chain.file_payload(row_id, *row)
    if kind == "failure":
        row = conn.execute("SELECT run_id, source_sha256, path, page, message FROM page_failures WHERE id = ?",
                           (row_id,)).fetchone()
        return None if row is None else chain.failure_payload(row_id, *row)
    row = conn.execute(f"SELECT {DECISION_COLUMNS} FROM decisions WHERE id = ?", (row_id,)).fetchone()
    if row is None:
        return None
    d = decision_from_row(row)
    sheet = conn.execute("SELECT source_sha256, page FROM sheets WHERE id = ?", (d.sheet_id,)).fetchone()
    return _with_origin(conn, chain.decision_payload(d, None if sheet is None else (sheet[0], sheet[1])),
                        "decision", row_id)


def _with_origin(conn: sqlite3.Connection, payload: dict[str, Any], kind: str, row_id: Any) -> dict[str, Any]:
    """A merged run's or decision's payload also names the station it came from (omr merge), so the
    log covers where it was made; what was not merged has no origin and keeps its payload."""
    row = conn.execute(
        "SELECT st.name, st.station_key, st.database_sha256, st.log_head, o.station_row_id FROM origins o "
        "JOIN stations st ON st.id = o.station_id WHERE o.kind = ? AND o.row_id = ?", (kind, row_id)).fetchone()
    if row is None:
        return payload
    name, key, sha, head, station_id = row
    return {**payload, "station": {"name": name, "key": key, "database_sha256": sha, "log_head": head,
                                   "id": station_id}}


def head(conn: sqlite3.Connection) -> LogHead | None:
    row = conn.execute("SELECT id, hash FROM log ORDER BY id DESC LIMIT 1").fetchone()
    return None if row is None else LogHead(row[0], row[1])


def problems(conn: sqlite3.Connection, published_head: str | None = None) -> list[LogProblem]:
    """Every way the database departs from its log, ordered by log entry (those no entry names last):
    the chain, each entry against the row it describes, rows no entry describes, rows that disagree
    with each other, and references to missing rows."""
    entries = [chain.LogEntry(*row) for row in conn.execute(
        "SELECT id, kind, payload, prev_hash, hash FROM log ORDER BY id")]
    seq = conn.execute("SELECT seq FROM sqlite_sequence WHERE name = 'log'").fetchone()
    found, parsed = chain.chain_problems(entries, None if seq is None else seq[0], published_head)
    tables = chain.TablesNow(
        sheets={(s.source_sha256, s.read.page): s for s in load_sheets(conn)},
        runs=conn.execute("SELECT id, status FROM runs ORDER BY id").fetchall(),
        ids={kind: [r for (r,) in conn.execute(f"SELECT id FROM {table} ORDER BY id")]
             for kind, table in (("file", "run_files"), ("failure", "page_failures"), ("decision", "decisions"))},
        payload=lambda kind, row_id: stored_payload(conn, kind, row_id))
    found += chain.content_problems(parsed, tables)
    found += _provenance_problems(conn)
    found += _station_problems(conn)
    for table, rowid, parent, _fk in conn.execute("PRAGMA foreign_key_check").fetchall():
        found.append(LogProblem(None, f"{table} row {rowid} refers to a missing {parent} row"))
    return sorted(found, key=lambda p: (p.entry_id is None, p.entry_id or 0))


def _provenance_problems(conn: sqlite3.Connection) -> list[LogProblem]:
    """Rows that each match their log entry but not each other: a sheet of a run that did not
    read its file, a source whose first record is another, a source status its sheets deny."""
    problems: list[LogProblem] = []
    for sid, run_id, sha, page in conn.execute(
            "SELECT s.id, s.run_id, s.source_sha256, s.page FROM sheets s WHERE NOT EXISTS (SELECT 1 "
            "FROM run_files rf WHERE rf.run_id = s.run_id AND rf.sha256 = s.source_sha256 AND rf.outcome = 'read') "
            "ORDER BY s.id"):
        problems.append(LogProblem(None, f"sheet {sid} ({sha[:12]}… page {page}) claims run {run_id}, which did "
                                         "not read it"))
    for sha, first_path, first_run, path, run_id in conn.execute(
            "SELECT src.sha256, src.first_path, src.first_run_id, rf.path, rf.run_id FROM sources src "
            "LEFT JOIN run_files rf ON rf.id = (SELECT min(id) FROM run_files WHERE sha256 = src.sha256) "
            "ORDER BY src.sha256"):
        if (first_path, first_run) != (path, run_id):
            problems.append(LogProblem(None, f"source {sha[:12]}… says it was first given as {first_path} in "
                                             f"run {first_run}, but the first record of it is {path} in run "
                                             f"{run_id}"))
    for sha, status, n in conn.execute(
            "SELECT src.sha256, src.status, (SELECT count(*) FROM sheets s WHERE s.source_sha256 = src.sha256) "
            "FROM sources src ORDER BY src.sha256"):
        if (status == "read") != (n > 0):
            problems.append(LogProblem(None, f"source {sha[:12]}… is marked {status} but has {n} sheet(s) "
                                             "stored"))
    return problems


def _station_problems(conn: sqlite3.Connection) -> list[LogProblem]:
    """The merged stations' logs, kept as they were: each still a chain that ends at the head its last
    merge recorded (which the merged log covers, in the payloads of the runs it brought)."""
    problems: list[LogProblem] = []
    for key, name, head in conn.execute(
            "SELECT station_key, name, log_head FROM stations WHERE id IN (SELECT max(id) FROM stations "
            "GROUP BY station_key) ORDER BY id"):
        entries = [chain.LogEntry(*row) for row in conn.execute(
            "SELECT id, kind, payload, prev_hash, hash FROM station_log WHERE station_key = ? ORDER BY id", (key,))]
        found, _ = chain.chain_problems(entries, None, None)
        problems += [LogProblem(None, f"station {name}'s log as merged: {p.message}") for p in found]
        if not entries or entries[-1].hash != head:
            problems.append(LogProblem(None, f"station {name}'s log as merged does not end at the head recorded "
                                             f"when it was merged ({head[:16]}…)"))
    return problems
