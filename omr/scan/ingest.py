"""Files -> page images: scanner PDFs, multi-page TIFFs, PNG and JPEG, with clear errors for bad input.

The only module of the package that reads scan files. Everything after it gets :class:`PageImage`
values (2-D uint8 grey arrays) or :class:`PageError` values that say, for a clerk, what is wrong with
which file and page.

PDF pages are read with PDFium (pypdfium2, no system binary). A page whose content is exactly one
image covering the page (what scanners write) gives that image as stored: the scanner's own pixels
at their native resolution and bit depth, turned only by multiples of 90 degrees or mirrored as the
page shows it. A JPEG (DCTDecode) image is decoded from its raw stream by OpenCV; every other image
(CCITT G4, JBIG2, Flate, 1-bit, grey or colour) is decoded by PDFium. Every other page (vector
ballots, scans with a text layer, collages) is rendered by PDFium at ``render_dpi`` in grey.

Sizes are checked before decoding wherever the format allows (image object metadata, image headers),
so a 100-megapixel page is refused without allocating it. Pages are produced one at a time: memory
stays flat whatever the number of pages.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import io
import math
import os
import re
import stat
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace

import cv2
import numpy as np
import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c
from PIL import Image, TiffImagePlugin

__all__ = [
    "SUPPORTED_SUFFIXES",
    "PageError",
    "PageImage",
    "count_pages",
    "expand_inputs",
    "file_sha256",
    "path_text",
    "read_pages",
    "read_pdf_with_pdf2image",
    "text_path",
]

SUPPORTED_SUFFIXES = (".pdf", ".tif", ".tiff", ".png", ".jpg", ".jpeg")


@dataclass(frozen=True, eq=False)
class PageImage:
    """One page as a grey image (compared by identity: the pixels are an array)."""

    source: str  # the path as given by the user (str, not resolved)
    page: int  # 1-based within the file
    pixels: np.ndarray = field(repr=False)  # 2-D uint8 grey; 1-bit expanded to 0/255 (0 = black); C-contiguous
    dpi: float | None  # resolution from the file when known, else None
    bilevel: bool  # the stored image was 1-bit
    kind: str  # 'pdf-image' | 'pdf-render' | 'tiff' | 'png' | 'jpeg'

    @property
    def width(self) -> int:
        return int(self.pixels.shape[1])

    @property
    def height(self) -> int:
        return int(self.pixels.shape[0])


@dataclass(frozen=True)
class PageError:
    """A file, or one page of it, that could not be read, and why."""

    source: str
    page: int | None  # None when the whole file failed
    message: str  # for a clerk: what is wrong

    def __str__(self) -> str:
        where = self.source if self.page is None else f"{self.source}, page {self.page}"
        return f"{where}: {self.message}"


# --------------------------------------------------------------------------------------------------
# Inputs


def _natural_key(name: str) -> tuple:
    """Sort key: digits as numbers (scan2 before scan10), case folded, the name itself last (a tie-break)."""
    parts = re.split(r"(\d+)", name.casefold())
    return tuple((0, int(p), p) if p.isdigit() else (1, 0, p) for p in parts if p) + ((2, 0, name),)


def _supported(name: str) -> bool:
    return name.lower().endswith(SUPPORTED_SUFFIXES)


def expand_inputs(paths: Sequence[str]) -> tuple[list[str], list[PageError]]:
    """Files as given; folders walked recursively.

    Inside folders only files with a supported suffix (case-insensitive) are taken, hidden files and
    folders (name starting with '.') are skipped, symbolic links to folders are not followed, and the
    order is deterministic: by path, folder by folder, numbers in names compared as numbers.
    A file named directly is taken whatever its suffix (reading it says what it is). A missing path, or
    a folder with no scan in it, gives a :class:`PageError`. The same path given twice is read once.
    """
    files: list[str] = []
    errors: list[PageError] = []
    seen: set[str] = set()

    def add(p: str) -> None:
        key = os.path.normpath(p)
        if key not in seen:
            seen.add(key)
            files.append(p)

    for raw in paths:
        path = os.fspath(raw)
        try:
            st = os.stat(path)
        except FileNotFoundError:
            message = "file or folder not found" if not os.path.islink(path) else _not_a_file(path)
            errors.append(PageError(path_text(path), None, message or "file or folder not found"))
            continue
        except OSError:
            errors.append(PageError(path_text(path), None, _not_a_file(path) or "cannot open"))
            continue
        if stat.S_ISDIR(st.st_mode):
            found = _walk(path, errors)
            if not found:
                errors.append(PageError(path_text(path), None, "folder has no PDF, TIFF, PNG or JPEG file in it"))
            for p in found:
                add(p)
        elif stat.S_ISREG(st.st_mode):
            add(path)
        else:
            errors.append(PageError(path_text(path), None, f"not a regular file or folder ({_file_kind(st.st_mode)})"))
    return files, errors


def _walk(folder: str, errors: list[PageError]) -> list[str]:
    """Supported, non-hidden regular files under the folder, in a deterministic order; every other
    entry with a scan's name (a link loop, a dangling link, a FIFO, a socket, a device) is an error."""
    found: list[tuple[tuple, str]] = []

    def walk_error(exc: OSError) -> None:
        errors.append(PageError(path_text(exc.filename or folder), None, f"cannot list folder: {_os_reason(exc)}"))

    for dirpath, dirnames, filenames in os.walk(folder, onerror=walk_error):
        dirnames[:] = [d for d in dirnames if not d.startswith(".")]
        rel = os.path.relpath(dirpath, folder)
        rel_key = () if rel == os.curdir else tuple(_natural_key(p) for p in rel.split(os.sep))
        for name in filenames:
            if name.startswith(".") or not _supported(name):
                continue
            path = os.path.join(dirpath, name)
            problem = _not_a_file(path)
            if problem:
                errors.append(PageError(path_text(path), None, problem))
            else:
                found.append(((*rel_key, _natural_key(name)), path))
    found.sort(key=lambda item: item[0])
    return [p for _, p in found]


