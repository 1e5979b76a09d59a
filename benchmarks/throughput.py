"""Throughput: whole `omr scan` next to the cost of only decoding the same pages, in one run (issue 15).

    python benchmarks/throughput.py                        # everything below, large run of 100,000 sheets
    python benchmarks/throughput.py --pages 100 --large 3000   # smaller, for a quick look

Printed, in this order, all measured in this one run so that the ratios hold on a noisy machine:
1. for the seed ballot (1 person, 3 boxes) and the 28-leader ballot (2 pages, 84 boxes), each as 200 dpi
   grey JPEG-in-PDF, 200 dpi 1-bit G4-in-PDF and 300 dpi grey JPEG-in-PDF (as scanners store them):
   decode-only pages/s (the embedded images taken out and decoded, nothing else) and whole `omr scan`
   sheets/s (a fresh process, one job: start-up, reading, database and --json included), and the ratio,
   by the wall clock and by CPU seconds (the CPU ratio is the steadier one when other work shares the
   machine). Decode and scan passes alternate; medians.
2. `--jobs 2` against `--jobs 1` (wall clock).
3. where a sheet's time goes: CPU milliseconds per sheet by stage, one in-process scan with a CPU clock
   round each stage's function (cProfile, used before, charged every Python call and inflated the
   Python-heavy stages up to 40-fold: the 28-leader JSON showed 14 ms a sheet for 0.4).
4. sheets/s and peak RSS (VmHWM of the scan process) at 1,000 sheets and at --large sheets, made by
   streaming simulated pages into PDFs of 1,000 pages: a pool of simulated blank ballots, each copy
   marked afresh (an X in one box per row, drawn where the page's own corner marks put the box), put on
   paper of its own (two of a few paper textures, rolled at random) and shifted, so that every sheet is a
   different image with different ink and paper: a copy is never taken for a re-scan of another.
Targets (issue 15): scan within 2.0x decode on the seed ballot (2.5x on the 28-leader one); --jobs 2 at
least 1.85x --jobs 1; sheets/s at the large size within 10% of 1,000; RSS flat.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from ballot_sim import simulate as S  # noqa: E402
from omr.ballot.layout import layout  # noqa: E402
from omr.ballot.template import load_template  # noqa: E402
from omr.read.pipeline import TemplateBook  # noqa: E402
from omr.read.register import register  # noqa: E402
from omr.scan.ingest import PageImage, read_pages  # noqa: E402

TEMPLATES = {"seed (1 person, 3 boxes)": ROOT / "ballot_templates" / "tin-nhiem-cdyt-dong-nai-2023.yaml",
             "28 leaders (2 pages, 84 boxes)": ROOT / "ballot_templates" / "tin-nhiem-28-lanh-dao.yaml"}
SETS = (("200 dpi grey JPEG", "office-scanner", 200.0, None),
        ("200 dpi 1-bit G4", "1bit", 200.0, ("fixed", 150.0, 0.0)),
        ("300 dpi grey JPEG", "office-scanner", 300.0, None))
# the peak RSS of the scan process alone (ru_maxrss would carry the parent's over exec), printed last
SCAN = ("import sys; from omr.cli.main import main; rc = main(sys.argv[1:]); "
        "print([ln.split()[1] for ln in open('/proc/self/status') if ln.startswith('VmHWM')][0]); sys.exit(rc)")


def make_pdf(path: Path, template_path: Path, profile: str, dpi: float, threshold, pages: int, seed: int = 7) -> None:
    """A scanner-like PDF: one embedded image per page, straight and clean enough to be typical;
    written page by page (memory flat)."""
    template = load_template(template_path)
    sim = S.Simulator([template], seed)
    overrides = {"rotation": 0, "skew_deg": 0.3}
    if threshold is not None:
        overrides["threshold"] = threshold
    written, i = 0, 0
    with open(path, "wb") as fh:
        writer = S.PdfImageWriter(fh)
        while written < pages:
            for p in sim.ballot(i, template, profile, dpi=dpi, overrides=overrides)[:pages - written]:
                writer.add_page(p.scan.pixels, p.scan.dpi, p.scan.bilevel, p.scan.settings.pack_quality)
                written += 1
            i += 1
        writer.close()


def decode_pass(path: Path) -> tuple[float, float, int]:
    """Wall and CPU seconds to take every page's image out of the file and decode it; pages."""
    wall, cpu = time.perf_counter(), time.process_time()
    n = 0
    for item in read_pages(str(path)):
        assert isinstance(item, PageImage), item
        n += 1
    return time.perf_counter() - wall, time.process_time() - cpu, n


