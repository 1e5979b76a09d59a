"""The one geometry: every printed and every read position, in millimetres from the top-left corner.

The generator draws exactly what a :class:`PageLayout` lists and the reader looks exactly where it
says; nobody else computes coordinates. Fiducials and the QR code sit at the same place on every
template of a paper size, so a scan is registered and identified before its template is known.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from omr.ballot.fonts import PT_TO_MM, text_width_mm, wrap_text
from omr.ballot.paper import PAPER_SIZES_MM

if TYPE_CHECKING:  # the layout reads templates; the template module asks the layout what fits
    from omr.ballot.template import Contest, Template

LAYOUT_VERSION = "2"

FIDUCIAL_SIZE = 10.0  # ArUco DICT_4X4_50 marker, 6x6 cells of 1.67 mm
FIDUCIAL_INSET = 7.0  # paper edge to the marker's outer edge (nothing printed within 5 mm)
ARUCO_DICTIONARY = "DICT_4X4_50"
# Distinct markers per paper size (no mistaking one for the other), chosen among DICT_4X4_50 for having
# no black cell surrounded by black: adaptive 1-bit scanning hollows such solid areas out and the
# marker no longer reads (markers 0 and 2 lost 3.5 % of simulated 1-bit pages that way).
FIDUCIAL_IDS = {
    "A4": {"top_left": 8, "top_right": 5, "bottom_right": 32, "bottom_left": 33},
    "Letter": {"top_left": 19, "top_right": 24, "bottom_right": 46, "bottom_left": 4},
}
QR_SIZE = 20.0
QR_GAP = 5.0  # between the bottom-left fiducial and the QR code
BOX_SIZE = 6.0
BOX_LINE = 0.35  # printed box outline width
INK_MARGIN = 4.0  # voter ink may run this far past a box edge and still belong to it
MARGIN_X = 15.0
CONTENT_TOP = 20.0
CONTENT_BOTTOM_GAP = 32.0  # from the paper's bottom edge: footer band, QR and fiducials below

# Confidence table: STT | name | position | one column per level
COL_STT, COL_NAME, COL_POSITION, COL_LEVEL = 10.0, 55.0, 55.0, 20.0
TABLE_HEAD_H = 14.0
ROW_H = 12.0
NAME_PT, POSITION_PT, CELL_PT = 11.0, 10.0, 9.5
CHOICE_ROW_H = 10.0
HEADER_PT = 10.0
HEADER_BLOCK_W = 88.0


@dataclass(frozen=True)
class Rect:
    x: float
    y: float
    w: float
    h: float

    @property
    def cx(self) -> float:
        return self.x + self.w / 2

    @property
    def cy(self) -> float:
        return self.y + self.h / 2

    def grow(self, d: float) -> Rect:
        return Rect(self.x - d, self.y - d, self.w + 2 * d, self.h + 2 * d)


@dataclass(frozen=True)
class Fiducial:
    corner: str  # top_left | top_right | bottom_right | bottom_left
    marker_id: int
    rect: Rect


@dataclass(frozen=True)
class Box:
    """A mark box: the printed square outline the voter marks."""

    contest_id: str
    row_id: str  # person id for confidence contests, the contest id otherwise
    option_id: str
    rect: Rect


@dataclass(frozen=True)
class NameCell:
    """A printed name (confidence rows): a line through it voids the row."""

    contest_id: str
    row_id: str
    rect: Rect  # the table cell
    text_rect: Rect  # where the printed letters are


@dataclass(frozen=True)
class TextItem:
    text: str
    x: float  # anchor: left, centre or right edge according to align
    baseline: float
    style: str  # regular | bold | italic | bolditalic
    size_pt: float
    align: str = "left"


@dataclass(frozen=True)
class Line:
    x1: float
    y1: float
    x2: float
    y2: float
    width: float = 0.3


@dataclass(frozen=True)
class PageLayout:
    number: int  # 1-based
    count: int
    width: float
    height: float
    fiducials: tuple[Fiducial, ...]
    qr: Rect
    boxes: tuple[Box, ...]
    name_cells: tuple[NameCell, ...]
    ink_zones: tuple[Rect, ...]  # where voter ink is expected: boxes grown by INK_MARGIN
    texts: tuple[TextItem, ...]
    lines: tuple[Line, ...]
    footer: Rect  # band for page numbers, test-deck and serial text; the reader ignores it


@dataclass(frozen=True)
class BallotLayout:
    template_id: str
    fingerprint: str
    layout_version: str
    paper: str
    pages: tuple[PageLayout, ...] = field(default_factory=tuple)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def text_rect(t: TextItem) -> Rect:
    """Where a printed text line's letters are, in page mm (cap height above the baseline, descenders
    below), from its anchor and alignment."""
    w = text_width_mm(t.text, t.style, t.size_pt)
    x = t.x - (w if t.align == "right" else w / 2 if t.align == "center" else 0.0)
    h = t.size_pt * PT_TO_MM
    return Rect(round(x, 3), round(t.baseline - 0.75 * h, 3), round(w, 3), round(h, 3))


def fingerprint(template: Template) -> str:
    """SHA-256 of the canonical template and the layout version: what every page's QR carries."""
    canonical = json.dumps(template.canonical(), sort_keys=True, ensure_ascii=False,
                           separators=(",", ":"))
    return hashlib.sha256(f"{canonical}\nlayout:{LAYOUT_VERSION}".encode()).hexdigest()