def _not_a_file(path: str) -> str | None:
    """Why a walked entry is not a regular file that can be read, or None when it is one."""
    try:
        st = os.stat(path)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return "symbolic link loop: the link leads back to itself, there is no file to read"
        if os.path.islink(path) and isinstance(exc, FileNotFoundError):
            return f"broken symbolic link: its target {path_text(os.readlink(path))} does not exist"
        return f"cannot open: {_os_reason(exc)}"
    if stat.S_ISREG(st.st_mode):
        return None
    return f"not a regular file ({_file_kind(st.st_mode)}): only files of scans are read"


def _file_kind(mode: int) -> str:
    kinds = ((stat.S_ISFIFO, "a named pipe (FIFO)"), (stat.S_ISSOCK, "a socket"), (stat.S_ISCHR, "a device"),
             (stat.S_ISBLK, "a device"), (stat.S_ISDIR, "a folder"))
    return next((name for test, name in kinds if test(mode)), "a special file")


def path_text(path: str) -> str:
    """The path as text that a UTF-8 database, JSON file or terminal takes, unchanged when it is valid
    text. A file name that is not valid UTF-8 reaches Python with its raw bytes as lone surrogates;
    they become ``\\xNN`` escapes (readable; :func:`text_path` turns them back into the file's name)."""
    try:
        path.encode("utf-8")
        return path
    except UnicodeEncodeError:
        return os.fsencode(path).decode("utf-8", "backslashreplace")


def text_path(text: str) -> str:
    """The file a :func:`path_text` text names: the text itself when such a file exists, else the
    name with its ``\\xNN`` escapes back to raw bytes."""
    if os.path.lexists(text) or "\\x" not in text:
        return text
    raw = re.sub(rb"\\x([0-9a-f]{2})", lambda m: bytes([int(m.group(1), 16)]), text.encode("utf-8"))
    return os.fsdecode(raw)


def file_sha256(path: str) -> str:
    """Hex SHA-256 of the file's bytes (read in 1 MiB blocks). Raises OSError if it cannot be read,
    at once (never waits) when it is not a regular file: a FIFO named like a scan would block an open."""
    digest = hashlib.sha256()
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    with open(fd, "rb") as f:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise OSError(errno.EINVAL, f"not a regular file ({_file_kind(mode)})", path)
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def count_pages(path: str) -> int | None:
    """Number of pages, cheaply (for a progress bar); None if unknown or unreadable."""
    try:
        with open(path, "rb") as f:
            head = f.read(1024)
        kind = _sniff(head)
        if kind in ("png", "jpeg"):
            return 1
        if kind == "tiff":
            with _pil_warnings() as caught, Image.open(path) as im:
                n_frames = int(getattr(im, "n_frames", 1))
            return None if caught else n_frames  # a broken chain of pages: unknown
        if kind == "pdf":
            doc = pdfium_c.FPDF_LoadDocument(_c_path(path), None)
            if not doc:
                return None
            try:
                return int(pdfium_c.FPDF_GetPageCount(doc))
            finally:
                pdfium_c.FPDF_CloseDocument(doc)
    except Exception:
        return None
    return None


# --------------------------------------------------------------------------------------------------
# Reading


def read_pages(path: str, max_megapixels: float = 60.0, render_dpi: float = 200.0, *,
               first: int = 1, last: int | None = None) -> Iterator[PageImage | PageError]:
    """Yield each page of the file, one at a time, as a :class:`PageImage` or a :class:`PageError`.

    Never raises for bad input: a file that cannot be opened gives one PageError with page None; a
    page that cannot be read gives a PageError for that page and the next pages are still read.
    Images over ``max_megapixels`` are refused (before decoding wherever the format tells the size).
    ``first`` and ``last`` (1-based, inclusive; None: to the end) read only a range of pages, so that
    workers can share a long file; errors about the whole file are given whatever the range.
    Raises ValueError at once for bad arguments (a programming error, not bad input).
    """
    if not max_megapixels > 0:
        raise ValueError(f"max_megapixels must be positive, not {max_megapixels!r}")
    if not 0 < render_dpi <= 2400:
        raise ValueError(f"render_dpi must be in (0, 2400], not {render_dpi!r}")
    if first < 1 or (last is not None and last < first):
        raise ValueError(f"bad page range: first={first!r}, last={last!r}")
    return _read(os.fspath(path), _Limits(max_megapixels, render_dpi, first, last))


