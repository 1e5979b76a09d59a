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
A cross-out ballot's strikes hide in the letters they cross; its signature keeps the committee's stamp
instead, pressed by hand a little differently on every ballot (omr.read.pipeline), compared as a box.

Candidates are found through an index, so the cost and the memory a sheet takes stay flat however
large the batch: it holds only a small descriptor of each sheet (its marked boxes' ink at 8x8 cells),
and a new sheet is compared in full only with the CANDIDATES sheets of its template page, with the same
boxes marked, whose descriptors are most alike (a dot product over the group: microseconds a thousand
sheets); their signatures are fetched then, from the results database.
A blank sheet has no signature: a blank sheet scanned twice is caught by the reconciliation.
Pure: arrays and bytes in, decisions out.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, field

import cv2
import numpy as np

from omr.ballot.layout import Rect

SIGNATURE_VERSION = 4  # 4: paper texture without what is constant along its rows and columns
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
# the same sheet, when both scans kept paper texture: (ink at least, paper at least), either pair.
# Measured on 400 single-mark 3-box ballots a profile, 100 re-fed (seed 77): re-scans' ink 0.97 and
# more (phone 0.85), paper 0.16 and more at 200 dpi (phone 0.06, 150 dpi about 0.09); different
# sheets' paper at most 0.055 office, 0.07 phone (sd 0.015) and their ink above 0.97 in 1 pair of
# 10,000: a fainter paper likeness is enough only when the ink is that alike too
SAME_SHEET = ((0.85, 0.10), (0.97, 0.07))
PAPER_FROM_INK = min(ink for ink, _ in SAME_SHEET)  # inks less alike than this need no paper compared
# no paper texture on one scan (a 1-bit scan, paper clipped to white): the ink alone, very closely.
# Two voters' X's reached 0.981 (their detail 0.91) on 2,000 single-mark 3-box ballots. Grey re-scans
# whose paper was clipped pass both in 38 of 43 (400 office ballots, seed 77); 1-bit re-scans in 2 of 99
# (their threshold moves every stroke's edge: ink 0.96, detail 0.79 at the median, as alike as two
# voters' can be): those are left to the reconciliation
INK_ONLY_MIN_CORRELATION = 0.985
DETAIL_ONLY_MIN_CORRELATION = 0.85
# the index: each kept box's ink at 8x8 cells is what is compared first; a sheet's re-scans correlate
# at MIN_DESCRIPTOR_LIKENESS and more (measured below), and only the CANDIDATES most alike are compared in full
DESCRIPTOR_SIDE = 8
MIN_DESCRIPTOR_LIKENESS = 0.75
CANDIDATES = 6


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
    # folds, creases and a scanner's sensor pattern run across or down the page at much the same place
    # on many sheets: what is the same along a whole row or column of the window is taken out
    band = band - band.mean(axis=1, keepdims=True) - band.mean(axis=0, keepdims=True) + band.mean()
    spread = float(band.std())
    return band / spread if spread >= PAPER_MIN_GREY else None


def paper_windows(blank: np.ndarray, px_per_mm: float) -> list[Rect]:
    """Up to PAPER_WINDOWS windows (page mm) where nothing is printed and no mark is expected, spread
    over the page: from a template page's mask of such places (True: blank) at `px_per_mm`."""
    w = int(round(PAPER_WINDOW_MM * px_per_mm))
    e = int(round(PAPER_EDGE_MM * px_per_mm))
    blank = blank.copy()
    blank[:e], blank[-e:], blank[:, :e], blank[:, -e:] = False, False, False, False
    found = blank_squares(blank, w, int(round(PAPER_STEP_MM * px_per_mm)))
    chosen: list[tuple[int, int]] = []
    for i in np.linspace(0, len(found) - 1, min(len(found), 4 * PAPER_WINDOWS)).round().astype(int):
        y, x = found[int(i)]
        if all(abs(y - cy) >= w or abs(x - cx) >= w for cy, cx in chosen):
            chosen.append((y, x))
        if len(chosen) == PAPER_WINDOWS:
            break
    return [Rect(x / px_per_mm, y / px_per_mm, PAPER_WINDOW_MM, PAPER_WINDOW_MM) for y, x in chosen]


def blank_squares(blank: np.ndarray, side: int, step: int) -> list[tuple[int, int]]:
    """The top-left corners (y, x) of the squares of `side` pixels on a grid of `step` that hold no False
    pixel of `blank`, row by row. The False pixels above and left of each point are counted by OpenCV
    (numpy's cumsum down the rows took 27 ms of a page's 30-75, the squares one at a time most of the
    rest), each square's count taken from them, all at once."""
    busy = cv2.integral((~blank).view(np.uint8), sdepth=cv2.CV_32S)
    ys, xs = np.arange(0, blank.shape[0] - side + 1, step), np.arange(0, blank.shape[1] - side + 1, step)
    inside = (busy[np.ix_(ys + side, xs + side)] - busy[np.ix_(ys, xs + side)] - busy[np.ix_(ys + side, xs)]
              + busy[np.ix_(ys, xs)])
    return [(int(ys[i]), int(xs[j])) for i, j in np.argwhere(inside == 0)]


def _correlation(a: np.ndarray, b: np.ndarray) -> float:
    a, b = a - a.mean(), b - b.mean()
    den = float(np.sqrt((a * a).sum() * (b * b).sum()))
    return float((a * b).sum() / den) if den > 0 else -1.0


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
    if ink >= PAPER_FROM_INK and a.papers and len(a.papers) == len(b.papers) \
            and a.papers[0].shape == b.papers[0].shape:
        paper = float(np.mean([_correlation(x, y) for x, y in zip(a.papers, b.papers)]))
    return Comparison(ink, paper, detail)


def same_sheet(c: Comparison) -> bool:
    """The same physical sheet: the same ink, and the same paper (or, with no paper texture to compare,
    ink that matches as only one sheet's can)."""
    if c.paper is None:
        return c.ink >= INK_ONLY_MIN_CORRELATION and c.detail >= DETAIL_ONLY_MIN_CORRELATION
    return any(c.ink >= ink and c.paper >= paper for ink, paper in SAME_SHEET)


def descriptor(sig: Signature) -> np.ndarray | None:
    """What the index compares first: the kept boxes' ink at DESCRIPTOR_SIDE x DESCRIPTOR_SIDE cells,
    centred and of unit length (so a dot product is a correlation); None without ink."""
    cells = [cv2.resize(np.ascontiguousarray(ink, np.float32), (DESCRIPTOR_SIDE, DESCRIPTOR_SIDE),
                        interpolation=cv2.INTER_AREA).ravel() for ink in sig.inks]
    if not cells:
        return None
    v = np.concatenate(cells)
    v -= v.mean()
    norm = float(np.linalg.norm(v))
    return (v / norm).astype(np.float32) if norm > 0 else None


@dataclass(frozen=True)
class Probe:
    """A new sheet as the index looks it up: its signature, decoded once, and its descriptor."""

    signature: Signature
    vector: np.ndarray
    key: tuple  # its group in the index: (template page's group, marked boxes)


def probe(group: tuple, signature: bytes) -> Probe | None:
    """The sheet's look-up, or None when it has nothing to look up by (no signature, or no ink)."""
    sig = decode(signature)
    vector = descriptor(sig) if sig is not None else None
    return Probe(sig, vector, (group, sig.boxes)) if vector is not None else None


@dataclass
class _Group:
    """The sheets of one template page with the same boxes marked: their descriptors, row by row."""

    vectors: np.ndarray
    items: list = field(default_factory=list)

    def add(self, vector: np.ndarray, item: Hashable) -> None:
        n = len(self.items)
        if n == self.vectors.shape[0]:  # grow by doubling: adding stays cheap however many sheets
            grown = np.zeros((max(64, 2 * n), self.vectors.shape[1]), np.float32)
            grown[:n] = self.vectors
            self.vectors = grown
        self.vectors[n] = vector
        self.items.append(item)

    def nearest(self, vector: np.ndarray, k: int, floor: float) -> list[tuple[Hashable, float]]:
        """The k sheets whose descriptors correlate best with `vector` (at least `floor`), best first,
        with that likeness; ties in the order the sheets were added."""
        n = len(self.items)
        likeness = self.vectors[:n] @ vector
        keep = np.flatnonzero(likeness >= floor)
        if keep.size > k:
            keep = keep[np.argpartition(-likeness[keep], k - 1)[:k]]
        order = sorted(keep.tolist(), key=lambda i: (-float(likeness[i]), i))
        return [(self.items[i], float(likeness[i])) for i in order]


@dataclass
class DuplicateIndex:
    """The sheets seen so far, for finding a new sheet's earlier scan at a cost that stays flat:
    only a small descriptor of each sheet is held (DESCRIPTOR_SIDE^2 numbers a marked box, under 1 KB
    a sheet), a new sheet is compared in full with at most CANDIDATES sheets (those of its template
    page with the same boxes marked whose descriptors are most alike), and their full signatures are
    fetched only then, through `load` (from the results database, or from memory)."""

    groups: dict[tuple, _Group] = field(default_factory=dict)
    comparisons: int = 0  # full comparisons made (the benchmark reports them)

    def add(self, group: tuple, signature: bytes, item: Hashable, looked: Probe | None = None) -> None:
        """Hold a sheet (`looked`: its probe, when already made)."""
        looked = looked or probe(group, signature)
        if looked is not None:
            if looked.key not in self.groups:
                self.groups[looked.key] = _Group(np.zeros((0, looked.vector.size), np.float32))
            self.groups[looked.key].add(looked.vector, item)

    def nearest(self, looked: Probe) -> list[tuple[Hashable, float]]:
        """The CANDIDATES sheets most alike this one by descriptor (at least MIN_DESCRIPTOR_LIKENESS), best
        first, with that likeness: the only ones worth comparing in full."""
        found = self.groups.get(looked.key)
        return found.nearest(looked.vector, CANDIDATES, MIN_DESCRIPTOR_LIKENESS) if found is not None else []

    def confirm(self, looked: Probe, near: Sequence[tuple[Hashable, float]],
                load: Callable[[Hashable], bytes]) -> tuple[Hashable, Comparison] | None:
        """Of the sheets `near` (nearest's, or several indexes' merged: at most CANDIDATES), compared in full
        with this one (their signatures fetched through `load`), the most alike by ink that passes
        `same_sheet`, or None."""
        same = []
        for item, _ in near:
            other = decode(load(item))
            if other is not None:
                self.comparisons += 1
                c = compare(looked.signature, other)
                if same_sheet(c):
                    same.append((item, c))
        return max(same, key=lambda ic: ic[1].ink, default=None)

    def find(self, group: tuple, signature: bytes,
             load: Callable[[Hashable], bytes]) -> tuple[Hashable, Comparison] | None:
        """The earlier sheet (its item) that this one may be a scan of: the most alike of those that
        pass `same_sheet`, or None."""
        looked = probe(group, signature)
        return self.confirm(looked, self.nearest(looked), load) if looked is not None else None


def most_alike(sheets: Sequence[tuple[Hashable, tuple, bytes]], count: int) -> list[tuple[Hashable, Hashable, float]]:
    """The `count` pairs of sheets whose ink is most alike, (earlier, later, ink likeness), most alike
    first, from (item, group, signature) in scan order: where to look first when the scans account for
    more ballots than were collected, since a re-scan the check could not prove (a 1-bit scan keeps no
    paper) is among the likeliest. Each sheet's nearest earlier one by descriptor is found (a dot product
    over its group); only the 4 x `count` pairs nearest that way are compared in full."""
    index = DuplicateIndex()
    held: dict[Hashable, bytes] = {}
    order: dict[Hashable, int] = {}
    near: list[tuple[float, int, int, Hashable, Hashable]] = []
    for n, (item, group, signature) in enumerate(sheets):
        looked = probe(group, signature)
        found = index.groups.get(looked.key) if looked is not None else None
        if found is not None:
            for earlier, likeness in found.nearest(looked.vector, 1, MIN_DESCRIPTOR_LIKENESS):
                near.append((-likeness, order[earlier], n, earlier, item))
        held[item], order[item] = signature, n
        index.add(group, signature, item, looked)
    near.sort(key=lambda p: p[:3])
    pairs = []
    for _, i, n, earlier, item in near[:4 * count]:
        c = compare(decode(held[item]), decode(held[earlier]))
        pairs.append((-c.ink, i, n, earlier, item))
    pairs.sort(key=lambda p: p[:3])
    return [(a, b, -negative) for negative, _, _, a, b in pairs[:count]]
