"""Identification: read the page's QR code where the layout says it is, and decode the sheet code.

The registered transform gives the QR region, so it is resampled upright at a fixed resolution and
decoded in well under a millisecond (zxing-cpp, the only decoder measured to read 50 dpi pages);
the whole page is searched only when that fails.
"""

from __future__ import annotations

import cv2
import numpy as np
import zxingcpp

from omr.layout import Rect
from omr.sheetcode import SheetCode, decode_sheet_code

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
    if not texts:
        texts = _codes(gray, thorough=True)
    for text in texts:
        code = decode_sheet_code(text)
        if code is not None:
            return code, text
    return None, texts[0] if texts else ""
