"""Cheaper, the same reads (issue 15): the cross-out reader's per-pixel helpers against the code they
replaced, kept here as the reference. A streak's or crease's pixels (near_line) from a row and a column of
products instead of a grid of every pixel's coordinates; a rule's paper level (percentile_columns) without
np.percentile's machinery, to numpy's last bit; the paper's lone specks (speck_masks) without sorting
(group, piece) pairs."""

from __future__ import annotations

import cv2
import numpy as np

from omr.ballot.layout import Rect
from omr.read.strikes import (
    NAME_PX_PER_MM,
    RULE_BAND_MM,
    RULE_CORE_MM,
    RULE_PAPER_PERCENTILE,
    SPECK_ALONE_MM,
    SPECK_MM2,
    near_line,
    percentile_columns,
    speck_masks,
)


def grid_near_line(region, shape, line, reach_mm, s=8.0):
    ys, xs = np.mgrid[0:shape[0], 0:shape[1]]
    px, py = region.x + xs / s, region.y + ys / s
    x0, y0, x1, y1 = line[:4]
    dx, dy = x1 - x0, y1 - y0
    norm = max(float(np.hypot(dx, dy)), 1e-9)
    return np.abs((px - x0) * dy - (py - y0) * dx) / norm <= reach_mm


def test_near_line_is_the_pixel_grids() -> None:
    """Random regions and lines (steep, flat, upright, level, a point, numpy floats), reaches and
    resolutions, and lines through pixel centres, where a pixel lies at the reach exactly."""
    rng = np.random.default_rng(7)
    edges = 0
    for trial in range(600):
        s = float(rng.choice([4.0, 8.0, 7.87]))
        region = Rect(*(float(v) for v in rng.uniform(-5, 150, 2)), *(float(v) for v in rng.uniform(0.1, 60, 2)))
        shape = (int(round(region.h * s)), int(round(region.w * s)))
        x0, y0 = rng.uniform(-20, 200, 2)
        kind = trial % 5
        if kind == 0:
            x1, y1 = x0, y0 + rng.uniform(50, 300)  # upright, as a feed streak
        elif kind == 1:
            x1, y1 = x0 + rng.uniform(50, 300), y0  # level, as a fold across
        elif kind == 2:
            x1, y1 = x0, y0  # no length
        elif kind == 3:  # through pixel centres: pixels at the reach exactly
            x0, y0 = region.x + 3 / s, region.y
            x1, y1 = x0, y0 + 10.0
        else:
            x1, y1 = rng.uniform(-20, 200, 2)
        line = (x0, y0, x1, y1, 1.0) if trial % 2 else tuple(float(v) for v in (x0, y0, x1, y1, 1.0))
        reach = 2 / s if kind == 3 else float(rng.uniform(0.1, 5.0))
        want = grid_near_line(region, shape, line, reach, s)
        got = near_line(region, shape, line, reach, s)
        assert got.dtype == want.dtype and np.array_equal(got, want), trial
        edges += int(kind == 3 and want.any())
    assert edges > 50


def test_percentile_columns_is_numpys_to_the_last_bit() -> None:
    """Integer images of every height (one row too), widths, levels (flat, two levels, full range) and
    percentiles either side of the interpolation's switch at a half; and a rule's band and its sides."""
    rng = np.random.default_rng(90)
    band = int(round(2 * RULE_BAND_MM * 8.0))
    core = int(round((RULE_BAND_MM - RULE_CORE_MM) * 8.0))
    shapes = [(band, 1200), (core, 1200), (1, 9), (2, 5)] + [(int(rng.integers(1, 70)), int(rng.integers(1, 400)))
                                                            for _ in range(400)]
    for i, (h, w) in enumerate(shapes):
        image = rng.integers(0, 256, (h, w), dtype=np.uint8)
        if i % 3 == 1:
            image = np.where(rng.random((h, w)) < 0.5, 40, 230).astype(np.uint8)
        elif i % 3 == 2:
            image[:] = int(rng.integers(0, 256))
        for q in (RULE_PAPER_PERCENTILE, 10, 20, 50, 75, 99.5, 100, 0, 33.3):
            want = np.percentile(image, q, axis=0)
            got = percentile_columns(image, q)
            assert got.dtype == want.dtype and np.array_equal(got, want), (h, w, q)
            assert np.array_equal(percentile_columns(image[:, ::2], q), np.percentile(image[:, ::2], q, axis=0))


def paired_lone_specks(ink):
    s = NAME_PX_PER_MM
    count, labels, stats, _ = cv2.connectedComponentsWithStats(ink.astype(np.uint8), connectivity=8)
    tiny = stats[:, cv2.CC_STAT_AREA] <= SPECK_MM2 * s * s
    tiny[0] = False
    if not tiny.any():
        return np.zeros(ink.shape, bool)
    reach = 2 * int(round(SPECK_ALONE_MM * s)) + 1
    near = cv2.dilate(ink.astype(np.uint8), cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (reach, reach)))
    _, groups = cv2.connectedComponents(near, connectivity=8)
    on = labels > 0
    pairs = np.unique(np.stack([groups[on], labels[on]], axis=1), axis=0)
    pieces = np.bincount(pairs[:, 0], minlength=int(groups.max()) + 1)
    group_of = np.zeros(count, np.int64)
    group_of[pairs[:, 1]] = pairs[:, 0]
    return (tiny & (pieces[group_of] == 1))[labels]


def test_lone_specks_are_the_paired_codes() -> None:
    """Cells of specks alone, specks in clusters and beside strokes, strokes alone, nothing, and a page's
    width of 1-bit speckle: speck_masks' lone specks are the (group, piece) pairs' mask, pixel for pixel."""
    rng = np.random.default_rng(11)
    lone = 0
    for trial in range(300):
        h, w = int(rng.integers(1, 140)), int(rng.integers(1, 1300))
        ink = rng.random((h, w)) < float(rng.choice([0.0, 0.001, 0.005, 0.02, 0.1]))
        for _ in range(int(rng.integers(0, 4))):
            a, b = rng.integers(0, max(w, 1), 2), rng.integers(0, max(h, 1), 2)
            line = np.zeros((h, w), np.uint8)
            cv2.line(line, (int(a[0]), int(b[0])), (int(a[1]), int(b[1])), 1, int(rng.integers(1, 4)))
            ink |= line > 0
        want = paired_lone_specks(ink)
        got = speck_masks(ink)[0]
        assert got.dtype == want.dtype and np.array_equal(got, want), trial
        lone += int(want.any() and not want.all() and (ink & ~want).any())
    assert lone > 100, lone
