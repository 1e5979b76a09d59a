"""The results database: one SQLite file (WAL) holding every run, source file, sheet read, failure and
human decision, with an append-only hash-chained log that proves none of them was edited afterwards.

Layout of the file (schema version ``SCHEMA_VERSION``, ``PRAGMA application_id`` = ``APPLICATION_ID``):

- ``runs``: one row per ``omr scan``: times, tool/Python/library versions, options, template
  fingerprints, calibration profile and thresholds, status and summary.
- ``sources``: one row per distinct file content (SHA-256); ``run_files``: every path each run was
  given and what became of it (``read`` | ``skipped-already-read`` | ``failed``).
- ``sheets`` (+ ``sheet_reasons``, ``rows``, ``row_reasons``, ``marks``): the machine reads, every
  number kept; ``page_failures``: files or pages that could not be read (no SHA-256 when the path
  could not even be opened).
- ``decisions``: human adjudications, append-only; a revision is a new row that ``supersedes`` the
  previous one.
- ``log``: one entry per run start/end, file, sheet, failure and decision, written in the same
  transaction as the data it describes; ``hash = sha256(prev_hash + payload)``.

Reads, failures, decisions and the log are never updated or deleted: triggers refuse it, and
``Store.verify_log`` notices it when someone drops the triggers and edits the file anyway.

Sheet log payloads hold no time, no path and no database id: the same reads give the same payloads
on any computer (``sheet_payload``), so they can be compared or digested across runs.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.metadata
import json
import math
import platform
import re
import sqlite3
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path, PurePath
from typing import Any, Protocol

from omr import __version__
from omr.read.results import (
    BLANK,
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
    Registration,
    RowRead,
    SheetRead,
)

SCHEMA_VERSION = 1
APPLICATION_ID = 0x424F4D52  # "BOMR" in the SQLite header: marks the file as ours
GENESIS_HASH = "0" * 64  # prev_hash of the first log entry

RUN_STATUSES = ("running", "finished", "interrupted")
SOURCE_STATUSES = ("read", "failed")
FILE_OUTCOMES = ("read", "skipped-already-read", "failed")
LOG_KINDS = ("run-start", "run-end", "file", "sheet", "failure", "decision")
DECISION_SCOPES = ("row", "sheet")
ROW_ACTIONS = ("accept", "set", "invalid")
SHEET_ACTIONS = ("accept", "reject-sheet")

_SHEET_STATUSES = (SHEET_OK, SHEET_REVIEW, SHEET_REJECTED)
_ROW_STATUSES = (VALID, INVALID, REVIEW)
_MARK_STATES = (MARKED, MARGINAL, BLANK)
_HEX = frozenset("0123456789abcdef")


class StoreError(Exception):
    """A problem with the results database, worded for the person running the tool."""


class PageErrorLike(Protocol):
    """A file or page that could not be read (omr.scan.ingest.PageError): page is None for the whole file."""

    @property
    def source(self) -> str: ...

    @property
    def page(self) -> int | None: ...

    @property
    def message(self) -> str: ...


@functools.cache
def tool_code_sha256() -> str:
    """SHA-256 of the tool's own source files (names and text, line endings normalised): the version
    number does not change with every edit of the code that reads, this does."""
    root = Path(__file__).resolve().parent
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*.py"), key=lambda p: p.relative_to(root).as_posix()):
        digest.update(path.relative_to(root).as_posix().encode() + b"\0")
        digest.update(path.read_bytes().replace(b"\r\n", b"\n") + b"\0")
    return digest.hexdigest()


def environment_info() -> dict[str, Any]:
    """What a re-run needs to match: the tool's version and code, Python, platform and the versions
    of the libraries that read."""
    libraries: dict[str, str | None] = {}
    for key, dists in (
        ("numpy", ("numpy",)),
        ("opencv", ("opencv-python-headless", "opencv-python", "opencv-contrib-python-headless",
                    "opencv-contrib-python")),
        ("pypdfium2", ("pypdfium2",)),
        ("zxing-cpp", ("zxing-cpp",)),
        ("Pillow", ("Pillow", "pillow")),
        ("scikit-image", ("scikit-image",)),
        ("PyYAML", ("PyYAML", "pyyaml")),
        ("reportlab", ("reportlab",)),
        ("segno", ("segno",)),
    ):
        libraries[key] = None
        for dist in dists:
            try:
                libraries[key] = importlib.metadata.version(dist)
                break
            except importlib.metadata.PackageNotFoundError:
                continue
    try:  # the PDFium binary renders vector pages: its build matters as much as the wrapper's
        from pypdfium2.version import PDFIUM_INFO

        libraries["pdfium"] = str(PDFIUM_INFO)
    except Exception:  # optional: any failure just means "unknown"
        libraries["pdfium"] = None
    return {
        "tool": __version__,
        "tool_code": tool_code_sha256(),
        "python": platform.python_version(),
        "python_implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "machine": platform.machine(),
        "sqlite": sqlite3.sqlite_version,
        "libraries": libraries,
    }


@dataclass(frozen=True)
class RunInfo:
    """What `begin_run` records. `templates`: [{id, fingerprint, path}]; `calibration`: the profile
    used, with its `name` and thresholds; `options`: the command-line options (JSON-able)."""

    tool_version: str
    options: dict
    templates: list[dict]
    calibration: dict
    environment: dict = field(default_factory=environment_info)


@dataclass(frozen=True)
class Decision:
    """One human adjudication. `machine` is the machine read it overrides, as it was stored."""

    id: int
    sheet_id: int
    scope: str  # row | sheet
    contest_id: str | None
    row_id: str | None
    action: str  # row: accept | set | invalid; sheet: accept | reject-sheet
    choices: tuple[str, ...]
    reason: str
    reviewer: str
    note: str
    created_at: str
    machine: dict[str, Any]
    supersedes: int | None

    @property
    def key(self) -> tuple[int, str | None, str | None]:
        return (self.sheet_id, self.contest_id, self.row_id)


# --------------------------------------------------------------------------------------------------
# Canonical JSON and the payloads the log hashes


def _plain(value: Any, where: str) -> Any:
    """Plain JSON data (dict, list, str, int, finite float, bool, None) from what callers pass
    (tuples, Paths, numpy scalars and arrays); anything else is refused rather than guessed."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise StoreError(f"{where}: {value!r} is not a finite number and cannot be stored")
        return float(value)
    if isinstance(value, PurePath):
        return str(value)
    if isinstance(value, Mapping):
        return {str(k): _plain(v, f"{where}.{k}") for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v, f"{where}[{i}]") for i, v in enumerate(value)]
    tolist = getattr(value, "tolist", None)  # numpy scalars and arrays
    if callable(tolist) and not isinstance(value, (bytes, bytearray, memoryview)):
        return _plain(tolist(), where)
    raise StoreError(f"{where}: a {type(value).__name__} cannot be stored as JSON")


def _dumps(plain: Any) -> str:
    return json.dumps(plain, sort_keys=True, ensure_ascii=False, separators=(",", ":"), allow_nan=False)


def canonical_json(value: Any, where: str = "value") -> str:
    """The one JSON text of a value: sorted keys, UTF-8 characters as they are, no spaces."""
    return _dumps(_plain(value, where))


def chain_hash(prev_hash: str, payload: str) -> str:
    return hashlib.sha256((prev_hash + payload).encode("utf-8")).hexdigest()