@dataclass(frozen=True)
class _Limits:
    max_megapixels: float
    render_dpi: float
    first: int = 1
    last: int | None = None

    def wanted(self, number: int) -> bool:
        return number >= self.first and (self.last is None or number <= self.last)

    def refuse(self, width: int, height: int) -> str | None:
        """The message for an image too large to decode, or None if it is allowed."""
        mp = width * height / 1e6
        if mp > self.max_megapixels:
            return (f"image is {mp:.1f} megapixels ({width} x {height} pixels); "
                    f"at most {self.max_megapixels:g} allowed")
        return None


def _read(path: str, limits: _Limits) -> Iterator[PageImage | PageError]:
    name = path_text(path)
    for item in _read_named(path, limits):  # opened by its OS name, named by its text everywhere after
        yield item if name == path else replace(item, source=name)


def _read_named(path: str, limits: _Limits) -> Iterator[PageImage | PageError]:
    try:
        head, problem = _head(path)
    except Exception as exc:  # never raise for bad input
        yield PageError(path, None, f"cannot read file: {_reason(exc)}")
        return
    if problem:
        yield PageError(path, None, problem)
        return
    kind = _sniff(head)
    if kind is None:
        yield PageError(path, None, _not_supported_message(head))
        return
    reader = {"pdf": _read_pdf, "tiff": _read_tiff, "png": _read_single, "jpeg": _read_single}[kind]
    done = 0
    try:
        for item in reader(path, kind, limits):
            done += 1
            yield item
    except Exception as exc:  # last resort: the readers handle their own errors page by page
        where = "" if not done else f" after {done} page(s)"
        yield PageError(path, None, f"cannot read the file{where}: {_reason(exc)}")


