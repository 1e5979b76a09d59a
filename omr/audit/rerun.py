"""The audit: re-run recognition on the archived scans and prove the count, or name every difference.

Two halves:

- **Pure comparisons** on typed reads (no file, database or process): :func:`match_files` pairs
  archived files with the files the database recorded (same SHA-256; an altered file is the one at
  the same path with other bytes), :func:`compare_sheet` / :func:`compare_reads` list how two reads
  of the same pages differ, box by box, :func:`compare_totals` compares two tallies, and
  :func:`compare_environment` / :func:`compare_profiles` say which recorded settings differ.
- **A thin runner** (:func:`run_audit`): takes a snapshot of the results database (the audited
  file is opened read-only and never written), re-reads every archived file with the templates,
  calibration thresholds and options each original run recorded, into a temporary database, in the
  order the original runs read them (a sheet scanned twice is flagged on its second scan: order
  matters), and compares. ``omr verify`` (:func:`verify_database`) wraps ``Store.log_problems``.

A difference is one of :data:`KINDS`; a vote becoming a non-vote (or the reverse) is an error, a
change to or from "marginal" is listed apart, and a score that moved without changing its state is
listed as minor. Any difference at all makes the audit fail (exit code 1): reads are deterministic,
so an honest archive re-read on any computer gives bit-identical reads.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import sqlite3
import sys
import tempfile
from collections import Counter
from collections.abc import Callable, Container, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from omr.audit.digest import reads_digest
from omr.read.results import BLANK, MARKED, SheetRead
from omr.scan.ingest import file_sha256
from omr.store.database import Store
from omr.store.environment import environment_info
from omr.store.records import (
    Decision,
    LogHead,
    LogProblem,
    PageFailure,
    RunFile,
    RunRecord,
    SourceRecord,
    StoredSheet,
    StoreError,
)

ERROR, MARGINAL_CHANGE, MINOR = "error", "marginal", "minor"

# kind -> severity; the order is the order of the report
KINDS: dict[str, str] = {
    "integrity": ERROR,  # the database departs from its hash-chained log
    "archive-input": ERROR,  # an ARCHIVE path that does not exist or cannot be listed
    "file-missing": ERROR,  # read into the database, not in the archive
    "file-altered": ERROR,  # in the archive at a recorded path, with other bytes
    "file-extra": ERROR,  # in the archive, never recorded
    "sheet-missing": ERROR,  # in the database, not read again
    "sheet-extra": ERROR,  # read again, not in the database
    "sheet-identity": ERROR,  # template, template page, test flag or serial changed
    "sheet-status": ERROR,  # ok / review / rejected changed
    "row-missing": ERROR,
    "row-extra": ERROR,
    "row-status": ERROR,  # valid / invalid / review changed
    "row-choices": ERROR,  # the options read as marked changed
    "box-missing": ERROR,
    "box-extra": ERROR,
    "vote-flip": ERROR,  # marked <-> blank
    "total": ERROR,  # a count of the results changed
    "marginal": MARGINAL_CHANGE,  # a box state changed to or from marginal
    "sheet-reasons": MINOR,  # reason codes changed, the status did not
    "row-reasons": MINOR,
    "score": MINOR,  # a box score moved, its state did not
    "numbers": MINOR,  # decoded image, registration, measures, metrics or ink signature changed
}


class AuditError(Exception):
    """The audit cannot be carried out (no database, a template missing, ...), worded for the auditor."""


@dataclass(frozen=True)
class Difference:
    kind: str  # one of KINDS
    file: str | None = None  # the archived path (or the recorded one when the file is missing)
    page: int | None = None
    item: str | None = None  # "contest / row / option", "contest / row" or a setting
    before: str | None = None  # what the database holds
    after: str | None = None  # what the re-run says
    detail: str = ""

    @property
    def severity(self) -> str:
        return KINDS[self.kind]

    @property
    def where(self) -> str:
        parts = [self.file or ""]
        if self.page is not None:
            parts.append(f"page {self.page}")
        text = " ".join(p for p in parts if p)
        if self.item:
            text = f"{text}, {self.item}" if text else self.item
        return text

    def __str__(self) -> str:
        change = ""
        if self.before is not None or self.after is not None:
            change = f": {self.before if self.before is not None else '—'} -> " \
                     f"{self.after if self.after is not None else '—'}"
        detail = f" ({self.detail})" if self.detail else ""
        return f"{self.kind} {self.where}{change}{detail}"

    def to_json(self) -> dict[str, Any]:
        return {"severity": self.severity, **asdict(self), "where": self.where}


@dataclass(frozen=True)
class Note:
    """A warning that is not a difference of the results: a setting that differs on this computer."""

    topic: str  # environment | calibration | templates | record | archive | totals
    message: str

    def __str__(self) -> str:
        return f"{self.topic}: {self.message}"


# --------------------------------------------------------------------------------------------------
# Pure comparisons


def _state_text(score: float, state: str) -> str:
    return f"{state} ({score:.4f})"


def _codes(reasons: Sequence[Any]) -> Counter[str]:
    return Counter(r.code for r in reasons)


def _codes_change(before: Counter[str], after: Counter[str]) -> str:
    gone = sorted((before - after).elements())
    new = sorted((after - before).elements())
    return "; ".join(([f"no longer {', '.join(gone)}"] if gone else []) + ([f"now {', '.join(new)}"] if new else []))


def _codes_text(reasons: Sequence[Any]) -> str:
    return ", ".join(r.code for r in reasons) or "no reason"


def compare_sheet(before: SheetRead, after: SheetRead, file: str | None = None, page: int | None = None,
                  decided: Container[tuple[str, str]] = ()) -> list[Difference]:
    """How the re-read of one page differs from its stored read; [] when they are equal. Paths and
    the wording of reasons are not compared (they name places on the computer that read them).
    `decided`: (contest id, row id) of rows a human decision covers, noted on their differences."""
    page = before.page if page is None else page
    out: list[Difference] = []

    def diff(kind: str, item: str | None, b: Any, a: Any, detail: str = "") -> None:
        out.append(Difference(kind, file, page, item, None if b is None else str(b), None if a is None else str(a),
                              detail))

    for name in ("template_id", "fingerprint", "template_page", "test", "serial"):
        b, a = getattr(before, name), getattr(after, name)
        if b != a:
            diff("sheet-identity", name, b, a)
    if before.status != after.status:
        diff("sheet-status", None, before.status, after.status,
             f"reasons before: {_codes_text(before.reasons)}; after: {_codes_text(after.reasons)}"
             if _codes(before.reasons) != _codes(after.reasons) else "the same sheet reasons: a row changed")
    elif _codes(before.reasons) != _codes(after.reasons):
        diff("sheet-reasons", None, _codes_text(before.reasons), _codes_text(after.reasons),
             _codes_change(_codes(before.reasons), _codes(after.reasons)))
    rows_b = {(r.contest_id, r.row_id): r for r in before.rows}
    rows_a = {(r.contest_id, r.row_id): r for r in after.rows}
    numbers: list[str] = []
    for key in list(rows_b) + [k for k in rows_a if k not in rows_b]:
        rb, ra = rows_b.get(key), rows_a.get(key)
        item = " / ".join(key)
        note = "a human decision covers this row" if key in decided else ""
        if ra is None or rb is None:
            diff("row-missing" if ra is None else "row-extra", item, None if rb is None else rb.status,
                 None if ra is None else ra.status, note)
            continue
        if rb.status != ra.status:
            diff("row-status", item, rb.status, ra.status, "; ".join(x for x in (
                f"reasons before: {_codes_text(rb.reasons)}; after: {_codes_text(ra.reasons)}", note) if x))
        elif _codes(rb.reasons) != _codes(ra.reasons):
            diff("row-reasons", item, _codes_text(rb.reasons), _codes_text(ra.reasons),
                 _codes_change(_codes(rb.reasons), _codes(ra.reasons)))
        if tuple(rb.choices) != tuple(ra.choices):
            diff("row-choices", item, ", ".join(rb.choices) or "none", ", ".join(ra.choices) or "none", note)
        marks_b = {m.option_id: m for m in rb.marks}
        marks_a = {m.option_id: m for m in ra.marks}
        for option in list(marks_b) + [o for o in marks_a if o not in marks_b]:
            mb, ma = marks_b.get(option), marks_a.get(option)
            box = f"{item} / {option}"
            if mb is None or ma is None:
                diff("box-missing" if ma is None else "box-extra", box,
                     None if mb is None else _state_text(mb.score, mb.state),
                     None if ma is None else _state_text(ma.score, ma.state), note)
            elif mb.state != ma.state:
                kind = "vote-flip" if {mb.state, ma.state} == {MARKED, BLANK} else "marginal"
                diff(kind, box, _state_text(mb.score, mb.state), _state_text(ma.score, ma.state), note)
            elif mb.score != ma.score:
                diff("score", box, f"{mb.score:.4f}", f"{ma.score:.4f}", f"still {ma.state}")
            elif (mb.dx_mm, mb.dy_mm) != (ma.dx_mm, ma.dy_mm):
                numbers.append(f"box {box} found at another offset")
    if before.image_sha256 != after.image_sha256:
        numbers.insert(0, "the page decodes to other pixels (image SHA-256)")
    if before.rotation != after.rotation:
        numbers.append(f"rotation {before.rotation} -> {after.rotation}")
    if before.registration != after.registration:
        numbers.append("registration (page transform)")
    changed = sorted(k for k in set(before.metrics) | set(after.metrics)
                     if before.metrics.get(k) != after.metrics.get(k))
    if changed:
        numbers.append(f"metrics {', '.join(changed)}")
    if bytes(before.signature) != bytes(after.signature):
        numbers.append("ink signature")
    if numbers:
        diff("numbers", None, None, None, "; ".join(numbers[:6]) + (f"; and {len(numbers) - 6} more"
                                                                     if len(numbers) > 6 else ""))
    return out


def compare_reads(before: Mapping[Any, SheetRead], after: Mapping[Any, SheetRead],
                  label: Callable[[Any], str], decided: Mapping[Any, Container[tuple[str, str]]] | None = None
                  ) -> list[Difference]:
    """Every difference between two sets of reads keyed alike (e.g. by (file SHA-256, page)):
    sheets that disappear, appear, or read differently. `label(key)` names the file of a key."""
    out: list[Difference] = []
    keys = list(before) + [k for k in after if k not in before]
    for key in sorted(keys, key=lambda k: (label(k), before.get(k, after.get(k)).page)):
        b, a = before.get(key), after.get(key)
        if a is None:
            out.append(Difference("sheet-missing", label(key), b.page, None, b.status, None,
                                  f"reasons: {_codes_text(b.reasons)}"))
        elif b is None:
            out.append(Difference("sheet-extra", label(key), a.page, None, None, a.status,
                                  f"reasons: {_codes_text(a.reasons)}"))
        else:
            out.extend(compare_sheet(b, a, label(key), b.page, (decided or {}).get(key, ())))
    return out


def _path_parts(path: str) -> list[str]:
    return [p for p in re.split(r"[\\/]+", path) if p not in ("", ".")]


def _tail_match(a: str, b: str) -> int:
    """How many trailing path components two paths share (file name, then folders)."""
    n = 0
    for x, y in zip(reversed(_path_parts(a)), reversed(_path_parts(b))):
        if x != y:
            break
        n += 1
    return n


def match_files(recorded: Mapping[str, Sequence[str]], archived: Mapping[str, Sequence[str]]
                ) -> tuple[dict[str, str], list[str], list[str]]:
    """Pair archived files with recorded ones. `recorded`: SHA-256 -> every path the runs were given
    it under; `archived`: SHA-256 -> the archived paths with that content.

    Returns (pairs: archived SHA-256 -> recorded SHA-256, missing recorded SHA-256s, extra archived
    SHA-256s). Equal content pairs with itself; an archived file whose content is unknown pairs with
    the missing recorded file whose path it shares the longest tail with (at least the file name):
    that file was altered. Everything else is missing or extra."""
    pairs = {sha: sha for sha in archived if sha in recorded}
    missing = [sha for sha in recorded if sha not in archived]
    unknown = [sha for sha in archived if sha not in recorded]
    candidates = sorted(
        ((-max(_tail_match(a, r) for a in archived[new] for r in recorded[old]), min(archived[new]), new, old)
         for new in unknown for old in missing), key=lambda c: c[:2])
    taken: set[str] = set()
    for score, _, new, old in candidates:
        if score < 0 and new not in pairs and old not in taken:
            pairs[new] = old
            taken.add(old)
    return pairs, [s for s in missing if s not in taken], [s for s in unknown if s not in pairs]


def _flat(value: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(value, Mapping):
        out: dict[str, Any] = {}
        for k, v in value.items():
            out.update(_flat(v, f"{prefix}{k}."))
        return out
    return {prefix[:-1]: value}


# What a re-run depends on; the platform string (kernel build) is informative, not a read setting
_ENVIRONMENT_LABELS = {"tool": "Ballot OMR", "tool_code": "the tool's code (SHA-256 of its source)",
                       "python": "Python", "python_implementation": "Python implementation",
                       "machine": "machine architecture", "sqlite": "SQLite", "platform": "platform"}


def compare_environment(recorded: Mapping[str, Any], current: Mapping[str, Any]) -> list[str]:
    """Each version or setting that differs between the run's computer and this one, in words."""
    rec, cur = _flat(recorded), _flat(current)

    def text(values: Mapping[str, Any], key: str, absent: str) -> str:
        value = values.get(key, absent) if key in values else absent
        return f"{value[:16]}…" if isinstance(value, str) and len(value) == 64 else str(value)

    out = []
    for key in sorted(set(rec) | set(cur), key=lambda k: (k.startswith("libraries."), k)):
        if rec.get(key) != cur.get(key):
            name = _ENVIRONMENT_LABELS.get(key, key.removeprefix("libraries."))
            out.append(f"{name} {text(rec, key, 'not recorded')} when read, {text(cur, key, 'absent')} here")
    return out