def _reason_json(reason: Reason) -> dict[str, Any]:
    return {"code": reason.code, "detail": reason.detail,
            "where": None if reason.where is None else list(reason.where)}


def _row_json(row: RowRead) -> dict[str, Any]:
    return {
        "contest_id": row.contest_id,
        "row_id": row.row_id,
        "status": row.status,
        "reasons": [_reason_json(r) for r in row.reasons],
        "choices": list(row.choices),
        "marks": [{"option_id": m.option_id, "score": m.score, "state": m.state, "dx_mm": m.dx_mm,
                   "dy_mm": m.dy_mm} for m in row.marks],
    }


def sheet_payload(read: SheetRead, source_sha256: str) -> dict[str, Any]:
    """What the log holds for one sheet read: everything read, identified by the file's content and
    the page; no path, time or database id, so equal reads give equal payloads anywhere."""
    reg = read.registration
    return {
        "kind": "sheet",
        "source_sha256": source_sha256,
        "page": read.page,
        "status": read.status,
        "reasons": [_reason_json(r) for r in read.reasons],
        "image_sha256": read.image_sha256,
        "template_id": read.template_id,
        "fingerprint": read.fingerprint,
        "template_page": read.template_page,
        "test": bool(read.test),
        "serial": read.serial,
        "registration": None if reg is None else {
            "rotation": reg.rotation,
            "fiducials_found": reg.fiducials_found,
            "residual_mm": reg.residual_mm,
            "px_per_mm": reg.px_per_mm,
            "homography": list(reg.homography),
        },
        "rows": [_row_json(r) for r in read.rows],
        "metrics": dict(read.metrics),
        "signature": bytes(read.signature).hex(),
    }


def _first_difference(logged: Any, stored: Any, path: str = "") -> str | None:
    """Where two JSON values first differ, in words (for naming what was edited)."""
    if isinstance(logged, dict) and isinstance(stored, dict):
        for key in sorted(set(logged) | set(stored)):
            sub = f"{path}.{key}" if path else str(key)
            if key not in stored:
                return f"{sub} is in the log but no longer stored"
            if key not in logged:
                return f"{sub} is stored but not in the log"
            diff = _first_difference(logged[key], stored[key], sub)
            if diff:
                return diff
        return None
    if isinstance(logged, list) and isinstance(stored, list):
        for i, (a, b) in enumerate(zip(logged, stored)):
            label = ""
            if isinstance(a, dict):
                ident = [str(a[k]) for k in ("contest_id", "row_id", "option_id", "code") if k in a]
                label = f"({'/'.join(ident)})" if ident else ""
            diff = _first_difference(a, b, f"{path}[{i}]{label}")
            if diff:
                return diff
        if len(logged) != len(stored):
            return f"{path}: {len(logged)} item(s) in the log, {len(stored)} stored"
        return None
    if type(logged) is not type(stored) or logged != stored:
        return f"{path}: log has {json.dumps(logged, ensure_ascii=False)}, " \
               f"database has {json.dumps(stored, ensure_ascii=False)}"
    return None


def _utc_now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


# --------------------------------------------------------------------------------------------------
# Schema

_IMMUTABLE_TABLES = ("log", "decisions", "sheets", "sheet_reasons", "rows", "row_reasons", "marks",
                     "page_failures", "run_files")

_WHERE_COLUMNS = """where_x_mm REAL,                     -- Reason.where: the area to zoom on, page mm
    where_y_mm REAL,
    where_w_mm REAL,
    where_h_mm REAL,
    CHECK ((where_x_mm IS NULL) = (where_y_mm IS NULL) AND (where_x_mm IS NULL) = (where_w_mm IS NULL)
           AND (where_x_mm IS NULL) = (where_h_mm IS NULL))"""