def _head(path: str) -> tuple[bytes, str | None]:
    """The first KiB of the file, or the reason it cannot be read."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return b"", "file not found"
    except OSError as exc:
        return b"", f"cannot open: {_os_reason(exc)}"
    if stat.S_ISDIR(st.st_mode):
        return b"", "is a folder, not a file"
    if not stat.S_ISREG(st.st_mode):
        return b"", "not a regular file"
    if st.st_size == 0:
        return b"", "empty file (0 bytes)"
    try:
        with open(path, "rb") as f:
            return f.read(1024), None
    except OSError as exc:
        return b"", f"cannot open: {_os_reason(exc)}"


def _sniff(head: bytes) -> str | None:
    """The format by content (never by suffix)."""
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if head.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if head[:4] in (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+"):
        return "tiff"
    if b"%PDF-" in head[:1024]:
        return "pdf"
    return None


_OTHER_FORMATS = (
    (b"GIF87a", "a GIF image"),
    (b"GIF89a", "a GIF image"),
    (b"BM", "a BMP image"),
    (b"\x00\x00\x00\x0cjP  ", "a JPEG 2000 image"),
    (b"\xff\x4f\xff\x51", "a JPEG 2000 image"),
    (b"PK\x03\x04", "a ZIP archive (or an Office document)"),
    (b"\xd0\xcf\x11\xe0", "an old Microsoft Office document"),
    (b"{\\rtf", "an RTF document"),
)


def _not_supported_message(head: bytes) -> str:
    first = head[:8]
    shown = " ".join(f"{b:02x}" for b in first)
    text = "".join(chr(b) if 32 <= b < 127 else "." for b in first)
    what = None
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        what = "a WebP image"
    elif head[4:8] == b"ftyp":
        what = "a HEIC/HEIF or MP4 file"
    elif head.lstrip()[:14].lower().startswith((b"<!doctype html", b"<html")):
        what = "a web page (HTML)"
    else:
        for magic, name in _OTHER_FORMATS:
            if head.startswith(magic) and (magic != b"BM" or head[6:10] == b"\x00\x00\x00\x00"):
                what = name
                break
    if what is None:
        what = "not an image or PDF"
    else:
        what += ", not a supported scan (only PDF, TIFF, PNG and JPEG are read)"
    return f'{what} (starts with bytes {shown} "{text}")'


def _os_reason(exc: OSError) -> str:
    if isinstance(exc, PermissionError):
        return "permission denied"
    if isinstance(exc, IsADirectoryError):
        return "is a folder, not a file"
    return exc.strerror or str(exc) or type(exc).__name__


def _reason(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        return _os_reason(exc)
    if isinstance(exc, MemoryError):
        return "not enough memory"
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _c_path(path: str) -> bytes:
    return os.fsencode(path) + b"\x00"


# --------------------------------------------------------------------------------------------------
# PDF

_JPEG_COLORSPACES = {pdfium_c.FPDF_COLORSPACE_DEVICEGRAY, pdfium_c.FPDF_COLORSPACE_CALGRAY,
                     pdfium_c.FPDF_COLORSPACE_DEVICERGB, pdfium_c.FPDF_COLORSPACE_CALRGB}
_BITMAP_COLORSPACES = _JPEG_COLORSPACES | {pdfium_c.FPDF_COLORSPACE_ICCBASED, pdfium_c.FPDF_COLORSPACE_INDEXED,
                                           pdfium_c.FPDF_COLORSPACE_DEVICECMYK}
_GREY_COLORSPACES = {pdfium_c.FPDF_COLORSPACE_DEVICEGRAY, pdfium_c.FPDF_COLORSPACE_CALGRAY}
_PDF_REOPEN_EVERY = 32  # pages read before the document is reopened (see _read_pdf)
_MIN_COVER = 0.95  # share of the page the image must cover, and of the image that must lie on the page


def _pdf_open_error(path: str) -> str:
    """Why PDFium refused the file, in words for a clerk."""
    code = pdfium_c.FPDF_GetLastError()
    if code == pdfium_c.FPDF_ERR_PASSWORD:
        return "encrypted PDF: needs a password (save an unprotected copy from the scanner software)"
    if code == pdfium_c.FPDF_ERR_SECURITY:
        return "encrypted PDF: its protection scheme is not supported (save an unprotected copy)"
    if code == pdfium_c.FPDF_ERR_FILE:
        return "cannot open the file"
    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            size = f.tell()
            f.seek(max(0, size - 2048))
            tail = f.read()
    except OSError as exc:
        return f"cannot read file: {_os_reason(exc)}"
    if not _has_pdf_objects(path):
        return ("corrupt PDF: the file starts like a PDF but holds no PDF content after its header "
                "(not a PDF, or overwritten with other data)")
    if b"%%EOF" not in tail:
        return ("truncated or corrupt PDF: the file ends early (no end-of-file marker), "
                "it was probably cut off while copying or saving")
    return "truncated or corrupt PDF: cannot be parsed"


def _has_pdf_objects(path: str) -> bool:
    """Whether the first MiB holds a PDF object ("12 0 obj"): what every PDF, even a cut one, has."""
    try:
        with open(path, "rb") as f:
            return re.search(rb"\d+\s+\d+\s+obj\b", f.read(1 << 20)) is not None
    except OSError:
        return True


def _read_pdf(path: str, kind: str, limits: _Limits) -> Iterator[PageImage | PageError]:
    raw = pdfium_c.FPDF_LoadDocument(_c_path(path), None)
    if not raw:
        yield PageError(path, None, _pdf_open_error(path))
        return
    pdf = pdfium.PdfDocument(raw)  # owns the handle from here on
    try:
        n_pages = len(pdf)
        if n_pages < 1:
            yield PageError(path, None, "PDF has no pages")
            return
        stop = n_pages if limits.last is None else min(n_pages, limits.last)
        since_open = 0
        for index in range(limits.first - 1, stop):
            if since_open == _PDF_REOPEN_EVERY:
                # PDFium keeps every object it parsed (each page's image data too) until the document is
                # closed: reopening now and then keeps memory flat however many pages the file has.
                pdf.close()
                raw = pdfium_c.FPDF_LoadDocument(_c_path(path), None)
                if not raw:
                    yield PageError(path, index + 1, f"the file changed or became unreadable while it was read "
                                                     f"({_pdf_open_error(path)}); no further page read")
                    return
                pdf = pdfium.PdfDocument(raw)
                since_open = 0
            yield _pdf_page(pdf, path, index, limits)
            since_open += 1
    finally:
        pdf.close()


def _pdf_page(pdf: pdfium.PdfDocument, path: str, index: int, limits: _Limits) -> PageImage | PageError:
    number = index + 1
    try:
        page = pdf[index]
    except Exception:
        return PageError(path, number, "truncated or corrupt PDF: this page cannot be loaded")
    try:
        image = _sole_image(page)
        if image is not None:
            taken = _take_image(page, image, path, number, limits)
            if taken is not None:
                return taken
        return _render_page(page, path, number, limits)
    except Exception as exc:
        return PageError(path, number, f"corrupt PDF page: {_reason(exc)}")
    finally:
        page.close()


def _sole_image(page: pdfium.PdfPage) -> pdfium.PdfImage | None:
    """The page's only content object if it is an image (and the page has no annotation), else None."""
    if pdfium_c.FPDFPage_CountObjects(page) != 1 or pdfium_c.FPDFPage_GetAnnotCount(page) > 0:
        return None
    raw = pdfium_c.FPDFPage_GetObject(page, 0)
    if not raw or pdfium_c.FPDFPageObj_GetType(raw) != pdfium_c.FPDF_PAGEOBJ_IMAGE:
        return None
    return pdfium.PdfObject(raw, page=page, pdf=page.pdf)


def _covers_page(page: pdfium.PdfPage, image: pdfium.PdfImage) -> bool:
    il, ib, ir, it = image.get_bounds()
    pl, pb, pr, pt = page.get_bbox()
    inter = max(0.0, min(ir, pr) - max(il, pl)) * max(0.0, min(it, pt) - max(ib, pb))
    page_area = (pr - pl) * (pt - pb)
    image_area = (ir - il) * (it - ib)
    if page_area <= 0 or image_area <= 0:
        return False
    return inter >= _MIN_COVER * page_area and inter >= _MIN_COVER * image_area


