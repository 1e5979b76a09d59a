"""Box scores: the share of each printed box's interior covered by the voter's ink.

Each box is resampled upright from the scan through the page transform (no whole-page warp), found
again within a millimetre or so (paper stretches, scanners slip), and scored as the mean darkness of
its interior, where darkness is measured between the local paper white and the printed black of the
fiducials. The printed box interior is empty, so the empty box scores 0 whatever the pen, scanner or
contrast, and an X, a tick, a fill or a scribble all score by how much ink they put inside.

The score ignores darkness below a noise floor (paper grain, JPEG noise, faint erasures, the shading
of a fold), which also hides a light pencil line. So each box also gets line evidence, judged against
the noise of its own paper: the share of its interior covered by thin, connected, elongated strokes
darker than that noise (a pen or pencil line), and, on a 1-bit page (where an empty printed box has no
dark pixel inside), the dark specks a scanner's threshold left of a stroke. Either lifts a box the
score calls blank to marginal, never to marked: a person looks.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from omr.ballot.layout import BOX_LINE, Rect
from omr.read.identify import upright_patch
from omr.read.results import BLANK, MARGINAL, MARKED

SEARCH_MM = 1.2  # how far the printed box may be from where the page transform puts it
INTERIOR_INSET_MM = BOX_LINE / 2 + 0.4  # from the outline's centre line to the measured interior
MAX_BLUR_INSET_MM = 0.8
NOISE_FLOOR = 0.15  # darkness below this is paper grain, JPEG noise or a faint erasure
MAX_SAMPLE_PX_PER_MM = 8.0
STROKE_INSET_MM = 0.4  # line evidence is looked for further inside: the printed outline never counts
STROKE_SMOOTH_MM = 0.15  # noise is smoothed over a pen line's width before lines are looked for
STROKE_BROAD_MM = 1.6  # darker areas broader than this are shading (folds, shadows, fills), not a line
STROKE_NOISE_SIGMAS = 5.0  # a line is this many times the box's own paper noise darker than its paper
STROKE_MIN_DARKNESS = 0.045  # and at least this dark (share of the print's contrast)
STROKE_MIN_LENGTH_MM = 1.6  # a connected piece this long is a line; shorter ones are specks of paper
STROKE_MARGINAL = 0.01  # share of the interior covered by lines that makes a blank-scoring box marginal
SPECK_DARKNESS = 0.25  # on a 1-bit page, a sample this dark inside an empty printed box is ink (a lone
#                        black pixel, resampled, gives a few samples of 0.25-0.75)
SPECKS_MARGINAL = 3  # this many such pixels: a stroke the scanner's threshold dissolved
PALE_PEAK = 0.4  # a box whose darkest ink is paler than this (99.5th percentile of its interior) ...
PALE_BASE = 0.08  # ... while over half of it is at least this dark is shaded (a fold, a shadow), not inked,
PALE_MAX_STROKE = 0.35  # ... unless lines cover this much of it: a pencil hatching (folds measured 0.18-0.24)


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

    def lighter(self, share: float) -> InkLevels:
        """Levels under which ink is seen from `share` of the usual darkness (its black that much nearer the
        paper): pale stamp ink, light pencil, a thin line a scan greyed."""
        return InkLevels(self.paper - share * self.contrast, self.paper)


@dataclass(frozen=True)
class BoxMeasure:
    score: float
    dx_mm: float
    dy_mm: float
    stroke: float | None = 0.0  # share of the interior covered by thin lines darker than the box's paper noise;
    # None: not looked for, as it could not change the box's state (see measure_patch's `thresholds`)
    specks: int = 0  # 1-bit pages: dark pixels inside the interior (an empty box has none)
    pale: bool = False  # evenly, palely darkened with no dark ink anywhere: a fold or a shadow more than a mark


def box_state(m: BoxMeasure, thresholds: Thresholds) -> str:
    """The score's band, with line evidence lifting a blank-scoring box to marginal (never marked)."""
    state = thresholds.state(m.score)
    if state == MARKED and m.pale:
        return MARGINAL
    if state == BLANK and (m.stroke >= STROKE_MARGINAL or m.specks >= SPECKS_MARGINAL):
        return MARGINAL
    return state


def raw_darkness(patch: np.ndarray, black: float, paper: float) -> np.ndarray:
    """0 at paper white, 1 at printed black, nothing removed (noise included)."""
    return (paper - patch.astype(np.float32)) / max(paper - black, 1.0)


def line_strength(raw: np.ndarray, px_per_mm: float) -> np.ndarray:
    """How much darker than its broad surroundings each pixel is, smoothed over a line's width (a
    black top-hat of the darkness): thin lines stand out, shading, folds and solid fills drop out."""
    s = px_per_mm
    smooth = cv2.GaussianBlur(raw, (0, 0), max(STROKE_SMOOTH_MM * s, 0.5))
    k = 2 * int(round(STROKE_BROAD_MM * s / 2)) + 1
    broad = cv2.morphologyEx(smooth, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (k, k)),
                             borderType=cv2.BORDER_REPLICATE)
    return smooth - broad


