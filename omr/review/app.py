"""The review web app (Flask): queue, one sheet at a time, decisions, results.

Every request opens the results database for itself (SQLite in WAL mode: a scan may be writing at
the same time) and closes it at the end. URLs name sheets by their database id and rows, zooms and
images by their position on that sheet: never a path, so nothing but what the database names can
be served.
"""

from __future__ import annotations

import re
import threading
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

from flask import Flask, Response, abort, g, redirect, render_template, request, send_file
from werkzeug.exceptions import HTTPException

from omr.ballot.fonts import FONT_FILES, font_dir
from omr.count.tally import compute_tally, tally_store
from omr.read.annotate import ANNOTATE_PX_PER_MM
from omr.review import i18n
from omr.review.images import ImageUnavailable, NeverAligned, SheetImages
from omr.review.model import AWAITING, DECIDED, REJECTED, Queue, SheetItem, TemplateShelf, build_sheet, duplicate_of
from omr.review.security import (
    LOOPBACK_NAMES,
    SAFE_METHODS,
    SESSION_COOKIE,
    TOKEN_COOKIE,
    Csrf,
    host_name,
    new_session,
    same_token,
)
from omr.store.database import Store
from omr.store.records import StoredSheet, StoreError

SHOWS = ("awaiting", "decided", "all")
CODE = re.compile(r"^[a-z0-9][a-z0-9-]{0,39}$")
MAX_REVIEWER = 80
MAX_NOTE = 1000
MAX_COUNT = 10_000_000


@dataclass
class ReviewConfig:
    db: Path
    templates: tuple[str, ...] = ()
    token: str | None = None  # required on every request when set
    loopback_only: bool = True  # refuse requests naming a non-loopback host
    language: str | None = None  # interface language when the reviewer chose none (None: the templates')
    csrf: Csrf = field(default_factory=Csrf)


class _Reads:
    """The stored reads, kept between requests: they never change once stored; new ones only come
    with a run, so the cache is keyed by the runs' state. Decisions are read fresh every request."""

    def __init__(self, config: ReviewConfig):
        self.config = config
        self.lock = threading.Lock()
        self.key: Any = None
        self.items: list[StoredSheet] = []
        self.shelf: TemplateShelf | None = None
        self.images = SheetImages(base=config.db.parent)

    def get(self, store: Store) -> tuple[list[StoredSheet], TemplateShelf]:
        runs = store.runs()
        key = tuple((r.id, r.status, r.counts.sheets) for r in runs)
        with self.lock:
            if key != self.key or self.shelf is None:
                self.items = store.sheet_items()
                self.shelf = TemplateShelf(store, self.config.templates, base=self.config.db.parent)
                dpis = sorted({float((r.options or {}).get("render_dpi") or 200.0) for r in runs}) or [200.0]
                self.images.render_dpis = tuple(dpis)
                self.key = key
            return self.items, self.shelf


