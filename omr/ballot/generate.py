"""Ballots and test decks as vector PDF, drawn only from the layout.

Text stays text (Be Vietnam Pro, embedded as a subset), fiducials and QR codes are vector squares,
so the printed sheet is exactly what :mod:`omr.ballot.layout` says and the reader can find it again.
"""

from __future__ import annotations

import io
import itertools
from dataclasses import dataclass

import cv2
import numpy as np
import segno
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas

from omr.ballot.fonts import register_fonts, ttfont
from omr.ballot.layout import BallotLayout, PageLayout, Rect, layout
from omr.ballot.sheetcode import SheetCode, encode_sheet_code
from omr.ballot.template import Contest, Template

TEST_WORDS = {"vi": "PHIẾU THỬ — KHÔNG DÙNG ĐỂ KIỂM PHIẾU", "en": "TEST DECK — NOT A VALID BALLOT"}
SERIAL_WORDS = {"vi": "Số phiếu", "en": "Ballot no."}


@dataclass(frozen=True)
class TestSheet:
    """One pre-marked test-deck sheet: for each page, the options marked per row."""

    number: int
    marks: dict[str, dict[str, tuple[str, ...]]]  # contest id -> row id -> marked option ids


def _aruco_cells(marker_id: int) -> np.ndarray:
    """6x6 cells (border included), True where the marker is black."""
    dictionary = cv2.aruco.getPredefinedDictionary(cv2.aruco.DICT_4X4_50)
    return cv2.aruco.generateImageMarker(dictionary, marker_id, 6) == 0


class _Page:
    """Millimetre drawing on a reportlab canvas (origin top-left, y down)."""

    def __init__(self, canvas: Canvas, height_mm: float):
        self.c = canvas
        self.h = height_mm

    def rect(self, r: Rect, stroke: float = 0.0, fill: bool = False) -> None:
        if stroke:
            self.c.setLineWidth(stroke * mm)
        self.c.rect(r.x * mm, (self.h - r.y - r.h) * mm, r.w * mm, r.h * mm,
                    stroke=1 if stroke else 0, fill=1 if fill else 0)

    def cells(self, matrix: np.ndarray, r: Rect) -> None:
        """Black cells of a boolean matrix filling the rectangle, as one path."""
        rows, cols = matrix.shape
        cw, ch = r.w / cols, r.h / rows
        path = self.c.beginPath()
        for i, j in zip(*np.nonzero(matrix)):
            path.rect((r.x + j * cw) * mm, (self.h - r.y - (i + 1) * ch) * mm, cw * mm, ch * mm)
        self.c.drawPath(path, stroke=0, fill=1)

    def line(self, x1: float, y1: float, x2: float, y2: float, width: float) -> None:
        self.c.setLineWidth(width * mm)
        self.c.line(x1 * mm, (self.h - y1) * mm, x2 * mm, (self.h - y2) * mm)

    def text(self, text: str, x: float, baseline: float, style: str, size: float, align: str) -> None:
        self.c.setFont(ttfont(style).fontName, size)
        draw = {"left": self.c.drawString, "center": self.c.drawCentredString,
                "right": self.c.drawRightString}[align]
        draw(x * mm, (self.h - baseline) * mm, text)


def draw_page(page: _Page, pl: PageLayout, code: SheetCode) -> None:
    """Everything the layout lists for one page, and its QR code."""
    c = page.c
    c.setStrokeColorRGB(0, 0, 0)
    c.setFillColorRGB(0, 0, 0)
    c.setLineCap(0)
    for f in pl.fiducials:
        page.cells(_aruco_cells(f.marker_id), f.rect)
    qr = segno.make_qr(encode_sheet_code(code), error="m", mode="alphanumeric", boost_error=False)
    page.cells(np.array(qr.matrix, dtype=bool), pl.qr)
    for ln in pl.lines:
        page.line(ln.x1, ln.y1, ln.x2, ln.y2, ln.width)
    for t in pl.texts:
        page.text(t.text, t.x, t.baseline, t.style, t.size_pt, t.align)
    from omr.ballot.layout import BOX_LINE

    for box in pl.boxes:
        page.rect(box.rect, stroke=BOX_LINE)


FOOTER_TEXT_W = 0.78  # share of the footer band left of the page number


def _footer_line(page: _Page, pl: PageLayout, text: str, line: int, style: str = "bold", size: float = 7.0) -> None:
    f = pl.footer
    page.text(text, f.x, f.y + 2.6 + line * 2.6, style, size, "left")


