"""omr.scan.ingest: real files made in temporary folders, read back page by page."""

from __future__ import annotations

import hashlib
import io
import shutil
import subprocess
import sys
import types
import zlib
from pathlib import Path

import cv2
import img2pdf
import numpy as np
import pikepdf
import pypdfium2 as pdfium
import pytest
from PIL import Image, ImageOps
from reportlab.pdfgen.canvas import Canvas

from omr.scan import ingest
from omr.scan.ingest import (
    SUPPORTED_SUFFIXES,
    PageError,
    PageImage,
    count_pages,
    expand_inputs,
    file_sha256,
    read_pages,
    read_pdf_with_pdf2image,
)

# ------------------------------------------------------------------------------------------------
# helpers: make real files


def _scan_like(height: int, width: int, seed: int = 0) -> np.ndarray:
    """A grey page with text-like strokes and noise (so JPEG has real work to do)."""
    rng = np.random.default_rng(seed)
    img = np.full((height, width), 235, np.uint8)
    for i in range(40):
        x, y = int(rng.integers(0, max(1, width - 80))), int(rng.integers(20, height))
        cv2.putText(img, f"Name {i}", (x, y), cv2.FONT_HERSHEY_SIMPLEX, 0.5, 20, 1)
    cv2.rectangle(img, (10, 10), (60, 60), 0, -1)  # a solid mark top-left
    noisy = img.astype(np.int16) + rng.normal(0, 4, img.shape).astype(np.int16)
    return np.clip(noisy, 0, 255).astype(np.uint8)


def _blocks(height: int, width: int, seed: int = 0, cell: int = 4) -> np.ndarray:
    """Random black/white/grey blocks: any wrong turn or mirror changes most pixels."""
    rng = np.random.default_rng(seed)
    small = rng.choice(np.array([0, 128, 255], np.uint8), size=(height // cell, width // cell))
    return np.kron(small, np.ones((cell, cell), np.uint8))


def _jpeg_bytes(pixels: np.ndarray, dpi: int = 200, quality: int = 85) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(pixels).save(buf, "JPEG", quality=quality, dpi=(dpi, dpi))
    return buf.getvalue()


def _g4_tiff_bytes(frames: list[np.ndarray], dpi: int = 200) -> bytes:
    """1-bit Group 4 TIFF (one page per frame); frames are bool arrays, True = white."""
    images = [Image.fromarray(f.astype(np.uint8) * 255).convert("1") for f in frames]
    buf = io.BytesIO()
    images[0].save(buf, "TIFF", compression="group4", dpi=(dpi, dpi), save_all=True, append_images=images[1:])
    return buf.getvalue()


def _bits(height: int, width: int, seed: int = 0) -> np.ndarray:
    return _blocks(height, width, seed, cell=3) > 100


def _image_pdf(path: Path, pages: list[dict]) -> Path:
    """A PDF built object by object: each page is one image XObject drawn with a given matrix.

    page keys: pixels (2-D uint8, or bool with bpc=1), matrix (a, b, c, d, e, f), size (w, h) in points,
    rotate (0/90/180/270), extra (bytes added to the content stream), filter ('flate' or 'dct').
    """
    pdf = pikepdf.new()
    for spec in pages:
        pixels = spec["pixels"]
        h, w = pixels.shape
        bpc = spec.get("bpc", 8)
        if bpc == 1:
            data = np.packbits(pixels.astype(bool), axis=1).tobytes()
        else:
            data = pixels.tobytes()
        if spec.get("filter") == "dct":
            image = pikepdf.Stream(pdf, _jpeg_bytes(pixels))
            image.Filter = pikepdf.Name.DCTDecode
        else:
            image = pikepdf.Stream(pdf, zlib.compress(data, 1))
            image.Filter = pikepdf.Name.FlateDecode
        image.Type = pikepdf.Name.XObject
        image.Subtype = pikepdf.Name.Image
        image.Width, image.Height = w, h
        image.ColorSpace = pikepdf.Name.DeviceGray
        image.BitsPerComponent = bpc
        a, b, c, d, e, f = spec["matrix"]
        content = f"q {a} {b} {c} {d} {e} {f} cm /Im0 Do Q\n".encode() + spec.get("extra", b"")
        resources = pikepdf.Dictionary(XObject=pikepdf.Dictionary(Im0=image))
        if spec.get("extra"):
            resources.Font = pikepdf.Dictionary(F1=pikepdf.Dictionary(
                Type=pikepdf.Name.Font, Subtype=pikepdf.Name.Type1, BaseFont=pikepdf.Name.Helvetica))
        width, height = spec["size"]
        page = pikepdf.Dictionary(
            Type=pikepdf.Name.Page,
            MediaBox=[0, 0, width, height],
            Resources=resources,
            Contents=pikepdf.Stream(pdf, content),
        )
        if spec.get("rotate"):
            page.Rotate = spec["rotate"]
        pdf.pages.append(pikepdf.Page(page))
    pdf.save(path)
    return path


def _vector_pdf(path: Path, pages: int = 1) -> Path:
    """Like our own ballots: text and paths, no image (A4)."""
    canvas = Canvas(str(path), pagesize=(595.2756, 841.8898))
    for i in range(pages):
        canvas.setFont("Helvetica", 14)
        canvas.drawString(72, 760, f"Ballot page {i + 1}")
        canvas.rect(72, 72, 144, 72, stroke=0, fill=1)  # 2 x 1 inch black box, 1 inch from bottom-left
        canvas.showPage()
    canvas.save()
    return path


def _pages(path: Path | str, **kwargs) -> list[PageImage | PageError]:
    return list(read_pages(str(path), **kwargs))


def _only_image(path: Path | str, **kwargs) -> PageImage:
    items = _pages(path, **kwargs)
    assert len(items) == 1, items
    assert isinstance(items[0], PageImage), items[0]
    return items[0]


def _only_error(path: Path | str, **kwargs) -> PageError:
    items = _pages(path, **kwargs)
    assert len(items) == 1, items
    assert isinstance(items[0], PageError), items[0]
    return items[0]


def _check_pixels(page: PageImage) -> None:
    assert page.pixels.dtype == np.uint8
    assert page.pixels.ndim == 2
    assert page.pixels.flags.c_contiguous


# ------------------------------------------------------------------------------------------------
# PDF: scanner pages taken as stored


def test_jpeg_pdf_pages_native_size_and_same_pixels_as_the_jpeg(tmp_path):
    pixels = [_scan_like(1400, 1000, seed) for seed in range(3)]  # 5 x 7 inches at 200 dpi
    jpegs = [_jpeg_bytes(p, dpi=200) for p in pixels]
    path = tmp_path / "scanner.pdf"
    path.write_bytes(img2pdf.convert(jpegs))
    items = _pages(path)
    assert [type(i) for i in items] == [PageImage] * 3
    for number, (item, jpeg) in enumerate(zip(items, jpegs), start=1):
        expected = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_GRAYSCALE)
        _check_pixels(item)
        assert (item.source, item.page, item.kind, item.bilevel) == (str(path), number, "pdf-image", False)
        assert item.pixels.shape == (1400, 1000)
        assert np.array_equal(item.pixels, expected)
        assert item.dpi == pytest.approx(200, abs=0.5)


def test_colour_jpeg_pdf_page_comes_back_grey(tmp_path):
    rgb = np.dstack([_scan_like(700, 500, 1), _scan_like(700, 500, 2), _scan_like(700, 500, 3)])
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, "JPEG", quality=90, dpi=(100, 100))
    path = tmp_path / "colour.pdf"
    path.write_bytes(img2pdf.convert(buf.getvalue()))
    page = _only_image(path)
    data = np.frombuffer(buf.getvalue(), np.uint8)
    assert page.kind == "pdf-image" and page.pixels.shape == (700, 500)
    # the JPEG's own luma (no chroma upsampling), which is what a colour-to-grey conversion approximates
    assert np.array_equal(page.pixels, cv2.imdecode(data, cv2.IMREAD_GRAYSCALE))
    converted = cv2.cvtColor(cv2.imdecode(data, cv2.IMREAD_COLOR), cv2.COLOR_BGR2GRAY)
    assert np.abs(page.pixels.astype(int) - converted).mean() < 1.5
    assert page.dpi == pytest.approx(100, abs=0.5)


