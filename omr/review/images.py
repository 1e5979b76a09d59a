"""Pictures for the reviewer: the registered sheet as the scan batch annotates it, zooms on the places
that raised a question, and the original scan as it came from the scanner.

Pixels are read again from the file the database names for the sheet, and used only if they are the
very pixels that were read (same image SHA-256): a file moved, replaced or edited since the scan is
refused with a clear message instead of showing something else.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np

from omr.ballot.layout import PageLayout, Rect
from omr.read.annotate import ANNOTATE_PX_PER_MM, COLOURS, FINDING, annotate
from omr.read.identify import upright_patch
from omr.read.pipeline import image_sha256
from omr.read.results import BLANK, SheetRead
from omr.scan.ingest import PageError, read_pages, text_path

ZOOM_PX_PER_MM = 9.0
ZOOM_MAX_PX = 1800
ORIGINAL_MAX_PX = 2400
HIGHLIGHT = (0, 200, 255)  # BGR: the row being decided


class ImageUnavailable(Exception):
    """The sheet cannot be shown: the message says why, for a person; `kind` says which case
    (missing, changed, unreadable, unaligned, encoding) so the screen can say what to do."""

    def __init__(self, message: str, kind: str = "unreadable"):
        super().__init__(message)
        self.kind = kind


class _Lru:
    def __init__(self, size: int):
        self.size = size
        self.items: OrderedDict = OrderedDict()
        self.lock = threading.Lock()

    def get(self, key, make: Callable):
        with self.lock:
            if key in self.items:
                self.items.move_to_end(key)
                return self.items[key]
        value = make()
        with self.lock:
            self.items[key] = value
            self.items.move_to_end(key)
            while len(self.items) > self.size:
                self.items.popitem(last=False)
        return value


class SheetImages:
    """Page pixels and rendered images, cached (a few pages, more encoded images)."""

    def __init__(self, base: Path | None = None, render_dpis: tuple[float, ...] = (200.0,),
                 max_megapixels: float = 60.0):
        self.base = base
        self.render_dpis = render_dpis or (200.0,)
        self.max_megapixels = max_megapixels
        self._pixels = _Lru(6)
        self._encoded = _Lru(96)

    def _candidates(self, source: str) -> list[Path]:
        p = Path(text_path(source))  # a name that is not UTF-8 is stored with \xNN escapes
        out = [p]
        if not p.is_absolute() and self.base is not None:
            out.append(self.base / p)
        return out

    def pixels(self, sheet_id: int, read: SheetRead) -> np.ndarray:
        """The page pixels exactly as read; ImageUnavailable when the file is gone or changed."""
        def load() -> np.ndarray:
            problem, kind = f"the scan file {read.source} is not found", "missing"
            for path in self._candidates(read.source):
                if not path.is_file():
                    continue
                for dpi in self.render_dpis:
                    items = list(read_pages(str(path), max_megapixels=self.max_megapixels, render_dpi=dpi,
                                            first=read.page, last=read.page))
                    page = next((x for x in items if not isinstance(x, PageError)), None)
                    if page is None:
                        errors = [x.message for x in items if isinstance(x, PageError)]
                        problem = f"{read.source} page {read.page} cannot be read again: " + "; ".join(errors)
                        kind = "unreadable"
                        break
                    if image_sha256(page.pixels) == read.image_sha256:
                        return page.pixels
                    problem = (f"{read.source} page {read.page} is no longer the page that was read (its pixels "
                               "differ): the file was replaced or edited after the scan")
                    kind = "changed"
            raise ImageUnavailable(problem, kind)  # not cached: the file may be put back

        return self._pixels.get(sheet_id, load)

    def png(self, key: tuple, make: Callable[[], np.ndarray]) -> bytes:
        def encode() -> bytes:
            ok, data = cv2.imencode(".png", make(), [cv2.IMWRITE_PNG_COMPRESSION, 3])
            if not ok:
                raise ImageUnavailable("the image could not be encoded", "encoding")
            return data.tobytes()
        return self._encoded.get(key, encode)

    # ---- the three pictures

    def registered(self, sheet_id: int, read: SheetRead, page: PageLayout) -> bytes:
        """The annotated registered page (omr.read.annotate), without its text panel: the screen says the
        reasons in words beside it. Its pixels are page mm x ANNOTATE_PX_PER_MM."""
        homography = _homography(read)

        def make() -> np.ndarray:
            image = annotate(self.pixels(sheet_id, read), homography, page, read)
            height = int(round(page.height * ANNOTATE_PX_PER_MM))
            return image[-height:]
        return self.png(("registered", sheet_id), make)

    def zoom(self, sheet_id: int, read: SheetRead, page: PageLayout, rect: Rect, index: int) -> bytes:
        """A place on the page, upright and enlarged, with the boxes in it outlined in their state's
        colour with their score, and what the machine found framed."""
        homography = _homography(read)

        def make() -> np.ndarray:
            s = min(ZOOM_PX_PER_MM, ZOOM_MAX_PX / max(rect.w, rect.h, 1.0))
            patch = upright_patch(self.pixels(sheet_id, read), homography, rect, s)
            out = cv2.cvtColor(patch, cv2.COLOR_GRAY2BGR)

            def px(r: Rect) -> tuple[tuple[int, int], tuple[int, int]]:
                return ((int((r.x - rect.x) * s), int((r.y - rect.y) * s)),
                        (int((r.x + r.w - rect.x) * s), int((r.y + r.h - rect.y) * s)))

            marks = {(m.contest_id, m.row_id, m.option_id): m for row in read.rows for m in row.marks}
            thick = max(2, int(s / 3))
            for box in page.boxes:
                m = marks.get((box.contest_id, box.row_id, box.option_id))
                if m is None:
                    continue
                r = Rect(box.rect.x + m.dx_mm, box.rect.y + m.dy_mm, box.rect.w, box.rect.h).grow(0.8)
                if r.x + r.w < rect.x or r.x > rect.x + rect.w or r.y + r.h < rect.y or r.y > rect.y + rect.h:
                    continue
                p0, p1 = px(r)
                colour = COLOURS[m.state]
                cv2.rectangle(out, p0, p1, colour, thick if m.state != BLANK else max(1, thick // 2))
                _plate(out, f"{m.score:.3f}", (p0[0], p0[1] - 4), colour, s / 14)
            for reason in list(read.reasons) + [x for row in read.rows for x in row.reasons]:
                if reason.where is not None:
                    p0, p1 = px(Rect(*reason.where))
                    cv2.rectangle(out, p0, p1, FINDING, thick)
            return out
        return self.png(("zoom", sheet_id, index), make)

    def original(self, sheet_id: int, read: SheetRead, upright: bool = False) -> bytes:
        """The page as scanned (as stored in the file: not aligned), at most ORIGINAL_MAX_PX on its
        longer side; `upright`: turned by the quarter turns the scanner gave it (pixels kept as they are),
        so that two scans of one sheet, fed different ways round, can be compared side by side."""
        def make() -> np.ndarray:
            pixels = self.pixels(sheet_id, read)
            if upright and read.registration is not None and read.registration.rotation:
                pixels = np.ascontiguousarray(np.rot90(pixels, read.registration.rotation // 90))
            longest = max(pixels.shape)
            if longest > ORIGINAL_MAX_PX:
                f = ORIGINAL_MAX_PX / longest
                pixels = cv2.resize(pixels, (int(pixels.shape[1] * f), int(pixels.shape[0] * f)),
                                    interpolation=cv2.INTER_AREA)
            return pixels
        return self.png(("original", sheet_id, upright), make)


def _homography(read: SheetRead) -> np.ndarray:
    if read.registration is None:
        raise ImageUnavailable("the sheet was never aligned (registered): only the original scan can be shown",
                               "unaligned")
    return np.array(read.registration.homography, dtype=np.float64).reshape(3, 3)


def _plate(out: np.ndarray, text: str, org: tuple[int, int], colour: tuple[int, int, int], scale: float) -> None:
    scale = max(0.45, min(scale, 1.2))
    (w, h), base = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, 1)
    x, y = org
    y = max(y, h + 2)
    cv2.rectangle(out, (x - 1, y - h - 2), (x + w + 1, y + base), (255, 255, 255), -1)
    cv2.putText(out, text, (x, y), cv2.FONT_HERSHEY_SIMPLEX, scale, colour, 1 if scale < 0.8 else 2, cv2.LINE_AA)