_SCHEMA = f"""
CREATE TABLE runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    started_at TEXT NOT NULL,
    finished_at TEXT,
    tool_version TEXT NOT NULL,
    environment TEXT NOT NULL,          -- JSON: python, platform, sqlite, library versions
    options TEXT NOT NULL,              -- JSON
    templates TEXT NOT NULL,            -- JSON list of {{id, fingerprint, path}}
    calibration_name TEXT,
    calibration TEXT NOT NULL,          -- JSON: the profile as used, thresholds included
    status TEXT NOT NULL DEFAULT 'running' CHECK (status IN {RUN_STATUSES}),
    summary TEXT,                       -- JSON, set when the run ends
    CHECK ((status = 'running') = (finished_at IS NULL))
);

CREATE TABLE sources (
    sha256 TEXT PRIMARY KEY CHECK (length(sha256) = 64 AND sha256 NOT GLOB '*[^0-9a-f]*'),
    size INTEGER NOT NULL CHECK (size >= 0),
    first_path TEXT NOT NULL,           -- as first given
    first_run_id INTEGER NOT NULL REFERENCES runs(id),
    page_count INTEGER CHECK (page_count >= 0),
    status TEXT NOT NULL CHECK (status IN {SOURCE_STATUSES}),
    error TEXT
);

CREATE TABLE run_files (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id INTEGER NOT NULL REFERENCES runs(id),
    path TEXT NOT NULL,                 -- as given to that run
    sha256 TEXT NOT NULL REFERENCES sources(sha256),
    outcome TEXT NOT NULL CHECK (outcome IN {FILE_OUTCOMES})
);
CREATE INDEX run_files_run ON run_files(run_id);
CREATE INDEX run_files_sha256 ON run_files(sha256);

CREATE TABLE sheets (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    source_sha256 TEXT NOT NULL REFERENCES sources(sha256),
    page INTEGER NOT NULL CHECK (page >= 1),
    run_id INTEGER NOT NULL REFERENCES runs(id),
    path TEXT NOT NULL,                 -- SheetRead.source: the path as given
    image_sha256 TEXT NOT NULL,
    template_id TEXT,
    fingerprint TEXT,
    template_page INTEGER,
    test INTEGER NOT NULL CHECK (test IN (0, 1)),
    serial INTEGER,
    status TEXT NOT NULL CHECK (status IN {_SHEET_STATUSES}),
    rotation INTEGER CHECK (rotation IN (0, 90, 180, 270)),
    fiducials_found INTEGER,
    residual_mm REAL,
    px_per_mm REAL,
    homography TEXT,                    -- JSON list of 9 floats, page mm -> image px
    metrics TEXT NOT NULL,              -- JSON object
    signature BLOB NOT NULL,
    UNIQUE (source_sha256, page),
    CHECK ((rotation IS NULL) = (fiducials_found IS NULL)
           AND (rotation IS NULL) = (residual_mm IS NULL)
           AND (rotation IS NULL) = (px_per_mm IS NULL)
           AND (rotation IS NULL) = (homography IS NULL))
);
CREATE INDEX sheets_run ON sheets(run_id);
CREATE INDEX sheets_template ON sheets(fingerprint, template_page);

CREATE TABLE sheet_reasons (
    sheet_id INTEGER NOT NULL REFERENCES sheets(id),
    ordinal INTEGER NOT NULL,
    code TEXT NOT NULL,
    detail TEXT NOT NULL,
    {_WHERE_COLUMNS},
    PRIMARY KEY (sheet_id, ordinal)
);
CREATE INDEX sheet_reasons_code ON sheet_reasons(code);

CREATE TABLE rows (
    sheet_id INTEGER NOT NULL REFERENCES sheets(id),
    contest_id TEXT NOT NULL,
    row_id TEXT NOT NULL,
    ordinal INTEGER NOT NULL,
    status TEXT NOT NULL CHECK (status IN {_ROW_STATUSES}),
    choices TEXT NOT NULL,              -- JSON list of option ids read as marked
    PRIMARY KEY (sheet_id, contest_id, row_id),
    UNIQUE (sheet_id, ordinal)
);

CREATE TABLE row_reasons (
    sheet_id INTEGER NOT NULL,
    contest_id TEXT NOT NULL,
    row_id TEXT NOT NULL,
    ordinal INTEGER NOT NULL,
    code TEXT NOT NULL,
    detail TEXT NOT NULL,
    {_WHERE_COLUMNS},
    PRIMARY KEY (sheet_id, contest_id, row_id, ordinal),
    FOREIGN KEY (sheet_id, contest_id, row_id) REFERENCES rows(sheet_id, contest_id, row_id)
);
CREATE INDEX row_reasons_code ON row_reasons(code);

CREATE TABLE marks (
    sheet_id INTEGER NOT NULL,
    contest_id TEXT NOT NULL,
    row_id TEXT NOT NULL,
    option_id TEXT NOT NULL,
    ordinal INTEGER NOT NULL,
    score REAL NOT NULL,
    state TEXT NOT NULL CHECK (state IN {_MARK_STATES}),
    dx_mm REAL NOT NULL,
    dy_mm REAL NOT NULL,
    PRIMARY KEY (sheet_id, contest_id, row_id, option_id),
    UNIQUE (sheet_id, contest_id, row_id, ordinal),
    FOREIGN KEY (sheet_id, contest_id, row_id) REFERENCES rows(sheet_id, contest_id, row_id)
);

CREATE TABLE page_failures (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id INTEGER NOT NULL REFERENCES runs(id),
    source_sha256 TEXT REFERENCES sources(sha256),  -- NULL: the path could not even be opened
    path TEXT NOT NULL,                 -- as given
    page INTEGER CHECK (page >= 1),     -- NULL: the whole file
    message TEXT NOT NULL
);
CREATE INDEX page_failures_source ON page_failures(source_sha256);

CREATE TABLE decisions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    sheet_id INTEGER NOT NULL REFERENCES sheets(id),
    scope TEXT NOT NULL CHECK (scope IN {DECISION_SCOPES}),
    contest_id TEXT,
    row_id TEXT,
    action TEXT NOT NULL,
    choices TEXT NOT NULL,              -- JSON list of option ids
    reason TEXT NOT NULL,
    reviewer TEXT NOT NULL CHECK (length(trim(reviewer)) > 0),
    note TEXT NOT NULL,
    created_at TEXT NOT NULL,
    machine TEXT NOT NULL,              -- JSON: the machine read this decision overrides
    supersedes INTEGER UNIQUE REFERENCES decisions(id),
    CHECK ((scope = 'row' AND contest_id IS NOT NULL AND row_id IS NOT NULL AND action IN {ROW_ACTIONS})
        OR (scope = 'sheet' AND contest_id IS NULL AND row_id IS NULL AND action IN {SHEET_ACTIONS})),
    FOREIGN KEY (sheet_id, contest_id, row_id) REFERENCES rows(sheet_id, contest_id, row_id)
);
CREATE INDEX decisions_sheet ON decisions(sheet_id, contest_id, row_id);

CREATE TABLE log (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    created_at TEXT NOT NULL,           -- when written; times that matter are inside the payload
    kind TEXT NOT NULL CHECK (kind IN {LOG_KINDS}),
    payload TEXT NOT NULL,              -- canonical JSON, includes "kind"
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL UNIQUE           -- sha256(prev_hash + payload)
);

CREATE TRIGGER sources_no_delete BEFORE DELETE ON sources
BEGIN SELECT RAISE(ABORT, 'sources are never deleted'); END;
CREATE TRIGGER sources_keep_identity BEFORE UPDATE OF sha256, size, first_path, first_run_id ON sources
BEGIN SELECT RAISE(ABORT, 'a source keeps its content, size and first path'); END;
CREATE TRIGGER sources_read_is_final BEFORE UPDATE ON sources WHEN OLD.status = 'read'
BEGIN SELECT RAISE(ABORT, 'a source once read is never changed'); END;
CREATE TRIGGER runs_no_delete BEFORE DELETE ON runs
BEGIN SELECT RAISE(ABORT, 'runs are never deleted'); END;
CREATE TRIGGER runs_keep_start BEFORE UPDATE OF id, started_at, tool_version, environment, options, templates,
    calibration_name, calibration ON runs
BEGIN SELECT RAISE(ABORT, 'what a run started with is never changed'); END;
CREATE TRIGGER runs_end_is_final BEFORE UPDATE ON runs WHEN OLD.status <> 'running'
BEGIN SELECT RAISE(ABORT, 'a finished run is never changed'); END;
""" + "".join(
    f"CREATE TRIGGER {t}_no_update BEFORE UPDATE ON {t} BEGIN SELECT RAISE(ABORT, '{t} is append-only'); END;\n"
    f"CREATE TRIGGER {t}_no_delete BEFORE DELETE ON {t} BEGIN SELECT RAISE(ABORT, '{t} is append-only'); END;\n"
    for t in _IMMUTABLE_TABLES
)

# Upgrades from older schema versions: {from_version: SQL}; none yet.
_MIGRATIONS: dict[int, str] = {}


# --------------------------------------------------------------------------------------------------
# Validation of what is stored (a clear message beats an IntegrityError)


def _check_sha256(value: str, what: str = "sha256") -> str:
    if not isinstance(value, str) or len(value) != 64 or not set(value.lower()) <= _HEX:
        raise StoreError(f"{what} must be 64 hexadecimal digits, got {value!r}")
    return value.lower()


def _check_float(value: Any, where: str) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise StoreError(f"{where}: {value!r} is not a number") from None
    if not math.isfinite(number):
        raise StoreError(f"{where}: {value!r} is not a finite number and cannot be stored")
    return number


def _check_reasons(reasons: Sequence[Reason], where: str) -> None:
    for i, reason in enumerate(reasons):
        if not isinstance(reason, Reason):
            raise StoreError(f"{where}: reasons[{i}] is a {type(reason).__name__}, not a Reason")
        if reason.where is not None:
            if len(reason.where) != 4:
                raise StoreError(f"{where}: reason {reason.code}: where must be (x, y, w, h) in mm")
            for v in reason.where:
                _check_float(v, f"{where}: reason {reason.code}: where")


def _where_values(reason: Reason) -> tuple[float | None, ...]:
    return (None,) * 4 if reason.where is None else tuple(float(v) for v in reason.where)


def _reason(code: str, detail: str, x: float | None, y: float | None, w: float | None, h: float | None) -> Reason:
    return Reason(code, detail, None if x is None else (x, y, w, h))


