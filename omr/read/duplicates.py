"""The same physical sheet scanned twice: signatures, their comparison, and an index.

Two voters who put an X in the same box can draw two X's that a scan barely tells apart, and on a
3-box ballot hundreds of voters mark the same box. What no two sheets share is their paper: every
sheet has its own faint cloudy texture (fibre flocs, toner speckle, dust) that a grey scan records a
few grey levels deep, and that a re-scan records again. So a sheet's signature keeps, after
registration, (1) the voter's ink inside each marked box at 8 pixels a millimetre and (2) the
texture of a few windows of blank paper (band-passed, at 4 pixels a millimetre). Two reads are the
same sheet only when the same boxes are marked, their ink matches (normalised correlation over
+-1 px) and their paper texture correlates; a 1-bit scan has no paper texture left, and then the ink
alone must match very closely (few re-scans of a 1-bit page are found: the reconciliation against
the ballots collected still shows a sheet counted twice). The thresholds were measured on simulated
re-scans against different voters who marked the same box the same way (benchmarks/accuracy.py).

Candidates are found through an index, so the cost per sheet stays flat however large the batch:
the key is the template page, the set of marked boxes and, for the first marked box, where its ink's
centre lies and the shape of its spread (quantised); a sheet is looked up in its own cell and the
nearest neighbouring cell of each feature (a re-scan moves them a little), and only the sheets found
there are compared. On a 3-box ballot the cells still fill as the batch grows (the features tell
voters apart only so far): benchmarks/accuracy.py prints the comparisons a sheet costs.
A blank sheet has no signature: a blank sheet scanned twice is caught by the reconciliation.
Pure: arrays and bytes in, decisions out.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

import cv2
import numpy as np

from omr.ballot.layout import Rect

SIGNATURE_VERSION = 3
INK_PX_PER_MM = 8  # the voter's ink at 0.125 mm (about a 200 dpi scan's own pixel)
INK_INSET_MM = 0.6  # inside the printed outline: the print is the same on every sheet
INK_MAX_BOXES = 4  # marked boxes kept: enough ink to tell sheets apart, small enough to hold 100,000
SHIFT_PX = 1  # the registration of two scans may differ by this much (0.125 mm)
DETAIL_SIGMA_PX = 1.5  # the ink's detail: what is left after a blur of this much
PAPER_PX_PER_MM = 4  # the paper's texture at 0.25 mm
PAPER_WINDOW_MM = 16.0  # square windows of blank paper whose texture is kept
PAPER_WINDOWS = 4
PAPER_EDGE_MM = 15.0  # windows keep this far from the paper's edges (scanner margins, shadows, curl)
PAPER_STEP_MM = 4.0  # windows are looked for on this grid
PAPER_BAND_PX = (0.7, 3.0)  # the texture kept lies between these blurs (sigma, px): not noise, not shading
PAPER_MIN_GREY = 0.1  # a window whose texture is fainter than this (grey levels) has none: the scanner
#                      clipped the paper to white, or a 1-bit threshold erased it
PAPER_CLIP = 2.5  # texture stored in 4 bits over +-this many of its standard deviations
SAME_INK_MIN_CORRELATION = 0.85  # re-scans of one sheet: 0.92 and more (different voters: up to 0.94)
SAME_PAPER_MIN_CORRELATION = 0.08  # re-scans of one sheet's paper: 0.14 and more; two sheets at most 0.04 (sd 0.013)
# no paper texture on one scan (a 1-bit scan, paper clipped to white): the ink alone, very closely.
# Measured on 2,000 single-mark 3-box ballots: two voters' X's reached 0.981 (their detail 0.91);
# re-scans: 175 of 185 pass both
INK_ONLY_MIN_CORRELATION = 0.985
DETAIL_ONLY_MIN_CORRELATION = 0.85
# index: the first mark's ink centre (mm) and the shape of its spread (second moments, mm^2), quantised
# in cells twice the largest change a re-scan made (measured: 0.08 mm, 0.05 mm^2), population spread
# 0.19 mm and 0.13-0.23 mm^2
INDEX_CELLS = (0.3, 0.3, 0.12, 0.12)


@dataclass(frozen=True)
class Signature:
    boxes: tuple[int, ...]  # indices of the marked boxes kept (layout order)
    inks: tuple[np.ndarray, ...]  # their ink, darkness 0..1
    papers: tuple[np.ndarray, ...]  # paper texture windows, in standard deviations; none on 1-bit scans


def _pack(values: np.ndarray) -> bytes:
    levels = np.clip(np.round(values), 0, 15).astype(np.uint8).ravel()
    if levels.size % 2:
        levels = np.append(levels, 0)
    return bytes((levels[0::2] << 4) | levels[1::2])


def _unpack(data: bytes, side: int) -> np.ndarray:
    packed = np.frombuffer(data, np.uint8)
    levels = np.empty(packed.size * 2, np.uint8)
    levels[0::2], levels[1::2] = packed >> 4, packed & 15
    return levels[:side * side].reshape(side, side).astype(np.float32)


def encode(boxes: list[tuple[int, np.ndarray]], papers: list[np.ndarray]) -> bytes:
    """Signature bytes: a header (version, ink side, boxes, paper side, windows), then each kept box's
    index (2 bytes) and ink (4-bit darkness), then each paper window (4-bit texture)."""
    boxes = boxes[:INK_MAX_BOXES]
    ink_side = boxes[0][1].shape[0] if boxes else 0
    paper_side = papers[0].shape[0] if papers else 0
    out = bytearray([SIGNATURE_VERSION, ink_side, len(boxes), paper_side, len(papers)])
    for index, dark in boxes:
        out += index.to_bytes(2, "big") + _pack(np.asarray(dark, np.float32) * 15)
    for texture in papers:
        out += _pack((np.asarray(texture, np.float32) / PAPER_CLIP + 1.0) * 7.5)
    return bytes(out)


def decode(signature: bytes) -> Signature | None:
    """The signature's parts; None for an empty one or one of an older version."""
    if len(signature) < 5 or signature[0] != SIGNATURE_VERSION:
        return None
    ink_side, n_boxes, paper_side, n_papers = signature[1:5]
    at = 5
    boxes, inks, papers = [], [], []
    ink_bytes, paper_bytes = (ink_side * ink_side + 1) // 2, (paper_side * paper_side + 1) // 2
    for _ in range(n_boxes):
        boxes.append(int.from_bytes(signature[at:at + 2], "big"))
        inks.append(_unpack(signature[at + 2:at + 2 + ink_bytes], ink_side) / 15.0)
        at += 2 + ink_bytes
    for _ in range(n_papers):
        papers.append((_unpack(signature[at:at + paper_bytes], paper_side) / 7.5 - 1.0) * PAPER_CLIP)
        at += paper_bytes
    return Signature(tuple(boxes), tuple(inks), tuple(papers))