def test_g4_pdf_pages_are_bilevel_with_exact_pixels(tmp_path):
    frames = [_bits(660, 510, seed) for seed in range(2)]
    path = tmp_path / "g4.pdf"
    path.write_bytes(img2pdf.convert(_g4_tiff_bytes(frames, dpi=300)))
    with pikepdf.open(path) as pdf:  # the test is only worth it if the image really is stored as G4
        (image,) = pdf.pages[0].Resources.XObject.values()
        assert "/CCITTFaxDecode" in str(image.Filter)
    items = _pages(path)
    assert len(items) == 2
    for item, frame in zip(items, frames):
        assert isinstance(item, PageImage)
        _check_pixels(item)
        assert item.kind == "pdf-image" and item.bilevel
        assert np.array_equal(item.pixels, frame.astype(np.uint8) * 255)
        assert item.dpi == pytest.approx(300, abs=0.5)


def test_flate_grey_and_one_bit_pdf_pages_exact(tmp_path):
    grey = _blocks(400, 300, 5)
    bits = _bits(400, 300, 6)
    path = _image_pdf(tmp_path / "flate.pdf", [
        {"pixels": grey, "matrix": (144, 0, 0, 192, 0, 0), "size": (144, 192)},  # 150 dpi
        {"pixels": bits, "bpc": 1, "matrix": (144, 0, 0, 192, 0, 0), "size": (144, 192)},
    ])
    first, second = _pages(path)
    assert first.kind == second.kind == "pdf-image"
    assert np.array_equal(first.pixels, grey) and not first.bilevel
    assert np.array_equal(second.pixels, bits.astype(np.uint8) * 255) and second.bilevel
    assert first.dpi == pytest.approx(150)


PLACEMENTS = {  # name: (matrix for an image w x h, page size) - every 90-degree turn and mirror
    "upright": (lambda w, h: (w, 0, 0, h, 0, 0), lambda w, h: (w, h)),
    "mirror-x": (lambda w, h: (-w, 0, 0, h, w, 0), lambda w, h: (w, h)),
    "mirror-y": (lambda w, h: (w, 0, 0, -h, 0, h), lambda w, h: (w, h)),
    "turned-180": (lambda w, h: (-w, 0, 0, -h, w, h), lambda w, h: (w, h)),
    "transposed": (lambda w, h: (0, w, h, 0, 0, 0), lambda w, h: (h, w)),
    "turned-90": (lambda w, h: (0, -w, h, 0, 0, w), lambda w, h: (h, w)),
    "turned-270": (lambda w, h: (0, w, -h, 0, h, 0), lambda w, h: (h, w)),
    "transverse": (lambda w, h: (0, -w, -h, 0, h, w), lambda w, h: (h, w)),
}


