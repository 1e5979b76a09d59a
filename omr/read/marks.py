"""Box scores: the share of each printed box's interior covered by the voter's ink.

Each box is resampled upright from the scan through the page transform (no whole-page warp), found
again within a millimetre or so (paper stretches, scanners slip), and scored as the mean darkness of
its interior, where darkness is measured between the local paper white and the printed black of the
fiducials. The printed box interior is empty, so the empty box scores 0 whatever the pen, scanner or
contrast, and an X, a tick, a fill or a scribble all score by how much ink they put inside.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from omr.ballot.layout import BOX_LINE, Rect
from omr.read.identify import upright_patch
from omr.read.results import BLANK, MARGINAL, MARKED

SEARCH_MM = 1.2  # how far the printed box may be from where the page transform puts it
INTERIOR_INSET_MM = BOX_LINE / 2 + 0.4  # from the outline's centre line to the measured interior
MAX_BLUR_INSET_MM = 0.8
NOISE_FLOOR = 0.15  # darkness below this is paper grain, JPEG noise or a faint erasure
MAX_SAMPLE_PX_PER_MM = 8.0


@dataclass(frozen=True)
class Thresholds:
    """Score bands: blank below `blank_below`, marked from `marked_at_least`, marginal between."""

    blank_below: float
    marked_at_least: float

    def state(self, score: float) -> str:
        if score >= self.marked_at_least:
            return MARKED
        return BLANK if score < self.blank_below else MARGINAL


@dataclass(frozen=True)
class InkLevels:
    """Grey levels of this sheet's printed black and paper white, from the fiducials."""

    black: float
    paper: float

    @property
    def contrast(self) -> float:
        return self.paper - self.black


@dataclass(frozen=True)
class BoxMeasure:
    score: float
    dx_mm: float
    dy_mm: float


def sample_px_per_mm(native_px_per_mm: float) -> float:
    """Sampling resolution for boxes: the scan's own, capped (more detail adds nothing)."""
    return float(min(MAX_SAMPLE_PX_PER_MM, max(3.0, round(native_px_per_mm))))


def ink_levels(gray: np.ndarray, homography: np.ndarray, fiducial_rects: list[Rect], px_per_mm: float) -> InkLevels:
    """Printed black (inside the markers) and paper white (the quiet zone around them)."""
    blacks, whites = [], []
    for rect in fiducial_rects:
        patch = upright_patch(gray, homography, rect, px_per_mm, margin_mm=2.5).astype(np.float32)
        m = int(round(2.5 * px_per_mm))
        inner = patch[m:-m, m:-m]
        ring = np.concatenate([patch[: m - 2].ravel(), patch[-m + 2:].ravel(),
                               patch[:, : m - 2].ravel(), patch[:, -m + 2:].ravel()])
        blacks.append(np.partition(inner.ravel(), inner.size // 10)[inner.size // 10])
        whites.append(np.partition(ring, ring.size // 2)[ring.size // 2])
    black, paper = float(np.median(blacks)), float(np.median(whites))
    return InkLevels(black=black, paper=max(paper, black + 1.0))


def darkness(patch: np.ndarray, black: float, paper: float) -> np.ndarray:
    """0 at paper white, 1 at printed black, with the noise floor removed."""
    d = (paper - patch.astype(np.float32)) / max(paper - black, 1.0)
    return np.clip((d - NOISE_FLOOR) / (1.0 - NOISE_FLOOR), 0.0, 1.0)


def _best_offset(profile: np.ndarray, start: int, length: int, search: int, line: int) -> int:
    """Offset that puts the two printed edges (start, start+length) on the darkest columns."""
    kernel = np.ones(max(line, 1), dtype=np.float32)
    smooth = np.convolve(profile, kernel, mode="same")
    best, best_value = 0, -1.0
    for d in sorted(range(-search, search + 1), key=abs):
        a, b = start + d, start + length + d
        if 0 <= a < smooth.size and 0 <= b < smooth.size:
            value = smooth[a] + smooth[b]
            if value > best_value + 1e-6:
                best, best_value = d, value
    return best


def measure_box(gray: np.ndarray, homography: np.ndarray, rect: Rect, px_per_mm: float,
                levels: InkLevels, blur_mm: float = 0.0) -> BoxMeasure:
    """Score one box: find its printed outline near the expected place, then average its interior."""
    s = px_per_mm
    patch = upright_patch(gray, homography, rect, s, margin_mm=SEARCH_MM + 0.5)
    m = int(round((SEARCH_MM + 0.5) * s))
    # Local paper white (phone photos are unevenly lit): the brightest of the four margin strips
    # around the box, which ink overflowing the box cannot darken all at once.
    strip = max(2, m - int(round(SEARCH_MM * s)) + 2)
    paper = max(float(patch[:strip].mean()), float(patch[-strip:].mean()),
                float(patch[:, :strip].mean()), float(patch[:, -strip:].mean()))
    paper = max(min(paper, levels.paper + 0.25 * levels.contrast), levels.black + 1.0)
    dark = darkness(patch, levels.black, paper)
    side = int(round(rect.w * s))
    search = int(round(SEARCH_MM * s))
    line = max(1, int(round(BOX_LINE * s)))
    band = dark[m: m + side + 1, :]
    dx = _best_offset(band.sum(axis=0), m, side, search, line)
    band = dark[:, m + dx: m + dx + side + 1]
    dy = _best_offset(band.sum(axis=1), m, int(round(rect.h * s)), search, line)
    # a blurred scan spreads the printed outline inwards: measure further in
    inset = int(np.ceil((INTERIOR_INSET_MM + 0.5 * min(blur_mm, MAX_BLUR_INSET_MM)) * s))
    y0, x0 = m + dy + inset, m + dx + inset
    interior = dark[y0: m + dy + int(round(rect.h * s)) - inset + 1, x0: m + dx + side - inset + 1]
    score = float(interior.mean()) if interior.size else 0.0
    return BoxMeasure(round(score, 4), round(dx / s, 3), round(dy / s, 3))
