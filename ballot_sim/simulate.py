"""Scan simulator: generated ballots -> hand-marked, scanner-degraded page images with known reads.

Everything here exists to test and benchmark the reader. The stages mirror what happens to paper:

    clean_pages (vector ballot rendered at a dpi)
      -> plan_sheet (what the voter does: marks per box, crossed names, signature, notes)
      -> mark_sheet (ink drawn on the page: antialiased hand strokes, pens and pencils)
      -> draw_scan_settings / scan_page (what the scanner or phone does: skew, rotation,
         perspective, stretch, folds, blur, noise, streaks, contrast, 1-bit, JPEG)
      -> pdf_from_images / tiff_from_images / encode_jpeg / encode_png (how scanners pack pages)
      -> ExpectedPage records, written as expected.json (what a correct reader must say).

Style: plain functions on numpy arrays with explicit parameters; all randomness comes from a
``numpy.random.Generator`` passed in, so the same seed gives bit-identical files; no global state
(the clean renders are cached by the caller, see :class:`Simulator`).

Conventions
- Page coordinates are millimetres from the top-left corner of the paper (as in omr.ballot.layout).
- Image coordinates are pixels with pixel centres at integers (OpenCV's convention); a page mm
  point (x, y) of a clean render at ``px_per_mm`` is at ``(x * px_per_mm - 0.5, y * px_per_mm - 0.5)``.
- Every geometric degradation returns, with the image, the 3x3 matrix mapping its input pixels to
  its output pixels, so each page records the homography page-mm -> scan pixels.
- ``rotation`` is how the sheet lay on the scanner, clockwise: the scan is the upright page
  turned by that many degrees clockwise (90: the page top is on the image's right side).
- Grey images are 2-D uint8 arrays (0 black, 255 white); 1-bit images are uint8 arrays of 0 and
  255 with ``bilevel=True``.

Expected classes of a box (``ExpectedBox.expected``)
- ``marked``: a correct read is ``marked``, or ``marginal`` (which sends the sheet to review).
- ``blank``: a correct read is ``blank``, or ``marginal``.
- ``ambiguous``: any read is acceptable, with the flip policy: two reads of the same physical sheet
  (pages sharing ``ExpectedPage.sheet``) must not give ``marked`` in one and ``blank`` in the other.
A *flip* is a ``marked`` box read ``blank`` or a ``blank`` box read ``marked``: there must be none.
"""

from __future__ import annotations

import copy
import io
import json
import math
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pypdfium2 as pdfium
from PIL import Image

from omr.ballot.layout import BOX_LINE, INK_MARGIN, PageLayout, Rect, layout, text_rect
from omr.ballot.template import Contest, Template

MARKED, BLANK, AMBIGUOUS = "marked", "blank", "ambiguous"
VALID, INVALID, REVIEW = "valid", "invalid", "review"
SHEET_OK, SHEET_REVIEW, SHEET_REJECTED = "ok", "review", "rejected"
EXPECTED_FORMAT = "ballot-omr-expected"
EXPECTED_VERSION = 1
# A seed drawn from the fixed sequence when nothing is asked: the bundled samples' seed.
DEFAULT_SEED = 96

# ---------------------------------------------------------------------------------------------
# 1. Clean pages
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CleanPage:
    """One printed, unmarked page rendered at ``dpi``."""

    template_id: str
    fingerprint: str
    layout: PageLayout
    dpi: float
    image: np.ndarray  # (h, w) uint8, never modified (marking works on a copy)
    test: bool = False
    serial: int | None = None
    printed_marks: tuple[tuple[str, str, str], ...] = ()  # test decks: (contest, row, option) printed X

    @property
    def px_per_mm(self) -> float:
        return self.dpi / 25.4


def px_per_mm(dpi: float) -> float:
    return dpi / 25.4


def page_to_pixels(dpi: float) -> np.ndarray:
    """3x3 matrix: page mm -> pixel coordinates (pixel centres at integers) of a clean render."""
    s = px_per_mm(dpi)
    return np.array([[s, 0, -0.5], [0, s, -0.5], [0, 0, 1]], dtype=np.float64)


def rect_to_pixels(rect: Rect, dpi: float) -> tuple[int, int, int, int]:
    """A layout rectangle as integer pixel bounds (x0, y0, x1, y1) of a clean render, x1/y1 exclusive."""
    s = px_per_mm(dpi)
    return (int(round(rect.x * s)), int(round(rect.y * s)), int(round((rect.x + rect.w) * s)),
            int(round((rect.y + rect.h) * s)))


def render_pdf(pdf: bytes, dpi: float) -> list[np.ndarray]:
    """Every page of a PDF as a grey uint8 array rendered by PDFium at ``dpi``."""
    doc = pdfium.PdfDocument(pdf)
    try:
        out = []
        for i in range(len(doc)):
            page = doc[i]
            bitmap = page.render(scale=dpi / 72.0, grayscale=True)
            arr = bitmap.to_numpy()
            if arr.ndim == 3:
                arr = cv2.cvtColor(arr, cv2.COLOR_BGR2GRAY) if arr.shape[2] >= 3 else arr[:, :, 0]
            out.append(np.ascontiguousarray(arr, dtype=np.uint8))
            bitmap.close()
            page.close()
        return out
    finally:
        doc.close()


def _frozen(a: np.ndarray) -> np.ndarray:
    a.setflags(write=False)
    return a


def clean_pages(template: Template, dpi: float = 200, copies: int = 1) -> tuple[CleanPage, ...]:
    """The official ballot's pages (``copies`` times: only serial-numbered templates differ between
    copies) rendered at ``dpi``."""
    from omr.ballot.generate import ballots_pdf

    bl = layout(template)
    images = render_pdf(ballots_pdf(template, copies), dpi)
    pages = []
    for i, img in enumerate(images):
        copy, page_index = divmod(i, len(bl.pages))
        serial = copy + 1 if template.serial_numbers else None
        pages.append(CleanPage(template.id, bl.fingerprint, bl.pages[page_index], float(dpi), _frozen(img),
                               serial=serial))
    return tuple(pages)


def test_deck_pages(template: Template, dpi: float = 200, sheets: int | None = None) -> tuple[CleanPage, ...]:
    """Test-deck pages (QR flag "test", pre-printed X marks) rendered at ``dpi``."""
    from omr.ballot.generate import test_deck_pdf, test_deck_votes

    bl = layout(template)
    deck = test_deck_votes(template, sheets)
    images = render_pdf(test_deck_pdf(template, deck), dpi)
    pages = []
    for i, img in enumerate(images):
        k, page_index = divmod(i, len(bl.pages))
        pl = bl.pages[page_index]
        printed = tuple((b.contest_id, b.row_id, b.option_id) for b in pl.boxes
                        if b.option_id in deck[k].marks.get(b.contest_id, {}).get(b.row_id, ()))
        pages.append(CleanPage(template.id, bl.fingerprint, pl, float(dpi), _frozen(img), test=True,
                               printed_marks=printed))
    return tuple(pages)


# ---------------------------------------------------------------------------------------------
# 2. Ink: pens, hand strokes, drawing
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Pen:
    """A writing tool as a scanner sees it in grey."""

    name: str
    width: float  # stroke width, mm
    ink: float  # grey level of a fully inked spot (0 black .. 255 white)
    grain: float = 0.0  # 0 for ink; pencil graphite texture, 0..1 (share of coverage lost to paper grain)
    skip: float = 0.0  # ballpoint: how often the ink fades along a stroke, 0..1


PENS: dict[str, Pen] = {
    "black-ballpoint": Pen("black-ballpoint", 0.55, 40.0, 0.1, 0.25),
    "blue-ballpoint": Pen("blue-ballpoint", 0.5, 75.0, 0.1, 0.3),
    "red-ballpoint": Pen("red-ballpoint", 0.5, 110.0, 0.1, 0.3),
    "black-gel": Pen("black-gel", 0.7, 25.0, 0.0, 0.05),
    "blue-felt": Pen("blue-felt", 0.8, 60.0, 0.05, 0.0),
    "pencil": Pen("pencil", 0.6, 120.0, 0.45, 0.0),
    "light-pencil": Pen("light-pencil", 0.5, 150.0, 0.5, 0.0),
    # a hard pencil held lightly: grey 190-210 on white paper, 0.3-0.6 mm (the "faint_pencil" kind)
    "faint-pencil": Pen("faint-pencil", 0.45, 200.0, 0.25, 0.0),
}
# how often voters use each pen (a light pencil is a "mark kind" of its own, not a voter's pen)
PEN_WEIGHTS: dict[str, float] = {
    "black-ballpoint": 0.3, "blue-ballpoint": 0.35, "red-ballpoint": 0.05, "black-gel": 0.12,
    "blue-felt": 0.08, "pencil": 0.10,
}


def pen_variant(pen: Pen, rng: np.random.Generator) -> Pen:
    """The same kind of pen, as one voter holds it: width ±15%, darkness ±15 grey levels."""
    return replace(pen, width=float(pen.width * rng.uniform(0.85, 1.15)),
                   ink=float(np.clip(pen.ink + rng.uniform(-15, 15), 10, 200)))


@dataclass(frozen=True)
class Stroke:
    """One pen-down movement: points (n, 2) in page mm, width (n,) in mm, alpha (n,) in 0..1."""

    points: np.ndarray
    width: np.ndarray
    alpha: np.ndarray


def _smooth_noise(n: int, rng: np.random.Generator, knots: int) -> np.ndarray:
    """n samples of a smooth random function in about [-1, 1] with ``knots`` degrees of freedom."""
    knots = max(2, knots)
    values = rng.uniform(-1.0, 1.0, knots)
    return np.interp(np.linspace(0, knots - 1, n), np.arange(knots), values)


def spline(ctrl: np.ndarray, step: float = 0.12) -> np.ndarray:
    """Catmull-Rom curve through control points (k, 2), sampled about every ``step`` mm."""
    ctrl = np.asarray(ctrl, dtype=np.float64)
    if len(ctrl) == 1:
        return ctrl.copy()
    pts = np.vstack([2 * ctrl[0] - ctrl[1], ctrl, 2 * ctrl[-1] - ctrl[-2]])
    p0, p1, p2, p3 = pts[:-3], pts[1:-2], pts[2:-1], pts[3:]
    counts = np.maximum(2, (np.linalg.norm(p2 - p1, axis=1) / step).astype(np.int64) + 1)
    seg = np.repeat(np.arange(len(counts)), counts)
    starts = np.cumsum(counts) - counts
    t = ((np.arange(len(seg)) - starts[seg]) / counts[seg])[:, None]
    p0, p1, p2, p3 = p0[seg], p1[seg], p2[seg], p3[seg]
    curve = 0.5 * (2 * p1 + (p2 - p0) * t + (2 * p0 - 5 * p1 + 4 * p2 - p3) * t * t
                   + (3 * p1 - p0 - 3 * p2 + p3) * t * t * t)
    return np.vstack([curve, ctrl[-1:]])


def hand_stroke(ctrl: np.ndarray, pen: Pen, rng: np.random.Generator, wobble: float = 0.06,
                pressure: float = 0.2, taper: float = 0.35, step: float = 0.12) -> Stroke:
    """A hand-drawn stroke through control points (mm): smooth, a little wobbly, pressure varying
    along it, thinner and lighter where the pen lands and lifts."""
    pts = spline(ctrl, step)
    n = len(pts)
    if n >= 3 and wobble > 0:
        d = np.gradient(pts, axis=0)
        norm = np.linalg.norm(d, axis=1, keepdims=True)
        normal = np.column_stack([-d[:, 1], d[:, 0]]) / np.maximum(norm, 1e-9)
        length = float(np.sum(np.linalg.norm(np.diff(pts, axis=0), axis=1)))
        pts = pts + normal * (wobble * _smooth_noise(n, rng, 2 + int(length / 1.5)))[:, None]
    s = np.linspace(0.0, 1.0, n)
    length = max(float(np.sum(np.linalg.norm(np.diff(pts, axis=0), axis=1))) if n > 1 else 0.0, 1e-6)
    dist_start, dist_end = s * length, (1 - s) * length
    ends = np.clip(np.minimum(dist_start, dist_end) / max(taper, 1e-6), 0.0, 1.0)
    width = pen.width * (1 + pressure * 0.5 * _smooth_noise(n, rng, 3 + int(length / 3))) * (0.55 + 0.45 * ends)
    alpha = (1 - pressure * 0.5 * (1 + _smooth_noise(n, rng, 3 + int(length / 4))) * 0.5) * (0.7 + 0.3 * ends)
    if pen.skip > 0 and length > 2:
        # ballpoint skips: short stretches where little ink comes out
        for _ in range(rng.poisson(pen.skip * length / 6)):
            c = rng.uniform(0.1, 0.9) * length
            half = rng.uniform(0.2, 0.6)
            alpha = alpha * (1 - 0.55 * np.exp(-(((s * length) - c) / half) ** 2))
    return Stroke(pts, np.maximum(width, 0.08), np.clip(alpha, 0.0, 1.0))


def dot_stroke(centre: tuple[float, float], diameter: float, alpha: float = 1.0) -> Stroke:
    """A round dot: the pen pressed down in one place."""
    c = np.asarray(centre, dtype=np.float64)
    pts = np.vstack([c, c + [diameter * 0.05, diameter * 0.03]])
    return Stroke(pts, np.full(2, diameter), np.full(2, alpha))


SUPERSAMPLE = 4


def stroke_coverage(strokes: Sequence[Stroke], dpi: float, bounds: tuple[int, int, int, int]) -> np.ndarray:
    """Ink coverage 0..1 (float32, one layer per stroke combined as overlapping ink) of strokes
    within pixel bounds (x0, y0, x1, y1) of a page rendered at ``dpi``: supersampled, then averaged,
    so edges are antialiased and widths are exact to a fraction of a pixel."""
    x0, y0, x1, y1 = bounds
    w, h = x1 - x0, y1 - y0
    s = px_per_mm(dpi)
    ss = SUPERSAMPLE
    shift = 3  # cv2 fixed-point: 1/8 of a supersampled pixel
    big = np.zeros((h * ss, w * ss), np.uint8)
    clear = np.ones((h, w), np.float32)  # share of light getting through all the strokes
    for st in strokes:
        big[:] = 0
        # page mm -> page px (centre convention) -> supersampled patch px (centre convention)
        p = ((st.points * s - 0.5) - [x0, y0] + 0.5) * ss - 0.5
        q = np.round(p * (1 << shift)).astype(np.int32)
        thick = np.maximum(1, np.round(st.width * s * ss)).astype(np.int64)
        col = (np.round(st.alpha * 31) * (255 / 31)).astype(np.int64)  # 32 ink levels
        # one polyline per run of segments sharing thickness and ink level
        key = thick[:-1] * 256 + col[:-1] if len(q) > 1 else thick
        cuts = np.flatnonzero(np.diff(key)) + 1
        bounds_ = np.concatenate([[0], cuts, [len(key)]]).tolist()
        th, co = thick.tolist(), col.tolist()
        for a, b in zip(bounds_[:-1], bounds_[1:]):
            cv2.polylines(big, [q[a:b + 1]], False, co[a], th[a], cv2.LINE_8, shift)
        cov = cv2.resize(big, (w, h), interpolation=cv2.INTER_AREA).astype(np.float32) * (1 / 255)
        clear *= 1 - cov
    return 1 - clear


def draw_strokes(image: np.ndarray, strokes: Sequence[Stroke], pen: Pen, dpi: float,
                 rng: np.random.Generator, strength: float = 1.0, smudge_px: float = 0.0) -> None:
    """Lay ink of ``pen`` along ``strokes`` onto ``image`` (uint8 grey page, modified in place).

    Ink is subtractive: where the coverage is c, the paper's grey v becomes v * (1 - c * (1 - ink/255)),
    so crossing strokes are darker and ink over print stays dark. ``strength`` scales the coverage
    (an erased mark keeps a small share); ``smudge_px`` blurs it (rubbed graphite)."""
    if not strokes:
        return
    s = px_per_mm(dpi)
    allp = np.vstack([st.points for st in strokes])
    wmax = max(float(st.width.max()) for st in strokes)
    pad = wmax * s / 2 + 3 + 3 * smudge_px
    h, w = image.shape
    x0 = max(0, int(math.floor(allp[:, 0].min() * s - pad)))
    y0 = max(0, int(math.floor(allp[:, 1].min() * s - pad)))
    x1 = min(w, int(math.ceil(allp[:, 0].max() * s + pad)) + 1)
    y1 = min(h, int(math.ceil(allp[:, 1].max() * s + pad)) + 1)
    if x1 <= x0 or y1 <= y0:
        return
    cov = stroke_coverage(strokes, dpi, (x0, y0, x1, y1))
    if pen.grain > 0:
        grain = rng.random(cov.shape, dtype=np.float32)
        if pen.grain >= 0.3:  # graphite: speckled, catching on the paper's fibres
            grain = cv2.GaussianBlur(grain, (0, 0), 0.6)
            grain = np.clip((grain - 0.5) * 3.0 + 0.5, 0, 1)
        cov *= 1 - pen.grain * grain
    if smudge_px > 0:
        cov = cv2.GaussianBlur(cov, (0, 0), smudge_px)
    cov *= strength
    region = image[y0:y1, x0:x1].astype(np.float32)
    region *= 1 - cov * (1 - pen.ink / 255.0)
    image[y0:y1, x0:x1] = np.clip(np.rint(region), 0, 255).astype(np.uint8)


# ---------------------------------------------------------------------------------------------
# 3. Mark kinds in a box
# ---------------------------------------------------------------------------------------------

# kind -> expected class
MARK_KINDS: dict[str, str] = {
    "x": MARKED,  # two crossing strokes
    "tick": MARKED,  # a check mark
    "fill": MARKED,  # solid zig-zag fill
    "hatch": MARKED,  # hatched fill: parallel lines
    "scribble": MARKED,  # loops
    "slash": MARKED,  # one line through the box
    "circle": MARKED,  # a circle drawn over the box
    "pencil": MARKED,  # a light pencil mark (x, tick, slash or hatch): still a vote
    "overflow": MARKED,  # an x, tick or slash running well past the box edge
    "faint_pencil": MARKED,  # an x, tick or slash in a hard pencil held lightly (grey 190-210, 0.3-0.6 mm)
    "printed": MARKED,  # test decks: the X printed by the generator
    "circle_around": AMBIGUOUS,  # a ring around the box, mostly outside its interior
    "beside": AMBIGUOUS,  # a small x or tick just outside the box, nothing inside
    "dot": AMBIGUOUS,  # a small dot in the box
    "erasure": BLANK,  # faint residue of a rubbed-out pencil mark
    "hesitation": BLANK,  # specks where the pen rested
    "none": BLANK,
}
VOTE_KINDS = ("x", "tick", "fill", "hatch", "scribble", "slash", "circle", "pencil", "overflow")
STRAY_KINDS = ("circle_around", "dot", "erasure", "hesitation")


