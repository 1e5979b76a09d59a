"""Looking beyond the boxes: crossed-out names, writing outside the boxes, streaks, folds, blur.

Everything here compares the registered scan with the blank ballot as printed (the reference, a
render of the generated PDF): ink the reference does not have is the voter's, or the scanner's.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cache, lru_cache
from typing import Any

import cv2
import numpy as np

from omr.ballot.layout import NameCell, PageLayout, Rect, text_rect
from omr.read.identify import upright_patch, upright_patches
from omr.read.marks import NOISE_FLOOR, InkLevels, median

PAGE_PX_PER_MM = 4.0  # the whole-page check runs at ~100 dpi
NAME_PX_PER_MM = 8.0
NEW_INK = 0.2  # darkness (after the noise floor) that counts as ink outside the boxes: thin ballpoint too
PAGE_BORDER_MM = 4.0  # scanner edges and shadows: not looked at
MIN_WRITING_MM2 = 4.0  # less ink than this in one place is a speck, not writing
STRIKE_COVERAGE = 0.55  # share of a printed name's width a line must cover to cross it out


@dataclass(frozen=True)
class PageReference:
    """The blank page as printed, prepared once per template page."""

    coarse: np.ndarray  # grey at PAGE_PX_PER_MM
    fine: np.ndarray  # grey at NAME_PX_PER_MM
    printed: np.ndarray  # bool at PAGE_PX_PER_MM: printed, grown by 0.5 mm
    not_voter_ink: np.ndarray  # bool at PAGE_PX_PER_MM: printed, or where voter ink is expected or ignored
    memo: dict = field(default_factory=dict, compare=False, repr=False)  # per-name print masks, by blur;
    # the texts a line through would be writing over print; the page masks streak_columns and ink_beside_boxes use


def page_reference(pl: PageLayout, coarse: np.ndarray, fine: np.ndarray) -> PageReference:
    printed = cv2.dilate((coarse < 200).astype(np.uint8), np.ones((5, 5), np.uint8)) > 0
    return PageReference(coarse, fine, printed, printed | ignore_mask(pl, coarse.shape, PAGE_PX_PER_MM))


def test_sheet_reference(ref: PageReference, pl: PageLayout) -> PageReference:
    """The reference for a test-deck sheet: the test page as printed, whose footer band carries up to
    four lines of the votes it holds (printed, not written), down to the page's lower border."""
    footer = Rect(pl.footer.x, pl.footer.y, pl.footer.w, pl.height - pl.footer.y)
    mask = np.zeros(ref.not_voter_ink.shape, bool)
    x0, y0, x1, y1 = _rect_px(footer, PAGE_PX_PER_MM)
    mask[max(y0, 0):max(y1, 0), max(x0, 0):max(x1, 0)] = True
    return PageReference(ref.coarse, ref.fine, ref.printed | mask, ref.not_voter_ink | mask, ref.memo)


@dataclass(frozen=True)
class Finding:
    code: str  # extra-writing | streak | light-streak | fold-line | crease | crossed-out-name | name-obscured |
    #            mark-beside-box | writing-over-print
    detail: str
    rect: Rect  # where, in page mm
    contest_id: str = ""
    row_id: str = ""
    option_id: str = ""  # mark-beside-box: the box the ink is next to
    line: tuple[float, float, float, float, float] | None = None  # a streak: x0, y0, x1, y1, width (mm)

    def crosses(self, r: Rect) -> bool:
        """Whether this finding (a streak's line, else its rectangle) passes through a rectangle."""
        if self.line is None:
            return self.rect.x < r.x + r.w and r.x < self.rect.x + self.rect.w and \
                self.rect.y < r.y + r.h and r.y < self.rect.y + self.rect.h
        x0, y0, x1, y1, width = self.line
        dx, dy = x1 - x0, y1 - y0
        t = min(1.0, max(0.0, ((r.cx - x0) * dx + (r.cy - y0) * dy) / max(dx * dx + dy * dy, 1e-9)))
        px, py = x0 + t * dx, y0 + t * dy
        # the point of the line nearest the centre, within the rectangle grown by half the line's width
        return abs(px - r.cx) <= r.w / 2 + width / 2 and abs(py - r.cy) <= r.h / 2 + width / 2


@dataclass(frozen=True)
class PageInspection:
    findings: tuple[Finding, ...]
    new_ink_mm2: float  # voter ink outside the boxes' zones, in mm^2
    contrast: float  # paper white minus printed black, in grey levels


def _rect_px(r: Rect, s: float) -> tuple[int, int, int, int]:
    # math's floor and ceil: numpy's, as whole numbers, without making four numpy scalars
    return math.floor(r.x * s), math.floor(r.y * s), math.ceil((r.x + r.w) * s), math.ceil((r.y + r.h) * s)


def ignore_mask(pl: PageLayout, shape: tuple[int, int], s: float) -> np.ndarray:
    """Where voter ink is expected or the scan is not ours to judge: boxes, markers, QR, footer, edges."""
    mask = np.zeros(shape, dtype=bool)
    zones = list(pl.ink_zones) + [f.rect.grow(2.0) for f in pl.fiducials] + [pl.qr.grow(3.0), pl.footer]
    for r in zones:
        x0, y0, x1, y1 = _rect_px(r, s)
        mask[max(y0, 0):max(y1, 0), max(x0, 0):max(x1, 0)] = True
    b = int(round(PAGE_BORDER_MM * s))
    mask[:b, :] = mask[-b:, :] = True
    mask[:, :b] = mask[:, -b:] = True
    return mask


def ink_level(levels: InkLevels) -> float:
    """The grey level below which a pixel counts as ink (NEW_INK darkness after the noise floor)."""
    return levels.paper - (NOISE_FLOOR + NEW_INK * (1.0 - NOISE_FLOOR)) * levels.contrast


PAPER_WINDOW_MM = 3.0  # strokes thinner than this vanish from the local paper estimate


def ink_mask(scan: np.ndarray, levels: InkLevels, px_per_mm: float, darkness: float = NEW_INK,
             hidden: np.ndarray | None = None) -> np.ndarray:
    """Ink, judged against the paper around it: phone photos are unevenly lit, so a fixed grey level
    would miss light writing on a bright part of the page and see ink in a shadow. `hidden`: pixels (a
    scanner streak's) that are no paper to judge by, and never ink. (The paper: the brightest pixel of a
    window round each, averaged over the same window; an unhidden pixel's average never takes in a hidden one
    whose whole window is hidden, whose brightest is nought.)"""
    k = 2 * int(round(PAPER_WINDOW_MM * px_per_mm / 2)) + 1
    bright = scan if hidden is None else np.where(hidden, np.uint8(0), scan)
    paper = cv2.blur(cv2.dilate(bright, np.ones((k, k), np.uint8)), (k, k))
    ink = scan < cv2.LUT(paper, _ink_below(_ink_ratio(levels, darkness)))
    return ink if hidden is None else ink & ~hidden


