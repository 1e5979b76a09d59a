"""What every request of the review app shares: the typed configuration, the cached reads, the
request's database, the screen's language and the query-string filters.

The routes (omr.review.pages, omr.review.decide, omr.review.files) reach it through
``review()``; nothing here is a global of the module: it lives in the Flask app's extensions.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from flask import abort, current_app, g, render_template, request

from omr.read.results import SheetRead
from omr.review import i18n
from omr.review.images import SheetImages
from omr.review.model import Queue, SheetItem, TemplateShelf, build_sheet, lacking_pages, queue_of
from omr.review.security import Csrf
from omr.store.database import Store, StoreError
from omr.store.records import StoredSheet

SHOWS = ("awaiting", "decided", "all")
CODE = re.compile(r"^[a-z0-9][a-z0-9-]{0,39}$")
MAX_COUNT = 10_000_000
EXTENSION = "omr_review"


@dataclass
class ReviewConfig:
    db: Path
    templates: tuple[str, ...] = ()
    token: str | None = None  # required on every request when set
    loopback_only: bool = True  # refuse requests naming a non-loopback host
    language: str | None = None  # interface language when the reviewer chose none (None: the templates')
    csrf: Csrf = field(default_factory=Csrf)
    reviewer_idle_s: int = 30 * 60  # the reviewer's name is forgotten after this long idle (a shared computer)


class Reads:
    """The stored reads, kept between requests: they never change once stored; new ones only come
    with a run, so the cache is keyed by the runs' state. Decisions are read fresh every request."""

    def __init__(self, config: ReviewConfig):
        self.config = config
        self.lock = threading.Lock()
        self.key: Any = None
        self.items: list[StoredSheet] = []
        self.shelf: TemplateShelf | None = None
        self.images = SheetImages(base=config.db.parent)
        self.lacking_key: Any = None
        self.lacking_pages: dict[int, SheetRead] = {}  # pages of cross-out ballots scanned without their other pages

    def get(self, store: Store) -> tuple[list[StoredSheet], TemplateShelf]:
        return self._get(store)[1:]

    def _get(self, store: Store) -> tuple[Any, list[StoredSheet], TemplateShelf]:
        """The runs' state the reads were kept for, the reads and the templates."""
        runs = store.runs()
        key = tuple((r.id, r.status, r.counts.sheets) for r in runs)
        with self.lock:
            if key != self.key or self.shelf is None:
                self.items = store.sheet_items()
                self.shelf = TemplateShelf(store, self.config.templates, base=self.config.db.parent)
                dpis = sorted({float((r.options or {}).get("render_dpi") or 200.0) for r in runs}) or [200.0]
                self.images.render_dpis = tuple(dpis)
                self.key = key
            return key, self.items, self.shelf

    def with_lacking(self, store: Store, latest: dict
                     ) -> tuple[list[StoredSheet], TemplateShelf, dict[int, SheetRead]]:
        """get's reads and templates, and lacking_pages of the reads under the decisions in force, kept until a
        run or a decision on a whole sheet changes it (only those move a sheet in or out of its ballot)."""
        runs_key, items, shelf = self._get(store)
        key = (runs_key, frozenset((d.sheet_id, d.action, d.reason) for d in latest.values() if d.scope == "sheet"))
        with self.lock:
            if key != self.lacking_key:
                self.lacking_pages = lacking_pages(items, shelf, latest)
                self.lacking_key = key
            return items, shelf, self.lacking_pages