@pytest.mark.parametrize("rotate", [0, 90, 180, 270])
@pytest.mark.parametrize("placement", sorted(PLACEMENTS))
def test_pdf_image_keeps_the_pixels_as_the_page_shows_them(tmp_path, placement, rotate):
    h, w = 96, 64
    pixels = _blocks(h, w, seed=7)
    matrix_of, size_of = PLACEMENTS[placement]
    path = _image_pdf(tmp_path / "turned.pdf",
                      [{"pixels": pixels, "matrix": matrix_of(w, h), "size": size_of(w, h), "rotate": rotate}])
    page = _only_image(path)
    assert page.kind == "pdf-image"
    _check_pixels(page)
    with pdfium.PdfDocument(str(path)) as pdf:  # PDFium shows the page at 72 dpi = one point per pixel
        shown = pdf[0].render(scale=1, grayscale=True).to_numpy().copy()
    assert page.pixels.shape == shown.shape
    assert np.abs(page.pixels.astype(int) - shown).mean() < 6
    assert sorted(np.unique(page.pixels)) == sorted(np.unique(pixels))  # stored pixels, not resampled
    assert page.dpi == pytest.approx(72)


def test_jpeg_image_on_a_turned_page(tmp_path):
    pixels = _scan_like(120, 80)
    path = _image_pdf(tmp_path / "turned-jpeg.pdf",
                      [{"pixels": pixels, "filter": "dct", "matrix": (80, 0, 0, 120, 0, 0), "size": (80, 120),
                        "rotate": 90}])
    page = _only_image(path)
    stored = cv2.imdecode(np.frombuffer(_jpeg_bytes(pixels), np.uint8), cv2.IMREAD_GRAYSCALE)
    assert page.kind == "pdf-image" and page.pixels.shape == (80, 120)
    assert np.array_equal(page.pixels, np.rot90(stored, -1))  # /Rotate 90 shows it turned clockwise


def test_pages_with_more_than_one_image_or_any_text_or_a_small_image_are_rendered(tmp_path):
    grey = _blocks(200, 160, 8)
    path = _image_pdf(tmp_path / "mixed.pdf", [
        {"pixels": grey, "matrix": (160, 0, 0, 200, 0, 0), "size": (160, 200),
         "extra": b"BT /F1 12 Tf 10 10 Td (OCR text) Tj ET\n"},
        {"pixels": grey, "matrix": (80, 0, 0, 100, 0, 0), "size": (160, 200)},  # a quarter of the page
        {"pixels": grey, "matrix": (160, 0, 0, 200, 0, 0), "size": (160, 200)},  # a real scan page
        {"pixels": grey, "matrix": (160, 0, 0, 200, 0, 0), "size": (160, 200),
         "extra": b"0 0 m 50 50 l S\n"},  # a path
    ])
    items = _pages(path, render_dpi=144)
    assert [i.kind for i in items] == ["pdf-render", "pdf-render", "pdf-image", "pdf-render"]
    assert items[0].pixels.shape == (400, 320) and items[0].dpi == 144
    assert items[2].pixels.shape == (200, 160)


def test_vector_pdf_rendered_at_200_dpi(tmp_path):
    path = _vector_pdf(tmp_path / "phiếu bầu.pdf", pages=2)  # non-ASCII name
    items = _pages(path)
    assert len(items) == 2
    for number, page in enumerate(items, start=1):
        assert isinstance(page, PageImage)
        _check_pixels(page)
        assert (page.page, page.kind, page.dpi, page.bilevel) == (number, "pdf-render", 200.0, False)
        assert page.pixels.shape == (2339, 1654)  # A4 at 200 dpi
        # the black box: x 1-3 in, y 1-2 in from the bottom; page is 11.69 in high
        top = round((11.693 - 2) * 200)
        assert page.pixels[top + 20: top + 180, 220:580].max() < 60
        assert page.pixels[50:150, 50:150].min() > 200  # blank corner
    assert _only_image(_vector_pdf(tmp_path / "one.pdf"), render_dpi=100).pixels.shape == (1170, 827)


def test_pages_are_read_one_at_a_time(tmp_path, monkeypatch):
    jpegs = [_jpeg_bytes(_scan_like(300, 200, s)) for s in range(4)]
    path = tmp_path / "lazy.pdf"
    path.write_bytes(img2pdf.convert(jpegs))
    calls = []
    real = cv2.imdecode
    monkeypatch.setattr(ingest.cv2, "imdecode", lambda *a: calls.append(1) or real(*a))
    pages = read_pages(str(path))
    assert calls == []  # nothing decoded before it is asked for
    first = next(iter(pages))
    assert isinstance(first, PageImage) and len(calls) == 1
    rest = list(pages)
    assert len(rest) == 3 and len(calls) == 4