def scan_pass(inputs: list[Path], templates: list[Path], work: Path, jobs: int = 1,
              json_out: bool = True) -> tuple[float, float, float]:
    """Whole `omr scan` in a fresh process: wall seconds, CPU seconds (with its workers), peak RSS (MB)."""
    stamp = time.monotonic_ns()
    cmd = [sys.executable, "-c", SCAN, "scan", *map(str, inputs), "--template", *map(str, templates),
           "--db", str(work / f"scan-{stamp}.sqlite"), "--jobs", str(jobs)]
    if json_out:
        cmd += ["--json", str(work / f"scan-{stamp}.json")]
    wall = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                            env={**os.environ, "PYTHONPATH": str(ROOT)})
    out = proc.stdout.read() if proc.stdout else ""
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - wall
    if os.waitstatus_to_exitcode(status) not in (0, 1):
        raise RuntimeError(f"omr scan failed: {' '.join(cmd)}")
    for path in work.glob(f"scan-{stamp}.*"):
        path.unlink()
    return wall, usage.ru_utime + usage.ru_stime, int(out.strip().splitlines()[-1]) / 1024


def per_process(work: Path, pages: int, rounds: int) -> dict[str, Path]:
    """Table 1; returns the PDFs made (the later parts reuse some)."""
    print(f"\n1. one process ({pages} pages a set; {rounds} rounds, medians; ratio = scan time / decode time)")
    print(f"{'ballot':32} {'pages':18} {'decode/s':>8} {'scan/s':>7} {'ratio':>6} {'cpu ratio':>9}")
    made = {}
    paths = list(TEMPLATES.values())
    for tname, tpath in TEMPLATES.items():
        for sname, profile, dpi, threshold in SETS:
            pdf = work / f"{tpath.stem}-{profile}-{dpi:.0f}.pdf"
            make_pdf(pdf, tpath, profile, dpi, threshold, pages)
            made[f"{tname}|{sname}"] = pdf
            decode_pass(pdf)  # warm the file cache
            d_wall, d_cpu, s_wall, s_cpu = [], [], [], []
            for _ in range(rounds):
                w, c, n = decode_pass(pdf)
                d_wall.append(w)
                d_cpu.append(c)
                w, c, _ = scan_pass([pdf], paths, work)
                s_wall.append(w)
                s_cpu.append(c)
            dw, dc, sw, sc = (statistics.median(v) for v in (d_wall, d_cpu, s_wall, s_cpu))
            print(f"{tname:32} {sname:18} {n / dw:8.1f} {n / sw:7.1f} {sw / dw:6.2f} {sc / dc:9.2f}", flush=True)
    return made


def jobs_speedup(work: Path, pdf: Path, label: str) -> None:
    paths = list(TEMPLATES.values())
    seconds: dict[int, list[float]] = {1: [], 2: []}
    for jobs in (1, 2, 1, 2):
        seconds[jobs].append(scan_pass([pdf], paths, work, jobs)[0])
    one, two = min(seconds[1]), min(seconds[2])
    print(f"\n2. omr scan --jobs 1 vs --jobs 2 ({label}, best of 2 each): {one:.1f} s vs {two:.1f} s: {one / two:.2f}x")


# stage: (module, attribute: a function or Class.method, looked up there when called); disjoint unless said
STAGES = (("decode (take the embedded image, decode)", "omr.scan.ingest", "_take_image"),
          ("pixel SHA-256 (image_sha256)", "omr.read.pipeline", "image_sha256"),
          ("registration (markers, transform)", "omr.read.pipeline", "register"),
          ("QR code", "omr.read.pipeline", "read_sheet_code"),
          ("ink levels", "omr.read.pipeline", "ink_levels"),
          ("blur", "omr.read.pipeline", "sheet_blur_mm"),
          ("blank page reference (once per page of a template)", "omr.read.pipeline", "TemplateBook.reference"),
          ("inspection (writing, names, streaks, folds)", "omr.read.pipeline", "inspect_page"),
          ("boxes", "omr.read.pipeline", "measure_boxes"),
          ("duplicate signature", "omr.read.pipeline", "_signature"),
          ("duplicate look-ups in a file by descriptor, as pages come", "omr.scan.batch", "_Duplicates.look_ahead"),
          ("duplicate check (stored and in-file, full comparisons)", "omr.scan.batch", "_Duplicates.check_file"),
          ("store (SQLite, log chain; includes the duplicate check)", "omr.store.database", "Store.record_file"),
          ("JSON of the sheets and the digest's lines (json.dumps)", "json", "dumps"),
          ("digest (its lines sorted in SQLite, hashed)", "omr.cli.scan", "_Reads.digest"))


