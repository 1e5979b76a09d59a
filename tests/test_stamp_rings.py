"""Cheaper, the same reads (issue 15): the stamp's ring search takes the centres of a grid a block at a time,
its radius bins from sqrt(dx² + dy²) and its sectors from cv2.phase (each checked against hypot and arctan2
near an edge), and finds what the search a centre at a time found, to the bit.

The per-centre search below is the reader's before (kept here as the reference). It is run on the stamp
areas of the bundled cross-out sample scans, as read_stamp and stamp_disc look at them, and on drawn rings
(whole, broken, thin, off centre, with ties between centres)."""

from __future__ import annotations

import cv2
import numpy as np
from conftest import BUNDLED_TEMPLATES, ROOT

from omr.ballot.template import load_template
from omr.read import stamp
from omr.read.calibration import load_profile
from omr.read.pipeline import TemplateBook, read_sheet
from omr.read.stamp import RING_BAND_MM, RING_RADII, RING_SEARCH_MM, RING_SECTORS, _radius_bins, _sectors
from omr.scan.ingest import read_pages


def one_centre_shares(px, py, cx, cy, lo, n_r, need, bins=2):
    d = np.hypot(px - cx, py - cy)
    rbin = np.floor((d - lo) / (RING_BAND_MM / 2)).astype(np.int64)
    keep = (rbin >= 0) & (rbin < n_r)
    if keep.sum() < need:
        return np.zeros(n_r - bins + 1)
    sector = ((np.arctan2(py[keep] - cy, px[keep] - cx) + np.pi) / (2 * np.pi)
              * RING_SECTORS).astype(np.int64) % RING_SECTORS
    counts = np.bincount(rbin[keep] * RING_SECTORS + sector, minlength=n_r * RING_SECTORS)
    counts = counts.reshape(n_r, RING_SECTORS)
    band = sum(counts[i:n_r - bins + 1 + i] for i in range(bins))
    return (band >= need).mean(axis=1)


