"""Registration on its own: the layout's ArUco fiducials on a rendered page, turned, shifted, covered."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from omr.ballot.layout import page_frame
from omr.ballot.template import PAPER_SIZES_MM
from omr.read import register as registration
from omr.read.register import (
    Frame,
    MarkerHit,
    PageTransform,
    RegistrationFailure,
    find_markers,
    fit_frame,
    project,
    register,
)


def a4() -> list[Frame]:
    return [Frame("A4", *PAPER_SIZES_MM["A4"], page_frame("A4")[0])]


def fiducial_corners_px(transform: PageTransform) -> dict[str, np.ndarray]:
    """Where the fitted transform puts each fiducial's top-left corner (page mm), in pixels."""
    return {f.corner: project(transform.homography, np.array([[f.rect.x, f.rect.y]]))[0]
            for f in page_frame("A4")[0]}


def expected_corners_px(matrix: np.ndarray, px_per_mm: float) -> dict[str, np.ndarray]:
    """The same corners carried by the 2x3 affine map that moved the rendered page."""
    return {f.corner: matrix @ np.array([f.rect.x * px_per_mm, f.rect.y * px_per_mm, 1.0])
            for f in page_frame("A4")[0]}


def test_unturned_page_is_registered_on_all_four_markers(blank) -> None:
    page = blank()
    found = register(page.copy(), a4())
    assert isinstance(found, tuple)
    frame, pt = found
    assert frame.paper == "A4" and pt.rotation == 0
    assert pt.fiducials_found == ("top_left", "top_right", "bottom_right", "bottom_left")
    assert pt.fiducials_missing == () and pt.residual_mm < 0.1
    assert pt.px_per_mm == pytest.approx(page.px_per_mm, rel=0.01)
    identity = np.hstack([np.eye(2), np.zeros((2, 1))])
    for corner, where in fiducial_corners_px(pt).items():
        assert np.abs(where - expected_corners_px(identity, page.px_per_mm)[corner]).max() < 1.5, corner


@pytest.mark.parametrize("turns, rotation", [(-1, 90), (2, 180), (1, 270)])
def test_quarter_turns_are_told_apart(blank, turns: int, rotation: int) -> None:
    """np.rot90 turns counter-clockwise: -1 is a clockwise quarter turn, reported as 90."""
    image = np.ascontiguousarray(np.rot90(blank().pixels, turns))
    found = register(image, a4())
    assert isinstance(found, tuple)
    _, pt = found
    assert pt.rotation == rotation and len(pt.fiducials_found) == 4
    h, w = image.shape
    top_left = fiducial_corners_px(pt)["top_left"]
    # the page's top-left corner lies in the image corner the turn carried it to
    near = {90: (w, 0), 180: (w, h), 270: (0, h)}[rotation]
    assert np.hypot(*(top_left - near)) < 0.15 * max(h, w)


def test_skewed_and_shifted_page_is_fitted_where_it_lies(blank) -> None:
    page = blank()
    h, w = page.pixels.shape
    matrix = cv2.getRotationMatrix2D((w / 2, h / 2), 2.5, 1.0)
    matrix[:, 2] += (-14.0, 9.0)  # and slipped on the glass
    image = cv2.warpAffine(page.pixels, matrix, (w, h), borderValue=255, flags=cv2.INTER_LINEAR)
    found = register(image, a4())
    assert isinstance(found, tuple)
    _, pt = found
    assert pt.rotation == 0 and pt.residual_mm < 0.1
    expected = expected_corners_px(matrix, page.px_per_mm)
    for corner, where in fiducial_corners_px(pt).items():
        assert np.abs(where - expected[corner]).max() < 1.5, corner


def cover(image: np.ndarray, page, corner: str, level: int) -> None:
    r = next(f.rect for f in page_frame("A4")[0] if f.corner == corner).grow(1.0)
    (x0, y0), (x1, y1) = page.px(r.x, r.y), page.px(r.x + r.w, r.y + r.h)
    image[y0:y1, x0:x1] = level


@pytest.mark.parametrize("level", [255, 40], ids=["sticker", "ink blot"])
def test_a_covered_marker_is_named_and_the_other_three_register(blank, level: int) -> None:
    page = blank()
    image = page.copy()
    cover(image, page, "bottom_left", level)
    found = register(image, a4())
    assert isinstance(found, tuple)
    _, pt = found
    assert pt.fiducials_missing == ("bottom_left",)
    assert set(pt.fiducials_found) == {"top_left", "top_right", "bottom_right"}
    identity = np.hstack([np.eye(2), np.zeros((2, 1))])
    assert np.abs(fiducial_corners_px(pt)["top_left"] - expected_corners_px(identity, page.px_per_mm)["top_left"]
                  ).max() < 1.5