def page_frame(paper: str) -> tuple[tuple[Fiducial, ...], Rect]:
    """Fiducials and QR region of a paper size: the same for every template."""
    width, height = PAPER_SIZES_MM[paper]
    s, m = FIDUCIAL_SIZE, FIDUCIAL_INSET
    ids = FIDUCIAL_IDS[paper]
    fids = (
        Fiducial("top_left", ids["top_left"], Rect(m, m, s, s)),
        Fiducial("top_right", ids["top_right"], Rect(width - m - s, m, s, s)),
        Fiducial("bottom_right", ids["bottom_right"], Rect(width - m - s, height - m - s, s, s)),
        Fiducial("bottom_left", ids["bottom_left"], Rect(m, height - m - s, s, s)),
    )
    qr = Rect(m + s + QR_GAP, height - m - QR_SIZE, QR_SIZE, QR_SIZE)
    return fids, qr


# --- words printed by the layout itself -------------------------------------------------------

WORDS = {
    "vi": {"stt": "STT", "name": "Họ và tên", "position": "Chức vụ", "page": "Trang {p}/{n}",
           "continued": "(tiếp theo)", "choose_n": "Chọn không quá {n}",
           "choose_one": "Chọn 1", "confidence": "Đánh dấu X vào một ô cho mỗi người"},
    "en": {"stt": "No.", "name": "Full name", "position": "Position", "page": "Page {p} of {n}",
           "continued": "(continued)", "choose_n": "Vote for up to {n}",
           "choose_one": "Vote for 1", "confidence": "Mark one box for each person"},
}


def contest_instructions(contest: Contest, language: str, header_instructions: str = "") -> str:
    if contest.instructions:
        return contest.instructions
    w = WORDS[language]
    if contest.kind == "confidence":
        return "" if header_instructions else w["confidence"]
    if contest.kind == "choose":
        return w["choose_one"] if contest.max_marks == 1 else w["choose_n"].format(n=contest.max_marks)
    return ""


# --- flowing the contests onto pages ----------------------------------------------------------

LINE_GAP = 1.25  # line height as a multiple of the font size


def _line_h(size_pt: float) -> float:
    return size_pt * PT_TO_MM * LINE_GAP


@dataclass
class _Page:
    texts: list[TextItem] = field(default_factory=list)
    lines: list[Line] = field(default_factory=list)
    boxes: list[Box] = field(default_factory=list)
    names: list[NameCell] = field(default_factory=list)