def compare_profiles(recorded: Mapping[str, Any], used: Mapping[str, Any]) -> list[str]:
    """The calibration settings (thresholds) that differ between two profiles, in words."""
    return [f"{k}: {recorded.get(k)!r} recorded, {used.get(k)!r} used" for k in sorted(set(recorded) | set(used))
            if k != "description" and recorded.get(k) != used.get(k)]


_ROW_LABELS = ("id", "name", "position", "percent")  # names, and percentages (derived from the counts)


def _row_numbers(row: Mapping[str, Any]) -> dict[str, Any]:
    """What one tally row says: every plain field (valid, invalid, pending, band, ...) and each count."""
    out = {k: v for k, v in row.items() if k not in _ROW_LABELS and not isinstance(v, (Mapping, list))}
    for group in ("counts", "invalid_detail"):
        out.update({f"{group}.{k}": v for k, v in (row.get(group) or {}).items()})
    return out


def compare_totals(before: Mapping[str, Any], after: Mapping[str, Any]) -> list[Difference]:
    """Each number that differs between two tallies (``Tally.to_json()``): per contest row (valid,
    invalid, pending, each option's count, band, ...) and the reconciliation (sheets read, ballots
    counted, invalid, duplicates, ...), named by template, contest, row and field."""
    out: list[Difference] = []

    def rows(t: Mapping[str, Any]) -> dict[tuple[str, str, str], Mapping[str, Any]]:
        return {(str(c.get("template")), str(c.get("id")), str(r.get("id"))): r
                for c in t.get("contests", []) for r in c.get("rows", [])}

    rb, ra = rows(before), rows(after)
    for key in list(rb) + [k for k in ra if k not in rb]:
        nb, na = _row_numbers(rb.get(key, {})), _row_numbers(ra.get(key, {}))
        name = (rb.get(key) or ra.get(key) or {}).get("name")
        item = key[1] if key[1] == key[2] else f"{key[1]} / {key[2]}"
        for f in list(nb) + [k for k in na if k not in nb]:
            if nb.get(f) != na.get(f):
                out.append(Difference("total", None, None, f"{item}: {f}", str(nb.get(f, "—")), str(na.get(f, "—")),
                                      f"{name}, template {key[0]}" if name else f"template {key[0]}"))
    rec_b, rec_a = _flat(before.get("reconciliation") or {}), _flat(after.get("reconciliation") or {})
    for f in list(rec_b) + [k for k in rec_a if k not in rec_b]:
        if not isinstance(rec_b.get(f, rec_a.get(f)), list) and rec_b.get(f) != rec_a.get(f):
            out.append(Difference("total", None, None, f"ballots: {f}", str(rec_b.get(f, "—")),
                                  str(rec_a.get(f, "—"))))
    if before.get("provisional") != after.get("provisional"):
        out.append(Difference("total", None, None, "provisional", str(before.get("provisional")),
                              str(after.get("provisional"))))
    return out