def _orientation(matrix: tuple[float, ...], page_rotation: int) -> tuple[bool, bool, bool] | None:
    """How to turn the stored image into the page as shown: (transpose, flip left-right, flip up-down).

    None when the placement is not a multiple of 90 degrees (with or without a mirror).
    The stored image's first row is the top of the unit square in PDF image space; the page is shown
    with y down and turned clockwise by its /Rotate.
    """
    a, b, c, d = matrix[:4]
    col = (a, -b)  # increasing column: +(a, b) in PDF space (y up); here with y down, page not yet turned
    row = (-c, d)  # increasing row: -(c, d) in PDF space (row 0 is the top of the unit square)
    for _ in range((page_rotation // 90) % 4):
        col = (-col[1], col[0])
        row = (-row[1], row[0])

    def axis(v: tuple[float, float]) -> tuple[int, float] | None:
        x, y = v
        size = math.hypot(x, y)
        if size == 0:
            return None
        if abs(y) <= 1e-3 * size:
            return 0, x
        if abs(x) <= 1e-3 * size:
            return 1, y
        return None

    col_axis, row_axis = axis(col), axis(row)
    if col_axis is None or row_axis is None or col_axis[0] == row_axis[0]:
        return None
    if col_axis[0] == 0:  # columns run across the shown page: no transpose
        return False, col_axis[1] < 0, row_axis[1] < 0
    return True, row_axis[1] < 0, col_axis[1] < 0  # transposed: shown x follows rows, shown y follows columns


def _apply_orientation(pixels: np.ndarray, turn: tuple[bool, bool, bool]) -> np.ndarray:
    transpose, flip_lr, flip_ud = turn
    if transpose:
        pixels = pixels.T
    if flip_ud:
        pixels = pixels[::-1]
    if flip_lr:
        pixels = pixels[:, ::-1]
    return np.ascontiguousarray(pixels)


def _bitmap_grey(bitmap: pdfium.PdfBitmap) -> np.ndarray:
    """A grey copy of a PDFium bitmap (the bitmap's own memory is freed with it)."""
    view = bitmap.to_numpy()
    fmt = bitmap.format
    if fmt == pdfium_c.FPDFBitmap_Gray:
        return view.copy()
    if fmt == pdfium_c.FPDFBitmap_BGR:
        return cv2.cvtColor(view, cv2.COLOR_BGR2GRAY)
    if fmt in (pdfium_c.FPDFBitmap_BGRx, pdfium_c.FPDFBitmap_BGRA, pdfium_c.FPDFBitmap_BGRA_Premul):
        return cv2.cvtColor(view, cv2.COLOR_BGRA2GRAY)
    raise ValueError(f"unexpected PDFium bitmap format {fmt}")


def _page_dpi(page: pdfium.PdfPage, width_px: int) -> float | None:
    width_pt = page.get_width()  # as shown (PDFium swaps width and height for /Rotate 90 and 270)
    if width_pt <= 0:
        return None
    return round(width_px / (width_pt / 72.0), 2)


def _take_image(page: pdfium.PdfPage, image: pdfium.PdfImage, path: str, number: int,
                limits: _Limits) -> PageImage | PageError | None:
    """The page's one image as stored, or None if the page must be rendered instead."""
    try:
        width, height = image.get_px_size()
    except pdfium.PdfiumError:
        return None
    if width < 1 or height < 1:
        return None
    too_big = limits.refuse(width, height)
    if too_big:
        return PageError(path, number, too_big)
    if not _covers_page(page, image):
        return None
    turn = _orientation(image.get_matrix().get(), page.get_rotation())
    if turn is None:
        return None
    try:
        meta = image.get_metadata()
        filters = image.get_filters(skip_simple=True)
    except pdfium.PdfiumError:
        return None
    if filters == ["DCTDecode"] and meta.colorspace in _JPEG_COLORSPACES | {pdfium_c.FPDF_COLORSPACE_UNKNOWN}:
        # a JPEG as the scanner wrote it: decode its own bytes (PDFium reports an unknown colour space when it
        # cannot parse the JPEG header; then OpenCV says whether it is corrupt)
        data = image.get_data(decode_simple=True)
        stored = _jpeg_size(data)
        if stored is not None and stored != (width, height):  # checked before OpenCV allocates what it says
            return PageError(path, number, f"corrupt JPEG image in the PDF: its own header says {stored[0]} x "
                                           f"{stored[1]} pixels, the PDF {width} x {height}; not decoded")
        pixels = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_GRAYSCALE | cv2.IMREAD_IGNORE_ORIENTATION)
        if pixels is None or pixels.shape != (height, width):
            return PageError(path, number, "corrupt or truncated JPEG image in the PDF: cannot be decoded")
    elif meta.colorspace not in _BITMAP_COLORSPACES:
        return None  # stencil masks, separations, Lab...: let PDFium render them as the page shows them
    else:
        try:
            bitmap = image.get_bitmap(render=False)
        except pdfium.PdfiumError:
            return PageError(path, number, f"corrupt image in the PDF ({'+'.join(filters) or 'FlateDecode'}): "
                                           "cannot be decoded")
        pixels = _bitmap_grey(bitmap)
        del bitmap
        if pixels.shape != (height, width):
            return PageError(path, number, "corrupt image in the PDF: decoded size differs from its header")
    bilevel = meta.bits_per_pixel == 1
    if bilevel and meta.colorspace not in _GREY_COLORSPACES:
        pixels = np.where(pixels >= 128, np.uint8(255), np.uint8(0))  # a 2-colour palette: keep 0/255
    pixels = _apply_orientation(pixels, turn)
    return PageImage(path, number, pixels, _page_dpi(page, pixels.shape[1]), bilevel, "pdf-image")


_JPEG_FRAMES = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}  # SOFn markers (not DHT, JPG, DAC)