def test_long_pdfs_reopen_the_document_and_lose_no_page(tmp_path, monkeypatch):
    jpegs = [_jpeg_bytes(_scan_like(120, 90, s)) for s in range(5)]
    path = tmp_path / "five.pdf"
    path.write_bytes(img2pdf.convert(jpegs))
    opened = []
    real = ingest.pdfium_c.FPDF_LoadDocument
    monkeypatch.setattr(ingest.pdfium_c, "FPDF_LoadDocument", lambda *a: opened.append(1) or real(*a))
    monkeypatch.setattr(ingest, "_PDF_REOPEN_EVERY", 2)
    items = _pages(path)
    assert len(opened) == 3
    assert [i.page for i in items] == [1, 2, 3, 4, 5]
    for item, jpeg in zip(items, jpegs):
        assert np.array_equal(item.pixels, cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_GRAYSCALE))


PEAK_MEMORY = """
import sys
from omr.scan.ingest import PageImage, read_pages
n = sum(isinstance(p, PageImage) for p in read_pages(sys.argv[1]))
with open("/proc/self/status") as f:
    print(n, next(int(line.split()[1]) // 1024 for line in f if line.startswith("VmHWM:")))
"""


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="needs Linux /proc")
def test_memory_stays_flat_with_the_number_of_pages(tmp_path):
    jpeg = _jpeg_bytes(np.random.default_rng(0).integers(0, 256, (1000, 700), dtype=np.uint8), quality=95)
    assert len(jpeg) > 500_000  # PDFium keeps each page's image stream in memory until the document closes
    peaks = {}
    for n in (10, 160):
        path = tmp_path / f"{n}.pdf"
        path.write_bytes(img2pdf.convert([jpeg] * n))
        out = subprocess.run([sys.executable, "-c", PEAK_MEMORY, str(path)], capture_output=True, text=True,
                             check=True, cwd=Path(__file__).resolve().parent.parent)
        pages, peak = map(int, out.stdout.split())
        assert pages == n
        peaks[n] = peak
    assert peaks[160] - peaks[10] < 40, peaks  # 150 more pages of 0.5+ MB each would add over 75 MiB


# ------------------------------------------------------------------------------------------------
# TIFF, PNG, JPEG


def test_multipage_g4_tiff(tmp_path):
    frames = [_bits(330, 255, s) for s in range(3)]
    path = tmp_path / "batch.tif"
    path.write_bytes(_g4_tiff_bytes(frames, dpi=200))
    items = _pages(path)
    assert len(items) == 3 and count_pages(str(path)) == 3
    for number, (item, frame) in enumerate(zip(items, frames), start=1):
        assert isinstance(item, PageImage)
        _check_pixels(item)
        assert (item.page, item.kind, item.bilevel, item.dpi) == (number, "tiff", True, 200.0)
        assert np.array_equal(item.pixels, frame.astype(np.uint8) * 255)


def test_multipage_grey_tiff(tmp_path):
    frames = [_scan_like(300, 240, s) for s in range(2)]
    images = [Image.fromarray(f) for f in frames]
    path = tmp_path / "grey.tiff"
    images[0].save(path, compression="tiff_lzw", dpi=(300, 300), save_all=True, append_images=images[1:])
    items = _pages(path)
    assert [i.page for i in items] == [1, 2]
    for item, frame in zip(items, frames):
        assert item.kind == "tiff" and not item.bilevel and item.dpi == 300.0
        assert np.array_equal(item.pixels, frame)


def test_png_grey_one_bit_and_transparent(tmp_path):
    grey = _scan_like(200, 150)
    Image.fromarray(grey).save(tmp_path / "grey.png", dpi=(300, 300))
    page = _only_image(tmp_path / "grey.png")
    assert (page.kind, page.bilevel, page.dpi) == ("png", False, 300.0)
    assert np.array_equal(page.pixels, grey)

    bits = _bits(120, 90)
    Image.fromarray(bits.astype(np.uint8) * 255).convert("1").save(tmp_path / "bits.png")
    page = _only_image(tmp_path / "bits.png")
    assert page.bilevel and page.dpi is None
    assert np.array_equal(page.pixels, bits.astype(np.uint8) * 255)

    rgba = np.zeros((50, 40, 4), np.uint8)  # transparent black everywhere but an opaque black square
    rgba[10:20, 10:20, 3] = 255
    Image.fromarray(rgba, "RGBA").save(tmp_path / "alpha.png")
    page = _only_image(tmp_path / "alpha.png")
    assert page.pixels[0, 0] == 255 and page.pixels[15, 15] == 0  # transparent reads as white paper


def test_colour_png_uses_standard_grey_weights(tmp_path):
    rgb = np.zeros((10, 30, 3), np.uint8)
    rgb[:, :10] = (255, 0, 0)
    rgb[:, 10:20] = (0, 255, 0)
    rgb[:, 20:] = (0, 0, 255)
    Image.fromarray(rgb).save(tmp_path / "rgb.png")
    page = _only_image(tmp_path / "rgb.png")
    assert np.array_equal(page.pixels, cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY))
    assert (page.pixels[0, 0], page.pixels[0, 15], page.pixels[0, 25]) == (76, 150, 29)


@pytest.mark.parametrize(("orientation", "corner"), [(1, "top-left"), (3, "bottom-right"),
                                                     (6, "top-right"), (8, "bottom-left")])
