"""Generated ballots and test decks, checked on the pixels PDFium renders and on the PDF itself.

Every page of every bundled template is rendered once at 200 dpi (module-scoped fixture); the checks
read the fiducials, the QR code and every box back from those pixels and compare them with the layout.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import pypdf
import pytest
import zxingcpp

# aliases: names starting with "test" would be collected by pytest as tests
from omr.ballot.generate import SERIAL_WORDS, TEST_WORDS, ballots_pdf
from omr.ballot.generate import TestSheet as DeckSheet
from omr.ballot.generate import test_deck_pdf as deck_pdf_of
from omr.ballot.generate import test_deck_votes as deck_votes_of
from omr.ballot.layout import (
    BOX_LINE,
    FIDUCIAL_IDS,
    WORDS,
    BallotLayout,
    PageLayout,
    Rect,
    fingerprint,
    layout,
    page_frame,
)
from omr.ballot.sheetcode import SheetCode, decode_sheet_code
from omr.ballot.template import PAPER_SIZES_MM, Template, load_template

ROOT = Path(__file__).resolve().parents[1]
TEMPLATES = sorted((ROOT / "ballot_templates").glob("*.yaml"))
SEED = ROOT / "ballot_templates" / "tin-nhiem-cdyt-dong-nai-2023.yaml"
LEADERS = ROOT / "ballot_templates" / "tin-nhiem-28-lanh-dao.yaml"
GENERAL_EN = ROOT / "ballot_templates" / "general-election-en.yaml"

DPI = 200
K = DPI / 25.4  # pixels per millimetre
TOLERANCE_MM = 0.3
EDGE_WINDOW_MM = 1.0  # an outline edge is looked for this far either side of where the layout puts it
WHITE = 250  # grey level a blank spot must keep (0 black, 255 white)


# --- reading the pixels -----------------------------------------------------------------------


def detect_fiducials(gray: np.ndarray) -> dict[int, np.ndarray]:
    """ArUco DICT_4X4_50 markers: id -> 4 corners (TL, TR, BR, BL of the marker) in mm."""
    params = cv2.aruco.DetectorParameters()
    params.cornerRefinementMethod = cv2.aruco.CORNER_REFINE_SUBPIX
    detector = cv2.aruco.ArucoDetector(cv2.aruco.getPredefinedDictionary(cv2.aruco.DICT_4X4_50), params)
    corners, ids, _ = detector.detectMarkers(gray)
    found: dict[int, np.ndarray] = {}
    for c, i in zip(corners, [] if ids is None else ids.ravel()):
        assert int(i) not in found, f"marker {i} found twice"
        found[int(i)] = c.reshape(4, 2) / K
    return found


@dataclass(frozen=True)
class QrRead:
    text: str
    corners_mm: np.ndarray  # TL, TR, BR, BL


def read_qr(gray: np.ndarray, region: Rect | None = None, margin_mm: float = 5.0) -> list[QrRead]:
    """QR codes in a region (grown by its quiet zone) or on the whole page, positions in page mm."""
    x0 = y0 = 0
    image = gray
    if region is not None:
        r = region.grow(margin_mm)
        x0, y0 = max(0, int(r.x * K)), max(0, int(r.y * K))
        image = gray[y0:int(math.ceil((r.y + r.h) * K)), x0:int(math.ceil((r.x + r.w) * K))]
    reads = []
    for res in zxingcpp.read_barcodes(np.ascontiguousarray(image), formats=zxingcpp.BarcodeFormat.QRCode):
        p = res.position
        pts = np.array([[q.x + x0, q.y + y0] for q in (p.top_left, p.top_right, p.bottom_right, p.bottom_left)])
        reads.append(QrRead(res.text, pts / K))
    return reads


@dataclass(frozen=True)
class Edge:
    centre_mm: float  # where the printed line's ink is centred, across the line
    width_mm: float  # ink across the line (a solid line of width w gives w)
    peak: float  # darkest column of the mean profile, 0 (white) to 1 (black)
    gaps: int  # pixel rows along the line with no dark pixel (a broken outline)


@dataclass(frozen=True)
class BoxRead:
    left: Edge
    right: Edge
    top: Edge
    bottom: Edge
    interior_min: int  # darkest grey level inside the outline
    interior_dark: float  # share of interior pixels darker than mid-grey


def _edge(gray: np.ndarray, across_mm: float, along_lo_mm: float, along_hi_mm: float, vertical: bool) -> Edge:
    a0, a1 = int(round(along_lo_mm * K)), int(round(along_hi_mm * K))
    c0 = int(math.floor((across_mm - EDGE_WINDOW_MM) * K))
    c1 = int(math.ceil((across_mm + EDGE_WINDOW_MM) * K))
    patch = gray[a0:a1, c0:c1] if vertical else gray[c0:c1, a0:a1].T  # rows: along the line
    dark = (255.0 - patch.astype(np.float64)) / 255.0
    profile = dark.mean(axis=0)
    total = float(profile.sum())
    centre_px = c0 + float((np.arange(profile.size) + 0.5) @ profile) / total if total > 0 else float("nan")
    return Edge(centre_px / K, total / K, float(profile.max()), int((dark.max(axis=1) < 0.5).sum()))


def measure_box(gray: np.ndarray, r: Rect) -> BoxRead:
    """Measure a printed square outline near its expected place, from dark-pixel profiles.

    Each edge is measured over the middle 40% of its length, so a pen X inside the box (which
    runs corner to corner) stays out of the window.
    """
    lo, hi = 0.3, 0.7
    inner = 0.6  # mm inside the outline's centre line: clear of the stroke and its antialiasing
    interior = gray[int(math.ceil((r.y + inner) * K)):int((r.y + r.h - inner) * K),
                    int(math.ceil((r.x + inner) * K)):int((r.x + r.w - inner) * K)]
    return BoxRead(
        left=_edge(gray, r.x, r.y + lo * r.h, r.y + hi * r.h, True),
        right=_edge(gray, r.x + r.w, r.y + lo * r.h, r.y + hi * r.h, True),
        top=_edge(gray, r.y, r.x + lo * r.w, r.x + hi * r.w, False),
        bottom=_edge(gray, r.y + r.h, r.x + lo * r.w, r.x + hi * r.w, False),
        interior_min=int(interior.min()),
        interior_dark=float((interior < 128).mean()),
    )


def assert_outline_at(read: BoxRead, r: Rect, what: str) -> None:
    expected = {"left": r.x, "right": r.x + r.w, "top": r.y, "bottom": r.y + r.h}
    for side, want in expected.items():
        edge: Edge = getattr(read, side)
        assert edge.peak > 0.5, f"{what}: {side} edge not visible (peak darkness {edge.peak:.2f})"
        assert edge.gaps == 0, f"{what}: {side} edge broken ({edge.gaps} rows without ink)"
        assert abs(edge.width_mm - BOX_LINE) < 0.15, f"{what}: {side} edge {edge.width_mm:.2f} mm thick"
        assert abs(edge.centre_mm - want) <= TOLERANCE_MM, (
            f"{what}: {side} edge at {edge.centre_mm:.3f} mm, layout says {want:.3f} mm")


# --- the artefacts, generated and rendered once per template ----------------------------------


@dataclass
class Printed:
    path: Path
    template: Template
    layout: BallotLayout
    pdf: bytes
    pages: list[np.ndarray]
    deck: list[DeckSheet]
    deck_pdf: bytes
    deck_pages: list[np.ndarray]

    def official(self) -> Iterator[tuple[str, np.ndarray, PageLayout]]:
        for gray, pl in zip(self.pages, self.layout.pages):
            yield f"{self.path.stem} page {pl.number}", gray, pl

    def test_sheets(self) -> Iterator[tuple[str, np.ndarray, PageLayout, DeckSheet]]:
        n = len(self.layout.pages)
        for j, gray in enumerate(self.deck_pages):
            sheet, pl = self.deck[j // n], self.layout.pages[j % n]
            yield f"{self.path.stem} test sheet {sheet.number} page {pl.number}", gray, pl, sheet

    def every_page(self) -> Iterator[tuple[str, np.ndarray, PageLayout, SheetCode]]:
        fp = self.layout.fingerprint
        for what, gray, pl in self.official():
            yield what, gray, pl, SheetCode(fp, pl.number, pl.count, False, None)
        for what, gray, pl, _ in self.test_sheets():
            yield what, gray, pl, SheetCode(fp, pl.number, pl.count, True, None)


@pytest.fixture(scope="module", params=TEMPLATES, ids=lambda p: p.stem)
def printed(request, render) -> Printed:
    template = load_template(request.param)
    pdf = ballots_pdf(template)
    deck = deck_votes_of(template)
    deck_pdf = deck_pdf_of(template, deck)
    return Printed(request.param, template, layout(template), pdf, render(pdf, DPI), deck, deck_pdf,
                   render(deck_pdf, DPI))


def page_texts(pdf: bytes) -> list[str]:
    import io

    return [page.extract_text() for page in pypdf.PdfReader(io.BytesIO(pdf)).pages]


def flat(text: str) -> str:
    return " ".join(text.split())


# --- every page of every bundled template -----------------------------------------------------


def test_page_count_and_size(printed: Printed, pdf_page_sizes):
    n = len(printed.layout.pages)
    assert len(printed.pages) == n
    assert len(printed.deck_pages) == n * len(printed.deck)
    w, h = PAPER_SIZES_MM[printed.template.paper]
    for size in pdf_page_sizes(printed.pdf) + pdf_page_sizes(printed.deck_pdf):
        assert size == pytest.approx((w, h), abs=0.05)
    for gray in printed.pages + printed.deck_pages:
        # A5's 148 mm is 1165.4 px at this scale: PDFium rounds the page's width in points first
        assert abs(gray.shape[0] - round(h * K)) <= (1 if printed.template.paper == "A5" else 0)
        assert abs(gray.shape[1] - round(w * K)) <= (1 if printed.template.paper == "A5" else 0)


def test_four_fiducials_with_the_right_ids_at_layout_positions(printed: Printed):
    ids = FIDUCIAL_IDS[printed.template.paper]  # each paper size has its own four markers
    other = {i for paper, corners in FIDUCIAL_IDS.items() if paper != printed.template.paper for i in corners.values()}
    assert not other & set(ids.values())
    for what, gray, pl, _ in printed.every_page():
        found = detect_fiducials(gray)
        assert sorted(found) == sorted(ids.values()), f"{what}: markers {sorted(found)}"
        assert len(pl.fiducials) == 4
        for f in pl.fiducials:
            assert f.marker_id == ids[f.corner]
            r = f.rect
            expected = np.array([[r.x, r.y], [r.x + r.w, r.y], [r.x + r.w, r.y + r.h], [r.x, r.y + r.h]])
            error = np.abs(found[f.marker_id] - expected).max()
            assert error <= TOLERANCE_MM, f"{what}: {f.corner} marker {error:.3f} mm from its layout position"


def test_fiducials_sit_in_their_corners(printed: Printed):
    pl = printed.layout.pages[0]
    by_corner = {f.corner: f.rect for f in pl.fiducials}
    assert by_corner["top_left"].cx < pl.width / 2 and by_corner["top_left"].cy < pl.height / 2
    assert by_corner["top_right"].cx > pl.width / 2 and by_corner["top_right"].cy < pl.height / 2
    assert by_corner["bottom_right"].cx > pl.width / 2 and by_corner["bottom_right"].cy > pl.height / 2
    assert by_corner["bottom_left"].cx < pl.width / 2 and by_corner["bottom_left"].cy > pl.height / 2


def test_qr_code_identifies_every_page(printed: Printed):
    for what, gray, pl, expected in printed.every_page():
        reads = read_qr(gray, pl.qr)
        assert len(reads) == 1, f"{what}: {len(reads)} QR codes in the QR region"
        code = decode_sheet_code(reads[0].text)
        assert code == expected, f"{what}: QR says {code}"
        assert code.fingerprint == fingerprint(printed.template)
        # the symbol is where the layout says (zxing's corners lie on the finder patterns' outer corners)
        q = pl.qr
        xs, ys = reads[0].corners_mm[:, 0], reads[0].corners_mm[:, 1]
        assert q.x - 0.5 <= xs.min() and xs.max() <= q.x + q.w + 0.5, f"{what}: QR x {xs} vs {q}"
        assert q.y - 0.5 <= ys.min() and ys.max() <= q.y + q.h + 0.5, f"{what}: QR y {ys} vs {q}"
        assert xs.max() - xs.min() > q.w - 1.0 and ys.max() - ys.min() > q.h - 1.0, f"{what}: QR too small"


def test_the_only_qr_code_on_a_page_is_in_its_region(printed: Printed):
    for what, gray, pl in printed.official():
        reads = read_qr(gray)
        assert len(reads) == 1, f"{what}: {len(reads)} QR codes on the page"
        centre = reads[0].corners_mm.mean(axis=0)
        assert abs(centre[0] - pl.qr.cx) < 0.5 and abs(centre[1] - pl.qr.cy) < 0.5, what


def test_every_box_is_an_empty_square_at_its_place(printed: Printed):
    for what, gray, pl in printed.official():
        assert pl.boxes or pl.strike_cells, f"{what}: no boxes (and no names to strike)"
        for box in pl.boxes:
            r = box.rect
            label = f"{what} box {box.contest_id}/{box.row_id}/{box.option_id}"
            assert r.w == r.h >= 5.0, f"{label}: {r.w} x {r.h} mm"
            read = measure_box(gray, r)
            assert_outline_at(read, r, label)
            assert read.interior_min >= WHITE, f"{label}: ink inside an official ballot's box ({read.interior_min})"


def test_test_deck_boxes_are_marked_as_the_deck_says(printed: Printed):
    marked_seen = 0
    for what, gray, pl, sheet in printed.test_sheets():
        for box in pl.boxes:
            label = f"{what} box {box.contest_id}/{box.row_id}/{box.option_id}"
            read = measure_box(gray, box.rect)
            assert_outline_at(read, box.rect, label)
            if box.option_id in sheet.marks[box.contest_id][box.row_id]:
                marked_seen += 1
                assert read.interior_dark > 0.2, f"{label}: should be marked, {read.interior_dark:.0%} ink"
            else:
                assert read.interior_min >= WHITE, f"{label}: should be empty, has ink ({read.interior_min})"
    on_boxes = {c.id for c in printed.template.contests if c.kind != "crossout" or c.style == "agree"}
    assert marked_seen == sum(len(v) for s in printed.deck for cid, rows in s.marks.items() if cid in on_boxes
                              for v in rows.values())


def test_test_deck_covers_every_option_blank_and_overvote(printed: Printed):
    deck, t = printed.deck, printed.template
    assert [s.number for s in deck] == list(range(1, len(deck) + 1))
    for c in t.contests:
        if c.kind == "crossout":
            continue  # its deck follows the election rules (tests/test_crossout.py)
        for row in c.row_ids:
            chosen = [s.marks[c.id][row] for s in deck]
            assert {o for marks in chosen for o in marks} == {o.id for o in c.options}, (c.id, row)
            assert () in chosen, f"{c.id}/{row}: no blank sheet"
            assert any(len(m) > c.max_marks for m in chosen), f"{c.id}/{row}: no overvote"
            assert all(len(set(m)) == len(m) for m in chosen)


def test_nothing_printed_within_5_mm_of_the_paper_edge(printed: Printed):
    band = int(5.0 * K)  # whole pixels inside the 5 mm band
    for what, gray, _, _ in printed.every_page():
        h, w = gray.shape
        for name, strip in (("top", gray[:band]), ("bottom", gray[h - band:]), ("left", gray[:, :band]),
                            ("right", gray[:, w - band:])):
            assert strip.min() >= WHITE, f"{what}: ink within 5 mm of the {name} edge"
        # and the page is not blank inside the band
        assert gray[band:h - band, band:w - band].min() < 50, what


def test_vietnamese_text_extracts_as_the_nfc_template_strings(printed: Printed):
    t, bl = printed.template, printed.layout
    texts = page_texts(printed.pdf)
    assert len(texts) == len(bl.pages)
    for pl, text in zip(bl.pages, texts):
        assert unicodedata.is_normalized("NFC", text), f"page {pl.number}: text is not NFC"
        page = flat(text)
        expected = [WORDS[t.language]["page"].format(p=pl.number, n=pl.count)]
        if pl.number == 1:
            h = t.header
            expected += [*h.left, *h.right, h.place_date, h.title, h.subtitle, h.instructions]
        else:
            expected.append(f"{h.title} {WORDS[t.language]['continued']}")
        on_page = {b.contest_id for b in pl.boxes}
        rows_on_page = {b.row_id for b in pl.boxes}
        for c in t.contests:
            if c.id not in on_page:
                continue
            expected += [c.title, *(o.label for o in c.options), c.instructions]
            for person in c.rows:
                if person.id in rows_on_page:
                    expected += [person.name, person.position]
        for s in filter(None, expected):
            assert unicodedata.is_normalized("NFC", s)
            assert flat(s) in page, f"page {pl.number}: {s!r} not found in the PDF text"


def test_text_items_of_the_layout_are_all_printed(printed: Printed):
    for pl, text in zip(printed.layout.pages, page_texts(printed.pdf)):
        page = flat(text)
        for item in pl.texts:
            assert flat(item.text) in page, f"page {pl.number}: {item.text!r}"


def test_fonts_are_embedded(printed: Printed):
    import io

    for pdf in (printed.pdf, printed.deck_pdf):
        reader = pypdf.PdfReader(io.BytesIO(pdf))
        names = set()
        for page in reader.pages:
            fonts = page["/Resources"]["/Font"]
            assert len(fonts) >= 2
            for font in fonts.values():
                font = font.get_object()
                descriptor = font.get("/FontDescriptor")
                if descriptor is None and "/DescendantFonts" in font:
                    descriptor = font["/DescendantFonts"][0].get_object().get("/FontDescriptor")
                assert descriptor is not None, f"font {font.get('/BaseFont')} has no descriptor: not embedded"
                assert "/FontFile2" in descriptor.get_object(), f"font {font['/BaseFont']} is not embedded"
                assert "/ToUnicode" in font, f"font {font['/BaseFont']}: text cannot be extracted"
                names.add(str(font["/BaseFont"]).split("+")[-1])
        assert names <= {"BeVietnamPro-Regular", "BeVietnamPro-Bold", "BeVietnamPro-Italic",
                         "BeVietnamPro-BoldItalic"}, names


def test_test_deck_prints_the_votes_it_carries(printed: Printed):
    t = printed.template
    texts = page_texts(printed.deck_pdf)
    n = len(printed.layout.pages)
    for j, text in enumerate(texts):
        sheet, pl = printed.deck[j // n], printed.layout.pages[j % n]
        page = flat(text)
        assert f"{TEST_WORDS[t.language]} · #{sheet.number}/{len(printed.deck)}" in page
        rows = dict.fromkeys((b.contest_id, b.row_id) for b in pl.boxes)
        for contest_id, row_id in rows:
            chosen = sheet.marks[contest_id][row_id]
            assert f"{row_id}={'+'.join(chosen) if chosen else '-'}" in page.split(), (j, row_id)
    for text in page_texts(printed.pdf):
        assert TEST_WORDS[t.language] not in text


def test_layout_boxes_keep_clear_of_the_frame(printed: Printed):
    def overlap(a: Rect, b: Rect) -> bool:
        return a.x < b.x + b.w and b.x < a.x + a.w and a.y < b.y + b.h and b.y < a.y + a.h

    for pl in printed.layout.pages:
        frame = [f.rect.grow(2.0) for f in pl.fiducials] + [pl.qr.grow(2.0), pl.footer]
        for zone in pl.ink_zones:
            assert zone.x >= 5.0 and zone.y >= 5.0 and zone.x + zone.w <= pl.width - 5.0
            assert not any(overlap(zone, f) for f in frame), zone
        keys = [(b.contest_id, b.row_id, b.option_id) for b in pl.boxes]
        assert len(set(keys)) == len(keys)
        for i, a in enumerate(pl.boxes):
            assert not any(overlap(a.rect.grow(1.0), b.rect) for b in pl.boxes[i + 1:]), a


def test_page_frame_is_the_same_for_every_template_of_a_paper_size(printed: Printed):
    fids, qr = page_frame(printed.template.paper)
    for pl in printed.layout.pages:
        assert pl.fiducials == fids and pl.qr == qr


def test_generation_is_deterministic(printed: Printed):
    assert ballots_pdf(printed.template) == printed.pdf


# --- particular templates ---------------------------------------------------------------------


def test_28_leaders_paginate_and_each_page_identifies_itself(render):
    t = load_template(LEADERS)
    bl = layout(t)
    assert len(t.contests[0].rows) == 28
    assert len(bl.pages) == 2
    rows_per_page = [list(dict.fromkeys(b.row_id for b in pl.boxes)) for pl in bl.pages]
    assert rows_per_page[0] + rows_per_page[1] == [p.id for p in t.contests[0].rows]
    assert all(len(rows) >= 10 for rows in rows_per_page)
    assert [len(pl.boxes) for pl in bl.pages] == [3 * len(r) for r in rows_per_page]
    pages = render(ballots_pdf(t), DPI)
    for number, gray in enumerate(pages, start=1):
        # identified from this page's pixels alone
        code = decode_sheet_code(read_qr(gray, bl.pages[number - 1].qr)[0].text)
        assert (code.page, code.page_count, code.test, code.fingerprint) == (number, 2, False, bl.fingerprint)
    texts = [flat(x) for x in page_texts(ballots_pdf(t))]
    first_on_2 = len(rows_per_page[0]) + 1
    assert f"{first_on_2} {t.contests[0].rows[first_on_2 - 1].name}" in texts[1]  # numbering continues
    assert "(tiếp theo)" in texts[1] and "(tiếp theo)" not in texts[0]
    assert "Trang 1/2" in texts[0] and "Trang 2/2" in texts[1]  # each printed page says which it is
    assert "Họ và tên" in texts[1] and "Tín nhiệm thấp" in texts[1]  # the table head is repeated


def test_seed_is_one_page_with_three_boxes_cao_tin_nhiem_thap():
    t = load_template(SEED)
    bl = layout(t)
    assert len(bl.pages) == 1
    boxes = bl.pages[0].boxes
    assert [b.option_id for b in boxes] == ["cao", "tin-nhiem", "thap"]
    assert {(b.contest_id, b.row_id) for b in boxes} == {("tin-nhiem", "nguyen-hong-quang")}
    xs = [b.rect.x for b in boxes]
    assert xs == sorted(xs) and len({b.rect.y for b in boxes}) == 1
    assert [o.label for o in t.contests[0].options] == ["Tín nhiệm cao", "Tín nhiệm", "Tín nhiệm thấp"]
    (name,) = bl.pages[0].name_cells
    assert name.row_id == "nguyen-hong-quang" and name.text_rect.w > 20


def test_letter_template_renders_at_letter_size(render, pdf_page_sizes):
    t = load_template(GENERAL_EN)
    assert t.paper == "Letter"
    pdf = ballots_pdf(t)
    for w, h in pdf_page_sizes(pdf):
        assert (w, h) == pytest.approx((215.9, 279.4), abs=0.05)
    texts = page_texts(pdf)
    assert [f"Page {i} of {len(texts)}" in text for i, text in enumerate(texts, start=1)] == [True] * len(texts)
    gray = render(pdf, DPI)[0]
    assert gray.shape == (2200, 1700)  # 8.5 x 11 in at 200 dpi
    bottom_right = next(f for f in layout(t).pages[0].fiducials if f.corner == "bottom_right")
    r = bottom_right.rect
    assert r.x + r.w == pytest.approx(215.9 - 7.0) and r.y + r.h == pytest.approx(279.4 - 7.0)
    corner = detect_fiducials(gray)[bottom_right.marker_id][2]  # the marker's bottom-right corner
    assert corner == pytest.approx([r.x + r.w, r.y + r.h], abs=TOLERANCE_MM)


@pytest.mark.parametrize("path", [SEED, LEADERS], ids=lambda p: p.stem)
def test_copies_multiply_the_pages(render, path):
    t = load_template(path)
    bl = layout(t)
    pages = render(ballots_pdf(t, copies=3), DPI)
    assert len(pages) == 3 * len(bl.pages)
    codes = [decode_sheet_code(read_qr(g, bl.pages[i % len(bl.pages)].qr)[0].text) for i, g in enumerate(pages)]
    assert [c.page for c in codes] == [pl.number for pl in bl.pages] * 3
    assert all(c.fingerprint == bl.fingerprint and not c.test and c.serial is None for c in codes)


def test_serial_numbers_only_when_the_template_asks(render, write_template):
    text = SEED.read_text(encoding="utf-8")
    plain = load_template(write_template(text, "plain.yaml"))
    numbered = load_template(write_template(text.replace("paper: A4\n", "paper: A4\nserial_numbers: true\n"),
                                            "numbered.yaml"))
    assert numbered.serial_numbers and not plain.serial_numbers
    assert fingerprint(numbered) != fingerprint(plain)
    qr = layout(numbered).pages[0].qr
    words = SERIAL_WORDS["vi"]

    pdf = ballots_pdf(numbered, copies=3)
    codes = [decode_sheet_code(read_qr(g, qr)[0].text) for g in render(pdf, DPI)]
    assert [c.serial for c in codes] == [1, 2, 3]
    assert all(c.fingerprint == fingerprint(numbered) and not c.test for c in codes)
    assert [f"{words} 00000{i}" in text for i, text in enumerate(page_texts(pdf), start=1)] == [True] * 3

    pdf = ballots_pdf(plain, copies=2)
    for gray, text in zip(render(pdf, DPI), page_texts(pdf)):
        reads = read_qr(gray, qr)
        assert decode_sheet_code(reads[0].text).serial is None
        assert re.fullmatch(r"BOMR1:[0-9A-F]{64}:1:1:O", reads[0].text)
        assert words not in text

    deck_pdf = deck_pdf_of(numbered, deck_votes_of(numbered, 2))
    for gray in render(deck_pdf, DPI):
        code = decode_sheet_code(read_qr(gray, qr)[0].text)
        assert code.test and code.serial is None  # test sheets are never numbered ballots


def test_decomposed_template_prints_the_same_nfc_ballot(write_template):
    text = SEED.read_text(encoding="utf-8")
    nfd = load_template(write_template(unicodedata.normalize("NFD", text), "nfd.yaml"))
    nfc = load_template(SEED)
    pdf = ballots_pdf(nfd)
    assert pdf == ballots_pdf(nfc)
    page = page_texts(pdf)[0]
    assert "Nguyễn Hồng Quang" in page and "PHIẾU LẤY PHIẾU TÍN NHIỆM" in page
    assert unicodedata.is_normalized("NFC", page)


def test_party_star_only_under_vietnamese_headers():
    """The '*' under the issuing body is a Vietnamese Party-document convention, not for an English ballot."""
    stars = {p.stem: [t for t in layout(load_template(p)).pages[0].texts if t.text == "*"] for p in (SEED, GENERAL_EN)}
    assert len(stars[SEED.stem]) == 1 and stars[GENERAL_EN.stem] == []
