"""Identification: read the page's QR code where the layout says it is, and decode the sheet code.

The registered transform gives the QR region, so it is resampled upright at a fixed resolution and
decoded in well under a millisecond (zxing-cpp, the only decoder measured to read 50 dpi pages);
the whole page is searched only when that fails.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import cv2
import numpy as np
import zxingcpp

from omr.ballot.layout import Rect
from omr.ballot.sheetcode import SheetCode, decode_sheet_code

QR_PX_PER_MM = 8.0
QUIET_MM = 4.0


def upright_patch(gray: np.ndarray, homography: np.ndarray, rect: Rect, px_per_mm: float,
                  margin_mm: float = 0.0, border_value: int = 255) -> np.ndarray:
    """A page region resampled upright at `px_per_mm` (perspective and rotation undone)."""
    r = rect.grow(margin_mm)
    from_patch = np.array([[1.0 / px_per_mm, 0.0, r.x], [0.0, 1.0 / px_per_mm, r.y], [0.0, 0.0, 1.0]])
    size = (int(round(r.w * px_per_mm)), int(round(r.h * px_per_mm)))
    return cv2.warpPerspective(gray, homography @ from_patch, size,
                               flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                               borderMode=cv2.BORDER_CONSTANT, borderValue=border_value)


def upright_patches(gray: np.ndarray, homography: np.ndarray, rects: Sequence[Rect], px_per_mm: float,
                    margin_mm: float = 0.0, border_value: int = 255) -> list[np.ndarray]:
    """upright_patch of each region, to the bit: their transforms made in one matrix product (a third of
    the cost of a box's small patch was building its own)."""
    grown = [rect.grow(margin_mm) for rect in rects]
    from_patch = np.zeros((len(grown), 3, 3))
    from_patch[:, 0, 0] = from_patch[:, 1, 1] = 1.0 / px_per_mm
    from_patch[:, 0, 2] = [r.x for r in grown]
    from_patch[:, 1, 2] = [r.y for r in grown]
    from_patch[:, 2, 2] = 1.0
    return [cv2.warpPerspective(gray, transform, (int(round(r.w * px_per_mm)), int(round(r.h * px_per_mm))),
                                flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP, borderMode=cv2.BORDER_CONSTANT,
                                borderValue=border_value)
            for transform, r in zip(homography @ from_patch, grown)]


def _codes(image: np.ndarray, thorough: bool) -> list[str]:
    results = zxingcpp.read_barcodes(image, formats=zxingcpp.BarcodeFormat.QRCode, try_rotate=thorough,
                                     try_downscale=thorough, try_invert=False)
    return [r.text for r in results if r.valid]


def read_sheet_code(gray: np.ndarray, homography: np.ndarray | None, qr_rect: Rect,
                    px_per_mm: float) -> tuple[SheetCode | None, str]:
    """The sheet code and the raw text read ('' when no QR code was found)."""
    texts: list[str] = []
    if homography is not None:
        scale = min(QR_PX_PER_MM, max(px_per_mm, 3.0))
        patch = upright_patch(gray, homography, qr_rect, scale, QUIET_MM)
        texts = _codes(patch, thorough=False) or _codes(patch, thorough=True)
        if not texts:  # blurred or 1-bit jagged: a sharper binarisation sometimes helps
            _, binary = cv2.threshold(patch, 0, 255, cv2.THRESH_BINARY | cv2.THRESH_OTSU)
            texts = _codes(binary, thorough=True)
        # a scanner streak across the code: remove thin light (then dark) lines along either axis
        for op, kernel in itertools.product((cv2.MORPH_OPEN, cv2.MORPH_CLOSE), ((1, 5), (5, 1))):
            if texts:
                break
            texts = _codes(cv2.morphologyEx(patch, op, np.ones(kernel, np.uint8)), thorough=True)
    if not texts:
        texts = _codes(gray, thorough=True)
    for text in texts:
        code = decode_sheet_code(text)
        if code is not None:
            return code, text
    return None, texts[0] if texts else ""


MATCH_PX_PER_MM = 2.0
MIN_MATCH = 0.6  # normalised correlation of the printed page with the blank reference
MIN_MATCH_MARGIN = 0.1  # over the next best candidate


def match_printed_page(page: np.ndarray, references: dict[tuple[str, int], np.ndarray]
                       ) -> tuple[tuple[str, int] | None, float, float]:
    """Which blank page the registered scan shows, by its print alone (for a sheet whose QR code
    cannot be read): the best normalised correlation, and the runner-up's. All images upright at the
    same resolution; voter ink lowers every score alike."""
    def norm(a: np.ndarray) -> np.ndarray:
        a = a.astype(np.float32)
        a -= a.mean()
        return a / (np.linalg.norm(a) + 1e-6)

    scan = norm(page)
    scores = sorted(((float(np.sum(scan * norm(ref))), key) for key, ref in references.items()
                     if ref.shape == page.shape), reverse=True)
    if not scores:
        return None, 0.0, 0.0
    best, key = scores[0]
    second = scores[1][0] if len(scores) > 1 else 0.0
    if best < MIN_MATCH or best - second < MIN_MATCH_MARGIN:
        return None, round(best, 3), round(second, 3)
    return key, round(best, 3), round(second, 3)
