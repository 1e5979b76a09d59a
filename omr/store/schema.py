"""The layout of the results database file: the tables, their constraints and triggers, the schema
version and its upgrades, and the header check that refuses a file that is not ours (or is newer).

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
- ``stations``, ``station_log``, ``origins`` (version 2; filled only by ``omr merge``): each station
  database merged into this one (its name, file hash and log head), its log entries as they were,
  and the station run or decision each merged run or decision came from.

Reads, failures, decisions and the log are never updated or deleted: triggers refuse it.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from omr import __version__
from omr.read.results import BLANK, INVALID, MARGINAL, MARKED, REVIEW, SHEET_OK, SHEET_REJECTED, SHEET_REVIEW, VALID
from omr.store.records import StoreError

SCHEMA_VERSION = 2
APPLICATION_ID = 0x424F4D52  # "BOMR" in the SQLite header: marks the file as ours

RUN_STATUSES = ("running", "finished", "interrupted")
SOURCE_STATUSES = ("read", "failed")
FILE_OUTCOMES = ("read", "skipped-already-read", "failed")
LOG_KINDS = ("run-start", "run-end", "file", "sheet", "failure", "decision")
DECISION_SCOPES = ("row", "sheet")
ROW_ACTIONS = ("accept", "set", "invalid")
SHEET_ACTIONS = ("accept", "reject-sheet")

SHEET_STATUSES = (SHEET_OK, SHEET_REVIEW, SHEET_REJECTED)
ROW_STATUSES = (VALID, INVALID, REVIEW)
MARK_STATES = (MARKED, MARGINAL, BLANK)

_IMMUTABLE_TABLES = ("log", "decisions", "sheets", "sheet_reasons", "rows", "row_reasons", "marks",
                     "page_failures", "run_files")
_STATION_TABLES = ("stations", "station_log", "origins")
ORIGIN_KINDS = ("run", "decision")

# Merged station databases (omr merge): append-only like the reads
STATIONS = f"""
CREATE TABLE stations (
    id INTEGER PRIMARY KEY AUTOINCREMENT,   -- one row per merge of a station that brought something new
    name TEXT NOT NULL CHECK (length(trim(name)) > 0),
    station_key TEXT NOT NULL,          -- hash of the station's first log entry: the same station whatever its name
    database_sha256 TEXT NOT NULL,      -- of the station's file as merged
    log_head TEXT NOT NULL UNIQUE,      -- the station's last log entry then
    log_entries INTEGER NOT NULL CHECK (log_entries >= 1),
    merged_at TEXT NOT NULL
);
CREATE TABLE station_log (              -- the station's log entries, as they were (its chain is checked again)
    station_key TEXT NOT NULL,
    id INTEGER NOT NULL,
    created_at TEXT NOT NULL,
    kind TEXT NOT NULL,
    payload TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL,
    PRIMARY KEY (station_key, id)
);
CREATE TABLE origins (                  -- where a merged run or decision came from
    kind TEXT NOT NULL CHECK (kind IN {ORIGIN_KINDS}),
    row_id INTEGER NOT NULL,            -- runs.id or decisions.id here
    station_id INTEGER NOT NULL REFERENCES stations(id),
    station_row_id INTEGER NOT NULL,    -- its id in the station's database
    PRIMARY KEY (kind, row_id)
);
""" + "".join(
    f"CREATE TRIGGER {t}_no_update BEFORE UPDATE ON {t} BEGIN SELECT RAISE(ABORT, '{t} is append-only'); END;\n"
    f"CREATE TRIGGER {t}_no_delete BEFORE DELETE ON {t} BEGIN SELECT RAISE(ABORT, '{t} is append-only'); END;\n"
    for t in _STATION_TABLES
)

_WHERE_COLUMNS = """where_x_mm REAL,                     -- Reason.where: the area to zoom on, page mm
    where_y_mm REAL,
    where_w_mm REAL,
    where_h_mm REAL,
    CHECK ((where_x_mm IS NULL) = (where_y_mm IS NULL) AND (where_x_mm IS NULL) = (where_w_mm IS NULL)
           AND (where_x_mm IS NULL) = (where_h_mm IS NULL))"""

SCHEMA = f"""
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
    status TEXT NOT NULL CHECK (status IN {SHEET_STATUSES}),
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
    status TEXT NOT NULL CHECK (status IN {ROW_STATUSES}),
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
    state TEXT NOT NULL CHECK (state IN {MARK_STATES}),
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
) + STATIONS

# Upgrades from older schema versions: {from_version: SQL}
MIGRATIONS: dict[int, str] = {1: STATIONS}


def header(conn: sqlite3.Connection, path: Path) -> tuple[int, int, int]:
    """(application id, schema version, number of schema objects) of an open file."""
    try:
        app_id = conn.execute("PRAGMA application_id").fetchone()[0]
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        tables = conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
    except sqlite3.DatabaseError as exc:
        raise StoreError(f"{path} is not a Ballot OMR results database (not an SQLite file: {exc})") from exc
    return app_id, version, tables


def needs_creating(path: Path, app_id: int, version: int, tables: int) -> bool:
    """True when the schema must be created (an empty file); refuses a file that is not ours, is
    newer than this tool, or has no upgrade path."""
    if app_id == 0 and version == 0 and tables == 0:
        return True
    if app_id != APPLICATION_ID:
        raise StoreError(f"{path} is an SQLite database, but not a Ballot OMR results database "
                         f"(application id {app_id:#x}, {tables} schema object(s))")
    if version > SCHEMA_VERSION:
        raise StoreError(f"{path} was written by a newer Ballot OMR (database schema version {version}; "
                         f"this tool, {__version__}, knows versions up to {SCHEMA_VERSION}): upgrade the tool")
    if version < 1 or (version < SCHEMA_VERSION and any(v not in MIGRATIONS
                                                        for v in range(version, SCHEMA_VERSION))):
        raise StoreError(f"{path}: database schema version {version} cannot be opened by this tool "
                         f"(version {SCHEMA_VERSION}) and there is no upgrade from it")
    return False


def create_or_upgrade(conn: sqlite3.Connection, path: Path) -> None:
    """Create the schema in an empty file or upgrade an older one; call inside a write transaction
    (the header is read again under the lock: another process may have just created it)."""
    app_id, version, tables = header(conn, path)
    if needs_creating(path, app_id, version, tables):
        for statement in split_sql(SCHEMA):
            conn.execute(statement)
        conn.execute(f"PRAGMA application_id={APPLICATION_ID}")
        conn.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
        return
    for v in range(version, SCHEMA_VERSION):
        for statement in split_sql(MIGRATIONS[v]):
            conn.execute(statement)
        conn.execute(f"PRAGMA user_version={v + 1}")


def split_sql(script: str) -> list[str]:
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
