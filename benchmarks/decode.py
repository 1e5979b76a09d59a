"""Decode cost per page: scanner-like PDFs (one embedded image per page) and our vector ballots.

Makes, in a temporary folder, from a bundled template rendered and "scanned" (paper tone, noise, blur):
  * a PDF of 200 dpi grey JPEG pages (img2pdf embeds the JPEG as stored, like a scanner),
  * a PDF of 200 dpi 1-bit CCITT G4 pages (likewise),
  * the vector ballot PDF itself,
then reads them with omr.scan.ingest.read_pages and prints milliseconds per page (median and mean), next to
PDFium rendering the same scanned pages at 200 dpi (what reading would cost without taking the
embedded image). ``--memory-pages N`` also reads N-page G4 and JPEG PDFs in a fresh process and prints
the peak memory (Linux), next to 50-page ones, to show it stays flat in the number of pages.

    python3 benchmarks/decode.py [--pages 40] [--dpi 200] [--memory-pages 2000]

Needs img2pdf (a test dependency).
"""

from __future__ import annotations

import argparse
import io
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cv2
import img2pdf
import numpy as np
import pypdfium2 as pdfium
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from omr.ballot.generate import ballots_pdf  # noqa: E402
from omr.ballot.template import load_template  # noqa: E402
from omr.scan.ingest import PageImage, read_pages  # noqa: E402

TEMPLATE = ROOT / "ballot_templates" / "tin-nhiem-28-lanh-dao.yaml"


def scanned_pages(vector_pdf: bytes, dpi: float, variants: int) -> list[np.ndarray]:
    """The ballot rendered at `dpi` and degraded like a flatbed scan, a few different ways."""
    pdf = pdfium.PdfDocument(vector_pdf)
    clean = pdf[0].render(scale=dpi / 72, grayscale=True).to_numpy().copy()
    pdf.close()
    rng = np.random.default_rng(0)
    pages = []
    for _ in range(variants):
        page = clean.astype(np.float32) * (0.9 + 0.05 * rng.random()) + 10  # paper tone, toner density
        page = cv2.GaussianBlur(page, (3, 3), 0.6)
        page += rng.normal(0, 3.0, page.shape).astype(np.float32)
        pages.append(np.clip(page, 0, 255).astype(np.uint8))
    return pages


def jpeg_bytes(page: np.ndarray, dpi: float) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(page).save(buf, "JPEG", quality=85, dpi=(dpi, dpi))
    return buf.getvalue()


def g4_bytes(page: np.ndarray, dpi: float) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(np.where(page > 160, 255, 0).astype(np.uint8)).convert("1").save(
        buf, "TIFF", compression="group4", dpi=(dpi, dpi))
    return buf.getvalue()


def time_read(path: Path, expected_kind: str) -> list[float]:
    """Milliseconds for each page as read_pages yields it."""
    times = []
    pages = read_pages(str(path))
    while True:
        start = time.perf_counter()
        try:
            item = next(pages)
        except StopIteration:
            break
        times.append((time.perf_counter() - start) * 1000)
        if not isinstance(item, PageImage) or item.kind != expected_kind:
            raise SystemExit(f"{path.name}: expected {expected_kind} pages, got {item!r}")
    return times


def time_render(path: Path, dpi: float) -> list[float]:
    """Milliseconds per page for PDFium rendering the page at `dpi` in grey (the alternative)."""
    times = []
    pdf = pdfium.PdfDocument(str(path))
    for index in range(len(pdf)):
        start = time.perf_counter()
        page = pdf[index]
        page.render(scale=dpi / 72, grayscale=True).to_numpy().copy()
        page.close()
        times.append((time.perf_counter() - start) * 1000)
    pdf.close()
    return times


def line(name: str, times: list[float]) -> str:
    return f"{name:<48} {statistics.median(times):7.1f} {statistics.fmean(times):7.1f} {len(times):6d}"


PEAK_MEMORY = """
import sys
sys.path.insert(0, {root!r})
from omr.scan.ingest import PageImage, read_pages


def peak_mib():  # this process's own high-water mark (ru_maxrss would count the parent's, copied at fork)
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) // 1024 for line in f if line.startswith("VmHWM:"))


before = peak_mib()
n = sum(isinstance(p, PageImage) for p in read_pages({path!r}))
print(n, before, peak_mib())
"""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=40, help="pages per PDF (default 40)")
    parser.add_argument("--dpi", type=float, default=200.0, help="scan resolution (default 200)")
    parser.add_argument("--memory-pages", type=int, default=0,
                        help="also read a G4 PDF of this many pages in a fresh process and print peak memory")
    args = parser.parse_args(argv)

    template = load_template(TEMPLATE)
    vector = ballots_pdf(template, copies=args.pages)
    scans = scanned_pages(ballots_pdf(template), args.dpi, variants=8)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        files = {
            "jpeg": folder / "grey-jpeg.pdf",
            "g4": folder / "g4.pdf",
            "vector": folder / "vector.pdf",
        }
        jpegs = [jpeg_bytes(p, args.dpi) for p in scans]
        g4s = [g4_bytes(p, args.dpi) for p in scans]
        files["jpeg"].write_bytes(img2pdf.convert([jpegs[i % len(jpegs)] for i in range(args.pages)]))
        files["g4"].write_bytes(img2pdf.convert([g4s[i % len(g4s)] for i in range(args.pages)]))
        files["vector"].write_bytes(vector)

        h, w = scans[0].shape
        print(f"{args.pages} pages per PDF, {w} x {h} pixels ({args.dpi:g} dpi); "
              f"JPEG {statistics.fmean(map(len, jpegs)) / 1024:.0f} KiB/page, "
              f"G4 {statistics.fmean(map(len, g4s)) / 1024:.0f} KiB/page")
        print(f"{'ms per page':<48} {'median':>7} {'mean':>7} {'pages':>6}")
        for _ in range(2):  # warm up caches and imports
            time_read(files["jpeg"], "pdf-image")
        print(line(f"grey JPEG scan: embedded image ({args.dpi:g} dpi)", time_read(files["jpeg"], "pdf-image")))
        print(line("grey JPEG scan: PDFium render at 200 dpi", time_render(files["jpeg"], 200)))
        print(line(f"1-bit G4 scan: embedded image ({args.dpi:g} dpi)", time_read(files["g4"], "pdf-image")))
        print(line("1-bit G4 scan: PDFium render at 200 dpi", time_render(files["g4"], 200)))
        print(line("vector ballot: PDFium render at 200 dpi", time_read(files["vector"], "pdf-render")))

        if args.memory_pages and sys.platform == "linux":
            for label, pages in (("1-bit G4", g4s), ("grey JPEG", jpegs)):
                for n in sorted({min(50, args.memory_pages), args.memory_pages}):
                    path = folder / f"memory-{n}.pdf"
                    path.write_bytes(img2pdf.convert([pages[i % len(pages)] for i in range(n)]))
                    code = PEAK_MEMORY.format(root=str(ROOT), path=str(path))
                    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
                    read, before, after = out.stdout.split()
                    print(f"peak memory reading {read} {label} pages: {after} MiB (after imports: {before} MiB)")
                    path.unlink()
        elif sys.platform != "linux":
            print("--memory-pages needs Linux (/proc)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