def _check_sheet(read: SheetRead, where: str) -> None:
    if not isinstance(read, SheetRead):
        raise StoreError(f"{where}: expected a SheetRead, got {type(read).__name__}")
    if not isinstance(read.page, int) or read.page < 1:
        raise StoreError(f"{where}: page must be a 1-based integer, got {read.page!r}")
    if read.status not in _SHEET_STATUSES:
        raise StoreError(f"{where}: sheet status {read.status!r} is not one of {', '.join(_SHEET_STATUSES)}")
    reg = read.registration
    if reg is not None:
        if reg.rotation not in (0, 90, 180, 270):
            raise StoreError(f"{where}: rotation {reg.rotation!r} is not 0, 90, 180 or 270")
        if len(reg.homography) != 9:
            raise StoreError(f"{where}: the homography has {len(reg.homography)} numbers, not 9")
        _check_float(reg.residual_mm, f"{where}: residual_mm")
        _check_float(reg.px_per_mm, f"{where}: px_per_mm")
        for i, h in enumerate(reg.homography):
            _check_float(h, f"{where}: homography[{i}]")
    _check_reasons(read.reasons, where)
    seen_rows: set[tuple[str, str]] = set()
    for row in read.rows:
        rwhere = f"{where}, row {row.contest_id}/{row.row_id}"
        _check_reasons(row.reasons, rwhere)
        if (row.contest_id, row.row_id) in seen_rows:
            raise StoreError(f"{rwhere}: the same row is read twice")
        seen_rows.add((row.contest_id, row.row_id))
        if row.status not in _ROW_STATUSES:
            raise StoreError(f"{rwhere}: row status {row.status!r} is not one of {', '.join(_ROW_STATUSES)}")
        seen_options: set[str] = set()
        for mark in row.marks:
            mwhere = f"{rwhere}, option {mark.option_id}"
            if (mark.contest_id, mark.row_id) != (row.contest_id, row.row_id):
                raise StoreError(f"{mwhere}: the mark belongs to {mark.contest_id}/{mark.row_id}")
            if mark.option_id in seen_options:
                raise StoreError(f"{mwhere}: the same box is read twice")
            seen_options.add(mark.option_id)
            if mark.state not in _MARK_STATES:
                raise StoreError(f"{mwhere}: state {mark.state!r} is not one of {', '.join(_MARK_STATES)}")
            for name in ("score", "dx_mm", "dy_mm"):
                _check_float(getattr(mark, name), f"{mwhere}: {name}")
    _plain(read.metrics, f"{where}: metrics")


# --------------------------------------------------------------------------------------------------


@dataclass
class _Loaded:
    id: int
    source_sha256: str
    run_id: int
    first_path: str
    read: SheetRead


