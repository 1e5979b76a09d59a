"""The hash-chained log, as pure functions: the canonical JSON of a payload, the hash that chains an
entry to the one before it, the payload of each kind of entry built from what the tables hold, and
the check of a log against those tables.

Sheet payloads hold no time, no path and no database id: the same reads give the same payloads on
any computer (``sheet_payload``), so they can be compared or digested across runs. The payloads are
the file format: a change here breaks every database already written.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import PurePath
from typing import Any

from omr.read.results import Reason, RowRead, SheetRead
from omr.store.records import Decision, LogProblem, StoredSheet, StoreError

GENESIS_HASH = "0" * 64  # prev_hash of the first log entry



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


def dumps(plain: Any) -> str:
    """The canonical text of plain JSON data (what `canonical_json` writes, without the checks)."""
    return json.dumps(plain, sort_keys=True, ensure_ascii=False, separators=(",", ":"), allow_nan=False)


def canonical_json(value: Any, where: str = "value") -> str:
    """The one JSON text of a value: sorted keys, UTF-8 characters as they are, no spaces."""
    return dumps(_plain(value, where))


def chain_hash(prev_hash: str, payload: str) -> str:
    """The hash of a log entry: it covers the entry before it, so no entry can change alone."""
    return hashlib.sha256((prev_hash + payload).encode("utf-8")).hexdigest()


def reason_json(reason: Reason) -> dict[str, Any]:
    return {"code": reason.code, "detail": reason.detail,
            "where": None if reason.where is None else list(reason.where)}


def row_json(row: RowRead) -> dict[str, Any]:
    return {
        "contest_id": row.contest_id,
        "row_id": row.row_id,
        "status": row.status,
        "reasons": [reason_json(r) for r in row.reasons],
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
        "reasons": [reason_json(r) for r in read.reasons],
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
        "rows": [row_json(r) for r in read.rows],
        "metrics": dict(read.metrics),
        "signature": bytes(read.signature).hex(),
    }


def first_difference(logged: Any, stored: Any, path: str = "") -> str | None:
    """Where two JSON values first differ, in words (for naming what was edited)."""
    if isinstance(logged, dict) and isinstance(stored, dict):
        for key in sorted(set(logged) | set(stored)):
            sub = f"{path}.{key}" if path else str(key)
            if key not in stored:
                return f"{sub} is in the log but no longer stored"
            if key not in logged:
                return f"{sub} is stored but not in the log"
            diff = first_difference(logged[key], stored[key], sub)
            if diff:
                return diff
        return None
    if isinstance(logged, list) and isinstance(stored, list):
        for i, (a, b) in enumerate(zip(logged, stored)):
            label = ""
            if isinstance(a, dict):
                ident = [str(a[k]) for k in ("contest_id", "row_id", "option_id", "code") if k in a]
                label = f"({'/'.join(ident)})" if ident else ""
            diff = first_difference(a, b, f"{path}[{i}]{label}")
            if diff:
                return diff
        if len(logged) != len(stored):
            return f"{path}: {len(logged)} item(s) in the log, {len(stored)} stored"
        return None
    if type(logged) is not type(stored) or logged != stored:
        return f"{path}: log has {json.dumps(logged, ensure_ascii=False)}, " \
               f"database has {json.dumps(stored, ensure_ascii=False)}"
    return None


# --------------------------------------------------------------------------------------------------
# The payloads of the other entries, from the rows the tables hold (the same function writes the
# entry and, later, checks it: a row edited afterwards no longer gives its entry's payload)


def run_start_payload(run_id: int, row: Mapping[str, Any]) -> dict[str, Any]:
    """`row`: the runs row (columns by name)."""
    return {"kind": "run-start", "run": run_id, "started_at": row["started_at"], "tool_version": row["tool_version"],
            "environment": json.loads(row["environment"]), "options": json.loads(row["options"]),
            "templates": json.loads(row["templates"]), "calibration_name": row["calibration_name"],
            "calibration": json.loads(row["calibration"])}


def run_end_payload(run_id: int, row: Mapping[str, Any]) -> dict[str, Any]:
    return {"kind": "run-end", "run": run_id, "finished_at": row["finished_at"], "status": row["status"],
            "summary": None if row["summary"] is None else json.loads(row["summary"])}


def file_payload(run_file_id: int, run_id: int, path: str, sha256: str, outcome: str, size: int | None
                 ) -> dict[str, Any]:
    return {"kind": "file", "id": run_file_id, "run": run_id, "path": path, "sha256": sha256,
            "outcome": outcome, "size": size}


def failure_payload(failure_id: int, run_id: int, source_sha256: str | None, path: str, page: int | None,
                    message: str) -> dict[str, Any]:
    return {"kind": "failure", "id": failure_id, "run": run_id, "source_sha256": source_sha256, "path": path,
            "page": page, "message": message}


def decision_payload(d: Decision, sheet: tuple[str, int] | None) -> dict[str, Any]:
    """`sheet`: (source SHA-256, page) of the sheet decided on; None when it is gone."""
    return {"kind": "decision", "id": d.id, "sheet": None if sheet is None else
            {"source_sha256": sheet[0], "page": sheet[1]},
            "scope": d.scope, "contest_id": d.contest_id, "row_id": d.row_id, "action": d.action,
            "choices": list(d.choices), "reason": d.reason, "reviewer": d.reviewer, "note": d.note,
            "created_at": d.created_at, "machine": d.machine, "supersedes": d.supersedes}


# --------------------------------------------------------------------------------------------------
# Checking a log


@dataclass(frozen=True)
class LogEntry:
    """A row of the log table."""

    id: int
    kind: str
    payload: str
    prev_hash: str
    hash: str


@dataclass(frozen=True)
class ParsedEntry:
    """A log entry whose payload is canonical JSON of its kind."""

    id: int
    obj: dict[str, Any]
    text: str


@dataclass(frozen=True)
class TablesNow:
    """What the tables hold now, as the log check compares it with the entries: the sheets by (file
    content, page), every run's (id, status), the ids of the file records, failures and decisions,
    and `payload(kind, id)`: the payload that row gives now (None when it is gone). Payloads are
    asked for one entry at a time, so a row no entry names is never parsed."""

    sheets: Mapping[tuple[str, int], StoredSheet]
    runs: Sequence[tuple[int, str]]
    ids: Mapping[str, Sequence[int]]  # "file" | "failure" | "decision" -> ids in the table
    payload: Callable[[str, Any], dict[str, Any] | None]


def chain_problems(entries: Sequence[LogEntry], last_seq: int | None, head: str | None
                   ) -> tuple[list[LogProblem], list[ParsedEntry]]:
    """The chain itself: ids without gaps (`last_seq`: the highest id ever given, from
    sqlite_sequence), each entry following the one before it, each hash matching its payload,
    each payload canonical JSON of its kind, and `head` (a hash published earlier) still in it.
    Returns the problems and the entries whose payloads can be checked against the tables."""
    problems: list[LogProblem] = []
    prev_hash, expected_id = GENESIS_HASH, 1
    parsed: list[ParsedEntry] = []
    hashes: set[str] = set()
    for e in entries:
        if e.id > expected_id:
            gap = f"entry {expected_id}" if e.id == expected_id + 1 else f"entries {expected_id} to {e.id - 1}"
            problems.append(LogProblem(expected_id, f"log {gap} removed"))
        expected_id = e.id + 1
        if e.prev_hash != prev_hash:
            problems.append(LogProblem(e.id, f"log entry {e.id} does not follow the entry before it (its prev_hash "
                                             "differs): an entry was removed, inserted, reordered or rewritten"))
        if chain_hash(e.prev_hash, e.payload) != e.hash:
            problems.append(LogProblem(e.id, f"log entry {e.id} ({e.kind}) was edited: its hash does not match "
                                             "its payload"))
        prev_hash = e.hash
        hashes.add(e.hash)
        try:
            obj = json.loads(e.payload)
            canonical = dumps(obj)
        except ValueError:
            problems.append(LogProblem(e.id, f"log entry {e.id} ({e.kind}) has a payload that is not canonical JSON"))
            continue
        if canonical != e.payload or not isinstance(obj, dict) or obj.get("kind") != e.kind:
            problems.append(LogProblem(e.id, f"log entry {e.id} ({e.kind}) has a payload that is not canonical or "
                                             f"not a {e.kind}"))
            continue
        parsed.append(ParsedEntry(e.id, obj, e.payload))
    last = entries[-1].id if entries else 0
    if last_seq is not None and last_seq > last:
        gap = f"entry {last + 1}" if last_seq == last + 1 else f"entries {last + 1} to {last_seq}"
        problems.append(LogProblem(last + 1, f"log {gap} removed from the end of the log"))
    if head is not None and head not in hashes:
        problems.append(LogProblem(None, f"the published log head {head[:16]}… is no longer in the log"))
    return problems, parsed


def _describe(obj: dict[str, Any], tables: TablesNow) -> tuple[tuple[str, Any], str, dict[str, Any] | None]:
    """(what the entry is about, its name for a message, the payload the tables give for it now)."""
    kind = obj["kind"]
    if kind == "sheet":
        key = (obj.get("source_sha256"), obj.get("page"))
        x = tables.sheets.get(key)  # type: ignore[arg-type]
        name = f"sheet {x.read.source if x else str(key[0])[:12] + '…'} page {key[1]}"
        return ("sheet", key), name, None if x is None else sheet_payload(x.read, x.source_sha256)
    if kind in ("run-start", "run-end"):
        run_id = obj.get("run")
        return (kind, run_id), f"{kind} of run {run_id}", tables.payload(kind, run_id)
    did = obj.get("id")
    if kind == "file":
        name = f"file record {did} ({obj.get('path')})"
    elif kind == "failure":
        name = f"failure {did} ({obj.get('path')} page {obj.get('page')})"
    else:
        name = f"decision {did} by {obj.get('reviewer')}"
    return (kind, did), name, tables.payload(kind, did)


def content_problems(parsed: Sequence[ParsedEntry], tables: TablesNow) -> list[LogProblem]:
    """Each entry's payload against what the tables hold now, and table rows no entry describes."""
    problems: list[LogProblem] = []
    covered: dict[tuple[str, Any], int] = {}
    for entry in parsed:
        key, name, stored = _describe(entry.obj, tables)
        if key in covered:
            problems.append(LogProblem(entry.id, f"log entry {entry.id} ({name}) repeats entry {covered[key]}"))
            continue
        covered[key] = entry.id
        if stored is None:
            problems.append(LogProblem(entry.id, f"log entry {entry.id} ({name}): no longer in the database "
                                                 "(deleted)"))
            continue
        if dumps(stored) != entry.text:
            diff = first_difference(entry.obj, stored) or "the stored values differ"
            problems.append(LogProblem(entry.id, f"log entry {entry.id} ({name}): the database was edited: {diff}"))

    def uncovered(kind: str, keys: Sequence[Any], label: Callable[[Any], str]) -> None:
        for k in keys:
            if (kind, k) not in covered:
                problems.append(LogProblem(None, f"{label(k)} is in the database but not in the log "
                                                 "(added behind the tool's back)"))

    uncovered("run-start", [r for r, _ in tables.runs], lambda r: f"run {r}")
    uncovered("run-end", [r for r, s in tables.runs if s != "running"], lambda r: f"the end of run {r}")
    uncovered("sheet", list(tables.sheets), lambda k: f"sheet {tables.sheets[k].read.source} page {k[1]}")
    for kind, label in (("file", "file record"), ("failure", "failure"), ("decision", "decision")):
        uncovered(kind, tables.ids[kind], lambda r, label=label: f"{label} {r}")
    return problems