def test_jpeg_exif_orientation_applied(tmp_path, orientation, corner):
    stored = np.full((200, 300), 255, np.uint8)  # 300 wide, 200 high, black square at the stored top-left
    stored[:40, :40] = 0
    exif = Image.Exif()
    exif[274] = orientation
    path = tmp_path / "ảnh phiếu.jpg"  # non-ASCII name
    Image.fromarray(stored).save(path, "JPEG", quality=95, exif=exif, dpi=(150, 150))
    page = _only_image(path)
    assert page.kind == "jpeg" and page.dpi == 150.0
    turned = orientation in (6, 8)
    assert page.pixels.shape == ((300, 200) if turned else (200, 300))
    h, w = page.pixels.shape
    rows = slice(0, 30) if corner.startswith("top") else slice(h - 30, h)
    cols = slice(0, 30) if corner.endswith("left") else slice(w - 30, w)
    assert page.pixels[rows, cols].mean() < 30, corner
    assert (page.pixels < 128).sum() == pytest.approx(1600, rel=0.1)  # only that square is dark


@pytest.mark.parametrize("orientation", range(1, 9))
def test_jpeg_exif_orientation_matches_pillow(tmp_path, orientation):
    stored = _blocks(64, 96, seed=orientation, cell=8)
    exif = Image.Exif()
    exif[274] = orientation
    path = tmp_path / "o.jpg"
    Image.fromarray(stored).save(path, "JPEG", quality=95, exif=exif)
    with Image.open(path) as im:
        shown = np.array(ImageOps.exif_transpose(im).convert("L"))
    page = _only_image(path)
    _check_pixels(page)
    assert page.pixels.shape == shown.shape
    assert np.abs(page.pixels.astype(int) - shown).mean() < 2


def _chunk_moved_to_end(png: bytes, kind: bytes) -> bytes:
    """The same PNG with one chunk moved to just before IEND (after the pixels)."""
    at, chunks = 8, []
    while at < len(png):
        length = int.from_bytes(png[at:at + 4], "big")
        chunks.append(png[at:at + 12 + length])
        at += 12 + length
    moved = [c for c in chunks if c[4:8] == kind]
    rest = [c for c in chunks if c[4:8] != kind]
    assert len(moved) == 1 and rest[-1][4:8] == b"IEND"
    return png[:8] + b"".join(rest[:-1] + moved + rest[-1:])


@pytest.mark.parametrize("after_pixels", [False, True])
@pytest.mark.parametrize("orientation", [3, 6, 8])
def test_png_exif_orientation_matches_pillow(tmp_path, orientation, after_pixels):
    stored = _blocks(64, 96, seed=orientation, cell=8)
    exif = Image.Exif()
    exif[274] = orientation
    buffer = io.BytesIO()
    Image.fromarray(stored).save(buffer, "PNG", exif=exif)
    png = buffer.getvalue()
    if after_pixels:  # allowed by the PNG spec; Pillow finds it only by decoding the pixels first
        png = _chunk_moved_to_end(png, b"eXIf")
    path = tmp_path / "o.png"
    path.write_bytes(png)
    with Image.open(path) as im:
        shown = np.array(ImageOps.exif_transpose(im).convert("L"))
    page = _only_image(path)
    assert page.pixels.shape == shown.shape == (stored.shape[::-1] if orientation in (6, 8) else stored.shape)
    assert np.array_equal(page.pixels, shown)


def test_dpi_follows_the_turn(tmp_path):
    exif = Image.Exif()
    exif[274] = 6  # shown turned a quarter: the shown width is the stored height
    Image.new("L", (60, 40), 255).save(tmp_path / "t.jpg", exif=exif, dpi=(100, 300))
    page = _only_image(tmp_path / "t.jpg")
    assert page.pixels.shape == (60, 40) and page.dpi == 300.0


def test_jpeg_pixels_match_direct_decode(tmp_path):
    pixels = _scan_like(500, 400)
    (tmp_path / "page.jpeg").write_bytes(_jpeg_bytes(pixels, dpi=200))
    page = _only_image(tmp_path / "page.jpeg")
    expected = cv2.imdecode(np.frombuffer(_jpeg_bytes(pixels, dpi=200), np.uint8), cv2.IMREAD_GRAYSCALE)
    assert np.array_equal(page.pixels, expected)
    assert (page.kind, page.bilevel, page.dpi) == ("jpeg", False, 200.0)


def test_format_is_taken_from_content_not_suffix(tmp_path):
    path = tmp_path / "really-a-jpeg.png"
    path.write_bytes(_jpeg_bytes(_scan_like(100, 80)))
    assert _only_image(path).kind == "jpeg"


# ------------------------------------------------------------------------------------------------
# folders