def _box_frame(rect: Rect, rng: np.random.Generator, rot_deg: float = 8.0, scale: tuple[float, float] = (0.85, 1.05),
               offset: float = 0.35):
    """Maps box units (u, v in -1..1 spanning the box, y down) to page mm, with the voter's
    hand: a small rotation, scale and offset."""
    a = math.radians(rng.uniform(-rot_deg, rot_deg))
    k = rng.uniform(*scale)
    ox, oy = rng.uniform(-offset, offset, 2)
    half = rect.w / 2
    ca, sa = math.cos(a) * k * half, math.sin(a) * k * half
    cx, cy = rect.cx + ox, rect.cy + oy

    def to_mm(uv) -> np.ndarray:
        uv = np.asarray(uv, dtype=np.float64).reshape(-1, 2)
        return np.column_stack([cx + ca * uv[:, 0] - sa * uv[:, 1], cy + sa * uv[:, 0] + ca * uv[:, 1]])

    return to_mm


def _jit(rng: np.random.Generator, uv: Sequence[Sequence[float]], j: float) -> np.ndarray:
    a = np.asarray(uv, dtype=np.float64)
    return a + rng.uniform(-j, j, a.shape)


def _x_strokes(f, pen: Pen, rng: np.random.Generator, reach: float = 0.8) -> list[Stroke]:
    r1, r2 = reach * rng.uniform(0.85, 1.1, 2), reach * rng.uniform(0.85, 1.1, 2)
    bow1, bow2 = rng.uniform(-0.12, 0.12, 2)
    a = _jit(rng, [[-r1[0], -r1[1]], [bow1, bow1 * 0.5], [r1[0], r1[1]]], 0.08)
    b = _jit(rng, [[r2[0], -r2[1]], [bow2, -bow2 * 0.5], [-r2[0], r2[1]]], 0.08)
    out = [hand_stroke(f(a), pen, rng), hand_stroke(f(b), pen, rng)]
    if rng.random() < 0.25:  # a hook where the pen lifts
        end = b[-1]
        out[1] = hand_stroke(f(np.vstack([b, end + [rng.uniform(0.1, 0.25), rng.uniform(-0.25, -0.1)]])), pen, rng)
    return out


def _tick_strokes(f, pen: Pen, rng: np.random.Generator, reach: float = 0.85) -> list[Stroke]:
    pts = _jit(rng, [[-0.8, 0.0], [-0.5, 0.38], [-0.2, 0.78], [0.35, -0.05], [reach, -reach * 1.05]], 0.07)
    return [hand_stroke(f(pts), pen, rng, wobble=0.05)]


def _slash_strokes(f, pen: Pen, rng: np.random.Generator, reach: float = 0.8) -> list[Stroke]:
    r = reach * rng.uniform(0.9, 1.1, 2)
    pts = _jit(rng, [[-r[0], r[1]], [0.0, 0.0], [r[0], -r[1]]], 0.07)
    if rng.random() < 0.5:
        pts[:, 1] *= -1
    return [hand_stroke(f(pts), pen, rng)]


def _fill_strokes(f, pen: Pen, rng: np.random.Generator, spacing_mm: float, half_mm: float,
                  extent: float = 0.95) -> list[Stroke]:
    """Zig-zag back and forth across the box, ``spacing_mm`` between passes."""
    theta = rng.uniform(-0.6, 0.6) + (math.pi / 4 if rng.random() < 0.3 else 0.0)
    du = spacing_mm / half_mm
    ctrl = []
    v = -extent
    side = 1
    while v <= extent + 1e-9:
        e = extent * rng.uniform(0.9, 1.08)
        ctrl.append([side * e, v])
        ctrl.append([-side * e * rng.uniform(0.9, 1.08), v + du * rng.uniform(0.4, 0.6)])
        v += du
        side = -side
    pts = np.asarray(ctrl)
    c, s = math.cos(theta), math.sin(theta)
    pts = pts @ np.array([[c, s], [-s, c]])
    pts = np.clip(pts, -1.12, 1.12)
    stroke = hand_stroke(f(pts), pen, rng, wobble=0.04, pressure=0.15, step=0.1)
    return [stroke]


def _hatch_strokes(f, pen: Pen, rng: np.random.Generator, half_mm: float) -> list[Stroke]:
    spacing = rng.uniform(0.9, 1.4) / half_mm
    theta = rng.choice([math.pi / 4, -math.pi / 4, 0.0, math.pi / 2]) + rng.uniform(-0.15, 0.15)
    c, s = math.cos(theta), math.sin(theta)
    out = []
    t = -1.0 + spacing * rng.uniform(0.2, 0.8)
    while t < 1.0:
        span = math.sqrt(max(0.0, 1.9 - t * t)) if abs(theta % (math.pi / 2)) > 0.3 else 0.95
        span = min(span, 0.97) * rng.uniform(0.9, 1.05)
        a = np.array([[-span, t], [span, t + rng.uniform(-0.05, 0.05)]])
        pts = a @ np.array([[c, s], [-s, c]])
        pts = np.clip(pts, -1.05, 1.05)
        out.append(hand_stroke(f(np.vstack([pts[0], (pts[0] + pts[1]) / 2, pts[1]])), pen, rng, wobble=0.03))
        t += spacing * rng.uniform(0.85, 1.15)
    return out


def _scribble_strokes(f, pen: Pen, rng: np.random.Generator) -> list[Stroke]:
    n = int(rng.integers(7, 13))
    t = np.linspace(0, n * 2 * math.pi, n * 10)
    drift = np.column_stack([np.linspace(rng.uniform(-0.5, -0.3), rng.uniform(0.3, 0.5), len(t)),
                             0.35 * _smooth_noise(len(t), rng, 4)])
    r = rng.uniform(0.35, 0.5) * (1 + 0.3 * _smooth_noise(len(t), rng, n))
    pts = drift + np.column_stack([r * np.cos(t), r * 1.3 * np.sin(t)])
    if rng.random() < 0.5:
        pts = pts[:, ::-1]
    return [hand_stroke(f(pts[::2]), pen, rng, wobble=0.03, step=0.1)]


def _ring_strokes(f, pen: Pen, rng: np.random.Generator, radius: float) -> list[Stroke]:
    start = rng.uniform(0, 2 * math.pi)
    sweep = 2 * math.pi + rng.uniform(0.2, 0.8)
    t = np.linspace(start, start + sweep, 28)
    rx, ry = radius * rng.uniform(0.9, 1.1), radius * rng.uniform(0.85, 1.05)
    spiral = 1 + 0.08 * np.linspace(-1, 1, len(t))
    pts = np.column_stack([rx * spiral * np.cos(t), ry * spiral * np.sin(t)])
    return [hand_stroke(f(pts), pen, rng, wobble=0.06)]


def mark_strokes(kind: str, rect: Rect, pen: Pen, rng: np.random.Generator) -> tuple[list[Stroke], Pen, float]:
    """The strokes a voter draws for one mark ``kind`` in box ``rect``: (strokes, pen used, strength).

    ``strength`` < 1 only for an erasure (the residue left of the mark)."""
    half = rect.w / 2
    strength = 1.0
    if kind in ("pencil", "erasure"):
        pen = pen_variant(PENS["light-pencil"] if kind == "pencil" else PENS["pencil"], rng)
    if kind == "faint_pencil":
        pen = replace(PENS["faint-pencil"], width=float(rng.uniform(0.3, 0.6)), ink=float(rng.uniform(190, 210)))
        shape = str(rng.choice(["x", "tick", "slash"], p=[0.5, 0.25, 0.25]))
        return mark_strokes(shape, rect, pen, rng)[0], pen, strength
    if kind == "x":
        return _x_strokes(_box_frame(rect, rng), pen, rng), pen, strength
    if kind == "tick":
        return _tick_strokes(_box_frame(rect, rng, 12), pen, rng), pen, strength
    if kind == "slash":
        return _slash_strokes(_box_frame(rect, rng), pen, rng), pen, strength
    if kind == "fill":
        spacing = pen.width * rng.uniform(0.55, 0.8)
        return _fill_strokes(_box_frame(rect, rng, 4, (0.9, 1.0), 0.2), pen, rng, spacing, half), pen, strength
    if kind == "hatch":
        return _hatch_strokes(_box_frame(rect, rng, 4, (0.9, 1.0), 0.2), pen, rng, half), pen, strength
    if kind == "scribble":
        return _scribble_strokes(_box_frame(rect, rng, 20, (0.9, 1.1), 0.3), pen, rng), pen, strength
    if kind == "circle":
        return _ring_strokes(_box_frame(rect, rng, 10, (1.0, 1.0), 0.3), pen, rng, rng.uniform(0.6, 0.85)), \
            pen, strength
    if kind == "circle_around":
        return _ring_strokes(_box_frame(rect, rng, 10, (1.0, 1.0), 0.3), pen, rng, rng.uniform(1.3, 1.5)), \
            pen, strength
    if kind == "overflow":
        f = _box_frame(rect, rng, 12, (1.0, 1.0), 0.3)
        reach = rng.uniform(1.5, 2.1)
        shape = rng.choice(["x", "tick", "slash"])
        maker = {"x": _x_strokes, "tick": _tick_strokes, "slash": _slash_strokes}[str(shape)]
        return maker(f, pen, rng, reach), pen, strength
    if kind == "pencil":
        shape = rng.choice(["x", "tick", "slash", "hatch"], p=[0.45, 0.2, 0.15, 0.2])
        if shape == "slash":  # VVSG: a 1 mm pencil line through the target must count
            pen = replace(pen, width=1.0)
        return mark_strokes(str(shape), rect, pen, rng)[0], pen, strength
    if kind == "erasure":
        shape = rng.choice(["x", "fill", "hatch"], p=[0.5, 0.25, 0.25])
        strength = float(rng.uniform(0.05, 0.12))
        return mark_strokes(str(shape), rect, pen, rng)[0], pen, strength
    if kind == "dot":
        f = _box_frame(rect, rng, 0, (1.0, 1.0), 0.0)
        c = f(rng.uniform(-0.45, 0.45, 2))[0]
        d = rng.uniform(0.9, 1.6)
        return [dot_stroke((c[0], c[1]), d), dot_stroke((c[0] + 0.1, c[1] + 0.05), d * 0.8)], pen, strength
    if kind == "hesitation":
        f = _box_frame(rect, rng, 0, (1.0, 1.0), 0.0)
        out = []
        for _ in range(int(rng.integers(1, 3))):
            c = f(rng.uniform(-1.25, 1.25, 2))[0]
            out.append(dot_stroke((c[0], c[1]), rng.uniform(0.25, 0.45), rng.uniform(0.7, 1.0)))
        return out, pen, strength
    if kind == "printed":
        return [], pen, strength
    raise ValueError(f"unknown mark kind {kind!r}; known: {', '.join(MARK_KINDS)}")


def _inside(points: np.ndarray, r: Rect, margin: float) -> bool:
    return bool(np.any((points[:, 0] > r.x - margin) & (points[:, 0] < r.x + r.w + margin)
                       & (points[:, 1] > r.y - margin) & (points[:, 1] < r.y + r.h + margin)))


def _shrink(strokes: list[Stroke], cx: float, cy: float, k: float) -> list[Stroke]:
    c = np.array([cx, cy])
    return [replace(st, points=c + (st.points - c) * k) for st in strokes]


def beside_strokes(rect: Rect, others: Sequence[Rect], pen: Pen, rng: np.random.Generator) -> list[Stroke]:
    """A small x or tick drawn just outside a box (left, right, above or below it, where no other box
    is), nothing inside: the voter's intent is for a person to judge."""
    size = float(rng.uniform(1.0, 1.4))  # half the mark's width, mm
    gap = float(rng.uniform(1.2, 2.0))  # from the box edge to the mark's nearest point (nearer, it may be a
    #                                     mark run over the edge)
    reach = rect.w / 2 + gap + size
    sides = [(-reach, 0.0), (reach, 0.0), (0.0, -reach), (0.0, reach)]
    for i in rng.permutation(len(sides)):
        dx, dy = sides[int(i)]
        spot = Rect(rect.cx + dx - size, rect.cy + dy - size, 2 * size, 2 * size)
        clear = all(not (spot.x < o.x + o.w + 1.0 and o.x - 1.0 < spot.x + spot.w and spot.y < o.y + o.h + 1.0
                         and o.y - 1.0 < spot.y + spot.h) for o in others)
        if clear:
            f = _box_frame(spot, rng, 10, (0.9, 1.0), 0.1)
            maker = _x_strokes if rng.random() < 0.6 else _tick_strokes
            return maker(f, pen, rng)
    return []


def box_mark(kind: str, rect: Rect, others: Sequence[Rect], pen: Pen,
             rng: np.random.Generator) -> tuple[list[Stroke], Pen, float]:
    """:func:`mark_strokes`, kept out of every other box's interior and inside this box's ink zone
    (the box grown by INK_MARGIN): a mark too large is drawn smaller."""
    if kind == "beside":
        return beside_strokes(rect, others, pen, rng), pen, 1.0
    strokes, pen, strength = mark_strokes(kind, rect, pen, rng)
    zone = rect.grow(INK_MARGIN - 0.3)
    near = [o.grow(-BOX_LINE) for o in others if abs(o.cx - rect.cx) < o.w / 2 + rect.w / 2 + 2 * INK_MARGIN
            and abs(o.cy - rect.cy) < o.h / 2 + rect.h / 2 + 2 * INK_MARGIN]
    for _ in range(12):
        if not strokes:
            break
        pts = np.vstack([st.points for st in strokes])
        half_w = max(float(st.width.max()) for st in strokes) / 2
        lo, hi = pts.min(axis=0), pts.max(axis=0)
        outside_zone = bool(lo[0] < zone.x + half_w or hi[0] > zone.x + zone.w - half_w
                            or lo[1] < zone.y + half_w or hi[1] > zone.y + zone.h - half_w)
        if not outside_zone and not any(_inside(pts, o, half_w + 0.4) for o in near):
            break
        strokes = _shrink(strokes, rect.cx, rect.cy, 0.9)
    return strokes, pen, strength


# ---------------------------------------------------------------------------------------------
# 4. Handwriting: signatures, notes, added names, crossed-out names, damaged fiducials
# ---------------------------------------------------------------------------------------------

# letter shapes in x-height units: (dx, dy) control points, y down, relative to the letter start
_LETTERS: tuple[tuple[tuple[float, float], ...], ...] = (
    ((0.15, -0.9), (0.45, -1.0), (0.55, -0.2), (0.75, 0.0)),  # n-like hump
    ((0.1, -0.95), (0.05, -0.1), (0.45, 0.0), (0.55, -0.95), (0.6, -0.1), (0.8, 0.0)),  # u-like cup
    ((0.45, -0.8), (0.1, -0.85), (0.05, -0.15), (0.45, -0.1), (0.5, -0.9), (0.6, -0.05), (0.75, 0.0)),  # a
    ((0.35, -0.55), (0.45, -0.9), (0.1, -0.7), (0.2, -0.05), (0.6, 0.0)),  # e
    ((0.35, -1.3), (0.45, -2.3), (0.2, -2.2), (0.25, -0.5), (0.35, 0.0), (0.55, 0.0)),  # l loop
    ((0.4, -0.9), (0.1, -0.8), (0.15, -0.1), (0.5, -0.2), (0.55, 0.6), (0.5, 1.3), (0.2, 1.1), (0.7, 0.0)),  # g
    ((0.1, -0.9), (0.15, -0.2), (0.2, -0.6), (0.45, -0.95), (0.55, -0.5), (0.6, 0.0)),  # r/m stub
    ((0.3, -0.9), (0.05, -0.6), (0.3, -0.05), (0.6, -0.5), (0.35, -0.95), (0.7, -0.6), (0.8, 0.0)),  # o
)


def cursive(start: tuple[float, float], n_letters: int, x_height: float, pen: Pen, rng: np.random.Generator,
            angle_deg: float = 0.0, capital: bool = True) -> tuple[list[Stroke], float]:
    """One pseudo-handwritten word: joined loops and humps, slanted, with a capital and a few
    Vietnamese-style diacritics. Returns (strokes, width in mm)."""
    slant = math.tan(math.radians(rng.uniform(10, 25)))
    x = 0.0
    ctrl: list[tuple[float, float]] = [(0.0, 0.0)]
    accents: list[tuple[float, float]] = []
    if capital:
        ctrl += [(0.2, -1.2), (0.35, -2.4), (0.1, -2.5), (0.3, -1.2), (0.7, -0.2), (0.9, -1.6), (1.1, 0.0)]
        x = 1.2
    for _ in range(n_letters):
        shape = _LETTERS[int(rng.integers(0, len(_LETTERS)))]
        k = rng.uniform(0.85, 1.2)
        for dx, dy in shape:
            ctrl.append((x + dx * k, dy * rng.uniform(0.85, 1.15)))
        if rng.random() < 0.3:
            accents.append((x + 0.4 * k, -1.6 - rng.uniform(0, 0.4)))
        x += shape[-1][0] * k + 0.05
    c = np.asarray(ctrl) * x_height
    c[:, 0] -= c[:, 1] * slant
    rot = math.radians(angle_deg)
    m = np.array([[math.cos(rot), math.sin(rot)], [-math.sin(rot), math.cos(rot)]])
    origin = np.asarray(start)
    strokes = [hand_stroke(origin + c @ m, pen, rng, wobble=0.05 * x_height / 2.5, pressure=0.3, step=0.15)]
    for ax, ay in accents:
        p = np.array([[ax, ay], [ax + 0.35, ay - 0.35]]) * x_height
        p[:, 0] -= p[:, 1] * slant
        strokes.append(hand_stroke(origin + p @ m, pen, rng, wobble=0.02, taper=0.2))
    return strokes, x * x_height