# --------------------------------------------------------------------------------------------------
# The report


@dataclass(frozen=True)
class TemplateCheck:
    run: int
    id: str
    fingerprint: str
    recorded_path: str | None
    used_path: str | None  # the file whose fingerprint matched, None when none did
    status: str  # match | missing
    note: str = ""


@dataclass(frozen=True)
class FileEntry:
    status: str  # same | altered | missing | extra | copy
    path: str | None  # archived
    recorded_path: str | None  # as the database has it (first path)
    sha256_before: str | None
    sha256_after: str | None
    sheets_before: int = 0
    sheets_after: int = 0
    run: int | None = None  # the run whose settings read (or re-read) it


@dataclass
class AuditReport:
    database: str
    database_sha256: str
    log_head: LogHead | None
    archive: list[str]
    started_at: str
    integrity: list[LogProblem] = field(default_factory=list)
    runs: list[dict[str, Any]] = field(default_factory=list)
    templates: list[TemplateCheck] = field(default_factory=list)
    notes: list[Note] = field(default_factory=list)
    files: list[FileEntry] = field(default_factory=list)
    differences: list[Difference] = field(default_factory=list)
    sheets_before: int = 0
    sheets_after: int = 0
    sheets_compared: int = 0
    digest_before: str = ""
    digest_after: str = ""
    totals_before: dict[str, Any] | None = None
    totals_after: dict[str, Any] | None = None
    environment: dict[str, Any] = field(default_factory=environment_info)
    finished_at: str = ""

    @property
    def passed(self) -> bool:
        return not self.differences

    @property
    def exit_code(self) -> int:
        return 0 if self.passed else 1

    def count(self, *kinds: str) -> int:
        return sum(d.kind in kinds for d in self.differences)

    def by_severity(self, severity: str) -> list[Difference]:
        return [d for d in self.differences if d.severity == severity]

    def file_counts(self) -> Counter[str]:
        return Counter(f.status for f in self.files)

    def to_json(self) -> dict[str, Any]:
        return {
            "format": "ballot-omr-audit", "version": 1, "passed": self.passed,
            "database": {"path": self.database, "sha256": self.database_sha256,
                         "log_head": None if self.log_head is None else
                         {"id": self.log_head.id, "hash": self.log_head.hash}},
            "archive": self.archive, "started_at": self.started_at, "finished_at": self.finished_at,
            "integrity": [{"entry": p.entry_id, "message": p.message} for p in self.integrity],
            "runs": self.runs, "templates": [asdict(t) for t in self.templates],
            "notes": [asdict(n) for n in self.notes],
            "files": [asdict(f) for f in self.files], "file_counts": dict(self.file_counts()),
            "sheets": {"before": self.sheets_before, "after": self.sheets_after, "compared": self.sheets_compared},
            "counts": dict(Counter(d.kind for d in self.differences)),
            "differences": [d.to_json() for d in self.differences],
            "digest": {"before": self.digest_before, "after": self.digest_after},
            "totals": {"before": self.totals_before, "after": self.totals_after},
            "environment": self.environment,
        }

    def summary_lines(self, limit: int = 40) -> list[str]:
        """What the terminal shows: the verdict last."""
        fc = self.file_counts()
        head = f"log head {self.log_head.id} {self.log_head.hash[:16]}…" if self.log_head else "empty log"
        lines = [f"audit of {self.database} ({head}) against {len(self.archive)} archive input(s)"]
        lines.append("database log: intact" if not self.integrity else
                     f"database log: BROKEN, {len(self.integrity)} problem(s); first: {self.integrity[0].message}")
        for run in self.runs:
            cal = run["calibration_used"]
            lines.append(f"run {run['id']} ({run['started_at'][:19]}, {run['files_reread']} file(s) re-read): "
                         f"calibration {cal.get('name')} blank below {cal.get('blank_below')}, marked from "
                         f"{cal.get('marked_at_least')}; {len(run['templates'])} template(s), fingerprints match")
        lines += [f"WARNING {n}" for n in self.notes]
        lines.append(f"files: {sum(fc[s] for s in ('same', 'altered', 'missing'))} in the database, "
                     f"{sum(fc[s] for s in ('same', 'altered', 'extra', 'copy'))} archived: {fc['missing']} missing, "
                     f"{fc['altered']} altered, {fc['extra']} extra" + (f", {fc['copy']} copies" if fc["copy"] else ""))
        changed = len({(d.file, d.page) for d in self.differences if d.page is not None
                       and d.kind not in ("sheet-missing", "sheet-extra")})
        lines.append(f"sheets: {self.sheets_before} in the database, {self.sheets_after} re-read: "
                     f"{self.count('sheet-missing')} disappeared, {self.count('sheet-extra')} appeared, "
                     f"{changed} read differently")
        lines.append(f"boxes: {self.count('vote-flip')} vote(s) flipped, {self.count('marginal')} change(s) to or "
                     f"from marginal, {self.count('score')} score(s) moved within their state")
        if self.totals_before is not None:
            lines.append(f"totals: {self.count('total')} count(s) differ" if self.count("total") else
                         f"totals: identical for {len(self.totals_before.get('contests', []))} contest(s)")
        lines.append(f"digest: database {self.digest_before[:16]}…, re-run {self.digest_after[:16]}…"
                     + (" (equal)" if self.digest_before == self.digest_after else " (DIFFER)"))
        shown = sorted(self.differences, key=lambda d: list(KINDS).index(d.kind))
        for d in shown[:limit]:
            lines.append(f"  {d.severity.upper():8} {d}")
        if len(shown) > limit:
            lines.append(f"  ... and {len(shown) - limit} more (see --json or --report)")
        if self.passed:
            lines.append(f"AUDIT PASSED: the re-run reads all {self.sheets_after} sheet(s) exactly as the database "
                         "holds them" + ("; the totals agree" if self.totals_before is not None else ""))
        else:
            counts = Counter(d.severity for d in self.differences)
            lines.append(f"AUDIT FAILED: {len(self.differences)} difference(s): {counts[ERROR]} error(s), "
                         f"{counts[MARGINAL_CHANGE]} marginal change(s), {counts[MINOR]} minor")
        return lines