def draw_mark(page: _Page, r: Rect) -> None:
    """A bold pen X across a box, the way the instructions ask voters to mark."""
    inset = 0.9
    page.line(r.x + inset, r.y + inset, r.x + r.w - inset, r.y + r.h - inset, 0.8)
    page.line(r.x + r.w - inset, r.y + inset, r.x + inset, r.y + r.h - inset, 0.8)


def _new_canvas(buffer: io.BytesIO, template: Template, title: str) -> Canvas:
    register_fonts()
    w, h = template.paper_size_mm
    # initialFontName: without it reportlab starts every page with an unembedded Helvetica.
    canvas = Canvas(buffer, pagesize=(w * mm, h * mm), invariant=1, pageCompression=1,
                    initialFontName=ttfont("regular").fontName)
    canvas.setTitle(title)
    canvas.setAuthor("Ballot OMR")
    canvas.setCreator("Ballot OMR")
    return canvas


def ballots_pdf(template: Template, copies: int = 1) -> bytes:
    """Print-ready official ballots: every page of the template, `copies` times."""
    bl = layout(template)
    buffer = io.BytesIO()
    canvas = _new_canvas(buffer, template, template.header.title)
    serial = itertools.count(1)
    for _ in range(copies):
        number = next(serial) if template.serial_numbers else None
        for pl in bl.pages:
            page = _Page(canvas, pl.height)
            draw_page(page, pl, SheetCode(bl.fingerprint, pl.number, pl.count, False, number))
            if number is not None:
                _footer_line(page, pl, f"{SERIAL_WORDS[template.language]} {number:06d}", 0, "regular", 8)
            canvas.showPage()
    canvas.save()
    return buffer.getvalue()


def test_deck_votes(template: Template, sheets: int | None = None) -> list[TestSheet]:
    """Pre-marked votes that exercise every option of every row, plus a blank and an overvote sheet.

    Sheet k marks, in each row, option (k + row index) mod n; so the first n sheets cover every
    option of every row. Then a sheet with nothing marked and a sheet with two marks per row.
    """
    def rows(contest: Contest) -> tuple[str, ...]:
        return contest.row_ids

    if any(c.kind == "crossout" for c in template.contests):
        return _crossout_deck(template, sheets)
    width = max(len(c.options) for c in template.contests)
    count = sheets if sheets is not None else width + 2
    deck: list[TestSheet] = []
    for k in range(count):
        marks: dict[str, dict[str, tuple[str, ...]]] = {}
        kind = "blank" if k == width else "over" if k == width + 1 else "one"
        for c in template.contests:
            ids = [o.id for o in c.options]
            per_row: dict[str, tuple[str, ...]] = {}
            for r, row in enumerate(rows(c)):
                first = ids[(k + r) % len(ids)]
                if kind == "blank":
                    per_row[row] = ()
                elif kind == "over":
                    limit = c.max_marks + 1 if c.kind == "choose" else 2
                    per_row[row] = tuple(ids[(k + r + i) % len(ids)] for i in range(min(limit, len(ids))))
                else:
                    take = c.max_marks if c.kind == "choose" else 1
                    per_row[row] = tuple(ids[(k + r + i) % len(ids)] for i in range(take))
                    if not per_row[row]:
                        per_row[row] = (first,)
            marks[c.id] = per_row
        deck.append(TestSheet(k + 1, marks))
    return deck


def _crossout_deck(template: Template, sheets: int | None) -> list[TestSheet]:
    """Pre-struck ballots that exercise the rules: K names left (the first, then the last K), one name
    fewer than K left, nothing struck (more names left than K), everything struck; then K left again,
    shifted along the list. The agree style: Đồng ý for the first K, Không đồng ý for the others, both,
    neither."""
    c = template.contests[0]
    ids = list(c.row_ids)
    n, k = len(ids), c.seats
    count = sheets if sheets is not None else 5
    deck: list[TestSheet] = []
    for i in range(count):
        if c.style == "agree":
            yes, no = c.options[0].id, c.options[1].id
            pattern = i % 4
            rows = {r: ((yes,) if (j - i) % n < k else (no,)) if pattern < 2 else
                    ((yes, no) if pattern == 2 else ()) for j, r in enumerate(ids)}
        else:
            left = {0: ids[:k], 1: ids[n - k:], 2: ids[:max(k - 1, 1)], 3: ids, 4: []}.get(
                i, [ids[(i + j) % n] for j in range(k)])
            rows = {r: (() if r in left else (c.options[0].id,)) for r in ids}
        deck.append(TestSheet(i + 1, {c.id: rows}))
    return deck


