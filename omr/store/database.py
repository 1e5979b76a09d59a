"""The results database: one SQLite file (WAL) holding every run, source file, sheet read, failure and
human decision, with an append-only hash-chained log that proves none of them was edited afterwards.

`Store` is the I/O shell: the connection, the write transactions (each appends its log entries with
the data they describe), the inserts and the queries, which hand back the typed records of
:mod:`omr.store.records`. The layout of the file is in :mod:`omr.store.schema`, a sheet's tables in
:mod:`omr.store.sheets` (runs and decisions rows in :mod:`omr.store.readback`), the log's payloads and
its check in :mod:`omr.store.chain` (pure) and :mod:`omr.store.log` (its table), and what may be
stored, decisions included, in :mod:`omr.store.validate`.

Reads, failures, decisions and the log are never updated or deleted: triggers refuse it, and
``Store.verify_log`` notices it when someone drops the triggers and edits the file anyway.
"""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from omr.read.results import SHEET_OK, SheetRead
from omr.store import log, schema
from omr.store.chain import canonical_json, sheet_payload
from omr.store.readback import DECISION_COLUMNS, decision_from_row, run_row
from omr.store.records import (
    Decision,
    LogHead,
    LogProblem,
    LogVerdict,
    PageErrorLike,
    PageFailure,
    RunCounts,
    RunFile,
    RunInfo,
    RunRecord,
    RunTemplate,
    SheetSignature,
    SourceRecord,
    StoredSheet,
    StoreError,
)
from omr.store.sheets import insert_sheet, load_sheets
from omr.store.validate import check_decision, check_decision_input, check_sha256, check_sheet


