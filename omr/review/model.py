"""What a reviewer must decide, from the store: which sheets await a person, why, and which rows.

Pure logic over the store's reads and decisions (no web code). A sheet goes to a person when the
machine did not read it cleanly (status ``review``) or could not count it at all (``rejected``).
It awaits a person (the same rule as ``omr.count.tally``'s "pending", plus the copies and unreadable sheets
a person should confirm) until

- it is rejected as a whole (a sheet decision ``reject-sheet``), or
- its sheet-level findings are cleared (a sheet decision ``accept``; needed only when it has
  findings that send a sheet to a person, or when the machine rejected it), every row the machine
  could not decide (a marginal mark) has a row decision, and every row it flagged as invalid (no
  mark, several marks, crossed-out name) has a row decision or was kept as read by the sheet
  ``accept``.

Decisions are only ever appended; the one in force for a row or a sheet is the latest.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from pathlib import Path

from omr.ballot.layout import BallotLayout, PageLayout, Rect, has_crossout, layout
from omr.ballot.shelf import RecordedTemplate, find_templates
from omr.ballot.template import STRUCK, Contest, Template
from omr.count.tally import incomplete_ballots
from omr.read.interpret import row_needs_person, sheet_needs_person
from omr.read.results import REVIEW, SHEET_OK, SHEET_REVIEW, Reason, RowRead, SheetRead
from omr.review.i18n import message
from omr.store.database import Store
from omr.store.records import Decision, StoredSheet

AWAITING, DECIDED, REJECTED = "awaiting", "decided", "rejected"
BOX_CODES = {"marginal-mark", "no-mark", "several-marks", "overvote", "undervote"}  # judged by looking at the boxes
ZOOM_MARGIN_MM = 4.0


@dataclass(frozen=True)
class TemplateInfo:
    template: Template
    layout: BallotLayout

    def contest(self, contest_id: str) -> Contest | None:
        return next((c for c in self.template.contests if c.id == contest_id), None)

    def page(self, number: int | None) -> PageLayout | None:
        if number is None or not 1 <= number <= len(self.layout.pages):
            return None
        return self.layout.pages[number - 1]


@dataclass(frozen=True)
class Area:
    """A place on the page to zoom on, in page mm, and what it shows."""

    label: str  # reason code, or "row"
    rect: Rect
    row_index: int | None = None


@dataclass
class RowItem:
    index: int  # position on the sheet: what URLs and forms name, never the ids themselves
    read: RowRead
    needs_decision: bool
    latest: Decision | None
    contest: Contest | None
    name: str
    detail: str  # a person's position, or the contest's kind
    options: list[tuple[str, str]]  # (option id, label) in printed order
    max_marks: int
    area: int | None = None  # index into SheetItem.areas: the printed row (name and boxes)
    box_area: int | None = None  # index into SheetItem.areas: a close-up of the row's boxes

    @property
    def codes(self) -> list[str]:
        return [r.code for r in self.read.reasons]

    @property
    def accept_is_invalid(self) -> bool:
        """Whether keeping the machine read leaves this row invalid under its contest's rules."""
        if self.read.status == "invalid":
            return True
        n = len(self.read.choices)
        if self.contest is not None and self.contest.kind == "crossout":
            return False  # the ballot's rules judge its rows together (omr.read.interpret.crossout_verdict)
        if self.contest is None or self.contest.kind in ("confidence", "yesno"):
            return n != 1
        return not self.contest.min_marks <= n <= self.contest.max_marks

    @property
    def has_read_to_keep(self) -> bool:
        """False for a cross-out name read unclear: the machine chose nothing a person could keep, so
        only "struck" or "not struck" decides it (never 'keep', one by one or for every row)."""
        return not (self.contest is not None and self.contest.kind == "crossout" and self.read.status == "review")

    kept_by_sheet: bool = False  # no row decision, but the sheet was accepted: the machine read stands

    @property
    def decided(self) -> bool:
        return self.latest is not None or self.kept_by_sheet