def paper_texture(patch: np.ndarray) -> np.ndarray | None:
    """A blank paper window's texture: band-passed (sensor noise and shading removed), in standard
    deviations; None when there is none to speak of (paper clipped to white, a 1-bit scan)."""
    p = patch.astype(np.float32)
    band = cv2.GaussianBlur(p, (0, 0), PAPER_BAND_PX[0]) - cv2.GaussianBlur(p, (0, 0), PAPER_BAND_PX[1])
    band -= band.mean()
    spread = float(band.std())
    return band / spread if spread >= PAPER_MIN_GREY else None


def paper_windows(blank: np.ndarray, px_per_mm: float) -> list[Rect]:
    """Up to PAPER_WINDOWS windows (page mm) where nothing is printed and no mark is expected, spread
    over the page: from a template page's mask of such places (True: blank) at `px_per_mm`."""
    w = int(round(PAPER_WINDOW_MM * px_per_mm))
    e = int(round(PAPER_EDGE_MM * px_per_mm))
    blank = blank.copy()
    blank[:e], blank[-e:], blank[:, :e], blank[:, -e:] = False, False, False, False
    step = int(round(PAPER_STEP_MM * px_per_mm))
    busy = np.pad((~blank).astype(np.int32).cumsum(0).cumsum(1), ((1, 0), (1, 0)))
    found = []
    for y in range(0, blank.shape[0] - w + 1, step):
        for x in range(0, blank.shape[1] - w + 1, step):
            if busy[y + w, x + w] - busy[y, x + w] - busy[y + w, x] + busy[y, x] == 0:
                found.append((y, x))
    chosen: list[tuple[int, int]] = []
    for i in np.linspace(0, len(found) - 1, min(len(found), 4 * PAPER_WINDOWS)).round().astype(int):
        y, x = found[int(i)]
        if all(abs(y - cy) >= w or abs(x - cx) >= w for cy, cx in chosen):
            chosen.append((y, x))
        if len(chosen) == PAPER_WINDOWS:
            break
    return [Rect(x / px_per_mm, y / px_per_mm, PAPER_WINDOW_MM, PAPER_WINDOW_MM) for y, x in chosen]


def _correlation(a: np.ndarray, b: np.ndarray) -> float:
    a, b = a - a.mean(), b - b.mean()
    den = float(np.sqrt((a * a).sum() * (b * b).sum()))
    return float((a * b).sum() / den) if den > 0 else -1.0


def box_similarity(a: np.ndarray, b: np.ndarray) -> float:
    """The best normalised correlation of two boxes' ink over shifts of up to SHIFT_PX."""
    return box_match(a, b)[0]


