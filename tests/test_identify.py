"""Identification on its own: the QR code read in its known region, foreign codes, the print match."""

from __future__ import annotations

import numpy as np
import segno

from omr.ballot.layout import Rect, layout, page_frame
from omr.ballot.sheetcode import SheetCode, encode_sheet_code
from omr.read.identify import match_printed_page, read_sheet_code, upright_patch


def qr_region(page) -> Rect:
    return page_frame(page.template.paper)[1]


def paint_qr(image: np.ndarray, page, text: str) -> None:
    """Replace the printed QR code by one carrying `text`, filling the same region."""
    r = qr_region(page)
    (x0, y0), (x1, y1) = page.px(r.x, r.y), page.px(r.x + r.w, r.y + r.h)
    modules = np.array(segno.make_qr(text, error="m").matrix, dtype=np.uint8)
    quiet = np.pad(modules, 2)  # two modules of quiet zone inside the region
    cell = (x1 - x0) // quiet.shape[1]
    symbol = np.kron(1 - quiet, np.ones((cell, cell), np.uint8)) * 255
    image[y0:y1, x0:x1] = 255
    image[y0:y0 + symbol.shape[0], x0:x0 + symbol.shape[1]] = symbol


def test_the_printed_code_is_read_in_its_region(blank) -> None:
    page = blank()
    code, raw = read_sheet_code(page.copy(), page.homography, qr_region(page), page.px_per_mm)
    assert code == SheetCode(layout(page.template).fingerprint, 1, 1, test=False)
    assert raw == encode_sheet_code(code)


def test_a_code_that_is_not_ours_is_returned_raw_and_not_decoded(blank) -> None:
    page = blank()
    image = page.copy()
    paint_qr(image, page, "HTTPS://EXAMPLE.ORG/VOTE")
    code, raw = read_sheet_code(image, page.homography, qr_region(page), page.px_per_mm)
    assert code is None and raw == "HTTPS://EXAMPLE.ORG/VOTE"


def test_a_code_of_ours_for_another_template_is_decoded_as_it_says(blank) -> None:
    """Whether the fingerprint was issued is the pipeline's judgement; identify reports what is printed."""
    page = blank()
    image = page.copy()
    other = SheetCode("ab" * 32, 2, 3, test=True)
    paint_qr(image, page, encode_sheet_code(other))
    code, _ = read_sheet_code(image, page.homography, qr_region(page), page.px_per_mm)
    assert code == other


def test_no_code_at_all_reads_nothing(blank) -> None:
    page = blank()
    image = page.copy()
    r = qr_region(page).grow(1.0)
    (x0, y0), (x1, y1) = page.px(r.x, r.y), page.px(r.x + r.w, r.y + r.h)
    image[y0:y1, x0:x1] = 255
    assert read_sheet_code(image, page.homography, qr_region(page), page.px_per_mm) == (None, "")


def test_upright_patch_undoes_a_half_turn() -> None:
    image = np.full((200, 300), 255, np.uint8)
    image[20:40, 50:90] = 0  # the only dark spot, at x 50..90, y 20..40 px
    # page mm -> pixels: 2 px per mm, the page lying upside down on a 300 x 200 px image
    half_turn = np.array([[-2.0, 0.0, 300.0], [0.0, -2.0, 200.0], [0.0, 0.0, 1.0]])
    patch = upright_patch(image, half_turn, Rect(100, 75, 30, 20), 2.0)  # page x 100..130, y 75..95 mm
    assert patch.shape == (40, 60)
    # the dark spot is at page x 105..125, y 80..90 mm: patch columns 10..50, rows 10..30
    assert patch[12:28, 12:48].max() < 50 and patch[:8].min() > 200 and patch[:, 52:].min() > 200


def test_the_printed_page_is_matched_by_correlation_and_refused_when_unclear() -> None:
    rng = np.random.default_rng(1)
    a, b = rng.integers(0, 255, (60, 40)).astype(np.uint8), rng.integers(0, 255, (60, 40)).astype(np.uint8)
    noisy_a = np.clip(a.astype(np.int16) + rng.integers(-30, 30, a.shape), 0, 255).astype(np.uint8)
    key, best, second = match_printed_page(noisy_a, {("fa", 1): a, ("fb", 1): b})
    assert key == ("fa", 1) and best > 0.9 and second < 0.2
    assert match_printed_page(noisy_a, {("fa", 1): a, ("fa", 2): a.copy()})[0] is None  # two alike: no margin
    assert match_printed_page(noisy_a, {("fb", 1): b})[0] is None  # nothing alike
    assert match_printed_page(noisy_a, {("fa", 1): a[:30]}) == (None, 0.0, 0.0)  # other size: not compared
