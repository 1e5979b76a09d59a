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

import dataclasses
import math
from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from omr.ballot.layout import BOX_LINE, Rect
from omr.read.identify import upright_patch, upright_patches
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


def line_smooth(raw: np.ndarray, px_per_mm: float) -> np.ndarray:
    """The darkness smoothed over a pen line's width. Less its broad surroundings (line_surroundings), it is
    a line's strength: how much darker than them each pixel is (a black top-hat of the darkness), where
    thin lines stand out and shading, folds and solid fills drop out."""
    return cv2.GaussianBlur(raw, (0, 0), max(STROKE_SMOOTH_MM * px_per_mm, 0.5))


def line_surroundings(smooth: np.ndarray, px_per_mm: float) -> np.ndarray:
    """The broad surroundings of the smoothed darkness (line_smooth): its opening by a disc
    STROKE_BROAD_MM wide, at least as dark as the lightest pixel within the disc's radius of each pixel."""
    k = 2 * int(round(STROKE_BROAD_MM * px_per_mm / 2)) + 1
    return cv2.morphologyEx(smooth, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (k, k)),
                            borderType=cv2.BORDER_REPLICATE)


def no_line_can_show(smooth: np.ndarray, y0: int, y1: int, x0: int, x1: int, px_per_mm: float) -> bool:
    """Whether no pixel of smooth[y0:y1, x0:x1] can have a line strength above STROKE_MIN_DARKNESS (so none
    above stroke_shares' threshold, which is never lower), without the opening that costs most of a box:
    a pixel's surroundings are at least the lightest smoothed darkness within the disc's radius of it, so
    its strength is at most its own less that (float32 rounding keeps the order). Most blank boxes."""
    r = int(round(STROKE_BROAD_MM * px_per_mm / 2))
    inside = smooth[y0:y1, x0:x1]
    if inside.size == 0:
        return True
    lightest = smooth[max(y0 - r, 0):y1 + r, max(x0 - r, 0):x1 + r].min()
    return float(inside.max() - lightest) <= STROKE_MIN_DARKNESS


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
    centres = [median(st) if st.size else 0.0 for st in strips]
    spreads = sorted(1.4826 * median(np.abs(st - c)) + c for st, c in zip(strips, centres) if st.size)
    return spreads[1] if len(spreads) > 1 else (spreads[0] if spreads else 0.0)


def paper_noises(strengths: np.ndarray, strip: int) -> list[float]:
    """paper_noise of each of a stack of line strengths (boxes x rows x columns) from its four margin strips
    `strip` pixels wide: of square boxes, the medians of all their strips in two partitions (to the bit)."""
    n, h, w = strengths.shape
    if h != w:
        return [paper_noise([st[:strip], st[-strip:], st[:, :strip], st[:, -strip:]]) for st in strengths]
    flat = np.concatenate([strengths[:, :strip].reshape(n, -1), strengths[:, -strip:].reshape(n, -1),
                           strengths[:, :, :strip].reshape(n, -1), strengths[:, :, -strip:].reshape(n, -1)],
                          axis=1).reshape(4 * n, -1)
    centre = median_rows(flat)
    spread = median_rows(np.abs(flat - centre[:, None]))
    spreads = 1.4826 * spread.astype(np.float64) + centre.astype(np.float64)  # as paper_noise, in float64
    return np.sort(spreads.reshape(n, 4), axis=1)[:, 1].tolist()