def handwriting(origin: tuple[float, float], width: float, x_height: float, pen: Pen, rng: np.random.Generator,
                angle_deg: float = 0.0, lines: int = 1, line_gap: float = 3.2) -> list[Stroke]:
    """Lines of pseudo-handwritten words filling about ``width`` mm from ``origin`` (the first
    baseline's start), written along ``angle_deg`` (0: left to right; -90: bottom to top)."""
    rot = math.radians(angle_deg)
    ux = np.array([math.cos(rot), math.sin(rot)])
    uy = np.array([-math.sin(rot), math.cos(rot)])
    strokes: list[Stroke] = []
    for li in range(lines):
        pos = 0.0
        first = True
        while True:
            n = int(rng.integers(2, 7))
            if pos + (n * 0.75 + 1.2) * x_height > width:
                break
            base = np.asarray(origin) + ux * pos + uy * (li * line_gap * x_height) + uy * rng.uniform(-0.3, 0.3)
            word, w = cursive((base[0], base[1]), n, x_height * rng.uniform(0.9, 1.1), pen, rng, angle_deg,
                              capital=first or rng.random() < 0.4)
            strokes += word
            pos += w + x_height * rng.uniform(1.0, 1.6)
            first = False
    return strokes


def signature(origin: tuple[float, float], width: float, pen: Pen, rng: np.random.Generator,
              height: float = 14.0) -> list[Stroke]:
    """A signature: one or two quick cursive words and a flourish under them, its capitals at
    most ``height`` mm above the baseline."""
    xh = min(rng.uniform(3.0, 4.5), height / 2.6)
    strokes, w = cursive(origin, int(rng.integers(3, 7)), xh, pen, rng, rng.uniform(-8, 4))
    if rng.random() < 0.7 and w < width * 0.6:
        more, w2 = cursive((origin[0] + w + xh, origin[1] + rng.uniform(-0.5, 0.5)), int(rng.integers(3, 6)),
                           xh * 0.9, pen, rng, rng.uniform(-6, 4), capital=True)
        strokes += more
        w += w2 + xh
    y = origin[1] + xh * rng.uniform(0.7, 1.2)
    flourish = np.array([[origin[0] - xh * 0.5, y + xh * 0.3], [origin[0] + w * 0.4, y + xh * 0.1],
                         [origin[0] + w * 0.9, y - xh * 0.2], [origin[0] + w * 1.05, y - xh * 0.6]])
    strokes.append(hand_stroke(_jit(rng, flourish, xh * 0.2), pen, rng, wobble=0.1, pressure=0.4))
    return strokes


def crossed_name_strokes(text: Rect, cell: Rect, pen: Pen, rng: np.random.Generator) -> list[Stroke]:
    """A pen line through a printed name: straight, double or wavy, overshooting the letters."""
    left = max(cell.x + 0.6, text.x - rng.uniform(0.5, 3.0))
    right = min(cell.x + cell.w - 0.6, text.x + text.w + rng.uniform(0.5, 4.0))
    y = text.cy + rng.uniform(-0.2, 0.2) * text.h
    tilt = rng.uniform(-0.6, 0.6)
    style = rng.choice(["line", "double", "wavy"], p=[0.55, 0.25, 0.2])
    out = []
    n = 2 if style == "double" else 1
    for i in range(n):
        dy = (i - (n - 1) / 2) * rng.uniform(0.9, 1.4)
        xs = np.linspace(left, right, 6)
        ys = y + dy + np.linspace(-tilt, tilt, 6) + rng.uniform(-0.15, 0.15, 6)
        if style == "wavy":
            xs = np.linspace(left, right, 16)
            ys = y + 0.5 * np.sin(np.linspace(0, rng.uniform(5, 9) * math.pi, 16)) + np.linspace(-tilt, tilt, 16)
        out.append(hand_stroke(np.column_stack([xs, ys]), pen, rng, wobble=0.08))
    return out


def fiducial_damage_strokes(r: Rect, rng: np.random.Generator) -> list[Stroke]:
    """Heavy pen strokes over a corner marker: enough to break its pattern."""
    out = []
    for _ in range(int(rng.integers(2, 5))):
        a = np.array([r.x + rng.uniform(-2, r.w * 0.3), r.y + rng.uniform(0, r.h)])
        b = np.array([r.x + r.w + rng.uniform(-r.w * 0.3, 2), r.y + rng.uniform(0, r.h)])
        if rng.random() < 0.5:
            a, b = np.array([a[1] - r.y + r.x, a[0] - r.x + r.y]), np.array([b[1] - r.y + r.x, b[0] - r.x + r.y])
        mid = (a + b) / 2 + rng.uniform(-1.5, 1.5, 2)
        felt = replace(PENS["black-gel"], width=float(rng.uniform(0.9, 1.6)))
        out.append(hand_stroke(np.vstack([a, mid, b]), felt, rng, wobble=0.1))
    return out


# Cross-out election ballots: strokes through names, and the committee's stamp ---------------------

# strike kind -> expected class: struck (marked), not struck (blank), or unclear (ambiguous: a person decides)
STRIKE_KINDS: dict[str, str] = {
    "line": MARKED, "slanted": MARKED, "wavy": MARKED, "double": MARKED, "overshoot": MARKED,
    "most": MARKED,  # through 85-95 % of the name
    "pencil": MARKED,  # a light pencil line (a 1-bit scan may lose it: then nobody can tell)
    "partial": AMBIGUOUS,  # through 20-55 % of the name
    "under": AMBIGUOUS, "over": AMBIGUOUS,  # a line under or over the name, not through it
    "between": AMBIGUOUS,  # a line between this name and the next (both rows concerned)
    "circle": AMBIGUOUS, "tick": AMBIGUOUS,  # a ring around the name, a tick on it: not a strike
    "restored": AMBIGUOUS,  # struck, then taken back: dots under it, a tick after it, x's on the line, a ring
    "none": BLANK,
}
CLEAR_STRIKES = ("line", "slanted", "wavy", "double", "overshoot", "most", "pencil")
UNCLEAR_STRIKES = ("partial", "under", "over", "between", "circle", "tick", "restored")
RESTORE_SIGNS = ("dots", "tick", "crosses", "circle")  # how a voter takes a strike back
STRIKE_HABITS = {"line": 0.35, "slanted": 0.15, "wavy": 0.12, "double": 0.1, "overshoot": 0.15, "most": 0.1,
                 "pencil": 0.03}
STAMP_INK = Pen("stamp-red", 0.6, 140.0, 0.3, 0.0)  # red stamp ink: mid-grey on a grey scan
# how the committee pressed it: red as usual, faint (little ink), partial (tilted: one side barely
# printed), offset (partly beside its area, over the header's text)
STAMP_STYLES = {"red": 0.55, "faint": 0.15, "partial": 0.15, "offset": 0.15}
# pens a voter strikes with, besides the voter's own: a felt pen (broad, dark), a light ballpoint
STRIKE_PENS = {"own": 0.8, "felt": 0.1, "light-ballpoint": 0.1}
STAMP_SEEN_SHARE = 0.6  # a 1-bit scan that kept less of the pressed stamp's pixels than this cannot show it


def strike_pen(voter_pen: Pen, rng: np.random.Generator) -> Pen:
    """The pen a name is struck with: mostly the voter's own, sometimes a felt pen or a light ballpoint."""
    which = _weighted(rng, STRIKE_PENS)
    if which == "felt":
        return replace(PENS["blue-felt"], width=float(rng.uniform(0.9, 1.3)), ink=float(rng.uniform(30, 70)))
    if which == "light-ballpoint":
        return replace(PENS["blue-ballpoint"], width=float(rng.uniform(0.3, 0.45)), ink=float(rng.uniform(120, 150)),
                       skip=0.4)
    return voter_pen


def _line_through(x0: float, x1: float, y0: float, y1: float, pen: Pen, rng: np.random.Generator,
                  wave: float = 0.0) -> Stroke:
    n = max(6, int((x1 - x0) / 4))
    xs = np.linspace(x0, x1, n)
    ys = np.linspace(y0, y1, n) + rng.uniform(-0.12, 0.12, n)
    if wave:
        ys = ys + wave * np.sin(np.linspace(0, rng.uniform(5, 10) * math.pi, n) + rng.uniform(0, 6))
    return hand_stroke(np.column_stack([xs, ys]), pen, rng, wobble=0.06)


def strike_strokes(kind: str, cell, pen: Pen, rng: np.random.Generator) -> list[Stroke]:
    """What a hand draws on a candidate's name (a NameCell with one rect per printed line)."""
    line = cell.lines[int(rng.integers(0, len(cell.lines)))]
    text, row = cell.text_rect, cell.rect
    body = line.y + line.h * 0.53  # the middle of the lower-case letters
    lo = max(row.x - 4.0, 6.0)
    hi = row.x + row.w + 4.0
    x0 = max(lo, line.x - rng.uniform(0.5, 3.0))
    x1 = min(hi, line.x + line.w + rng.uniform(0.5, 4.0))
    dy = rng.uniform(-0.5, 0.5)
    if kind in ("line", "pencil"):
        return [_line_through(x0, x1, body + dy, body + dy + rng.uniform(-0.6, 0.6), pen, rng)]
    if kind == "slanted":
        rise = rng.uniform(0.25, 0.45) * line.h * (1 if rng.random() < 0.5 else -1)
        return [_line_through(x0, x1, body + rise, body - rise, pen, rng)]
    if kind == "wavy":
        return [_line_through(x0, x1, body + dy * 0.5, body + dy * 0.5, pen, rng, wave=rng.uniform(0.35, 0.7))]
    if kind == "double":
        gap = rng.uniform(0.5, 0.8)
        return [_line_through(x0, x1, body - gap + dy * 0.3, body - gap, pen, rng),
                _line_through(x0 + rng.uniform(-1, 1), x1, body + gap, body + gap + dy * 0.3, pen, rng)]
    if kind == "overshoot":
        return [_line_through(max(lo, line.x - rng.uniform(5, 12)), min(hi, line.x + line.w + rng.uniform(5, 12)),
                              body + dy, body + dy * 0.5, pen, rng)]
    if kind in ("most", "partial"):
        share = rng.uniform(0.85, 0.95) if kind == "most" else rng.uniform(0.2, 0.55)
        if rng.random() < 0.5:
            a, b = line.x - rng.uniform(0.5, 2.0), line.x + share * line.w
        else:
            a, b = line.x + (1 - share) * line.w, line.x + line.w + rng.uniform(0.5, 2.0)
        return [_line_through(a, b, body + dy * 0.5, body + dy * 0.5, pen, rng)]
    if kind == "under":
        y = text.y + text.h + rng.uniform(0.3, 1.0)
        return [_line_through(x0, x1, y, y + rng.uniform(-0.3, 0.3), pen, rng)]
    if kind == "over":
        y = text.y + rng.uniform(-0.4, 0.3)
        return [_line_through(x0, x1, y, y + rng.uniform(-0.3, 0.3), pen, rng)]
    if kind == "between":
        y = row.y + row.h + rng.uniform(-0.6, 0.6)
        return [_line_through(x0, x1, y, y + rng.uniform(-0.4, 0.4), pen, rng)]
    if kind == "circle":
        cx, cy = text.cx, text.cy
        rx, ry = text.w / 2 + rng.uniform(2, 4), text.h / 2 + rng.uniform(0.8, 1.6)
        t = np.linspace(0, 2 * math.pi * rng.uniform(1.02, 1.1), 40) + rng.uniform(0, 6)
        ring = np.column_stack([cx + rx * np.cos(t), cy + ry * np.sin(t)])
        return [hand_stroke(ring, pen, rng, wobble=0.15)]
    if kind == "tick":
        x = line.x + line.w * rng.uniform(0.3, 0.8)
        y = line.y + line.h * 0.6
        pts = np.array([[x - 2.0, y - 0.8], [x - 0.5, y + 1.0], [x + 3.0, y - 2.5]])
        return [hand_stroke(_jit(rng, pts, 0.3), pen, rng, wobble=0.05)]
    if kind == "restored":
        return strike_strokes("line", cell, pen, rng) + restore_strokes(str(rng.choice(RESTORE_SIGNS)), cell, pen, rng)
    raise ValueError(f"unknown strike kind {kind!r}; known: {', '.join(STRIKE_KINDS)}")


def restore_strokes(sign: str, cell, pen: Pen, rng: np.random.Generator) -> list[Stroke]:
    """The voter's sign that a struck name is taken back: a row of dots under it, a tick after it, small
    x's on the strike, or a ring round the struck name (what a person must look at)."""
    text = cell.text_rect
    if sign == "dots":
        y = text.y + text.h + rng.uniform(1.0, 1.8)
        n = int(rng.integers(5, 9))
        xs = np.linspace(text.x + 1.0, text.x + text.w - 1.0, n) + rng.uniform(-0.4, 0.4, n)
        return [dot_stroke((float(x), float(y + rng.uniform(-0.2, 0.2))), float(rng.uniform(0.7, 1.1))) for x in xs]
    if sign == "tick":
        x = text.x + text.w + rng.uniform(3.0, 8.0)
        y = text.cy + rng.uniform(-0.5, 0.8)
        pts = np.array([[x - 1.5, y - 0.5], [x, y + 1.6], [x + 2.5, y - 3.0]])
        return [hand_stroke(_jit(rng, pts, 0.25), pen, rng, wobble=0.05)]
    if sign == "crosses":
        out = []
        y = text.y + text.h * 0.53
        for x in np.linspace(text.x + text.w * 0.2, text.x + text.w * 0.8, int(rng.integers(2, 4))):
            a = rng.uniform(2.2, 3.0)
            out.append(hand_stroke(_jit(rng, [[x - a * 0.6, y - a], [x + a * 0.6, y + a]], 0.2), pen, rng))
            out.append(hand_stroke(_jit(rng, [[x + a * 0.6, y - a], [x - a * 0.6, y + a]], 0.2), pen, rng))
        return out
    return strike_strokes("circle", cell, pen, rng)


def stamp_strokes(zone: Rect, ink: Pen, rng: np.random.Generator, style: str = "red") -> list[Stroke]:
    """The committee's round stamp, pressed unevenly: two rings, a ring of lettering, a star inside.
    `style` (STAMP_STYLES): partial presses one side barely; offset puts it partly beside its area."""
    r = min(zone.w, zone.h) / 2 - rng.uniform(1.0, 2.5)
    cx = zone.x + r + 0.5 + rng.uniform(0, max(zone.w - 2 * r - 1.0, 0.1))
    cy = zone.cy + rng.uniform(-1.0, 1.0)
    if style == "offset":  # up to a third of the stamp outside its area (left or up), over the margin or text
        cx -= rng.uniform(0.1, 0.3) * r if rng.random() < 0.5 else 0.0
        cy -= rng.uniform(0.1, 0.3) * r
    strokes: list[Stroke] = []
    for radius in (r, r - 1.3, r * 0.58):
        t = np.linspace(0, 2 * math.pi, 90)
        pts = np.column_stack([cx + radius * np.cos(t), cy + radius * np.sin(t)])
        strokes.append(Stroke(pts, np.full(len(pts), ink.width * (1.3 if radius == r else 1.0)), np.ones(len(pts))))
    letters = int(rng.integers(22, 30))
    for i in range(letters):  # lettering between the rings: a few short strokes per letter
        a = 2 * math.pi * i / letters + rng.uniform(-0.03, 0.03)
        r0, r1 = r * 0.66, r - 2.2
        for _ in range(2):
            b = a + rng.uniform(-0.05, 0.05)
            p = [[cx + r0 * math.cos(b), cy + r0 * math.sin(b)],
                 [cx + r1 * math.cos(b + 0.04), cy + r1 * math.sin(b + 0.04)]]
            strokes.append(Stroke(np.array(p), np.full(2, ink.width * 0.8), np.ones(2)))
    star = [(cx + r * 0.4 * math.cos(math.pi / 2 + k * 4 * math.pi / 5),
             cy - r * 0.4 * math.sin(math.pi / 2 + k * 4 * math.pi / 5)) for k in range(6)]
    strokes.append(Stroke(np.array(star), np.full(6, ink.width * 1.5), np.ones(6)))
    # pressed unevenly: one side lighter (a partial press: that side barely printed)
    angle = rng.uniform(0, 2 * math.pi)
    low = 0.05 if style == "partial" else 0.35
    slope = 0.6 if style == "partial" else 0.2
    out = []
    for st in strokes:
        side = ((st.points[:, 0] - cx) * math.cos(angle) + (st.points[:, 1] - cy) * math.sin(angle)) / r
        out.append(replace(st, alpha=np.clip(0.8 + slope * side + rng.uniform(-0.1, 0.1), low, 1.0)))
    return out


def plan_crossout(page: PageLayout, contests: dict[str, Contest], rng: np.random.Generator,
                  behaviours: Sequence[str], kinds: Sequence[str] | None, pen: str | None) -> SheetPlan:
    """A voter's cross-out ballot: mostly exactly K names left, sometimes fewer; with the
    behaviours asked, unclear strokes, too many left, all struck, nothing struck, no stamp.
    ``kinds``, when given, are the strike kinds of the rows in turn ("none": not struck)."""
    pen_name = pen or _weighted(rng, PEN_WEIGHTS)
    cells = list(page.strike_cells)
    contest = contests[cells[0].contest_id]
    n, k = len(cells), contest.seats
    habit = _weighted(rng, STRIKE_HABITS)
    if kinds:
        chosen = [kinds[i % len(kinds)] for i in range(n)]
    else:
        if "untouched" in behaviours or "blank" in behaviours:
            left = n
        elif "strike_all" in behaviours:
            left = 0
        elif "too_many_left" in behaviours:
            left = int(rng.integers(min(k + 1, n), n + 1))
        else:
            left = k if rng.random() < 0.75 else int(rng.integers(1, k + 1))
        keep = set(int(i) for i in rng.choice(n, size=left, replace=False))
        chosen = ["none" if i in keep else (habit if rng.random() < 0.85 else _weighted(rng, STRIKE_HABITS))
                  for i in range(n)]
        if "strike_unclear" in behaviours:
            for i in rng.choice(n, size=int(rng.integers(1, 3)), replace=False):
                chosen[int(i)] = str(rng.choice(list(UNCLEAR_STRIKES)))
    strikes = tuple((c.contest_id, c.row_id, kind) for c, kind in zip(cells, chosen))
    writing = tuple(w for w in WRITING if w in behaviours)
    stamp = "missing" if "no_stamp" in behaviours else "pressed"
    return SheetPlan(tuple(behaviours), pen_name, (), (), writing, None, strikes=strikes, stamp=stamp)