def test_expand_inputs_walks_folders_sorted_and_reports_missing(tmp_path):
    root = tmp_path / "scans"
    for rel in ["b/2.pdf", "b/10.PDF", "a.TIF", "c/d/x.jpeg", "c/y.png", "c/readme.txt", ".hidden.pdf",
                ".git/z.pdf", "b/scan.JPG", "b/notes.docx", "c/e.tiff"]:
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(b"x")
    (tmp_path / "empty").mkdir()
    loose = tmp_path / "loose.dat"
    loose.write_bytes(b"x")
    files, errors = expand_inputs([str(root), str(loose), str(tmp_path / "nope.pdf"), str(tmp_path / "empty"),
                                   str(root / "b" / "2.pdf")])
    expected = [root / "a.TIF", root / "b/2.pdf", root / "b/10.PDF", root / "b/scan.JPG",
                root / "c/d/x.jpeg", root / "c/e.tiff", root / "c/y.png"]
    assert files == [str(p) for p in expected] + [str(loose)]  # a file named directly is kept; no duplicate
    assert [(e.source, e.page) for e in errors] == [(str(tmp_path / "nope.pdf"), None),
                                                    (str(tmp_path / "empty"), None)]
    assert "not found" in errors[0].message and "no PDF" in errors[1].message
    assert expand_inputs([str(root)])[0] == expand_inputs([str(root)])[0]


def test_expand_inputs_keeps_paths_as_given(tmp_path, monkeypatch):
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "p.png").write_bytes(b"x")
    monkeypatch.chdir(tmp_path)
    assert expand_inputs(["in"]) == (["in/p.png"], [])
    assert expand_inputs(["in/p.png"]) == (["in/p.png"], [])


def test_supported_suffixes():
    assert SUPPORTED_SUFFIXES == (".pdf", ".tif", ".tiff", ".png", ".jpg", ".jpeg")


def test_file_sha256_and_count_pages(tmp_path):
    path = _vector_pdf(tmp_path / "three.pdf", pages=3)
    assert file_sha256(str(path)) == hashlib.sha256(path.read_bytes()).hexdigest()
    assert count_pages(str(path)) == 3
    Image.new("L", (10, 10)).save(tmp_path / "a.png")
    assert count_pages(str(tmp_path / "a.png")) == 1
    (tmp_path / "t.txt").write_text("hello")
    assert count_pages(str(tmp_path / "t.txt")) is None
    assert count_pages(str(tmp_path / "missing.pdf")) is None


# ------------------------------------------------------------------------------------------------
# bad input: each gives a clear PageError and the rest of the batch is still read


def _good_pdf(path: Path) -> Path:
    path.write_bytes(img2pdf.convert([_jpeg_bytes(_scan_like(300, 200, s)) for s in range(3)]))
    return path


def test_corrupt_pdf(tmp_path):
    path = tmp_path / "corrupt.pdf"
    path.write_bytes(b"%PDF-1.7\n" + bytes(range(256)) * 20 + b"\n%%EOF\n")
    error = _only_error(path)
    assert error.source == str(path) and error.page is None
    assert "corrupt PDF" in error.message and "ends early" not in error.message


