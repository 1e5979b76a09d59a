"""Looking beyond the boxes: crossed-out names, writing outside the boxes, streaks, folds, blur.

Everything here compares the registered scan with the blank ballot as printed (the reference, a
render of the generated PDF): ink the reference does not have is the voter's, or the scanner's.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from omr.identify import upright_patch
from omr.layout import NameCell, PageLayout, Rect
from omr.marks import NOISE_FLOOR, InkLevels

PAGE_PX_PER_MM = 4.0  # the whole-page check runs at ~100 dpi
NAME_PX_PER_MM = 8.0
NEW_INK = 0.35  # darkness (after the noise floor) that counts as ink
PAGE_BORDER_MM = 4.0  # scanner edges and shadows: not looked at
MIN_WRITING_MM2 = 4.0  # less ink than this in one place is a speck, not writing
STRIKE_COVERAGE = 0.55  # share of a printed name's width a line must cover to cross it out
LINE_ARTEFACT_SPAN = 0.5  # a thin straight component spanning this share of the page: streak or fold


@dataclass(frozen=True)
class PageReference:
    """The blank page as printed, prepared once per template page."""

    coarse: np.ndarray  # grey at PAGE_PX_PER_MM
    fine: np.ndarray  # grey at NAME_PX_PER_MM
    not_voter_ink: np.ndarray  # bool at PAGE_PX_PER_MM: printed (grown) or ignored zones


def page_reference(pl: PageLayout, coarse: np.ndarray, fine: np.ndarray) -> PageReference:
    printed = cv2.dilate((coarse < 200).astype(np.uint8), np.ones((5, 5), np.uint8)) > 0
    return PageReference(coarse, fine, printed | ignore_mask(pl, coarse.shape, PAGE_PX_PER_MM))


@dataclass(frozen=True)
class Finding:
    code: str  # extra-writing | streak | crossed-out-name
    detail: str
    rect: Rect  # where, in page mm
    contest_id: str = ""
    row_id: str = ""


@dataclass(frozen=True)
class PageInspection:
    findings: tuple[Finding, ...]
    new_ink_mm2: float  # voter ink outside the boxes' zones, in mm^2
    edge_width_mm: float  # blur: how wide a printed black-white edge is on the scan
    contrast: float  # paper white minus printed black, in grey levels


def _rect_px(r: Rect, s: float) -> tuple[int, int, int, int]:
    return int(np.floor(r.x * s)), int(np.floor(r.y * s)), int(np.ceil((r.x + r.w) * s)), int(np.ceil((r.y + r.h) * s))


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


def new_ink(scan: np.ndarray, reference: np.ndarray, levels: InkLevels, grow_px: int) -> np.ndarray:
    """Ink on the scan where the blank ballot (grey, 0-255, grown by `grow_px`) has none."""
    printed = reference < 200
    if grow_px:
        printed = cv2.dilate(printed.astype(np.uint8), np.ones((2 * grow_px + 1, 2 * grow_px + 1), np.uint8)) > 0
    return (scan < ink_level(levels)) & ~printed


def _best_lag(a: np.ndarray, b: np.ndarray, max_lag: int) -> int:
    """The shift of profile `a` that best matches profile `b` (both 1-D, same length)."""
    a = a - a.mean()
    b = b - b.mean()
    best, best_value = 0, -np.inf
    n = a.size
    for lag in sorted(range(-max_lag, max_lag + 1), key=abs):
        if lag >= 0:
            value = float(np.dot(a[lag:], b[: n - lag]))
        else:
            value = float(np.dot(a[: n + lag], b[-lag:]))
        if value > best_value + 1e-9:
            best, best_value = lag, value
    return best


def crossed_out(gray: np.ndarray, homography: np.ndarray, cell: NameCell, reference: np.ndarray,
                levels: InkLevels) -> tuple[float, Rect]:
    """Share of the printed name's width covered by new ink in the name's band, and the band."""
    s = NAME_PX_PER_MM
    band = Rect(cell.text_rect.x - 1.0, cell.text_rect.y - 0.6, cell.text_rect.w + 2.0, cell.text_rect.h + 1.2)
    margin = 1.0
    scan = upright_patch(gray, homography, band, s, margin_mm=margin)
    x0, y0, _, _ = _rect_px(band.grow(margin), s)
    ref = reference[y0:y0 + scan.shape[0], x0:x0 + scan.shape[1]]
    if ref.shape != scan.shape:
        return 0.0, band
    # Align the letters locally (paper stretch): 1-D profiles are enough for a text line.
    m = int(round(margin * s))
    scan_f, ref_f = 255.0 - scan.astype(np.float32), 255.0 - ref.astype(np.float32)
    dy = _best_lag(scan_f.sum(axis=1), ref_f.sum(axis=1), m - 1)
    dx = _best_lag(scan_f.sum(axis=0), ref_f.sum(axis=0), m - 1)
    scan = np.roll(scan, (-dy, -dx), axis=(0, 1))
    ink = new_ink(scan, ref, levels, grow_px=1)
    inner = ink[m:-m, m + int(s):-m - int(s)]  # the band over the letters, not the cell borders
    if inner.size == 0:
        return 0.0, band
    columns = inner.any(axis=0)
    return float(columns.mean()), band


def edge_width_mm(gray: np.ndarray, homography: np.ndarray, rect: Rect, px_per_mm: float) -> float:
    """Blur as the 10-90 % rise of a fiducial's outer left edge, in mm (sharp print: ~0.15 mm)."""
    patch = upright_patch(gray, homography, Rect(rect.x - 2.0, rect.y + 2.0, 4.0, rect.h - 4.0),
                          px_per_mm).astype(np.float32)
    profile = patch.mean(axis=0)
    hi, lo = float(profile[: max(2, profile.size // 4)].mean()), float(profile[-max(2, profile.size // 4):].mean())
    if hi - lo < 10:
        return float("inf")
    norm = (hi - profile) / (hi - lo)
    above10 = np.nonzero(norm > 0.1)[0]
    above90 = np.nonzero(norm > 0.9)[0]
    if not above10.size or not above90.size:
        return float("inf")
    return max(float(above90[0] - above10[0]), 1.0) / px_per_mm


def inspect_page(gray: np.ndarray, homography: np.ndarray, pl: PageLayout, reference: PageReference,
                 levels: InkLevels, native_px_per_mm: float) -> PageInspection:
    """Findings outside the boxes, against the blank page as printed."""
    s = PAGE_PX_PER_MM
    scan = upright_patch(gray, homography, Rect(0, 0, pl.width, pl.height), s)
    ink = ((scan < ink_level(levels)) & ~reference.not_voter_ink).astype(np.uint8)
    findings: list[Finding] = []
    count, stats = 1, np.zeros((1, 5), np.int32)
    if cv2.countNonZero(ink):
        count, _, stats, _ = cv2.connectedComponentsWithStats(ink, connectivity=8)
    px_mm2 = s * s
    writing_px = 0
    page_h, page_w = ink.shape
    name_rects = [c.rect for c in pl.name_cells]
    for i in range(1, count):
        x, y, w, h, area = (int(v) for v in stats[i])
        rect = Rect(round(x / s, 1), round(y / s, 1), round(w / s, 1), round(h / s, 1))
        thin = min(w, h) <= 3.0 * s
        if thin and (h >= LINE_ARTEFACT_SPAN * page_h or w >= LINE_ARTEFACT_SPAN * page_w):
            findings.append(Finding("streak", f"a straight line across the page at x={rect.x:.0f} mm, "
                                    f"y={rect.y:.0f} mm ({rect.w:.0f} x {rect.h:.0f} mm): scanner streak or fold",
                                    rect))
            continue
        if area / px_mm2 < MIN_WRITING_MM2:
            continue
        if any(_inside(rect, r) for r in name_rects):
            continue  # judged by the name check below
        writing_px += area
        findings.append(Finding("extra-writing", f"writing outside the boxes at x={rect.x:.0f} mm, y={rect.y:.0f} mm "
                                f"({rect.w:.0f} x {rect.h:.0f} mm)", rect))
    for cell in pl.name_cells:
        coverage, band = crossed_out(gray, homography, cell, reference.fine, levels)
        if coverage >= STRIKE_COVERAGE:
            findings.append(Finding("crossed-out-name", f"a line through the printed name ({coverage:.0%} of its "
                                    "width)", band, cell.contest_id, cell.row_id))
    blur = min(edge_width_mm(gray, homography, f.rect, min(native_px_per_mm, 12.0)) for f in pl.fiducials)
    # merge many pieces of the same writing into a few findings for people to read
    findings = _merge_writing(findings)
    return PageInspection(tuple(findings), round(writing_px / px_mm2, 1), round(blur, 3), round(levels.contrast, 1))


def _inside(a: Rect, b: Rect) -> bool:
    return a.x >= b.x - 0.5 and a.y >= b.y - 0.5 and a.x + a.w <= b.x + b.w + 0.5 and a.y + a.h <= b.y + b.h + 0.5


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
