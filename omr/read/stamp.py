"""The committee's stamp (dấu) on a cross-out election ballot: present, absent or unclear.

A round stamp in red ink is mid-grey on a grey scan and may vanish from a 1-bit one, so "absent"
(which voids every vote on a state ballot) is only said where the scan could show the stamp: a grey
scan with enough contrast. Anywhere else the answer is "unclear" and a person looks at the paper.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from omr.ballot.layout import Rect
from omr.read.identify import upright_patch
from omr.read.inspect import PAGE_PX_PER_MM, STRIKE_INK, PageReference, ink_mask
from omr.read.interpret import STAMP_ABSENT, STAMP_PRESENT, STAMP_UNCLEAR
from omr.read.marks import InkLevels
from omr.read.strikes import FAINT_SHARE, Line, streak_mask

GREY_SHARE_1BIT = 0.002  # a 1-bit scan has (almost) no pixels between black and white
MIN_EXTENT_MM = 12.0  # a round stamp spreads its ink at least this far both ways (a streak, a stroke do not)
RING_SECTORS = 36  # the ring is looked at in 10-degree sectors (an even number: _sectors)
RING_BAND_MM = 1.5  # the ring's width looked at (a hand-pressed stamp is not a perfect circle)
RING_SECTOR_MM2 = 0.4  # a sector holds the ring when this much ink lies in it (a third of a pressed ring's)
RING_RADII = (0.3, 0.56)  # the ring's radius, as shares of the stamp area's smaller side
RING_SEARCH_MM = 8.0  # the ring's centre is looked for this far round the ink's centre
STREAK_HIDES = 0.1  # a scanner streak over more than this share of the area: "absent" cannot be said
PALE_SHARE = 0.3  # "absent" is judged again from 30 % of the usual darkness: a stamp pressed with little ink
PALE_RING = 0.25  # ... whose ink on this share of a ring makes the stamp unclear, not absent,
PALE_PRESENT = 0.6  # ... and on this share of a ring (a grey scan) present: a faint stamp, most of its ring
#                    (more than a dark ring needs: from this pale a level a rough scan's noise and streaks reached
#                    a third of a ring on unstamped sheets; stamps pressed with little ink on a faint scan 0.64-0.72)


@dataclass(frozen=True)
class StampRead:
    state: str  # present | absent | unclear
    ink_mm2: float  # new ink in the stamp area
    scan_shows_red: bool  # a grey scan with enough contrast: a red stamp would show
    detail: str
    ring: float = 0.0  # the largest share of a circle of a stamp's size that ink lies on


def is_bilevel(gray: np.ndarray) -> bool:
    """Whether the page is a 1-bit scan (black and white only), from a sample of its pixels."""
    sample = gray[::7, ::7]
    return float(np.mean((sample > 24) & (sample < 232))) < GREY_SHARE_1BIT


def ring_share(ink: np.ndarray, s: float, smaller_side_mm: float) -> float:
    """The largest share of RING_SECTORS sectors holding ink on one circle of a stamp's radius, over
    centres round the ink's centre: a round stamp's outer ring, even half lost by a 1-bit threshold or
    pressed unevenly, lies on one circle; writing, a streak, a fold or speckle does not."""
    return best_ring(ink, s, smaller_side_mm)[0]


HYPOT_MARGIN = 1e-9  # a bin edge this close (in bins) to sqrt(dx² + dy²): hypot decides (their gap is under 1e-12)


def _radius_bins(dx: np.ndarray, dy: np.ndarray, lo: float) -> np.ndarray:
    """floor((np.hypot(dx, dy) - lo) / (RING_BAND_MM / 2)), to the bit, at a third of hypot's cost: from
    sqrt(dx² + dy²), which is within a few units in the last place of hypot (under 1e-12 of a bin at a
    page's distances); only a value within HYPOT_MARGIN of a bin's edge, where that gap could move it
    across, is computed again with hypot itself. The subtraction and division are monotone, so a value
    clear of an edge is in hypot's bin."""
    q = dx * dx
    q += dy * dy
    np.sqrt(q, out=q)
    q -= lo
    q /= RING_BAND_MM / 2
    bins = np.floor(q)
    q -= bins
    edge = np.flatnonzero((q < HYPOT_MARGIN) | (q > 1.0 - HYPOT_MARGIN))
    if edge.size:
        exact = np.hypot(dx.ravel().take(edge), dy.ravel().take(edge))
        exact -= lo
        exact /= RING_BAND_MM / 2
        bins.ravel()[edge] = np.floor(exact)
    return bins.astype(np.int64)


HALF_TURN_ON = (np.arange(RING_SECTORS + 1) + RING_SECTORS // 2) % RING_SECTORS  # a sector's, half a turn on
SECTOR_MARGIN = 0.05  # of a sector (0.5 degrees): cv2.phase's documented error is 0.3 degrees (0.01 measured)


def _sectors(dx: np.ndarray, dy: np.ndarray) -> np.ndarray:
    """int((np.arctan2(dy, dx) + pi) / (2 pi) * RING_SECTORS) % RING_SECTORS, to the bit, at a quarter of
    arctan2's cost: the angle from cv2.phase (0..2 pi, within 0.3 degrees of the true one, SIMD), whose
    sector is the same half a turn on (an even number of sectors); only an angle within SECTOR_MARGIN of a
    sector's edge, where that error could put it in the next one, is taken again from np.arctan2. Elsewhere
    both sit clear inside the same sector (arctan2 and the scaling are off by 1e-13 of one at most)."""
    if dx.size == 0:
        return np.zeros(0, np.int64)
    turns = cv2.phase(dx, dy).ravel()
    turns *= RING_SECTORS / (2 * np.pi)
    whole = np.floor(turns)
    turns -= whole
    sector = HALF_TURN_ON.take(whole.astype(np.intp))  # (whole + half a turn) % RING_SECTORS: no division
    edge = np.flatnonzero((turns < SECTOR_MARGIN) | (turns > 1.0 - SECTOR_MARGIN))
    if edge.size:
        angle = np.arctan2(dy.take(edge), dx.take(edge))
        angle += np.pi
        angle /= 2 * np.pi
        angle *= RING_SECTORS
        sector[edge] = angle.astype(np.int64) % RING_SECTORS
    return sector


RING_PASS_POINTS = 16384  # (ink point, centre) pairs a pass: its arrays stay in a core's cache (measured best)


def _ring_shares(px: np.ndarray, py: np.ndarray, cx: np.ndarray, cy: np.ndarray, lo: float, n_r: int,
                 need: float, bins: int = 2) -> np.ndarray:
    """Per centre (`cx`, `cy`: arrays of centres, one row each) and per radius from `lo` (RING_BAND_MM / 2
    apart): the share of RING_SECTORS sectors with `need` ink points in a band `bins` half-bands wide round
    it. Centres are taken some at a time (RING_PASS_POINTS pairs): a call per centre cost as much in numpy's
    overhead as in arithmetic, all centres at once waited on memory; either took twice as long."""
    step = max(1, RING_PASS_POINTS // max(px.size, 1))
    return np.concatenate([_ring_block(px, py, cx[i:i + step], cy[i:i + step], lo, n_r, need, bins)
                           for i in range(0, len(cx), step)])


def _ring_block(px: np.ndarray, py: np.ndarray, cx: np.ndarray, cy: np.ndarray, lo: float, n_r: int,
                need: float, bins: int) -> np.ndarray:
    """_ring_shares for a few centres in one pass. Each point's offsets from a centre are the same values
    as from that centre alone, and its radius bin and sector are hypot's and arctan2's from them to the bit
    (_radius_bins, _sectors), so every share is that of the centre alone."""
    dx = px[None, :] - cx[:, None]
    dy = py[None, :] - cy[:, None]
    rbin = _radius_bins(dx, dy, lo)
    kept = np.flatnonzero(rbin.view(np.uint64) < n_r)  # 0 <= rbin < n_r (a negative bin is a huge unsigned)
    sector = _sectors(dx.ravel().take(kept), dy.ravel().take(kept))
    centre = kept // px.size
    counts = np.bincount((centre * n_r + rbin.ravel().take(kept)) * RING_SECTORS + sector,
                         minlength=len(dx) * n_r * RING_SECTORS).reshape(len(dx), n_r, RING_SECTORS)
    band = sum(counts[:, i:n_r - bins + 1 + i] for i in range(bins))  # RING_BAND_MM wide for 2 half-bands
    return (band >= need).mean(axis=2)  # under `need` points round a centre: no sector has them, 0


def best_ring(ink: np.ndarray, s: float, smaller_side_mm: float, thin: bool = False
              ) -> tuple[float, float, float, float]:
    """ring_share's circle: (share, centre x, centre y, outer radius), in mm of the patch `ink` (at `s`
    px/mm). `thin`: then the centre is refined on half-width bands (a stamp's two rings and lettering
    fill a broad band that an off-centre circle still meets), and the outer radius is that of the
    widest such band still on half the sectors. Ties between centres go as Python's max over
    (share, x, y) tuples decides them: to the larger offset."""
    ys, xs = np.nonzero(ink)
    if len(xs) < 8:
        return 0.0, 0.0, 0.0, 0.0
    every = max(1, len(xs) // 1500)  # a sample of the ink is enough (and the same for the same scan)
    px, py = xs[::every] / s, ys[::every] / s
    lo, hi = (f * smaller_side_mm for f in RING_RADII)
    n_r = int(np.ceil((hi - lo) / (RING_BAND_MM / 2))) + 1
    need = RING_SECTOR_MM2 * s * s / every

    def shares(x: float, offsets: np.ndarray, y: float, half: bool = False) -> list[float]:
        """The best ring's share round each centre (x + dx, y + dy), dy outer and dx inner."""
        cx = [x + dx for dy in offsets for dx in offsets]
        cy = [y + dy for dy in offsets for dx in offsets]
        found = _ring_shares(px, py, np.array(cx), np.array(cy), lo, n_r, need / 2 if half else need,
                             1 if half else 2)
        return [float(v) for v in found.max(axis=1)]

    # centres round the ink's middle, 2 mm apart, then 0.5 mm apart round the best of them
    cx0, cy0 = float(np.median(px)), float(np.median(py))
    coarse = np.arange(-RING_SEARCH_MM, RING_SEARCH_MM + 0.01, 2.0)
    grid = [(dx, dy) for dy in coarse for dx in coarse]
    best, bx, by = max((v, dx, dy) for v, (dx, dy) in zip(shares(cx0, coarse, cy0), grid))
    fine = np.arange(-1.0, 1.01, 0.5)
    grid = [(dx, dy) for dy in fine for dx in fine]
    best, fx, fy = max([(best, 0.0, 0.0)] + [(v, dx, dy) for v, (dx, dy)
                                             in zip(shares(cx0 + bx, fine, cy0 + by), grid)])
    cx, cy = cx0 + bx + fx, cy0 + by + fy
    if not thin:
        return best, cx, cy, 0.0

    for reach, step in ((4.0, 1.0), (0.75, 0.25)):
        around = np.arange(-reach, reach + 0.01, step)
        grid = [(cx + dx, cy + dy) for dy in around for dx in around]
        _, cx, cy = max((v, x, y) for v, (x, y) in zip(shares(cx, around, cy, half=True), grid))
    on = np.flatnonzero(_ring_shares(px, py, np.array([cx]), np.array([cy]), lo, n_r, need / 2, 1)[0] >= 0.5)
    outer = lo + (int(on.max()) + 1) * RING_BAND_MM / 2 if len(on) else 0.0
    return best, cx, cy, outer


def _stamp_ink(scan: np.ndarray, left_out: np.ndarray, levels: InkLevels, s: float) -> np.ndarray:
    """New ink at `levels` in a patch, but where `left_out` (the print, a scanner streak), specks under
    2 x 2 px removed: what a stamp left."""
    ink = ink_mask(scan, levels, s, STRIKE_INK) & ~left_out
    return cv2.morphologyEx(ink.astype(np.uint8), cv2.MORPH_OPEN, np.ones((2, 2), np.uint8)) > 0


STAMP_DISC_RING = 0.75  # ink on this share of a ring (any darkness): the stamp, whose whole disc is not writing
STAMP_DISC_MARGIN_MM = 1.5  # past the ring's outer edge: its blurred rim, and the centre found to within a millimetre
STAMP_SPILL_MM = 8.0  # an offset stamp's ring is looked for this far past its area


def stamp_disc(gray: np.ndarray, homography: np.ndarray, zone: Rect, reference: PageReference, levels: InkLevels
               ) -> tuple[float, float, float] | None:
    """The round stamp pressed in (or partly beside) its area, as a disc in page mm (centre x, y, radius):
    ink on STAMP_DISC_RING of one ring. A stamp pressed off its area spills its ring and lettering past
    it; that ink is the stamp, not the voter's writing (omr.read.inspect leaves the disc out, nothing
    more: writing beside the stamp is still writing). None when no ring that whole is found."""
    s = PAGE_PX_PER_MM
    side = min(zone.w, zone.h)
    zone = zone.grow(STAMP_SPILL_MM)  # the ring is looked for where an offset stamp spills too
    x, y = max(zone.x, 0.0), max(zone.y, 0.0)
    zone = Rect(x, y, zone.w - (x - zone.x), zone.h - (y - zone.y))
    scan = upright_patch(gray, homography, zone, s)
    x0, y0 = int(np.floor(zone.x * s)), int(np.floor(zone.y * s))
    printed = reference.printed[y0:y0 + scan.shape[0], x0:x0 + scan.shape[1]]
    if printed.shape != scan.shape:
        return None
    ink = _stamp_ink(scan, printed, levels.lighter(PALE_SHARE), s)  # a stamp pressed with little ink
    share, cx, cy, outer = best_ring(ink, s, side, thin=True)
    if share < STAMP_DISC_RING or outer <= 0:
        return None
    return zone.x + cx, zone.y + cy, outer + STAMP_DISC_MARGIN_MM


def read_stamp(gray: np.ndarray, homography: np.ndarray, zone: Rect, reference: PageReference, levels: InkLevels,
               contrast: float, min_contrast: float, present_mm2: float, absent_mm2: float,
               ring_needed: float, streaks: Sequence[Line] = ()) -> StampRead:
    """Present only on real evidence: ink lying on a stamp-sized circle (`ring_needed` of it); absent only
    where the scan could show a red stamp (grey, contrast at least `min_contrast`) and the area holds less
    than `absent_mm2` of new ink, a scanner streak hiding little of it; unclear otherwise."""
    s = PAGE_PX_PER_MM
    scan = upright_patch(gray, homography, zone, s)
    x0, y0 = int(np.floor(zone.x * s)), int(np.floor(zone.y * s))
    printed = reference.printed[y0:y0 + scan.shape[0], x0:x0 + scan.shape[1]]
    if printed.shape != scan.shape:
        printed = np.zeros(scan.shape, bool)
    hidden = streak_mask(zone, scan.shape, streaks, s)
    ink = _stamp_ink(scan, printed | hidden, levels.lighter(FAINT_SHARE), s)  # red ink is pale: from 60 %
    mm2 = round(float(np.count_nonzero(ink)) / (s * s), 1)
    shows = not is_bilevel(gray) and contrast >= min_contrast
    ring = round(ring_share(ink, s, min(zone.w, zone.h)), 3) if mm2 >= absent_mm2 else 0.0
    _, _, w, h = cv2.boundingRect(ink.astype(np.uint8))
    if ring >= ring_needed and min(w, h) / s >= MIN_EXTENT_MM:
        return StampRead(STAMP_PRESENT, mm2, shows, f"a round stamp: {mm2:.0f} mm² of ink on {ring:.0%} of a ring",
                         ring)
    pale = _stamp_ink(scan, printed | hidden, levels.lighter(PALE_SHARE), s)
    pale_mm2 = float(np.count_nonzero(pale)) / (s * s)
    pale_ring = ring_share(pale, s, min(zone.w, zone.h)) if pale_mm2 >= absent_mm2 else 0.0
    # a faint stamp's extent is its pale ink's (too little of it is darker)
    _, _, pw, ph = cv2.boundingRect(pale.astype(np.uint8))
    if shows and pale_ring >= max(PALE_PRESENT, ring_needed) and min(pw, ph) / s >= MIN_EXTENT_MM:
        return StampRead(STAMP_PRESENT, mm2, shows, f"a faint round stamp: ink on {pale_ring:.0%} of a ring",
                         round(pale_ring, 3))
    if mm2 < absent_mm2 and pale_ring < PALE_RING and shows and hidden.mean() <= STREAK_HIDES:
        return StampRead(STAMP_ABSENT, mm2, shows, f"no stamp in its area ({mm2:.0f} mm² of ink, "
                         f"{present_mm2:.0f} needed)", ring)
    if not shows:
        why = "a 1-bit or faint scan cannot show a red stamp: scan election ballots in grey or colour"
    elif hidden.mean() > STREAK_HIDES:
        why = "a scanner streak crosses the stamp area"
    elif pale_ring >= PALE_RING:
        why = f"a pale ring in the stamp area ({pale_ring:.0%} of a circle): a stamp pressed with little ink?"
    elif mm2 >= present_mm2:
        why = f"{mm2:.0f} mm² of ink in the stamp area, but not the shape of a round stamp ({ring:.0%} of a ring)"
    else:
        why = f"{mm2:.0f} mm² of ink in the stamp area: too little for a stamp, too much for none"
    return StampRead(STAMP_UNCLEAR, mm2, shows, why, ring)