# --------------------------------------------------------------------------------------------------
# The runner


def _utc_now() -> str:
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


def _log_problems(store: Store, head: str | None = None) -> list[LogProblem]:
    """Store.log_problems, and a named problem instead of a crash when the tables cannot be read back."""
    try:
        return store.log_problems(head)
    except (ValueError, TypeError, KeyError, sqlite3.Error) as exc:
        return _unreadable(store.path) or [LogProblem(None, f"the database cannot be read back "
                                                            f"({type(exc).__name__}: {exc}): it was edited behind "
                                                            "the tool's back")]


def verify_database(db: str | Path, head: str | None = None) -> VerifyResult:
    """Recompute the hash chain of a results database (on a private copy) and check every entry
    against the tables; `head`: a log head hash published earlier, which must still be there."""
    with tempfile.TemporaryDirectory(prefix="omr-verify-") as tmp, contextlib.closing(
            open_snapshot(db, Path(tmp))) as store:
        problems = _log_problems(store, head)
        return VerifyResult(not problems, problems[0].entry_id if problems else None, problems, store.log_head())


def _resolve_templates(runs: Sequence[RunRecord], template_paths: Sequence[str], base: Path
                       ) -> tuple[dict[int, list[tuple[Any, str]]], list[TemplateCheck], list[Note]]:
    """For each run, its templates (Template, path) with the fingerprints it recorded: from the
    files given, else from the paths the run recorded (as given, or from the database's folder `base`)
    when they still hold the same template."""
    from omr.ballot.layout import fingerprint
    from omr.ballot.template import TemplateError, load_template

    given: dict[str, tuple[Any, str]] = {}
    seen_ids: dict[str, list[tuple[str, str]]] = {}  # template id -> (path, fingerprint) of files looked at
    for path in template_paths:
        t = load_template(path)  # a bad file given by the auditor: TemplateError, exit 2
        fp = fingerprint(t)
        given.setdefault(fp, (t, path))
        seen_ids.setdefault(t.id, []).append((path, fp))
    used_given: set[str] = set()
    resolved: dict[int, list[tuple[Any, str]]] = {}
    checks: list[TemplateCheck] = []
    for run in runs:
        resolved[run.id] = []
        for rec in run.templates:
            tid, fp, rpath = str(rec.id), str(rec.fingerprint), rec.path
            found, note = given.get(fp), ""
            if found is None and rpath and not Path(rpath).is_file() and (base / rpath).is_file():
                rpath = str(base / rpath)
            if found is None and rpath and Path(rpath).is_file():
                try:
                    t = load_template(rpath)
                except TemplateError as exc:
                    note = f"the recorded path {rpath} is no longer a valid template ({str(exc).splitlines()[0]})"
                else:
                    if fingerprint(t) == fp:
                        found = (t, rpath)
                    else:
                        note = f"the recorded path {rpath} now holds fingerprint {fingerprint(t)[:16]}… (edited since)"
            elif found is None and rpath:
                note = f"the recorded path {rpath} does not exist here"
            if found is None:
                others = [f"{p} has fingerprint {f[:16]}…" for p, f in seen_ids.get(tid, []) if f != fp]
                note = "; ".join([note] + others if note else others) or "no template file given"
                checks.append(TemplateCheck(run.id, tid, fp, rpath, None, "missing", note))
                continue
            if found[1] in template_paths:
                used_given.add(found[1])
            resolved[run.id].append(found)
            checks.append(TemplateCheck(run.id, tid, fp, rpath, found[1], "match",
                                        "" if found[1] == rpath else f"recorded as {rpath}"))
    notes = [Note("templates", f"{p} (fingerprint {fingerprint(given_t)[:16]}…) was given but no audited run "
                               "used it") for given_t, p in given.values() if p not in used_given]
    return resolved, checks, notes