def _jpeg_size(data: bytes) -> tuple[int, int] | None:
    """(width, height) from a JPEG's frame header, without decoding; None when there is none to find."""
    i = 2
    while i + 4 <= len(data) and data[i] == 0xFF:
        marker = data[i + 1]
        if marker == 0xFF:  # fill byte
            i += 1
            continue
        if marker == 0x01 or 0xD0 <= marker <= 0xD8:  # markers without a length
            i += 2
            continue
        if marker in _JPEG_FRAMES and i + 9 <= len(data):
            return int.from_bytes(data[i + 7:i + 9], "big"), int.from_bytes(data[i + 5:i + 7], "big")
        i += 2 + int.from_bytes(data[i + 2:i + 4], "big")
    return None


def _render_page(page: pdfium.PdfPage, path: str, number: int, limits: _Limits) -> PageImage | PageError:
    scale = limits.render_dpi / 72.0
    width_pt, height_pt = page.get_size()
    width, height = math.ceil(width_pt * scale), math.ceil(height_pt * scale)
    if width < 1 or height < 1:
        return PageError(path, number, f"PDF page has no area ({width_pt:g} x {height_pt:g} points)")
    too_big = limits.refuse(width, height)
    if too_big:
        return PageError(path, number, f"page rendered at {limits.render_dpi:g} dpi: {too_big}")
    bitmap = page.render(scale=scale, grayscale=True)
    pixels = _bitmap_grey(bitmap)
    del bitmap
    return PageImage(path, number, pixels, float(limits.render_dpi), False, "pdf-render")


# --------------------------------------------------------------------------------------------------
# TIFF, PNG, JPEG

_ORIENTATIONS: dict[int, tuple[bool, bool, bool]] = {
    # EXIF/TIFF orientation tag -> (transpose, flip left-right, flip up-down), applied in that order
    2: (False, True, False),  # mirrored horizontally
    3: (False, True, True),  # 180 degrees
    4: (False, False, True),  # mirrored vertically
    5: (True, False, False),  # transposed
    6: (True, True, False),  # to show: turn 90 degrees clockwise
    7: (True, True, True),  # transverse
    8: (True, False, True),  # to show: turn 90 degrees counter-clockwise
}
_BOMB_SIZE = re.compile(r"\((\d+) pixels\)")
_DAMAGE = re.compile(r"truncat|corrupt", re.IGNORECASE)


@contextlib.contextmanager
def _quiet_pil() -> Iterator[None]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        yield


@contextlib.contextmanager
def _pil_warnings() -> Iterator[list[str]]:
    """Collect Pillow's warnings about damaged files (it warns, rather than fails, on a broken TIFF directory)."""
    caught: list[str] = []
    with warnings.catch_warnings(record=True) as records:
        warnings.simplefilter("always")
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        yield caught
    caught.extend(str(r.message).strip() for r in records
                  if issubclass(r.category, UserWarning) and _DAMAGE.search(str(r.message)))


def _bomb_message(exc: Image.DecompressionBombError, limits: _Limits) -> str:
    match = _BOMB_SIZE.search(str(exc))
    if match:
        mp = int(match.group(1)) / 1e6
        return f"image is {mp:.1f} megapixels; at most {limits.max_megapixels:g} allowed"
    return f"image is too large; at most {limits.max_megapixels:g} megapixels allowed"


def _info_dpi(info: dict, transposed: bool) -> float | None:
    dpi = info.get("dpi")
    try:
        x, y = float(dpi[0]), float(dpi[1])
    except (TypeError, ValueError, IndexError):
        return None
    value = y if transposed else x
    if not (math.isfinite(value) and 1 <= value <= 100_000):
        return None
    return round(value, 2)


def _orientation_tag(im: Image.Image, kind: str, data: bytes = b"") -> int:
    try:
        if kind == "tiff":
            value = im.tag_v2.get(274, 1)  # this frame's own tag
        elif kind == "png":
            exif = Image.Exif()
            exif.load(_png_exif(data))
            value = exif.get(274, 1)
        else:
            value = im.getexif().get(274, 1)
        value = int(value)
    except Exception:
        return 1
    return value if value in _ORIENTATIONS else 1


def _png_exif(data: bytes) -> bytes:
    """A PNG's eXIf chunk (b"" when none), found by walking the chunk headers: the chunk may follow
    the pixels, and Pillow's getexif() then decodes the whole image to reach it (as long again as
    the decode that follows)."""
    at = 8  # after the signature
    while at + 8 <= len(data):
        length = int.from_bytes(data[at:at + 4], "big")
        kind = data[at + 4:at + 8]
        if kind == b"eXIf":
            return data[at + 8:at + 8 + length]
        if kind == b"IEND":
            break
        at += 12 + length
    return b""