class Store:
    """The results database. Open with ``Store(path)`` (created when missing); use as a context
    manager or call ``close()``. Every write is one transaction that also appends to the log."""

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

    # ---- opening

    def _header(self) -> tuple[int, int, int]:
        try:
            app_id = self._conn.execute("PRAGMA application_id").fetchone()[0]
            version = self._conn.execute("PRAGMA user_version").fetchone()[0]
            tables = self._conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"{self.path} is not a Ballot OMR results database (not an SQLite file: {exc})") \
                from exc
        return app_id, version, tables

    def _check_header(self, app_id: int, version: int, tables: int) -> bool:
        """True when the schema must be created (an empty file)."""
        if app_id == 0 and version == 0 and tables == 0:
            return True
        if app_id != APPLICATION_ID:
            raise StoreError(f"{self.path} is an SQLite database, but not a Ballot OMR results database "
                             f"(application id {app_id:#x}, {tables} schema object(s))")
        if version > SCHEMA_VERSION:
            raise StoreError(f"{self.path} was written by a newer Ballot OMR (database schema version {version}; "
                             f"this tool, {__version__}, knows versions up to {SCHEMA_VERSION}): upgrade the tool")
        if version < 1 or (version < SCHEMA_VERSION and any(v not in _MIGRATIONS
                                                            for v in range(version, SCHEMA_VERSION))):
            raise StoreError(f"{self.path}: database schema version {version} cannot be opened by this tool "
                             f"(version {SCHEMA_VERSION}) and there is no upgrade from it")
        return False

    def _open(self) -> None:
        self._check_header(*self._header())  # before changing anything in a file that may not be ours
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
        app_id, version, tables = self._header()
        if version == SCHEMA_VERSION and app_id == APPLICATION_ID:
            return  # nothing to write: a read-only copy can still be read and verified
        with self._write():  # checked again under the write lock: another process may have just created it
            app_id, version, tables = self._header()
            if self._check_header(app_id, version, tables):
                for statement in _split_sql(_SCHEMA):
                    self._conn.execute(statement)
                self._conn.execute(f"PRAGMA application_id={APPLICATION_ID}")
                self._conn.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
            else:
                for v in range(version, SCHEMA_VERSION):
                    for statement in _split_sql(_MIGRATIONS[v]):
                        self._conn.execute(statement)
                    self._conn.execute(f"PRAGMA user_version={v + 1}")

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

    def _append_log(self, payload: dict[str, Any]) -> int:
        assert self._conn.in_transaction, "log entries are written with the data they describe"
        text = _dumps(payload)  # built from what the tables hold: plain data already
        last = self._conn.execute("SELECT hash FROM log ORDER BY id DESC LIMIT 1").fetchone()
        prev_hash = last[0] if last else GENESIS_HASH
        cur = self._conn.execute(
            "INSERT INTO log (created_at, kind, payload, prev_hash, hash) VALUES (?, ?, ?, ?, ?)",
            (self._clock(), payload["kind"], text, prev_hash, chain_hash(prev_hash, text)))
        return int(cur.lastrowid)

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
            self._append_log(self._run_start_payload(run_id))
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
            self._append_log(self._run_end_payload(run_id))

    def _running(self, run_id: int) -> None:
        row = self._conn.execute("SELECT status FROM runs WHERE id = ?", (run_id,)).fetchone()
        if row is None:
            raise StoreError(f"run {run_id} does not exist")
        if row[0] != "running":
            raise StoreError(f"run {run_id} is already {row[0]}")

    def _run_row(self, run_id: int) -> sqlite3.Row | None:
        cur = self._conn.cursor()
        cur.row_factory = sqlite3.Row
        return cur.execute("SELECT * FROM runs WHERE id = ?", (run_id,)).fetchone()

    def _run_start_payload(self, run_id: int) -> dict[str, Any] | None:
        r = self._run_row(run_id)
        if r is None:
            return None
        return {"kind": "run-start", "run": run_id, "started_at": r["started_at"], "tool_version": r["tool_version"],
                "environment": json.loads(r["environment"]), "options": json.loads(r["options"]),
                "templates": json.loads(r["templates"]), "calibration_name": r["calibration_name"],
                "calibration": json.loads(r["calibration"])}

    def _run_end_payload(self, run_id: int) -> dict[str, Any] | None:
        r = self._run_row(run_id)
        if r is None:
            return None
        return {"kind": "run-end", "run": run_id, "finished_at": r["finished_at"], "status": r["status"],
                "summary": None if r["summary"] is None else json.loads(r["summary"])}

    def run(self, run_id: int) -> dict[str, Any]:
        """A run as a dict: its recorded columns (JSON parsed) and `counts` of what it stored."""
        r = self._run_row(run_id)
        if r is None:
            raise StoreError(f"run {run_id} does not exist")
        counts: dict[str, int] = dict.fromkeys(FILE_OUTCOMES, 0)
        for outcome, n in self._conn.execute(
                "SELECT outcome, count(*) FROM run_files WHERE run_id = ? GROUP BY outcome", (run_id,)):
            counts[outcome] = n
        counts["sheets"] = self._conn.execute("SELECT count(*) FROM sheets WHERE run_id = ?", (run_id,)).fetchone()[0]
        counts["failures"] = self._conn.execute(
            "SELECT count(*) FROM page_failures WHERE run_id = ?", (run_id,)).fetchone()[0]
        return {
            "id": r["id"], "started_at": r["started_at"], "finished_at": r["finished_at"],
            "tool_version": r["tool_version"], "environment": json.loads(r["environment"]),
            "options": json.loads(r["options"]), "templates": json.loads(r["templates"]),
            "calibration_name": r["calibration_name"], "calibration": json.loads(r["calibration"]),
            "status": r["status"], "summary": None if r["summary"] is None else json.loads(r["summary"]),
            "counts": counts,
        }

    def running_runs(self) -> list[tuple[int, dict[str, Any]]]:
        """(run id, options) of the runs not closed: running now, or left open by a killed process."""
        return [(rid, json.loads(options)) for rid, options in self._conn.execute(
            "SELECT id, options FROM runs WHERE status = 'running' ORDER BY id")]

    def runs(self) -> list[dict[str, Any]]:
        return [self.run(rid) for (rid,) in self._conn.execute("SELECT id FROM runs ORDER BY id").fetchall()]

    # ---- files and sheets

    def source_status(self, sha256: str) -> str | None:
        """'read' when the file's content is already stored (skip it), 'failed' when it could not be
        read last time (try again), None when never seen."""
        row = self._conn.execute("SELECT status FROM sources WHERE sha256 = ?", (_check_sha256(sha256),)).fetchone()
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
        sha256 = _check_sha256(sha256, f"{path}: sha256")
        if not isinstance(size, int) or size < 0:
            raise StoreError(f"{path}: size must be a non-negative integer, got {size!r}")
        sheets = sorted(sheets, key=lambda s: s.page if isinstance(s, SheetRead) else 0)
        failures = sorted(failures, key=lambda f: (f.page is not None, f.page or 0))
        if not sheets and not failures:
            raise StoreError(f"{path}: nothing to record (no sheet read and no failure)")
        pages: set[int] = set()
        for read in sheets:
            _check_sheet(read, f"{path} page {getattr(read, 'page', '?')}")
            if read.page in pages:
                raise StoreError(f"{path} page {read.page}: two reads of the same page")
            pages.add(read.page)
        for f in failures:
            if f.page is not None and (not isinstance(f.page, int) or f.page < 1):
                raise StoreError(f"{path}: failure page must be None or a 1-based integer, got {f.page!r}")
        if page_count is None:
            numbered = pages | {f.page for f in failures if f.page is not None}
            page_count = max(numbered) if numbered else None
        outcome = "read" if sheets else "failed"
        try:
            with self._write():
                self._running(run_id)
                status = self.source_status(sha256)
                if status == "read":
                    self._insert_run_file(run_id, path, sha256, "skipped-already-read")
                    return "skipped-already-read"
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
                    sheets = self._vetted(sheets, vet(list(sheets)), path)
                for read in sheets:
                    sheet_id = self._insert_sheet(run_id, sha256, read)
                    (loaded,) = self._load_sheets("s.id = ?", (sheet_id,))
                    self._append_log(sheet_payload(loaded.read, sha256))
                for f in failures:
                    cur = self._conn.execute(
                        "INSERT INTO page_failures (run_id, source_sha256, path, page, message) VALUES (?, ?, ?, ?, ?)",
                        (run_id, sha256, str(f.source), f.page, str(f.message)))
                    self._append_log(self._failure_payload(int(cur.lastrowid)))
        except sqlite3.Error as exc:
            raise StoreError(f"{path}: could not store its reads: {exc}") from exc
        return outcome

    @staticmethod
    def _vetted(before: list[SheetRead], after: list[SheetRead], path: str) -> list[SheetRead]:
        if [r.page for r in after] != [r.page for r in before]:
            raise StoreError(f"{path}: vetting changed which pages are stored")
        for read in after:
            _check_sheet(read, f"{path} page {read.page}")
        return after

    def record_skip(self, run_id: int, path: str | Path, sha256: str) -> None:
        """Record that this run was given a file whose content is already stored, and skipped it."""
        path = str(path)
        sha256 = _check_sha256(sha256, f"{path}: sha256")
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
            self._append_log(self._failure_payload(int(cur.lastrowid)))

    def _insert_run_file(self, run_id: int, path: str, sha256: str, outcome: str) -> None:
        cur = self._conn.execute("INSERT INTO run_files (run_id, path, sha256, outcome) VALUES (?, ?, ?, ?)",
                                 (run_id, path, sha256, outcome))
        self._append_log(self._file_payload(int(cur.lastrowid)))

    def _file_payload(self, run_file_id: int) -> dict[str, Any] | None:
        row = self._conn.execute(
            "SELECT f.run_id, f.path, f.sha256, f.outcome, s.size FROM run_files f "
            "LEFT JOIN sources s ON s.sha256 = f.sha256 WHERE f.id = ?", (run_file_id,)).fetchone()
        if row is None:
            return None
        return {"kind": "file", "id": run_file_id, "run": row[0], "path": row[1], "sha256": row[2],
                "outcome": row[3], "size": row[4]}

    def _failure_payload(self, failure_id: int) -> dict[str, Any] | None:
        row = self._conn.execute("SELECT run_id, source_sha256, path, page, message FROM page_failures WHERE id = ?",
                                 (failure_id,)).fetchone()
        if row is None:
            return None
        return {"kind": "failure", "id": failure_id, "run": row[0], "source_sha256": row[1], "path": row[2],
                "page": row[3], "message": row[4]}

    def _insert_sheet(self, run_id: int, sha256: str, read: SheetRead) -> int:
        reg = read.registration
        cur = self._conn.execute(
            "INSERT INTO sheets (source_sha256, page, run_id, path, image_sha256, template_id, fingerprint, "
            "template_page, test, serial, status, rotation, fiducials_found, residual_mm, px_per_mm, homography, "
            "metrics, signature) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (sha256, int(read.page), run_id, str(read.source), str(read.image_sha256), read.template_id,
             read.fingerprint, None if read.template_page is None else int(read.template_page),
             int(bool(read.test)), None if read.serial is None else int(read.serial), read.status,
             None if reg is None else int(reg.rotation),
             None if reg is None else int(reg.fiducials_found),
             None if reg is None else float(reg.residual_mm),
             None if reg is None else float(reg.px_per_mm),
             None if reg is None else canonical_json([float(h) for h in reg.homography]),
             canonical_json(read.metrics, "metrics"), bytes(read.signature)))
        sheet_id = int(cur.lastrowid)
        self._conn.executemany(
            "INSERT INTO sheet_reasons (sheet_id, ordinal, code, detail, where_x_mm, where_y_mm, where_w_mm, "
            "where_h_mm) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [(sheet_id, i, r.code, r.detail, *_where_values(r)) for i, r in enumerate(read.reasons)])
        for ordinal, row in enumerate(read.rows):
            key = (sheet_id, row.contest_id, row.row_id)
            self._conn.execute(
                "INSERT INTO rows (sheet_id, contest_id, row_id, ordinal, status, choices) VALUES (?, ?, ?, ?, ?, ?)",
                (*key, ordinal, row.status, canonical_json(list(row.choices))))
            self._conn.executemany(
                "INSERT INTO row_reasons (sheet_id, contest_id, row_id, ordinal, code, detail, where_x_mm, where_y_mm, "
                "where_w_mm, where_h_mm) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [(*key, i, r.code, r.detail, *_where_values(r)) for i, r in enumerate(row.reasons)])
            self._conn.executemany(
                "INSERT INTO marks (sheet_id, contest_id, row_id, option_id, ordinal, score, state, dx_mm, dy_mm) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [(*key, m.option_id, i, float(m.score), m.state, float(m.dx_mm), float(m.dy_mm))
                 for i, m in enumerate(row.marks)])
        return sheet_id

    def _load_sheets(self, where: str = "1", params: Sequence[Any] = ()) -> list[_Loaded]:
        """Sheets matching `where` (over sheets s JOIN sources src), rebuilt as SheetReads, in the
        order of (first path, page)."""
        base = f"FROM sheets s JOIN sources src ON src.sha256 = s.source_sha256 WHERE {where}"
        ids = f"SELECT s.id {base}"
        reasons: dict[int, list[Reason]] = {}
        for sid, *reason in self._conn.execute(
                "SELECT sheet_id, code, detail, where_x_mm, where_y_mm, where_w_mm, where_h_mm FROM sheet_reasons "
                f"WHERE sheet_id IN ({ids}) ORDER BY sheet_id, ordinal", params):
            reasons.setdefault(sid, []).append(_reason(*reason))
        row_reasons: dict[tuple[int, str, str], list[Reason]] = {}
        for sid, cid, rid, *reason in self._conn.execute(
                "SELECT sheet_id, contest_id, row_id, code, detail, where_x_mm, where_y_mm, where_w_mm, where_h_mm "
                f"FROM row_reasons WHERE sheet_id IN ({ids}) ORDER BY sheet_id, contest_id, row_id, ordinal", params):
            row_reasons.setdefault((sid, cid, rid), []).append(_reason(*reason))
        marks: dict[tuple[int, str, str], list[MarkRead]] = {}
        for sid, cid, rid, oid, score, state, dx, dy in self._conn.execute(
                "SELECT sheet_id, contest_id, row_id, option_id, score, state, dx_mm, dy_mm FROM marks "
                f"WHERE sheet_id IN ({ids}) ORDER BY sheet_id, contest_id, row_id, ordinal", params):
            marks.setdefault((sid, cid, rid), []).append(MarkRead(cid, rid, oid, score, state, dx, dy))
        rows: dict[int, list[RowRead]] = {}
        for sid, cid, rid, status, choices in self._conn.execute(
                f"SELECT sheet_id, contest_id, row_id, status, choices FROM rows WHERE sheet_id IN ({ids}) "
                "ORDER BY sheet_id, ordinal", params):
            key = (sid, cid, rid)
            rows.setdefault(sid, []).append(RowRead(cid, rid, status, tuple(row_reasons.get(key, ())),
                                                    tuple(json.loads(choices)), tuple(marks.get(key, ()))))
        out: list[_Loaded] = []
        for (sid, sha, page, run_id, path, first_path, image_sha, template_id, fp, tpage, test, serial, status,
             rotation, fiducials, residual, px_mm, homography, metrics, signature) in self._conn.execute(
                "SELECT s.id, s.source_sha256, s.page, s.run_id, s.path, src.first_path, s.image_sha256, "
                "s.template_id, s.fingerprint, s.template_page, s.test, s.serial, s.status, s.rotation, "
                "s.fiducials_found, s.residual_mm, s.px_per_mm, s.homography, s.metrics, s.signature "
                f"{base} ORDER BY src.first_path, s.page, s.source_sha256", params):
            registration = None
            if rotation is not None:
                registration = Registration(rotation, fiducials, residual, px_mm,
                                            tuple(float(h) for h in json.loads(homography)))
            read = SheetRead(
                source=path, page=page, status=status, reasons=tuple(reasons.get(sid, ())), image_sha256=image_sha,
                template_id=template_id, fingerprint=fp, template_page=tpage, test=bool(test), serial=serial,
                registration=registration, rows=tuple(rows.get(sid, ())), metrics=json.loads(metrics),
                signature=bytes(signature))
            out.append(_Loaded(sid, sha, run_id, first_path, read))
        return out

    def sheet_items(self, run_id: int | None = None) -> list[tuple[int, SheetRead]]:
        """(sheet id, read) pairs, ordered by (first path, page); only those stored by `run_id` if given."""
        loaded = self._load_sheets() if run_id is None else self._load_sheets("s.run_id = ?", (run_id,))
        return [(x.id, x.read) for x in loaded]

    def sheets(self, run_id: int | None = None) -> list[SheetRead]:
        """The reads as stored, ordered by (first path, page); only those stored by `run_id` if given."""
        return [read for _, read in self.sheet_items(run_id)]

    def sheets_of_source(self, sha256: str) -> list[SheetRead]:
        """The reads stored for one file content, by page (what a skipped file had given)."""
        return [x.read for x in self._load_sheets("s.source_sha256 = ?", (_check_sha256(sha256),))]

    def sheet_records(self) -> list[tuple[int, str, int, SheetRead]]:
        """(sheet id, source SHA-256, run id, read) of every stored sheet, ordered by (first path, page):
        the reads keyed by file content and page, as an audit compares them with a re-run."""
        return [(x.id, x.source_sha256, x.run_id, x.read) for x in self._load_sheets()]

    def sources(self) -> list[dict[str, Any]]:
        """Every file content recorded, by SHA-256: size, first_path, first_run_id, page_count, status,
        error, and `files`: each time a run was given it, [{id, run, path, outcome}], oldest first."""
        files: dict[str, list[dict[str, Any]]] = {}
        for fid, run_id, path, sha, outcome in self._conn.execute(
                "SELECT id, run_id, path, sha256, outcome FROM run_files ORDER BY id"):
            files.setdefault(sha, []).append({"id": fid, "run": run_id, "path": path, "outcome": outcome})
        return [{"sha256": sha, "size": size, "first_path": first_path, "first_run_id": first_run,
                 "page_count": pages, "status": status, "error": error, "files": files.get(sha, [])}
                for sha, size, first_path, first_run, pages, status, error in self._conn.execute(
                    "SELECT sha256, size, first_path, first_run_id, page_count, status, error FROM sources "
                    "ORDER BY first_path, sha256")]

    def sheet(self, sheet_id: int) -> SheetRead:
        loaded = self._load_sheets("s.id = ?", (sheet_id,))
        if not loaded:
            raise StoreError(f"sheet {sheet_id} does not exist")
        return loaded[0].read

    def signatures(self, after_id: int = 0) -> list[tuple[int, str, int, str | None, int | None, bytes]]:
        """(sheet id, path, page, fingerprint, template page, signature) of every stored sheet that
        has a signature (sheets never registered have none), across all runs and processes;
        ``after_id``: only those stored after that sheet (ids grow as sheets are stored)."""
        return [(sid, path, page, fp, tpage, bytes(sig)) for sid, path, page, fp, tpage, sig in self._conn.execute(
            "SELECT s.id, s.path, s.page, s.fingerprint, s.template_page, s.signature FROM sheets s "
            "JOIN sources src ON src.sha256 = s.source_sha256 WHERE length(s.signature) > 0 AND s.id > ? "
            "ORDER BY src.first_path, s.page, s.source_sha256", (int(after_id),))]

    def failures(self, run_id: int | None = None) -> list[tuple[str, int | None, str]]:
        """(path as given, page or None for the whole file, message). With `run_id`: what that run
        failed to read. Without: the failures that still stand, i.e. those of the last run that
        recorded each file (a file that failed once and was read later is no longer listed)."""
        if run_id is not None:
            where, params = "f.run_id = ?", (run_id,)
        else:  # the last run that recorded that content (or, never opened, that named that path)
            where, params = (
                "f.run_id = CASE WHEN f.source_sha256 IS NOT NULL THEN (SELECT max(rf.run_id) FROM run_files rf "
                "WHERE rf.sha256 = f.source_sha256 AND rf.outcome IN ('read', 'failed')) ELSE (SELECT max(r) FROM "
                "(SELECT g.run_id AS r FROM page_failures g WHERE g.source_sha256 IS NULL AND g.path = f.path "
                "UNION ALL SELECT rf.run_id FROM run_files rf WHERE rf.path = f.path)) END"), ()
        return [(path, page, message) for path, page, message in self._conn.execute(
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
        reviewer = (reviewer or "").strip()
        if not reviewer:
            raise StoreError("a decision needs the reviewer's name")
        reason, note = (reason or "").strip(), (note or "").strip()
        if scope not in DECISION_SCOPES:
            raise StoreError(f"decision scope must be 'row' or 'sheet', not {scope!r}")
        if isinstance(choices, str):
            raise StoreError(f"choices must be a list of option ids, not the text {choices!r}")
        with self._write():
            loaded = self._load_sheets("s.id = ?", (sheet_id,))
            if not loaded:
                raise StoreError(f"sheet {sheet_id} does not exist")
            read = loaded[0].read
            where = f"sheet {sheet_id} ({read.source} page {read.page})"
            if scope == "row":
                if action not in ROW_ACTIONS:
                    raise StoreError(f"{where}: a row decision is one of {', '.join(ROW_ACTIONS)}, not {action!r}")
                row = next((r for r in read.rows if (r.contest_id, r.row_id) == (contest_id, row_id)), None)
                if row is None:
                    raise StoreError(f"{where}: there is no row {contest_id}/{row_id} on this sheet")
                where = f"{where}, row {contest_id}/{row_id}"
                machine = _row_json(row)
                if action == "accept":
                    if choices is not None and tuple(choices) != row.choices:
                        raise StoreError(f"{where}: 'accept' keeps the machine's choices {list(row.choices)}; "
                                         "use 'set' to change them")
                    chosen = tuple(row.choices)
                elif action == "set":
                    if choices is None:
                        raise StoreError(f"{where}: 'set' needs the choices")
                    chosen = tuple(choices)
                    options = [m.option_id for m in row.marks]
                    unknown = [c for c in chosen if c not in options]
                    if options and unknown:
                        raise StoreError(f"{where}: no option {', '.join(map(str, unknown))} in this row "
                                         f"(options: {', '.join(options)})")
                    if len(set(chosen)) != len(chosen):
                        raise StoreError(f"{where}: an option is chosen twice")
                else:
                    if choices:
                        raise StoreError(f"{where}: an invalid row has no choices")
                    if not reason:
                        raise StoreError(f"{where}: declaring a row invalid needs a reason")
                    chosen = ()
            else:
                if contest_id is not None or row_id is not None:
                    raise StoreError(f"{where}: a sheet decision names no contest or row")
                if action not in SHEET_ACTIONS:
                    raise StoreError(f"{where}: a sheet decision is one of {', '.join(SHEET_ACTIONS)}, not {action!r}")
                if choices:
                    raise StoreError(f"{where}: a sheet decision has no choices")
                if action == "reject-sheet" and not reason:
                    raise StoreError(f"{where}: rejecting a sheet needs a reason")
                machine = {"status": read.status, "reasons": [_reason_json(r) for r in read.reasons]}
                chosen = ()
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
            self._append_log(self._decision_payload(decision_id))
        return decision_id

    _DECISION_COLUMNS = ("id, sheet_id, scope, contest_id, row_id, action, choices, reason, reviewer, note, "
                         "created_at, machine, supersedes")

    @staticmethod
    def _decision(row: Sequence[Any]) -> Decision:
        (did, sid, scope, cid, rid, action, choices, reason, reviewer, note, created, machine, supersedes) = row
        return Decision(did, sid, scope, cid, rid, action, tuple(json.loads(choices)), reason, reviewer, note,
                        created, json.loads(machine), supersedes)

    def decisions(self, sheet_id: int | None = None) -> list[Decision]:
        """The whole history, oldest first (of one sheet if given)."""
        where, params = ("WHERE sheet_id = ?", (sheet_id,)) if sheet_id is not None else ("", ())
        return [self._decision(r) for r in self._conn.execute(
            f"SELECT {self._DECISION_COLUMNS} FROM decisions {where} ORDER BY id", params)]

    def latest_decisions(self, sheet_id: int | None = None) -> dict[tuple[int, str | None, str | None], Decision]:
        """The decision in force for each row and sheet that has one, keyed by (sheet id, contest id,
        row id); a sheet-level decision has the key (sheet id, None, None)."""
        where, params = ("AND d.sheet_id = ?", (sheet_id,)) if sheet_id is not None else ("", ())
        rows = self._conn.execute(
            f"SELECT {self._DECISION_COLUMNS} FROM decisions d WHERE d.id = (SELECT max(e.id) FROM decisions e "
            "WHERE e.sheet_id = d.sheet_id AND e.scope = d.scope AND e.contest_id IS d.contest_id "
            f"AND e.row_id IS d.row_id) {where} ORDER BY d.sheet_id, d.id", params).fetchall()
        return {(d.sheet_id, d.contest_id, d.row_id): d for d in map(self._decision, rows)}

    def _decision_payload(self, decision_id: int) -> dict[str, Any] | None:
        row = self._conn.execute(f"SELECT {self._DECISION_COLUMNS} FROM decisions WHERE id = ?",
                                 (decision_id,)).fetchone()
        if row is None:
            return None
        d = self._decision(row)
        sheet = self._conn.execute("SELECT source_sha256, page FROM sheets WHERE id = ?", (d.sheet_id,)).fetchone()
        return {"kind": "decision", "id": d.id, "sheet": None if sheet is None else
                {"source_sha256": sheet[0], "page": sheet[1]},
                "scope": d.scope, "contest_id": d.contest_id, "row_id": d.row_id, "action": d.action,
                "choices": list(d.choices), "reason": d.reason, "reviewer": d.reviewer, "note": d.note,
                "created_at": d.created_at, "machine": d.machine, "supersedes": d.supersedes}

    # ---- the log

    def log_head(self) -> tuple[int, str] | None:
        """(id, hash) of the last log entry: print it in the minutes to anchor the chain."""
        row = self._conn.execute("SELECT id, hash FROM log ORDER BY id DESC LIMIT 1").fetchone()
        return None if row is None else (row[0], row[1])

    def log_hashes(self, prefix: str) -> list[tuple[int, str]]:
        """(id, hash) of the log entries whose hash starts with `prefix` (lower-case hex digits)."""
        if not re.fullmatch(r"[0-9a-f]{1,64}", prefix):
            raise StoreError(f"a log hash is hexadecimal digits, not {prefix[:70]!r}")
        return [(i, h) for i, h in self._conn.execute("SELECT id, hash FROM log WHERE substr(hash, 1, ?) = ? "
                                                      "ORDER BY id", (len(prefix), prefix))]

    def log_problems(self, head: str | None = None) -> list[tuple[int | None, str]]:
        """Every way the database departs from its log, as (log entry id or None, message), by id.
        `head`: a hash published earlier (log_head), which the chain must still contain."""
        problems: list[tuple[int | None, str]] = []
        entries = self._conn.execute("SELECT id, kind, payload, prev_hash, hash FROM log ORDER BY id").fetchall()
        prev_hash, expected_id = GENESIS_HASH, 1
        parsed: list[tuple[int, dict[str, Any], str]] = []
        hashes: set[str] = set()
        for eid, kind, payload, prev, digest in entries:
            if eid > expected_id:
                gap = f"entry {expected_id}" if eid == expected_id + 1 else f"entries {expected_id} to {eid - 1}"
                problems.append((expected_id, f"log {gap} removed"))
            expected_id = eid + 1
            if prev != prev_hash:
                problems.append((eid, f"log entry {eid} does not follow the entry before it (its prev_hash differs): "
                                      "an entry was removed, inserted, reordered or rewritten"))
            if chain_hash(prev, payload) != digest:
                problems.append((eid, f"log entry {eid} ({kind}) was edited: its hash does not match its payload"))
            prev_hash = digest
            hashes.add(digest)
            try:
                obj = json.loads(payload)
                canonical = _dumps(obj)
            except ValueError:
                problems.append((eid, f"log entry {eid} ({kind}) has a payload that is not canonical JSON"))
                continue
            if canonical != payload or not isinstance(obj, dict) or obj.get("kind") != kind:
                problems.append((eid, f"log entry {eid} ({kind}) has a payload that is not canonical or not a {kind}"))
                continue
            parsed.append((eid, obj, payload))
        seq = self._conn.execute("SELECT seq FROM sqlite_sequence WHERE name = 'log'").fetchone()
        last = entries[-1][0] if entries else 0
        if seq is not None and seq[0] > last:
            gap = f"entry {last + 1}" if seq[0] == last + 1 else f"entries {last + 1} to {seq[0]}"
            problems.append((last + 1, f"log {gap} removed from the end of the log"))
        if head is not None and head not in hashes:
            problems.append((None, f"the published log head {head[:16]}… is no longer in the log"))
        problems.extend(self._content_problems(parsed))
        for table, rowid, parent, _fk in self._conn.execute("PRAGMA foreign_key_check").fetchall():
            problems.append((None, f"{table} row {rowid} refers to a missing {parent} row"))
        return sorted(problems, key=lambda p: (p[0] is None, p[0] or 0))

    def _content_problems(self, parsed: list[tuple[int, dict[str, Any], str]]) -> list[tuple[int | None, str]]:
        """Each entry's payload against what the tables hold now, and table rows no entry describes."""
        problems: list[tuple[int | None, str]] = []
        sheets = {(x.source_sha256, x.read.page): x for x in self._load_sheets()}
        covered: dict[tuple[str, Any], int] = {}

        def describe(obj: dict[str, Any]) -> tuple[tuple[str, Any], str, dict[str, Any] | None]:
            kind = obj["kind"]
            if kind == "sheet":
                key = (obj.get("source_sha256"), obj.get("page"))
                x = sheets.get(key)
                name = f"sheet {x.read.source if x else str(key[0])[:12] + '…'} page {key[1]}"
                return ("sheet", key), name, None if x is None else sheet_payload(x.read, x.source_sha256)
            if kind in ("run-start", "run-end"):
                run_id = obj.get("run")
                stored = self._run_start_payload(run_id) if kind == "run-start" else self._run_end_payload(run_id)
                return (kind, run_id), f"{kind} of run {run_id}", stored
            did = obj.get("id")
            if kind == "file":
                return ("file", did), f"file record {did} ({obj.get('path')})", self._file_payload(did)
            if kind == "failure":
                return ("failure", did), f"failure {did} ({obj.get('path')} page {obj.get('page')})", \
                    self._failure_payload(did)
            return ("decision", did), f"decision {did} by {obj.get('reviewer')}", self._decision_payload(did)

        for eid, obj, text in parsed:
            key, name, stored = describe(obj)
            if key in covered:
                problems.append((eid, f"log entry {eid} ({name}) repeats entry {covered[key]}"))
                continue
            covered[key] = eid
            if stored is None:
                problems.append((eid, f"log entry {eid} ({name}): no longer in the database (deleted)"))
                continue
            if _dumps(stored) != text:
                diff = _first_difference(obj, stored) or "the stored values differ"
                problems.append((eid, f"log entry {eid} ({name}): the database was edited: {diff}"))

        def uncovered(kind: str, keys: Sequence[Any], label: Callable[[Any], str]) -> None:
            for k in keys:
                if (kind, k) not in covered:
                    problems.append((None, f"{label(k)} is in the database but not in the log "
                                           "(added behind the tool's back)"))

        run_rows = self._conn.execute("SELECT id, status FROM runs ORDER BY id").fetchall()
        uncovered("run-start", [r for r, _ in run_rows], lambda r: f"run {r}")
        uncovered("run-end", [r for r, s in run_rows if s != "running"], lambda r: f"the end of run {r}")
        uncovered("sheet", list(sheets), lambda k: f"sheet {sheets[k].read.source} page {k[1]}")
        for kind, table, label in (("file", "run_files", "file record"), ("failure", "page_failures", "failure"),
                                   ("decision", "decisions", "decision")):
            ids = [r for (r,) in self._conn.execute(f"SELECT id FROM {table} ORDER BY id")]
            uncovered(kind, ids, lambda r, label=label: f"{label} {r}")
        for sid, run_id, sha, page in self._conn.execute(
                "SELECT s.id, s.run_id, s.source_sha256, s.page FROM sheets s WHERE NOT EXISTS (SELECT 1 "
                "FROM run_files rf WHERE rf.run_id = s.run_id AND rf.sha256 = s.source_sha256 AND rf.outcome = 'read') "
                "ORDER BY s.id"):
            problems.append((None, f"sheet {sid} ({sha[:12]}… page {page}) claims run {run_id}, which did not read it"))
        for sha, first_path, first_run, path, run_id in self._conn.execute(
                "SELECT src.sha256, src.first_path, src.first_run_id, rf.path, rf.run_id FROM sources src "
                "LEFT JOIN run_files rf ON rf.id = (SELECT min(id) FROM run_files WHERE sha256 = src.sha256) "
                "ORDER BY src.sha256"):
            if (first_path, first_run) != (path, run_id):
                problems.append((None, f"source {sha[:12]}… says it was first given as {first_path} in run "
                                       f"{first_run}, but the first record of it is {path} in run {run_id}"))
        for sha, status, n in self._conn.execute(
                "SELECT src.sha256, src.status, (SELECT count(*) FROM sheets s WHERE s.source_sha256 = src.sha256) "
                "FROM sources src ORDER BY src.sha256"):
            if (status == "read") != (n > 0):
                problems.append((None, f"source {sha[:12]}… is marked {status} but has {n} sheet(s) stored"))
        return problems

    def verify_log(self, head: str | None = None) -> tuple[bool, int | None, str]:
        """Recompute the hash chain and check every entry against the tables: (ok, id of the first
        broken entry or None, message). None with ok False: something is in the tables that no
        entry describes. `head`: a log head hash published earlier, which must still be there."""
        problems = self.log_problems(head)
        if not problems:
            head_row = self.log_head()
            if head_row is None:
                return True, None, "log intact: empty"
            return True, None, f"log intact: {head_row[0]} entries, head {head_row[1]}"
        first_id, message = problems[0]
        if len(problems) > 1:
            message += f" (and {len(problems) - 1} more problem(s))"
        return False, first_id, message


def _split_sql(script: str) -> list[str]:
    """Statements of a script (triggers contain ';' inside BEGIN ... END)."""
    statements, current = [], ""
    for line in script.splitlines(keepends=True):
        current += line
        if sqlite3.complete_statement(current):
            if current.strip():
                statements.append(current.strip())
            current = ""
    if current.strip():
        statements.append(current.strip())
    return statements
