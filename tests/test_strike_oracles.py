"""Cheaper, the same reads (issue 15): the cross-out reader's per-pixel helpers against the code they
replaced, kept here as the reference. A streak's or crease's pixels (near_line) from a row and a column of
products instead of a grid of every pixel's coordinates; a rule's paper level (percentile_columns) without
np.percentile's machinery, to numpy's last bit."""

from __future__ import annotations

import numpy as np

from omr.ballot.layout import Rect
from omr.read.strikes import RULE_BAND_MM, RULE_CORE_MM, RULE_PAPER_PERCENTILE, near_line, percentile_columns


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