@dataclass
class SheetItem:
    id: int
    read: SheetRead
    info: TemplateInfo | None
    rows: list[RowItem]
    sheet_needs_decision: bool
    latest_sheet: Decision | None
    areas: list[Area] = field(default_factory=list)

    @property
    def in_queue(self) -> bool:
        return self.read.status != SHEET_OK or self.latest_sheet is not None or any(r.latest for r in self.rows)

    @property
    def state(self) -> str:
        if self.latest_sheet is not None and self.latest_sheet.action == "reject-sheet":
            return REJECTED
        if self.sheet_needs_decision and self.latest_sheet is None:
            return AWAITING
        if any(r.needs_decision and not r.decided for r in self.rows):
            return AWAITING
        return DECIDED

    @property
    def codes(self) -> list[str]:
        """Every reason code that sent this sheet to a person (sheet findings, then rows needing a
        decision), once each, in order of appearance."""
        out: list[str] = []
        for r in self.read.reasons:
            if r.code not in out:
                out.append(r.code)
        for row in self.rows:
            if row.needs_decision:
                for code in row.codes:
                    if code not in out:
                        out.append(code)
        return out

    @property
    def accept_settles_ballot(self) -> bool:
        """Whether accepting the whole sheet decides a cross-out ballot's votes: the tally reads it as "the
        stamp is there, the writing is harmless, the statute allows it" (omr.count.tally), which only the
        paper shows; on other ballots the rows already count as read while the sheet awaits a person."""
        return any(r.contest is not None and r.contest.kind == "crossout" for r in self.rows)

    @property
    def language(self) -> str | None:
        return self.info.template.language if self.info else None

    def row(self, index: int) -> RowItem | None:
        return self.rows[index] if 0 <= index < len(self.rows) else None




class TemplateShelf:
    """The templates the reads were made against, found from the runs' records (their paths, checked
    by fingerprint) and from extra files given on the command line (omr.ballot.shelf)."""

    def __init__(self, store: Store, extra: list[str] | tuple[str, ...] = (), base: Path | None = None):
        recorded = [RecordedTemplate(t.id, t.fingerprint, t.path) for run in store.runs() for t in run.templates]
        lookup = find_templates(recorded, extra, base, strict=False)
        self.by_fingerprint: dict[str, TemplateInfo] = {
            fp: TemplateInfo(f.template, layout(f.template)) for fp, f in lookup.found.items()}
        ids = {r.fingerprint: r.id for r in recorded}
        self.problems: list[str] = lookup.problems + [
            f"template {ids[fp]} (fingerprint {fp[:16]}…) not found: labels show ids and sheet images cannot be "
            "drawn; pass it with --template" for fp in lookup.missing]

    def get(self, fingerprint: str | None) -> TemplateInfo | None:
        return self.by_fingerprint.get(fingerprint) if fingerprint else None

    @property
    def language(self) -> str:
        """The interface language by default: Vietnamese if any template is, else English."""
        langs = {i.template.language for i in self.by_fingerprint.values()}
        return "vi" if "vi" in langs or not langs else "en"


def _row_names(info: TemplateInfo | None, row: RowRead) -> tuple[Contest | None, str, str, list[tuple[str, str]], int]:
    contest = info.contest(row.contest_id) if info else None
    if contest is None:
        return None, f"{row.contest_id} / {row.row_id}", "", [(m.option_id, m.option_id) for m in row.marks], 1
    options = [(o.id, o.label) for o in contest.options]
    if contest.kind == "crossout":
        person = next((p for p in contest.candidates if p.id == row.row_id), None)
        name = f"{person.honorific} {person.name}".strip() if person else row.row_id
        if contest.style == "strike":  # the decisions that make sense: the name is struck out, or it is not
            options = [(o, i18n_words(o, info.template.language if info else "vi")) for o in STRIKE_DECISIONS]
        return contest, name, "", options, 1
    if contest.kind == "confidence":
        person = next((p for p in contest.rows if p.id == row.row_id), None)
        name = person.name if person else row.row_id
        return contest, name, person.position if person else "", options, 1
    return contest, contest.title or contest.id, contest.instructions, options, contest.max_marks


NOT_STRUCK = "not-struck"  # a person's "the name is not struck out": stored as a set decision with no choice
STRIKE_DECISIONS = (STRUCK, NOT_STRUCK)


def i18n_words(option: str, lang: str) -> str:
    return message(f"strike_{option.replace('-', '_')}", lang)


def _union(rects: list[Rect]) -> Rect | None:
    if not rects:
        return None
    x0 = min(r.x for r in rects)
    y0 = min(r.y for r in rects)
    x1 = max(r.x + r.w for r in rects)
    y1 = max(r.y + r.h for r in rects)
    return Rect(x0, y0, x1 - x0, y1 - y0)


def _clip(rect: Rect, page: PageLayout) -> Rect:
    x0, y0 = max(0.0, rect.x), max(0.0, rect.y)
    x1, y1 = min(page.width, rect.x + rect.w), min(page.height, rect.y + rect.h)
    return Rect(x0, y0, max(1.0, x1 - x0), max(1.0, y1 - y0))