def test_two_covered_markers_fail_with_the_reason(blank) -> None:
    page = blank()
    image = page.copy()
    cover(image, page, "bottom_left", 255)
    cover(image, page, "top_right", 255)
    found = register(image, a4())
    assert isinstance(found, RegistrationFailure)
    assert found.reason.startswith("only 2 of 4 corner marks found")
    assert "top_left" in found.reason and "bottom_right" in found.reason


def test_a_page_without_markers_fails_and_says_none_were_found() -> None:
    markers: list[MarkerHit] = []
    found = register(np.full((1170, 830), 255, np.uint8), a4(), markers)
    assert isinstance(found, RegistrationFailure) and "only 0 of 4" in found.reason
    assert markers == []


def test_every_marker_found_is_handed_back_when_asked(blank) -> None:
    markers: list[MarkerHit] = []
    register(blank().copy(), a4(), markers)
    assert sorted(m.marker_id for m in markers) == sorted(f.marker_id for f in page_frame("A4")[0])
    assert all(m.corners.shape == (4, 2) for m in markers)


def marker_box(page, corner: str, grow: float = 0.0) -> tuple[slice, slice]:
    r = next(f.rect for f in page_frame("A4")[0] if f.corner == corner).grow(grow)
    (x0, y0), (x1, y1) = page.px(r.x, r.y), page.px(r.x + r.w, r.y + r.h)
    return slice(y0, y1), slice(x0, x1)


A4_IDS = {f.marker_id for f in page_frame("A4")[0]}


@pytest.mark.parametrize("rim", [3, 7], ids=["lost", "read softened"])
def test_the_fourth_marker_is_looked_for_where_the_other_three_put_it(blank, monkeypatch, rim: int) -> None:
    """A marker hollowed out (as adaptive 1-bit scanning does) to a rim `rim` px wide is lost in its corner
    window. The three others put it in a window of its own: searched there alone when it cannot be read
    there either, and over the whole image, as before, when it can; the markers are the whole image's."""
    page = blank()
    image = page.copy()
    box = image[marker_box(page, "bottom_right")]
    black = (box < 128).astype(np.uint8)
    box[cv2.erode(black, np.ones((rim, rim), np.uint8), borderType=cv2.BORDER_CONSTANT, borderValue=0) > 0] = 255
    whole = find_markers(image, *PAPER_SIZES_MM["A4"], A4_IDS)  # no frames: the whole image, as before
    searched: list[tuple[int, ...]] = []
    detect = registration._detect

    def recorded(detector, crop, scale, offset):
        searched.append(crop.shape)
        return detect(detector, crop, scale, offset)

    monkeypatch.setattr(registration, "_detect", recorded)
    windowed = find_markers(image, *PAPER_SIZES_MM["A4"], A4_IDS, a4())
    assert [(m.marker_id, m.corners.tolist()) for m in windowed] == [(m.marker_id, m.corners.tolist()) for m in whole]
    assert len(windowed) == (4 if rim == 7 else 3)
    assert (image.shape in searched) == (rim == 7)  # the whole image only when its window shows the marker


def test_a_marker_far_from_where_the_others_put_it_is_left_to_the_fit(blank) -> None:
    """A marker moved 30 mm in from its place (a look-alike): the whole image finds it and the page fit
    leaves it out; not looked for there, the fit is the same, to the bit."""
    page = blank()
    image = page.copy()
    rows, cols = marker_box(page, "bottom_right", 1.0)
    patch = image[rows, cols].copy()
    image[rows, cols] = 255
    d = int(round(30 * page.px_per_mm))
    image[rows.start - d:rows.stop - d, cols.start - d:cols.stop - d] = patch
    whole = find_markers(image, *PAPER_SIZES_MM["A4"], A4_IDS)
    windowed = find_markers(image, *PAPER_SIZES_MM["A4"], A4_IDS, a4())
    assert len(whole) == 4 and len(windowed) == 3
    before, after = fit_frame(whole, a4()[0]), fit_frame(windowed, a4()[0])
    assert isinstance(before, PageTransform) and isinstance(after, PageTransform)
    assert before.fiducials_missing == after.fiducials_missing == ("bottom_right",)
    assert np.array_equal(before.homography, after.homography) and before.residual_mm == after.residual_mm