def one_centre_best_ring(ink, s, smaller_side_mm, thin=False):
    ys, xs = np.nonzero(ink)
    if len(xs) < 8:
        return 0.0, 0.0, 0.0, 0.0
    every = max(1, len(xs) // 1500)
    px, py = xs[::every] / s, ys[::every] / s
    lo, hi = (f * smaller_side_mm for f in RING_RADII)
    n_r = int(np.ceil((hi - lo) / (RING_BAND_MM / 2))) + 1
    need = RING_SECTOR_MM2 * s * s / every

    def share(cx, cy):
        return float(one_centre_shares(px, py, cx, cy, lo, n_r, need).max())

    cx0, cy0 = float(np.median(px)), float(np.median(py))
    coarse = np.arange(-RING_SEARCH_MM, RING_SEARCH_MM + 0.01, 2.0)
    best, bx, by = max((share(cx0 + dx, cy0 + dy), dx, dy) for dy in coarse for dx in coarse)
    fine = np.arange(-1.0, 1.01, 0.5)
    best, fx, fy = max([(best, 0.0, 0.0)] + [(share(cx0 + bx + dx, cy0 + by + dy), dx, dy)
                                             for dy in fine for dx in fine])
    cx, cy = cx0 + bx + fx, cy0 + by + fy
    if not thin:
        return best, cx, cy, 0.0

    def thin_share(x, y):
        return float(one_centre_shares(px, py, x, y, lo, n_r, need / 2, 1).max())

    for reach, step in ((4.0, 1.0), (0.75, 0.25)):
        around = np.arange(-reach, reach + 0.01, step)
        _, cx, cy = max((thin_share(cx + dx, cy + dy), cx + dx, cy + dy) for dy in around for dx in around)
    on = np.flatnonzero(one_centre_shares(px, py, cx, cy, lo, n_r, need / 2, 1) >= 0.5)
    outer = lo + (int(on.max()) + 1) * RING_BAND_MM / 2 if len(on) else 0.0
    return best, cx, cy, outer


RING_SECTOR_MM2 = stamp.RING_SECTOR_MM2


def same(got, want) -> bool:
    return got == want and [type(v) for v in got] == [type(v) for v in want]


def test_radius_bins_are_hypots_to_the_bit() -> None:
    """_radius_bins is floor((hypot - lo) / half a band) for random points, points on a bin's edge exactly
    (3-4-5 triangles), and points where sqrt(dx² + dy²) alone would put them in the next bin (found here:
    the test shows that they exist, so that it fails if the edge's recomputation goes)."""
    rng = np.random.default_rng(15)
    half = RING_BAND_MM / 2
    dx, dy = rng.uniform(-40, 40, 200_000), rng.uniform(-40, 40, 200_000)
    k = rng.integers(0, 30, 4000)
    dx[:4000], dy[:4000] = 0.45 * k, 0.6 * k  # hypot 0.75 k: on an edge when lo is a multiple of 0.75
    h, rough = np.hypot(dx, dy), np.sqrt(dx * dx + dy * dy)
    differ = np.flatnonzero(h != rough)
    assert len(differ) > 1000
    traps = 0
    for lo in (0.0, 1.5, 7.5, 9.3):
        want = np.floor((h - lo) / half).astype(np.int64)
        assert np.array_equal(_radius_bins(dx, dy, lo), want)
        assert np.array_equal(_radius_bins(dx.reshape(400, 500), dy.reshape(400, 500), lo), want.reshape(400, 500))
    for i in differ[:3000]:  # an origin that puts the edge between sqrt's value and hypot's
        for lo in h[i] - half * np.arange(0, 8) + rng.choice([0.0, 1e-15, -1e-15]):
            want = np.floor((h[i] - lo) / half)
            naive = np.floor((rough[i] - lo) / half)
            traps += int(want != naive)
            assert _radius_bins(dx[i:i + 1], dy[i:i + 1], float(lo))[0] == want
    assert traps >= 20, traps


def test_sectors_are_arctan2s_to_the_bit() -> None:
    """_sectors is int((arctan2 + pi) / 2 pi * RING_SECTORS) % RING_SECTORS for random points, points on the
    axes and at the origin, and points on every sector's edge and a hair either side, where cv2.phase alone
    puts some in the neighbouring sector (shown here: the test fails if the edges' recomputation goes)."""
    rng = np.random.default_rng(36)
    edges = -np.pi + np.arange(RING_SECTORS + 1) * (2 * np.pi / RING_SECTORS)
    angle = np.concatenate([np.repeat(edges, 400) + rng.choice([0.0, 1e-12, -1e-12, 1e-15, -1e-15], 400 * len(edges)),
                            rng.uniform(-np.pi, np.pi, 100_000)])
    radius = rng.uniform(1e-3, 40.0, angle.size)
    dx, dy = radius * np.cos(angle), radius * np.sin(angle)
    dx[:50], dy[:50] = 0.0, rng.uniform(-9, 9, 50)  # on the axes, and the origin
    dx[50:100], dy[50:100] = rng.uniform(-9, 9, 50), 0.0
    dx[100], dy[100] = 0.0, 0.0
    want = ((np.arctan2(dy, dx) + np.pi) / (2 * np.pi) * RING_SECTORS).astype(np.int64) % RING_SECTORS
    got = _sectors(dx, dy)
    assert got.dtype == want.dtype and np.array_equal(got, want)
    for a in range(0, angle.size, 997):  # and alone, or a few at a time
        assert np.array_equal(_sectors(dx[a:a + 3], dy[a:a + 3]), want[a:a + 3])
    assert _sectors(dx[:0], dy[:0]).size == 0
    naive = (np.floor(cv2.phase(dx, dy).ravel() * (RING_SECTORS / (2 * np.pi))).astype(np.int64)
             + RING_SECTORS // 2) % RING_SECTORS
    assert (naive != want).sum() >= 100


def drawn_rings(rng: np.random.Generator, n: int) -> list[tuple[np.ndarray, float]]:
    """Patches at 8 px/mm with a stamp-like ring (two circles, a gap, noise), a broken one, writing, or a
    perfectly symmetric ring (whose neighbouring centres tie)."""
    out = []
    for t in range(n):
        side = float(rng.uniform(20, 40))
        size = int(side * 8)
        ink = np.zeros((size, size), np.uint8)
        c = (size // 2 + int(rng.integers(-30, 30)), size // 2 + int(rng.integers(-30, 30)))
        r = int(side * 8 * rng.uniform(0.3, 0.5))
        if t % 4 == 0:
            cv2.circle(ink, (size // 2, size // 2), r, 1, 2)  # symmetric: ties
        elif t % 4 == 1:
            cv2.circle(ink, c, r, 1, int(rng.integers(1, 5)))
            cv2.circle(ink, c, r - 12, 1, 1)
            ink[rng.random(ink.shape) < 0.02] = 1
        elif t % 4 == 2:
            cv2.ellipse(ink, c, (r, r), 0, float(rng.uniform(0, 180)), float(rng.uniform(190, 330)), 1, 3)
        else:
            for _ in range(6):
                p = rng.integers(0, size, 4)
                cv2.line(ink, (int(p[0]), int(p[1])), (int(p[2]), int(p[3])), 1, 2)
        out.append((ink > 0, side))
    return out


def test_best_ring_is_the_search_a_centre_at_a_time() -> None:
    """best_ring (share, centre, outer radius, and their types) is the per-centre search's, to the bit, on every
    stamp area read on the bundled cross-out sample scans (present, faint and missing stamps, a 1-bit page, a
    fold) and on drawn rings, both ways (thin or not)."""
    book = TemplateBook.from_templates([load_template(p) for p in BUNDLED_TEMPLATES])
    profile = load_profile()
    seen: list[tuple] = []
    real = stamp.best_ring

    def recording(ink, s, side, thin=False):
        seen.append((ink.copy(), s, side, thin))
        return real(ink, s, side, thin)

    stamp.best_ring = recording
    try:
        for item in read_pages(str(ROOT / "sample_scans" / "batch-04-bau-cu-grey-150dpi.pdf")):
            read_sheet(item.pixels, item.source, item.page, book, profile, None, item.dpi)
    finally:
        stamp.best_ring = real
    assert len(seen) >= 20 and any(thin for *_, thin in seen) and any(not thin for *_, thin in seen)
    rings = 0
    for ink, s, side, thin in seen:
        want = one_centre_best_ring(ink, s, side, thin)
        assert same(real(ink, s, side, thin), want), (side, thin, want)
        rings += want[0] >= 0.75
    assert rings >= 5, rings
    for ink, side in drawn_rings(np.random.default_rng(96), 24):
        for thin in (False, True):
            want = one_centre_best_ring(ink, 8.0, side, thin)
            assert same(real(ink, 8.0, side, thin), want), (side, thin, want)