def row_area(page: PageLayout, contest: Contest | None, row: RowRead) -> Rect | None:
    """The printed row on the page: a person's name cell and boxes, or a contest's boxes and labels."""
    boxes = [b.rect for b in page.boxes if (b.contest_id, b.row_id) == (row.contest_id, row.row_id)]
    cells = [c.rect for c in page.name_cells + page.strike_cells
             if (c.contest_id, c.row_id) == (row.contest_id, row.row_id)]
    area = _union(boxes + cells)
    if area is None:
        return None
    if not cells:  # choose / yes-no: option labels are printed to the right of the boxes, the title above
        area = Rect(area.x - 6, area.y - 12, max(area.w, 100.0) + 6, area.h + 12)
    return _clip(area.grow(1.5), page)


def build_sheet(sheet_id: int, read: SheetRead, shelf: TemplateShelf,
                latest: dict[tuple[int, str | None, str | None], Decision]) -> SheetItem:
    info = shelf.get(read.fingerprint)
    page = info.page(read.template_page) if info else None
    rows: list[RowItem] = []
    for i, row in enumerate(read.rows):
        contest, name, detail, options, max_marks = _row_names(info, row)
        rows.append(RowItem(i, row, row_needs_person(read, row), latest.get((sheet_id, row.contest_id, row.row_id)),
                            contest, name, detail, options, max_marks))
    sheet_decision = latest.get((sheet_id, None, None))
    if sheet_decision is not None and sheet_decision.action == "accept":
        for r in rows:  # as omr.count.tally: a sheet accepted keeps the rows the machine decided as they were read
            r.kept_by_sheet = r.latest is None and r.read.status != REVIEW
    item = SheetItem(sheet_id, read, info, rows, sheet_needs_person(read), sheet_decision)
    if page is not None:
        for reason in read.reasons:
            if reason.where is not None:
                item.areas.append(Area(reason.code, _clip(Rect(*reason.where).grow(ZOOM_MARGIN_MM), page)))
        for r in rows:
            if not r.needs_decision:
                continue
            wheres = [Rect(*x.where) for x in r.read.reasons if x.where is not None]
            rect = row_area(page, r.contest, r.read)
            if rect is not None and wheres:
                rect = _clip(_union([rect] + [w.grow(ZOOM_MARGIN_MM) for w in wheres]) or rect, page)
            if rect is not None:
                r.area = len(item.areas)
                item.areas.append(Area("row", rect, r.index))
            key = (r.read.contest_id, r.read.row_id)
            boxes = _union([b.rect for b in page.boxes if (b.contest_id, b.row_id) == key])
            if boxes is not None and set(r.codes) & BOX_CODES:
                r.box_area = len(item.areas)
                item.areas.append(Area("boxes", _clip(boxes.grow(3.0), page), r.index))
    return item


@dataclass
class Queue:
    sheets: list[SheetItem]  # every sheet in the queue, in reading order (first path, page)
    total_read: int

    def counts(self) -> dict[str, int]:
        out = {AWAITING: 0, DECIDED: 0, REJECTED: 0}
        for s in self.sheets:
            out[s.state] += 1
        return out

    def reason_counts(self, state: str | None = None) -> list[tuple[str, int]]:
        """(reason code, number of sheets with it), most frequent first; of sheets in `state` if given."""
        counts: dict[str, int] = {}
        for s in self.sheets:
            if state is not None and _state_group(s) != state:
                continue
            for code in s.codes:
                counts[code] = counts.get(code, 0) + 1
        return sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))

    def filtered(self, reason: str | None, show: str) -> list[SheetItem]:
        return [s for s in self.sheets if (reason is None or reason in s.codes)
                and (show == "all" or _state_group(s) == show)]

    def neighbours(self, sheet_id: int, reason: str | None, show: str) -> tuple[int | None, int | None]:
        """The previous and next sheet of the filtered list around `sheet_id`, by reading order: found
        even when the sheet itself has just left the list (decided)."""
        order = [s.id for s in self.sheets]
        if sheet_id not in order:
            return None, None
        pos = order.index(sheet_id)
        keep = {s.id for s in self.filtered(reason, show)}
        prev = next((i for i in reversed(order[:pos]) if i in keep), None)
        nxt = next((i for i in order[pos + 1:] if i in keep), None)
        return prev, nxt

    def get(self, sheet_id: int) -> SheetItem | None:
        return next((s for s in self.sheets if s.id == sheet_id), None)


def _state_group(s: SheetItem) -> str:
    return AWAITING if s.state == AWAITING else DECIDED


def load_queue(store: Store, shelf: TemplateShelf) -> Queue:
    items = store.sheet_items()
    latest = store.latest_decisions()
    return queue_of(items, lacking_pages(items, shelf, latest), shelf, latest)