def _profile_of(run: RunRecord, override: Any | None) -> tuple[Any, list[Note]]:
    from omr.read.calibration import ProfileError, parse_profile

    recorded = run.calibration
    notes: list[Note] = []
    if override is not None:
        differ = compare_profiles(recorded, override.to_json())
        if differ:
            notes.append(Note("calibration", f"run {run.id} recorded calibration {recorded.get('name')!r}; the "
                                             f"audit re-reads with {override.name!r} instead: " + "; ".join(differ)))
        return override, notes
    try:
        return parse_profile(dict(recorded), f"run {run.id}: recorded calibration"), notes
    except ProfileError as exc:
        raise AuditError(f"cannot re-read with the thresholds run {run.id} recorded: {exc}") from None


_NEEDED = {"tool_version": "tool version", "environment.python": "Python version",
           "environment.libraries": "library versions", "options.render_dpi": "render dpi",
           "options.max_megapixels": "page size limit", "calibration.blank_below": "blank threshold",
           "calibration.marked_at_least": "marked threshold"}


def _record_gaps(run: RunRecord) -> list[str]:
    """What a run should have recorded to be repeated and did not."""
    gaps = []
    for path, label in _NEEDED.items():
        field_name, *parts = path.split(".")
        value: Any = getattr(run, field_name)
        for part in parts:
            value = value.get(part) if isinstance(value, Mapping) else None
        if value in (None, "", {}):
            gaps.append(label)
    if not run.templates or any(not t.fingerprint for t in run.templates):
        gaps.append("template fingerprints")
    return gaps