def stroke_shares(strengths: list[np.ndarray], noises: list[float], px_per_mm: float) -> list[float]:
    """Share of each box interior (line strengths of one shape) covered by pen or pencil lines however light:
    above its box's paper noise, in connected pieces long enough to be a line rather than grain or a speck;
    the pieces of all found in one image, the interiors one under another, a row of no line between two."""
    s = px_per_mm
    if not strengths or strengths[0].size == 0:
        return [0.0] * len(strengths)
    h, w = strengths[0].shape
    lines = np.zeros((len(strengths) * (h + 1), w), np.uint8)
    for k, (strength, noise) in enumerate(zip(strengths, noises)):
        lines[k * (h + 1): k * (h + 1) + h] = strength > max(STROKE_NOISE_SIGMAS * noise, STROKE_MIN_DARKNESS)
    _, _, stats, _ = cv2.connectedComponentsWithStats(lines, connectivity=8)
    pieces = stats[1:]
    long_enough = np.maximum(pieces[:, cv2.CC_STAT_WIDTH], pieces[:, cv2.CC_STAT_HEIGHT]) >= STROKE_MIN_LENGTH_MM * s
    # the areas of each box's long pieces, summed as integers (exact in float64 too), over its pixel count
    area = np.bincount(pieces[long_enough, cv2.CC_STAT_TOP] // (h + 1), pieces[long_enough, cv2.CC_STAT_AREA],
                       minlength=len(strengths))
    return [a / (h * w) for a in area.tolist()]


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
    dark = np.subtract(raw, NOISE_FLOOR)
    np.divide(dark, 1.0 - NOISE_FLOOR, out=dark)
    return np.clip(dark, 0.0, 1.0, out=dark)


def mean_float32(a: np.ndarray) -> float:
    """float(a.mean()) of a float32 array, to the bit (np.mean's own sum, divided by the count in float64 and
    rounded to float32, as np.mean does), without its overhead."""
    return float(np.float32(float(np.add.reduce(a, axis=None)) / a.size))


def top_below(a: np.ndarray, level: float) -> bool:
    """float(np.percentile(a, 99.5)) < level, mostly from two counts (a percentile costs 50 us): it interpolates
    between two neighbouring values of the sorted array, so it is below when every value is clearly below the
    level, and not below when the values from two ranks under those two up are clearly above it (a margin
    that rounding of the rank or of the interpolation cannot cross); np.percentile decides the rest."""
    n = a.size
    if not np.count_nonzero(a > np.float64(level - 1e-6)):
        return True
    if np.count_nonzero(a > np.float64(level + 1e-6)) >= n - math.floor(0.995 * (n - 1)) + 2:
        return False
    return float(np.percentile(a, 99.5)) < level


def mean_greys(pixels: np.ndarray) -> np.ndarray:
    """np.mean of each of a stack of uint8 images (the first axis), to the bit: numpy too sums them exactly
    and divides by the count in float64; a box's paper level, from its four margin strips."""
    return pixels.sum(axis=(1, 2), dtype=np.int64) / (pixels.shape[1] * pixels.shape[2])


def _best_offset(profile: np.ndarray, start: int, length: int, search: int, line: int) -> int:
    """Offset that puts the two printed edges (start, start+length) on the darkest columns."""
    return _best_offsets(profile[None], start, length, search, line)[0]


def _best_offsets(profiles: np.ndarray, start: int, length: int, search: int, line: int) -> list[int]:
    """_best_offset of each profile (rows of one length), the candidate offsets listed once for all."""
    size = profiles.shape[1]
    offsets = [d for d in sorted(range(-search, search + 1), key=abs)
               if 0 <= start + d < size and 0 <= start + length + d < size]
    if not offsets:
        return [0] * len(profiles)
    at = np.asarray(offsets) + start
    smooth = running_sums(profiles, max(line, 1))
    values = smooth[:, at] + smooth[:, at + length]  # the sums as the scalar code made them, all at once
    found = []
    for row_values, row_bars in zip(values.tolist(), (values + 1e-6).tolist()):  # bars in float32, as ever
        best, bar = 0, -1.0 + 1e-6
        for i, value in enumerate(row_values):  # nearest first; a farther one must be darker by 1e-6
            if value > bar:
                best, bar = offsets[i], row_bars[i]
        found.append(best)
    return found