@contextlib.contextmanager
def stage_clocks() -> Iterator[dict[str, float]]:
    """CPU seconds spent in each stage's function (outermost calls only) while the block runs."""
    import functools
    import importlib

    spent = {name: 0.0 for name, _, _ in STAGES}
    undo = []
    for name, module_name, attribute in STAGES:
        owner = importlib.import_module(module_name)
        *path, leaf = attribute.split(".")
        for part in path:
            owner = getattr(owner, part)
        original = getattr(owner, leaf)
        depth = [0]

        def clocked(*args, _original=original, _name=name, _depth=depth, **kwargs):
            _depth[0] += 1
            started = time.process_time()
            try:
                return _original(*args, **kwargs)
            finally:
                _depth[0] -= 1
                if not _depth[0]:
                    spent[_name] += time.process_time() - started

        setattr(owner, leaf, functools.wraps(original)(clocked))
        undo.append((owner, leaf, original))
    try:
        yield spent
    finally:
        for owner, leaf, original in undo:
            setattr(owner, leaf, original)


def stages(work: Path, pdf: Path, label: str) -> None:
    """Milliseconds per sheet by stage, from one in-process `omr scan` with a CPU clock round each stage."""
    from omr.cli.main import main

    sheets = sum(1 for _ in read_pages(str(pdf)))
    stamp = time.monotonic_ns()
    args = ["scan", str(pdf), "--template", *map(str, TEMPLATES.values()), "--db", str(work / f"stages-{stamp}.sqlite"),
            "--json", str(work / f"stages-{stamp}.json"), "--jobs", "1"]
    started = time.process_time()  # CPU seconds: other work on the machine does not count
    with stage_clocks() as spent, contextlib.redirect_stdout(io.StringIO()):
        main(args)
    total = time.process_time() - started
    print(f"\n3. where the time goes, CPU ms per sheet ({label}, {sheets} sheets, one process; total "
          f"{total / sheets * 1e3:.1f} ms a sheet, start-up of the interpreter not included)")
    for name, _, _ in STAGES:
        print(f"   {name:58} {spent[name] / sheets * 1e3:7.2f}")


COPY_PAPER_FIELDS = 16  # textures a streamed copy's own paper is made of, two of them rolled at random
COPY_PAPER_GREY = 5.0  # each one's spread (grey levels): the two outweigh the pool's paper (1.6, shared by
#                        thousands of copies) so that no two copies' paper correlates as one sheet's does


def paper_fields(shape: tuple[int, int], rng: np.random.Generator) -> list[np.ndarray]:
    """Paper textures (fibre flocs, as the simulator draws a sheet's: S.paper_texture) to give each streamed
    copy its own paper: without, thousands of copies share one blank's and the duplicate check takes a third
    of them for re-scans of one another (9,276 of 30,000), which no real batch does."""
    fields = []
    for _ in range(COPY_PAPER_FIELDS):
        field = cv2.GaussianBlur(rng.standard_normal(shape, dtype=np.float32), (0, 0),
                                 S.PAPER_FORMATION_MM * 200.0 / 25.4 / 2)
        fields.append(np.rint(field * (COPY_PAPER_GREY / float(field.std()))).astype(np.int16))
    return fields


