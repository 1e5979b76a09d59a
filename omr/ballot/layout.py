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
    "A5": {"top_left": 13, "top_right": 27, "bottom_right": 39, "bottom_left": 43},
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
CONTENT_W = 180.0  # the printed width on A4 and Letter; narrower paper (A5) keeps MARGIN_NARROW each side
MARGIN_NARROW = 12.0

# Cross-out election ballot: STT | name (Ông/Bà, the name, another line) | date of birth | [Đồng ý | Không đồng ý]
CROSS_ROW_H = 10.0  # a one-line name; generous: a hand strikes a name without touching the next
CROSS_NAME_PT, CROSS_OTHER_PT = 12.0, 9.0
COL_BORN, COL_AGREE = 26.0, 20.0
CROSS_HEAD_H = 8.0
STRIKE_ZONE_OVERSHOOT = 8.0  # a strike may run this far past the table's sides and still belong to its row
STAMP_H = 36.0  # the stamp area, top left: the committee's round stamp (dấu) is pressed there


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
    """A printed name: on a confidence row a line through it voids the row; on a cross-out ballot
    (PageLayout.strike_cells) a line through it is the vote."""

    contest_id: str
    row_id: str
    rect: Rect  # the table cell
    text_rect: Rect  # where the printed letters are
    lines: tuple[Rect, ...] = ()  # cross-out names: each printed line of the name (one struck line is enough)
    row: Rect | None = None  # cross-out names: the row's ink zone (the table's width and the margins a strike may
    #                          overshoot into), whose ink beside the name is read too
    prefix: Rect | None = None  # cross-out names: the "Ông"/"Bà" printed before the name, which a hand's strike
    #                             through the name often crosses too


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
    strike_cells: tuple[NameCell, ...] = ()  # cross-out ballots: the candidates' names, read for strikes
    stamp: Rect | None = None  # cross-out ballots: where the committee's stamp is pressed


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
           "choose_one": "Chọn 1", "confidence": "Đánh dấu X vào một ô cho mỗi người",
           "seats": "Số lượng được bầu: {k}", "born": "Ngày sinh",
           "strike_state": "Cử tri gạch ngang họ và tên người mình không bầu",
           "strike_party": "Đồng chí gạch ngang họ và tên người mình không bầu",
           "strike_mass": "Gạch ngang họ và tên người mình không bầu",
           "agree": "Đánh dấu X vào một trong hai ô \"Đồng ý\" hoặc \"Không đồng ý\" cho mỗi người"},
    "en": {"stt": "No.", "name": "Full name", "position": "Position", "page": "Page {p} of {n}",
           "continued": "(continued)", "choose_n": "Vote for up to {n}",
           "choose_one": "Vote for 1", "confidence": "Mark one box for each person",
           "seats": "Number to elect: {k}", "born": "Born",
           "strike_state": "Strike out the full name of each candidate you do not choose",
           "strike_party": "Strike out the full name of each candidate you do not choose",
           "strike_mass": "Strike out the full name of each candidate you do not choose",
           "agree": "Mark X in one box, \"Agree\" or \"Disagree\", for each person"},
}


def contest_instructions(contest: Contest, language: str, header_instructions: str = "") -> str:
    if contest.instructions:
        return contest.instructions
    w = WORDS[language]
    if contest.kind == "confidence":
        return "" if header_instructions else w["confidence"]
    if contest.kind == "choose":
        return w["choose_one"] if contest.max_marks == 1 else w["choose_n"].format(n=contest.max_marks)
    if contest.kind == "crossout":
        return w["agree"] if contest.style == "agree" else w[f"strike_{contest.regime}"]
    return ""


def content_width(paper: str) -> float:
    """The printed width: 180 mm on A4 and Letter, the paper less two narrow margins on A5."""
    return min(CONTENT_W, PAPER_SIZES_MM[paper][0] - 2 * MARGIN_NARROW)


def header_block_width(paper: str) -> float:
    return min(HEADER_BLOCK_W, (content_width(paper) - 4.0) / 2)


def header_pt(paper: str) -> float:
    """The header's font size: smaller on A5, where two blocks of 60 mm share the width."""
    return HEADER_PT if content_width(paper) >= CONTENT_W else 8.0


def has_crossout(template: Template) -> bool:
    return any(c.kind == "crossout" for c in template.contests)


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
    strikes: list[NameCell] = field(default_factory=list)
    zones: list[Rect] = field(default_factory=list)  # where voter ink is expected besides the boxes