# ---------------------------------------------------------------------------------------------
# 5. What a voter does: sheet plans
# ---------------------------------------------------------------------------------------------

BEHAVIOURS = (
    "normal",  # one mark per row (within max in choose contests)
    "no_mark",  # some rows left without a mark
    "overvote",  # some rows with two or three marks / choose over the max
    "undervote",  # choose contests under the max (valid) or nothing
    "blank",  # the whole sheet untouched
    "crossed_name",  # a line through a printed name: that row is void (QĐ 96)
    "signature",  # the voter signs near the bottom or in a margin (allowed)
    "note",  # a written comment in a margin or below the table
    "added_name",  # a name written in under the table, with a hand-drawn box and X
    "stray",  # dots, erasures, hesitation specks, rings around boxes on unchosen boxes
    "damaged_fiducial",  # a pen stroke over one corner marker
    "struck_text",  # a line through a printed option, candidate name or question of a choose/yes-no contest
)
CROSSOUT_BEHAVIOURS = (  # cross-out election ballots (apart: the bundled sample set walks BEHAVIOURS)
    "no_stamp",  # the committee forgot to stamp this ballot
    "strike_unclear",  # one or two names get an unclear stroke (partial, under, over, between rows, circle, tick)
    "too_many_left",  # fewer names struck than needed: more names left than seats
    "strike_all",  # every name struck
    "untouched",  # nothing struck (a blank cross-out ballot leaves every name: too many)
)
WRITING = ("signature", "note", "added_name")


@dataclass(frozen=True)
class BoxMark:
    """Ink in one box."""

    contest: str
    row: str
    option: str
    kind: str

    @property
    def expected(self) -> str:
        return MARK_KINDS[self.kind]


@dataclass(frozen=True)
class SheetPlan:
    """Everything a voter does to one page."""

    behaviours: tuple[str, ...]
    pen: str  # key of PENS
    marks: tuple[BoxMark, ...]  # boxes with ink (any box not listed has none)
    crossed: tuple[tuple[str, str], ...] = ()  # (contest, row) whose printed name is struck through
    writing: tuple[str, ...] = ()  # signature | note | added_name
    damaged_fiducial: str | None = None  # corner of the marker covered by ink
    struck_texts: tuple[int, ...] = ()  # indices into the page's texts struck through (not names of persons)
    strikes: tuple[tuple[str, str, str], ...] = ()  # cross-out ballots: (contest, row, strike kind) of each row
    stamp: str = ""  # cross-out ballots: "pressed" | "missing" ("" on other ballots)


def _weighted(rng: np.random.Generator, weights: dict[str, float]) -> str:
    keys = list(weights)
    p = np.asarray([weights[k] for k in keys], dtype=np.float64)
    return keys[int(rng.choice(len(keys), p=p / p.sum()))]


HABIT_WEIGHTS = {"x": 0.45, "tick": 0.14, "fill": 0.1, "hatch": 0.05, "scribble": 0.05, "slash": 0.06,
                 "circle": 0.05, "overflow": 0.06, "pencil": 0.04}


def page_rows(page: PageLayout) -> list[tuple[str, str, list[str]]]:
    """(contest, row, option ids) of every row with boxes on a page, in layout order."""
    rows: dict[tuple[str, str], list[str]] = {}
    for b in page.boxes:
        rows.setdefault((b.contest_id, b.row_id), []).append(b.option_id)
    return [(c, r, opts) for (c, r), opts in rows.items()]