def _link(target: Path, link: Path) -> None:
    """`link` reads as `target`: a symbolic link, else a hard link, else a copy."""
    try:
        os.symlink(target, link)
    except OSError:
        try:
            os.link(target, link)
        except OSError:
            shutil.copyfile(target, link)


@contextlib.contextmanager
def _progress(total_files: int, enabled: bool) -> Iterator[Any]:
    if not enabled:
        yield None
        return
    from tqdm import tqdm

    bar = tqdm(total=total_files, unit="file", desc="re-reading", disable=None, file=sys.stderr, dynamic_ncols=True)
    try:
        yield bar
    finally:
        bar.close()


def _hash_archive(archive: Sequence[str]) -> tuple[dict[str, list[str]], list[Difference]]:
    """SHA-256 -> the archived paths with that content (folders walked as `omr scan` walks them)."""
    from omr.scan.ingest import expand_inputs

    files, missing_inputs = expand_inputs(list(archive))
    problems = [Difference("archive-input", f.source, None, None, None, None, f.message) for f in missing_inputs]
    archived: dict[str, list[str]] = {}
    for path in sorted(set(files)):
        try:
            archived.setdefault(file_sha256(str(path)), []).append(path)
        except OSError as exc:
            problems.append(Difference("archive-input", path, None, None, None, None,
                                       f"cannot read: {exc.strerror or exc}"))
    return archived, problems


def _reading_record(source: SourceRecord) -> RunFile:
    """The run_files record of the run that read this content (or last tried to): its settings and
    its place in that run's order are what a re-read repeats. A source with neither (never the
    case for what the tool writes) gives its first run, first in that run's order (id 0)."""
    recs = source.files
    return next((f for f in recs if f.outcome == "read"), None) or next(
        (f for f in reversed(recs) if f.outcome == "failed"),
        RunFile(0, source.first_run_id, source.first_path, source.status))


def _environment_notes(runs: Sequence[RunRecord]) -> list[Note]:
    here = environment_info()
    seen: dict[str, list[int]] = {}
    notes = []
    for run in runs:
        for message in compare_environment(run.environment, here):
            seen.setdefault(message, []).append(run.id)
        gaps = _record_gaps(run)
        if gaps:
            notes.append(Note("record", f"run {run.id} did not record {', '.join(gaps)}: the re-read uses "
                                        "the defaults and this computer's"))
    return notes + [Note("environment", f"{m} (run{'s' if len(ids) > 1 else ''} {', '.join(map(str, ids))})")
                    for m, ids in seen.items()]