def marked_copies(template_path: Path, pool: int, seed: int = 3) -> Iterator[np.ndarray]:
    """Endless distinct 200 dpi grey sheets of one template: `pool` simulated blank ballots, each copy
    with an X drawn in one random box of every row where the page's corner marks put it, on paper of
    its own (paper_fields), shifted by a few pixels (a new image every time, new ink and new paper for
    the duplicate check)."""
    template = load_template(template_path)
    sim = S.Simulator([template], seed)
    book = TemplateBook.from_templates([template])
    pl = layout(template).pages[0]
    blanks = []
    for i in range(pool):
        page = sim.ballot(i, template, "office-scanner", behaviours=["blank"], dpi=200.0, pages=[1],
                          overrides={"rotation": 0, "skew_deg": 0.3})[0]
        found = register(page.scan.pixels, book.frames())
        assert isinstance(found, tuple), found
        blanks.append((page.scan.pixels, found[1].homography))
    rows: dict[tuple[str, str], list] = {}
    for box in pl.boxes:
        rows.setdefault((box.contest_id, box.row_id), []).append(box.rect)
    rng = np.random.default_rng(seed)
    size = tuple(max(p.shape[k] for p, _ in blanks) for k in (0, 1))  # the blanks' scans differ by a few pixels
    fields = paper_fields(size, rng)
    while True:
        pixels, homography = blanks[int(rng.integers(pool))]
        a, b = rng.choice(COPY_PAPER_FIELDS, 2, replace=False)
        paper = np.roll(fields[a], tuple(int(v) for v in rng.integers(0, size, 2)), axis=(0, 1)) \
            + np.roll(fields[b], tuple(int(v) for v in rng.integers(0, size, 2)), axis=(0, 1))
        h, w = pixels.shape
        sheet = np.clip(pixels.astype(np.int16) + paper[:h, :w], 0, 255).astype(np.uint8)
        for rects in rows.values():
            r = rects[int(rng.integers(len(rects)))].grow(-float(rng.uniform(0.6, 1.2)))
            ends = np.float64([[[r.x, r.y]], [[r.x + r.w, r.y + r.h]], [[r.x + r.w, r.y]], [[r.x, r.y + r.h]]])
            (a, b, c, d) = cv2.perspectiveTransform(ends, homography).reshape(4, 2)
            ink = int(rng.integers(20, 70))
            width = int(rng.integers(2, 5))
            jitter = rng.uniform(-2, 2, 8)
            cv2.line(sheet, tuple(int(v) for v in a + jitter[:2]), tuple(int(v) for v in b + jitter[2:4]), ink, width)
            cv2.line(sheet, tuple(int(v) for v in c + jitter[4:6]), tuple(int(v) for v in d + jitter[6:]), ink, width)
        yield np.roll(sheet, (int(rng.integers(-4, 5)), int(rng.integers(-4, 5))), axis=(0, 1))


def stream_pdfs(folder: Path, sheets: int, per_file: int = 1000) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    copies = marked_copies(TEMPLATES["seed (1 person, 3 boxes)"], pool=24)
    files = []
    for start in range(0, sheets, per_file):
        path = folder / f"stream-{start // per_file:05d}.pdf"
        with open(path, "wb") as fh:
            writer = S.PdfImageWriter(fh)
            for _ in range(min(per_file, sheets - start)):
                writer.add_page(next(copies), 200.0, False, 80)
            writer.close()
        files.append(path)
    return files


def large(work: Path, sheets: int) -> None:
    print("\n4. batch size: seed ballot, 200 dpi grey, streamed simulated sheets in PDFs of 1,000 pages, "
          "one process, --json written")
    base = None
    for n in sorted({1000, sheets}):
        folder = work / f"large-{n}"
        made = time.perf_counter()
        files = stream_pdfs(folder, n)
        made = time.perf_counter() - made
        wall, cpu, rss = scan_pass(files, list(TEMPLATES.values()), work)
        rate = n / wall
        base = base or rate
        print(f"   {n:>7,} sheets: {rate:6.1f} sheets/s ({cpu / n * 1e3:.1f} CPU ms a sheet), peak RSS {rss:5.0f} MB, "
              f"{rate / base:.2f}x the rate at 1,000 (made in {made:.0f} s)", flush=True)
        for f in files:
            f.unlink()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--pages", type=int, default=300, help="pages a set in parts 1-3 (default 300)")
    ap.add_argument("--rounds", type=int, default=2, help="alternating decode/scan passes (default 2)")
    ap.add_argument("--large", type=int, default=100_000, metavar="SHEETS",
                    help="sheets of the large run of part 4 (default 100,000; 0 leaves part 4 out)")
    args = ap.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="omr-throughput-"))
    load = os.getloadavg()
    print(f"{os.cpu_count()} cores, load average {load[0]:.1f} {load[1]:.1f} {load[2]:.1f} at the start; "
          f"one process unless said; work folder {work}")
    made = per_process(work, args.pages, args.rounds)
    seed_grey = made["seed (1 person, 3 boxes)|200 dpi grey JPEG"]
    jobs_speedup(work, seed_grey, f"seed ballot, {args.pages} pages of 200 dpi grey")
    stages(work, seed_grey, "seed ballot, 200 dpi grey")
    stages(work, made["28 leaders (2 pages, 84 boxes)|200 dpi grey JPEG"], "28 leaders, 200 dpi grey")
    if args.large:
        large(work, args.large)
    load = os.getloadavg()
    print(f"load average {load[0]:.1f} {load[1]:.1f} {load[2]:.1f} at the end")
    return 0


if __name__ == "__main__":
    sys.exit(main())