def _pil_grey(im: Image.Image) -> np.ndarray:
    """Decode a PIL image to a 2-D uint8 grey array (transparent areas on white paper)."""
    mode = im.mode
    if mode == "1":
        return np.array(im.convert("L"))
    if mode == "L":
        return np.array(im)
    if mode.startswith("I;16"):
        return (np.array(im).astype(np.uint16) >> 8).astype(np.uint8)
    if mode in ("I", "F"):
        values = np.array(im, dtype=np.float64)
        top = 65535.0 if values.max(initial=0) > 255 else 255.0
        return np.clip(values * (255.0 / top) + 0.5, 0, 255).astype(np.uint8)
    if "A" in mode or "a" in mode or "transparency" in im.info:
        rgba = im.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return cv2.cvtColor(np.array(Image.alpha_composite(white, rgba).convert("RGB")), cv2.COLOR_RGB2GRAY)
    if mode != "RGB":
        im = im.convert("RGB")
    return cv2.cvtColor(np.array(im), cv2.COLOR_RGB2GRAY)


def _read_tiff(path: str, kind: str, limits: _Limits) -> Iterator[PageImage | PageError]:
    try:
        with _pil_warnings() as caught:
            im = Image.open(path)
    except Image.DecompressionBombError as exc:
        yield PageError(path, 1, _bomb_message(exc, limits))
        return
    except Exception as exc:
        unsupported = _unsupported_tiff(path)
        yield PageError(path, None, unsupported or f"truncated or corrupt TIFF: cannot be opened ({_reason(exc)})")
        return
    with im:
        index = 0
        while True:
            if index:
                try:
                    with _pil_warnings() as caught:
                        im.seek(index)
                except EOFError:
                    return
                except Exception as exc:
                    caught.append(_reason(exc))
            if caught:  # Pillow only warns about a broken page directory: the chain of pages is broken here
                if limits.last is None or index + 1 <= limits.last:
                    yield PageError(path, index + 1, f"truncated or corrupt TIFF: page directory unreadable "
                                                     f"({caught[0]}); no further page read")
                return
            if limits.wanted(index + 1):
                yield _tiff_frame(im, path, index + 1, limits)
            elif limits.last is not None and index + 1 > limits.last:
                return
            index += 1


_TIFF_COMPRESSIONS = {9: "JBIG (T.85)", 10: "JBIG2 (T.43)", 34661: "JBIG", 34712: "JPEG 2000", 34887: "LERC",
                      34892: "lossy JPEG (DNG)", 50002: "JPEG XL"}


def _unsupported_tiff(path: str) -> str | None:
    """The message for a TIFF whose first page uses a compression Pillow cannot decode, or None."""
    try:
        with open(path, "rb") as f:
            ifd = TiffImagePlugin.ImageFileDirectory_v2(f.read(8))
            f.seek(ifd.next)
            ifd.load(f)
        code = int(ifd.get(259, 1))
    except Exception:
        return None
    if code in TiffImagePlugin.COMPRESSION_INFO:
        return None
    name = _TIFF_COMPRESSIONS.get(code, "an unknown method")
    return (f"TIFF compressed with {name} (compression code {code}), which is not supported: scan to PDF, or to TIFF "
            "with Group 4, LZW, Deflate or JPEG compression")


def _tiff_frame(im: Image.Image, path: str, number: int, limits: _Limits) -> PageImage | PageError:
    too_big = limits.refuse(*im.size)
    if too_big:
        return PageError(path, number, too_big)
    try:
        with _pil_warnings() as caught:
            bilevel = im.mode == "1"
            pixels = _pil_grey(im)
        if caught:
            raise ValueError(caught[0])
    except Exception as exc:
        return PageError(path, number, f"truncated or corrupt TIFF page: cannot be decoded ({_reason(exc)})")
    tag = _orientation_tag(im, "tiff")
    turn = _ORIENTATIONS.get(tag, (False, False, False))
    pixels = _apply_orientation(pixels, turn)
    return PageImage(path, number, pixels, _info_dpi(im.info, turn[0]), bilevel, "tiff")


def _read_single(path: str, kind: str, limits: _Limits) -> Iterator[PageImage | PageError]:
    """A PNG or JPEG file: one page, decoded from its bytes (so any file name works)."""
    if not limits.wanted(1):
        return
    name = kind.upper()
    try:
        with open(path, "rb") as f:
            try:
                with _quiet_pil():
                    im = Image.open(f)
                    size, mode, info = im.size, im.mode, dict(im.info)
            except Image.DecompressionBombError as exc:
                yield PageError(path, 1, _bomb_message(exc, limits))
                return
            except Exception as exc:
                yield PageError(path, None, f"corrupt {name}: cannot be opened ({_reason(exc)})")
                return
            too_big = limits.refuse(*size)  # from the header, before anything decodes pixels
            if too_big:
                yield PageError(path, 1, too_big)
                return
            f.seek(0)
            data = f.read()
            with _quiet_pil():
                tag = _orientation_tag(im, kind, data)
    except OSError as exc:
        yield PageError(path, None, f"cannot read file: {_os_reason(exc)}")
        return
    bilevel = mode == "1"
    pixels = None
    plain = mode in ("1", "L", "RGB", "P", "I;16", "I;16B", "I;16L", "I") and "transparency" not in info
    if plain:
        try:
            buffer = np.frombuffer(data, np.uint8)
            if kind == "png" and mode in ("RGB", "P"):
                pixels = cv2.imdecode(buffer, cv2.IMREAD_COLOR | cv2.IMREAD_IGNORE_ORIENTATION)
                if pixels is not None:
                    pixels = cv2.cvtColor(pixels, cv2.COLOR_BGR2GRAY)
            else:  # grey, or a JPEG's own luma (what colour-to-grey computes, without chroma upsampling)
                pixels = cv2.imdecode(buffer, cv2.IMREAD_GRAYSCALE | cv2.IMREAD_IGNORE_ORIENTATION)
        except cv2.error:
            pixels = None
        if pixels is None:
            yield PageError(path, 1, f"corrupt or truncated {name}: cannot be decoded")
            return
    else:  # transparency, CMYK and other modes: Pillow knows them
        try:
            with _quiet_pil(), Image.open(io.BytesIO(data)) as im:
                pixels = _pil_grey(im)
        except Exception as exc:
            yield PageError(path, 1, f"corrupt or truncated {name}: cannot be decoded ({_reason(exc)})")
            return
    if pixels.shape != (size[1], size[0]):
        yield PageError(path, 1, f"corrupt {name}: decoded size differs from its header")
        return
    turn = _ORIENTATIONS.get(tag, (False, False, False))
    pixels = _apply_orientation(pixels, turn)
    yield PageImage(path, 1, pixels, _info_dpi(info, turn[0]), bilevel, kind)


