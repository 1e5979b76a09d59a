"""The decisions a reviewer sends from a sheet, checked and appended to the store; the language switch.

A decision names its row by position on the sheet and carries the decision id the reviewer saw in
force (``seen-*``): a later one means someone decided in between, and the form is refused.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any
from urllib.parse import urlsplit

from flask import Blueprint, Response, abort, redirect, request

from omr.review import i18n
from omr.review.context import filters, nav, review
from omr.review.model import AWAITING, NOT_STRUCK, RowItem, SheetItem
from omr.review.pages import sheet_view
from omr.store.database import StoreError

decide = Blueprint("decide", __name__)

MAX_REVIEWER = 80
MAX_NOTE = 1000
ROW_ACTIONS = ("accept", "set", "setmany", "invalid")
SHEET_ACTIONS = ("accept-sheet", "reject-sheet", "duplicate-once")


class FormProblem(Exception):
    """A mistake in what the reviewer sent (a missing name or reason, too many choices, a decision made
    by someone else in between): shown on the same sheet, in the screen's language; nothing is saved."""

    def __init__(self, status: int, key: str, **values: Any):
        super().__init__(key)
        self.status, self.key, self.values = status, key, values


@decide.post("/sheet/<int:sheet_id>/decide")
def decide_sheet(sheet_id: int) -> Response | tuple[str, int]:
    ctx = review()
    reason_filter, show = filters()
    item = ctx.sheet(ctx.queue(), sheet_id)
    try:
        reviewer, note, decisions, focus = _decisions(item)
        for kwargs, seen in decisions:
            _append(sheet_id, reviewer, note, seen, kwargs)
    except FormProblem as exc:
        lang = ctx.language(item)
        values = {k: i18n.message(v, lang) if k == "what" else v for k, v in exc.values.items()}
        return sheet_view(sheet_id, error=i18n.message(exc.key, lang, **values)), exc.status
    response = _after(sheet_id, focus, reason_filter, show)
    response.set_cookie("reviewer", reviewer, max_age=ctx.config.reviewer_idle_s, httponly=True, samesite="Strict",
                        secure=request.is_secure)
    return response


Decisions = list[tuple[dict[str, Any], int | None]]  # (store arguments, decision id seen) of each decision


def _decisions(item: SheetItem) -> tuple[str, str, Decisions, int]:
    """(reviewer, note, the decisions, row index or -1) of the form sent."""
    form = request.form
    reviewer = _clean(form.get("reviewer", ""), MAX_REVIEWER, "w_reviewer")
    if not reviewer:
        raise FormProblem(400, "f_reviewer")
    note = _clean(form.get("note", ""), MAX_NOTE, "w_note", multiline=True)
    action = form.get("do", "")
    parts = action.split(":")
    if parts[0] in ROW_ACTIONS and len(parts) >= 2:
        kwargs, seen, focus = _row_decision(item, parts, note)
        return reviewer, note, [(kwargs, seen)], focus
    if action in SHEET_ACTIONS:
        return reviewer, note, [(_sheet_decision(item, action, note), _seen(form.get("seen-sheet")))], -1
    if action == "accept-rows":
        return reviewer, note, _rows_kept(item), -1
    abort(400, description=f"Unknown decision {action[:60]!r}.")


def _rows_kept(item: SheetItem) -> Decisions:
    """'Keep the machine read' on every row still to decide (a long sheet, e.g. a streak over many
    rows), only with the ticked confirmation that the reviewer looked at them all."""
    if request.form.get("bulk-confirm") != "yes":
        raise FormProblem(400, "f_bulk_confirm")
    rows = [r for r in item.rows if r.needs_decision and not r.decided and r.has_read_to_keep]
    return [({"scope": "row", "contest_id": r.read.contest_id, "row_id": r.read.row_id, "action": "accept"},
             _seen(request.form.get(f"seen-{r.index}"))) for r in rows]