def create_app(config: ReviewConfig) -> Flask:
    app = Flask(__name__, static_folder="static", template_folder="templates")
    app.config["MAX_CONTENT_LENGTH"] = 64 * 1024
    app.config["REVIEW"] = config
    app.json.ensure_ascii = False
    reads = _Reads(config)
    app.extensions["omr_reads"] = reads

    # ---- every request: host, token, session, CSRF; the database

    @app.before_request
    def guard() -> Response | None:
        g.new_cookies = {}
        if config.loopback_only and host_name(request.host) not in LOOPBACK_NAMES:
            abort(400, description="This review screen answers only to http://127.0.0.1 or http://localhost "
                                   "on this computer.")
        if config.token is not None:
            given = request.args.get("token")
            if given is not None:
                if not same_token(given, config.token):
                    abort(401, description="Wrong access token: use the address printed when `omr review` started.")
                g.new_cookies[TOKEN_COOKIE] = config.token
                if request.method in SAFE_METHODS:
                    query = [(k, v) for k, v in request.args.items(multi=True) if k != "token"]
                    response = redirect(request.path + (f"?{urlencode(query)}" if query else ""), code=303)
                    return _with_cookies(response)
            else:
                bearer = request.headers.get("Authorization", "")
                bearer = bearer[7:].strip() if bearer.lower().startswith("bearer ") else None
                if not (same_token(request.cookies.get(TOKEN_COOKIE), config.token)
                        or same_token(bearer, config.token)):
                    abort(401, description="An access token is needed: open the address printed when "
                                           "`omr review` started (it ends with ?token=...).")
        session = request.cookies.get(SESSION_COOKIE)
        if not session or not re.fullmatch(r"[A-Za-z0-9_-]{20,64}", session):
            session = new_session()
            g.new_cookies[SESSION_COOKIE] = session
            g.session_is_new = True
        g.session = session
        if request.method not in SAFE_METHODS:
            origin = request.headers.get("Origin")
            if origin and origin != "null" and _origin(origin) != _origin(request.host_url):
                abort(403, description="Refused: this request came from another web site.")
            if origin == "null" or request.headers.get("Sec-Fetch-Site") == "cross-site":
                abort(403, description="Refused: this request came from another web site.")
            if getattr(g, "session_is_new", False) or not config.csrf.valid(session, request.form.get("csrf_token")):
                abort(403, description="This form has expired or did not come from this review screen: "
                                       "reload the page and try again.")
        return None

    @app.after_request
    def headers(response: Response) -> Response:
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["X-Frame-Options"] = "DENY"
        response.headers["Referrer-Policy"] = "same-origin"  # "no-referrer" makes browsers send Origin: null
        response.headers["Content-Security-Policy"] = (
            "default-src 'self'; img-src 'self'; style-src 'self'; script-src 'self'; font-src 'self'; "
            "form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
        if response.mimetype == "text/html":
            response.headers["Cache-Control"] = "no-store"
        return _with_cookies(response)

    @app.teardown_request
    def close_store(_exc: BaseException | None) -> None:
        store = g.pop("store", None)
        if store is not None:
            store.close()

    def store() -> Store:
        if "store" not in g:
            try:
                g.store = Store(config.db, create=False)
            except StoreError as exc:
                abort(503, description=str(exc))
        return g.store

    def queue() -> Queue:
        s = store()
        items, shelf = reads.get(s)
        latest = s.latest_decisions()
        sheets = [build_sheet(x.id, x.read, shelf, latest) for x in items]
        return Queue([x for x in sheets if x.in_queue], len(items))

    # ---- language, words, filters

    def language(sheet: SheetItem | None = None) -> str:
        chosen = request.cookies.get("lang")
        if chosen in i18n.LANGS:
            return chosen
        if config.language in i18n.LANGS:
            return config.language
        if sheet is not None and sheet.language in i18n.LANGS:
            return sheet.language
        _, shelf = reads.get(store())
        return shelf.language

    def filters() -> tuple[str | None, str]:
        reason = request.args.get("reason") or None
        show = request.args.get("show") or "awaiting"
        if reason is not None and not CODE.match(reason):
            abort(400, description=f"Unknown reason filter {reason[:40]!r}: reason codes are lower-case words "
                                   "joined by '-'.")
        if show not in SHOWS:
            abort(400, description=f"'show' is one of {', '.join(SHOWS)}, not {show[:20]!r}.")
        return reason, show

    def nav(reason: str | None, show: str, **more: Any) -> str:
        query = {k: v for k, v in {"reason": reason, "show": None if show == "awaiting" else show, **more}.items()
                 if v is not None}
        return f"?{urlencode(query)}" if query else ""

    def render(name: str, lang: str, **context: Any) -> str:
        return render_template(
            name, lang=lang, t=lambda key, **kw: i18n.message(key, lang, **kw),
            rw=lambda code: i18n.reason_words(code, lang),
            drw=lambda code: i18n.decision_reason_words(code, lang),
            csrf_token=config.csrf.token(g.session), other_lang="en" if lang == "vi" else "vi",
            here=request.full_path.rstrip("?"), **context)

    # ---- pages

    @app.get("/")
    def home() -> Response:
        return redirect("/queue", code=303)

    @app.get("/queue")
    def queue_page() -> str:
        reason, show = filters()
        q = queue()
        lang = language()
        group = None if show == "all" else show
        return render("queue.html", lang, q=q, sheets=q.filtered(reason, show), reason=reason, show=show,
                      counts=q.counts(), reasons=q.reason_counts(group), all_reasons=q.reason_counts(),
                      nav=nav, first_awaiting=next((s.id for s in q.filtered(reason, "awaiting")), None),
                      AWAITING=AWAITING, DECIDED=DECIDED, REJECTED=REJECTED)

    @app.get("/next")
    def next_sheet() -> Response:
        reason, show = filters()
        q = queue()
        first = next((s.id for s in q.filtered(reason, show)), None)
        if first is None:
            return redirect("/queue" + nav(reason, show), code=303)
        return redirect(f"/sheet/{first}" + nav(reason, show), code=303)

    @app.get("/sheet/<int:sheet_id>")
    def sheet_page(sheet_id: int) -> str:
        reason, show = filters()
        q = queue()
        item = q.get(sheet_id) or _any_sheet(sheet_id)
        lang = language(item)
        focus = _int_arg("row", default=-1, low=-1, high=max(len(item.rows) - 1, 0))
        if focus < 0:
            focus = next((r.index for r in item.rows if r.needs_decision and not r.decided),
                         next((r.index for r in item.rows if r.needs_decision), -1))
        prev_id, next_id = q.neighbours(sheet_id, reason, show)
        listed = [s.id for s in q.filtered(reason, show)]
        position = listed.index(sheet_id) + 1 if sheet_id in listed else None
        image_problem = None
        page = item.info.page(item.read.template_page) if item.info else None
        try:
            reads.images.pixels(sheet_id, item.read)
        except ImageUnavailable as exc:
            image_problem = str(exc)
        if image_problem is None and (page is None or item.read.registration is None):
            image_problem = ("the sheet was never aligned, or its template is not known: only the original scan "
                             "can be shown")
        history = store().decisions(sheet_id)
        superseded = {d.supersedes for d in history if d.supersedes is not None}
        items, _ = reads.get(store())
        overlay = None
        if page is not None:
            overlay = {"w": page.width, "h": page.height,
                       "areas": [{"x": a.rect.x, "y": a.rect.y, "w": a.rect.w, "h": a.rect.h,
                                  "row": -1 if a.row_index is None else a.row_index} for a in item.areas
                                 if a.label != "boxes"]}
        return render("sheet.html", lang, s=item, reason=reason, show=show, nav=nav, prev_id=prev_id,
                      next_id=next_id, position=position, listed=len(listed), focus=focus,
                      image_problem=image_problem, registered=image_problem is None, page=page,
                      history=history, superseded=superseded, overlay=overlay,
                      duplicate=duplicate_of(item.read, items), rows_by_key={(r.read.contest_id, r.read.row_id): r
                                                                             for r in item.rows},
                      reviewer=request.cookies.get("reviewer", ""), msg=request.args.get("msg"),
                      row_reasons=i18n.ROW_INVALID_REASONS, sheet_reasons=i18n.SHEET_REJECT_REASONS,
                      AWAITING=AWAITING, REJECTED=REJECTED, px_per_mm=ANNOTATE_PX_PER_MM)

    def _any_sheet(sheet_id: int) -> SheetItem:
        """A sheet that is not in the queue (read cleanly, never decided) can still be opened."""
        items, shelf = reads.get(store())
        read = next((x.read for x in items if x.id == sheet_id), None)
        if read is None:
            abort(404, description=f"There is no sheet {sheet_id} in this database.")
        return build_sheet(sheet_id, read, shelf, store().latest_decisions(sheet_id))

    def _int_arg(name: str, default: int, low: int, high: int) -> int:
        raw = request.args.get(name)
        if raw is None or raw == "":
            return default
        if not re.fullmatch(r"-?\d{1,9}", raw) or not low <= int(raw) <= high:
            abort(400, description=f"'{name}' must be a whole number from {low} to {high}.")
        return int(raw)

    @app.post("/sheet/<int:sheet_id>/decide")
    def decide(sheet_id: int) -> Response:
        reason_filter, show = filters()
        q = queue()
        item = q.get(sheet_id) or _any_sheet(sheet_id)
        form = request.form
        reviewer = _clean(form.get("reviewer", ""), MAX_REVIEWER, "the reviewer's name")
        if not reviewer:
            abort(400, description="The reviewer's name is required: type it in the box at the top and try again.")
        note = _clean(form.get("note", ""), MAX_NOTE, "the note", multiline=True)
        action = form.get("do", "")
        parts = action.split(":")
        kwargs: dict[str, Any]
        focus = -1
        if parts[0] in ("accept", "set", "setmany", "invalid") and len(parts) >= 2:
            if not re.fullmatch(r"\d{1,4}", parts[1]) or item.row(int(parts[1])) is None:
                abort(400, description=f"Sheet {sheet_id} has no row {parts[1][:10]!r}.")
            row = item.row(int(parts[1]))
            assert row is not None
            focus = row.index
            seen = _seen(form.get(f"seen-{row.index}"))
            kwargs = {"scope": "row", "contest_id": row.read.contest_id, "row_id": row.read.row_id}
            options = [o for o, _ in row.options]
            if parts[0] == "accept" and len(parts) == 2:
                kwargs.update(action="accept")
            elif parts[0] == "set" and len(parts) == 3:
                if parts[2] not in options:
                    abort(400, description=f"Row {row.name} has no option {parts[2][:40]!r}.")
                kwargs.update(action="set", choices=[parts[2]])
            elif parts[0] == "setmany" and len(parts) == 2:
                chosen = form.getlist(f"choices-{row.index}")
                unknown = [c for c in chosen if c not in options]
                if unknown or len(set(chosen)) != len(chosen) or len(chosen) > len(options):
                    abort(400, description=f"Row {row.name}: the ticked options are not options of this row.")
                kwargs.update(action="set", choices=[o for o in options if o in chosen])
            elif parts[0] == "invalid" and len(parts) == 2:
                why = _listed_reason(form.get(f"invalid-reason-{row.index}", ""), i18n.ROW_INVALID_REASONS, note,
                                     "why the row is invalid")
                kwargs.update(action="invalid", reason=why)
            else:
                abort(400, description=f"Unknown decision {action[:60]!r}.")
        elif action in ("accept-sheet", "reject-sheet"):
            seen = _seen(form.get("seen-sheet"))
            kwargs = {"scope": "sheet"}
            if action == "accept-sheet":
                if item.read.status == "rejected":
                    abort(400, description="The machine could not count this sheet: it cannot be accepted here; "
                                           "scan it again if the paper ballot is valid.")
                kwargs.update(action="accept")
            else:
                why = _listed_reason(form.get("reject-reason", ""), i18n.SHEET_REJECT_REASONS, note,
                                     "why the sheet is rejected")
                kwargs.update(action="reject-sheet", reason=why)
        else:
            abort(400, description=f"Unknown decision {action[:60]!r}.")
        key = (sheet_id, kwargs.get("contest_id"), kwargs.get("row_id"))
        current = store().latest_decisions(sheet_id).get(key)
        if seen is None and current is not None:
            abort(409, description="Someone decided this in the meantime: reload the sheet, look at the history, "
                                   "and decide again if needed.")
        try:
            store().add_decision(sheet_id, reviewer=reviewer, note=note, supersedes=seen, **kwargs)
        except StoreError as exc:
            text = str(exc)
            abort(409 if "someone decided in between" in text else 400, description=text)
        q = queue()
        after = q.get(sheet_id) or _any_sheet(sheet_id)
        if after.state != AWAITING and show == "awaiting":
            _, next_id = q.neighbours(sheet_id, reason_filter, show)
            target = f"/sheet/{next_id}" if next_id is not None else "/queue"
            response = redirect(target + nav(reason_filter, show, msg="done", done=sheet_id), code=303)
        else:
            nxt = next((r.index for r in after.rows if r.needs_decision and not r.decided and r.index > focus),
                       next((r.index for r in after.rows if r.needs_decision and not r.decided), focus))
            response = redirect(f"/sheet/{sheet_id}" + nav(reason_filter, show, row=nxt if nxt >= 0 else None,
                                                           msg="saved"), code=303)
        response.set_cookie("reviewer", reviewer, max_age=12 * 3600, httponly=True, samesite="Strict")
        return response

    @app.post("/lang")
    def set_lang() -> Response:
        lang = request.form.get("lang", "")
        if lang not in i18n.LANGS:
            abort(400, description=f"Language is one of {', '.join(i18n.LANGS)}.")
        target = request.form.get("next", "/queue")
        parts = urlsplit(target)
        if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//") or "\\" in target:
            target = "/queue"
        response = redirect(target, code=303)
        response.set_cookie("lang", lang, max_age=365 * 24 * 3600, httponly=True, samesite="Strict")
        return response

    # ---- images: by sheet id and position, only what the database names

    def _png(data: bytes) -> Response:
        response = Response(data, mimetype="image/png")
        response.headers["Cache-Control"] = "private, max-age=3600"
        return response

    def _sheet_for_image(sheet_id: int) -> SheetItem:
        items, shelf = reads.get(store())
        read = next((x.read for x in items if x.id == sheet_id), None)
        if read is None:
            abort(404, description=f"There is no sheet {sheet_id} in this database.")
        return build_sheet(sheet_id, read, shelf, {})

    @app.get("/sheet/<int:sheet_id>/image.png")
    def sheet_image(sheet_id: int) -> Response:
        item = _sheet_for_image(sheet_id)
        page = item.info.page(item.read.template_page) if item.info else None
        if page is None:
            abort(404, description="This sheet has no aligned image (never registered, or its template is unknown).")
        try:
            return _png(reads.images.registered(sheet_id, item.read, page))
        except ImageUnavailable as exc:
            abort(404 if isinstance(exc, NeverAligned) else 409, description=str(exc))

    @app.get("/sheet/<int:sheet_id>/zoom/<int:index>.png")
    def zoom_image(sheet_id: int, index: int) -> Response:
        item = _sheet_for_image(sheet_id)
        page = item.info.page(item.read.template_page) if item.info else None
        if page is None or not 0 <= index < len(item.areas):
            abort(404, description=f"Sheet {sheet_id} has no zoom {index}.")
        try:
            return _png(reads.images.zoom(sheet_id, item.read, page, item.areas[index].rect, index))
        except ImageUnavailable as exc:
            abort(409, description=str(exc))

    @app.get("/sheet/<int:sheet_id>/original.png")
    def original_image(sheet_id: int) -> Response:
        item = _sheet_for_image(sheet_id)
        try:
            return _png(reads.images.original(sheet_id, item.read))
        except ImageUnavailable as exc:
            abort(409, description=str(exc))

    @app.get("/favicon.ico")
    def favicon() -> Response:
        return Response(status=204)

    @app.get("/font/<name>")
    def font(name: str) -> Response:
        if name not in FONT_FILES.values():
            abort(404, description="No such font.")
        response = send_file(font_dir() / name, mimetype="font/ttf", max_age=86400)
        return response

    # ---- results

    @app.get("/results")
    def results_page() -> str:
        numbers: dict[str, int | None] = {}
        for name in ("issued", "collected", "convened", "present"):
            numbers[name] = _optional_count(name)
        lang = language()
        q = queue()
        awaiting = q.counts()[AWAITING]
        tally, problem = None, None
        try:
            if config.templates:  # templates given on the command line: the same the screen uses
                known = [info.template for info in reads.get(store())[1].by_fingerprint.values()]
                tally = tally_store(store(), known, **numbers).to_json()
            else:
                tally = compute_tally(store(), **numbers).to_json()
        except (ValueError, StoreError) as exc:  # TallyError is a ValueError: impossible numbers
            problem = i18n.message("tally_failed", lang, why=str(exc))
        shelf = reads.get(store())[1]
        return render("results.html", lang, tally=tally, problem=problem, numbers=numbers, awaiting=awaiting,
                      labels=_labels(shelf), option_labels=_option_labels(shelf),
                      contest_titles=_contest_titles(shelf), recon_words=i18n.reconciliation_words(lang),
                      discrepancy_words={k: v.get(lang) or v["en"] for k, v in i18n.DISCREPANCIES.items()})

    def _optional_count(name: str) -> int | None:
        raw = (request.args.get(name) or "").strip()
        if not raw:
            return None
        if not re.fullmatch(r"\d{1,8}", raw) or int(raw) > MAX_COUNT:
            abort(400, description=f"'{name}' must be a whole number of ballots (0 to {MAX_COUNT}).")
        return int(raw)

    # ---- errors: a clear page, never a crash

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> tuple[str, int]:
        try:
            lang = request.cookies.get("lang") if request.cookies.get("lang") in i18n.LANGS else "vi"
            return render("error.html", lang, code=exc.code, title=exc.name, message=exc.description), exc.code or 500
        except Exception:  # the error page must not fail in turn
            return f"{exc.code} {exc.name}: {exc.description}", exc.code or 500

    @app.errorhandler(Exception)
    def unexpected(exc: Exception) -> tuple[str, int]:
        if isinstance(exc, HTTPException):
            return http_error(exc)
        app.logger.exception("unexpected error")  # a bug: said plainly, the details in the server's log
        return http_error(_Http(500, "Internal error", "Something went wrong on the review screen: nothing was "
                                "saved by this request. The details are in the terminal running `omr review`."))

    @app.errorhandler(StoreError)
    def store_error(exc: StoreError) -> tuple[str, int]:
        return http_error(_Http(503, "Database unavailable", str(exc)))

    return app


class _Http(HTTPException):
    def __init__(self, code: int, name: str, description: str):
        super().__init__(description)
        self.code = code
        self._name = name

    @property
    def name(self) -> str:  # type: ignore[override]
        return self._name


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


def _with_cookies(response: Response) -> Response:
    for name, value in (getattr(g, "new_cookies", None) or {}).items():
        response.set_cookie(name, value, httponly=True, samesite="Strict", path="/")
    if hasattr(g, "new_cookies"):
        g.new_cookies = {}
    return response


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


def _seen(raw: str | None) -> int | None:
    """The decision id the reviewer saw in force ('' when none): a later one means someone decided
    in between."""
    if raw is None or raw == "":
        return None
    if not re.fullmatch(r"\d{1,12}", raw):
        abort(400, description="The form is damaged (decision id): reload the page.")
    return int(raw)


def _clean(text: str, limit: int, what: str, multiline: bool = False) -> str:
    text = unicodedata.normalize("NFC", text).strip()
    if len(text) > limit:
        abort(400, description=f"{what} is too long ({len(text)} characters, at most {limit}).")
    allowed = {"\n", "\t"} if multiline else set()
    if any(unicodedata.category(ch) == "Cc" and ch not in allowed and ch != "\r" for ch in text):
        abort(400, description=f"{what} contains control characters.")
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _listed_reason(why: str, allowed: Any, note: str, what: str) -> str:
    """A reason picked from its list; 'other' needs the note to say it. Anything else is a 400."""
    if why not in allowed:
        abort(400, description=f"Choose {what} from the list.")
    if why == "other" and not note:
        abort(400, description="'Other reason': explain it in the note.")
    return why