class _Flow:
    """Places blocks top to bottom, opening a new page when one does not fit."""

    def __init__(self, template: Template):
        self.t = template
        self.width, self.height = template.paper_size_mm
        self.x0 = (self.width - 180.0) / 2
        self.x1 = self.x0 + 180.0
        self.bottom = self.height - CONTENT_BOTTOM_GAP
        self.pages: list[_Page] = []
        self.y = 0.0
        self.new_page()

    @property
    def page(self) -> _Page:
        return self.pages[-1]

    def new_page(self) -> None:
        self.pages.append(_Page())
        self.y = CONTENT_TOP
        if len(self.pages) == 1:
            self._first_header()
        else:
            self.paragraph(f"{self.t.header.title} {WORDS[self.t.language]['continued']}", "bold", 11,
                           align="center")
            self.y += 2

    def room(self) -> float:
        return self.bottom - self.y

    def text(self, text: str, x: float, baseline: float, style: str, size: float, align: str = "left") -> None:
        self.page.texts.append(TextItem(text, round(x, 3), round(baseline, 3), style, size, align))

    def paragraph(self, text: str, style: str, size: float, align: str = "left",
                  width: float | None = None, x: float | None = None) -> None:
        width = width if width is not None else self.x1 - self.x0
        x = x if x is not None else self.x0
        for line in wrap_text(text, style, size, width):
            self.y += _line_h(size)
            anchor = {"left": x, "center": x + width / 2, "right": x + width}[align]
            self.text(line, anchor, self.y - 0.25 * size * PT_TO_MM, style, size, align)

    def _first_header(self) -> None:
        h = self.t.header
        top = self.y
        left_cx = self.x0 + HEADER_BLOCK_W / 2
        right_cx = self.x1 - HEADER_BLOCK_W / 2
        y = top
        for i, line in enumerate(h.left):
            y += _line_h(HEADER_PT) + 1.0
            style = "regular" if i == 0 and len(h.left) > 1 else "bold"
            self.text(line, left_cx, y - 0.9, style, HEADER_PT, "center")
        if h.left:
            if self.t.language == "vi":  # the star under the issuing body is a Party-document convention
                self.text("*", left_cx, y + 4.0, "bold", 11, "center")
            y += 4.0
        y_left = y
        y = top
        for line in h.right:
            y += _line_h(HEADER_PT) + 1.0
            self.text(line, right_cx, y - 0.9, "bold", HEADER_PT, "center")
        if h.right:
            wide = max(text_width_mm(t, "bold", HEADER_PT) for t in h.right)
            self.page.lines.append(Line(right_cx - wide / 2, y + 0.6, right_cx + wide / 2, y + 0.6, 0.3))
        if h.place_date:
            y += _line_h(10.5) + 2.5
            self.text(h.place_date, right_cx, y - 0.9, "italic", 10.5, "center")
        self.y = max(y_left, y) + 7.0
        self.paragraph(h.title, "bold", 15, align="center")
        if h.subtitle:
            self.y += 1.0
            self.paragraph(h.subtitle, "bold", 11.5, align="center")
        if h.instructions:
            self.y += 2.0
            self.paragraph(h.instructions, "italic", 10.5, align="center")
        self.y += 5.0

    # -- contests --

    def confidence(self, c: Contest) -> None:
        rows = list(c.rows)
        number = 0
        first = True
        while rows:
            need_title = (7.0 if c.title else 0.0) + 5.5
            if self.room() < need_title + TABLE_HEAD_H + ROW_H:
                self.new_page()
            if first:
                if c.title:
                    self.paragraph(c.title, "bold", 12)
                instructions = contest_instructions(c, self.t.language, self.t.header.instructions)
                if instructions:
                    self.paragraph(instructions, "italic", 10)
                self.y += 2.0
                first = False
            fit = int((self.room() - TABLE_HEAD_H) // ROW_H)
            chunk, rows = rows[:fit], rows[fit:]
            self._table(c, chunk, number)
            number += len(chunk)
            self.y += 6.0
            if rows:
                self.new_page()

    def _columns(self, c: Contest) -> list[tuple[float, float]]:
        widths = [COL_STT, COL_NAME, COL_POSITION] + [COL_LEVEL] * len(c.options)
        extra = (180.0 - sum(widths)) / 2  # fewer or more levels: share the rest between name/position
        widths[1] += extra
        widths[2] += extra
        cols, x = [], self.x0
        for w in widths:
            cols.append((x, w))
            x += w
        return cols

    def _table(self, c: Contest, people: list, first_number: int) -> None:
        w = WORDS[self.t.language]
        cols = self._columns(c)
        top = self.y
        bottom = top + TABLE_HEAD_H + ROW_H * len(people)
        heads = [w["stt"], w["name"], w["position"]] + [o.label for o in c.options]
        for (x, cw), head in zip(cols, heads):
            lines = wrap_text(head, "bold", CELL_PT, cw - 2.0)
            lh = _line_h(CELL_PT)
            y = top + (TABLE_HEAD_H - lh * len(lines)) / 2
            for line in lines:
                y += lh
                self.text(line, x + cw / 2, y - 0.9, "bold", CELL_PT, "center")
        lines = self.page.lines
        for x, _ in cols:
            lines.append(Line(x, top, x, bottom, 0.3))
        lines.append(Line(self.x1, top, self.x1, bottom, 0.3))
        lines.append(Line(self.x0, top, self.x1, top, 0.3))
        for i, person in enumerate(people):
            ry = top + TABLE_HEAD_H + i * ROW_H
            lines.append(Line(self.x0, ry, self.x1, ry, 0.3))
            self._cell_text(str(first_number + i + 1), cols[0], ry, "regular", NAME_PT, "center")
            name_box = self._cell_text(person.name, cols[1], ry, "bold", NAME_PT, "left")
            self.page.names.append(NameCell(c.id, person.id, Rect(cols[1][0], ry, cols[1][1], ROW_H),
                                            name_box))
            if person.position:
                self._cell_text(person.position, cols[2], ry, "regular", POSITION_PT, "left")
            for (x, cw), option in zip(cols[3:], c.options):
                rect = Rect(round(x + (cw - BOX_SIZE) / 2, 3), round(ry + (ROW_H - BOX_SIZE) / 2, 3),
                            BOX_SIZE, BOX_SIZE)
                self.page.boxes.append(Box(c.id, person.id, option.id, rect))
        lines.append(Line(self.x0, bottom, self.x1, bottom, 0.3))
        self.y = bottom

    def _cell_text(self, text: str, col: tuple[float, float], row_y: float, style: str,
                   size: float, align: str) -> Rect:
        x, cw = col
        lines = wrap_text(text, style, size, cw - 4.0)
        lh = _line_h(size)
        y = row_y + (ROW_H - lh * len(lines)) / 2
        widest = 0.0
        for line in lines:
            y += lh
            anchor = x + 2.0 if align == "left" else x + cw / 2
            self.text(line, anchor, y - 0.25 * size * PT_TO_MM - 0.3, style, size, align)
            widest = max(widest, text_width_mm(line, style, size))
        left = x + 2.0 if align == "left" else x + (cw - widest) / 2
        block_h = lh * len(lines)
        return Rect(round(left, 3), round(row_y + (ROW_H - block_h) / 2, 3), round(widest, 3), round(block_h, 3))

    def choose(self, c: Contest) -> None:
        instructions = contest_instructions(c, self.t.language)
        option_rows = [len(wrap_text(o.label, "regular", NAME_PT, 160.0)) for o in c.options]
        if self.room() < _choice_height(c, self.t.language):
            self.new_page()
        self.page.lines.append(Line(self.x0, self.y, self.x1, self.y, 0.5))
        self.y += 1.0
        self.paragraph(c.title, "bold", 12)
        if instructions:
            self.paragraph(instructions, "italic", 10)
        self.y += 2.0
        if c.kind == "yesno":
            x = self.x0 + 4.0
            for option in c.options:
                self._option(c, option.id, option.label, x, self.y, CHOICE_ROW_H, 70.0)
                x += 80.0
            self.y += CHOICE_ROW_H
        else:
            for option, n in zip(c.options, option_rows):
                h = max(CHOICE_ROW_H, n * _line_h(NAME_PT) + 3.0)
                self._option(c, option.id, option.label, self.x0 + 4.0, self.y, h, 160.0)
                self.y += h
        self.y += 5.0

    def _option(self, c: Contest, option_id: str, label: str, x: float, y: float, h: float,
                label_w: float) -> None:
        rect = Rect(round(x, 3), round(y + (h - BOX_SIZE) / 2, 3), BOX_SIZE, BOX_SIZE)
        self.page.boxes.append(Box(c.id, c.id, option_id, rect))
        lines = wrap_text(label, "regular", NAME_PT, label_w)
        lh = _line_h(NAME_PT)
        ty = y + (h - lh * len(lines)) / 2
        for line in lines:
            ty += lh
            self.text(line, x + BOX_SIZE + 4.0, ty - 0.25 * NAME_PT * PT_TO_MM - 0.3, "regular", NAME_PT)


def _choice_height(c: Contest, language: str) -> float:
    """Height a choose or yes/no contest needs: it is never split across pages."""
    instructions = contest_instructions(c, language)
    title_h = _line_h(12) * len(wrap_text(c.title, "bold", 12, 180.0))
    instr_h = _line_h(10) * len(wrap_text(instructions, "italic", 10, 180.0)) if instructions else 0.0
    if c.kind == "yesno":
        body = CHOICE_ROW_H
    else:
        body = sum(max(CHOICE_ROW_H, len(wrap_text(o.label, "regular", NAME_PT, 160.0)) * _line_h(NAME_PT) + 3.0)
                   for o in c.options)
    return title_h + instr_h + body + 6.0


def layout(template: Template) -> BallotLayout:
    """Every page of a template: what is printed where, and where the reader looks."""
    flow = _Flow(template)
    for contest in template.contests:
        if contest.kind == "confidence":
            flow.confidence(contest)
        else:
            flow.choose(contest)
    width, height = template.paper_size_mm
    fids, qr = page_frame(template.paper)
    count = len(flow.pages)
    footer = Rect(qr.x + qr.w + 4.0, height - 17.0, width - 2 * (qr.x + qr.w + 4.0), 10.0)
    pages = []
    for number, page in enumerate(flow.pages, start=1):
        page_text = WORDS[template.language]["page"].format(p=number, n=count)
        texts = page.texts + [TextItem(page_text, footer.x + footer.w, footer.y + footer.h - 1.0, "regular",
                                       9, "right")]
        pages.append(PageLayout(
            number=number, count=count, width=width, height=height, fiducials=fids, qr=qr,
            boxes=tuple(page.boxes), name_cells=tuple(page.names),
            ink_zones=tuple(b.rect.grow(INK_MARGIN) for b in page.boxes),
            texts=tuple(texts), lines=tuple(page.lines), footer=footer,
        ))
    return BallotLayout(template.id, fingerprint(template), LAYOUT_VERSION, template.paper, tuple(pages))


def fit_problems(template: Template, line_of: Callable[[tuple], int | None]) -> list[tuple[int | None, str]]:
    """Text too long for its printed cell, as (line, message) pairs."""
    problems: list[tuple[int | None, str]] = []
    x_width = 180.0
    if len(wrap_text(template.header.title, "bold", 15, x_width)) > 2:
        problems.append((line_of(("header", "title")), "header.title: the title needs more than 2 lines; "
                         "shorten it or move words to the subtitle"))
    for i, line in enumerate(template.header.left + template.header.right):
        if text_width_mm(line, "bold", HEADER_PT) > HEADER_BLOCK_W:
            side, j = ("left", i) if i < len(template.header.left) else ("right", i - len(template.header.left))
            problems.append((line_of(("header", side, j)),
                             f"header.{side}[{j}]: the line is wider than its {HEADER_BLOCK_W:.0f} mm block; "
                             "split it into two lines"))
    for ci, c in enumerate(template.contests):
        if c.kind == "confidence":
            name_w = COL_NAME + (180.0 - COL_STT - COL_NAME - COL_POSITION - COL_LEVEL * len(c.options)) / 2
            if name_w < 30.0:
                problems.append((line_of(("contests", ci, "levels")),
                                 f"contests[{ci}].levels: {len(c.options)} levels leave no room for names"))
                continue
            for ri, p in enumerate(c.rows):
                if len(wrap_text(p.name, "bold", NAME_PT, name_w - 4.0)) > 2:
                    problems.append((line_of(("contests", ci, "rows", ri, "name")),
                                     f"contests[{ci}].rows[{ri}].name: '{p.name}' is too long for its "
                                     f"{name_w:.0f} mm cell (2 lines at most)"))
                if len(wrap_text(p.position, "regular", POSITION_PT, name_w - 4.0)) > 2:
                    problems.append((line_of(("contests", ci, "rows", ri, "position")),
                                     f"contests[{ci}].rows[{ri}].position: too long for its "
                                     f"{name_w:.0f} mm cell (2 lines at most)"))
            for oi, o in enumerate(c.options):
                if len(wrap_text(o.label, "bold", CELL_PT, COL_LEVEL - 2.0)) > 3:
                    problems.append((line_of(("contests", ci, "levels", oi, "label")),
                                     f"contests[{ci}].levels[{oi}].label: too long for its "
                                     f"{COL_LEVEL:.0f} mm column (3 lines at most)"))
        else:
            key = "options"
            width = 70.0 if c.kind == "yesno" else 160.0
            for oi, o in enumerate(c.options):
                if len(wrap_text(o.label, "regular", NAME_PT, width)) > (1 if c.kind == "yesno" else 3):
                    problems.append((line_of(("contests", ci, key, oi, "label")),
                                     f"contests[{ci}].{key}[{oi}].label: too long for its {width:.0f} mm "
                                     "line"))
        if len(wrap_text(c.title, "bold", 12, x_width)) > 3:
            problems.append((line_of(("contests", ci, "title")),
                             f"contests[{ci}].title: more than 3 lines; shorten it"))
    if not problems:
        # a contest taller than a page cannot be printed: measure it as the layout will place it,
        # on a page that starts with the continuation title
        height = template.paper_size_mm[1]
        continued = f"{template.header.title} {WORDS[template.language]['continued']}"
        room = (height - CONTENT_BOTTOM_GAP - CONTENT_TOP - 2.0
                - _line_h(11) * len(wrap_text(continued, "bold", 11, x_width)))
        for ci, c in enumerate(template.contests):
            if c.kind == "choose" and _choice_height(c, template.language) > room:
                problems.append((line_of(("contests", ci, "options")),
                                 f"contests[{ci}].options: {len(c.options)} options do not fit on one page; "
                                 "split the contest"))
    return problems