def test_truncated_pdf(tmp_path):
    data = _good_pdf(tmp_path / "good.pdf").read_bytes()
    path = tmp_path / "cut.pdf"
    path.write_bytes(data[: len(data) // 2])
    items = _pages(path)
    errors = [i for i in items if isinstance(i, PageError)]
    assert errors, items
    assert all(isinstance(i, PageImage) for i in items[: items.index(errors[0])])  # pages before the cut, if any
    assert "truncated" in errors[0].message and errors[0].source == str(path)
    assert "ends early" in errors[0].message  # PDFium needs the trailer at the end: the cut is named as such


def test_encrypted_pdf(tmp_path):
    good = _good_pdf(tmp_path / "good.pdf")
    path = tmp_path / "locked.pdf"
    with pikepdf.open(good) as pdf:
        pdf.save(path, encryption=pikepdf.Encryption(user="secret", owner="owner"))
    error = _only_error(path)
    assert error.page is None and "encrypted PDF: needs a password" in error.message


def test_pdf_with_only_an_owner_password_is_read(tmp_path):
    good = _good_pdf(tmp_path / "good.pdf")
    path = tmp_path / "restricted.pdf"
    with pikepdf.open(good) as pdf:
        pdf.save(path, encryption=pikepdf.Encryption(user="", owner="owner"))
    assert [i.kind for i in _pages(path)] == ["pdf-image"] * 3


def test_empty_pdfs(tmp_path):
    zero = tmp_path / "zero.pdf"
    zero.write_bytes(b"")
    error = _only_error(zero)
    assert error.page is None and "empty file (0 bytes)" in error.message
    no_pages = tmp_path / "nopages.pdf"
    pikepdf.new().save(no_pages)
    error = _only_error(no_pages)
    assert error.page is None and error.message == "PDF has no pages"
    assert count_pages(str(no_pages)) == 0


@pytest.mark.parametrize("name", ["notes.pdf", "notes.png", "notes.tif", "notes.jpg"])
def test_text_file_with_a_scan_name(tmp_path, name):
    path = tmp_path / name
    path.write_text("Biên bản kiểm phiếu\n", encoding="utf-8")
    error = _only_error(path)
    assert error.page is None
    assert error.message.startswith("not an image or PDF (starts with bytes 42 69 c3 aa")


def test_other_image_formats_are_named(tmp_path):
    path = tmp_path / "scan.png"
    Image.new("L", (20, 20)).save(path, "GIF")
    assert "GIF image, not a supported scan" in _only_error(path).message


def test_hundred_megapixel_png_refused_before_decoding(tmp_path, monkeypatch):
    path = tmp_path / "huge.png"
    Image.new("1", (10_000, 10_000), 1).save(path)  # all white: a small file, 100 megapixels

    def no_decoding(*args, **kwargs):
        raise AssertionError("decoded a refused image")

    monkeypatch.setattr(ingest.cv2, "imdecode", no_decoding)
    monkeypatch.setattr(Image.Image, "load", no_decoding)
    error = _only_error(path)
    assert (error.source, error.page) == (str(path), 1)
    assert error.message.startswith("image is 100.0 megapixels (10000 x 10000 pixels); at most 60 allowed")


def test_hundred_megapixel_jpeg_refused(tmp_path):
    path = tmp_path / "huge.jpg"
    Image.new("L", (12_000, 9_000), 255).save(path, quality=10)  # 108 megapixels
    error = _only_error(path)
    assert error.page == 1 and "108.0 megapixels" in error.message
    assert _only_image(path, max_megapixels=200).pixels.shape == (9_000, 12_000)


def test_huge_image_in_pdf_and_huge_pdf_page_refused(tmp_path, monkeypatch):
    huge = np.ones((10_000, 10_000), bool)  # 1-bit white, compresses to almost nothing
    path = _image_pdf(tmp_path / "huge.pdf", [
        {"pixels": huge, "bpc": 1, "matrix": (612, 0, 0, 612, 0, 0), "size": (612, 612)},
        {"pixels": _blocks(40, 40), "matrix": (5000, 0, 0, 5000, 0, 0), "size": (5000, 5000),
         "extra": b"0 0 m 5 5 l S\n"},  # a path: rendered at 200 dpi = 13,889 pixels square
    ])
    monkeypatch.setattr(pdfium.PdfImage, "get_bitmap", lambda *a, **k: pytest.fail("decoded a refused image"))
    monkeypatch.setattr(pdfium.PdfPage, "render", lambda *a, **k: pytest.fail("rendered a refused page"))
    first, second = _pages(path)
    assert isinstance(first, PageError) and first.page == 1
    assert first.message.startswith("image is 100.0 megapixels")
    assert isinstance(second, PageError) and second.page == 2
    assert "rendered at 200 dpi" in second.message and "192.9 megapixels" in second.message


def test_missing_path_and_folder(tmp_path):
    error = _only_error(tmp_path / "gone.pdf")
    assert (error.source, error.page, error.message) == (str(tmp_path / "gone.pdf"), None, "file not found")
    assert "folder" in _only_error(tmp_path).message


def test_corrupt_page_in_the_middle_of_a_pdf(tmp_path):
    good = _good_pdf(tmp_path / "good.pdf")
    path = tmp_path / "bad-page.pdf"
    with pikepdf.open(good) as pdf:
        (image,) = pdf.pages[1].Resources.XObject.values()
        image.write(b"\xff\xd8\xff\xe0 this is not JPEG data" * 10, filter=pikepdf.Name.DCTDecode)
        pdf.save(path)
    items = _pages(path)
    assert [type(i) for i in items] == [PageImage, PageError, PageImage]
    assert items[1].page == 2 and "corrupt" in items[1].message and "JPEG" in items[1].message
    assert str(items[1]) == f"{path}, page 2: {items[1].message}"


def test_truncated_images(tmp_path):
    jpeg = _jpeg_bytes(_scan_like(300, 200))
    (tmp_path / "cut.jpg").write_bytes(jpeg[: len(jpeg) // 2])
    buf = io.BytesIO()
    Image.fromarray(_scan_like(300, 200)).save(buf, "PNG")
    (tmp_path / "cut.png").write_bytes(buf.getvalue()[: len(buf.getvalue()) // 2])
    for name in ("cut.jpg", "cut.png"):
        error = _only_error(tmp_path / name)
        assert error.page == 1 and "truncated" in error.message, error


def test_truncated_multipage_tiff_reads_the_pages_before_the_cut(tmp_path):
    data = _g4_tiff_bytes([_bits(200, 160, s) for s in range(4)])
    path = tmp_path / "cut.tif"
    path.write_bytes(data[: len(data) * 5 // 8])
    items = _pages(path)
    assert isinstance(items[0], PageImage)
    assert isinstance(items[-1], PageError) and "truncated or corrupt TIFF" in items[-1].message
    assert all(isinstance(i, PageImage) for i in items[:-1]) and 1 <= len(items) - 1 < 4
    assert count_pages(str(path)) is None  # unknown, so that nobody splits the file on a wrong count


def test_a_tiff_cut_anywhere_is_never_read_as_complete(tmp_path):
    rng = np.random.default_rng(1)
    data = _g4_tiff_bytes([rng.random((50, 40)) > 0.5 for _ in range(3)], dpi=300)
    path = tmp_path / "cut.tif"
    for cut in range(len(data) // 3, len(data), 16):  # Pillow fails at some cuts and only warns at others
        path.write_bytes(data[:cut])
        items = _pages(path)
        assert isinstance(items[-1], PageError) and "TIFF" in items[-1].message, cut
        assert count_pages(str(path)) is None, cut


def test_a_batch_with_bad_files_still_reads_the_good_ones(tmp_path):
    folder = tmp_path / "batch"
    folder.mkdir()
    _good_pdf(folder / "01-good.pdf")
    (folder / "02-zero.pdf").write_bytes(b"")
    (folder / "03-text.png").write_text("not a scan")
    good = (folder / "01-good.pdf").read_bytes()
    (folder / "04-cut.pdf").write_bytes(good[: len(good) // 3])
    Image.fromarray(_scan_like(100, 80)).save(folder / "05-good.png")
    files, errors = expand_inputs([str(folder), str(tmp_path / "missing")])
    assert len(files) == 5 and len(errors) == 1
    results = {Path(f).name: _pages(f) for f in files}
    assert [i.kind for i in results["01-good.pdf"]] == ["pdf-image"] * 3
    assert [i.kind for i in results["05-good.png"]] == ["png"]
    for name in ("02-zero.pdf", "03-text.png", "04-cut.pdf"):
        assert any(isinstance(i, PageError) and i.source.endswith(name) for i in results[name]), name


def test_bad_arguments_raise_at_once():
    with pytest.raises(ValueError):
        read_pages("x.pdf", max_megapixels=0)
    with pytest.raises(ValueError):
        read_pages("x.pdf", render_dpi=-1)
    with pytest.raises(ValueError):
        read_pages("x.pdf", first=0)
    with pytest.raises(ValueError):
        read_pages("x.pdf", first=3, last=2)


def test_page_ranges_for_workers(tmp_path):
    pdf = tmp_path / "five.pdf"
    pdf.write_bytes(img2pdf.convert([_jpeg_bytes(_scan_like(200, 150, s)) for s in range(5)]))
    whole = _pages(pdf)
    assert [p.page for p in _pages(pdf, first=2, last=3)] == [2, 3]
    assert [p.page for p in _pages(pdf, first=4)] == [4, 5]
    assert _pages(pdf, first=6) == []
    assert np.array_equal(_pages(pdf, first=3, last=3)[0].pixels, whole[2].pixels)
    tif = tmp_path / "four.tif"
    tif.write_bytes(_g4_tiff_bytes([_bits(60, 45, s) for s in range(4)]))
    chunk = _pages(tif, first=2, last=3)
    assert [p.page for p in chunk] == [2, 3]
    assert np.array_equal(chunk[1].pixels, _pages(tif)[2].pixels)
    Image.new("L", (10, 10)).save(tmp_path / "one.png")
    assert [p.page for p in _pages(tmp_path / "one.png", first=1, last=1)] == [1]
    assert _pages(tmp_path / "one.png", first=2) == []
    (tmp_path / "bad.pdf").write_bytes(b"%PDF-1.4 nothing")
    assert [e.page for e in _pages(tmp_path / "bad.pdf", first=3, last=4)] == [None]  # whole-file errors always


# ------------------------------------------------------------------------------------------------
# pdf2image (optional)


@pytest.mark.skipif(shutil.which("pdftoppm") is None, reason="poppler is not installed")
def test_pdf2image_with_poppler(tmp_path):
    pytest.importorskip("pdf2image")
    path = _vector_pdf(tmp_path / "v.pdf", pages=2)
    items = list(read_pdf_with_pdf2image(str(path), 100))
    assert [(i.page, i.kind, i.pixels.shape) for i in items] == [(1, "pdf-render", (1170, 827)),
                                                                  (2, "pdf-render", (1170, 827))]
    ours = _pages(path, render_dpi=100)[0].pixels
    assert np.abs(items[0].pixels.astype(int) - ours).mean() < 3
    empty = tmp_path / "empty.pdf"
    pikepdf.new().save(empty)
    assert [e.message for e in read_pdf_with_pdf2image(str(empty))] == ["PDF has no pages"]


def test_pdf2image_missing_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "pdf2image", None)  # import fails
    path = _vector_pdf(tmp_path / "v.pdf")
    (error,) = list(read_pdf_with_pdf2image(str(path), 200))
    assert error.page is None and "pdf2image is not installed" in error.message


def test_pdf2image_path_one_page_at_a_time(tmp_path, monkeypatch):
    calls = []
    fake = types.ModuleType("pdf2image")
    errors = types.ModuleType("pdf2image.exceptions")

    class PDFInfoNotInstalledError(Exception):
        pass

    errors.PDFInfoNotInstalledError = PDFInfoNotInstalledError
    fake.exceptions = errors
    fake.pdfinfo_from_path = lambda path, **kw: {"Pages": 2}

    def convert_from_path(path, dpi, first_page, last_page, grayscale):
        calls.append((first_page, last_page, dpi, grayscale))
        return [Image.new("L", (int(8.5 * dpi), int(11 * dpi)), 255)]

    fake.convert_from_path = convert_from_path
    monkeypatch.setitem(sys.modules, "pdf2image", fake)
    monkeypatch.setitem(sys.modules, "pdf2image.exceptions", errors)
    path = _vector_pdf(tmp_path / "v.pdf", pages=2)
    items = list(read_pdf_with_pdf2image(str(path), 100))
    assert calls == [(1, 1, 100, True), (2, 2, 100, True)]
    assert [(i.page, i.kind, i.dpi, i.pixels.shape) for i in items] == [(1, "pdf-render", 100.0, (1100, 850)),
                                                                          (2, "pdf-render", 100.0, (1100, 850))]

    def no_poppler(path, **kw):
        raise PDFInfoNotInstalledError("pdfinfo not found")

    fake.pdfinfo_from_path = no_poppler
    (error,) = list(read_pdf_with_pdf2image(str(path), 100))
    assert "poppler is not installed" in error.message
