"""`omr verify`: is the results database still what its hash-chained log says? Works on a snapshot,
so the audited file is opened read-only and never written."""

from __future__ import annotations

import contextlib
import re
import sqlite3
import tempfile
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from omr.audit.findings import AuditError
from omr.store.database import Store, StoreError
from omr.store.records import LogHead, LogProblem

# --------------------------------------------------------------------------------------------------
# The runner


def utc_now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def snapshot_database(db: str | Path, into: Path) -> Path:
    """A private copy of the results database (the SQLite backup of a read-only connection): the
    audited file is never written and nothing is created next to it. With no write-ahead log beside
    it, all of its content is in the file, read as immutable; otherwise the log is read as well."""
    db = Path(db)
    if not db.exists():
        raise AuditError(f"{db}: no such results database")
    if db.is_dir():
        raise AuditError(f"{db} is a folder, not a results database")
    wal = db.with_name(db.name + "-wal")
    query = "mode=ro" if wal.exists() and wal.stat().st_size > 0 else "immutable=1"
    copy = into / "audited.sqlite"
    try:
        src = sqlite3.connect(f"{db.resolve().as_uri()}?{query}", uri=True)
        try:
            with contextlib.closing(sqlite3.connect(copy)) as dst:
                src.backup(dst)
        finally:
            src.close()
    except sqlite3.DatabaseError as exc:
        raise AuditError(f"{db}: cannot read the database: {exc}") from None
    return copy


def open_snapshot(db: str | Path, into: Path) -> Store:
    try:
        return Store(snapshot_database(db, into), create=False)
    except StoreError as exc:
        raise AuditError(str(exc).replace(str(into / "audited.sqlite"), str(db))) from None


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    first_entry: int | None
    problems: list[LogProblem]
    head: LogHead | None

    def lines(self, db: str) -> list[str]:
        if self.ok:
            if self.head is None:
                return [f"{db}: log intact: empty (nothing recorded yet)"]
            return [f"{db}: log intact: {self.head.id} entries, every run, read and decision matches its entry",
                    f"log head (print it in the minutes; `omr verify --head` checks it later): {self.head.hash}"]
        first = f"first broken entry: log entry {self.first_entry}" if self.first_entry is not None else "first problem"
        if len(self.problems) == 1 and self.problems[0].message.startswith("the published log head"):
            return [f"{db}: NOT VERIFIED: the log head given is not in this database's log: the log was rewritten "
                    "after the minutes were printed, or this is not the database they were printed from",
                    f"{first}: {self.problems[0].message}"]
        lines = [f"{db}: BROKEN: the database was changed behind the tool's back",
                 f"{first}: {self.problems[0].message}"]
        if len(self.problems) > 1:
            lines.append(f"{len(self.problems)} problem(s) in all:")
            lines += [f"  - {p.message}" for p in self.problems[:50]]
            if len(self.problems) > 50:
                lines.append(f"  ... and {len(self.problems) - 50} more")
        return lines


# Columns the tool only ever writes as JSON: an edit that breaks one stops the tables being read back
_JSON_COLUMNS = {"runs": ("environment", "options", "templates", "calibration", "summary"),
                 "sheets": ("homography", "metrics"), "rows": ("choices",), "decisions": ("choices", "machine")}


def _unreadable(path: Path) -> list[LogProblem]:
    """Rows whose JSON columns no longer parse, named (when the log check cannot even load them)."""
    out: list[LogProblem] = []
    with contextlib.closing(sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)) as con:
        for table, columns in _JSON_COLUMNS.items():
            key = "sheet_id, contest_id, row_id" if table == "rows" else "id"
            for column in columns:
                for *ident, value in con.execute(f"SELECT {key}, {column} FROM {table} "
                                                 f"WHERE {column} IS NOT NULL AND NOT json_valid({column})"):
                    out.append(LogProblem(None, f"{table} row {'/'.join(map(str, ident))}: {column} is not "
                                                f"what the tool writes ({str(value)[:40]!r}): edited behind the "
                                                "tool's back"))
    return out


def log_problems(store: Store, head: str | None = None) -> list[LogProblem]:
    """Store.log_problems, and a named problem instead of a crash when the tables cannot be read back."""
    try:
        return store.log_problems(head)
    except (ValueError, TypeError, KeyError, sqlite3.Error) as exc:
        return _unreadable(store.path) or [LogProblem(None, f"the database cannot be read back "
                                                            f"({type(exc).__name__}: {exc}): it was edited behind "
                                                            "the tool's back")]


HEAD_MIN_DIGITS = 8


def parse_head(text: str) -> str:
    """A log head as a person types it from the minutes: hex digits, spaces and case ignored (the
    minutes print it in groups of 8). Anything else is not a head: an AuditError, never a finding."""
    digits = "".join(text.split()).lower()
    if not re.fullmatch(r"[0-9a-f]+", digits):
        raise AuditError(f"--head {text[:80]!r} is not a log head: a log head is the hexadecimal digits "
                         "(0-9, a-f) printed in the minutes, e.g. 2fbacfea a8bcf3ec …")
    if len(digits) > 64:
        raise AuditError(f"--head has {len(digits)} digits: a log head has 64 (or give its first digits)")
    if len(digits) < HEAD_MIN_DIGITS:
        raise AuditError(f"--head {digits!r} is too short: give at least {HEAD_MIN_DIGITS} of its digits "
                         "(the minutes' footer prints 16)")
    return digits


def _full_head(store: Store, digits: str) -> str:
    """The full hash a prefix names; refused when it names several entries (ambiguous). A prefix
    that names none is kept as given: `log_problems` reports it as no longer in the log."""
    if len(digits) == 64:
        return digits
    found = store.log_hashes(digits)
    if len(found) > 1:
        raise AuditError(f"--head {digits} names {len(found)} log entries ({', '.join(str(i) for i, _ in found[:5])}"
                         "): give more of its digits")
    return found[0][1] if found else digits


def verify_database(db: str | Path, head: str | None = None) -> VerifyResult:
    """Recompute the hash chain of a results database (on a private copy) and check every entry
    against the tables; `head`: a log head hash published earlier (whole, or an unambiguous prefix of
    at least 8 digits; spaces ignored), which must still be there."""
    digits = None if head is None else parse_head(head)
    with tempfile.TemporaryDirectory(prefix="omr-verify-") as tmp, contextlib.closing(
            open_snapshot(db, Path(tmp))) as store:
        problems = log_problems(store, None if digits is None else _full_head(store, digits))
        return VerifyResult(not problems, problems[0].entry_id if problems else None, problems, store.log_head())