def box_match(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    """(ink, detail): the best normalised correlation of two boxes' ink over shifts of up to SHIFT_PX,
    and at that shift the correlation of the ink's detail (the ink minus its blur: each stroke's exact
    edges, thick and thin parts, skips), which two hands share far less than the ink's shape."""
    n, k = a.shape[0], SHIFT_PX
    inner = np.ascontiguousarray(a[k:n - k, k:n - k])
    if n <= 2 * k + 2 or float(inner.std()) == 0.0 or float(b.std()) == 0.0:
        return -1.0, -1.0
    fit = cv2.matchTemplate(np.ascontiguousarray(b), inner, cv2.TM_CCOEFF_NORMED)
    dy, dx = np.unravel_index(int(np.argmax(fit)), fit.shape)
    pb = np.ascontiguousarray(b[dy:dy + n - 2 * k, dx:dx + n - 2 * k])
    da = inner - cv2.GaussianBlur(inner, (0, 0), DETAIL_SIGMA_PX)
    db = pb - cv2.GaussianBlur(pb, (0, 0), DETAIL_SIGMA_PX)
    return float(fit.max()), _correlation(da, db)


@dataclass(frozen=True)
class Comparison:
    ink: float  # how alike the marked boxes' ink is (-1: different boxes marked)
    paper: float | None  # mean correlation of the paper windows; None when either scan has none
    detail: float = -1.0  # how alike the ink's detail is, in the same box


def compare(a: Signature, b: Signature) -> Comparison:
    if not a.boxes or a.boxes != b.boxes or a.inks[0].shape != b.inks[0].shape:
        return Comparison(-1.0, None)
    # the middle box by likeness (the lower one of two, the only one of one): a solid fill has no
    # shape to compare and may fall low on a true copy
    ink, detail = sorted(box_match(x, y) for x, y in zip(a.inks, b.inks))[(len(a.inks) - 1) // 2]
    paper = None
    if a.papers and len(a.papers) == len(b.papers) and a.papers[0].shape == b.papers[0].shape:
        paper = float(np.mean([_correlation(x, y) for x, y in zip(a.papers, b.papers)]))
    return Comparison(ink, paper, detail)


def same_sheet(c: Comparison) -> bool:
    """The same physical sheet: the same ink, and the same paper (or, with no paper texture to compare,
    ink that matches as only one sheet's can)."""
    if c.paper is None:
        return c.ink >= INK_ONLY_MIN_CORRELATION and c.detail >= DETAIL_ONLY_MIN_CORRELATION
    return c.ink >= SAME_INK_MIN_CORRELATION and c.paper >= SAME_PAPER_MIN_CORRELATION


def coarse_features(ink: np.ndarray) -> tuple[float, ...] | None:
    """What the index keys on, from one box's ink: its centre (x, y, mm) and the shape of its spread
    (second moments mu20 - mu02 and mu11, mm^2: an X leaning one way or the other, wide or tall)."""
    total = float(ink.sum())
    if total <= 0:
        return None
    n = ink.shape[0]
    ys, xs = np.mgrid[0:n, 0:n].astype(np.float32) / INK_PX_PER_MM
    cx, cy = float((ink * xs).sum() / total), float((ink * ys).sum() / total)
    dx, dy = xs - cx, ys - cy
    return cx, cy, float((ink * (dx * dx - dy * dy)).sum() / total), float((ink * dx * dy).sum() / total)


def _cells(value: float, cell: float) -> tuple[int, int]:
    """The cell a value falls in, and the neighbouring cell it is nearer to."""
    q = value / cell
    k = int(np.floor(q))
    return k, (k + 1 if q - k >= 0.5 else k - 1)


@dataclass
class DuplicateIndex:
    """Signatures of the sheets seen so far, by coarse key: `find` compares a new sheet only with the
    sheets in its own and the nearest neighbouring cells."""

    cells: dict[tuple, list[tuple[object, bytes]]] = field(default_factory=dict)  # bytes: ~11 KB a sheet
    comparisons: int = 0  # full comparisons made (the benchmark reports them)

    @staticmethod
    def _keys(group: tuple, sig: Signature, probe: bool) -> list[tuple]:
        f = coarse_features(sig.inks[0])
        if f is None:
            return [(group, sig.boxes)]
        cells = [_cells(v, cell) for v, cell in zip(f, INDEX_CELLS)]
        if not probe:
            return [(group, sig.boxes, tuple(c[0] for c in cells))]
        return [(group, sig.boxes, key) for key in itertools.product(*cells)]

    def add(self, group: tuple, signature: bytes, item: object) -> None:
        sig = decode(signature)
        if sig is not None and sig.boxes:
            for key in self._keys(group, sig, probe=False):
                self.cells.setdefault(key, []).append((item, signature))

    def find(self, group: tuple, signature: bytes) -> tuple[object, Comparison] | None:
        """The earlier sheet (its item) that this one is a scan of, if any: the closest match."""
        sig = decode(signature)
        if sig is None or not sig.boxes:
            return None
        best: tuple[object, Comparison] | None = None
        for key in self._keys(group, sig, probe=True):
            for item, stored in self.cells.get(key, ()):
                other = decode(stored)
                if other is None:
                    continue
                self.comparisons += 1
                c = compare(sig, other)
                if same_sheet(c) and (best is None or c.ink > best[1].ink):
                    best = (item, c)
        return best