class _Flow:
    """Places blocks top to bottom, opening a new page when one does not fit."""

    def __init__(self, template: Template):
        self.t = template
        self.width, self.height = template.paper_size_mm
        self.x0 = (self.width - content_width(template.paper)) / 2
        self.x1 = self.x0 + content_width(template.paper)
        self.block_w = header_block_width(template.paper)
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
        hp = header_pt(self.t.paper)
        top = self.y
        left_cx = self.x0 + self.block_w / 2
        right_cx = self.x1 - self.block_w / 2
        y = top
        for i, line in enumerate(h.left):
            y += _line_h(hp) + 1.0
            style = "regular" if i == 0 and len(h.left) > 1 else "bold"
            self.text(line, left_cx, y - 0.9, style, hp, "center")
        if h.left:
            if self.t.language == "vi":  # the star under the issuing body is a Party-document convention
                self.text("*", left_cx, y + 4.0, "bold", 11, "center")
            y += 4.0
        y_left = y
        y = top
        for line in h.right:
            y += _line_h(hp) + 1.0
            self.text(line, right_cx, y - 0.9, "bold", hp, "center")
        if h.right:
            wide = max(text_width_mm(t, "bold", hp) for t in h.right)
            self.page.lines.append(Line(right_cx - wide / 2, y + 0.6, right_cx + wide / 2, y + 0.6, 0.3))
        if h.place_date:
            y += _line_h(10.5) + 2.5
            self.text(h.place_date, right_cx, y - 0.9, "italic", 10.5, "center")
        self.y = max(y_left, y) + 7.0
        if has_crossout(self.t):  # the stamp is pressed over the issuing body's name: room for all of it
            self.y = max(self.y, CONTENT_TOP + STAMP_H + 1.0)
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


    # -- cross-out election ballots --

    def crossout(self, c: Contest) -> None:
        """Seats, instructions, then one row per candidate; a list longer than the page continues on the
        next pages of the same ballot (the table head again, rows numbered on): the rules judge the
        ballot's whole list, so the reader needs every page of it (omr.count.tally groups them)."""
        w = WORDS[self.t.language]
        if c.title:
            self.paragraph(c.title, "bold", 12, align="center")
        self.paragraph(w["seats"].format(k=c.seats), "bold", 11.5, align="center")
        instructions = contest_instructions(c, self.t.language)
        if instructions:
            self.paragraph(instructions, "italic", 10, align="center")
        self.y += 3.0
        cols = _crossout_columns(c, self.x0, self.x1 - self.x0)
        people = list(enumerate(c.candidates, start=1))
        while people:
            ry = top = self._crossout_head(c, cols)
            while people:
                h = crossout_row_height(people[0][1], cols["name"][1])
                if ry + h > self.bottom and ry > top:  # at least one row a page, never an empty table
                    break
                number, person = people.pop(0)
                self._crossout_row(c, person, number, cols, ry, h)
                ry += h
            self._crossout_frame(cols, top, ry)
            self.y = ry + 6.0
            if people:
                self.new_page()

    def _crossout_head(self, c: Contest, cols: dict) -> float:
        """The table's head row at the current height; returns where the first row starts."""
        w = WORDS[self.t.language]
        top = self.y
        heads = {"stt": w["stt"], "name": w["name"], "born": w["born"]}
        heads.update({o.id: o.label for o in c.options})
        for key, (x, cw) in cols.items():
            if key in heads:
                lines = wrap_text(heads[key], "bold", CELL_PT, cw - 2.0)
                lh = _line_h(CELL_PT)
                y = top + (CROSS_HEAD_H - lh * len(lines)) / 2
                for line in lines:
                    y += lh
                    self.text(line, x + cw / 2, y - 0.9, "bold", CELL_PT, "center")
        return top + CROSS_HEAD_H

    def _crossout_frame(self, cols: dict, top: float, bottom: float) -> None:
        top -= CROSS_HEAD_H
        lines = self.page.lines
        for x, _ in cols.values():
            lines.append(Line(x, top, x, bottom, 0.3))
        lines.append(Line(self.x1, top, self.x1, bottom, 0.3))
        lines.append(Line(self.x0, top, self.x1, top, 0.3))
        lines.append(Line(self.x0, bottom, self.x1, bottom, 0.3))

    def _crossout_row(self, c: Contest, person, number: int, cols: dict, ry: float, h: float) -> None:
        self.page.lines.append(Line(self.x0, ry, self.x1, ry, 0.3))
        if "stt" in cols:
            x, cw = cols["stt"]
            self.text(str(number), x + cw / 2, ry + h / 2 + 1.3, "regular", NAME_PT, "center")
        x, cw = cols["name"]
        lh = _line_h(CROSS_NAME_PT)
        other_h = _line_h(CROSS_OTHER_PT) if person.other else 0.0
        name_lines = _name_lines(person, cw)
        y = ry + (h - lh * len(name_lines) - other_h) / 2
        left = x + 2.0
        prefix = None
        if person.honorific:
            self.text(person.honorific, left, y + lh - 0.25 * CROSS_NAME_PT * PT_TO_MM - 0.3, "regular",
                      CROSS_NAME_PT)
            prefix = Rect(round(left, 3), round(y, 3),
                          round(text_width_mm(person.honorific, "regular", CROSS_NAME_PT), 3), round(lh, 3))
            left += text_width_mm(person.honorific + " ", "regular", CROSS_NAME_PT)
        rects = []
        for line in name_lines:
            self.text(line, left, y + lh - 0.25 * CROSS_NAME_PT * PT_TO_MM - 0.3, "bold", CROSS_NAME_PT)
            rects.append(Rect(round(left, 3), round(y, 3), round(text_width_mm(line, "bold", CROSS_NAME_PT), 3),
                              round(lh, 3)))
            y += lh
        if person.other:
            self.text(person.other, left, y + other_h - 0.25 * CROSS_OTHER_PT * PT_TO_MM - 0.3, "italic",
                      CROSS_OTHER_PT)
        text = Rect(rects[0].x, rects[0].y, max(r.w for r in rects), round(lh * len(rects), 3))
        zone = None
        if c.style == "strike":  # the strike may overshoot the table: all of that is the voter's vote
            over = min(STRIKE_ZONE_OVERSHOOT, self.x0 - 5.0)  # never into the 5 mm the reader leaves alone
            zone = Rect(self.x0 - over, ry, self.x1 - self.x0 + 2 * over, h)
            self.page.zones.append(zone)
        cell = NameCell(c.id, person.id, Rect(x, ry, cw, h), text, tuple(rects), zone, prefix)
        # the strike style reads the name; on the agree style the boxes are the vote and a line through the
        # name is looked for as on confidence ballots (a person decides)
        (self.page.strikes if c.style == "strike" else self.page.names).append(cell)
        if "born" in cols and person.born:
            bx, bw = cols["born"]
            yyyy, mm_, dd = person.born.split("-")
            self.text(f"{dd}/{mm_}/{yyyy}", bx + bw / 2, ry + h / 2 + 1.3, "regular", POSITION_PT, "center")
        for option in c.options:
            if option.id in cols:
                ox, ow = cols[option.id]
                rect = Rect(round(ox + (ow - BOX_SIZE) / 2, 3), round(ry + (h - BOX_SIZE) / 2, 3), BOX_SIZE, BOX_SIZE)
                self.page.boxes.append(Box(c.id, person.id, option.id, rect))