def draw_strike(page: _Page, line: Rect) -> None:
    """A pen line through one printed line of a name, overshooting it a little."""
    page.line(line.x - 1.5, line.cy + 0.3, line.x + line.w + 1.5, line.cy - 0.3, 0.6)


def draw_test_stamp(page: _Page, zone: Rect) -> None:
    """A grey ring in the stamp area of a test-deck ballot: the reader finds a stamp there, as on an
    issued ballot (the sheet is still never counted: its QR code says "test")."""
    c = page.c
    r = min(zone.w, zone.h) / 2 - 2.0
    cx, cy = zone.x + r + 1.0, zone.cy
    c.setStrokeColorRGB(0.45, 0.45, 0.45)
    c.setFillColorRGB(0.45, 0.45, 0.45)
    for radius, width in ((r, 0.8), (r - 1.4, 0.5), (r * 0.55, 0.5)):
        c.setLineWidth(width * mm)
        c.circle(cx * mm, (page.h - cy) * mm, radius * mm, stroke=1, fill=0)
    page.text(TEST_WORDS["vi"].split(" —")[0], cx, cy + 1.2, "bold", 7, "center")
    c.setStrokeColorRGB(0, 0, 0)
    c.setFillColorRGB(0, 0, 0)


def test_deck_pdf(template: Template, deck: list[TestSheet]) -> bytes:
    """Test-deck ballots (QR flag T, never counted) carrying the marks of `deck`, each page
    printing in its footer band the votes it carries."""
    bl: BallotLayout = layout(template)
    buffer = io.BytesIO()
    canvas = _new_canvas(buffer, template, f"{template.header.title} — test deck")
    words = TEST_WORDS[template.language]
    for sheet in deck:
        for pl in bl.pages:
            page = _Page(canvas, pl.height)
            draw_page(page, pl, SheetCode(bl.fingerprint, pl.number, pl.count, True))
            summary = []
            for box in pl.boxes:
                if box.option_id in sheet.marks.get(box.contest_id, {}).get(box.row_id, ()):
                    draw_mark(page, box.rect)
            if pl.stamp is not None:
                draw_test_stamp(page, pl.stamp)
            for cell in pl.strike_cells:
                if sheet.marks.get(cell.contest_id, {}).get(cell.row_id, ()):
                    for line in cell.lines:
                        draw_strike(page, line)
            seen_rows: list[tuple[str, str]] = []
            for box in pl.boxes:
                if (box.contest_id, box.row_id) not in seen_rows:
                    seen_rows.append((box.contest_id, box.row_id))
            seen_rows += [(cell.contest_id, cell.row_id) for cell in pl.strike_cells]
            for contest_id, row_id in seen_rows:
                chosen = sheet.marks.get(contest_id, {}).get(row_id, ())
                summary.append(f"{row_id}={'+'.join(chosen) if chosen else '-'}")
            narrow = pl.footer.w < 80.0  # A5: the footer band is 56 mm wide
            _footer_line(page, pl, f"{words} · #{sheet.number}/{len(deck)}", 0, size=4.6 if narrow else 7.0)
            _footer_wrapped(page, pl, " ".join(summary))
            canvas.showPage()
    canvas.save()
    return buffer.getvalue()


def _footer_wrapped(page: _Page, pl: PageLayout, text: str) -> None:
    from omr.ballot.fonts import wrap_text

    size = 6.0
    width = pl.footer.w * FOOTER_TEXT_W
    lines = wrap_text(text, "regular", size, width)
    if len(lines) > 2:  # long decks: shrink rather than spill out of the band
        size = 4.5
        lines = wrap_text(text, "regular", size, width)
    if len(lines) > 2 and pl.footer.w < 80.0:  # A5: two lines of the page's band at most
        size = 3.2
        lines = wrap_text(text, "regular", size, width)
    for i, line in enumerate(lines[:3 if pl.footer.w >= 80.0 else 2]):
        _footer_line(page, pl, line, i + 1, "regular", size)


# Not pytest tests, despite their names.
test_deck_votes.__test__ = False  # type: ignore[attr-defined]
test_deck_pdf.__test__ = False  # type: ignore[attr-defined]
draw_test_stamp.__test__ = False  # type: ignore[attr-defined]