def run_audit(archive: Sequence[str], db: str | Path, template_paths: Sequence[str] = (), *, jobs: int = 1,
              calibration: str | None = None, progress: bool = False) -> AuditReport:
    """Re-read every archived file as the database's runs read it and compare; see the module doc.
    `calibration`: a profile name or path to re-read with instead of each run's recorded thresholds
    (to see what another threshold would change)."""
    from omr.read.calibration import ProfileError, load_profile

    report = AuditReport(str(db), "", None, [str(a) for a in archive], _utc_now())
    override = None
    if calibration is not None:
        try:
            override = load_profile(calibration)
        except ProfileError as exc:
            raise AuditError(str(exc)) from None
    with tempfile.TemporaryDirectory(prefix="omr-audit-") as tmp_name:
        tmp = Path(tmp_name)
        with contextlib.closing(open_snapshot(db, tmp)) as store:
            report.database_sha256 = file_sha256(str(db))
            report.integrity = _log_problems(store)
            report.log_head = store.log_head()
            try:
                runs = {r.id: r for r in store.runs()}
                sources = {s.sha256: s for s in store.sources()}
                records = store.sheet_items()
                decisions = store.latest_decisions()
            except (ValueError, TypeError, KeyError, sqlite3.Error) as exc:
                why = report.integrity[0].message if report.integrity else f"{type(exc).__name__}: {exc}"
                raise AuditError(f"{db}: the recorded reads cannot be read back ({why}); `omr verify` says more") \
                    from exc
        if not runs:
            raise AuditError(f"{db}: no run is recorded in this database: nothing to audit")
        report.differences += [Difference("integrity", None, None, None if p.entry_id is None else
                                          f"log entry {p.entry_id}", None, None, p.message) for p in report.integrity]

        # ---- files: the archive against the database, by content
        archived, problems = _hash_archive(archive)
        report.differences += problems
        pairs, missing, extra = match_files(
            {sha: sorted({s.first_path, *(f.path for f in s.files)}) for sha, s in sources.items()}, archived)
        # what to re-read: (run id, order in that run, archived path, SHA-256 of the content recorded for it)
        last_run = max(runs)
        plan: list[tuple[int, tuple, str, str]] = []
        for sha, paths in archived.items():
            old = pairs.get(sha, sha)
            if old in sources:
                rec = _reading_record(sources[old])
                run_id, order = rec.run_id, (0, rec.id)
            else:  # never recorded: re-read with the last run's settings, after the recorded files
                run_id, order = last_run, (1, paths[0])
            plan.append((run_id, order, paths[0], old))
            report.files += [FileEntry("copy", p, None, None, sha, run=run_id) for p in paths[1:]]
        plan.sort(key=lambda p: p[:2])
        display = {sha: s.first_path for sha, s in sources.items()} | {old: path for _, _, path, old in plan}

        # ---- the settings each run recorded
        needed = sorted({p[0] for p in plan})
        read_by = sorted({_reading_record(s).run_id for s in sources.values()} | set(needed))
        resolved, report.templates, notes = _resolve_templates([runs[i] for i in read_by], template_paths,
                                                               Path(db).parent)
        lacking = [c for c in report.templates if c.status != "match"]
        if any(c.run in needed for c in lacking):
            raise AuditError("cannot re-read with the same templates: " + "; ".join(
                f"run {c.run} used template {c.id} (fingerprint {c.fingerprint[:16]}…): {c.note}"
                for c in lacking if c.run in needed) + ". Pass the template files as they were with --template.")
        report.notes += notes + [Note("templates", f"run {c.run} (none of its files archived) used template "
                                                   f"{c.id}: {c.note}") for c in lacking]
        report.notes += _environment_notes([runs[i] for i in needed])

        # ---- re-read, run by run, each run's files in the order it read them
        after_records, failed, links = _reread(plan, runs, resolved, override, jobs, progress, tmp, report)

    # ---- compare the files present on both sides, page by page
    def relink(read: SheetRead) -> SheetRead:
        reasons = tuple(replace(r, detail=_unlink_text(r.detail, links)) for r in read.reasons)
        return replace(read, source=links.get(read.source, read.source), reasons=reasons)

    before = {(s.source_sha256, s.read.page): s.read for s in records}
    after = {(pairs.get(s.source_sha256, s.source_sha256), s.read.page): relink(s.read) for s in after_records}
    both = set(pairs.values())
    sheet_key = {s.id: (s.source_sha256, s.read.page) for s in records}
    decided: dict[tuple[str, int], set[tuple[str, str]]] = {}
    for sid, contest, row in decisions:
        if contest is not None and sid in sheet_key:
            decided.setdefault(sheet_key[sid], set()).add((contest, row))
    sheet_diffs = compare_reads({k: v for k, v in before.items() if k[0] in both},
                                {k: v for k, v in after.items() if k[0] in both}, lambda k: display[k[0]], decided)
    failed = {(links.get(f.path, f.path), f.page): f.message for f in failed}
    report.differences += [
        replace(d, detail=f"{d.detail}; now: {failed.get((d.file, d.page)) or failed[(d.file, None)]}")
        if d.kind == "sheet-missing" and {(d.file, d.page), (d.file, None)} & set(failed) else d for d in sheet_diffs]
    report.sheets_before, report.sheets_after = len(before), len(after)
    report.sheets_compared = len(set(before) & set(after))
    report.digest_before = reads_digest(before.values())
    report.digest_after = reads_digest(after.values())
    _file_entries(report, sources, pairs, missing, extra, display, Counter(k[0] for k in before),
                  Counter(k[0] for k in after), last_run)

    # ---- totals, the same human decisions applied to both
    _totals(report, records, after, decisions, resolved)
    report.finished_at = _utc_now()
    report.differences.sort(key=lambda d: list(KINDS).index(d.kind))
    return report


def _reread(plan: Sequence[tuple[int, tuple, str, str]], runs: Mapping[int, RunRecord],
            resolved: Mapping[int, Sequence[tuple[Any, str]]], override: Any | None, jobs: int, progress: bool,
            tmp: Path, report: AuditReport
            ) -> tuple[list[StoredSheet], list[PageFailure], dict[str, str]]:
    """`omr scan` of the planned files into a temporary database, one run's files at a time with that
    run's templates, thresholds and options. Each run's files are linked under names that sort in
    the order the run read them (scan reads in path order). Returns the re-read sheets, the pages
    that could not be read, and link path -> archived path."""
    from omr.scan.batch import ScanOptions, scan

    links: dict[str, str] = {}
    with Store(tmp / "rerun.sqlite") as rerun, _progress(len(plan), progress) as bar:
        for run_id in sorted({p[0] for p in plan}):
            run = runs[run_id]
            profile, notes = _profile_of(run, override)
            report.notes += notes
            folder = tmp / f"run-{run_id}"
            folder.mkdir()
            inputs = []
            for seq, (_, _, path, _) in enumerate(p for p in plan if p[0] == run_id):
                link = folder / f"{seq:07d}{Path(path).suffix.lower()}"
                _link(Path(path).resolve(), link)
                links[str(link)] = path
                inputs.append(str(link))
            recorded = run.options or {}
            options = ScanOptions(tuple(t for t, _ in resolved[run_id]), tuple(p for _, p in resolved[run_id]),
                                  profile, jobs=max(1, jobs),
                                  max_megapixels=float(recorded.get("max_megapixels", 60.0)),
                                  render_dpi=float(recorded.get("render_dpi", 200.0)))
            scan(inputs, rerun, options)
            if bar is not None:
                bar.update(len(inputs))
            report.runs.append({
                "id": run_id, "started_at": run.started_at, "status": run.status,
                "tool_version": run.tool_version, "files_reread": len(inputs),
                "calibration_recorded": run.calibration, "calibration_used": profile.to_json(),
                "options_used": {"render_dpi": options.render_dpi, "max_megapixels": options.max_megapixels},
                "templates": [{"id": t.id, "path": p} for t, p in resolved[run_id]]})
        return rerun.sheet_items(), rerun.failures(), links