def running_sums(profiles: np.ndarray, width: int) -> np.ndarray:
    """np.convolve(profile, np.ones(width, np.float32), mode="same") of each float32 row, to the bit: each
    output the sum of its window's values added one by one from 0, first to last, as numpy's convolution
    adds them (checked for widths 1 to 3: a box's outline at up to MAX_SAMPLE_PX_PER_MM)."""
    if width > 3:  # numpy adds longer windows in another order
        return np.stack([np.convolve(profile, np.ones(width, np.float32), mode="same") for profile in profiles])
    n = profiles.shape[1]
    padded = np.pad(profiles, ((0, 0), (width - 1, width - 1)))
    full = padded[:, :n + width - 1].copy()
    for j in range(1, width):
        full += padded[:, j:j + n + width - 1]
    first = (width - 1) // 2
    return full[:, first:first + n]


def measure_box(gray: np.ndarray, homography: np.ndarray, rect: Rect, px_per_mm: float,
                levels: InkLevels, blur_mm: float = 0.0, bilevel: bool = False,
                thresholds: Thresholds | None = None) -> BoxMeasure:
    """Score one box: find its printed outline near the expected place, then average its interior."""
    return measure_boxes(gray, homography, [rect], px_per_mm, levels, blur_mm, bilevel, thresholds)[0]


def measure_boxes(gray: np.ndarray, homography: np.ndarray, rects: Sequence[Rect], px_per_mm: float,
                  levels: InkLevels, blur_mm: float = 0.0, bilevel: bool = False,
                  thresholds: Thresholds | None = None) -> list[BoxMeasure]:
    """:func:`measure_box` of each box: the boxes of one size are measured together (measure_patches)."""
    by_size: dict[tuple[float, float], list[int]] = {}
    for i, rect in enumerate(rects):
        by_size.setdefault((rect.w, rect.h), []).append(i)
    measures: list[BoxMeasure | None] = [None] * len(rects)
    for same in by_size.values():
        patches = np.stack(upright_patches(gray, homography, [rects[i] for i in same], px_per_mm,
                                           margin_mm=SEARCH_MM + 0.5))
        for i, m in zip(same, measure_patches(patches, rects[same[0]], px_per_mm, levels, blur_mm, bilevel,
                                              thresholds)):
            measures[i] = m
    return measures  # type: ignore[return-value]


def measure_patch(patch: np.ndarray, rect: Rect, px_per_mm: float, levels: InkLevels, blur_mm: float = 0.0,
                  bilevel: bool = False, thresholds: Thresholds | None = None) -> BoxMeasure:
    """:func:`measure_box` on the box's upright patch (the box with SEARCH_MM + 0.5 mm around it)."""
    return measure_patches(patch[None], rect, px_per_mm, levels, blur_mm, bilevel, thresholds)[0]


