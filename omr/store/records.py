"""What the results database hands back, and the one error it raises: typed, frozen records, so a
caller reads ``run.status`` and the type checker knows it, instead of ``run["status"]``."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from omr.read.results import SheetRead
from omr.store.environment import environment_info


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
class RunTemplate:
    """One template a run was given, as it recorded it (a re-run finds the file by its fingerprint)."""

    id: str | None
    fingerprint: str | None
    path: str | None

    @classmethod
    def from_json(cls, entry: Any) -> RunTemplate:
        if not isinstance(entry, Mapping):
            raise ValueError(f"a run's template record is not what the tool writes: {entry!r}")
        return cls(entry.get("id"), entry.get("fingerprint"), entry.get("path"))


@dataclass(frozen=True)
class RunCounts:
    """What a run stored: its files by outcome, its sheets and its failures."""

    read: int = 0
    skipped_already_read: int = 0
    failed: int = 0
    sheets: int = 0
    failures: int = 0

    def to_json(self) -> dict[str, int]:
        return {"read": self.read, "skipped-already-read": self.skipped_already_read, "failed": self.failed,
                "sheets": self.sheets, "failures": self.failures}


@dataclass(frozen=True)
class RunRecord:
    """One `omr scan` as recorded: what it started with (the JSON columns parsed; `environment`,
    `options`, `calibration` and `summary` stay the open JSON objects they were written as), how it
    ended, and what it stored."""

    id: int
    started_at: str
    finished_at: str | None
    tool_version: str
    environment: dict[str, Any]
    options: dict[str, Any]
    templates: tuple[RunTemplate, ...]
    calibration_name: str | None
    calibration: dict[str, Any]
    status: str  # running | finished | interrupted
    summary: dict[str, Any] | None
    counts: RunCounts

    def to_json(self) -> dict[str, Any]:
        """The run as `omr scan --json` writes it."""
        return {
            "id": self.id, "started_at": self.started_at, "finished_at": self.finished_at,
            "tool_version": self.tool_version, "environment": self.environment, "options": self.options,
            "templates": [{"id": t.id, "fingerprint": t.fingerprint, "path": t.path} for t in self.templates],
            "calibration_name": self.calibration_name, "calibration": self.calibration,
            "status": self.status, "summary": self.summary, "counts": self.counts.to_json(),
        }


@dataclass(frozen=True)
class RunFile:
    """One time a run was given a file: the path as given and what became of it."""

    id: int
    run_id: int
    path: str
    outcome: str  # read | skipped-already-read | failed


@dataclass(frozen=True)
class SourceRecord:
    """One distinct file content (by SHA-256) and every time a run was given it, oldest first."""

    sha256: str
    size: int
    first_path: str
    first_run_id: int
    page_count: int | None
    status: str  # read | failed
    error: str | None
    files: tuple[RunFile, ...]


@dataclass(frozen=True)
class StoredSheet:
    """A sheet read as stored: its database id, the file content and run it came from, the path the
    file was first given as, and the read itself."""

    id: int
    source_sha256: str
    run_id: int
    first_path: str
    read: SheetRead


@dataclass(frozen=True)
class SheetSignature:
    """What finding a sheet's earlier copy needs of a stored sheet (no read rebuilt)."""

    sheet_id: int
    path: str
    page: int
    fingerprint: str | None
    template_page: int | None
    signature: bytes


@dataclass(frozen=True)
class PageFailure:
    """A file (page None) or page that could not be read, with the path as given."""

    path: str
    page: int | None
    message: str


@dataclass(frozen=True)
class LogHead:
    """The last log entry: print its hash in the minutes to anchor the chain."""

    id: int
    hash: str


@dataclass(frozen=True)
class LogProblem:
    """One way the database departs from its log; `entry_id` None: no entry describes the thing."""

    entry_id: int | None
    message: str


@dataclass(frozen=True)
class LogVerdict:
    """The log check in one line: ok, the first broken entry (None when ok, or when what is wrong is
    in the tables and in no entry), and a message for the person."""

    ok: bool
    first_broken: int | None
    message: str


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
