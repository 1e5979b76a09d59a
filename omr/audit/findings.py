"""What an audit finds: the kinds of difference and their severity, and the typed report.

A difference is one of :data:`KINDS`; a vote becoming a non-vote (or the reverse) is an error, a
change to or from "marginal" is listed apart, and a score that moved without changing its state is
listed as minor. Any difference at all makes the audit fail (exit code 1): reads are deterministic,
so an honest archive re-read on any computer gives bit-identical reads.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Any

from omr.codes import ERROR
from omr.store.environment import environment_info
from omr.store.records import LogHead, LogProblem

MARGINAL_CHANGE, MINOR = "marginal", "minor"  # severities besides omr.codes.ERROR

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
