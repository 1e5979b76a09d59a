"""The pages of the review screen: the queue, one sheet, the results."""

from __future__ import annotations

from flask import Blueprint, Response, redirect, request

from omr.count.stored import compute_tally, tally_store
from omr.read.annotate import ANNOTATE_PX_PER_MM
from omr.review import i18n
from omr.review.context import filters, int_arg, nav, optional_count, review
from omr.review.images import ImageUnavailable
from omr.review.model import AWAITING, DECIDED, REJECTED, SheetItem, TemplateShelf, duplicate_of, same_page_before
from omr.store.database import StoreError

pages = Blueprint("pages", __name__)


@pages.get("/")
def home() -> Response:
    return redirect("/queue", code=303)


@pages.get("/queue")
def queue_page() -> str:
    ctx = review()
    reason, show = filters()
    q = ctx.queue()
    lang = ctx.language()
    group = None if show == "all" else show
    return ctx.render("queue.html", lang, q=q, sheets=q.filtered(reason, show), reason=reason, show=show,
                      counts=q.counts(), reasons=q.reason_counts(group), all_reasons=q.reason_counts(),
                      nav=nav, first_awaiting=next((s.id for s in q.filtered(reason, "awaiting")), None),
                      AWAITING=AWAITING, DECIDED=DECIDED, REJECTED=REJECTED)


@pages.get("/next")
def next_sheet() -> Response:
    reason, show = filters()
    q = review().queue()
    first = next((s.id for s in q.filtered(reason, show)), None)
    if first is None:
        return redirect("/queue" + nav(reason, show), code=303)
    return redirect(f"/sheet/{first}" + nav(reason, show), code=303)


@pages.get("/sheet/<int:sheet_id>")
def sheet_page(sheet_id: int) -> str:
    return sheet_view(sheet_id)


def _image_problem(item: SheetItem) -> tuple[str, str] | None:
    """(kind, machine detail) of why the aligned sheet image cannot be shown, or None."""
    page = item.info.page(item.read.template_page) if item.info else None
    try:
        review().reads.images.pixels(item.id, item.read)
    except ImageUnavailable as exc:
        return exc.kind, str(exc)
    if page is None or item.read.registration is None:
        return "unaligned", ("the sheet was never aligned, or its template is not known: only the original scan "
                             "can be shown")
    return None


def _focus(item: SheetItem) -> int:
    """The row the keys act on: the one asked for, else the first row still to decide."""
    focus = int_arg("row", default=-1, low=-1, high=max(len(item.rows) - 1, 0))
    if focus < 0:
        focus = next((r.index for r in item.rows if r.needs_decision and not r.decided),
                     next((r.index for r in item.rows if r.needs_decision), -1))
    return focus


def _overlay(item: SheetItem) -> dict | None:
    page = item.info.page(item.read.template_page) if item.info else None
    if page is None:
        return None
    return {"w": page.width, "h": page.height,
            "areas": [{"x": a.rect.x, "y": a.rect.y, "w": a.rect.w, "h": a.rect.h,
                       "row": -1 if a.row_index is None else a.row_index} for a in item.areas if a.label != "boxes"]}


def sheet_view(sheet_id: int, error: str | None = None) -> str:
    """One sheet: its image, why it is here, a card per row to decide, the sheet decision, history.
    `error`: what was wrong with the form just sent, shown on the sheet itself."""
    ctx = review()
    reason, show = filters()
    q = ctx.queue()
    item = ctx.sheet(q, sheet_id)
    lang = ctx.language(item)
    prev_id, next_id = q.neighbours(sheet_id, reason, show)
    listed = [s.id for s in q.filtered(reason, show)]
    image_problem = _image_problem(item)
    history = ctx.store().decisions(sheet_id)
    items, _ = ctx.reads.get(ctx.store())
    duplicate = duplicate_of(item.read, items)
    before = same_page_before(item.read, items)
    return ctx.render(
        "sheet.html", lang, s=item, reason=reason, show=show, nav=nav, prev_id=prev_id, next_id=next_id,
        position=listed.index(sheet_id) + 1 if sheet_id in listed else None, listed=len(listed), focus=_focus(item),
        image_problem=image_problem and image_problem[1], image_kind=image_problem and image_problem[0],
        registered=image_problem is None, scans_folder=str(ctx.config.db.parent),
        page=item.info.page(item.read.template_page) if item.info else None,
        history=history, superseded={d.supersedes for d in history if d.supersedes is not None},
        overlay=_overlay(item), duplicate=duplicate, same_page_before=before, left=q.counts()[AWAITING],
        left_reason=len(q.filtered(reason, "awaiting")) if reason else None,
        rows_by_key={(r.read.contest_id, r.read.row_id): r for r in item.rows},
        reviewer=_typed("reviewer", 80) or request.cookies.get("reviewer", ""), note=_typed("note", 1000),
        idle_s=ctx.config.reviewer_idle_s,
        msg=request.args.get("msg"), error=error,
        row_reasons=i18n.ROW_INVALID_REASONS, sheet_reasons=i18n.SHEET_REJECT_REASONS,
        AWAITING=AWAITING, REJECTED=REJECTED, px_per_mm=ANNOTATE_PX_PER_MM)


def _typed(name: str, limit: int) -> str:
    """What the reviewer typed in a refused form, shown again so nothing has to be typed twice."""
    return (request.form.get(name, "") if request.method == "POST" else "")[:limit]


@pages.get("/results")
def results_page() -> str:
    ctx = review()
    numbers = {name: optional_count(name) for name in ("issued", "collected", "convened", "present")}
    lang = ctx.language()
    awaiting = ctx.queue().counts()[AWAITING]
    tally, problem = None, None
    shelf = ctx.shelf()
    try:
        if ctx.config.templates:  # templates given on the command line: the same the screen uses
            known = [info.template for info in shelf.by_fingerprint.values()]
            tally = tally_store(ctx.store(), known, **numbers).to_json()
        else:
            tally = compute_tally(ctx.store(), **numbers).to_json()
    except (ValueError, StoreError) as exc:  # TallyError is a ValueError: impossible numbers
        problem = i18n.message("tally_failed", lang, why=str(exc))
    return ctx.render("results.html", lang, tally=tally, problem=problem, numbers=numbers, awaiting=awaiting,
                      labels=_labels(shelf), option_labels=_option_labels(shelf),
                      contest_titles=_contest_titles(shelf), recon_words=i18n.reconciliation_words(lang),
                      discrepancy_words={k: v.get(lang) or v["en"] for k, v in i18n.DISCREPANCIES.items()})


def _labels(shelf: TemplateShelf) -> dict[tuple[str, str], tuple[str, str]]:
    """(contest id, row id) -> (name, detail) across all known templates, for the results table."""
    out: dict[tuple[str, str], tuple[str, str]] = {}
    for info in shelf.by_fingerprint.values():
        for c in info.template.contests:
            out.setdefault((c.id, c.id), (c.title or c.id, ""))
            for p in c.rows:
                out.setdefault((c.id, p.id), (p.name, p.position))
    return out


def _option_labels(shelf: TemplateShelf) -> dict[str, dict[str, str]]:
    out: dict[str, dict[str, str]] = {}
    for info in shelf.by_fingerprint.values():
        for c in info.template.contests:
            out.setdefault(c.id, {o.id: o.label for o in c.options})
    return out


def _contest_titles(shelf: TemplateShelf) -> dict[str, str]:
    out: dict[str, str] = {}
    for info in shelf.by_fingerprint.values():
        for c in info.template.contests:
            out.setdefault(c.id, c.title or info.template.header.title)
    return out