def median(a: np.ndarray) -> float:
    """np.median of a float array without NaN, to the last bit (the same partition and mean of the
    middle one or two values) without its overhead, which dominated a box's cost (8 small medians)."""
    flat = a.ravel()
    k = flat.size // 2
    if flat.size % 2:
        return float(np.partition(flat, k)[k])
    return float(np.mean(np.partition(flat, (k - 1, k))[k - 1:k + 1]))


def median_rows(a: np.ndarray) -> np.ndarray:
    """np.median(a, axis=1) of a 2-D float array without NaN, to the last bit, without its overhead."""
    k = a.shape[1] // 2
    if a.shape[1] % 2:
        return np.mean(np.partition(a, k, axis=1)[:, k:k + 1], axis=1)
    return np.mean(np.partition(a, (k - 1, k), axis=1)[:, k - 1:k + 1], axis=1)


def above_median(a: np.ndarray, level: float) -> bool:
    """median(a) > level, mostly without the median: when more than half of the values are above the
    level, or at most half of them minus one, the count says it; only a tie between the middle two
    needs them."""
    n = a.size
    above = int(np.count_nonzero(a > np.float64(level)))  # compared as median() > level compares: in float64
    if above > n // 2:
        return True
    if above < (n + 1) // 2:
        return False
    return median(a) > level


def paper_noise(strips: list[np.ndarray]) -> float:
    """The spread of line strength on this box's own paper, from the margin strips around the box:
    the second quietest strip (ink or print in one or two strips does not inflate it)."""
    if len({st.size for st in strips}) == 1 and strips[0].size:
        # a square box: four strips of one size, their medians in two partitions (numpy's, to the bit)
        flat = np.stack([st.ravel() for st in strips])
        centre = median_rows(flat)
        spread = median_rows(np.abs(flat - centre[:, None]))
        spreads = sorted(1.4826 * float(m) + float(c) for m, c in zip(spread, centre))
    else:
        centres = [median(st) if st.size else 0.0 for st in strips]
        spreads = sorted(1.4826 * median(np.abs(st - c)) + c for st, c in zip(strips, centres) if st.size)
    return spreads[1] if len(spreads) > 1 else (spreads[0] if spreads else 0.0)


def stroke_share(strength: np.ndarray, noise: float, px_per_mm: float) -> float:
    """Share of a box interior (its line strength) covered by pen or pencil lines however light: above
    this box's paper noise, in connected pieces long enough to be a line rather than grain or a speck."""
    if strength.size == 0:
        return 0.0
    s = px_per_mm
    lines = (strength > max(STROKE_NOISE_SIGMAS * noise, STROKE_MIN_DARKNESS)).astype(np.uint8)
    count, _, stats, _ = cv2.connectedComponentsWithStats(lines, connectivity=8)
    if count <= 1:
        return 0.0
    long_enough = np.maximum(stats[1:, cv2.CC_STAT_WIDTH], stats[1:, cv2.CC_STAT_HEIGHT]) >= STROKE_MIN_LENGTH_MM * s
    return float(stats[1:, cv2.CC_STAT_AREA][long_enough].sum() / strength.size)


def sample_px_per_mm(native_px_per_mm: float) -> float:
    """Sampling resolution for boxes: the scan's own, capped (more detail adds nothing)."""
    return float(min(MAX_SAMPLE_PX_PER_MM, max(3.0, round(native_px_per_mm))))


