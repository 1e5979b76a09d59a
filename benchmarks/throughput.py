"""Throughput: sheets per second per process, next to the cost of only decoding the same pages.

    python benchmarks/throughput.py                 # 100 pages a set, jobs 1 vs 2
    python benchmarks/throughput.py --memory 2000   # also: peak RSS of `omr scan` on a 2,000-page PDF

Everything is measured in one run, so the ratios hold on a noisy machine: for each set (200 dpi grey
JPEG, 300 dpi grey JPEG, 200 dpi 1-bit G4, as scanners write them), decode-only and decode+read
passes alternate and the medians are compared. Targets: read within 2x decode; --jobs 2 at least
1.7x --jobs 1; memory flat in the size of the batch.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from ballot_sim import simulate as S  # noqa: E402
from omr.ballot.template import load_template  # noqa: E402
from omr.read.calibration import load_profile  # noqa: E402
from omr.read.pipeline import TemplateBook, read_sheet  # noqa: E402
from omr.scan.batch import ScanOptions, scan  # noqa: E402
from omr.scan.ingest import PageImage, read_pages  # noqa: E402
from omr.store.database import Store  # noqa: E402

TEMPLATES = {"seed (1 person, 3 boxes)": ROOT / "ballot_templates" / "tin-nhiem-cdyt-dong-nai-2023.yaml",
             "28 leaders (2 pages, 84 boxes)": ROOT / "ballot_templates" / "tin-nhiem-28-lanh-dao.yaml"}
SETS = (("200 dpi grey JPEG", "office-scanner", 200.0, None),
        ("300 dpi grey JPEG", "office-scanner", 300.0, None),
        ("200 dpi 1-bit G4", "1bit", 200.0, ("fixed", 150.0, 0.0)))


def make_pdf(path: Path, template_path: Path, profile: str, dpi: float, threshold, pages: int, seed: int = 7) -> None:
    """A scanner-like PDF: one embedded image per page, straight and clean enough to be typical."""
    template = load_template(template_path)
    sim = S.Simulator([template], seed)
    overrides = {"rotation": 0, "skew_deg": 0.3}
    if threshold is not None:
        overrides["threshold"] = threshold
    made: list[S.SimulatedPage] = []
    i = 0
    while len(made) < pages:
        made += sim.ballot(i, template, profile, dpi=dpi, overrides=overrides)
        i += 1
    S.write_pages(made[:pages], path.parent, path.name, "pdf")


def timed_pass(path: Path, book: TemplateBook | None) -> float:
    """Seconds per page for decoding (book None) or decoding and reading every page."""
    profile = load_profile()
    started = time.perf_counter()
    n = 0
    for item in read_pages(str(path)):
        assert isinstance(item, PageImage), item
        if book is not None:
            read_sheet(item.pixels, item.source, item.page, book, profile)
        n += 1
    return (time.perf_counter() - started) / n


def per_process(work: Path, pages: int, rounds: int) -> None:
    print(f"{'template':32} {'pages':22} {'decode ms':>9} {'read ms':>8} {'ratio':>6} {'sheets/s':>8}")
    for tname, tpath in TEMPLATES.items():
        book = TemplateBook.from_templates([load_template(tpath)])
        for sname, profile, dpi, threshold in SETS:
            pdf = work / f"{tpath.stem}-{profile}-{dpi:.0f}.pdf"
            make_pdf(pdf, tpath, profile, dpi, threshold, pages)
            timed_pass(pdf, book)  # warm up: references rendered, caches filled
            decode, full = [], []
            for _ in range(rounds):
                decode.append(timed_pass(pdf, None))
                full.append(timed_pass(pdf, book))
            d, f = statistics.median(decode), statistics.median(full)
            print(f"{tname:32} {sname:22} {d * 1e3:9.1f} {f * 1e3:8.1f} {f / d:6.2f} {1 / f:8.1f}", flush=True)


def jobs_speedup(work: Path, pages: int) -> None:
    tpath = TEMPLATES["28 leaders (2 pages, 84 boxes)"]
    pdf = work / "jobs.pdf"
    make_pdf(pdf, tpath, "office-scanner", 200.0, None, pages)
    templates = [load_template(p) for p in TEMPLATES.values()]
    seconds = {}
    for jobs in (1, 2, 1, 2):
        options = ScanOptions(tuple(templates), tuple(map(str, TEMPLATES.values())), load_profile(), jobs=jobs)
        db = work / f"jobs-{jobs}-{time.monotonic_ns()}.sqlite"
        started = time.perf_counter()
        with Store(db) as store:
            summary = scan([str(pdf)], store, options)
        seconds.setdefault(jobs, []).append(time.perf_counter() - started)
        assert summary.sheets == pages
    one, two = min(seconds[1]), min(seconds[2])
    print(f"omr scan, {pages} pages of 200 dpi grey (28 leaders), stored in SQLite: --jobs 1 {pages / one:.1f} "
          f"sheets/s, --jobs 2 {pages / two:.1f} sheets/s: {one / two:.2f}x")


def memory(work: Path, pages: int) -> None:
    """Peak RSS of `omr scan` (one process) on one PDF of `pages` pages, next to a 50-page one."""
    tpath = TEMPLATES["seed (1 person, 3 boxes)"]
    small = work / "mem-base.pdf"
    make_pdf(small, tpath, "office-scanner", 200.0, None, 50)
    big = work / f"mem-{pages}.pdf"
    # the 50 pages over and over: a long batch without spending minutes simulating it
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter()
    reader = PdfReader(str(small))
    for i in range(pages):
        writer.add_page(reader.pages[i % 50])
    with open(big, "wb") as f:
        writer.write(f)
    for pdf in (small, big):
        # VmHWM: the peak of this process alone (ru_maxrss would carry the parent's over exec)
        code = ("import sys; from omr.cli.main import main; rc = main(sys.argv[1:]); "
                "print([ln.split()[1] for ln in open('/proc/self/status') if ln.startswith('VmHWM')][0])")
        out = subprocess.run([sys.executable, "-c", code, "scan", str(pdf), "--template", str(tpath), "--db",
                              str(work / f"{pdf.stem}.sqlite")], capture_output=True, text=True,
                             env={**os.environ, "PYTHONPATH": str(ROOT)})
        rss_mb = int(out.stdout.strip().splitlines()[-1]) / 1024
        print(f"omr scan on {pdf.name} ({sum(1 for _ in PdfReader(str(pdf)).pages)} pages): peak RSS {rss_mb:.0f} MB")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--pages", type=int, default=100, help="pages a set (default 100)")
    ap.add_argument("--rounds", type=int, default=3, help="alternating decode/read passes (default 3)")
    ap.add_argument("--jobs-pages", type=int, default=300, help="pages for the --jobs comparison (default 300)")
    ap.add_argument("--memory", type=int, default=0, metavar="PAGES", help="also measure peak RSS on PAGES pages")
    args = ap.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="omr-throughput-"))
    print(f"{os.cpu_count()} cores; one process unless said; work folder {work}")
    per_process(work, args.pages, args.rounds)
    jobs_speedup(work, args.jobs_pages)
    if args.memory:
        memory(work, args.memory)
    return 0


if __name__ == "__main__":
    sys.exit(main())