def queue_of(items: list[StoredSheet], lacking: dict[int, SheetRead], shelf: TemplateShelf,
             latest: dict) -> Queue:
    """The queue of these stored sheets under the decisions in force (`latest`); `lacking`: what
    lacking_pages says of them under the same decisions."""
    decided = {sheet_id for sheet_id, _, _ in latest}
    # only these can be in the queue (SheetItem.in_queue): a sheet read "ok" that nobody decided on is not
    maybe = [x for x in items if x.id in lacking or x.id in decided or x.read.status != SHEET_OK]
    sheets = _queue_sheets(maybe, lacking, shelf, latest)
    return Queue([s for s in sheets if s.in_queue], len(items))


def awaiting_count(store: Store, shelf: TemplateShelf) -> int:
    """load_queue(store, shelf).counts()[AWAITING] without holding every read (a scan says it at its end,
    whatever the database's size): a sheet read 'ok' that no person has decided on is never in the queue
    unless its ballot lacks a page, so only the sheets in doubt are read, a batch at a time, and every page
    of the multi-page cross-out ballots (to find those lacking one)."""
    latest = store.latest_decisions()
    paged = [fp for fp in store.fingerprints() if _paged_crossout(shelf.get(fp))]

    def awaiting(items: list[StoredSheet], lacking: dict[int, SheetRead]) -> int:
        return sum(s.in_queue and s.state == AWAITING for s in _queue_sheets(items, lacking, shelf, latest))

    items = store.sheet_items_of(paged)
    count = awaiting(items, lacking_pages(items, shelf, latest))
    return count + sum(awaiting(batch, {}) for batch in store.sheets_in_doubt(paged))


def _queue_sheets(items: list[StoredSheet], lacking: dict[int, SheetRead], shelf: TemplateShelf,
                  latest: dict) -> list[SheetItem]:
    """The review's view of stored sheets; those whose ballot lacks a page (`lacking`: their reads with
    the reason said) need a decision on the whole sheet."""
    sheets = [build_sheet(x.id, lacking.get(x.id, x.read), shelf, latest) for x in items]
    for s in sheets:
        if s.id in lacking:
            s.sheet_needs_decision = True
    return sheets


def _paged_crossout(info: TemplateInfo | None) -> bool:
    """A cross-out ballot printed on more than one page: a page scanned without the others is not counted."""
    return info is not None and len(info.layout.pages) > 1 and has_crossout(info.template)


def lacking_pages(items: list[StoredSheet], shelf: TemplateShelf, latest: dict) -> dict[int, SheetRead]:
    """The pages of cross-out ballots scanned without another of their pages, as the tally finds them under
    the decisions in force (`latest`: a suspected copy is out of its ballot until a person says it is another
    ballot), each with the reason said: read alone, such a page may look decided, but the ballot cannot be
    counted; a person rescans the ballot or rejects it."""
    paged = {fp: info.template for fp in sorted({x.read.fingerprint for x in items}, key=str)
             if _paged_crossout(info := shelf.get(fp))}
    reads = {x.id: x.read for x in items if x.read.fingerprint in paged}
    out: dict[int, SheetRead] = {}
    for sid, (pages, lacking) in incomplete_ballots(list(reads.items()), latest, list(paged.values())).items():
        read = reads[sid]
        reason = Reason("ballot-page-missing", f"page {', '.join(map(str, lacking))} of {pages} of this ballot "
                        "was not scanned next to it: rescan the whole ballot, or reject it")
        out[sid] = replace(read, status=SHEET_REVIEW, reasons=read.reasons + (reason,))
    return out


def same_page_before(read: SheetRead, store_items: list[StoredSheet]) -> int | None:
    """For a page of a cross-out ballot scanned without its other pages: the sheet id of the nearest page
    before it in the same file that is the same page of the same ballot design. A sheet jammed in the feeder
    is fed again at once, so this is the scan a page fed twice most likely copies (nothing on a page 2 tells
    a copy by its ink: a person compares the two)."""
    if "ballot-page-missing" not in {r.code for r in read.reasons}:
        return None
    before = [x for x in store_items if (x.read.source, x.read.fingerprint, x.read.template_page) == (
        read.source, read.fingerprint, read.template_page) and x.read.page < read.page]
    return max(before, key=lambda x: x.read.page).id if before else None


_DUPLICATE = re.compile(r"the same sheet as (?P<path>.+) page (?P<page>\d+):")


def duplicate_of(read: SheetRead, store_items: list[StoredSheet]) -> int | None:
    """The sheet id of the earlier scan a 'duplicate' reason names, when it is stored."""
    for reason in read.reasons:
        if reason.code != "duplicate":
            continue
        m = _DUPLICATE.search(reason.detail)
        if not m:
            continue
        for other in store_items:
            if other.read.source == m.group("path") and other.read.page == int(m.group("page")):
                return other.id
    return None