def ink_off_print(scan: np.ndarray, levels: InkLevels, px_per_mm: float, printed: np.ndarray,
                  darkness: float = NEW_INK) -> np.ndarray:
    """ink_mask(scan, levels, px_per_mm, darkness) & ~printed, bit for bit, worked out only round the pixels
    that may hold such ink (most of a page is print or bare paper): a pixel off the print no darker than
    darkest_paper_ink is none; a pixel's local paper comes from the scan within `reach` pixels of it (rows and
    columns), so each rectangle round a group of pixels that may, with `reach` pixels on every side (or the
    page's edge, as on the whole page), gives there what the whole page gives. The groups: runs of such rows,
    then runs of such columns within each (a page's marks lie in a few columns of boxes)."""
    k = 2 * int(round(PAPER_WINDOW_MM * px_per_mm / 2)) + 1
    reach = 2 * (k // 2)  # the dilation's half window, then the blur's
    out = np.zeros(scan.shape, bool)
    may = np.less(scan, darkest_paper_ink(scan, levels, darkness))
    np.greater(may, printed, out=may)  # and off the print (bool > bool: True where only the first is)
    rows = np.flatnonzero(may.any(axis=1))
    height, width = scan.shape
    for first, last in _runs(rows, 2 * reach):  # runs this far apart are worked out apart
        top, bottom = max(first - reach, 0), min(last + reach, height)
        for start, end in _runs(np.flatnonzero(may[first:last].any(axis=0)), 2 * reach):
            left, right = max(start - reach, 0), min(end + reach, width)
            ink = ink_mask(scan[top:bottom, left:right], levels, px_per_mm, darkness)
            out[first:last, start:end] = ink[first - top:last - top, start - left:end - left] \
                & ~printed[first:last, start:end]
    return out


def _runs(indices: np.ndarray, gap: int) -> list[tuple[int, int]]:
    """The runs of sorted whole numbers, as (first, last + 1), split where two follow more than `gap` apart."""
    if not indices.size:
        return []
    breaks = np.flatnonzero(np.diff(indices) > gap)
    firsts, lasts = [int(indices[0]), *indices[breaks + 1].tolist()], [*indices[breaks].tolist(), int(indices[-1])]
    return [(first, last + 1) for first, last in zip(firsts, lasts, strict=True)]


def _ink_ratio(levels: InkLevels, darkness: float) -> float:
    """Below this share of the local paper's brightness a pixel is ink (black/paper is the darkest)."""
    return 1.0 - (NOISE_FLOOR + darkness * (1.0 - NOISE_FLOOR)) * (1.0 - levels.black / levels.paper)


def darkest_paper_ink(scan: np.ndarray, levels: InkLevels, darkness: float = NEW_INK) -> int:
    """A grey level that every pixel ink_mask calls ink is below: the local paper it is judged against
    is an average of the scan's own pixels, never brighter than the brightest, and a brighter paper
    only lets more pixels count as ink. Fewer pixels below it than a question needs: no ink_mask."""
    return int(_ink_below(_ink_ratio(levels, darkness))[0, int(scan.max(initial=0))])


@lru_cache(maxsize=16)
def _ink_below(ratio: float) -> np.ndarray:
    """For each grey level of the local paper, the grey levels below which a pixel is ink: those whose
    reflectance, cv2.divide(scan, max(paper, 1), scale=255) (255: as bright as the paper around), is
    below ratio * 255 (in each column, a run from level 0). Counted once, with that same division over
    every pair of levels, so a table look-up gives, bit for bit, what dividing every pixel gives (and
    costs a fifth of it); a whole reflectance is below ratio * 255 when below its ceiling, so a sheet's
    own ratio takes one row of _reflectances_below (dividing again for each sheet cost 0.1 ms)."""
    limit = ratio * 255.0
    whole = min(max(math.ceil(limit), 0), 256) if limit > 0 else 0  # NaN: nothing is below it
    return _reflectances_below()[whole].astype(np.uint8).reshape(1, 256)


@cache
def _reflectances_below() -> np.ndarray:
    """[v, paper]: how many scan levels have a reflectance (see _ink_below) below the whole number v, 0-256."""
    levels = np.arange(256, dtype=np.uint8)
    scans, papers = np.meshgrid(levels, np.maximum(levels, 1), indexing="ij")
    reflectance = cv2.divide(scans, papers, scale=255.0).astype(np.int64)
    each = np.bincount((reflectance * 256 + levels).ravel(), minlength=256 * 256).reshape(256, 256)
    return np.vstack([np.zeros((1, 256), np.int64), np.cumsum(each, axis=0)])


STRIKE_KERNEL_MM = 3.0  # a pen line is straight over this length; printed letters are not
STRIKE_MAX_WIDTH_MM = 1.2  # pen lines are thinner; the shadow of a fold is wider
STRIKE_DARK_INK = 0.5  # a broad stroke this dark is a felt pen, not a shadow
STRIKE_INK = 0.2  # a line drawn through a name counts from lighter than other ink: pencil, faint scans
STRIKE_ANGLES = (-20.0, -10.0, 0.0, 10.0, 20.0)


@cache
def _line_kernels(length_px: int) -> list[np.ndarray]:
    kernels = []
    for angle in STRIKE_ANGLES:
        k = np.zeros((length_px, length_px), np.uint8)
        c = (length_px - 1) / 2
        dx, dy = np.cos(np.radians(angle)) * c, np.sin(np.radians(angle)) * c
        cv2.line(k, (int(round(c - dx)), int(round(c - dy))), (int(round(c + dx)), int(round(c + dy))), 1, 1)
        kernels.append(k)
    return kernels


def straight_strokes(ink: np.ndarray, length_px: int) -> np.ndarray:
    """Ink pixels that belong to a straight stroke at least `length_px` long (at -20..20 degrees)."""
    out = np.zeros_like(ink)
    if not ink.any():
        return out
    for k in _line_kernels(length_px):
        out |= cv2.morphologyEx(ink, cv2.MORPH_OPEN, k, borderType=cv2.BORDER_CONSTANT, borderValue=0)
    return out


def _bare_print(ref: np.ndarray, memo: dict, key: tuple) -> np.ndarray:
    """The ink of the blank name, not blurred, grown by 3 px: part of what _printed_name says the print
    explains at any blur (its unblurred layer), so ink outside _printed_name's is outside this too;
    the same for every sheet of a template page: memoised."""
    memo_key = ("bare", key)
    if memo_key not in memo:
        ink = ink_mask(ref, InkLevels(0.0, 255.0), NAME_PX_PER_MM, STRIKE_INK).astype(np.uint8)
        memo[memo_key] = cv2.dilate(ink, np.ones((7, 7), np.uint8)).astype(bool)
    return memo[memo_key]


def _printed_name(ref: np.ndarray, sigma_scan: float, length: int, memo: dict, key: tuple
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """What the print of a name explains, for a scan this blurred: the straight runs of the blank
    name blurred by 0, 1 and 1.5 times the scan's blur (10-90 % rise of a Gaussian edge is 2.56
    sigma; resampling and JPEG add to what the fiducial edge shows), and all of its ink, both grown
    by 3 px; and which columns hold letters. The same for every sheet of a template page: memoised."""
    memo_key = (key, sigma_scan, length)
    if memo_key not in memo:
        s = NAME_PX_PER_MM
        runs = np.zeros(ref.shape, np.uint8)
        ink = np.zeros(ref.shape, np.uint8)
        for sigma in sorted({0.0, sigma_scan, round(1.5 * sigma_scan, 1)}):
            blurred = cv2.GaussianBlur(ref, (0, 0), sigma) if sigma > 0 else ref
            this = ink_mask(blurred, InkLevels(0.0, 255.0), s, STRIKE_INK).astype(np.uint8)
            runs |= straight_strokes(this, length)
            ink |= this
        grow = np.ones((7, 7), np.uint8)
        letters = ink_mask(ref, InkLevels(0.0, 255.0), s, STRIKE_INK).any(axis=0)
        memo[memo_key] = (cv2.dilate(runs, grow).astype(bool), cv2.dilate(ink, grow).astype(bool), letters)
    return memo[memo_key]


WORD_GAP_MM = 0.6  # blank columns between printed letters this wide: a word's space, which a pen line crosses


def word_gaps(letters: np.ndarray, min_px: int) -> list[tuple[int, int]]:
    """The runs of blank columns at least `min_px` wide between the first and the last letter."""
    inked = np.flatnonzero(letters)
    if len(inked) < 2:
        return []
    step = np.diff(inked)
    return [(int(a) + 1, int(a + d)) for a, d in zip(inked[:-1], step) if d - 1 >= min_px]


def crossed_out(gray: np.ndarray, homography: np.ndarray, cell: NameCell, reference: np.ndarray,
                levels: InkLevels, blur_mm: float = 0.0, memo: dict | None = None,
                across_words: bool = False) -> tuple[float, Rect, bool]:
    """crossed_out_cells of one cell."""
    return crossed_out_cells(gray, homography, [cell], reference, levels, blur_mm, memo, across_words)[0]


def name_band(text_rect: Rect) -> Rect:
    """The band looked at for a line through a printed text: 1 mm either side of it, 0.8 mm above and below."""
    return Rect(text_rect.x - 1.0, text_rect.y - 0.8, text_rect.w + 2.0, text_rect.h + 1.6)


def crossed_out_cells(gray: np.ndarray, homography: np.ndarray, cells: Sequence[NameCell], reference: np.ndarray,
                      levels: InkLevels, blur_mm: float = 0.0, memo: dict | None = None,
                      across_words: bool = False) -> list[tuple[float, Rect, bool]]:
    """Share of the printed name's width covered by a straight stroke through the letters' bodies,
    the band looked at, and whether the stroke is broad and pale (the shadow of a fold, or a soft
    pencil: a person decides; a pen line is thin, or broad and dark). With `across_words`, a text of
    several words is crossed only where a stroke crosses a space between two of them: a 1-bit threshold
    thickens small bold letters until those of one word merge into straight runs the blank print does
    not have, but leaves the spaces between words blank.

    Printed letters have no straight run of 3 mm; a line drawn through a name does, even where it
    crosses the letters, so the strokes are found by opening the ink with line-shaped kernels, and
    what the same opening finds on the blank reference, blurred as much as the scan, is discounted
    (blur merges bold letters into runs of their own).

    Cells together (a page has 20-60 such bands, nearly all passed over after one count of their pixels
    darker than any ink could be): the bands' transforms are made in one matrix product (upright_patches,
    the same to the bit) and the sheet's ink threshold table looked up once; each band is judged as alone.
    """
    s = NAME_PX_PER_MM
    bands = [name_band(cell.text_rect) for cell in cells]
    below = _ink_below(_ink_ratio(levels, STRIKE_INK))[0]  # darkest_paper_ink's table
    return [_crossed_out(scan, cell, band, reference, levels, below, blur_mm, {} if memo is None else memo,
                         across_words)
            for scan, cell, band in zip(upright_patches(gray, homography, bands, s), cells, bands, strict=True)]


def _crossed_out(scan: np.ndarray, cell: NameCell, band: Rect, reference: np.ndarray, levels: InkLevels,
                 below: np.ndarray, blur_mm: float, memo: dict, across_words: bool) -> tuple[float, Rect, bool]:
    """crossed_out of one cell whose band (name_band) is `scan`, upright at NAME_PX_PER_MM; `below`: the
    ink threshold table of darkest_paper_ink for STRIKE_INK."""
    s = NAME_PX_PER_MM
    x0, y0, _, _ = _rect_px(band, s)
    ref = reference[y0:y0 + scan.shape[0], x0:x0 + scan.shape[1]]
    if ref.shape != scan.shape:
        return 0.0, band, False
    length = int(round(STRIKE_KERNEL_MM * s))
    key = (cell.contest_id, cell.row_id)
    may_be_ink = scan < int(below[int(scan.max(initial=0))])  # darkest_paper_ink(scan, levels, STRIKE_INK)
    # may be ink and not the bare print (bool > bool: True where only the first is)
    if np.count_nonzero(may_be_ink > _bare_print(ref, memo, key)) < length:
        return 0.0, band, False  # as below, known without the local paper or the blurred print (most bands)
    sigma_scan = round(blur_mm * s / 2.56, 1)
    runs, printed, letters = _printed_name(ref, sigma_scan, length, memo, key)
    if np.count_nonzero(may_be_ink & ~printed) < length:
        return 0.0, band, False  # as below, known without the local paper
    ink = ink_mask(scan, levels, s, STRIKE_INK).astype(np.uint8)
    if np.count_nonzero(ink & ~printed) < length:
        return 0.0, band, False  # not even one stroke's worth of ink that the (blurred) print does not explain
    strokes = straight_strokes(ink, length) & ~runs
    # through the letters' bodies (not an underline, not a shadow along the cell's edge)
    top = int(round((0.8 + 0.25 * cell.text_rect.h) * s))
    bottom = int(round((0.8 + 0.8 * cell.text_rect.h) * s))
    inner = strokes[top:bottom, int(s):-int(s)]  # over the letters, not the cell borders
    if inner.size == 0:
        return 0.0, band, False
    covered = inner.any(axis=0)
    # Between the words, where nothing is printed: the shadow of a fold across the name is broad and
    # pale; a pen line is thin, or (a felt pen) broad and dark.
    gaps = covered & ~letters[int(s):-int(s)]
    pale = False
    if gaps.sum() >= 4 and np.median(inner.sum(axis=0)[gaps]) > STRIKE_MAX_WIDTH_MM * s:
        dark = ink_mask(scan, levels, s, STRIKE_DARK_INK)[top:bottom, int(s):-int(s)].any(axis=0)
        pale = bool(dark[gaps].mean() < 0.5)
    spaces = word_gaps(letters[int(s):-int(s)], int(round(WORD_GAP_MM * s))) if across_words else []
    if spaces and not any(covered[a:b].mean() >= 0.5 for a, b in spaces):
        return 0.0, band, pale
    return float(covered.mean()), band, pale


BESIDE_REACH_MM = 2.5  # ink outside a box this close to ink inside it is one mark that ran over the edge (the
#                       print mask, 0.5 mm round the outline, cuts such a stroke in pieces)
BESIDE_MIN_MM2 = 1.0  # less ink than this beside a box is a speck (a pen resting), not a mark
BESIDE_MIN_LENGTH_MM = 2.0  # ... unless it is a line at least this long


def _fill(mask: np.ndarray, rects, s: float, value: bool = True) -> None:
    for r in rects:
        x0, y0, x1, y1 = _rect_px(r, s)
        mask[max(y0, 0):max(y1, 0), max(x0, 0):max(x1, 0)] = value


def _beside_masks(pl: PageLayout, shape: tuple[int, int], s: float) -> tuple[np.ndarray, np.ndarray]:
    """Where ink is beside a box (in a box's ink zone, off the boxes and the names) and inside one."""
    zone = np.zeros(shape, bool)
    _fill(zone, pl.ink_zones, s)
    _fill(zone, [c.rect for c in pl.name_cells], s, False)  # a line through a name: a crossed-out name
    boxes = np.zeros(shape, bool)
    _fill(boxes, [b.rect.grow(0.5) for b in pl.boxes], s)
    inside = np.zeros(shape, bool)
    _fill(inside, [b.rect.grow(-0.3) for b in pl.boxes], s)
    return zone & ~boxes, inside


def ink_beside_boxes(ink: np.ndarray, pl: PageLayout, px_per_mm: float, memo: dict | None = None) -> list[Finding]:
    """Voter ink in a box's ink zone that is no part of a mark inside a box: a ring drawn round it, a
    mark made just outside it, an arrow pointing at it. `ink` is the page's voter ink (print removed)
    at `px_per_mm`; each such piece goes to the nearest box, whose row a person then looks at. A page
    without boxes (a cross-out ballot: its strikes are read by omr.read.crossout) has none. `memo`: the
    template page's (PageReference.memo), which keeps its masks (0.3-1.5 ms a sheet to draw)."""
    if not pl.boxes:
        return []
    s = px_per_mm
    key = ("beside-masks", ink.shape, s)
    masks = None if memo is None else memo.get(key)
    if masks is None:
        masks = _beside_masks(pl, ink.shape, s)
        if memo is not None:
            memo[key] = masks
    beside, inside = masks
    k = 2 * int(round(BESIDE_REACH_MM * s)) + 1
    outside = (ink & beside).view(np.uint8)
    # Only the part of the page round the ink outside the boxes is looked at (most sheets have none):
    # the pieces, their order and the reach into them are those of the whole page.
    bx, by, bw, bh = cv2.boundingRect(outside)
    if not bw:
        return []
    # an even origin: the labelling scans 2x2 blocks, so its pieces keep the whole page's order
    x0, y0 = max(bx - 2, 0) & ~1, max(by - 2, 0) & ~1
    x1, y1 = min(bx + bw + 2, ink.shape[1]), min(by + bh + 2, ink.shape[0])
    ex0, ey0 = max(x0 - k, 0), max(y0 - k, 0)
    around = np.s_[ey0:min(y1 + k, ink.shape[0]), ex0:min(x1 + k, ink.shape[1])]
    near = (ink[around] & inside[around]).view(np.uint8)
    reach = cv2.dilate(near, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (k, k)))
    reach = reach[y0 - ey0:y1 - ey0, x0 - ex0:x1 - ex0] > 0
    outside = outside[y0:y1, x0:x1]
    # pieces up to 1 mm apart are one: a ballpoint skips, a faint stroke breaks up under the ink threshold
    count, labels, stats, _ = cv2.connectedComponentsWithStats(cv2.dilate(outside, np.ones((5, 5), np.uint8)),
                                                              connectivity=8)
    if count <= 1:
        return []
    stats[:, 0] += x0
    stats[:, 1] += y0
    explained = np.unique(labels[reach & (labels > 0)])
    ink_px = np.bincount(labels[outside > 0], minlength=count)
    found: dict[tuple[str, str, str], Finding] = {}
    for i in range(1, count):
        x, y, w, h, _ = (int(v) for v in stats[i])
        if i in explained or (ink_px[i] / (s * s) < BESIDE_MIN_MM2 and max(w, h) < BESIDE_MIN_LENGTH_MM * s):
            continue
        rect = Rect(round(x / s, 1), round(y / s, 1), round(w / s, 1), round(h / s, 1))
        box = min(pl.boxes, key=lambda b: (b.rect.cx - rect.cx) ** 2 + (b.rect.cy - rect.cy) ** 2)
        key = (box.contest_id, box.row_id, box.option_id)
        if key not in found:
            found[key] = Finding("mark-beside-box", f"ink next to box {box.option_id}, not inside it (a ring round "
                                 "it, a mark beside it or an arrow): what the voter meant, a person decides",
                                 rect, box.contest_id, box.row_id, box.option_id)
    return list(found.values())


FOLD_LINE_MM = 25.0  # on a 1-bit page, a straight dark line this long through the voter's zones is a fold
#                     or crease the threshold turned black, not a mark (a voter's stroke is shorter)
FOLD_GAP_MM = 4.0  # gaps along such a line closed first
FOLD_EDGE_MM = PAGE_BORDER_MM  # a line broader than a pen that starts this near the paper's edge is a fold: a
#                               fold runs from edge to edge (where the table's print breaks it, its pieces still
#                               reach the edges; the threshold may leave the last millimetres white, which the
#                               reader does not look at: PAGE_BORDER_MM)
FOLD_ALIGN_MM = 4.0  # pieces of one fold: their middles this near (a fold a few millimetres off square) ...
FOLD_SLANT = 0.04  # ... and this much more per millimetre apart along it (a fold up to 2.3 degrees off square)
FOLD_EDGE_PIECE_MM = 8.0  # shorter pieces count too where they reach the paper's edges, one each: the fold's
#                           shading often turns black only near the edges, where the paper lifts


def fold_lines(ink: np.ndarray, px_per_mm: float, length_mm: float = FOLD_LINE_MM,
               edge_mm: float | None = None, pieces: dict | None = None) -> list[Finding]:
    """Long straight lines in a 1-bit page's voter ink (print removed), across or down the page: the
    shading of a fold that the scanner's threshold drew as a black bar through the boxes it crosses.
    Each is a line (like a streak): the boxes it crosses cannot be scored. With `edge_mm`, only the lines
    of pieces that come within it of one of the paper's edges (no other line can reach an edge: a line
    lies in one piece), most pieces not looked at. `pieces`: where the pieces of the ink, its gaps
    closed, are kept for another search of the same ink (finding them is most of a search's cost)."""
    s = px_per_mm
    length = int(round(length_mm * s))
    ink8 = ink.astype(np.uint8)
    found: list[Finding] = []
    bridge = np.ones((1, int(round(FOLD_GAP_MM * s)) | 1), np.uint8)
    # only round the ink, with room for the closing (the same lines, in the same order, as on the page)
    bx, by, bw, bh = cv2.boundingRect(ink8)
    if not bw:
        return found
    m = bridge.shape[1] + 1
    x0, y0 = max(bx - m, 0) & ~1, max(by - m, 0) & ~1  # even: see ink_beside_boxes
    ink8 = ink8[y0:by + bh + m, x0:bx + bw + m]
    near = int(edge_mm * s) + 2 if edge_mm is not None else 0  # a pixel more either way than Rect's rounding
    pieces = {} if pieces is None else pieces
    for across, (left, top), (width, height) in ((True, (x0, y0), ink.shape[::-1]), (False, (y0, x0), ink.shape)):
        if across not in pieces:
            # the threshold breaks the bar where the shading is even: gaps of a few millimetres are closed
            closed = cv2.morphologyEx(ink8 if across else np.ascontiguousarray(ink8.T), cv2.MORPH_CLOSE, bridge)
            pieces[across] = cv2.connectedComponentsWithStats(closed, connectivity=8)[1:3]
        # the paper's four edges in the image's own pixels (it starts at `left`, `top` of the page's)
        edges = None if edge_mm is None else (near - left, near - top, width - near - left, height - near - top)
        lines = straight_strokes(_wide_pieces(*pieces[across], length, edges), length)
        if not lines.any():
            continue
        count, labels, stats, _ = cv2.connectedComponentsWithStats(lines, connectivity=8)
        middle, slope = _fitted_lines(labels, count)
        top = y0 if across else x0  # the crop's first row, in the page's pixels
        for i in range(1, count):
            x, y, w, h, _ = (int(v) for v in stats[i])
            # along its own pixels (a fold is seldom square to the page): its rows at its first and last column
            ends = [float(middle[i][1] + slope[i] * (u - middle[i][0]) + top) / s for u in (x, x + w)]
            if not across:
                x, y, w, h = y, x, h, w
            x, y = x + x0, y + y0
            r = Rect(round(x / s, 1), round(y / s, 1), round(w / s, 1), round(h / s, 1))
            line = (r.x, ends[0], r.x + r.w, ends[1], r.h) if across else (ends[0], r.y, ends[1], r.y + r.h, r.w)
            found.append(Finding("fold-line", f"a straight dark line {max(r.w, r.h):.0f} mm long at "
                                 f"x={r.cx:.0f} mm, y={r.cy:.0f} mm: a fold or crease the 1-bit scan drew black",
                                 r, line=line))
    return found


def _fitted_lines(labels: np.ndarray, count: int) -> tuple[np.ndarray, np.ndarray]:
    """Each labelled piece's middle (column, row: pixel edges, as a Rect's) and the slope of the straight
    line its pixels lie along (rows per column; the pieces lie within 20 degrees of the columns' direction)."""
    rows, cols = np.nonzero(labels)
    which = labels[rows, cols]
    n = np.maximum(np.bincount(which, minlength=count), 1)
    mc, mr = np.bincount(which, cols, count) / n, np.bincount(which, rows, count) / n
    dc, dr = cols - mc[which], rows - mr[which]
    slope = np.bincount(which, dc * dr, count) / np.maximum(np.bincount(which, dc * dc, count), 1e-9)
    return np.stack([mc + 0.5, mr + 0.5], axis=1), slope


def _reaches(r: Rect, across: bool, width_mm: float, height_mm: float) -> tuple[bool, bool]:
    """Whether a piece reaches the paper's near and far edge along its own direction (FOLD_EDGE_MM)."""
    start, size, page = (r.x, r.w, width_mm) if across else (r.y, r.h, height_mm)
    return start <= FOLD_EDGE_MM, start + size >= page - FOLD_EDGE_MM


def folds_across(lines: list[Finding], width_mm: float, height_mm: float, broad: bool = True
                 ) -> tuple[list[Finding], list[Finding]]:
    """The folds among the lines fold_lines found, each drawn from edge to edge of the paper, and the other
    lines. The fold's shading broke up where the print is, but the paper was folded from edge to edge: the
    pieces of one line (across or down, their middles within FOLD_ALIGN_MM) are a fold where one of them,
    broader than a pen, reaches the paper's edge (`broad`), or where they reach both edges (no hand draws a
    line across the whole sheet and lifts the pen over the print; short pieces at the two edges, `broad`
    false, may lie FOLD_SLANT of the distance between them further apart: as far as the fold's slant takes
    them). Drawn along the pieces' own lines (a fold is seldom square to the page: one piece's slope carries
    it past the print), as broad as the broadest piece."""
    folds: list[Finding] = []
    used: set[int] = set()
    slant = 0.0 if broad else FOLD_SLANT
    for i, first in enumerate(lines):
        if i in used or first.line is None:
            continue
        across = first.rect.w >= first.rect.h
        mid = (lambda f: f.rect.cy) if across else (lambda f: f.rect.cx)
        along = (lambda f: f.rect.cx) if across else (lambda f: f.rect.cy)
        group = [j for j, f in enumerate(lines) if j not in used and f.line is not None
                 and (f.rect.w >= f.rect.h) == across
                 and abs(mid(f) - mid(first)) <= FOLD_ALIGN_MM + slant * abs(along(f) - along(first))]
        pieces = [lines[j] for j in group]
        ends = [_reaches(f.rect, across, width_mm, height_mm) for f in pieces]
        broad_at_edge = broad and any((near or far) and f.line[4] >= STRIKE_MAX_WIDTH_MM
                                      for f, (near, far) in zip(pieces, ends))
        if not (broad_at_edge or (any(e[0] for e in ends) and any(e[1] for e in ends))):
            continue
        used.update(group)
        width = max(f.line[4] for f in pieces)
        # the line the pieces' own lines lie along, each weighed by its area (a speck's line barely counts)
        u = np.array([f.line[k] for f in pieces for k in ((0, 2) if across else (1, 3))])
        v = np.array([f.line[k] for f in pieces for k in ((1, 3) if across else (0, 2))])
        area = np.repeat([max(f.rect.w, f.rect.h) * f.line[4] for f in pieces], 2)
        slope, v_start = (float(c) for c in np.polyfit(u, v, 1, w=np.sqrt(area)))
        end = width_mm if across else height_mm
        v_end = v_start + slope * end
        line = (0.0, v_start, end, v_end, width) if across else (v_start, 0.0, v_end, end, width)
        lo, hi = min(v_start, v_end) - width / 2, max(v_start, v_end) + width / 2
        lo, size = round(lo, 1), round(hi - lo, 1)
        rect = Rect(0.0, lo, end, size) if across else Rect(lo, 0.0, size, end)
        where = f"y={(v_start + v_end) / 2:.0f} mm" if across else f"x={(v_start + v_end) / 2:.0f} mm"
        folds.append(Finding("fold-line", f"a fold {'across' if across else 'down'} the page at {where}, which the "
                             "1-bit scan drew black in pieces", rect, line=line))
    others = [f for i, f in enumerate(lines) if i not in used]
    return folds, others


def _kept_with_print(reference: PageReference, key: str, make: Callable[[], Any]) -> Any:
    """What `make` draws from the blank print, the same for every sheet of it: kept in the template page's
    memo with the print it was made from (a test sheet's reference shares the memo but not the print)."""
    kept = reference.memo.get(key)
    if kept is None or kept[0] is not reference.printed:
        reference.memo[key] = kept = (reference.printed, make())
    return kept[1]


CREASE_BAND_MM = 20.0  # a page's grey is profiled across bands this long along a possible crease
CREASE_WINDOW_MM = 3.0  # a crease's valley is narrower than this; the paper's shading is broader
CREASE_DARK = 0.04  # the valley is this much darker than the paper beside it (share of the contrast) ...
CREASE_PAPER_MM = 10.0  # ... and half that darker than the paper's mean over this width
CREASE_SHARE = 0.7  # ... on one straight line, in this share of the bands that show the paper, first to last
CREASE_SLOPES = np.arange(-0.03, 0.0301, 0.004)  # a fold a few millimetres off square over the page
CREASE_PEN_DARK = 0.35  # a line this dark (share of the contrast) ...
CREASE_PEN_SHARE = 0.8  # ... along this share of its rows off the print is a pen's, however long (a crease is
#                         lighter; a 1-bit threshold draws it in specks): never taken for a fold
CREASE_WIDTH_MM = 1.0  # the valley's width, left out of the names' measures (with STREAK_MARGIN_MM)
CREASE_MAX = 3  # folds looked for each way: a sheet folded in three, then in half (each fold found alone)
CREASE_APART_MM = 3.0  # the valleys this near a fold found are its own (its shaded side's edge), not another's
CREASE_CLEAR_MM = 1.0  # a valley this near print (a rule) is found, but the crease's line is fitted without it


def _band_means(scan: np.ndarray, bare: np.ndarray, contrast: float, border: int, band: int, n: int
                ) -> np.ndarray:
    """The mean of each column of each of `n` bands of `band` rows from `border` down, of the scan as shares
    of the contrast, 0 on the print (`bare`: 255 where bare paper): each band shrunk to one row by itself,
    which the area resize does as when it shrinks the n bands' rows at once (each row out of its own band's
    rows alone, the same sums); a band at a time, the whole page's grey in floats (4-8 MB, fresh pages from
    the system on each sheet: 2-4 ms) is never made."""
    width = scan.shape[1]
    if n <= 0:
        return np.zeros((0, width), np.float32)
    return np.vstack([cv2.resize(cv2.bitwise_and(scan[top:top + band], bare[top:top + band]).astype(np.float32)
                                 / contrast, (width, 1), interpolation=cv2.INTER_AREA)
                      for top in range(border, border + n * band, band)])


def _valleys(mean: np.ndarray, paper: np.ndarray, s: float, border: int
             ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Thin dark valleys across each band of rows of a page (`mean`: each band's columns' mean, _band_means;
    `paper`: the share of each band's column that is bare paper): each valley's band (its index among the
    bands that show enough paper to tell) and column (mm), whether it lies clear of the print (no column
    mostly print within CREASE_CLEAR_MM: beside a rule, the rule's blurred edge and the print it hides move
    a valley off the crease), and which bands of the page those are (their numbers, down the page)."""
    window = int(round(CREASE_WINDOW_MM * s)) | 1
    w = mean.shape[1]
    known = paper >= 0.5
    told = known.mean(axis=1) >= 0.3  # bands mostly print say nothing
    profile = mean[told] / paper[told].clip(1e-6)
    known = known[told]
    if not len(profile):
        return np.zeros(0, np.int64), np.zeros(0), np.zeros(0, bool), np.zeros(0, np.int64)
    middle = np.array([median(p[k]) for p, k in zip(profile, known)], np.float32)[:, None]  # np.median's, less overhead
    filled = np.where(known, profile, middle).astype(np.float32)
    valley = cv2.morphologyEx(filled, cv2.MORPH_CLOSE, np.ones((1, window), np.uint8)) - filled
    valley[~known] = 0.0
    # and darker than the paper around it: the paper between two light lines (a light scanner streak's) is not
    below = cv2.blur(filled, (int(round(CREASE_PAPER_MM * s)) | 1, 1), borderType=cv2.BORDER_REPLICATE) - filled
    peak = (valley >= CREASE_DARK) & (below >= CREASE_DARK / 2) & (valley >= np.roll(valley, 1, axis=1)) \
        & (valley >= np.roll(valley, -1, axis=1))
    peak[:, :2 * border] = peak[:, w - 2 * border:] = False  # the paper's edge and its shadow are no fold
    which, x = np.nonzero(peak)
    near = 2 * int(round(CREASE_CLEAR_MM * s)) + 1
    clear = cv2.erode(known.astype(np.uint8), np.ones((1, near), np.uint8), borderType=cv2.BORDER_REPLICATE) > 0
    return which, x / s, clear[which, x], np.flatnonzero(told)


def folds_down(scan: np.ndarray, reference: PageReference, levels: InkLevels, px_per_mm: float,
               across: bool = False) -> list[Finding]:
    """Folds down a page (`scan`: upright at `px_per_mm`), across the rows of names: each name's cell holds a
    short piece of the crease, which the names' measures would take for a pen's stroke (a grey scan's thin
    light valley; a 1-bit scan's specks). Found as a dark valley across band after band of the paper on one
    straight line from the first band to the last (a hand's line stays in a row or two); profiles, not a
    threshold, as the valley is too light and thin for an ink mask to keep it whole. Then the next such
    line among the valleys left, up to CREASE_MAX (a sheet folded twice). Not a fold: a line as dark as a
    pen's nearly all along. A fold across the page (`across`: the same, on the page turned) lies
    along the names, whose own measures judge its shading, told where its crease runs (crease_shade)."""
    if across:
        turned = _kept_with_print(reference, "turned", lambda: PageReference(
            reference.coarse.T, reference.fine.T, reference.printed.T, reference.not_voter_ink.T))
        return [Finding("crease", f"a fold across the page at y={(f.line[0] + f.line[2]) / 2:.0f} mm: a crease from "
                        "edge to edge of the paper", Rect(f.rect.y, f.rect.x, f.rect.h, f.rect.w),
                        line=(0.0, f.line[0], f.line[3], f.line[2], f.line[4]))
                for f in folds_down(np.ascontiguousarray(scan.T), turned, levels, px_per_mm)]
    s = px_per_mm
    border, band = int(round(PAGE_BORDER_MM * s)), int(round(CREASE_BAND_MM * s))
    n = max((scan.shape[0] - 2 * border) // band, 0)
    def draw() -> tuple[np.ndarray, np.ndarray]:  # the bare paper, and its share of each band's columns
        grown = cv2.dilate(reference.printed.astype(np.uint8), np.ones((3, 3), np.uint8))
        bare = np.where(grown > 0, 0, 255).astype(np.uint8)
        share = cv2.resize(bare[border:border + n * band], (bare.shape[1], n), interpolation=cv2.INTER_AREA)
        return bare, share.astype(np.float32) / 255.0

    bare, share = _kept_with_print(reference, "crease-paper", draw)
    # the paper's own light changes slowly along a band: the valley is measured against the paper a few
    # millimetres either side (_valleys), so the scan's grey is used as it is
    mean = _band_means(scan, bare, max(levels.contrast, 1.0), border, band, n)
    which, at, clear, told = _valleys(mean, share, s, border)
    bands = len(told)
    if bands < 5 or not len(at):
        return []
    along = border / s + (told[which] + 0.5) * CREASE_BAND_MM  # each band's middle, down the page (mm)
    found: list[Finding] = []
    left = np.ones(len(at), bool)  # the valleys no fold found so far lies on
    height = scan.shape[0] / s
    while len(found) < CREASE_MAX and left.any():
        line = _valley_line(which[left], at[left], along[left], bands)
        if line is None:
            break
        on = left & (np.abs(at - line[0] * along - line[1]) <= 1.5)  # the valleys on it, fitted: its own slope,
        fit = on & clear if len(np.unique(along[on & clear])) > 1 else on  # from those clear of the print
        slope, c = _fitted(along[fit], at[fit], line)
        left &= np.abs(at - slope * along - c) > CREASE_APART_MM  # its valley and its shading's, taken
        if _pen_line(scan, bare, levels, slope, c, s):
            continue
        top, bottom = c, c + slope * height
        x = round(min(top, bottom) - CREASE_WIDTH_MM / 2, 1)
        rect = Rect(x, 0.0, round(max(top, bottom) + CREASE_WIDTH_MM / 2 - x, 1), height)
        found.append(Finding("fold-line", f"a fold down the page at x={(top + bottom) / 2:.0f} mm: a crease from "
                             "edge to edge of the paper", rect, line=(top, 0.0, bottom, height, CREASE_WIDTH_MM)))
    return sorted(found, key=lambda f: f.rect.x)


def _valley_line(which: np.ndarray, at: np.ndarray, along: np.ndarray, bands: int) -> tuple[float, float] | None:
    """The straight line (slope, offset in mm) down the page with valleys (`at`, mm across; `which`: their
    band, `along`: its middle, mm down) in the most bands, from the first bands to the last; None when
    fewer than CREASE_SHARE of the `bands` have one on it."""
    best, line = 0, (0.0, 0.0)
    for slope in CREASE_SLOPES:  # per 1 mm bin of the line's offset, the bands with a valley on it
        offset = at - slope * along
        bins = np.floor(offset).astype(np.int64)
        lo = int(bins.min()) - 1
        on = np.zeros((int(bins.max()) - lo + 2, bands), bool)
        on[bins - lo, which] = True
        near = on[1:-1] | on[:-2] | on[2:]  # a valley within a bin either side: on the line
        count = near.sum(axis=1)
        spans = near[:, :2].any(axis=1) & near[:, -2:].any(axis=1)  # from edge to edge: the first bands to the last
        count[~spans] = 0
        i = int(np.argmax(count))
        if count[i] > best:
            best = int(count[i])
            c = lo + 1 + i + 0.5
            line = (float(slope), c)
    return line if best >= CREASE_SHARE * bands else None


CREASE_FIT_MM = 0.5  # a valley this far off the line fitted through a crease's others is left out of the fit


def _fitted(along: np.ndarray, at: np.ndarray, line: tuple[float, float]) -> tuple[float, float]:
    """The straight line (slope, offset) through valleys (`at` across the page, `along` it, mm) by least
    squares, the valley furthest off it left out while more than CREASE_FIT_MM off (another valley of the
    band, a letter's edge) and three bands remain; `line` where they lie in fewer than two bands."""
    keep = np.ones(len(at), bool)
    while len(np.unique(along[keep])) > 1:
        slope, c = (float(v) for v in np.polyfit(along[keep], at[keep], 1))
        off = np.where(keep, np.abs(at - slope * along - c), -1.0)
        worst = int(np.argmax(off))
        if off[worst] <= CREASE_FIT_MM or len(np.unique(along[keep])) <= 2:
            return slope, c
        keep[worst] = False
    return line


def _pen_line(scan: np.ndarray, bare: np.ndarray, levels: InkLevels, slope: float, c: float, s: float) -> bool:
    """Whether the line x = c + slope * y (mm) down the page is a pen's: the darkest pixel within two of it,
    row by row off the print, as dark as ink nearly all along (a crease is lighter; a 1-bit threshold draws
    it in specks)."""
    rows = np.arange(scan.shape[0])
    cols = np.rint((c + slope * (rows + 0.5) / s) * s - 0.5).astype(np.int64)
    near = np.clip(cols[:, None] + np.arange(-2, 3), 0, scan.shape[1] - 1)
    off_print = bare[rows[:, None], near].all(axis=1)
    darkest = scan[rows[:, None], near].min(axis=1)[off_print]
    return bool(darkest.size) and bool(
        np.mean(darkest < levels.paper - CREASE_PEN_DARK * levels.contrast) >= CREASE_PEN_SHARE)


def _wide_pieces(labels: np.ndarray, stats: np.ndarray, length_px: int,
                 edges: tuple[int, int, int, int] | None = None) -> np.ndarray:
    """The pieces of an image (8-connected: its `labels` and `stats` from cv2.connectedComponentsWithStats)
    at least as wide as the narrowest of the line kernels of `length_px`, as 0 and 1: every line those
    kernels find lies in one such piece, so straight_strokes finds the same lines in what is kept, and the
    long openings run on nothing at all on most pages. With `edges` (left, top, right, bottom), only the
    pieces that reach one of them."""
    narrowest = min(int(np.count_nonzero(k.any(axis=0))) for k in _line_kernels(length_px))
    wide = stats[:, cv2.CC_STAT_WIDTH] >= narrowest
    if edges is not None:
        x, y = stats[:, cv2.CC_STAT_LEFT], stats[:, cv2.CC_STAT_TOP]
        wide &= (x <= edges[0]) | (y <= edges[1]) | (x + stats[:, cv2.CC_STAT_WIDTH] >= edges[2]) \
            | (y + stats[:, cv2.CC_STAT_HEIGHT] >= edges[3])
    wide[0] = False
    if not wide.any():
        return np.zeros(labels.shape, np.uint8)
    return wide[labels].astype(np.uint8)


OVERPRINT_COVERAGE = STRIKE_COVERAGE  # share of a printed text's width a straight stroke covers: a line through it
OVERPRINT_MIN_MM = 3.0  # ... and at least this long


def writing_over_print(gray: np.ndarray, homography: np.ndarray, pl: PageLayout, reference: PageReference,
                       levels: InkLevels, blur_mm: float) -> list[Finding]:
    """Straight pen lines through printed texts other than the names of persons (those are judged as
    crossed-out names): candidates' names and options of choose/yes-no contests, titles, questions.
    The same stroke finder as for crossed-out names, on each text line's band."""
    found = []
    if "overprint-text-cells" not in reference.memo:  # the texts looked at: the same for every sheet of the page
        names = [c.text_rect for c in pl.name_cells]
        # a cross-out ballot's strikes are its votes (omr.read.strikes), across the whole row (honorific, date
        # of birth); the stamp is pressed over the issuing body's name
        names += [Rect(0.0, c.rect.y, pl.width, c.rect.h) for c in pl.strike_cells] + ([pl.stamp] if pl.stamp else [])
        texts = [(i, t, r) for i, t, r in ((i, t, text_rect(t)) for i, t in enumerate(pl.texts))
                 if not (r.w < OVERPRINT_MIN_MM or r.y + r.h > pl.footer.y or any(_overlaps(r, n) for n in names))]
        # with the cells each is judged as (making 20-40 of them cost 0.1-0.2 ms a sheet)
        reference.memo["overprint-text-cells"] = texts, [NameCell("", f"text-{i}", r.grow(1.0), r) for i, _, r in texts]
    texts, cells = reference.memo["overprint-text-cells"]
    for (_, t, r), (coverage, band, _) in zip(texts, crossed_out_cells(
            gray, homography, cells, reference.fine, levels, blur_mm, reference.memo, across_words=True), strict=True):
        if coverage >= OVERPRINT_COVERAGE and coverage * r.w >= OVERPRINT_MIN_MM:
            found.append(Finding("writing-over-print", f"a line through the printed text '{t.text[:40]}' "
                                 f"({coverage:.0%} of its width): writing on the ballot, a person decides", band))
    return found


def _overlaps(a: Rect, b: Rect) -> bool:
    return a.x < b.x + b.w and b.x < a.x + a.w and a.y < b.y + b.h and b.y < a.y + a.h


STREAK_SHARE = 0.7  # a scanner streak darkens this share of its column, top to bottom
STREAK_MAX_MM = 3.0
STREAK_EDGE_SHARE = 0.1  # the columns beside a streak darkened this share of their length or more are its edge:
#                          a fold's shading, which a 1-bit threshold leaves as specks along one side of it
LIGHT_STREAK_RISE = 12.0  # a light streak (a dead sensor cell, dust on the lamp's path) is this many grey levels
#                           brighter than the paper along STREAK_SHARE of its column: seen only on a grey paper,
#                           where its bright core and the ringing beside it would pass for the edges of ink
LIGHT_STREAK_SIDE_MM = (1.5, 4.0)  # ... and the columns this far either side of it are not: a broad bright part of a
LIGHT_STREAK_SIDE_SHARE = 0.3  # photo (its lamp, a lighter paper) is no streak: at most this share of them bright


UNMEASURABLE_MM = 99.0  # no clean edge to measure: as bad as it gets, but a finite number to store


def sheet_blur_mm(gray: np.ndarray, homography: np.ndarray, fiducial_rects: list[Rect],
                  native_px_per_mm: float) -> float:
    """How blurred the scan is: the sharpest fiducial edge found (a damaged one does not count)."""
    return round(min(edge_width_mm(gray, homography, r, min(native_px_per_mm, 12.0)) for r in fiducial_rects), 3)


def edge_width_mm(gray: np.ndarray, homography: np.ndarray, rect: Rect, px_per_mm: float) -> float:
    """Blur as the 10-90 % rise of a fiducial's outer left edge, in mm (sharp print: ~0.15 mm)."""
    patch = upright_patch(gray, homography, Rect(rect.x - 2.0, rect.y + 2.0, 4.0, rect.h - 4.0),
                          px_per_mm).astype(np.float32)
    profile = patch.mean(axis=0)
    quarter = max(2, profile.size // 4)
    hi, lo = float(profile[:quarter].mean()), float(profile[-quarter:].mean())
    if hi - lo < 10:
        return UNMEASURABLE_MM
    norm = (hi - profile) / (hi - lo)
    above10 = np.nonzero(norm > 0.1)[0]
    above90 = np.nonzero(norm > 0.9)[0]
    if not above10.size or not above90.size:
        return UNMEASURABLE_MM
    return max(float(above90[0] - above10[0]), 1.0) / px_per_mm


STREAK_ROWS = 64  # image rows sampled to find streaks (fewer than 256: streak_columns counts them in bytes)


@dataclass(frozen=True)
class Streak:
    """A scanner streak: an image column, which on the page is a line (any direction, the page may
    lie sideways or skewed on the glass)."""

    rect: Rect  # its extent on the page, mm
    start: tuple[float, float]  # page mm, where the image's top row crosses it
    end: tuple[float, float]  # page mm, the image's bottom row
    width_mm: float
    light: bool = False  # brighter than the paper (else darker)


def _column_shares(sampled: np.ndarray, masks: np.ndarray, level: float, brighter: bool = False) -> np.ndarray:
    """Each column's share of its sampled pixels on the page and off the print (`masks`: bit 0 on the page,
    bit 1 printed; 0-3) darker than `level` (`brighter`: brighter), 0 where fewer than 0.3 of those on the
    page are off the print. Counted in bytes (at most 255 rows: no cast of every pixel to int64), then
    divided as int64 counts."""
    valid = masks == 1  # on the page and not printed
    past = np.greater(sampled, level) if brighter else np.less(sampled, level)
    past &= valid
    on_page, counted, past_count = (np.add.reduce(m, axis=0, dtype=np.uint8).astype(np.int64)
                                    for m in (masks & 1, valid.view(np.uint8), past.view(np.uint8)))
    return np.where(counted >= 0.3 * on_page.clip(1), past_count / counted.clip(1), 0.0)


def streak_columns(gray: np.ndarray, homography: np.ndarray, pl: PageLayout, reference: PageReference,
                   levels: InkLevels) -> list[Streak]:
    """Dark or light lines along the scanner's feed (image columns) through the page.

    Image rows are sampled across the page; at each sampled pixel the page position says whether
    the blank ballot prints something there: those pixels do not count. A column dark in most of the
    remaining samples is a streak (voter marks cover a few millimetres of a column, not most of it)."""
    s = PAGE_PX_PER_MM
    corners = cv2.perspectiveTransform(np.float64([[[0, 0]], [[pl.width, 0]], [[pl.width, pl.height]],
                                                   [[0, pl.height]]]), homography).reshape(-1, 2)
    top, bottom = max(int(corners[:, 1].min()), 0), min(int(corners[:, 1].max()), gray.shape[0] - 1)
    if bottom - top < STREAK_ROWS:
        return []
    step = (bottom - top) / (STREAK_ROWS - 1)
    rows = np.round(top + step * np.arange(STREAK_ROWS)).astype(np.int64)
    # the sampled rows as a strip image; page (coarse pixels) -> strip by one perspective warp
    h, w = reference.printed.shape
    to_strip = np.array([[1.0, 0, 0], [0, 1.0 / step, -top / step], [0, 0, 1.0]]) @ homography @ \
        np.array([[1.0 / s, 0, 0], [0, 1.0 / s, 0], [0, 0, 1.0]])
    b = int(round(1.5 * PAGE_BORDER_MM * s))  # the paper's edge on a photo is no streak
    # the same for every sheet of this print (0.25 ms a sheet)
    def draw() -> np.ndarray:
        masks = reference.printed.astype(np.uint8) * 2  # bit 1: printed; bit 0: inside the page's border
        masks[b:h - b, b:w - b] |= 1
        return masks

    both = _kept_with_print(reference, "streak-masks", draw)
    size = (gray.shape[1], STREAK_ROWS)
    # one nearest-pixel warp carries both masks: each strip pixel takes both bits of the same page pixel
    masks = cv2.warpPerspective(both, to_strip, size, flags=cv2.INTER_NEAREST)
    share = _column_shares(gray[rows], masks, ink_level(levels))
    found = _streak_runs(share, homography, gray.shape, light=False)
    bright_above = levels.paper + LIGHT_STREAK_RISE
    if bright_above < 255:
        found += _streak_runs(_column_shares(gray[rows], masks, bright_above, brighter=True), homography,
                              gray.shape, light=True)
    return found


def _streak_runs(share: np.ndarray, homography: np.ndarray, shape: tuple[int, ...], light: bool) -> list[Streak]:
    """The streaks in a page's image columns from each column's `share` of dark (or, `light`, bright)
    samples: runs of columns at STREAK_SHARE or more, at most STREAK_MAX_MM wide, with the columns beside them
    at STREAK_EDGE_SHARE or more as their edge; a light run must stand out from the columns beside it
    (LIGHT_STREAK_SIDE_MM)."""
    hot = share >= STREAK_SHARE
    if not hot.any():
        return []  # most pages: no column to walk through one at a time
    native = float(np.sqrt(abs(np.linalg.det(homography[:2, :2]))))
    inv = np.linalg.inv(homography)
    near, far = (int(round(mm * native)) for mm in LIGHT_STREAK_SIDE_MM)
    found: list[Streak] = []
    col = 0
    while col < hot.size:
        if not hot[col]:
            col += 1
            continue
        end = col
        while end + 1 < hot.size and hot[end + 1]:
            end += 1
        sides = np.r_[share[max(col - far, 0):max(col - near, 0)], share[end + 1 + near:end + 1 + far]]
        apart = not light or (sides.size > 0 and float(np.mean(sides >= STREAK_EDGE_SHARE)) <= LIGHT_STREAK_SIDE_SHARE)
        if (end - col + 1) / native <= STREAK_MAX_MM and apart:
            first, last = col, end
            while first > 0 and end - first < 2 * STREAK_MAX_MM * native and share[first - 1] >= STREAK_EDGE_SHARE:
                first -= 1
            while last + 1 < hot.size and last - col < 2 * STREAK_MAX_MM * native \
                    and share[last + 1] >= STREAK_EDGE_SHARE and not hot[last + 1]:
                last += 1
            # the whole image column, from the image's top to its bottom, on the page
            centre = (first + last) / 2
            ends = cv2.perspectiveTransform(np.float64([[[centre, 0]], [[centre, shape[0] - 1]]]), inv)
            (ax, ay), (bx, by) = ends.reshape(2, 2)
            found.append(Streak(
                Rect(round(float(min(ax, bx)), 1), round(float(min(ay, by)), 1), round(float(abs(bx - ax)), 1),
                     round(float(abs(by - ay)), 1)),
                (float(ax), float(ay)), (float(bx), float(by)), (last - first + 1) / native, light))
        col = end + 1
    return found


def inspect_page(gray: np.ndarray, homography: np.ndarray, pl: PageLayout, reference: PageReference,
                 levels: InkLevels, blur_mm: float = 0.0, bilevel: bool = False,
                 stamp_disc: tuple[float, float, float] | None = None) -> PageInspection:
    """Findings outside the boxes, against the blank page as printed. `stamp_disc` (x, y, radius, mm): the
    committee's round stamp as found on its ring (omr.read.stamp), whose ink past its area is no writing."""
    s = PAGE_PX_PER_MM
    findings: list[Finding] = []
    # where the sheet lay partly off the scanner's image (printed a few millimetres off its paper, fed askew),
    # the page beyond the image is taken as bare paper: white there would raise the paper judged round the
    # image's edge, and the paper along it would read as a line of writing
    scan = upright_patch(gray, homography, Rect(0, 0, pl.width, pl.height), s,
                         border_value=int(np.clip(round(levels.paper), 0, 255)))
    scan_ink = ink_off_print(scan, levels, s, reference.printed)  # the ink on the print is never looked at:
    ink = np.greater(scan_ink, reference.not_voter_ink)  # & ~not_voter_ink (bool > bool); it holds the print
    if stamp_disc is not None:  # only the stamp's own disc: writing beside it is still writing
        disc = np.zeros(ink.shape, np.uint8)
        cv2.circle(disc, (int(round(stamp_disc[0] * s)), int(round(stamp_disc[1] * s))),
                   int(round(stamp_disc[2] * s)), 1, -1)
        ink &= disc == 0
    streaks = streak_columns(gray, homography, pl, reference, levels)
    if streaks:
        drawn = np.zeros(ink.shape, np.uint8)
        for st in streaks:
            where = f"x={st.rect.cx:.0f} mm" if st.rect.h >= st.rect.w else f"y={st.rect.cy:.0f} mm"
            code, what = ("light-streak", "a light line") if st.light else ("streak", "a dark line")
            findings.append(Finding(code, f"{what} along the scanner's feed at {where} on the page: "
                                    "scanner streak (dirty glass or sensor)", st.rect,
                                    line=(*st.start, *st.end, st.width_mm)))
            a = (int(round(st.start[0] * s)), int(round(st.start[1] * s)))
            b = (int(round(st.end[0] * s)), int(round(st.end[1] * s)))
            cv2.line(drawn, a, b, 1, max(1, int(round((st.width_mm + 2.0) * s))))
        ink &= ~drawn.astype(bool)  # a streak is reported as such, not as writing
    crossed: dict[tuple[str, str], Finding] = {}
    for cell, (coverage, band, pale) in zip(pl.name_cells, crossed_out_cells(
            gray, homography, pl.name_cells, reference.fine, levels, blur_mm, reference.memo), strict=True):
        if coverage >= STRIKE_COVERAGE and pale:
            # never voided by the machine, never passed silently either
            findings.append(Finding("name-obscured", f"a broad pale line across the printed name ({coverage:.0%} of "
                                    "its width): a fold, or a name crossed out in soft pencil; a person decides",
                                    band, cell.contest_id, cell.row_id))
        elif coverage >= STRIKE_COVERAGE:
            crossed[(cell.contest_id, cell.row_id)] = Finding(
                "crossed-out-name", f"a line through the printed name ({coverage:.0%} of its width)", band,
                cell.contest_id, cell.row_id)
            x0, y0, x1, y1 = _rect_px(cell.rect, s)
            ink[y0:y1, x0:x1] = False  # that ink is the strike, reported as such
    findings.extend(crossed.values())
    zone_ink = scan_ink  # off the print
    if streaks:
        zone_ink &= ~drawn.astype(bool)
    edge_folds: list[Finding] = []  # from edge to edge of the paper: left out along their lines
    folds: list[Finding] = []  # lines through boxes or down the names: left out by their rectangles
    if bilevel:
        # only lines through boxes: a line of handwriting, its letters bridged, can be as long
        # and down a cross-out ballot's names (broader than a pen and across rows: a hand's strike stays in its row)
        # or from the paper's edge (folds_across: then drawn from edge to edge)
        targets = [b.rect.grow(1.0) for b in pl.boxes]
        pieces: dict = {}  # the ink's pieces, found once for both searches
        edge_folds, lines = folds_across(fold_lines(zone_ink, s, pieces=pieces), pl.width, pl.height)
        at_edges = [f for f in fold_lines(zone_ink, s, FOLD_EDGE_PIECE_MM, FOLD_EDGE_MM, pieces)
                    if any(_reaches(f.rect, f.rect.w >= f.rect.h, pl.width, pl.height))
                    and not any(f.crosses(g.rect) for g in edge_folds)]
        edge_folds += folds_across(at_edges, pl.width, pl.height, broad=False)[0]
        folds = [f for f in lines if any(f.crosses(t) for t in targets)
                 or (f.rect.h > 2 * f.rect.w and f.line is not None and f.line[4] >= STRIKE_MAX_WIDTH_MM
                     and sum(f.crosses(c.rect) for c in pl.strike_cells) >= 2)]
        findings.extend(edge_folds + folds)
    if pl.strike_cells:  # a streak, or a fold the 1-bit scan drew black, down the page is found already
        # (a light streak whitens the paper: a dark valley beside it is no part of it)
        seen_lines = [f for f in [*(st for st in streaks if not st.light), *edge_folds, *folds] if f.rect.h > f.rect.w]
        down = [f for f in folds_down(scan, reference, levels, s)
                if not any(abs(f.rect.cx - g.rect.cx) <= FOLD_ALIGN_MM + g.rect.w / 2 for g in seen_lines)]
        findings.extend(down)
        edge_folds += down
        if not bilevel:  # folds across, along the names: their measures are told where the crease runs
            findings.extend(folds_down(scan, reference, levels, s, across=True))
    if folds or edge_folds:  # reported as folds, not as writing or marks beside boxes
        off = np.zeros(ink.shape, np.uint8)
        for f in folds:
            x0, y0, x1, y1 = _rect_px(f.rect.grow(1.0), s)
            off[max(y0, 0):max(y1, 0), max(x0, 0):max(x1, 0)] = 1
        for f in edge_folds:  # along its line (it may lie askew): the paper beside it is still read
            x0, y0, x1, y1, width = f.line
            cv2.line(off, (int(round(x0 * s)), int(round(y0 * s))), (int(round(x1 * s)), int(round(y1 * s))), 1,
                     max(1, int(round((width + 2.0) * s))))
        zone_ink &= off == 0
        ink &= off == 0
    findings.extend(ink_beside_boxes(zone_ink, pl, s, reference.memo))
    findings.extend(writing_over_print(gray, homography, pl, reference, levels, blur_mm))
    ink8 = ink.view(np.uint8)  # 0 and 1, as astype made them, not copied
    count, stats, ink_px = 1, np.zeros((1, 5), np.int32), np.zeros(1)
    bx, by, bw, bh = cv2.boundingRect(ink8)
    if bw and bh:
        # pieces less than half a millimetre apart are one piece: pencil dithered by a 1-bit scanner
        # comes out as a cloud of dots, each too small to count alone
        crop = ink8[by:by + bh, bx:bx + bw]
        count, labels, stats, _ = cv2.connectedComponentsWithStats(cv2.dilate(crop, np.ones((3, 3), np.uint8)),
                                                                  connectivity=8)
        ink_px = np.bincount(labels[crop > 0], minlength=count)  # the ink itself, not the bridges
        stats[:, 0] += bx
        stats[:, 1] += by
    px_mm2 = s * s
    writing_px = 0
    for i in range(1, count):
        x, y, w, h, _ = (int(v) for v in stats[i])
        area = int(ink_px[i])
        if area / px_mm2 < MIN_WRITING_MM2 and max(w, h) < 3.0 * s:
            continue  # a speck of dust or toner
        rect = Rect(round(x / s, 1), round(y / s, 1), round(w / s, 1), round(h / s, 1))
        writing_px += area
        findings.append(Finding("extra-writing", f"writing outside the boxes at x={rect.x:.0f} mm, y={rect.y:.0f} mm "
                                f"({rect.w:.0f} x {rect.h:.0f} mm)", rect))
    findings = _merge_writing(findings)
    return PageInspection(tuple(findings), round(writing_px / px_mm2, 1), round(levels.contrast, 1))


def _merge_writing(findings: list[Finding]) -> list[Finding]:
    writing = [f for f in findings if f.code == "extra-writing"]
    if len(writing) <= 3:
        return findings
    others = [f for f in findings if f.code != "extra-writing"]
    x0 = min(f.rect.x for f in writing)
    y0 = min(f.rect.y for f in writing)
    x1 = max(f.rect.x + f.rect.w for f in writing)
    y1 = max(f.rect.y + f.rect.h for f in writing)
    rect = Rect(x0, y0, round(x1 - x0, 1), round(y1 - y0, 1))
    return others + [Finding("extra-writing", f"writing outside the boxes in {len(writing)} places, within "
                             f"x={x0:.0f}-{x1:.0f} mm, y={y0:.0f}-{y1:.0f} mm", rect)]
