"""Inspection on its own: a strike through a name, writing outside the boxes, a speck, a scanner streak,
each drawn on a clean render of the seed ballot and compared with its blank reference."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import cv2
import numpy as np
import pytest

from omr.ballot.layout import Rect, layout
from omr.read.inspect import (
    PAGE_PX_PER_MM,
    STRIKE_COVERAGE,
    PageInspection,
    crossed_out,
    ignore_mask,
    inspect_page,
)
from omr.read.marks import ink_levels
from omr.read.pipeline import TemplateBook


@cache
def book(template) -> TemplateBook:
    return TemplateBook.from_templates([template])


def inspect(page, image: np.ndarray) -> PageInspection:
    fp = layout(page.template).fingerprint
    levels = ink_levels(image, page.homography, [f.rect for f in page.page.fiducials], 6.0)
    return inspect_page(image, page.homography, page.page, book(page.template).reference(fp, page.page.number),
                        levels, blur_mm=0.15)


def pen(image: np.ndarray, page, points_mm: list[tuple[float, float]], width_mm: float = 0.5, level: int = 25) -> None:
    pts = np.array([page.px(x, y) for x, y in points_mm], np.int32)
    cv2.polylines(image, [pts.reshape(-1, 1, 2)], False, level, max(1, int(round(width_mm * page.px_per_mm))),
                  cv2.LINE_AA)


def codes(inspection: PageInspection) -> list[str]:
    return [f.code for f in inspection.findings]


def test_a_blank_ballot_has_no_findings_and_no_new_ink(blank) -> None:
    page = blank()
    result = inspect(page, page.copy())
    assert result.findings == () and result.new_ink_mm2 == 0.0
    assert result.contrast > 150


def test_a_line_through_a_name_is_a_crossed_out_name_of_that_row(blank) -> None:
    page = blank()
    image = page.copy()
    cell = page.page.name_cells[0]
    t = cell.text_rect
    pen(image, page, [(t.x - 1.0, t.cy + 0.3), (t.x + t.w + 1.0, t.cy - 0.2)])
    result = inspect(page, image)
    assert codes(result) == ["crossed-out-name"]
    strike = result.findings[0]
    assert (strike.contest_id, strike.row_id) == (cell.contest_id, cell.row_id)
    assert strike.crosses(t)
    assert result.new_ink_mm2 == 0.0  # the strike is reported as such, not as writing


def test_crossed_out_measures_the_share_of_the_name_covered(blank) -> None:
    page = blank()
    cell = page.page.name_cells[0]
    t = cell.text_rect
    fp = layout(page.template).fingerprint
    fine = book(page.template).reference(fp, 1).fine
    levels = ink_levels(page.pixels, page.homography, [f.rect for f in page.page.fiducials], 6.0)
    assert crossed_out(page.copy(), page.homography, cell, fine, levels)[0] == 0.0
    half = page.copy()
    pen(half, page, [(t.x, t.cy), (t.x + 0.35 * t.w, t.cy)])
    whole = page.copy()
    pen(whole, page, [(t.x, t.cy), (t.x + t.w, t.cy)])
    covered_half = crossed_out(half, page.homography, cell, fine, levels)[0]
    covered_whole = crossed_out(whole, page.homography, cell, fine, levels)[0]
    assert covered_half < STRIKE_COVERAGE <= covered_whole
    assert covered_whole > 0.9


def test_an_underline_below_the_name_is_not_a_strike(blank) -> None:
    page = blank()
    image = page.copy()
    t = page.page.name_cells[0].text_rect
    pen(image, page, [(t.x, t.y + t.h + 0.6), (t.x + t.w, t.y + t.h + 0.6)])
    assert "crossed-out-name" not in codes(inspect(page, image))


def test_writing_outside_the_boxes_is_found_where_it_is(blank) -> None:
    page = blank()
    image = page.copy()
    zigzag = [(60.0 + 2.0 * i, 150.0 + (3.0 if i % 2 else 0.0)) for i in range(15)]
    pen(image, page, zigzag)
    result = inspect(page, image)
    assert codes(result) == ["extra-writing"]
    where = result.findings[0].rect
    assert 58 <= where.x <= 61 and 148 <= where.y <= 151 and 26 <= where.w <= 33 and 2 <= where.h <= 6
    assert result.new_ink_mm2 > 10


def test_a_speck_is_not_writing(blank) -> None:
    page = blank()
    image = page.copy()
    cv2.circle(image, page.px(100.0, 160.0), int(0.4 * page.px_per_mm), 30, -1)
    result = inspect(page, image)
    assert result.findings == () and result.new_ink_mm2 == 0.0


def test_ink_in_and_around_a_box_is_not_writing(blank) -> None:
    page = blank()
    image = page.copy()
    box = page.page.boxes[1].rect
    pen(image, page, [(box.x - 1.5, box.y - 1.0), (box.x + box.w + 1.5, box.y + box.h + 1.0)], width_mm=0.7)
    assert inspect(page, image).findings == ()


def test_a_scanner_streak_is_a_streak_not_writing(blank) -> None:
    page = blank()
    image = page.copy()
    x0, _ = page.px(100.0, 0.0)
    image[:, x0:x0 + 3] = 35  # a dark image column from top to bottom: dirt on the scanner glass
    result = inspect(page, image)
    assert codes(result) == ["streak"]
    streak = result.findings[0]
    assert streak.line is not None
    x_start, _, x_end, _, width = streak.line
    assert x_start == pytest.approx(100.5, abs=0.5) and x_end == pytest.approx(100.5, abs=0.5)
    assert width < 1.0
    assert streak.crosses(Rect(99.0, 150.0, 3.0, 3.0)) and not streak.crosses(Rect(110.0, 150.0, 3.0, 3.0))


def test_the_ignore_mask_covers_boxes_markers_qr_and_edges_not_the_empty_page(blank) -> None:
    page = blank().page
    s = PAGE_PX_PER_MM
    mask = ignore_mask(page, (int(round(page.height * s)), int(round(page.width * s))), s)

    def at(x: float, y: float) -> bool:
        return bool(mask[int(y * s), int(x * s)])

    box = page.boxes[0].rect
    assert at(box.cx, box.cy) and at(page.qr.cx, page.qr.cy)
    assert all(at(f.rect.cx, f.rect.cy) for f in page.fiducials)
    assert at(1.0, 100.0) and at(page.width - 1.0, 100.0)
    assert not at(100.0, 160.0)


def test_the_paper_edge_of_a_sheet_partly_off_the_scan_is_no_writing() -> None:
    """A sheet fed askew with narrow margins, or printed a few millimetres off its paper, lies partly off the
    scanner's image. The page beyond the image was taken as white, which raised the paper judged round the
    image's edge above a grey scan's own paper (200 here), and the paper along the edge read as a line of
    writing 4 mm in from the page's edge: every such sheet went to a person (24 of these 24 before). The
    page beyond the image is now taken as the paper's level."""
    from ballot_sim.simulate import Simulator
    from omr.ballot.template import load_template
    from omr.read.calibration import load_profile
    from omr.read.debug import Trace
    from omr.read.pipeline import read_sheet

    root = Path(__file__).resolve().parent.parent / "ballot_templates"
    near_edge = 0
    for name in ("bau-bch-cdyt-dong-nai-2025.yaml", "bau-cu-hdnd-phuong-a5.yaml", "tin-nhiem-cdyt-dong-nai-2023.yaml"):
        t = load_template(root / name)
        pl = layout(t).pages[0]
        crossout = t.contests[0].kind == "crossout"
        for i, (dx, dy) in enumerate([(2.0, -0.6), (0.1, -3.6), (-2.0, 2.0), (-2.5, -3.0)], start=1):
            page = Simulator([t], seed=7).ballot(
                i, t, "office-scanner", kinds=["none"] * len(t.contests[0].candidates) if crossout else None,
                behaviours=None if crossout else ("normal",),
                overrides={"margin_mm": (0.7, 0.7, 0.7, 0.7), "shift_mm": (dx, dy), "rotation": 0,
                           "skew_deg": 2.4 if i % 2 else -2.4, "tone": (80.0, 200.0, 1.0)})[0]
            h, w = page.scan.pixels.shape
            corners = cv2.perspectiveTransform(np.array([[[0.0, 0.0], [pl.width, pl.height]]]), page.scan.homography)[0]
            assert corners.min() < 0 or corners[1][0] > w or corners[1][1] > h, (name, i)  # partly off the image
            trace = Trace()
            read_sheet(page.scan.pixels, "sim.pdf", 1, book(t), load_profile(), dpi=page.scan.dpi, trace=trace)
            for f in trace.inspection.findings:
                if f.code == "extra-writing":
                    r = f.rect
                    near_edge += min(r.x, r.y, pl.width - r.x - r.w, pl.height - r.y - r.h) < 6.0
    assert near_edge == 0