def _utc_now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class Store:
    """The results database. Open with ``Store(path)`` (created when missing); use as a context
    manager or call ``close()``. Every write is one transaction that also appends to the log.

    The I/O shell of the store, a little over 400 lines because every query and write of the
    database is here and nowhere else; what they are built from lives beside it: the tables
    (schema.py), the typed records (records.py), the hash chain (chain.py, log.py), how a read is
    laid into rows (sheets.py) and what may be stored (validate.py)."""

    def __init__(self, path: str | Path, *, create: bool = True, clock: Callable[[], str] | None = None):
        self.path = Path(path)
        self._clock = clock or _utc_now
        if self.path.is_dir():
            raise StoreError(f"{self.path} is a folder, not a results database")
        if not self.path.exists():
            if not create:
                raise StoreError(f"{self.path}: no such results database")
            if not self.path.parent.is_dir():
                raise StoreError(f"{self.path}: the folder {self.path.parent} does not exist")
        elif self.path.stat().st_size == 0:  # SQLite would take it for a new database and fill it in
            raise StoreError(f"{self.path} is an empty file (0 bytes), not a results database: give the database "
                             "`omr scan` wrote, or the name of a file that does not exist yet")
        try:
            self._conn = sqlite3.connect(str(self.path), isolation_level=None, timeout=30.0)
        except sqlite3.Error as exc:
            raise StoreError(f"{self.path}: cannot open the database: {exc}") from exc
        try:
            self._open()
        except BaseException:
            self._conn.close()
            raise

    # ---- opening and writing

    def _open(self) -> None:
        schema.needs_creating(self.path, *schema.header(self._conn, self.path))  # before touching a foreign file
        try:
            mode = self._conn.execute("PRAGMA journal_mode=WAL").fetchone()[0]
            self._conn.execute("PRAGMA foreign_keys=ON")
            self._conn.execute("PRAGMA synchronous=FULL")  # a committed read survives a power cut
            self._conn.execute("PRAGMA busy_timeout=30000")
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"{self.path}: cannot use the database: {exc}") from exc
        if str(mode).lower() != "wal":
            raise StoreError(f"{self.path}: SQLite refused write-ahead logging here (journal mode {mode}); "
                             "put the database on a local disk")
        if self._conn.execute("PRAGMA foreign_keys").fetchone()[0] != 1:
            raise StoreError("this SQLite build cannot enforce foreign keys")
        app_id, version, _ = schema.header(self._conn, self.path)
        if version == schema.SCHEMA_VERSION and app_id == schema.APPLICATION_ID:
            return  # nothing to write: a read-only copy can still be read and verified
        with self._write():
            schema.create_or_upgrade(self._conn, self.path)

    def close(self) -> None:
        self._conn.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def _write(self) -> Iterator[None]:
        """One write transaction, taken with the write lock at once so the log tail cannot fork."""
        if self._conn.in_transaction:  # left open by an interruption between BEGIN and the try below
            self._conn.execute("ROLLBACK")
        try:
            self._conn.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as exc:
            raise StoreError(f"{self.path}: cannot write to the database: {exc}") from exc
        try:
            yield
        except BaseException:
            if self._conn.in_transaction:
                self._conn.execute("ROLLBACK")
            raise
        else:
            try:
                self._conn.execute("COMMIT")
            except sqlite3.Error as exc:
                if self._conn.in_transaction:
                    self._conn.execute("ROLLBACK")
                raise StoreError(f"{self.path}: could not save: {exc}") from exc

    # ---- runs

    def begin_run(self, info: RunInfo) -> int:
        """Record the start of a run: what is needed to repeat it. Returns the run id."""
        if not isinstance(info.tool_version, str) or not info.tool_version:
            raise StoreError("run: tool_version is required")
        for i, t in enumerate(info.templates):
            if not isinstance(t, Mapping) or not t.get("id") or not t.get("fingerprint"):
                raise StoreError(f"run: templates[{i}] must be a mapping with at least id and fingerprint")
        if not isinstance(info.calibration, Mapping):
            raise StoreError("run: calibration must be a mapping (profile name and thresholds)")
        name = info.calibration.get("name")
        columns = {
            "started_at": self._clock(),
            "tool_version": info.tool_version,
            "environment": canonical_json(info.environment, "run environment"),
            "options": canonical_json(info.options, "run options"),
            "templates": canonical_json(list(info.templates), "run templates"),
            "calibration_name": None if name is None else str(name),
            "calibration": canonical_json(info.calibration, "run calibration"),
        }
        with self._write():
            cur = self._conn.execute(
                f"INSERT INTO runs ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})",
                tuple(columns.values()))
            run_id = int(cur.lastrowid)
            self._append_log(self._payload("run-start", run_id))
        return run_id

    def finish_run(self, run_id: int, status: str, summary: dict) -> None:
        """Close a run: `status` is 'finished' or 'interrupted'; `summary` is any JSON-able dict."""
        if status not in ("finished", "interrupted"):
            raise StoreError(f"run {run_id}: a run ends 'finished' or 'interrupted', not {status!r}")
        text = canonical_json(summary, "run summary")
        with self._write():
            self._running(run_id)
            self._conn.execute("UPDATE runs SET finished_at = ?, status = ?, summary = ? WHERE id = ?",
                               (self._clock(), status, text, run_id))
            self._append_log(self._payload("run-end", run_id))

    def _running(self, run_id: int) -> None:
        row = self._conn.execute("SELECT status FROM runs WHERE id = ?", (run_id,)).fetchone()
        if row is None:
            raise StoreError(f"run {run_id} does not exist")
        if row[0] != "running":
            raise StoreError(f"run {run_id} is already {row[0]}")

    def run(self, run_id: int) -> RunRecord:
        """A run: its recorded columns (JSON parsed) and the counts of what it stored."""
        r = run_row(self._conn, run_id)
        if r is None:
            raise StoreError(f"run {run_id} does not exist")
        outcomes = dict(self._conn.execute(
            "SELECT outcome, count(*) FROM run_files WHERE run_id = ? GROUP BY outcome", (run_id,)).fetchall())
        counts = RunCounts(
            read=outcomes.get("read", 0), skipped_already_read=outcomes.get("skipped-already-read", 0),
            failed=outcomes.get("failed", 0),
            sheets=self._conn.execute("SELECT count(*) FROM sheets WHERE run_id = ?", (run_id,)).fetchone()[0],
            failures=self._conn.execute("SELECT count(*) FROM page_failures WHERE run_id = ?",
                                        (run_id,)).fetchone()[0])
        return RunRecord(
            id=r["id"], started_at=r["started_at"], finished_at=r["finished_at"], tool_version=r["tool_version"],
            environment=json.loads(r["environment"]), options=json.loads(r["options"]),
            templates=tuple(RunTemplate.from_json(t) for t in json.loads(r["templates"])),
            calibration_name=r["calibration_name"], calibration=json.loads(r["calibration"]), status=r["status"],
            summary=None if r["summary"] is None else json.loads(r["summary"]), counts=counts)

    def runs(self) -> list[RunRecord]:
        return [self.run(rid) for (rid,) in self._conn.execute("SELECT id FROM runs ORDER BY id").fetchall()]

    def running_runs(self) -> list[tuple[int, dict[str, Any]]]:
        """(run id, options) of the runs not closed: running now, or left open by a killed process."""
        return [(rid, json.loads(options)) for rid, options in self._conn.execute(
            "SELECT id, options FROM runs WHERE status = 'running' ORDER BY id")]

    # ---- files and sheets

    def source_status(self, sha256: str) -> str | None:
        """'read' when the file's content is already stored (skip it), 'failed' when it could not be
        read last time (try again), None when never seen."""
        row = self._conn.execute("SELECT status FROM sources WHERE sha256 = ?", (check_sha256(sha256),)).fetchone()
        return None if row is None else row[0]

    def record_file(self, run_id: int, path: str | Path, sha256: str, size: int, sheets: Sequence[SheetRead],
                    failures: Sequence[PageErrorLike], *, page_count: int | None = None,
                    vet: Callable[[list[SheetRead]], list[SheetRead]] | None = None) -> str:
        """Store everything read from one file, in ONE transaction: all its pages or nothing.

        `vet`, when given, is called inside that transaction (holding the write lock, so it sees every
        sheet any process stored before) with the sheets in page order, and returns the sheets to store
        instead (the same pages; e.g. a copy of a stored sheet sent to review).

        `sheets` are the pages read, `failures` the file (page None) or pages that could not be.
        A file with at least one sheet is 'read' (its page failures are kept with it and are final:
        the same bytes fail the same way); a file with none is 'failed' and may be recorded again
        later. A file whose content is already read is not stored twice: the call records a skip.
        Returns the outcome: 'read', 'failed' or 'skipped-already-read'.
        """
        path = str(path)
        sha256 = check_sha256(sha256, f"{path}: sha256")
        if not isinstance(size, int) or size < 0:
            raise StoreError(f"{path}: size must be a non-negative integer, got {size!r}")
        sheets = sorted(sheets, key=lambda s: s.page if isinstance(s, SheetRead) else 0)
        failures = sorted(failures, key=lambda f: (f.page is not None, f.page or 0))
        if not sheets and not failures:
            raise StoreError(f"{path}: nothing to record (no sheet read and no failure)")
        pages: set[int] = set()
        for read in sheets:
            check_sheet(read, f"{path} page {getattr(read, 'page', '?')}")
            if read.page in pages:
                raise StoreError(f"{path} page {read.page}: two reads of the same page")
            pages.add(read.page)
        for f in failures:
            if f.page is not None and (not isinstance(f.page, int) or f.page < 1):
                raise StoreError(f"{path}: failure page must be None or a 1-based integer, got {f.page!r}")
        if page_count is None:
            numbered = pages | {f.page for f in failures if f.page is not None}
            page_count = max(numbered) if numbered else None
        try:
            with self._write():
                return self._record_file(run_id, path, sha256, size, sheets, failures, page_count, vet)
        except sqlite3.Error as exc:
            raise StoreError(f"{path}: could not store its reads: {exc}") from exc

    def _record_file(self, run_id: int, path: str, sha256: str, size: int, sheets: Sequence[SheetRead],
                     failures: Sequence[PageErrorLike], page_count: int | None,
                     vet: Callable[[list[SheetRead]], list[SheetRead]] | None) -> str:
        """The writes of `record_file`, inside its transaction."""
        self._running(run_id)
        status = self.source_status(sha256)
        if status == "read":
            self._insert_run_file(run_id, path, sha256, "skipped-already-read")
            return "skipped-already-read"
        outcome = "read" if sheets else "failed"
        error = None if sheets else str(failures[0].message)
        if status is None:
            self._conn.execute(
                "INSERT INTO sources (sha256, size, first_path, first_run_id, page_count, status, error) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)", (sha256, size, path, run_id, page_count, outcome, error))
        else:  # failed before: this run tries again
            known = self._conn.execute("SELECT size FROM sources WHERE sha256 = ?", (sha256,)).fetchone()[0]
            if known != size:
                raise StoreError(f"{path}: size {size} differs from {known} stored for the same SHA-256")
            self._conn.execute("UPDATE sources SET page_count = ?, status = ?, error = ? WHERE sha256 = ?",
                               (page_count, outcome, error, sha256))
        self._insert_run_file(run_id, path, sha256, outcome)
        if vet is not None:
            sheets = _vetted(list(sheets), vet(list(sheets)), path)
        for read in sheets:
            sheet_id = insert_sheet(self._conn, run_id, sha256, read)
            (stored,) = load_sheets(self._conn, "s.id = ?", (sheet_id,))
            self._append_log(sheet_payload(stored.read, sha256))
        for f in failures:
            cur = self._conn.execute(
                "INSERT INTO page_failures (run_id, source_sha256, path, page, message) VALUES (?, ?, ?, ?, ?)",
                (run_id, sha256, str(f.source), f.page, str(f.message)))
            self._append_log(self._payload("failure", int(cur.lastrowid)))
        return outcome

    def record_skip(self, run_id: int, path: str | Path, sha256: str) -> None:
        """Record that this run was given a file whose content is already stored, and skipped it."""
        path = str(path)
        sha256 = check_sha256(sha256, f"{path}: sha256")
        with self._write():
            self._running(run_id)
            if self.source_status(sha256) is None:
                raise StoreError(f"{path}: cannot skip a file that was never recorded (SHA-256 {sha256[:12]}…)")
            self._insert_run_file(run_id, path, sha256, "skipped-already-read")

    def record_failure(self, run_id: int, failure: PageErrorLike) -> None:
        """Record an input that could not even be opened (missing path, no permission, empty folder):
        there is no content to hash. Failures of a file that was opened go to `record_file`."""
        with self._write():
            self._running(run_id)
            cur = self._conn.execute(
                "INSERT INTO page_failures (run_id, source_sha256, path, page, message) VALUES (?, NULL, ?, ?, ?)",
                (run_id, str(failure.source), failure.page, str(failure.message)))
            self._append_log(self._payload("failure", int(cur.lastrowid)))

    def _insert_run_file(self, run_id: int, path: str, sha256: str, outcome: str) -> None:
        cur = self._conn.execute("INSERT INTO run_files (run_id, path, sha256, outcome) VALUES (?, ?, ?, ?)",
                                 (run_id, path, sha256, outcome))
        self._append_log(self._payload("file", int(cur.lastrowid)))

    def sheet_items(self, run_id: int | None = None) -> list[StoredSheet]:
        """The stored sheets, ordered by (first path, page); only those stored by `run_id` if given."""
        return load_sheets(self._conn) if run_id is None else load_sheets(self._conn, "s.run_id = ?", (run_id,))

    def fingerprints(self) -> list[str]:
        """The template fingerprints the stored sheets were read with (a rejected sheet has none)."""
        return [fp for (fp,) in self._conn.execute(
            "SELECT DISTINCT fingerprint FROM sheets WHERE fingerprint IS NOT NULL ORDER BY fingerprint")]

    def sheet_items_of(self, fingerprints: Sequence[str]) -> list[StoredSheet]:
        """Every stored sheet read with one of these template fingerprints, ordered as sheet_items."""
        marks = ", ".join("?" * len(fingerprints))
        return load_sheets(self._conn, f"s.fingerprint IN ({marks})", tuple(fingerprints)) if fingerprints else []

    def sheets_in_doubt(self, leave_out: Sequence[str] = (), batch: int = 500) -> Iterator[list[StoredSheet]]:
        """The stored sheets not read 'ok' or with a person's decision (those that can be in the review
        queue), but for those read with a fingerprint in `leave_out`, `batch` at a time in the order they
        were stored: a count over a large database never holds every read."""
        marks = ", ".join("?" * len(leave_out))
        outside = f" AND (fingerprint IS NULL OR fingerprint NOT IN ({marks}))" if leave_out else ""
        after = 0
        while True:
            ids = [sid for (sid,) in self._conn.execute(
                "SELECT id FROM sheets WHERE id > ? AND (status != ? OR id IN (SELECT sheet_id FROM decisions))"
                f"{outside} ORDER BY id LIMIT ?", (after, SHEET_OK, *leave_out, batch))]
            if not ids:
                return
            yield load_sheets(self._conn, f"s.id IN ({', '.join('?' * len(ids))})", tuple(ids))
            after = ids[-1]

    def sheets(self, run_id: int | None = None) -> list[SheetRead]:
        """The reads as stored, ordered by (first path, page); only those stored by `run_id` if given."""
        return [s.read for s in self.sheet_items(run_id)]

    def sheets_of_source(self, sha256: str) -> list[SheetRead]:
        """The reads stored for one file content, by page (what a skipped file had given)."""
        return [s.read for s in load_sheets(self._conn, "s.source_sha256 = ?", (check_sha256(sha256),))]

    def sheet(self, sheet_id: int) -> SheetRead:
        stored = load_sheets(self._conn, "s.id = ?", (sheet_id,))
        if not stored:
            raise StoreError(f"sheet {sheet_id} does not exist")
        return stored[0].read

    def sources(self) -> list[SourceRecord]:
        """Every file content recorded, by (first path, SHA-256), with each time a run was given it."""
        files: dict[str, list[RunFile]] = {}
        for fid, run_id, path, sha, outcome in self._conn.execute(
                "SELECT id, run_id, path, sha256, outcome FROM run_files ORDER BY id"):
            files.setdefault(sha, []).append(RunFile(fid, run_id, path, outcome))
        return [SourceRecord(sha, size, first_path, first_run, pages, status, error, tuple(files.get(sha, ())))
                for sha, size, first_path, first_run, pages, status, error in self._conn.execute(
                    "SELECT sha256, size, first_path, first_run_id, page_count, status, error FROM sources "
                    "ORDER BY first_path, sha256")]

    def signatures(self, after_id: int = 0) -> Iterator[SheetSignature]:
        """Every stored sheet that has a signature (sheets never registered have none), across all
        runs and processes, ordered by (first path, page); ``after_id``: only those stored after that
        sheet (ids grow as sheets are stored). Streamed: a large archive is never held at once."""
        for sid, path, page, fp, tpage, sig in self._conn.execute(
                "SELECT s.id, s.path, s.page, s.fingerprint, s.template_page, s.signature FROM sheets s "
                "JOIN sources src ON src.sha256 = s.source_sha256 WHERE length(s.signature) > 0 AND s.id > ? "
                "ORDER BY src.first_path, s.page, s.source_sha256", (int(after_id),)):
            yield SheetSignature(sid, path, page, fp, tpage, bytes(sig))

    def signature(self, sheet_id: int) -> bytes:
        """One stored sheet's signature (empty when it has none)."""
        row = self._conn.execute("SELECT signature FROM sheets WHERE id = ?", (int(sheet_id),)).fetchone()
        return bytes(row[0]) if row is not None and row[0] is not None else b""

    def failures(self, run_id: int | None = None) -> list[PageFailure]:
        """With `run_id`: what that run failed to read. Without: the failures that still stand, i.e.
        those of the last run that recorded each file (a file that failed once and was read later is
        no longer listed)."""
        if run_id is not None:
            where, params = "f.run_id = ?", (run_id,)
        else:  # the last run that recorded that content (or, never opened, that named that path)
            where, params = (
                "f.run_id = CASE WHEN f.source_sha256 IS NOT NULL THEN (SELECT max(rf.run_id) FROM run_files rf "
                "WHERE rf.sha256 = f.source_sha256 AND rf.outcome IN ('read', 'failed')) ELSE (SELECT max(r) FROM "
                "(SELECT g.run_id AS r FROM page_failures g WHERE g.source_sha256 IS NULL AND g.path = f.path "
                "UNION ALL SELECT rf.run_id FROM run_files rf WHERE rf.path = f.path)) END"), ()
        return [PageFailure(path, page, message) for path, page, message in self._conn.execute(
            f"SELECT f.path, f.page, f.message FROM page_failures f WHERE {where} "
            "ORDER BY f.path, f.page IS NOT NULL, f.page, f.id", params)]

    # ---- human decisions

    def add_decision(self, sheet_id: int, *, scope: str, action: str, reviewer: str, contest_id: str | None = None,
                     row_id: str | None = None, choices: Sequence[str] | None = None, reason: str = "",
                     note: str = "", supersedes: int | None = None) -> int:
        """Append a human decision; the machine read stays as it is. Returns the decision id.

        scope 'row' (contest_id and row_id required): action 'accept' (the machine's choices),
        'set' (`choices`, option ids of that row) or 'invalid' (`reason` required).
        scope 'sheet': 'reject-sheet' (not a valid ballot; `reason` required) or 'accept' (the
        sheet-level reasons are cleared by a human; also undoes an earlier reject).
        A new decision on the same row (or sheet) revises the previous one, which stays in the
        history; pass `supersedes` = the decision id the reviewer saw to refuse the revision when
        someone else decided in between.
        """
        reviewer = check_decision_input(scope, reviewer, choices)
        reason, note = (reason or "").strip(), (note or "").strip()
        with self._write():
            stored = load_sheets(self._conn, "s.id = ?", (sheet_id,))
            if not stored:
                raise StoreError(f"sheet {sheet_id} does not exist")
            read = stored[0].read
            where = f"sheet {sheet_id} ({read.source} page {read.page})"
            chosen, machine = check_decision(read, where, scope, action, contest_id, row_id, choices, reason)
            if scope == "row":
                where = f"{where}, row {contest_id}/{row_id}"
            latest = self._conn.execute(
                "SELECT max(id) FROM decisions WHERE sheet_id = ? AND scope = ? AND contest_id IS ? AND row_id IS ?",
                (sheet_id, scope, contest_id, row_id)).fetchone()[0]
            if supersedes is not None and supersedes != latest:
                if latest is None:
                    raise StoreError(f"{where}: decision {supersedes} is not a decision on this "
                                     f"{'row' if scope == 'row' else 'sheet'}")
                raise StoreError(f"{where}: the latest decision is now {latest}, not {supersedes}: "
                                 "someone decided in between; look again before revising")
            cur = self._conn.execute(
                "INSERT INTO decisions (sheet_id, scope, contest_id, row_id, action, choices, reason, reviewer, note, "
                "created_at, machine, supersedes) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (sheet_id, scope, contest_id, row_id, action, canonical_json(list(chosen), "choices"), reason,
                 reviewer, note, self._clock(), canonical_json(machine), latest))
            decision_id = int(cur.lastrowid)
            self._append_log(self._payload("decision", decision_id))
        return decision_id

    def decisions(self, sheet_id: int | None = None) -> list[Decision]:
        """The whole history, oldest first (of one sheet if given)."""
        where, params = ("WHERE sheet_id = ?", (sheet_id,)) if sheet_id is not None else ("", ())
        return [decision_from_row(r) for r in self._conn.execute(
            f"SELECT {DECISION_COLUMNS} FROM decisions {where} ORDER BY id", params)]

    def latest_decisions(self, sheet_id: int | None = None) -> dict[tuple[int, str | None, str | None], Decision]:
        """The decision in force for each row and sheet that has one, keyed by (sheet id, contest id,
        row id); a sheet-level decision has the key (sheet id, None, None)."""
        where, params = ("AND d.sheet_id = ?", (sheet_id,)) if sheet_id is not None else ("", ())
        rows = self._conn.execute(
            f"SELECT {DECISION_COLUMNS} FROM decisions d WHERE d.id = (SELECT max(e.id) FROM decisions e "
            "WHERE e.sheet_id = d.sheet_id AND e.scope = d.scope AND e.contest_id IS d.contest_id "
            f"AND e.row_id IS d.row_id) {where} ORDER BY d.sheet_id, d.id", params).fetchall()
        return {d.key: d for d in map(decision_from_row, rows)}

    # ---- the log

    def _append_log(self, payload: dict[str, Any] | None) -> int:
        return log.append(self._conn, self._clock(), payload)

    def _payload(self, kind: str, row_id: int) -> dict[str, Any] | None:
        return log.stored_payload(self._conn, kind, row_id)

    def log_head(self) -> LogHead | None:
        """The last log entry: print its hash in the minutes to anchor the chain."""
        return log.head(self._conn)

    def log_hashes(self, prefix: str) -> list[tuple[int, str]]:
        """(id, hash) of the log entries whose hash starts with `prefix` (lower-case hex digits)."""
        if not re.fullmatch(r"[0-9a-f]{1,64}", prefix):
            raise StoreError(f"a log hash is hexadecimal digits, not {prefix[:70]!r}")
        return [(i, h) for i, h in self._conn.execute("SELECT id, hash FROM log WHERE substr(hash, 1, ?) = ? "
                                                      "ORDER BY id", (len(prefix), prefix))]

    def log_problems(self, head: str | None = None) -> list[LogProblem]:
        """Every way the database departs from its log, ordered by log entry (those no entry names
        last). `head`: a hash published earlier (log_head), which the chain must still contain."""
        return log.problems(self._conn, head)

    def verify_log(self, head: str | None = None) -> LogVerdict:
        """Recompute the hash chain and check every entry against the tables. `first_broken` None
        with ok False: something is in the tables that no entry describes. `head`: a log head hash
        published earlier, which must still be there."""
        problems = self.log_problems(head)
        if not problems:
            last = self.log_head()
            if last is None:
                return LogVerdict(True, None, "log intact: empty")
            return LogVerdict(True, None, f"log intact: {last.id} entries, head {last.hash}")
        message = problems[0].message
        if len(problems) > 1:
            message += f" (and {len(problems) - 1} more problem(s))"
        return LogVerdict(False, problems[0].entry_id, message)


def _vetted(before: list[SheetRead], after: list[SheetRead], path: str) -> list[SheetRead]:
    """The sheets a `vet` returned, checked: the same pages, each a valid read."""
    if [r.page for r in after] != [r.page for r in before]:
        raise StoreError(f"{path}: vetting changed which pages are stored")
    for read, given in zip(after, before):
        if read is not given:  # a read returned as given was checked before the transaction
            check_sheet(read, f"{path} page {read.page}")
    return after