def _row_decision(item: SheetItem, parts: list[str], note: str) -> tuple[dict[str, Any], int | None, int]:
    """(store arguments, decision id seen, row index) of a decision on one row."""
    form = request.form
    if not re.fullmatch(r"\d{1,4}", parts[1]) or item.row(int(parts[1])) is None:
        abort(400, description=f"Sheet {item.id} has no row {parts[1][:10]!r}.")
    row = item.row(int(parts[1]))
    assert row is not None
    seen = _seen(form.get(f"seen-{row.index}"))
    kwargs: dict[str, Any] = {"scope": "row", "contest_id": row.read.contest_id, "row_id": row.read.row_id}
    options = [o for o, _ in row.options]
    if parts[0] == "accept" and len(parts) == 2:
        if not row.has_read_to_keep:
            abort(400, description=f"Row {row.name} has no machine read to keep: struck, or not struck.")
        kwargs.update(action="accept")
    elif parts[0] == "set" and len(parts) == 3:
        if parts[2] not in options:
            abort(400, description=f"Row {row.name} has no option {parts[2][:40]!r}.")
        # a cross-out name "not struck out" is the name left: no choice
        kwargs.update(action="set", choices=[] if parts[2] == NOT_STRUCK else [parts[2]])
    elif parts[0] == "setmany" and len(parts) == 2:
        kwargs.update(action="set", choices=_ticked(row, options))
    elif parts[0] == "invalid" and len(parts) == 2:
        why = form.get(f"invalid-reason-{row.index}", "")
        if why not in i18n.ROW_INVALID_REASONS:
            raise FormProblem(400, "f_row_reason", name=row.name)
        if why == "other" and not note:
            raise FormProblem(400, "f_other_note")
        kwargs.update(action="invalid", reason=why)
    else:
        abort(400, description=f"Unknown decision {':'.join(parts)[:60]!r}.")
    return kwargs, seen, row.index


def _ticked(row: RowItem, options: list[str]) -> list[str]:
    """The ticked choices of a several-choice row, refused outside the contest's minimum and maximum:
    a row saved with too many or too few choices would silently become invalid."""
    chosen = request.form.getlist(f"choices-{row.index}")
    unknown = [c for c in chosen if c not in options]
    if unknown or len(set(chosen)) != len(chosen) or len(chosen) > len(options):
        abort(400, description=f"Row {row.name}: the ticked options are not options of this row.")
    if row.contest is not None and row.contest.kind == "choose":
        if len(chosen) > row.contest.max_marks:
            raise FormProblem(400, "f_too_many", name=row.name, max=row.contest.max_marks, n=len(chosen))
        if len(chosen) < row.contest.min_marks:
            raise FormProblem(400, "f_too_few", name=row.name, min=row.contest.min_marks, n=len(chosen))
    return [o for o in options if o in chosen]


def _sheet_decision(item: SheetItem, action: str, note: str) -> dict[str, Any]:
    """Accept (also: restore a rejected sheet; count a suspected copy as another ballot, only when the
    reviewer ticked that they are two ballots; a cross-out ballot, only when they ticked that they checked
    the paper), reject with a chosen reason, or count a copy once (only when the reviewer ticked that it
    is the same sheet: two voters can mark alike, and this scan's vote is dropped). Both "same sheet" and
    "two ballots" ticked say two things at once: refused."""
    form = request.form
    duplicate = "duplicate" in item.codes
    distinct, same = form.get("distinct") == "yes", form.get("same-sheet") == "yes"
    if action == "accept-sheet":
        if item.read.status == "rejected":
            raise FormProblem(400, "f_machine_rejected")
        if "ballot-page-missing" in item.codes:  # the tally cannot count it, whatever is decided
            raise FormProblem(400, "f_page_missing")
        if duplicate and not distinct:
            raise FormProblem(400, "f_distinct")
        if duplicate and same:
            raise FormProblem(400, "f_both_ticked")
        if item.accept_settles_ballot and form.get("checked-paper") != "yes":
            raise FormProblem(400, "f_checked_paper")
        return {"scope": "sheet", "action": "accept"}
    if action == "duplicate-once":
        if not duplicate:
            raise FormProblem(400, "f_not_duplicate")
        if not same:
            raise FormProblem(400, "f_same_sheet")
        if distinct:
            raise FormProblem(400, "f_both_ticked")
        return {"scope": "sheet", "action": "reject-sheet", "reason": "duplicate"}
    why = form.get("reject-reason", "")
    if why not in i18n.SHEET_REJECT_REASONS:
        raise FormProblem(400, "reject_reason_missing")
    if why == "other" and not note:
        raise FormProblem(400, "f_other_note")
    return {"scope": "sheet", "action": "reject-sheet", "reason": why}


