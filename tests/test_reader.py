"""The recognition core on generated ballots rendered by PDFium, with drawn-on changes."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import cv2
import numpy as np
import pypdfium2 as pdfium
import pytest

from omr.ballot.generate import ballots_pdf, test_deck_pdf, test_deck_votes
from omr.ballot.layout import layout
from omr.ballot.template import load_template
from omr.read.calibration import load_profile
from omr.read.pipeline import TemplateBook, read_sheet

ROOT = Path(__file__).resolve().parent.parent
SEED = ROOT / "ballot_templates" / "tin-nhiem-cdyt-dong-nai-2023.yaml"
LEADERS = ROOT / "ballot_templates" / "tin-nhiem-28-lanh-dao.yaml"
GENERAL = ROOT / "ballot_templates" / "general-election-en.yaml"
DPI = 200
PX = DPI / 25.4


@cache
def book() -> TemplateBook:
    return TemplateBook.from_templates([load_template(p) for p in (SEED, LEADERS, GENERAL)])


def render(pdf_bytes: bytes, index: int, dpi: float = DPI) -> np.ndarray:
    pdf = pdfium.PdfDocument(pdf_bytes)
    try:
        pixels = pdf[index].render(scale=dpi / 72, grayscale=True).to_numpy()
        return np.ascontiguousarray(pixels if pixels.ndim == 2 else pixels[:, :, 0])
    finally:
        pdf.close()


def read(img: np.ndarray, b: TemplateBook | None = None):
    return read_sheet(img, "test.pdf", 1, b or book(), load_profile())


@pytest.mark.parametrize("path", [SEED, LEADERS, GENERAL], ids=lambda p: p.stem)
def test_test_deck_reads_exactly_its_key(path: Path) -> None:
    template = load_template(path)
    deck = test_deck_votes(template)
    pdf = test_deck_pdf(template, deck)
    pages = len(layout(template).pages)
    for sheet in deck:
        for page in range(pages):
            r = read(render(pdf, (sheet.number - 1) * pages + page))
            assert r.test and r.template_id == template.id and r.template_page == page + 1
            for row in r.rows:
                expected = sheet.marks[row.contest_id][row.row_id]
                assert set(row.choices) == set(expected), (sheet.number, row.row_id)
                assert all(m.state != "marginal" for m in row.marks)


@pytest.mark.parametrize("turn", [0, 90, 180, 270])
def test_any_orientation_is_read_and_reported(turn: int) -> None:
    template = load_template(LEADERS)
    deck = test_deck_votes(template)
    img = render(test_deck_pdf(template, deck[:1]), 0)
    turned = {0: img, 90: cv2.rotate(img, cv2.ROTATE_90_CLOCKWISE), 180: cv2.rotate(img, cv2.ROTATE_180),
              270: cv2.rotate(img, cv2.ROTATE_90_COUNTERCLOCKWISE)}[turn]
    r = read(turned)
    assert r.rotation == turn
    assert {row.row_id: row.choices for row in r.rows} == {k: v for k, v in deck[0].marks["tin-nhiem"].items()
                                                           if k in {row.row_id for row in r.rows}}


def _cover(img: np.ndarray, rect_mm, grow: float = 1.0) -> np.ndarray:
    out = img.copy()
    x, y, w, h = rect_mm.x - grow, rect_mm.y - grow, rect_mm.w + 2 * grow, rect_mm.h + 2 * grow
    cv2.rectangle(out, (int(x * PX), int(y * PX)), (int((x + w) * PX), int((y + h) * PX)), 255, -1)
    return out


def test_one_damaged_fiducial_still_reads_and_says_so() -> None:
    template = load_template(SEED)
    deck = test_deck_votes(template)
    img = render(test_deck_pdf(template, deck[:1]), 0)
    pl = layout(template).pages[0]
    damaged = _cover(img, pl.fiducials[1].rect)
    r = read(damaged)
    assert r.status != "rejected"
    assert r.registration.fiducials_found == 3
    assert any(x.code == "fiducial-missing" and "top_right" in x.detail for x in r.reasons)
    assert r.rows[0].choices == deck[0].marks["tin-nhiem"]["nguyen-hong-quang"]


def test_two_damaged_fiducials_reject_the_sheet() -> None:
    template = load_template(SEED)
    img = render(ballots_pdf(template), 0)
    pl = layout(template).pages[0]
    r = read(_cover(_cover(img, pl.fiducials[0].rect), pl.fiducials[2].rect))
    assert r.status == "rejected"
    assert "only 2 of 4 corner marks" in str(r.reasons[0])


def test_sheet_of_an_unknown_template_is_not_issued() -> None:
    img = render(ballots_pdf(load_template(SEED)), 0)
    only_others = TemplateBook.from_templates([load_template(LEADERS)])
    r = read(img, only_others)
    assert r.status == "rejected"
    assert "not issued by the counting committee" in str(r.reasons[0])


def test_blank_official_ballot_goes_to_review_with_every_row_invalid() -> None:
    r = read(render(ballots_pdf(load_template(SEED)), 0))
    assert r.status == "review"
    assert [x.code for x in r.reasons] == ["blank-sheet"]
    assert [row.status for row in r.rows] == ["invalid"]
    assert all(m.score == 0 for m in r.rows[0].marks)


def _pen(img: np.ndarray, points_mm: list[tuple[float, float]], width_mm: float = 0.6, level: int = 30) -> None:
    pts = np.array([[int(x * PX), int(y * PX)] for x, y in points_mm], np.int32)
    cv2.polylines(img, [pts], False, level, int(round(width_mm * PX)), cv2.LINE_AA)


def test_crossed_out_name_voids_only_its_row_and_sends_the_sheet_to_review() -> None:
    template = load_template(LEADERS)
    deck = test_deck_votes(template)
    img = render(test_deck_pdf(template, deck[:1]), 0)
    cell = layout(template).pages[0].name_cells[2]
    t = cell.text_rect
    _pen(img, [(t.x - 2, t.cy + 0.3), (t.x + t.w / 2, t.cy - 0.2), (t.x + t.w + 2, t.cy + 0.4)])
    r = read(img)
    assert r.status == "review"
    rows = {row.row_id: row for row in r.rows}
    assert rows[cell.row_id].status == "invalid"
    assert any(x.code == "crossed-out-name" for x in rows[cell.row_id].reasons)
    assert all(row.status == "valid" for rid, row in rows.items() if rid != cell.row_id)


def test_writing_outside_the_boxes_goes_to_review_not_invalid() -> None:
    template = load_template(SEED)
    deck = test_deck_votes(template)
    img = render(test_deck_pdf(template, deck[:1]), 0)
    # a signature-like scrawl below the table
    _pen(img, [(120 + 3 * i, 150 + 4 * np.sin(i)) for i in range(15)])
    r = read(img)
    assert r.status == "review"
    assert any(x.code == "extra-writing" for x in r.reasons)
    assert r.rows[0].status == "valid"


def test_streak_through_the_boxes_is_reported() -> None:
    template = load_template(SEED)
    img = render(test_deck_pdf(template, test_deck_votes(template)[:1]), 0)
    box = layout(template).pages[0].boxes[1]
    x = int(box.rect.cx * PX)
    img[:, x:x + 2] = 40
    r = read(img)
    assert any(x.code == "streak-over-boxes" for x in r.reasons)
    assert r.status == "review"


def test_marginal_mark_names_the_box_and_sends_to_review() -> None:
    template = load_template(SEED)
    img = render(ballots_pdf(template), 0)
    box = layout(template).pages[0].boxes[2]
    # a short light dot: neither clearly a mark nor clearly nothing
    cv2.circle(img, (int(box.rect.cx * PX), int(box.rect.cy * PX)), int(0.4 * PX), 120, -1, cv2.LINE_AA)
    r = read(img)
    mark = r.rows[0].marks[2]
    assert mark.state == "marginal", mark
    assert r.status == "review"
    assert any(x.code == "marginal-mark" and "thap" in x.detail for x in r.rows[0].reasons)


@pytest.mark.parametrize("what", ["white page", "photo-like noise", "another paper size"])
def test_a_page_that_is_not_one_of_our_ballots_is_rejected_with_the_reason(what: str) -> None:
    if what == "white page":
        img = np.full((2339, 1654), 255, np.uint8)
    elif what == "photo-like noise":
        img = cv2.GaussianBlur(np.random.default_rng(3).integers(0, 256, (1200, 1600), dtype=np.uint8), (0, 0), 3)
    else:  # a Letter ballot when only A4 templates are given
        img = render(ballots_pdf(load_template(GENERAL)), 0)
    r = read(img, TemplateBook.from_templates([load_template(SEED)]))
    assert r.status == "rejected"
    if what == "another paper size":  # its marks are found: named for what it is, not "corners cut off"
        assert "corner marks are those of a Letter ballot" in str(r.reasons[0])
    else:
        assert "corner marks found" in str(r.reasons[0])