def measure_patches(patches: np.ndarray, rect: Rect, px_per_mm: float, levels: InkLevels, blur_mm: float = 0.0,
                    bilevel: bool = False, thresholds: Thresholds | None = None) -> list[BoxMeasure]:
    """:func:`measure_patch` of upright patches of boxes of one size (stacked: boxes x rows x columns), with
    what is done to every pixel done to all of them at once: a box's own numpy calls on its 75 x 75 pixels
    cost more than their arithmetic. Every number is computed as for one patch alone (the same operations
    on the same values, each box's sums and medians over its own pixels), to the last bit.
    With the `thresholds` box_state will judge it by, a box scoring above blank with no shading gets no
    line evidence (stroke None): box_state looks at it only for a blank score or a shaded mark. Most of
    a box's cost, and a third of the boxes of a typical ballot (the marked ones). Of the others, those
    whose smoothed darkness cannot show a line (no_line_can_show: most blank boxes) get a stroke share of
    0 without the opening that finds lines, which is what it would have measured."""
    s = px_per_mm
    m = int(round((SEARCH_MM + 0.5) * s))
    # Local paper white (phone photos are unevenly lit): the brightest of the four margin strips
    # around the box, which ink overflowing the box cannot darken all at once.
    strip = max(2, m - int(round(SEARCH_MM * s)) + 2)
    paper = np.maximum.reduce([mean_greys(patches[:, :strip]), mean_greys(patches[:, -strip:]),
                               mean_greys(patches[:, :, :strip]), mean_greys(patches[:, :, -strip:])])
    paper = np.maximum(np.minimum(paper, levels.paper + 0.25 * levels.contrast), levels.black + 1.0)
    # raw_darkness of each patch with its own paper (float32, as a Python float there is taken)
    raw = (paper.astype(np.float32)[:, None, None] - patches.astype(np.float32)) \
        / np.maximum(paper - levels.black, 1.0).astype(np.float32)[:, None, None]
    dark = darkness(raw)
    side = int(round(rect.w * s))
    height = int(round(rect.h * s))
    search = int(round(SEARCH_MM * s))
    line = max(1, int(round(BOX_LINE * s)))
    n = len(patches)
    dxs = _best_offsets(dark[:, m: m + side + 1, :].sum(axis=1), m, side, search, line)
    # each box's band of columns through its outline found across, taken out of every patch at once
    windows = np.lib.stride_tricks.sliding_window_view(dark, side + 1, axis=2)  # (box, row, first column, column)
    bands = windows[np.arange(n), :, m + np.asarray(dxs)]
    dys = _best_offsets(bands.sum(axis=2), m, height, search, line)
    # a blurred scan spreads the printed outline inwards: measure further in
    inset = int(np.ceil((INTERIOR_INSET_MM + 0.5 * min(blur_mm, MAX_BLUR_INSET_MM)) * s))
    cut = int(round(STROKE_INSET_MM * s))
    measures: list[BoxMeasure | None] = [None] * n
    pending: list[tuple[int, int, int, int, int, bool]] = []  # the boxes that need line evidence
    for k, (dx, dy) in enumerate(zip(dxs, dys)):
        y0, x0 = m + dy + inset, m + dx + inset
        y1, x1 = m + dy + height - inset + 1, m + dx + side - inset + 1
        interior = dark[k, y0:y1, x0:x1]
        score = mean_float32(interior) if interior.size else 0.0
        inner = raw[k, y0:y1, x0:x1]
        specks = int(np.count_nonzero(inner > SPECK_DARKNESS)) if bilevel else 0
        # the median first: most boxes are paper (median near 0) and need no percentile
        pale = bool(inner.size) and above_median(inner, PALE_BASE) and top_below(inner, PALE_PEAK)
        measures[k] = BoxMeasure(round(score, 4), round(dx / s, 3), round(dy / s, 3), None, specks, False)
        if thresholds is None or pale or thresholds.state(round(score, 4)) == BLANK:
            pending.append((k, y0, y1, x0, x1, pale))
    smooths = {k: line_smooth(raw[k], s) for k, *_ in pending}
    for k, y0, y1, x0, x1, pale in pending:
        if no_line_can_show(smooths[k], y0 + cut, y1 - cut, x0 + cut, x1 - cut, s):  # no line: stroke share 0
            measures[k] = dataclasses.replace(measures[k], stroke=0.0, pale=pale)
    pending = [p for p in pending if measures[p[0]].stroke is None]
    if pending:
        strengths = np.stack([smooths[k] - line_surroundings(smooths[k], s) for k, *_ in pending])
        noises = paper_noises(strengths, strip)
        strokes = stroke_shares([st[y0 + cut:y1 - cut, x0 + cut:x1 - cut] for st, (_, y0, y1, x0, x1, _) in
                                 zip(strengths, pending)], noises, s)
        for (k, *_, pale), stroke in zip(pending, strokes):
            pale = pale and (stroke < PALE_MAX_STROKE or bilevel)  # a 1-bit threshold dithers shading into "lines"
            measures[k] = dataclasses.replace(measures[k], stroke=round(stroke, 4), pale=pale)
    return measures
