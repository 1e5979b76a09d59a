"""What the results database accepts, checked before SQLite's constraints so that a refusal names
the file, page, row or box in words: sheet reads, hashes, and the rules of a human decision."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from omr.read.results import Reason, SheetRead
from omr.store.chain import canonical_json, reason_json, row_json
from omr.store.records import StoreError
from omr.store.schema import DECISION_SCOPES, MARK_STATES, ROW_ACTIONS, ROW_STATUSES, SHEET_ACTIONS, SHEET_STATUSES

_HEX = frozenset("0123456789abcdef")


def check_sha256(value: str, what: str = "sha256") -> str:
    """The SHA-256 in lower case, or a StoreError naming `what`."""
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


def check_sheet(read: SheetRead, where: str) -> None:
    """A read the tables can hold, every number finite, or a StoreError naming `where` and the item."""
    if not isinstance(read, SheetRead):
        raise StoreError(f"{where}: expected a SheetRead, got {type(read).__name__}")
    if not isinstance(read.page, int) or read.page < 1:
        raise StoreError(f"{where}: page must be a 1-based integer, got {read.page!r}")
    if read.status not in SHEET_STATUSES:
        raise StoreError(f"{where}: sheet status {read.status!r} is not one of {', '.join(SHEET_STATUSES)}")
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
        if row.status not in ROW_STATUSES:
            raise StoreError(f"{rwhere}: row status {row.status!r} is not one of {', '.join(ROW_STATUSES)}")
        seen_options: set[str] = set()
        for mark in row.marks:
            mwhere = f"{rwhere}, option {mark.option_id}"
            if (mark.contest_id, mark.row_id) != (row.contest_id, row.row_id):
                raise StoreError(f"{mwhere}: the mark belongs to {mark.contest_id}/{mark.row_id}")
            if mark.option_id in seen_options:
                raise StoreError(f"{mwhere}: the same box is read twice")
            seen_options.add(mark.option_id)
            if mark.state not in MARK_STATES:
                raise StoreError(f"{mwhere}: state {mark.state!r} is not one of {', '.join(MARK_STATES)}")
            for name in ("score", "dx_mm", "dy_mm"):
                _check_float(getattr(mark, name), f"{mwhere}: {name}")
    canonical_json(read.metrics, f"{where}: metrics")


def check_decision_input(scope: str, reviewer: str | None, choices: Sequence[str] | None) -> str:
    """The reviewer's name, trimmed; refuses what no decision can be (before the sheet is looked up)."""
    reviewer = (reviewer or "").strip()
    if not reviewer:
        raise StoreError("a decision needs the reviewer's name")
    if scope not in DECISION_SCOPES:
        raise StoreError(f"decision scope must be 'row' or 'sheet', not {scope!r}")
    if isinstance(choices, str):
        raise StoreError(f"choices must be a list of option ids, not the text {choices!r}")
    return reviewer


def check_decision(read: SheetRead, where: str, scope: str, action: str, contest_id: str | None, row_id: str | None,
            choices: Sequence[str] | None, reason: str) -> tuple[tuple[str, ...], dict[str, Any]]:
    """The rules of a human decision on a read: (the choices it records, the machine read it
    overrides as JSON), or a StoreError saying which rule it breaks. `where` names the sheet.

    Row: 'accept' keeps the machine's choices, 'set' names options of that row (each once),
    'invalid' has no choices and needs a reason. Sheet: no contest, row or choices; 'reject-sheet'
    needs a reason."""
    if scope == "sheet":
        if contest_id is not None or row_id is not None:
            raise StoreError(f"{where}: a sheet decision names no contest or row")
        if action not in SHEET_ACTIONS:
            raise StoreError(f"{where}: a sheet decision is one of {', '.join(SHEET_ACTIONS)}, not {action!r}")
        if choices:
            raise StoreError(f"{where}: a sheet decision has no choices")
        if action == "reject-sheet" and not reason:
            raise StoreError(f"{where}: rejecting a sheet needs a reason")
        return (), {"status": read.status, "reasons": [reason_json(r) for r in read.reasons]}
    if action not in ROW_ACTIONS:
        raise StoreError(f"{where}: a row decision is one of {', '.join(ROW_ACTIONS)}, not {action!r}")
    row = next((r for r in read.rows if (r.contest_id, r.row_id) == (contest_id, row_id)), None)
    if row is None:
        raise StoreError(f"{where}: there is no row {contest_id}/{row_id} on this sheet")
    where = f"{where}, row {contest_id}/{row_id}"
    if action == "accept":
        if choices is not None and tuple(choices) != row.choices:
            raise StoreError(f"{where}: 'accept' keeps the machine's choices {list(row.choices)}; "
                             "use 'set' to change them")
        return tuple(row.choices), row_json(row)
    if action == "set":
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
        return chosen, row_json(row)
    if choices:
        raise StoreError(f"{where}: an invalid row has no choices")
    if not reason:
        raise StoreError(f"{where}: declaring a row invalid needs a reason")
    return (), row_json(row)