def ink_levels(gray: np.ndarray, homography: np.ndarray, fiducial_rects: list[Rect], px_per_mm: float) -> InkLevels:
    """Printed black (inside the markers) and paper white (the quiet zone around them)."""
    blacks, whites = [], []
    for rect in fiducial_rects:
        patch = upright_patch(gray, homography, rect, px_per_mm, margin_mm=2.5)
        m = int(round(2.5 * px_per_mm))
        inner = grey_histogram(patch[m:-m, m:-m])
        ring = sum(grey_histogram(part) for part in (patch[: m - 2], patch[-m + 2:], patch[:, : m - 2],
                                                     patch[:, -m + 2:]))
        blacks.append(kth_grey(inner, int(inner.sum()) // 10))
        whites.append(kth_grey(ring, int(ring.sum()) // 2))
    black, paper = float(np.median(blacks)), float(np.median(whites))
    return InkLevels(black=black, paper=max(paper, black + 1.0))


def grey_histogram(pixels: np.ndarray) -> np.ndarray:
    """How many pixels of each grey level 0-255 (uint8 pixels)."""
    return np.bincount(pixels.ravel(), minlength=256)


def kth_grey(histogram: np.ndarray, k: int) -> int:
    """The k-th smallest grey level (0-based) of the pixels a histogram counts: what np.partition gives,
    without sorting the pixels (a fiducial's patch has ~10,000)."""
    return int(np.searchsorted(np.cumsum(histogram), k + 1))


def darkness(raw: np.ndarray) -> np.ndarray:
    """0 at paper white, 1 at printed black, with the noise floor removed (from raw_darkness)."""
    return np.clip((raw - NOISE_FLOOR) / (1.0 - NOISE_FLOOR), 0.0, 1.0)


def mean_grey(pixels: np.ndarray) -> float:
    """np.mean of uint8 pixels, to the bit (numpy sums them exactly in float64 and divides by the count;
    OpenCV sums them exactly too) at less than half its cost: four strips a box."""
    return cv2.sumElems(pixels)[0] / pixels.size


def _best_offset(profile: np.ndarray, start: int, length: int, search: int, line: int) -> int:
    """Offset that puts the two printed edges (start, start+length) on the darkest columns."""
    kernel = np.ones(max(line, 1), dtype=np.float32)
    smooth = np.convolve(profile, kernel, mode="same")
    offsets = [d for d in sorted(range(-search, search + 1), key=abs)
               if 0 <= start + d < smooth.size and 0 <= start + length + d < smooth.size]
    if not offsets:
        return 0
    at = np.asarray(offsets) + start
    values = smooth[at] + smooth[at + length]  # the sums as the scalar code made them, all at once
    best, bar = 0, -1.0 + 1e-6
    for i, value in enumerate(values.tolist()):  # nearest first; a farther one must be darker by 1e-6
        if value > bar:
            best, bar = offsets[i], values[i] + 1e-6
    return best


def measure_box(gray: np.ndarray, homography: np.ndarray, rect: Rect, px_per_mm: float,
                levels: InkLevels, blur_mm: float = 0.0, bilevel: bool = False,
                thresholds: Thresholds | None = None) -> BoxMeasure:
    """Score one box: find its printed outline near the expected place, then average its interior."""
    patch = upright_patch(gray, homography, rect, px_per_mm, margin_mm=SEARCH_MM + 0.5)
    return measure_patch(patch, rect, px_per_mm, levels, blur_mm, bilevel, thresholds)


def measure_patch(patch: np.ndarray, rect: Rect, px_per_mm: float, levels: InkLevels, blur_mm: float = 0.0,
                  bilevel: bool = False, thresholds: Thresholds | None = None) -> BoxMeasure:
    """:func:`measure_box` on the box's upright patch (the box with SEARCH_MM + 0.5 mm around it).
    With the `thresholds` box_state will judge it by, a box scoring above blank with no shading gets no
    line evidence (stroke None): box_state looks at it only for a blank score or a shaded mark. Most of
    a box's cost, and a third of the boxes of a typical ballot (the marked ones)."""
    s = px_per_mm
    m = int(round((SEARCH_MM + 0.5) * s))
    # Local paper white (phone photos are unevenly lit): the brightest of the four margin strips
    # around the box, which ink overflowing the box cannot darken all at once.
    strip = max(2, m - int(round(SEARCH_MM * s)) + 2)
    paper = max(mean_grey(patch[:strip]), mean_grey(patch[-strip:]), mean_grey(patch[:, :strip]),
                mean_grey(patch[:, -strip:]))
    paper = max(min(paper, levels.paper + 0.25 * levels.contrast), levels.black + 1.0)
    raw = raw_darkness(patch, levels.black, paper)
    dark = darkness(raw)
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
    y1, x1 = m + dy + int(round(rect.h * s)) - inset + 1, m + dx + side - inset + 1
    inner = raw[y0:y1, x0:x1]
    specks = int(np.count_nonzero(inner > SPECK_DARKNESS)) if bilevel else 0
    # the median first: most boxes are paper (median near 0) and need no percentile
    pale = bool(inner.size) and above_median(inner, PALE_BASE) and float(np.percentile(inner, 99.5)) < PALE_PEAK
    if thresholds is not None and not pale and thresholds.state(round(score, 4)) != BLANK:
        return BoxMeasure(round(score, 4), round(dx / s, 3), round(dy / s, 3), None, specks, False)
    strength = line_strength(raw, s)
    noise = paper_noise([strength[:strip], strength[-strip:], strength[:, :strip], strength[:, -strip:]])
    cut = int(round(STROKE_INSET_MM * s))
    stroke = stroke_share(strength[y0 + cut:y1 - cut, x0 + cut:x1 - cut], noise, s)
    pale = pale and (stroke < PALE_MAX_STROKE or bilevel)  # a 1-bit threshold dithers shading into "lines"
    return BoxMeasure(round(score, 4), round(dx / s, 3), round(dy / s, 3), round(stroke, 4), specks, pale)