def _crossout_columns(c: Contest, x0: float, width: float) -> dict[str, tuple[float, float]]:
    """Column key -> (x, width): stt, name, born (when any date of birth is given), one per agree option."""
    fixed: list[tuple[str, float]] = []
    if c.numbered:
        fixed.append(("stt", COL_STT))
    fixed.append(("name", 0.0))
    if any(p.born for p in c.candidates):
        fixed.append(("born", COL_BORN))
    if c.style == "agree":
        fixed += [(o.id, COL_AGREE) for o in c.options]
    name_w = width - sum(w for _, w in fixed)
    out, x = {}, x0
    for key, w in fixed:
        w = w or name_w
        out[key] = (round(x, 3), round(w, 3))
        x += w
    return out


def _name_lines(person, cell_w: float) -> list[str]:
    room = cell_w - 4.0 - (text_width_mm(person.honorific + " ", "regular", CROSS_NAME_PT) if person.honorific else 0)
    return wrap_text(person.name, "bold", CROSS_NAME_PT, room)


def crossout_row_height(person, cell_w: float) -> float:
    lines = len(_name_lines(person, cell_w))
    other = _line_h(CROSS_OTHER_PT) if person.other else 0.0
    return round(max(CROSS_ROW_H, 5.0 + lines * _line_h(CROSS_NAME_PT) + other), 3)


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
        elif contest.kind == "crossout":
            flow.crossout(contest)
        else:
            flow.choose(contest)
    width, height = template.paper_size_mm
    fids, qr = page_frame(template.paper)
    count = len(flow.pages)
    footer = Rect(qr.x + qr.w + 4.0, height - 17.0, width - 2 * (qr.x + qr.w + 4.0), 10.0)
    pages = []
    hb = header_block_width(template.paper)
    stamp1 = Rect(flow.x0, CONTENT_TOP, hb, STAMP_H) if has_crossout(template) else None
    for number, page in enumerate(flow.pages, start=1):
        stamp = stamp1 if number == 1 else None  # one stamp a ballot, top left of its first page
        page_text = WORDS[template.language]["page"].format(p=number, n=count)
        texts = page.texts + [TextItem(page_text, footer.x + footer.w, footer.y + footer.h - 1.0, "regular",
                                       9, "right")]
        pages.append(PageLayout(
            number=number, count=count, width=width, height=height, fiducials=fids, qr=qr,
            boxes=tuple(page.boxes), name_cells=tuple(page.names),
            ink_zones=tuple(b.rect.grow(INK_MARGIN) for b in page.boxes) + tuple(page.zones)
            + ((stamp,) if stamp else ()),
            texts=tuple(texts), lines=tuple(page.lines), footer=footer,
            strike_cells=tuple(page.strikes), stamp=stamp,
        ))
    return BallotLayout(template.id, fingerprint(template), LAYOUT_VERSION, template.paper, tuple(pages))