class Review:
    """The app's shared state and the helpers every route uses."""

    def __init__(self, config: ReviewConfig):
        self.config = config
        self.reads = Reads(config)

    def store(self) -> Store:
        """The request's database (opened once per request, closed at its end)."""
        if "store" not in g:
            try:
                g.store = Store(self.config.db, create=False)
            except StoreError as exc:
                abort(503, description=str(exc))
        return g.store

    def shelf(self) -> TemplateShelf:
        return self.reads.get(self.store())[1]

    def queue(self) -> Queue:
        """The queue as omr.review.model.load_queue makes it (a page of a cross-out ballot scanned without
        its other pages waits for a person), from the reads kept between requests."""
        s = self.store()
        latest = s.latest_decisions()
        items, shelf, lacking = self.reads.with_lacking(s, latest)
        return queue_of(items, lacking, shelf, latest)

    def read(self, sheet_id: int) -> SheetRead:
        items, _ = self.reads.get(self.store())
        read = next((s.read for s in items if s.id == sheet_id), None)
        if read is None:
            abort(404, description=f"There is no sheet {sheet_id} in this database.")
        return read

    def any_sheet(self, sheet_id: int) -> SheetItem:
        """A sheet that is not in the queue (read cleanly, never decided) can still be opened."""
        return build_sheet(sheet_id, self.read(sheet_id), self.shelf(), self.store().latest_decisions(sheet_id))

    def sheet(self, queue: Queue, sheet_id: int) -> SheetItem:
        return queue.get(sheet_id) or self.any_sheet(sheet_id)

    def language(self, sheet: SheetItem | None = None) -> str:
        chosen = request.cookies.get("lang")
        if chosen in i18n.LANGS:
            return chosen
        if self.config.language in i18n.LANGS:
            return self.config.language
        if sheet is not None and sheet.language in i18n.LANGS:
            return sheet.language
        return self.shelf().language

    def render(self, name: str, lang: str, **context: Any) -> str:
        return render_template(
            name, lang=lang, t=lambda key, **kw: i18n.message(key, lang, **kw),
            rw=lambda code: i18n.reason_words(code, lang),
            drw=lambda code: i18n.decision_reason_words(code, lang),
            csrf_token=self.config.csrf.token(g.session), other_lang="en" if lang == "vi" else "vi",
            here=request.full_path.rstrip("?"), **context)


def local_time(stamp: str | None, seconds: bool = False) -> str:
    """A stored UTC time (ISO 8601, 'Z') as this computer's local time with its zone, e.g.
    '2026-12-04 14:03 +07': the committee reads the time on the wall, and knows which it is."""
    if not stamp:
        return ""
    try:
        when = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    except ValueError:
        return stamp
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    local = when.astimezone()
    zone = local.strftime("%z")
    zone = "UTC" if zone == "+0000" else zone[:3] + (zone[3:] if zone[3:] != "00" else "")
    return local.strftime("%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M") + f" {zone}"


def review() -> Review:
    return current_app.extensions[EXTENSION]


def filters() -> tuple[str | None, str]:
    """The queue filter of the request: (reason code or None, which sheets to show)."""
    reason = request.args.get("reason") or None
    show = request.args.get("show") or "awaiting"
    if reason is not None and not CODE.match(reason):
        abort(400, description=f"Unknown reason filter {reason[:40]!r}: reason codes are lower-case words "
                               "joined by '-'.")
    if show not in SHOWS:
        abort(400, description=f"'show' is one of {', '.join(SHOWS)}, not {show[:20]!r}.")
    return reason, show


def nav(reason: str | None, show: str, **more: Any) -> str:
    """The query string that keeps the queue filter from page to page."""
    query = {k: v for k, v in {"reason": reason, "show": None if show == "awaiting" else show, **more}.items()
             if v is not None}
    return f"?{urlencode(query)}" if query else ""


def int_arg(name: str, default: int, low: int, high: int) -> int:
    raw = request.args.get(name)
    if raw is None or raw == "":
        return default
    if not re.fullmatch(r"-?\d{1,9}", raw) or not low <= int(raw) <= high:
        abort(400, description=f"'{name}' must be a whole number from {low} to {high}.")
    return int(raw)


def optional_count(name: str) -> int | None:
    raw = (request.args.get(name) or "").strip()
    if not raw:
        return None
    if not re.fullmatch(r"\d{1,8}", raw) or int(raw) > MAX_COUNT:
        abort(400, description=f"'{name}' must be a whole number of ballots (0 to {MAX_COUNT}).")
    return int(raw)