# --------------------------------------------------------------------------------------------------
# Optional: pdf2image (poppler)


def read_pdf_with_pdf2image(path: str, dpi: float = 200.0) -> Iterator[PageImage | PageError]:
    """Render every page of a PDF with pdf2image (poppler's pdftoppm), one page at a time, in grey.

    Not the default path: it needs the ``pdf2image`` package and poppler's command-line tools, and it
    is about ten times slower than :func:`read_pages`. Like read_pages, it never raises for bad input.
    """
    path = os.fspath(path)
    try:
        import pdf2image
        from pdf2image import exceptions as pdf2image_errors
    except ImportError:
        yield PageError(path, None, "pdf2image is not installed: pip install pdf2image "
                                    "(it also needs poppler's pdftoppm and pdfinfo)")
        return
    head, problem = _head(path)
    if problem:
        yield PageError(path, None, problem)
        return
    if _sniff(head) != "pdf":
        yield PageError(path, None, _not_supported_message(head) if _sniff(head) is None else "not a PDF")
        return
    try:
        info = pdf2image.pdfinfo_from_path(path)
        n_pages = int(info["Pages"])
    except pdf2image_errors.PDFInfoNotInstalledError:
        yield PageError(path, None, "poppler is not installed (pdf2image needs its pdfinfo and pdftoppm)")
        return
    except Exception as exc:
        text = str(exc).lower()
        if "password" in text or "encrypt" in text:
            yield PageError(path, None, "encrypted PDF: needs a password")
        elif "invalid page count 0" in text:
            yield PageError(path, None, "PDF has no pages")
        else:
            yield PageError(path, None, f"truncated or corrupt PDF: poppler cannot read it ({_poppler_says(exc)})")
        return
    if n_pages < 1:
        yield PageError(path, None, "PDF has no pages")
        return
    for number in range(1, n_pages + 1):
        try:
            images = pdf2image.convert_from_path(path, dpi=dpi, first_page=number, last_page=number, grayscale=True)
            if len(images) != 1:
                raise ValueError(f"poppler gave {len(images)} images for one page")
            with images[0] as im:
                pixels = _pil_grey(im)
        except Exception as exc:
            yield PageError(path, number, f"corrupt PDF page: poppler cannot render it ({_poppler_says(exc)})")
            continue
        yield PageImage(path, number, np.ascontiguousarray(pixels), float(dpi), False, "pdf-render")


def _poppler_says(exc: Exception) -> str:
    """Poppler's first error line (its messages run to many lines)."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    errors = [line for line in lines if "error" in line.lower()]
    return (errors or lines or [type(exc).__name__])[0][:200]


# --------------------------------------------------------------------------------------------------
# Pages sent elsewhere (a cluster's workers)


def page_range_bytes(path: str, first: int, last: int | None) -> tuple[bytes, int, int | None]:
    """The bytes another computer needs to read pages first..last of a file, and the same range
    numbered within them: for a PDF, a new PDF of just those pages (its images copied as stored, so
    they decode to the same pixels); for any other file, or a PDF PDFium cannot split, the file
    itself. Raises OSError when the file cannot be read."""
    with open(path, "rb") as f:
        head = f.read(1024)
    if _sniff(head) == "pdf" and last is not None:
        part = _pdf_pages(path, first, last)
        if part is not None:
            return part, 1, last - first + 1
    with open(path, "rb") as f:
        return f.read(), first, last


def _pdf_pages(path: str, first: int, last: int) -> bytes | None:
    """A new PDF holding pages first..last of the file; None when it is not a clean cut (a damaged
    file: the worker then gets it whole and reports its pages as a local run would)."""
    try:
        source = pdfium.PdfDocument(path)
    except Exception:
        return None
    try:
        if last > len(source):
            return None
        part = pdfium.PdfDocument.new()
        try:
            part.import_pages(source, list(range(first - 1, last)))
            if len(part) != last - first + 1:
                return None
            out = io.BytesIO()
            part.save(out)
            return out.getvalue()
        finally:
            part.close()
    except Exception:
        return None
    finally:
        source.close()