def fit_problems(template: Template, line_of: Callable[[tuple], int | None]) -> list[tuple[int | None, str]]:
    """Text too long for its printed cell, as (line, message) pairs."""
    problems: list[tuple[int | None, str]] = []
    x_width = content_width(template.paper)
    block_w = header_block_width(template.paper)
    if x_width < CONTENT_W:
        for ci, c in enumerate(template.contests):
            if c.kind != "crossout":
                problems.append((line_of(("contests", ci, "kind")), f"contests[{ci}]: {template.paper} paper is "
                                 "for cross-out election ballots only; print this contest on A4"))
        if problems:
            return problems
    if len(wrap_text(template.header.title, "bold", 15, x_width)) > 2:
        problems.append((line_of(("header", "title")), "header.title: the title needs more than 2 lines; "
                         "shorten it or move words to the subtitle"))
    for i, line in enumerate(template.header.left + template.header.right):
        if text_width_mm(line, "bold", header_pt(template.paper)) > block_w:
            side, j = ("left", i) if i < len(template.header.left) else ("right", i - len(template.header.left))
            problems.append((line_of(("header", side, j)),
                             f"header.{side}[{j}]: the line is wider than its {block_w:.0f} mm block; "
                             "split it into two lines"))
    for ci, c in enumerate(template.contests):
        if c.kind == "crossout":
            problems += _crossout_fit(template, c, ci, line_of)
            continue
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


def _crossout_fit(template: Template, c: Contest, ci: int, line_of: Callable[[tuple], int | None]
                  ) -> list[tuple[int | None, str]]:
    """Names of at most two lines, and one contest a ballot (a long list continues on further pages)."""
    problems: list[tuple[int | None, str]] = []
    width = content_width(template.paper)
    name_w = _crossout_columns(c, 0.0, width)["name"][1]
    for ri, p in enumerate(c.candidates):
        if len(_name_lines(p, name_w)) > 2:
            problems.append((line_of(("contests", ci, "candidates", ri, "name")),
                             f"contests[{ci}].candidates[{ri}].name: '{p.name}' is too long for its "
                             f"{name_w:.0f} mm cell (2 lines at most)"))
        if p.other and text_width_mm(p.other, "italic", CROSS_OTHER_PT) > name_w - 4.0:
            problems.append((line_of(("contests", ci, "candidates", ri, "other")),
                             f"contests[{ci}].candidates[{ri}].other: longer than one line of its cell"))
    if problems:
        return problems
    if len([x for x in template.contests if x.kind == "crossout"]) > 1 or len(template.contests) > 1:
        return [(line_of(("contests",)), "a cross-out election ballot holds one contest (one list of candidates)")]
    return problems