def _append(sheet_id: int, reviewer: str, note: str, seen: int | None, kwargs: dict[str, Any]) -> None:
    """Append the decision, refused when someone decided the same row or sheet in between."""
    store = review().store()
    key = (sheet_id, kwargs.get("contest_id"), kwargs.get("row_id"))
    current = store.latest_decisions(sheet_id).get(key)
    if seen is None and current is not None:
        raise FormProblem(409, "f_conflict")
    try:
        store.add_decision(sheet_id, reviewer=reviewer, note=note, supersedes=seen, **kwargs)
    except StoreError as exc:
        if "someone decided in between" in str(exc):
            raise FormProblem(409, "f_conflict") from None
        abort(400, description=str(exc))


def _after(sheet_id: int, focus: int, reason_filter: str | None, show: str) -> Response:
    """Where a decision leads: the next sheet when this one is done, else the next row to decide."""
    ctx = review()
    q = ctx.queue()
    after = ctx.sheet(q, sheet_id)
    if after.state != AWAITING and show == "awaiting":
        _, next_id = q.neighbours(sheet_id, reason_filter, show)
        target = f"/sheet/{next_id}" if next_id is not None else "/queue"
        return redirect(target + nav(reason_filter, show, msg="done", done=sheet_id), code=303)
    nxt = next((r.index for r in after.rows if r.needs_decision and not r.decided and r.index > focus),
               next((r.index for r in after.rows if r.needs_decision and not r.decided), focus))
    return redirect(f"/sheet/{sheet_id}" + nav(reason_filter, show, row=nxt if nxt >= 0 else None, msg="saved"),
                    code=303)


@decide.post("/lang")
def set_lang() -> Response:
    lang = request.form.get("lang", "")
    if lang not in i18n.LANGS:
        abort(400, description=f"Language is one of {', '.join(i18n.LANGS)}.")
    target = request.form.get("next", "/queue")
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//") or "\\" in target:
        target = "/queue"
    response = redirect(target, code=303)
    response.set_cookie("lang", lang, max_age=365 * 24 * 3600, httponly=True, samesite="Strict",
                        secure=request.is_secure)
    return response


def _seen(raw: str | None) -> int | None:
    """The decision id the reviewer saw in force ('' when none): a later one means someone decided
    in between."""
    if raw is None or raw == "":
        return None
    if not re.fullmatch(r"\d{1,12}", raw):
        abort(400, description="The form is damaged (decision id): reload the page.")
    return int(raw)


def _clean(text: str, limit: int, what: str, multiline: bool = False) -> str:
    """NFC text, refused when too long or holding control characters; `what`: its name's message key."""
    text = unicodedata.normalize("NFC", text).strip()
    if len(text) > limit:
        raise FormProblem(400, "f_too_long", what=what, n=len(text), limit=limit)
    allowed = {"\n", "\t"} if multiline else set()
    if any(unicodedata.category(ch) == "Cc" and ch not in allowed and ch != "\r" for ch in text):
        raise FormProblem(400, "f_control", what=what)
    return text.replace("\r\n", "\n").replace("\r", "\n")