def _file_entries(report: AuditReport, sources: Mapping[str, SourceRecord], pairs: Mapping[str, str],
                  missing: Sequence[str], extra: Sequence[str], display: Mapping[str, str],
                  sheets_before: Counter[str], sheets_after: Counter[str], last_run: int) -> None:
    for sha in sorted(set(pairs.values()) | set(missing) | set(extra), key=lambda s: (display[s], s)):
        path = display[sha]
        if sha in extra:
            report.files.append(FileEntry("extra", path, None, None, sha, 0, sheets_after[sha], last_run))
            report.differences.append(Difference("file-extra", path, None, None, None, sha[:16] + "…",
                                                 f"never recorded; it reads as {sheets_after[sha]} sheet(s)"))
            continue
        src = sources[sha]
        run = _reading_record(src).run_id
        if sha in missing:
            report.files.append(FileEntry("missing", None, src.first_path, sha, None, sheets_before[sha], 0, run))
            report.differences.append(Difference(
                "file-missing", path, None, None, sha[:16] + "…", None,
                f"not in the archive; the database holds {sheets_before[sha]} sheet(s) read from it"
                if src.status == "read" else "not in the archive; it could not be read when recorded either"))
            continue
        new = next(n for n, o in pairs.items() if o == sha)
        status = "same" if new == sha else "altered"
        report.files.append(FileEntry(status, path, src.first_path, sha, new, sheets_before[sha],
                                      sheets_after[sha], run))
        if status == "altered":
            report.differences.append(Difference("file-altered", path, None, None, sha[:16] + "…", new[:16] + "…",
                                                 f"other bytes than the file recorded as {src.first_path}"))


def _unlink_text(text: str, links: Mapping[str, str]) -> str:
    for link, path in links.items():
        if link in text:
            text = text.replace(link, path)
    return text


def _totals(report: AuditReport, records: Sequence[StoredSheet],
            after: Mapping[tuple[str, int], SheetRead],
            decisions: Mapping[tuple[int, str | None, str | None], Decision],
            resolved: Mapping[int, Sequence[tuple[Any, str]]]) -> None:
    """Totals before (stored reads) and after (re-read), the same human decisions applied to both
    (omr.count.tally): a re-read sheet carries the id of the stored sheet of the same file content and
    page, so the decisions on it apply; a sheet that appears gets a new id, after all others."""
    from omr.count.tally import TallyError, tally_reads

    templates = list({id(t): t for items in resolved.values() for t, _ in items}.values())
    sheet_ids = {(s.source_sha256, s.read.page): s.id for s in records}
    next_id = max(sheet_ids.values(), default=0) + 1
    after_items = []
    for key, read in sorted(after.items(), key=lambda kv: (kv[0] not in sheet_ids, kv[1].source, kv[1].page)):
        sid = sheet_ids.get(key)
        if sid is None:
            sid, next_id = next_id, next_id + 1
        after_items.append((sid, read))
    try:
        before = tally_reads([(s.id, s.read) for s in records], decisions, templates).to_json()
        after_json = tally_reads(after_items, decisions, templates).to_json()
    except TallyError as exc:
        report.notes.append(Note("totals", f"totals not compared: {exc}"))
        return
    report.totals_before, report.totals_after = before, after_json
    report.differences += compare_totals(before, after_json)


# --------------------------------------------------------------------------------------------------
# Command line (registered in omr/cli/main.py)


def cmd_audit(args: Any) -> int:
    import json

    try:
        report = run_audit(args.archive, args.db, args.template or [], jobs=args.jobs, calibration=args.calibration,
                           progress=True)
    except AuditError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(report.to_json(), ensure_ascii=False, indent=1), encoding="utf-8")
    if args.report:
        from omr.audit.report import write_audit_pdf

        Path(args.report).parent.mkdir(parents=True, exist_ok=True)
        write_audit_pdf(report, args.report)
    print("\n".join(report.summary_lines()))
    return report.exit_code


def cmd_verify(args: Any) -> int:
    try:
        result = verify_database(args.db, args.head)
    except AuditError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print("\n".join(result.lines(args.db)))
    return 0 if result.ok else 1


def add_commands(sub: Any) -> None:
    """`omr audit` and `omr verify` on the command line's sub-parsers."""
    p = sub.add_parser("audit", help="re-read archived scans and compare with the results database")
    p.add_argument("archive", nargs="+", metavar="ARCHIVE", help="the archived scan files or folders")
    p.add_argument("--db", required=True, help="the results database to audit (never written)")
    p.add_argument("--template", action="extend", nargs="+", metavar="T.yaml",
                   help="the templates the ballots were printed from (default: the paths the runs recorded); "
                        "each must have the fingerprint the runs recorded")
    p.add_argument("--calibration", default=None,
                   help="re-read with this profile instead of the thresholds each run recorded")
    p.add_argument("--jobs", type=int, default=1, help="worker processes (default 1)")
    p.add_argument("--report", metavar="audit.pdf", help="write the audit report as PDF")
    p.add_argument("--json", metavar="audit.json", help="write every difference as JSON")
    p.set_defaults(func=cmd_audit)

    p = sub.add_parser("verify", help="check that the results database was not edited behind the tool's back")
    p.add_argument("--db", required=True, help="the results database (never written)")
    p.add_argument("--head", default=None, metavar="HASH", help="a log head published earlier, which must still "
                                                                "be in the log")
    p.set_defaults(func=cmd_verify)