def plan_sheet(page: PageLayout, contests: dict[str, Contest], rng: np.random.Generator,
               behaviours: Sequence[str] | None = None, kinds: Sequence[str] | None = None,
               pen: str | None = None) -> SheetPlan:
    """A voter's page: which boxes get which mark kind, and what else they write.

    ``behaviours`` (see BEHAVIOURS) are drawn at random when None; ``kinds``, when given, are the
    mark kinds used for the chosen boxes in turn (to show every kind on one sheet)."""
    if behaviours is None:
        behaviours = ["normal"]
        for name, p in (("no_mark", 0.08), ("overvote", 0.08), ("undervote", 0.06), ("crossed_name", 0.04),
                        ("signature", 0.12), ("note", 0.04), ("added_name", 0.02), ("stray", 0.15),
                        ("damaged_fiducial", 0.03)):
            if rng.random() < p:
                behaviours.append(name)
        if rng.random() < 0.02:
            behaviours = ["blank"]
    behaviours = tuple(behaviours)
    unknown = [b for b in behaviours if b not in BEHAVIOURS + CROSSOUT_BEHAVIOURS]
    if unknown:
        raise ValueError(f"unknown behaviour(s) {unknown}; known: {', '.join(BEHAVIOURS + CROSSOUT_BEHAVIOURS)}")
    if page.strike_cells:
        return plan_crossout(page, contests, rng, behaviours, kinds, pen)
    pen_name = pen or _weighted(rng, PEN_WEIGHTS)
    if "blank" in behaviours:
        return SheetPlan(behaviours, pen_name, ())
    habit = _weighted(rng, HABIT_WEIGHTS)
    kind_cycle = list(kinds) if kinds else []
    rows = page_rows(page)
    conf_rows = [i for i, (c, _, _) in enumerate(rows) if contests[c].kind == "confidence"]

    def pick(candidates: list[int], fraction: float) -> set[int]:
        if not candidates:
            return set()
        n = max(1, int(round(len(candidates) * fraction)))
        return {candidates[int(i)] for i in rng.choice(len(candidates), size=min(n, len(candidates)), replace=False)}

    all_rows = list(range(len(rows)))
    empty = pick(all_rows, rng.uniform(0.05, 0.25)) if "no_mark" in behaviours else set()
    over = pick([i for i in all_rows if i not in empty], rng.uniform(0.05, 0.3)) if "overvote" in behaviours else set()
    under = set(all_rows) if "undervote" in behaviours else set()
    crossed_rows = pick(conf_rows, 0.1) if "crossed_name" in behaviours and conf_rows else set()
    marks: list[BoxMark] = []
    chosen_boxes: set[tuple[str, str, str]] = set()

    def next_kind() -> str:
        if kind_cycle:
            return kind_cycle.pop(0)
        if rng.random() < 0.85:
            return habit
        return _weighted(rng, HABIT_WEIGHTS)

    for i, (cid, rid, opts) in enumerate(rows):
        contest = contests[cid]
        if contest.kind in ("confidence", "yesno", "crossout"):  # crossout: the agree style, one box per person
            n = 1
            if i in empty:
                n = 0
            elif i in over:
                n = int(rng.choice([2, 3])) if len(opts) >= 3 else 2
        else:
            lo, hi = contest.min_marks, contest.max_marks
            n = int(rng.integers(max(1, lo), hi + 1))
            if i in empty:
                n = 0
            elif i in over:
                n = int(rng.integers(hi + 1, min(len(opts), hi + 2) + 1))
            elif i in under:
                n = int(rng.integers(0, hi)) if hi > 0 else 0
        n = min(n, len(opts))
        for j in sorted(int(k) for k in rng.choice(len(opts), size=n, replace=False)):
            marks.append(BoxMark(cid, rid, opts[j], next_kind()))
            chosen_boxes.add((cid, rid, opts[j]))
    if "stray" in behaviours:
        free = [(c, r, o) for c, r, opts in rows for o in opts if (c, r, o) not in chosen_boxes]
        for k in rng.permutation(len(free))[:max(1, len(free) // 8)]:
            c, r, o = free[int(k)]
            marks.append(BoxMark(c, r, o, str(rng.choice(list(STRAY_KINDS)))))
    writing = tuple(w for w in WRITING if w in behaviours)
    corner = None
    if "damaged_fiducial" in behaviours:
        corner = str(rng.choice(["top_left", "top_right", "bottom_right", "bottom_left"]))
    crossed = tuple((rows[i][0], rows[i][1]) for i in sorted(crossed_rows))
    struck: tuple[int, ...] = ()
    if "struck_text" in behaviours:
        texts = choice_texts(page, contests)
        struck = (texts[int(rng.integers(0, len(texts)))],) if texts else ()
    stamp = ""
    if page.stamp is not None:
        stamp = "missing" if "no_stamp" in behaviours else "pressed"
    return SheetPlan(behaviours, pen_name, tuple(marks), crossed, writing, corner, struck, (), stamp)


def choice_texts(page: PageLayout, contests: dict[str, Contest]) -> list[int]:
    """Indices of the printed texts of choose and yes/no contests a voter may strike: each option's
    label (right of its box) and the contest's title and instructions above its first box."""
    out = []
    boxes = [b.rect for b in page.boxes if contests[b.contest_id].kind in ("choose", "yesno")]
    if not boxes:
        return out
    for i, t in enumerate(page.texts):
        r = text_rect(t)
        if r.w < 8.0 or r.y > page.footer.y - 2.0:
            continue
        label = any(abs(r.cy - b.cy) < 3.0 and 0 < r.x - (b.x + b.w) < 6.0 for b in boxes)
        title = any(0 < b.y - (r.y + r.h) < 14.0 and r.x <= b.x + 2.0 for b in boxes)
        if label or title:
            out.append(i)
    return out


def showcase_plan(page: PageLayout, kinds: Sequence[str], pen: str = "blue-ballpoint") -> SheetPlan:
    """A page showing the given mark kinds one per box, walking rows and columns diagonally: for
    test decks of the simulator itself and for pictures."""
    boxes = list(page.boxes)
    marks = []
    rows = page_rows(page)
    for i, kind in enumerate(kinds):
        if i >= len(rows):
            break
        cid, rid, opts = rows[i]
        marks.append(BoxMark(cid, rid, opts[i % len(opts)], kind))
    del boxes
    return SheetPlan(("normal",), pen, tuple(marks))


def _content_bottom(page: PageLayout) -> float:
    ys = [b.rect.y + b.rect.h for b in page.boxes] + [max(ln.y1, ln.y2) for ln in page.lines]
    ys += [c.rect.y + c.rect.h for c in page.name_cells]
    ys += [t.baseline + 1.0 for t in page.texts if t.baseline < page.footer.y]
    return max(ys) if ys else 40.0


def _content_left(page: PageLayout) -> float:
    xs = [b.rect.x for b in page.boxes] + [min(ln.x1, ln.x2) for ln in page.lines]
    return min(xs) if xs else (page.width - 180) / 2


def _writing_place(page: PageLayout, what: str, rng: np.random.Generator) -> tuple[tuple[float, float], float, float,
                                                                                   float]:
    """Where a voter writes: (baseline origin mm, width mm, angle, height available above the
    baseline mm): below the content, else along the left margin (written bottom to top) or in the
    top margin between the corner markers."""
    bottom = _content_bottom(page)
    below_top, below_bottom = bottom + 3.0, page.height - 19.0
    x_left = page.fiducials[3].rect.x + page.fiducials[3].rect.w + 35.0  # clear of the QR code
    x_right = page.width - 22.0
    room = below_bottom - below_top
    top_y = page.fiducials[0].rect.y + page.fiducials[0].rect.h - 1.0  # baseline in the top margin
    top_x = page.fiducials[0].rect.x + page.fiducials[0].rect.w + 6.0
    if what == "signature":
        if room >= 10:
            x = rng.uniform(max(x_left, page.width * 0.5), x_right - 50)
            h = min(room * 0.7, 14.0)
            return (x, rng.uniform(below_top + h, below_bottom - 0.25 * h)), min(55.0, x_right - x), 0.0, h
        return (rng.uniform(page.width * 0.55, x_right - 50), top_y), 45.0, 0.0, top_y - 2.0
    choices = []
    if min(below_bottom, page.qr.y - 3.0) - below_top >= 10:
        choices.append("below")
    if _content_left(page) >= 10:
        choices.append("left")
    choices.append("top")
    if what == "note":
        where = choices[int(rng.integers(0, len(choices)))]
    else:
        where = "below" if "below" in choices else "top"
    if where == "below":
        bottom_note = min(below_bottom, page.qr.y - 3.0)  # starts above the QR code's column
        h = min((bottom_note - below_top) * 0.7, 9.0)
        y = rng.uniform(below_top + h, max(below_top + h, bottom_note - 0.3 * h))
        return (top_x + rng.uniform(0, 8), y), rng.uniform(60, 120), 0.0, h
    if where == "left":
        x = _content_left(page) - rng.uniform(2.0, 3.0)
        y = page.height - 45 - rng.uniform(0, 60)
        return (x, y), rng.uniform(60, min(140, y - 30)), -90.0, _content_left(page) - 5.0
    return (top_x + rng.uniform(0, 14), top_y), rng.uniform(60, 110), 0.0, top_y - 2.0


@dataclass(frozen=True)
class MarkedPage:
    """A page after the voter: the clean page plus ink."""

    clean: CleanPage
    plan: SheetPlan
    image: np.ndarray  # (h, w) uint8
    paper: tuple[int, ...] = ()  # the keys of the sheet's paper stream (Simulator.rng), when it has its own paper


PAPER_FORMATION_MM = 0.35  # the size of the paper's fibre flocs, as a scanner sees them in reflection
PAPER_FORMATION_GREY = 1.6  # their spread, grey levels on white (about 0.6 %)


def paper_texture(image: np.ndarray, dpi: float, rng: np.random.Generator) -> np.ndarray:
    """One physical sheet's paper: a faint cloudy texture (fibre flocs) that every sheet has and no two
    share; it darkens print and paper alike, so it goes on before the ink."""
    noise = rng.standard_normal(image.shape, dtype=np.float32)
    field = cv2.GaussianBlur(noise, (0, 0), PAPER_FORMATION_MM * px_per_mm(dpi) / 2)
    field *= PAPER_FORMATION_GREY / max(float(field.std()), 1e-6) / 255.0
    return np.clip(np.rint(image.astype(np.float32) * (1.0 - field)), 0, 255).astype(np.uint8)


def mark_sheet(clean: CleanPage, plan: SheetPlan, rng: np.random.Generator,
               paper: np.random.Generator | None = None) -> MarkedPage:
    """Draw a plan's ink on a copy of a clean page (on this sheet's own paper, when `paper` gives
    the randomness of its texture)."""
    img = clean.image.copy() if paper is None else paper_texture(clean.image, clean.dpi, paper)
    dpi = clean.dpi
    page = clean.layout
    voter_pen = pen_variant(PENS[plan.pen], rng)
    rects = {(b.contest_id, b.row_id, b.option_id): b.rect for b in page.boxes}
    for m in plan.marks:
        rect = rects[(m.contest, m.row, m.option)]
        others = [r for k, r in rects.items() if k != (m.contest, m.row, m.option)]
        strokes, pen, strength = box_mark(m.kind, rect, others, voter_pen, rng)
        smudge = 1.2 * dpi / 200 if m.kind == "erasure" else 0.0
        draw_strokes(img, strokes, pen, dpi, rng, strength, smudge)
    cells = {(c.contest_id, c.row_id): c for c in page.name_cells}
    for key in plan.crossed:
        cell = cells[key]
        draw_strokes(img, crossed_name_strokes(cell.text_rect, cell.rect, voter_pen, rng), voter_pen, dpi, rng)
    for i in plan.struck_texts:
        r = text_rect(page.texts[i])
        draw_strokes(img, crossed_name_strokes(r, r.grow(3.0), voter_pen, rng), voter_pen, dpi, rng)
    for what in plan.writing:
        origin, width, angle, height = _writing_place(page, what, rng)
        if what == "signature":
            strokes = signature(origin, width, voter_pen, rng, height)
        elif what == "note":
            xh = min(rng.uniform(1.8, 2.6), height / 2.6)
            strokes = handwriting(origin, width, xh, voter_pen, rng, angle)
        else:  # added name: a name written under the table, a hand-drawn box with an X in it
            x, y = origin
            xh = min(rng.uniform(2.0, 2.6), height / 2.6)
            strokes = handwriting((x, y), rng.uniform(35, 50), xh, voter_pen, rng)
            bx = x + 90 + rng.uniform(0, 30)
            box = Rect(bx, y - 5.0, 6.0, 6.0)
            ring = np.array([[box.x, box.y], [box.x + box.w, box.y], [box.x + box.w, box.y + box.h],
                             [box.x, box.y + box.h], [box.x, box.y + 0.3]])
            strokes.append(hand_stroke(_jit(rng, ring, 0.25), voter_pen, rng, wobble=0.08, taper=0.1))
            strokes += _x_strokes(_box_frame(box, rng), voter_pen, rng)
        draw_strokes(img, strokes, voter_pen, dpi, rng)
    strike_cells = {(c.contest_id, c.row_id): c for c in page.strike_cells}
    struck_with = strike_pen(voter_pen, rng) if plan.strikes else voter_pen
    for cid, rid, kind in plan.strikes:
        if kind == "none":
            continue
        pen = struck_with if kind != "pencil" else pen_variant(PENS["light-pencil"], rng)
        draw_strokes(img, strike_strokes(kind, strike_cells[(cid, rid)], pen, rng), pen, dpi, rng)
    if plan.stamp == "pressed" and page.stamp is not None:
        style = _weighted(rng, STAMP_STYLES)
        ink = replace(STAMP_INK, ink=float(rng.uniform(170, 200) if style == "faint" else rng.uniform(110, 165)))
        draw_strokes(img, stamp_strokes(page.stamp, ink, rng, style), ink, dpi, rng)
    if plan.damaged_fiducial:
        f = next(f for f in page.fiducials if f.corner == plan.damaged_fiducial)
        felt = replace(PENS["black-gel"], width=1.2, ink=30.0)
        draw_strokes(img, fiducial_damage_strokes(f.rect, rng), felt, dpi, rng)
    return MarkedPage(clean, plan, img)


# ---------------------------------------------------------------------------------------------
# 6. Degradations: each a function of an image and explicit parameters
# ---------------------------------------------------------------------------------------------
# Geometric ones return (image, matrix): the 3x3 matrix maps input pixel coordinates to output
# pixel coordinates, so callers can chain them and record where the page went.


def warp(image: np.ndarray, matrix: np.ndarray, size: tuple[int, int], fill: float = 255.0,
         background: np.ndarray | None = None) -> np.ndarray:
    """Resample ``image`` through a 3x3 input->output ``matrix`` into an image of ``size`` (w, h);
    uncovered pixels get ``fill`` or the pixels of ``background``."""
    w, h = size
    m = np.asarray(matrix, dtype=np.float64)
    affine = abs(m[2, 0]) < 1e-12 and abs(m[2, 1]) < 1e-12 and abs(m[2, 2] - 1) < 1e-12
    if background is not None:
        out = background.copy()
        mode = cv2.BORDER_TRANSPARENT
    else:
        out = None
        mode = cv2.BORDER_CONSTANT
    fill_v = int(round(fill))
    if affine:
        res = cv2.warpAffine(image, m[:2], (w, h), dst=out, flags=cv2.INTER_LINEAR, borderMode=mode,
                             borderValue=fill_v)
    else:
        res = cv2.warpPerspective(image, m, (w, h), dst=out, flags=cv2.INTER_LINEAR, borderMode=mode,
                                  borderValue=fill_v)
    return res


def rotate_quarter(image: np.ndarray, rotation: int) -> tuple[np.ndarray, np.ndarray]:
    """The page turned ``rotation`` (0, 90, 180, 270) degrees clockwise: exact, no resampling."""
    if rotation not in (0, 90, 180, 270):
        raise ValueError(f"rotation must be 0, 90, 180 or 270, not {rotation}")
    h, w = image.shape[:2]
    m = {0: [[1, 0, 0], [0, 1, 0]], 90: [[0, -1, h - 1], [1, 0, 0]], 180: [[-1, 0, w - 1], [0, -1, h - 1]],
         270: [[0, 1, 0], [-1, 0, w - 1]]}[rotation]
    out = np.ascontiguousarray(np.rot90(image, k=-rotation // 90))
    return out, np.vstack([np.asarray(m, dtype=np.float64), [0, 0, 1]])


def skew_matrix(size: tuple[int, int], degrees: float) -> np.ndarray:
    """Rotation by ``degrees`` clockwise (as seen on the image) about the image centre."""
    w, h = size
    a = math.radians(degrees)
    c, s = math.cos(a), math.sin(a)
    cx, cy = (w - 1) / 2, (h - 1) / 2
    return np.array([[c, -s, cx - c * cx + s * cy], [s, c, cy - s * cx - c * cy], [0, 0, 1]])


def shift_matrix(dx: float, dy: float) -> np.ndarray:
    return np.array([[1, 0, dx], [0, 1, dy], [0, 0, 1]], dtype=np.float64)


def stretch_matrix(size: tuple[int, int], sx: float, sy: float) -> np.ndarray:
    """Paper stretch: scale x by ``sx`` and y by ``sy`` about the image centre."""
    w, h = size
    cx, cy = (w - 1) / 2, (h - 1) / 2
    return np.array([[sx, 0, cx - sx * cx], [0, sy, cy - sy * cy], [0, 0, 1]])


def skew(image: np.ndarray, degrees: float, fill: float = 255.0) -> tuple[np.ndarray, np.ndarray]:
    """A small skew (±3° on feeders), same canvas."""
    h, w = image.shape
    m = skew_matrix((w, h), degrees)
    return warp(image, m, (w, h), fill), m


def shift(image: np.ndarray, dx: float, dy: float, fill: float = 255.0) -> tuple[np.ndarray, np.ndarray]:
    """The page moved by (dx, dy) pixels on the scanner glass."""
    h, w = image.shape
    m = shift_matrix(dx, dy)
    return warp(image, m, (w, h), fill), m


def stretch(image: np.ndarray, sx: float, sy: float, fill: float = 255.0) -> tuple[np.ndarray, np.ndarray]:
    """Paper stretch or feeder speed error: x and y scaled differently (±1%)."""
    h, w = image.shape
    m = stretch_matrix((w, h), sx, sy)
    return warp(image, m, (w, h), fill), m


def perspective(image: np.ndarray, corners: np.ndarray, size: tuple[int, int],
                background: np.ndarray | float = 128.0) -> tuple[np.ndarray, np.ndarray]:
    """A phone photo: the image's four corners (top-left, top-right, bottom-right, bottom-left) land on
    ``corners`` (4, 2) of a larger canvas of ``size`` (w, h) showing ``background``."""
    h, w = image.shape
    src = np.float32([[0, 0], [w - 1, 0], [w - 1, h - 1], [0, h - 1]])
    m = cv2.getPerspectiveTransform(src, np.float32(corners)).astype(np.float64)
    if isinstance(background, np.ndarray):
        return warp(image, m, size, background=background), m
    return warp(image, m, size, fill=float(background)), m


def table_background(size: tuple[int, int], rng: np.random.Generator, level: float = 90.0,
                     contrast: float = 25.0) -> np.ndarray:
    """A desk under a phone photo: a smooth uneven surface with a faint grain."""
    w, h = size
    sw, sh = max(2, w // 4), max(2, h // 4)
    coarse = rng.uniform(-1, 1, (6, 8)).astype(np.float32)
    base = cv2.resize(coarse, (sw, sh), interpolation=cv2.INTER_CUBIC)
    grain = cv2.resize(rng.uniform(-1, 1, (max(2, sh // 3), max(2, sw // 2))).astype(np.float32), (sw, sh),
                       interpolation=cv2.INTER_LINEAR)
    small = np.clip(level + contrast * base + contrast * 0.25 * grain, 0, 255).astype(np.uint8)
    return cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)


def lighting_field(size: tuple[int, int], gradient: float, angle_deg: float, vignette: float,
                   shadow: tuple[float, float, float, float] | None = None) -> np.ndarray:
    """Multiplicative light over an image of ``size`` (w, h), 1.0 = full light: a linear falloff of
    ``gradient`` along ``angle_deg``, darker corners (``vignette``), and optionally a soft shadow
    edge (x, y, angle_deg, depth) in relative coordinates (a hand or phone over the page)."""
    w, h = size
    sw, sh = max(2, w // 16), max(2, h // 16)
    y, x = np.mgrid[0:sh, 0:sw].astype(np.float32)
    x = x / (sw - 1) - 0.5
    y = y / (sh - 1) - 0.5
    a = math.radians(angle_deg)
    field = 1 - gradient * (0.5 + x * math.cos(a) + y * math.sin(a))
    field *= 1 - vignette * (x * x + y * y) * 2
    if shadow is not None:
        sx, sy, sa, depth = shadow
        b = math.radians(sa)
        d = (x + 0.5 - sx) * math.cos(b) + (y + 0.5 - sy) * math.sin(b)
        field *= 1 - depth / (1 + np.exp(-d * 25))
    return cv2.resize(field.astype(np.float32), (w, h), interpolation=cv2.INTER_LINEAR)


def apply_lighting(image: np.ndarray, field: np.ndarray) -> np.ndarray:
    """Multiply by a light field (values 0..1)."""
    f8 = np.clip(np.rint(field * 255), 0, 255).astype(np.uint8)
    return cv2.multiply(image, f8, scale=1 / 255.0)


def blur(image: np.ndarray, sigma_px: float) -> np.ndarray:
    """Optical blur / defocus (Gaussian, sigma in pixels)."""
    if sigma_px <= 0:
        return image
    return cv2.GaussianBlur(image, (0, 0), sigma_px)


def _normal_table() -> np.ndarray:
    from statistics import NormalDist

    nd = NormalDist()
    table = np.array([nd.inv_cdf((i + 0.5) / 256) for i in range(256)], dtype=np.float32)
    return _frozen(table / table.std())


# the standard normal's quantiles at 256 equally likely levels (a constant): uniform bytes -> noise
NORMAL_TABLE = _normal_table()


def sensor_noise(image: np.ndarray, sigma: float, rng: np.random.Generator) -> np.ndarray:
    """Additive Gaussian sensor noise of ``sigma`` grey levels, rounded to whole levels: random
    bytes mapped through the normal's quantiles (several times faster than Generator.normal on a
    whole page), added with saturation."""
    if sigma <= 0:
        return image
    levels = np.clip(np.rint(NORMAL_TABLE * sigma), -255, 255).astype(np.int16)
    u = np.frombuffer(rng.bytes(image.size), dtype=np.uint8).reshape(image.shape)
    return cv2.add(image, cv2.LUT(u, levels), dtype=cv2.CV_8U)


def jpeg_artifacts(image: np.ndarray, quality: int) -> np.ndarray:
    """Decode(encode) at a JPEG ``quality``: the blocks and ringing of a re-compressed scan."""
    ok, buf = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
    if not ok:
        raise RuntimeError("JPEG encoding failed")
    return cv2.imdecode(buf, cv2.IMREAD_GRAYSCALE)


def contrast(image: np.ndarray, black: float, white: float, gamma: float = 1.0) -> np.ndarray:
    """Tone curve of a scanner: grey v -> black + (white - black) * (v/255)^gamma. A faint scan has a
    high ``black``; a grey-paper or dim one a low ``white``."""
    v = np.arange(256, dtype=np.float64) / 255.0
    lut = np.clip(np.rint(black + (white - black) * v ** gamma), 0, 255).astype(np.uint8)
    return cv2.LUT(image, lut)


def binarize(image: np.ndarray, threshold: float = 128.0) -> np.ndarray:
    """A scanner's fixed-threshold 1-bit mode: 0 where darker than ``threshold``, 255 elsewhere."""
    return np.where(image < threshold, np.uint8(0), np.uint8(255))


def binarize_adaptive(image: np.ndarray, block_px: int, offset: float) -> np.ndarray:
    """A scanner's adaptive 1-bit mode: dark where darker than the local mean minus ``offset``."""
    block = int(block_px) | 1
    return cv2.adaptiveThreshold(image, 255, cv2.ADAPTIVE_THRESH_MEAN_C, cv2.THRESH_BINARY, max(3, block), offset)


def vertical_streak(image: np.ndarray, x: float, width_px: float, level: float, strength: float = 1.0) -> np.ndarray:
    """A scanner streak (dust on the feeder's glass): a thin line the whole page height at column
    ``x``, dark (``level`` low) or light (``level`` 255), with soft edges."""
    h, w = image.shape
    x0, x1 = max(0, int(math.floor(x - width_px - 2))), min(w, int(math.ceil(x + width_px + 2)) + 1)
    if x1 <= x0:
        return image
    cols = np.arange(x0, x1, dtype=np.float32)
    prof = np.clip(width_px / 2 + 0.5 - np.abs(cols - x), 0, 1) * strength
    out = image.copy()
    band = out[:, x0:x1].astype(np.float32)
    band = band * (1 - prof) + level * prof
    out[:, x0:x1] = np.clip(np.rint(band), 0, 255).astype(np.uint8)
    return out


def fold(image: np.ndarray, p0: tuple[float, float], p1: tuple[float, float], width_px: float,
         depth: float) -> np.ndarray:
    """A crease along the line p0-p1 (pixels): a thin dark valley, a shaded side and a lit side
    fading over ``width_px``; ``depth`` 0..1 is how dark the shade gets."""
    h, w = image.shape
    (x0, y0), (x1, y1) = p0, p1
    length = math.hypot(x1 - x0, y1 - y0)
    nx, ny = -(y1 - y0) / length, (x1 - x0) / length
    horizontal = abs(ny) >= abs(nx)
    img = image if horizontal else image.T  # work on a crease across the rows
    if not horizontal:
        x0, y0, x1, y1, nx, ny = y0, x0, y1, x1, ny, nx
    hh, ww = img.shape
    reach = (width_px * 5 + 4) / abs(ny)
    yc = [y0 + (x - x0) * (y1 - y0) / (x1 - x0) for x in (0.0, ww - 1.0)]
    r0, r1 = max(0, int(min(yc) - reach)), min(hh, int(max(yc) + reach) + 1)
    out = image.copy()
    if r1 <= r0:
        return out
    step = 8  # the shade changes slowly along the crease: compute every 8th column, interpolate
    cols = np.arange(0, ww + step, step, dtype=np.float32)
    yy, xx = np.mgrid[r0:r1, 0:len(cols)].astype(np.float32)
    xx *= step
    d = (xx - x0) * nx + (yy - y0) * ny
    shade = np.where(d > 0, 1 - depth * np.exp(-np.abs(d) / width_px), 1 + 0.35 * depth * np.exp(-np.abs(d) / width_px))
    shade *= 1 - 0.5 * depth * np.exp(-(d / 1.2) ** 2)
    full = cv2.resize(shade.astype(np.float32), (len(cols) * step, r1 - r0), interpolation=cv2.INTER_LINEAR)
    full = full[:, step // 2: step // 2 + ww] if full.shape[1] >= ww + step // 2 else full[:, :ww]
    band = img[r0:r1].astype(np.float32) * full
    band = np.clip(np.rint(band), 0, 255).astype(np.uint8)
    if horizontal:
        out[r0:r1] = band
    else:
        out[:, r0:r1] = band.T
    return out


def rescale(image: np.ndarray, factor: float) -> tuple[np.ndarray, np.ndarray]:
    """Resample to another resolution (area average when shrinking)."""
    h, w = image.shape
    nw, nh = max(1, int(round(w * factor))), max(1, int(round(h * factor)))
    interp = cv2.INTER_AREA if factor < 1 else cv2.INTER_LINEAR
    out = cv2.resize(image, (nw, nh), interpolation=interp)
    sx, sy = nw / w, nh / h
    return out, np.array([[sx, 0, 0.5 * sx - 0.5], [0, sy, 0.5 * sy - 0.5], [0, 0, 1]])


# ---------------------------------------------------------------------------------------------
# 7. Scan settings, profiles, and one scan
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Streak:
    x: float  # column, share of the scan's width (0..1)
    width_px: float
    level: float  # grey it pulls toward: low = dark line, 255 = light line
    strength: float = 1.0


@dataclass(frozen=True)
class Fold:
    p0: tuple[float, float]  # page mm
    p1: tuple[float, float]
    width_mm: float  # how far the shading reaches
    depth: float  # 0..1


@dataclass(frozen=True)
class Phone:
    corners: tuple[tuple[float, float], ...]  # page corners TL, TR, BR, BL as shares of the canvas
    canvas: tuple[int, int]  # photo size (w, h) in pixels
    table: float  # grey of the desk around the page
    lighting: tuple[float, float, float]  # gradient, angle_deg, vignette
    shadow: tuple[float, float, float, float] | None  # x, y, angle_deg, depth


@dataclass(frozen=True)
class ScanSettings:
    """Every parameter of one scan: drawn by a profile, applied by :func:`scan_page`, recorded in
    expected.json."""

    profile: str
    dpi: float = 200.0
    rotation: int = 0  # 0, 90, 180, 270 clockwise
    skew_deg: float = 0.0  # clockwise
    shift_mm: tuple[float, float] = (0.0, 0.0)
    stretch: tuple[float, float] = (1.0, 1.0)  # x, y scale of the paper
    margin_mm: tuple[float, float, float, float] = (0.0, 0.0, 0.0, 0.0)  # scan area beyond the paper: l, t, r, b
    background: float = 250.0  # grey of the scanner lid or feeder backing
    phone: Phone | None = None
    folds: tuple[Fold, ...] = ()
    blur_px: float = 0.0
    noise: float = 0.0
    tone: tuple[float, float, float] = (0.0, 255.0, 1.0)  # black, white, gamma
    streaks: tuple[Streak, ...] = ()
    recompress: int | None = None  # JPEG quality of a re-compression inside the scan (artefacts)
    threshold: tuple[str, float, float] | None = None  # ("fixed", t, 0) | ("adaptive", block_mm, offset)
    pack_quality: int = 70  # JPEG quality when the grey page is packed as JPEG
    file_dpi: float | None = None  # resolution written in the file (phones say 72); None: dpi

    @property
    def bilevel(self) -> bool:
        return self.threshold is not None


PROFILES: dict[str, str] = {
    "clean": "flatbed at its best: straight, sharp, no noise",
    "office-scanner": "office feeder/flatbed, grey JPEG: small skew, shift, some 180° and sideways sheets, "
                      "blur, noise, an occasional fold",
    "1bit": "1-bit scans (fixed or adaptive threshold), packed as CCITT G4",
    "phone": "phone photos: perspective, page smaller than the photo on a desk, uneven light and shadow",
    "fax-streak": "sheet feeder with dust on the glass: vertical streaks, skew up to 3°, feed stretch, "
                  "dark backing, often 1-bit",
    "faint": "pale, low-contrast scans (toner saving, dim lamp)",
    "rough": "everything at once: any rotation, 3° skew, 1% stretch, folds, heavy blur and noise, "
             "faint, streaks, JPEG re-compression at quality 40-55",
}
PROFILE_NAMES = tuple(PROFILES)


def _rotation(rng: np.random.Generator, p180: float, p90: float) -> int:
    u = rng.random()
    if u < p180:
        return 180
    if u < p180 + p90:
        return 90 if rng.random() < 0.5 else 270
    return 0


def _dpi(rng: np.random.Generator) -> float:
    return float(rng.choice([150.0, 200.0, 300.0], p=[0.15, 0.75, 0.10]))


def random_folds(rng: np.random.Generator, size_mm: tuple[float, float], n: int,
           depth: tuple[float, float]) -> tuple[Fold, ...]:
    w, h = size_mm
    out = []
    for _ in range(n):
        if rng.random() < 0.8:  # letter folds: across the page at a third or a half
            y = h * float(rng.choice([1 / 3, 1 / 2, 2 / 3])) + rng.uniform(-6, 6)
            tilt = rng.uniform(-3, 3)
            out.append(Fold((-5.0, y - tilt), (w + 5.0, y + tilt), float(rng.uniform(1.5, 4)),
                            float(rng.uniform(*depth))))
        else:
            x = w * 0.5 + rng.uniform(-8, 8)
            tilt = rng.uniform(-3, 3)
            out.append(Fold((x - tilt, -5.0), (x + tilt, h + 5.0), float(rng.uniform(1.5, 4)),
                            float(rng.uniform(*depth))))
    return tuple(out)


def _streaks(rng: np.random.Generator, n: int) -> tuple[Streak, ...]:
    out = []
    for _ in range(n):
        if rng.random() < 0.7:
            out.append(Streak(float(rng.uniform(0.08, 0.92)), float(rng.uniform(1.0, 3.0)), float(rng.uniform(0, 70)),
                              float(rng.uniform(0.6, 1.0))))
        else:
            out.append(Streak(float(rng.uniform(0.08, 0.92)), float(rng.uniform(2.0, 5.0)), 255.0,
                              float(rng.uniform(0.7, 1.0))))
    return tuple(out)


def draw_scan_settings(profile: str, rng: np.random.Generator, page_mm: tuple[float, float] = (210.0, 297.0),
                       dpi: float | None = None) -> ScanSettings:
    """Random parameters of one scan under a named profile (see PROFILES). ``dpi`` fixes the
    resolution (the same sheet scanned again); otherwise the profile draws it (mostly 200)."""
    if profile not in PROFILES:
        raise ValueError(f"unknown profile {profile!r}; known: {', '.join(PROFILES)}")
    u = rng.uniform
    d = float(dpi) if dpi is not None else (_dpi(rng) if profile != "phone" else 150.0)
    k = d / 200.0  # pixel-sized parameters are given at 200 dpi
    if profile == "clean":
        return ScanSettings(profile, d, 0, float(u(-0.2, 0.2)), (float(u(-0.5, 0.5)), float(u(-0.5, 0.5))),
                            blur_px=0.4 * k, tone=(0.0, 255.0, 1.0), pack_quality=int(rng.integers(75, 86)))
    if profile in ("office-scanner", "1bit", "faint"):
        threshold = None
        if profile == "1bit":
            if rng.random() < 0.5:  # set dark enough to keep pencil, as a committee would check
                threshold = ("fixed", float(u(150, 185)), 0.0)
            else:
                threshold = ("adaptive", float(u(3.0, 8.0)), float(u(8, 18)))
        tone = (float(u(8, 35)), float(u(232, 268)), float(u(0.9, 1.1)))  # > 255: the scanner clips paper white
        if profile == "faint":
            tone = (float(u(80, 135)), float(u(205, 238)), float(u(0.65, 0.9)))
        return ScanSettings(
            profile, d, _rotation(rng, 0.12, 0.08), float(np.clip(rng.normal(0, 0.6), -1.5, 1.5)),
            (float(u(-2, 2)), float(u(-2, 2))), (float(u(0.998, 1.002)), float(u(0.997, 1.003))),
            tuple(float(x) for x in u(0, 3, 4)), float(u(235, 255)), None,
            random_folds(rng, page_mm, 1, (0.05, 0.15)) if rng.random() < 0.2 else (),
            float(u(0.5, 1.0)) * k, float(u(1.5, 3.5)), tone, (), None, threshold,
            int(rng.integers(60, 76)))
    if profile == "fax-streak":
        bilevel = rng.random() < 0.5
        return ScanSettings(
            profile, d, _rotation(rng, 0.15, 0.05), float(u(-3, 3)), (float(u(-3, 3)), float(u(-3, 3))),
            (float(u(0.997, 1.003)), float(u(0.99, 1.01))), tuple(float(x) for x in u(1, 4, 4)),
            float(u(15, 60)) if rng.random() < 0.5 else float(u(235, 255)), None, (),
            float(u(0.4, 0.8)) * k, float(u(2, 4)), (float(u(10, 40)), float(u(230, 250)), 1.0),
            _streaks(rng, int(rng.integers(1, 4))), None,
            ("fixed", float(u(145, 180)), 0.0) if bilevel else None, int(rng.integers(55, 71)))
    if profile == "phone":
        cw, ch = page_mm[0] * d / 25.4 * u(1.12, 1.3), page_mm[1] * d / 25.4 * u(1.08, 1.2)
        canvas = (int(cw), int(ch))
        pw, ph = page_mm[0] * d / 25.4, page_mm[1] * d / 25.4
        scale = u(0.82, 0.95) * min(cw / pw, ch / ph)
        a = math.radians(u(-3, 3))
        cx, cy = cw / 2 + u(-0.04, 0.04) * cw, ch / 2 + u(-0.03, 0.03) * ch
        base = np.array([[-pw / 2, -ph / 2], [pw / 2, -ph / 2], [pw / 2, ph / 2], [-pw / 2, ph / 2]]) * scale
        keystone = u(0.0, 0.06)  # the far edge looks shorter
        base[0, 0] *= 1 - keystone
        base[1, 0] *= 1 - keystone
        base += rng.uniform(-0.025, 0.025, (4, 2)) * [pw * scale, ph * scale]
        rot = np.array([[math.cos(a), -math.sin(a)], [math.sin(a), math.cos(a)]])
        quad = base @ rot.T + [cx, cy]
        # keep the whole page in the photo: shrink the quadrilateral about its centre if it spills over
        rel = quad - [cx, cy]
        room = np.where(rel > 0, [0.99 * cw - cx, 0.99 * ch - cy], [cx - 0.01 * cw, cy - 0.01 * ch])
        quad = rel * min(1.0, float(np.min(room / np.maximum(np.abs(rel), 1e-9)))) + [cx, cy]
        corners = tuple((float(x / cw), float(y / ch)) for x, y in quad)
        shadow = ((float(u(0.1, 0.9)), float(u(0.1, 0.9)), float(u(0, 360)), float(u(0.12, 0.3)))
                  if rng.random() < 0.4 else None)
        phone = Phone(corners, canvas, float(u(50, 140)), (float(u(0.1, 0.35)), float(u(0, 360)), float(u(0.1, 0.3))),
                      shadow)
        return ScanSettings(
            profile, d, 0 if rng.random() < 0.75 else int(rng.choice([90, 270])), 0.0, (0.0, 0.0), (1.0, 1.0),
            (0.0, 0.0, 0.0, 0.0), 128.0, phone,
            random_folds(rng, page_mm, 1, (0.06, 0.18)) if rng.random() < 0.3 else (), float(u(0.8, 1.5)) * k,
            float(u(2, 4)), (float(u(20, 50)), float(u(190, 228)), float(u(0.9, 1.15))),
            (), None, None, int(rng.integers(60, 79)), 72.0)
    # rough
    bilevel = rng.random() < 0.2
    return ScanSettings(
        profile, d, int(rng.choice([0, 90, 180, 270])), float(u(-3, 3)), (float(u(-4, 4)), float(u(-4, 4))),
        (float(u(0.99, 1.01)), float(u(0.99, 1.01))), tuple(float(x) for x in u(0, 5, 4)),
        float(u(10, 255)), None, random_folds(rng, page_mm, int(rng.integers(1, 3)), (0.1, 0.22)),
        float(u(1.0, 1.6)) * k, float(u(4, 8)), (float(u(40, 90)), float(u(200, 240)), float(u(0.8, 1.2))),
        _streaks(rng, 1) if rng.random() < 0.4 else (), None if bilevel else int(rng.integers(40, 56)),
        ("adaptive", float(u(4.0, 8.0)), float(u(8, 16))) if bilevel else None, int(rng.integers(50, 66)))


@dataclass(frozen=True)
class ScanImage:
    """One scanned page as a scanner or phone delivers it."""

    pixels: np.ndarray  # (h, w) uint8; 0/255 only when bilevel
    dpi: float  # resolution written in the file
    bilevel: bool
    rotation: int
    homography: np.ndarray  # 3x3: page mm -> pixel coordinates of ``pixels`` (centres at integers)
    settings: ScanSettings


def scan_page(marked: MarkedPage, settings: ScanSettings, rng: np.random.Generator) -> ScanImage:
    """Put a marked page through a scanner (or phone) with ``settings``: paper folds, placement
    (stretch, skew, shift, scan margins, quarter turn) or perspective, light, blur, tone, noise,
    streaks, JPEG re-compression, 1-bit threshold."""
    img = marked.image
    dpi = marked.clean.dpi
    if abs(dpi - settings.dpi) > 1e-6:
        raise ValueError(f"the page was rendered at {dpi} dpi but the scan settings say {settings.dpi}")
    s = px_per_mm(dpi)
    for f in settings.folds:
        img = fold(img, (f.p0[0] * s, f.p0[1] * s), (f.p1[0] * s, f.p1[1] * s), f.width_mm * s, f.depth)
    h, w = img.shape
    to_px = page_to_pixels(dpi)
    if settings.phone is not None:
        ph = settings.phone
        cw, ch = ph.canvas
        corners = np.array(ph.corners, dtype=np.float64) * [cw, ch]
        table = table_background((cw, ch), rng, ph.table)
        img, m = perspective(img, corners, (cw, ch), table)
        img = apply_lighting(img, lighting_field((cw, ch), ph.lighting[0], ph.lighting[1], ph.lighting[2], ph.shadow))
    else:
        ml, mt, mr, mb = (v * s for v in settings.margin_mm)
        out_w, out_h = int(round(w + ml + mr)), int(round(h + mt + mb))
        m = (shift_matrix(ml + settings.shift_mm[0] * s, mt + settings.shift_mm[1] * s)
             @ skew_matrix((w, h), settings.skew_deg) @ stretch_matrix((w, h), *settings.stretch))
        if not np.allclose(m, np.eye(3)) or (out_w, out_h) != (w, h):
            img = warp(img, m, (out_w, out_h), settings.background)
    img, r = rotate_quarter(img, settings.rotation)
    homography = r @ m @ to_px
    img = blur(img, settings.blur_px)
    img = sensor_noise(img, settings.noise, rng)
    black, white, gamma = settings.tone  # after the noise: a white point above 255 clips paper noise
    if (black, white, gamma) != (0.0, 255.0, 1.0):
        img = contrast(img, black, white, gamma)
    for st in settings.streaks:
        img = vertical_streak(img, st.x * img.shape[1], st.width_px * dpi / 200, st.level, st.strength)
    if settings.recompress is not None:
        img = jpeg_artifacts(img, settings.recompress)
    if settings.threshold is not None:
        kind, a, b = settings.threshold
        img = binarize(img, a) if kind == "fixed" else binarize_adaptive(img, int(a * s), b)
    if img is marked.image:
        img = img.copy()
    return ScanImage(img, float(settings.file_dpi or dpi), settings.bilevel, settings.rotation, homography, settings)


# ---------------------------------------------------------------------------------------------
# 8. Expected reads
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ExpectedBox:
    contest: str
    row: str
    option: str
    expected: str  # marked | blank | ambiguous
    kind: str  # the mark kind drawn, "none" when the box got no ink
    flags: tuple[str, ...] = ()  # "streak" / "fold": a scanner streak or a crease crosses the box

    def accepts(self, state: str) -> bool:
        """Whether a read state (marked | marginal | blank) is correct for this box."""
        if self.expected == MARKED:
            return state in ("marked", "marginal")
        if self.expected == BLANK:
            return state in ("blank", "marginal")
        return state in ("marked", "marginal", "blank")

    def is_flip(self, state: str) -> bool:
        """A vote read as no vote, or no vote read as a vote: must never happen."""
        return (self.expected == MARKED and state == "blank") or (self.expected == BLANK and state == "marked")


@dataclass(frozen=True)
class ExpectedRow:
    contest: str
    row: str  # person id (confidence) or the contest id (choose, yes/no)
    status: str  # valid | invalid | review: what a careful reader says (ambiguous marks -> review)
    acceptable: tuple[str, ...]  # every status a correct reader may give (review is always among them)
    reasons: tuple[str, ...]  # no_mark | overvote | undervote | crossed_name | ambiguous_mark
    intended: tuple[str, ...]  # options the voter marked (boxes expected "marked")


@dataclass(frozen=True)
class ExpectedPage:
    """What a correct reader says about one page written to a file."""

    id: str  # unique in the set: "<sheet>" or "<sheet>-rescan<n>"
    sheet: str  # the physical sheet: two scans of one sheet share it
    ballot: str  # the ballot copy (pages of a multi-page ballot share it)
    file: str  # path relative to the set's folder ("" until packed)
    page: int  # 1-based page within the file (0 until packed)
    template: str | None  # None: not issued by the committee (unknown fingerprint)
    fingerprint: str
    template_page: int
    page_count: int
    test: bool
    serial: int | None
    rotation: int  # 0, 90, 180, 270 clockwise
    dpi: float  # resolution written in the file
    bilevel: bool
    profile: str
    homography: tuple[float, ...]  # 3x3 row-major: page mm -> pixels of the stored image
    status: str  # ok | review | rejected: what a careful reader says
    acceptable: tuple[str, ...]  # sheet statuses a correct reader may give
    review_required: bool  # the sheet must not pass as "ok"
    flags: tuple[str, ...]  # blank_sheet, extra_writing, signature, crossed_name, streak, fold,
    #                         damaged_fiducial, duplicate, foreign, stamp_unseen (a 1-bit scan lost the stamp)
    behaviours: tuple[str, ...]
    pen: str
    damaged_fiducial: str | None
    duplicate_of: str | None  # id of the first page written from the same sheet
    boxes: tuple[ExpectedBox, ...]
    rows: tuple[ExpectedRow, ...]
    scan: dict[str, Any] = field(default_factory=dict)  # the ScanSettings used, as plain data
    stamp: str = ""  # cross-out ballots: present | absent (what was pressed; a 1-bit scan may not show it)
    verdict: str = ""  # cross-out ballots: valid | invalid | review, by the rules on what the voter did

    def to_json(self) -> dict[str, Any]:
        d = asdict(self)
        d["boxes"] = [asdict(b) for b in self.boxes]
        d["rows"] = [asdict(r) for r in self.rows]
        for key in ("stamp", "verdict"):  # only cross-out ballots have them: other sets keep their bytes
            if not d[key]:
                del d[key]
        return d

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> ExpectedPage:
        d = dict(d)
        d["boxes"] = tuple(ExpectedBox(**{**b, "flags": tuple(b.get("flags", ()))}) for b in d["boxes"])
        d["rows"] = tuple(ExpectedRow(**{**r, "acceptable": tuple(r["acceptable"]), "reasons": tuple(r["reasons"]),
                                         "intended": tuple(r["intended"])}) for r in d["rows"])
        for k in ("homography", "acceptable", "flags", "behaviours"):
            d[k] = tuple(d[k])
        return cls(**d)

    def box(self, contest: str, row: str, option: str) -> ExpectedBox:
        for b in self.boxes:
            if (b.contest, b.row, b.option) == (contest, row, option):
                return b
        raise KeyError((contest, row, option))


@dataclass
class ExpectedSet:
    """Every page of a simulated set: what expected.json holds.

    expected.json: {"format": "ballot-omr-expected", "version": 1, "seed", "generator": {...},
    "files": [{"path", "format", "pages", "bytes", "encodings"}], "pages": [ExpectedPage as a dict,
    with "boxes": [{"contest", "row", "option", "expected", "kind", "flags"}] and "rows":
    [{"contest", "row", "status", "acceptable", "reasons", "intended"}]]}. Paths are relative to the
    folder of expected.json; pages are 1-based within their file. Compare reads with
    :func:`check_reads`."""

    seed: int
    pages: list[ExpectedPage] = field(default_factory=list)
    files: list[dict[str, Any]] = field(default_factory=list)  # path, format, pages, bytes
    generator: dict[str, Any] = field(default_factory=dict)  # how the set was made (arguments)

    def to_json(self) -> dict[str, Any]:
        return {"format": EXPECTED_FORMAT, "version": EXPECTED_VERSION, "seed": self.seed,
                "generator": self.generator, "files": self.files, "pages": [p.to_json() for p in self.pages]}

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> ExpectedSet:
        if d.get("format") != EXPECTED_FORMAT:
            raise ValueError(f"not a {EXPECTED_FORMAT} file")
        if d.get("version") != EXPECTED_VERSION:
            raise ValueError(f"unsupported {EXPECTED_FORMAT} version {d.get('version')}")
        return cls(d["seed"], [ExpectedPage.from_json(p) for p in d["pages"]], list(d.get("files", [])),
                   dict(d.get("generator", {})))

    def save(self, path: str | Path) -> None:
        Path(path).write_text(dumps_expected(self.to_json()), encoding="utf-8")

    @classmethod
    def load(cls, path: str | Path) -> ExpectedSet:
        return cls.from_json(json.loads(Path(path).read_text(encoding="utf-8")))

    def find(self, file: str, page: int) -> ExpectedPage | None:
        for p in self.pages:
            if p.file == file and p.page == page:
                return p
        return None


def dumps_expected(obj: Any, indent: int = 0) -> str:
    """JSON with one line per box, row and small object: diffable and still compact."""
    pad = " " * indent
    if isinstance(obj, dict) and obj and not _small(obj):
        items = [f'{pad} {json.dumps(k)}: {dumps_expected(v, indent + 1).lstrip()}' for k, v in obj.items()]
        return pad + "{\n" + ",\n".join(items) + "\n" + pad + "}"
    if isinstance(obj, list) and obj and not _small(obj):
        return pad + "[\n" + ",\n".join(dumps_expected(v, indent + 1) for v in obj) + "\n" + pad + "]"
    return pad + json.dumps(obj, ensure_ascii=False, separators=(", ", ": "))


def _small(obj: Any) -> bool:
    values = obj.values() if isinstance(obj, dict) else obj
    flat = all(not isinstance(v, (dict, list))
               or (isinstance(v, list) and all(not isinstance(x, (dict, list)) for x in v)) for v in values)
    return flat and len(json.dumps(obj)) <= 400


def row_outcome(contest: Contest, n_marked: int) -> tuple[str, tuple[str, ...]]:
    """Status and reasons of a row with ``n_marked`` boxes read as marked (no marginal ones):
    confidence rows need exactly one mark (QĐ 96); choose and yes/no follow min/max."""
    lo, hi = (1, 1) if contest.kind == "confidence" else (contest.min_marks, contest.max_marks)
    if n_marked > hi:
        return INVALID, ("overvote",)
    if n_marked < lo:
        return INVALID, ("no_mark",) if n_marked == 0 else ("undervote",)
    return VALID, ()


def expected_rows(page: PageLayout, contests: dict[str, Contest], classes: dict[tuple[str, str, str], str],
                  crossed: Sequence[tuple[str, str]]) -> tuple[ExpectedRow, ...]:
    """Each row's expected status from its boxes' expected classes (boxes not in ``classes`` are
    blank) and the struck-through names."""
    out = []
    for cid, rid, opts in page_rows(page):
        contest = contests[cid]
        row_classes = [classes.get((cid, rid, o), BLANK) for o in opts]
        intended = tuple(o for o, c in zip(opts, row_classes) if c == MARKED)
        n, amb = len(intended), row_classes.count(AMBIGUOUS)
        acceptable = {row_outcome(contest, k)[0] for k in range(n, n + amb + 1)} | {REVIEW}
        status, reasons = row_outcome(contest, n)
        if amb:
            status, reasons = REVIEW, reasons + ("ambiguous_mark",)
        if (cid, rid) in crossed:
            status, reasons, acceptable = INVALID, ("crossed_name",) + reasons, {INVALID, REVIEW}
        order = (VALID, INVALID, REVIEW)
        out.append(ExpectedRow(cid, rid, status, tuple(s for s in order if s in acceptable), reasons, intended))
    return tuple(out)


def _box_flags(page: PageLayout, scan: ScanImage) -> dict[tuple[str, str, str], tuple[str, ...]]:
    flags: dict[tuple[str, str, str], tuple[str, ...]] = {}
    st = scan.settings
    w = scan.pixels.shape[1]
    for b in page.boxes:
        f = []
        r = b.rect
        corners = np.array([[r.x, r.y, 1], [r.x + r.w, r.y, 1], [r.x + r.w, r.y + r.h, 1], [r.x, r.y + r.h, 1]]).T
        p = scan.homography @ corners
        xs = p[0] / p[2]
        for sk in st.streaks:
            x = sk.x * w
            if xs.min() - sk.width_px <= x <= xs.max() + sk.width_px:
                f.append("streak")
                break
        for fd in st.folds:
            (x0, y0), (x1, y1) = fd.p0, fd.p1
            dist = abs((x1 - x0) * (y0 - r.cy) - (x0 - r.cx) * (y1 - y0)) / math.hypot(x1 - x0, y1 - y0)
            if dist < r.w / 2 * math.sqrt(2) + fd.width_mm:
                f.append("fold")
                break
        flags[(b.contest_id, b.row_id, b.option_id)] = tuple(f)
    return flags


INK_LOST_SHARE = 0.03  # a marked box whose interior keeps less clearly-dark ink than this is "ink_lost"


def _box_pixels(image: np.ndarray, homography: np.ndarray, rect: Rect) -> np.ndarray:
    """The pixels of the axis-aligned bounds of ``rect`` (page mm) mapped into ``image``."""
    r = rect
    corners = np.array([[r.x, r.y, 1], [r.x + r.w, r.y, 1], [r.x + r.w, r.y + r.h, 1], [r.x, r.y + r.h, 1]]).T
    p = homography @ corners
    xs, ys = p[0] / p[2], p[1] / p[2]
    h, w = image.shape
    x0, x1 = max(0, int(math.ceil(xs.min()))), min(w, int(math.floor(xs.max())) + 1)
    y0, y1 = max(0, int(math.ceil(ys.min()))), min(h, int(math.floor(ys.max())) + 1)
    return image[y0:y1, x0:x1]


def ink_share(image: np.ndarray, homography: np.ndarray, rect: Rect, dark: float) -> float:
    """Share of a box interior's pixels clearly darker than the paper around the box (the 90th
    percentile of the box grown by 3 mm); ``dark`` is the image's ink level (its 2nd percentile)."""
    inner = _box_pixels(image, homography, rect.grow(-(BOX_LINE + 0.6)))
    around = _box_pixels(image, homography, rect.grow(3.0))
    if inner.size == 0 or around.size == 0:
        return 0.0
    paper = float(np.percentile(around, 90))
    threshold = paper - 0.2 * max(paper - dark, 40.0)
    return float(np.mean(inner < threshold))


SPECKS_OF_A_MARK = 3  # dark pixels left inside a 1-bit box: what a dissolved stroke leaves, a reader can see


def speck_pixels(image: np.ndarray, homography: np.ndarray, rect: Rect) -> int:
    """Dark pixels inside a box's interior on a 1-bit scan (an empty printed box has none); counted a
    little further in than a reader looks, so that what is counted here a reader sees too."""
    inner = _box_pixels(image, homography, rect.grow(-(BOX_LINE + 0.9)))
    return int(np.count_nonzero(inner < 128))


def ink_level(image: np.ndarray) -> float:
    return float(np.percentile(image[::7, ::7], 2))


def settings_json(settings: ScanSettings) -> dict[str, Any]:
    return json.loads(json.dumps(asdict(settings)))


def expected_page(marked: MarkedPage, scan: ScanImage, contests: dict[str, Contest], *, sheet: str, ballot: str,
                  page_id: str | None = None, duplicate_of: str | None = None, foreign: bool = False,
                  bare: ScanImage | None = None) -> ExpectedPage:
    """The expected read of one scanned page; `bare`: the same scan of the sheet without the voter's ink
    (Simulator.bare_scan), which says what of a 1-bit scan's strike shows at all."""
    clean, plan = marked.clean, marked.plan
    page = clean.layout
    marks = list(plan.marks) + [BoxMark(c, r, o, "printed") for c, r, o in clean.printed_marks]
    by_box = {(m.contest, m.row, m.option): m for m in marks}
    bflags = _box_flags(page, scan)
    boxes = []
    classes: dict[tuple[str, str, str], str] = {}
    dark_after = ink_level(scan.pixels)
    lost = False
    for b in page.boxes:
        key = (b.contest_id, b.row_id, b.option_id)
        kind = by_box[key].kind if key in by_box else "none"
        cls = MARK_KINDS[kind]
        f = bflags[key]
        if cls == MARKED and scan.bilevel:  # a vote the 1-bit threshold wiped out entirely: nobody can read it
            share = ink_share(scan.pixels, scan.homography, b.rect, dark_after)
            if share < INK_LOST_SHARE and speck_pixels(scan.pixels, scan.homography, b.rect) < SPECKS_OF_A_MARK:
                cls, f, lost = AMBIGUOUS, f + ("ink_lost",), True
        classes[key] = cls
        boxes.append(ExpectedBox(*key, cls, kind, f))
    rows = expected_rows(page, contests, classes, plan.crossed)
    verdict = ""
    if page.strike_cells:
        lost_strikes = {c.row_id for c in page.strike_cells if scan.bilevel and any(
            (cid, rid) == (c.contest_id, c.row_id) and kind != "none" for cid, rid, kind in plan.strikes)
            and (drawn_seen(marked, scan, c.rect) < STRIKE_SEEN_SHARE
                 or (bare is not None and ink_shown_mm2(scan, bare, c.rect.grow(STRIKE_SHOWN_REACH_MM),
                                                        marked.clean.dpi) < STRIKE_SHOWN_MM2))}
        strike_boxes = expected_strikes(page, plan, scan.bilevel, lost_strikes)
        boxes += strike_boxes
        verdict, rows = expected_crossout(contests[page.strike_cells[0].contest_id], strike_boxes, plan)
    elif page.stamp is not None:  # the agree style: one box per person, then the ballot's rules
        verdict, rows = expected_agree(contests[page.boxes[0].contest_id], page, classes, plan)
    flags = []
    inked = any(m.expected != BLANK for m in marks) or plan.crossed or plan.writing
    if not inked:
        flags.append("blank_sheet")
    if any(w in plan.writing for w in ("note", "added_name")) or plan.struck_texts:
        flags.append("extra_writing")
    if plan.struck_texts:
        flags.append("struck_text")
    if "signature" in plan.writing:
        flags.append("signature")
    if plan.crossed:
        flags.append("crossed_name")
    if scan.settings.streaks:
        flags.append("streak")
    if scan.settings.folds:
        flags.append("fold")
    if plan.damaged_fiducial:
        flags.append("damaged_fiducial")
    if lost:
        flags.append("ink_lost")
    if page.stamp is not None and plan.stamp == "pressed" and scan.bilevel and \
            drawn_seen(marked, scan, page.stamp) < STAMP_SEEN_SHARE:
        flags.append("stamp_unseen")  # the 1-bit threshold dropped the stamp out: nobody can tell from the scan
    if duplicate_of:
        flags.append("duplicate")
    if foreign:
        flags.append("foreign")
    if page.stamp is not None and "blank_sheet" in flags:
        flags.remove("blank_sheet")  # a cross-out ballot left untouched is a ballot: the rules judge it
    review_required = bool({"blank_sheet", "extra_writing", "crossed_name", "duplicate"} & set(flags))
    review_required |= verdict == REVIEW
    if foreign:
        status, acceptable, boxes, rows = SHEET_REJECTED, (SHEET_REJECTED,), [], ()
    elif review_required:
        status, acceptable = SHEET_REVIEW, (SHEET_REVIEW,)
    else:
        status = SHEET_REVIEW if any(r.status == REVIEW for r in rows) else SHEET_OK
        acceptable = (SHEET_OK, SHEET_REVIEW)
    return ExpectedPage(
        id=page_id or sheet, sheet=sheet, ballot=ballot, file="", page=0,
        template=None if foreign else clean.template_id, fingerprint=clean.fingerprint,
        template_page=page.number, page_count=page.count, test=clean.test, serial=clean.serial,
        rotation=scan.rotation, dpi=scan.dpi, bilevel=scan.bilevel, profile=scan.settings.profile,
        homography=tuple(round(float(v), 6) for v in scan.homography.ravel()), status=status,
        acceptable=acceptable, review_required=review_required or foreign, flags=tuple(flags),
        behaviours=plan.behaviours, pen=plan.pen, damaged_fiducial=plan.damaged_fiducial, duplicate_of=duplicate_of,
        boxes=tuple(boxes), rows=rows, scan=settings_json(scan.settings),
        stamp="" if page.stamp is None else ("absent" if plan.stamp == "missing" else "present"), verdict=verdict)


def drawn_seen(marked: MarkedPage, scan: ScanImage, zone: Rect) -> float:
    """Share of what was drawn in a zone (where the marked sheet is darker than the printed one) that a
    1-bit scan still shows black: a red stamp or a light ballpoint may vanish under the threshold."""
    s = marked.clean.px_per_mm
    x0, y0, x1, y1 = rect_to_pixels(zone, marked.clean.dpi)
    before = marked.clean.image[y0:y1, x0:x1].astype(np.int16)
    after = marked.image[y0:y1, x0:x1].astype(np.int16)
    ys, xs = np.nonzero(after < before - 40)
    if len(xs) == 0:
        return 0.0
    pick = np.linspace(0, len(xs) - 1, min(len(xs), 3000)).astype(int)
    mm = np.column_stack([(xs[pick] + x0 + 0.5) / s, (ys[pick] + y0 + 0.5) / s, np.ones(len(pick))])
    p = scan.homography @ mm.T
    u, v = np.rint(p[0] / p[2]).astype(int), np.rint(p[1] / p[2]).astype(int)
    h, w = scan.pixels.shape
    inside = (u >= 0) & (u < w) & (v >= 0) & (v < h)
    if not inside.any():
        return 0.0
    return float(np.mean(scan.pixels[v[inside], u[inside]] < 128))


STRIKE_SEEN_SHARE = 0.5  # a 1-bit scan that kept less of a strike's pixels than this lost it: nobody can read it
STRIKE_SHOWN_MM2 = 1.0  # or one that changed less than this of the scan (ink_shown_mm2): a line drawn along a
#                         thick printed border, or a small tick over bold letters, keeps its pixels black and
#                         yet the scan shows no more than a bump of a pixel here and there
STRIKE_SHOWN_REACH_MM = 1.0  # looked for this far round the name's cell: a line along its rule shows beside it


def ink_shown_mm2(scan: ScanImage, bare: ScanImage, zone: Rect, dpi: float) -> float:
    """How much of a zone (page mm) is black on a 1-bit scan and white on the same scan of the sheet without the
    voter's ink (`bare`: same placement, blur, noise and threshold), in mm2 at `dpi`: all that the ink shows."""
    s = px_per_mm(dpi)
    x0, y0, x1, y1 = rect_to_pixels(zone, dpi)
    ys, xs = np.mgrid[y0:y1, x0:x1]
    p = scan.homography @ np.vstack([(xs.ravel() + 0.5) / s, (ys.ravel() + 0.5) / s, np.ones(xs.size)])
    u, v = np.rint(p[0] / p[2]).astype(np.int64), np.rint(p[1] / p[2]).astype(np.int64)
    h, w = scan.pixels.shape
    inside = (u >= 0) & (u < w) & (v >= 0) & (v < h)
    at = np.unique(v[inside] * w + u[inside])  # each scan pixel once
    shown = (scan.pixels.ravel()[at] < 128) & (bare.pixels.ravel()[at] >= 128)
    return float(shown.sum()) / (s * s)


def expected_strikes(page: PageLayout, plan: SheetPlan, bilevel: bool, lost: set[str] | frozenset = frozenset()
                     ) -> list[ExpectedBox]:
    """One expected "box" per candidate (option "struck"): struck (marked), not struck (blank) or
    unclear (ambiguous). A line between two names makes both unclear; light pencil on a 1-bit scan
    may be gone, and so may any stroke the 1-bit threshold dropped (`lost`: those rows)."""
    kinds = {(c, r): k for c, r, k in plan.strikes}
    cells = list(page.strike_cells)
    out = []
    for i, cell in enumerate(cells):
        kind = kinds.get((cell.contest_id, cell.row_id), "none")
        cls = STRIKE_KINDS[kind]
        above = kinds.get((cells[i - 1].contest_id, cells[i - 1].row_id)) if i else None
        flags: tuple[str, ...] = ()
        if above == "between" and cls == BLANK:
            cls, flags = AMBIGUOUS, ("between_above",)
        if (kind == "pencil" and bilevel) or (cell.row_id in lost and cls != BLANK):
            cls, flags = AMBIGUOUS, ("ink_lost",)
        out.append(ExpectedBox(cell.contest_id, cell.row_id, "struck", cls, kind, flags))
    return out


def _crossout_verdict(contest: Contest, left: int, unclear: int, struck: int, plan: SheetPlan) -> str:
    """The rules (issue 14), written again from the text for the simulator's truth: valid, invalid or
    review. ``left`` counts names surely left, ``unclear`` the names nobody can call."""
    k, n = contest.seats, left + unclear + struck
    writing = bool(plan.writing)
    if contest.regime == "state":
        if plan.stamp == "missing":
            return INVALID
        if writing:
            return REVIEW
        if left > k:
            return INVALID
        if unclear:
            return REVIEW
        return INVALID if left == 0 else VALID
    if plan.stamp == "missing" or writing:
        return REVIEW
    if left > k:
        return INVALID
    if unclear:
        return REVIEW
    if left == 0 and n > k:
        return INVALID
    return VALID


def _verdict_rows(contest: Contest, verdict: str, reasons: tuple[str, ...], intended: dict[str, tuple[str, ...]]
                  ) -> tuple[ExpectedRow, ...]:
    acceptable = (verdict, REVIEW) if verdict != REVIEW else (VALID, INVALID, REVIEW)
    return tuple(ExpectedRow(contest.id, r, verdict, tuple(dict.fromkeys(acceptable)), reasons, intended.get(r, ()))
                 for r in contest.row_ids)


def expected_crossout(contest: Contest, boxes: Sequence[ExpectedBox], plan: SheetPlan
                      ) -> tuple[str, tuple[ExpectedRow, ...]]:
    left = sum(1 for b in boxes if b.expected == BLANK)
    unclear = sum(1 for b in boxes if b.expected == AMBIGUOUS)
    struck = sum(1 for b in boxes if b.expected == MARKED)
    verdict = _crossout_verdict(contest, left, unclear, struck, plan)
    intended = {b.row: ("struck",) for b in boxes if b.expected == MARKED}
    return verdict, _verdict_rows(contest, verdict, ("unclear_strike",) if unclear else (), intended)


def expected_agree(contest: Contest, page: PageLayout, classes: dict[tuple[str, str, str], str], plan: SheetPlan
                   ) -> tuple[str, tuple[ExpectedRow, ...]]:
    """The agree style: a name is left when only "Đồng ý" is marked; both or neither: no vote, still valid."""
    yes = contest.options[0].id
    left = unclear = struck = 0
    intended = {}
    for rid in contest.row_ids:
        row = {o.id: classes.get((contest.id, rid, o.id), BLANK) for o in contest.options}
        if AMBIGUOUS in row.values():
            unclear += 1
        elif row[yes] == MARKED and list(row.values()).count(MARKED) == 1:
            left += 1
        else:
            struck += 1
        intended[rid] = tuple(o for o, c in row.items() if c == MARKED)
    verdict = _crossout_verdict(contest, left, unclear, struck, plan)
    return verdict, _verdict_rows(contest, verdict, (), intended)


# ---------------------------------------------------------------------------------------------
# 9. Packing as scanners do: PDF (one image per page), multi-page TIFF, loose JPEG/PNG
# ---------------------------------------------------------------------------------------------


def encode_jpeg(pixels: np.ndarray, quality: int, dpi: float) -> bytes:
    """Baseline grey JPEG (JFIF with the resolution), as scanners write."""
    buf = io.BytesIO()
    Image.fromarray(pixels, "L").save(buf, "JPEG", quality=int(quality), dpi=(dpi, dpi), optimize=True)
    return buf.getvalue()


def encode_png(pixels: np.ndarray, dpi: float, bilevel: bool = False) -> bytes:
    buf = io.BytesIO()
    im = Image.fromarray(pixels > 127) if bilevel else Image.fromarray(pixels, "L")
    im.save(buf, "PNG", dpi=(dpi, dpi), optimize=False, compress_level=6)
    return buf.getvalue()


def encode_g4(pixels: np.ndarray) -> bytes:
    """The raw CCITT Group 4 stream of a 1-bit page (one strip), as a PDF CCITTFaxDecode filter
    stores it."""
    buf = io.BytesIO()
    Image.fromarray(pixels > 127).save(buf, "TIFF", compression="group4", strip_size=1 << 30)
    tif = Image.open(io.BytesIO(buf.getvalue()))
    offsets, counts = tif.tag_v2[273], tif.tag_v2[279]
    if len(offsets) != 1:
        raise RuntimeError("expected a single G4 strip")
    data = buf.getvalue()
    return data[offsets[0]: offsets[0] + counts[0]]


class PdfImageWriter:
    """A scanner-style PDF written page by page to a binary file: each page is one image
    XObject, grey JPEG (DCTDecode) or 1-bit CCITT G4 (CCITTFaxDecode), at its resolution. Memory
    stays flat whatever the number of pages; the bytes depend only on the pages (no dates)."""

    def __init__(self, out: io.BufferedIOBase | io.BytesIO, producer: str = "Ballot OMR scan simulator"):
        self.out = out
        self.pos = 0
        self.offsets: dict[int, int] = {}
        self.kids: list[int] = []
        self.next_id = 4  # 1 catalog, 2 pages, 3 info
        self._write(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
        self.producer = producer

    def _write(self, data: bytes) -> None:
        self.out.write(data)
        self.pos += len(data)

    def _obj(self, num: int, body: bytes, stream: bytes | None = None) -> None:
        self.offsets[num] = self.pos
        self._write(f"{num} 0 obj\n".encode() + body)
        if stream is not None:
            self._write(b"\nstream\n" + stream + b"\nendstream")
        self._write(b"\nendobj\n")

    def add_page(self, pixels: np.ndarray, dpi: float, bilevel: bool, jpeg_quality: int = 70) -> str:
        """Append one page; returns the image filter used."""
        h, w = pixels.shape
        if bilevel:
            data = encode_g4(pixels)
            params = (f"/BitsPerComponent 1 /Filter /CCITTFaxDecode /DecodeParms << /K -1 /Columns {w} "
                      f"/Rows {h} /BlackIs1 true >>")
            filt = "CCITTFaxDecode"
        else:
            data = encode_jpeg(pixels, jpeg_quality, dpi)
            params = "/BitsPerComponent 8 /Filter /DCTDecode"
            filt = "DCTDecode"
        page_id, content_id, image_id = self.next_id, self.next_id + 1, self.next_id + 2
        self.next_id += 3
        pw, ph = w * 72.0 / dpi, h * 72.0 / dpi
        self._obj(image_id, (f"<< /Type /XObject /Subtype /Image /Width {w} /Height {h} /ColorSpace /DeviceGray "
                             f"{params} /Length {len(data)} >>").encode(), data)
        content = f"q {pw:.4f} 0 0 {ph:.4f} 0 0 cm /Im0 Do Q".encode()
        self._obj(content_id, f"<< /Length {len(content)} >>".encode(), content)
        self._obj(page_id, (f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 {pw:.4f} {ph:.4f}] "
                            f"/Resources << /XObject << /Im0 {image_id} 0 R >> >> /Contents {content_id} 0 R >>"
                            ).encode())
        self.kids.append(page_id)
        return filt

    def close(self) -> None:
        kids = " ".join(f"{k} 0 R" for k in self.kids)
        self._obj(1, b"<< /Type /Catalog /Pages 2 0 R >>")
        self._obj(2, f"<< /Type /Pages /Kids [{kids}] /Count {len(self.kids)} >>".encode())
        self._obj(3, f"<< /Producer ({self.producer}) >>".encode())
        xref = self.pos
        size = self.next_id
        lines = [f"xref\n0 {size}\n", "0000000000 65535 f \n"]
        for num in range(1, size):
            lines.append(f"{self.offsets[num]:010d} 00000 n \n")
        self._write("".join(lines).encode())
        self._write(f"trailer\n<< /Size {size} /Root 1 0 R /Info 3 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode())


def pdf_from_images(pages: Sequence[ScanImage]) -> bytes:
    """A scanner-style PDF of the pages (grey as JPEG at each page's pack quality, 1-bit as G4)."""
    buf = io.BytesIO()
    writer = PdfImageWriter(buf)
    for p in pages:
        writer.add_page(p.pixels, p.dpi, p.bilevel, p.settings.pack_quality)
    writer.close()
    return buf.getvalue()


def tiff_from_images(pages: Sequence[ScanImage], compression: str = "group4", quality: int = 70) -> bytes:
    """A multi-page TIFF: ``group4`` (every page 1-bit), ``jpeg`` or ``deflate`` (grey)."""
    if compression == "group4":
        ims = [Image.fromarray(p.pixels > 127) for p in pages]
    elif compression in ("jpeg", "tiff_deflate", "deflate"):
        ims = [Image.fromarray(p.pixels, "L") for p in pages]
        compression = "tiff_deflate" if compression == "deflate" else compression
    else:
        raise ValueError(f"unknown TIFF compression {compression!r}")
    dpi = pages[0].dpi
    if any(abs(p.dpi - dpi) > 1e-6 for p in pages):
        raise ValueError("the pages of one TIFF share one resolution (Pillow writes one for all)")
    buf = io.BytesIO()
    extra = {"quality": int(quality)} if compression == "jpeg" else {}
    ims[0].save(buf, "TIFF", save_all=True, append_images=ims[1:], compression=compression, dpi=(dpi, dpi), **extra)
    return buf.getvalue()


# ---------------------------------------------------------------------------------------------
# 10. The simulator: ballots through voters and scanners, with their expected reads
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SimulatedPage:
    scan: ScanImage
    expected: ExpectedPage  # file "" and page 0 until written
    marked: MarkedPage  # the marked sheet, to scan it again


def foreign_template(template: Template) -> Template:
    """The same ballot with one word changed: its fingerprint is unknown to the committee (a sheet
    "not issued by the counting committee")."""
    header = replace(template.header, title=template.header.title + " .")
    return replace(template, header=header)


PAPER_KEY = 70_000_001  # the randomness of a sheet's paper: its own stream, apart from the voter's and scanner's


class Simulator:
    """Makes simulated pages from templates; holds the clean renders it made (per template, dpi and
    kind) so that each is rendered once. Every ballot's randomness comes from ``seed`` and the
    ballot's index alone: ballot i is the same whatever was made before it."""

    def __init__(self, templates: Sequence[Template], seed: int = DEFAULT_SEED):
        if not templates:
            raise ValueError("no templates")
        self.templates = list(templates)
        self.seed = int(seed)
        self._clean: dict[tuple[str, float, str], tuple[CleanPage, ...]] = {}
        self._contests = {t.id: {c.id: c for c in t.contests} for t in self.templates}

    def rng(self, *key: int) -> np.random.Generator:
        return np.random.default_rng([self.seed, *key])

    def clean(self, template: Template, dpi: float, kind: str = "official") -> tuple[CleanPage, ...]:
        """``kind``: official | test (test deck) | foreign (a sheet of an unknown template)."""
        key = (template.id, float(dpi), kind)
        if key not in self._clean:
            if kind == "test":
                self._clean[key] = test_deck_pages(template, dpi)
            elif kind == "foreign":
                self._clean[key] = clean_pages(foreign_template(template), dpi)
            else:
                self._clean[key] = clean_pages(template, dpi)
        return self._clean[key]

    def ballot(self, index: int, template: Template | None = None, profile: str = "office-scanner",
               behaviours: Sequence[str] | None = None, kinds: Sequence[str] | None = None, kind: str = "official",
               dpi: float | None = None, pages: Sequence[int] | None = None,
               overrides: dict[str, Any] | None = None) -> list[SimulatedPage]:
        """Ballot copy ``index``: every page (or the 1-based ``pages``) marked by one voter and scanned
        under ``profile``. ``kind``: official | test | foreign. ``overrides`` replace fields of the
        drawn ScanSettings (e.g. ``{"rotation": 90}``) on every page."""
        rng = self.rng(index)
        if template is None:
            template = self.templates[int(rng.integers(0, len(self.templates)))]
        contests = self._contests.get(template.id) or {c.id: c for c in template.contests}
        page_mm = template.paper_size_mm
        settings0 = draw_scan_settings(profile, rng, page_mm, dpi)
        cleans = self.clean(template, settings0.dpi, kind)
        if kind == "test":
            copies = len(cleans) // len(layout(template).pages)
            n_pages = len(cleans) // copies
            start = int(rng.integers(0, copies)) * n_pages
            cleans = cleans[start:start + n_pages]
        ballot_id = f"b{index:05d}"
        out = []
        for clean in cleans:
            if pages is not None and clean.layout.number not in pages:
                continue
            settings = settings0 if clean.layout.number == 1 else draw_scan_settings(profile, rng, page_mm,
                                                                                     settings0.dpi)
            if overrides:
                settings = replace(settings, **overrides)
            if kind == "test":
                plan = SheetPlan(("test_deck",), "black-gel", ())
            else:
                plan = plan_sheet(clean.layout, contests, rng, behaviours, kinds)
            paper = (index, clean.layout.number, PAPER_KEY)
            marked = replace(mark_sheet(clean, plan, rng, self.rng(*paper)), paper=paper)
            scanner = copy.deepcopy(rng)  # its state before the scan: the bare scan's noise is the same
            scan = scan_page(marked, settings, rng)
            sheet = f"{ballot_id}-{clean.layout.number}"
            exp = expected_page(marked, scan, contests, sheet=sheet, ballot=ballot_id, foreign=kind == "foreign",
                                bare=self.bare_scan(marked, settings, scanner))
            out.append(SimulatedPage(scan, exp, marked))
        return out

    def bare_scan(self, marked: MarkedPage, settings: ScanSettings, scanner: np.random.Generator) -> ScanImage | None:
        """The scan `settings` and `scanner` (the scan's random state, copied before it) make of the sheet
        without the voter's ink: on its own paper, placed, blurred, noised and thresholded alike. Only for a
        1-bit scan of names to strike, whose truth needs it (expected_page), and a sheet with its paper's keys."""
        if not (settings.bilevel and marked.clean.layout.strike_cells and marked.paper):
            return None
        sheet = paper_texture(marked.clean.image, marked.clean.dpi, self.rng(*marked.paper))
        return scan_page(replace(marked, image=sheet), settings, scanner)

    def rescan(self, page: SimulatedPage, profile: str, key: int) -> SimulatedPage:
        """The same marked sheet through the scanner again (new noise, placement, maybe profile):
        flagged as a duplicate of the first scan."""
        rng = self.rng(1_000_000 + key)
        settings = draw_scan_settings(profile, rng, (page.marked.clean.layout.width, page.marked.clean.layout.height),
                                      page.marked.clean.dpi)
        scanner = copy.deepcopy(rng)
        scan = scan_page(page.marked, settings, rng)
        contests = self._contests[page.marked.clean.template_id]
        exp = expected_page(page.marked, scan, contests, sheet=page.expected.sheet, ballot=page.expected.ballot,
                            page_id=f"{page.expected.sheet}-rescan{key}", duplicate_of=page.expected.id,
                            bare=self.bare_scan(page.marked, settings, scanner))
        return SimulatedPage(scan, exp, page.marked)

    def pages(self, count: int, profiles: Sequence[str] = PROFILE_NAMES, start: int = 0,
              behaviours: Sequence[str] | None = None) -> Iterator[SimulatedPage]:
        """``count`` pages from ballots start, start+1, ...: templates taken in turn, and profiles in
        turn after each round of templates (so every template meets every profile)."""
        made = 0
        index = start
        while made < count:
            template = self.templates[index % len(self.templates)]
            profile = profiles[(index // len(self.templates)) % len(profiles)]
            for p in self.ballot(index, template, profile, behaviours):
                if made >= count:
                    return
                yield p
                made += 1
            index += 1


def write_pages(pages: Iterable[SimulatedPage], folder: str | Path, name: str, fmt: str) -> tuple[list[ExpectedPage],
                                                                                                   dict[str, Any]]:
    """Write pages into one file ``folder/name`` and return their expected records (file and page
    filled in) and the file's entry for expected.json.

    ``fmt``: ``pdf`` (each page JPEG or G4 as its scan is grey or 1-bit), ``tiff-g4``,
    ``tiff-jpeg``, ``jpeg`` or ``png`` (one page)."""
    folder = Path(folder)
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    pages = list(pages)
    records = []
    filters: list[str] = []
    if fmt == "pdf":
        with open(path, "wb") as fh:
            writer = PdfImageWriter(fh)
            for p in pages:
                filters.append(writer.add_page(p.scan.pixels, p.scan.dpi, p.scan.bilevel, p.scan.settings.pack_quality))
            writer.close()
    elif fmt in ("tiff-g4", "tiff-jpeg"):
        if fmt == "tiff-g4" and not all(p.scan.bilevel for p in pages):
            raise ValueError("a G4 TIFF holds 1-bit pages only")
        scans = [p.scan for p in pages]
        path.write_bytes(tiff_from_images(scans, "group4" if fmt == "tiff-g4" else "jpeg",
                                          scans[0].settings.pack_quality))
        filters = ["CCITT-G4" if fmt == "tiff-g4" else "JPEG"] * len(pages)
    elif fmt in ("jpeg", "png"):
        if len(pages) != 1:
            raise ValueError(f"a {fmt} file holds one page")
        s = pages[0].scan
        if fmt == "jpeg":
            path.write_bytes(encode_jpeg(s.pixels, s.settings.pack_quality, s.dpi))
        else:
            path.write_bytes(encode_png(s.pixels, s.dpi, s.bilevel))
        filters = [fmt.upper()]
    else:
        raise ValueError(f"unknown format {fmt!r}")
    rel = path.relative_to(folder).as_posix()
    for i, p in enumerate(pages, start=1):
        records.append(replace(p.expected, file=rel, page=i))
    entry = {"path": rel, "format": fmt, "pages": len(pages), "bytes": path.stat().st_size,
             "encodings": sorted(set(filters))}
    return records, entry


# ---------------------------------------------------------------------------------------------
# 11. Comparing a reader's output with the expected reads
# ---------------------------------------------------------------------------------------------


@dataclass
class PageCheck:
    """One page's read (the ``omr scan --json`` sheet object) against its expected record."""

    expected: ExpectedPage
    status: str | None = None  # the sheet status read; None: the page was not in the reads
    boxes: int = 0  # boxes read
    flips: int = 0
    marginal: int = 0
    missing_boxes: int = 0  # expected boxes absent from the read (rejected sheets: all)
    row_errors: int = 0  # rows whose status is not acceptable
    sheet_error: bool = False  # status not acceptable, wrong template, rotation or test flag
    states: dict[tuple[str, str, str], str] = field(default_factory=dict)  # box -> state read
    problems: list[str] = field(default_factory=list)


def check_page(expected: ExpectedPage, sheet: dict[str, Any]) -> PageCheck:
    """Compare one sheet of ``omr scan --json`` output (or SheetRead.to_json()) with its record."""
    chk = PageCheck(expected, status=sheet.get("status"))
    if chk.status not in expected.acceptable:
        chk.sheet_error = True
        chk.problems.append(f"sheet status {chk.status!r}, acceptable: {'/'.join(expected.acceptable)}")
    if expected.template is not None and chk.status != SHEET_REJECTED:
        if sheet.get("template") != expected.template:
            chk.sheet_error = True
            chk.problems.append(f"template {sheet.get('template')!r}, expected {expected.template!r}")
        if sheet.get("rotation") is not None and sheet.get("rotation") != expected.rotation:
            chk.sheet_error = True
            chk.problems.append(f"rotation {sheet.get('rotation')}, expected {expected.rotation}")
        if "test" in sheet and bool(sheet["test"]) != expected.test:
            chk.sheet_error = True
            chk.problems.append(f"test flag {sheet['test']}, expected {expected.test}")
    read_rows: dict[tuple[str, str], dict[str, Any]] = {}
    for contest in sheet.get("contests") or []:
        for row in contest.get("rows") or []:
            read_rows[(contest["id"], row["id"])] = row
            for m in row.get("marks") or []:
                chk.states[(contest["id"], row["id"], m["option"])] = m["state"]
    for b in expected.boxes:
        state = chk.states.get((b.contest, b.row, b.option))
        if state is None:
            chk.missing_boxes += 1
            continue
        chk.boxes += 1
        if state == "marginal":
            chk.marginal += 1
        if b.is_flip(state):
            chk.flips += 1
            chk.problems.append(f"FLIP {b.contest}/{b.row}/{b.option}: {b.kind} ({b.expected}) read {state}")
    for r in expected.rows:
        row = read_rows.get((r.contest, r.row))
        if row is None:
            continue
        if row.get("status") not in r.acceptable:
            chk.row_errors += 1
            chk.problems.append(f"row {r.contest}/{r.row}: read {row.get('status')}, acceptable "
                                f"{'/'.join(r.acceptable)} ({', '.join(r.reasons) or 'one choice'})")
    return chk


@dataclass
class SetCheck:
    pages: list[PageCheck]
    missing_pages: list[ExpectedPage]  # expected pages with no read
    unexpected: list[str]  # reads matching no expected page ("source#page")
    duplicate_flips: list[str]  # boxes read marked in one scan of a sheet and blank in another

    def summary(self) -> dict[str, Any]:
        boxes = sum(p.boxes for p in self.pages)
        marginal = sum(p.marginal for p in self.pages)
        return {
            "pages_expected": len(self.pages) + len(self.missing_pages),
            "pages_read": len(self.pages),
            "boxes_read": boxes,
            "flips": sum(p.flips for p in self.pages),
            "duplicate_flips": len(self.duplicate_flips),
            "marginal": marginal,
            "marginal_rate": round(marginal / boxes, 5) if boxes else 0.0,
            "sheets_review": sum(1 for p in self.pages if p.status == SHEET_REVIEW),
            "sheets_rejected": sum(1 for p in self.pages if p.status == SHEET_REJECTED),
            "sheets_wrong": sum(1 for p in self.pages if p.sheet_error),
            "rows_wrong": sum(p.row_errors for p in self.pages),
            "missing_pages": len(self.missing_pages),
            "unexpected_reads": len(self.unexpected),
        }


def _source_key(source: str, files: set[str]) -> str | None:
    src = Path(source).as_posix()
    parts = src.split("/")
    for i in range(len(parts)):
        cand = "/".join(parts[i:])
        if cand in files:
            return cand
    return None


def check_reads(expected: ExpectedSet, sheets: Iterable[dict[str, Any]]) -> SetCheck:
    """Compare every sheet of a reader's output with expected.json; sources are matched to
    expected files by their trailing path components."""
    by_key = {(p.file, p.page): p for p in expected.pages}
    files = {p.file for p in expected.pages}
    checks: dict[tuple[str, int], PageCheck] = {}
    unexpected = []
    for sheet in sheets:
        f = _source_key(str(sheet.get("source", "")), files)
        key = (f, int(sheet.get("page", 0))) if f is not None else None
        if key is None or key not in by_key:
            unexpected.append(f"{sheet.get('source')}#{sheet.get('page')}")
            continue
        checks[key] = check_page(by_key[key], sheet)
    missing = [p for k, p in by_key.items() if k not in checks]
    # the same sheet read twice must not flip between marked and blank, whatever the box
    dup_flips = []
    by_sheet: dict[str, list[PageCheck]] = {}
    for c in checks.values():
        by_sheet.setdefault(c.expected.sheet, []).append(c)
    for sheet_id, group in by_sheet.items():
        if len(group) < 2:
            continue
        keys = set().union(*(c.states.keys() for c in group))
        for k in sorted(keys):
            states = {c.states.get(k) for c in group}
            if "marked" in states and "blank" in states:
                dup_flips.append(f"{sheet_id}: {'/'.join(k)} read marked and blank")
    return SetCheck(list(checks.values()), missing, unexpected, dup_flips)
