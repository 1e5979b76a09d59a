"""Accuracy: simulated ballots of every degradation profile, read by `omr scan`, checked box by box.

    python benchmarks/accuracy.py                      # 2,000 sheets of each profile
    python benchmarks/accuracy.py --sheets 200 --profile phone,1bit --jobs 2

For each profile it makes N marked and degraded pages (all bundled templates in turn), packs them as
scanners do, reads them with the real batch runner into a real SQLite file, and compares every box
with what was drawn. A flip is a marked box read blank or a blank box read marked; "unreviewed" flips
are those on sheets the machine passed as ok: that number must be 0.
"""

from __future__ import annotations

import argparse
import multiprocessing
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from ballot_sim import simulate as S  # noqa: E402
from omr.ballot.template import load_template  # noqa: E402
from omr.read.calibration import load_profile  # noqa: E402
from omr.scan.batch import ScanOptions, scan  # noqa: E402
from omr.store.database import Store  # noqa: E402

CHUNK = 50  # pages a file
TEMPLATES = sorted((ROOT / "ballot_templates").glob("*.yaml"))


def _make_chunk(job: tuple[str, int, int, int, str]) -> list[S.ExpectedPage]:
    """Pages [first, first+count) of a profile's set, written to one file (or loose photos)."""
    folder, seed, first, count, profile = job
    sim = S.Simulator([load_template(p) for p in TEMPLATES], seed)
    pages = list(sim.pages(count, (profile,), start=first))[:count]
    if profile == "phone":  # phones send loose photos
        records = []
        for i, page in enumerate(pages):
            recs, _ = S.write_pages([page], folder, f"photo-{first + i:06d}.jpg", "jpeg")
            records += recs
        return records
    records, _ = S.write_pages(pages, folder, f"batch-{first:06d}.pdf", "pdf")
    return records


def run_profile(profile: str, sheets: int, jobs: int, seed: int, workdir: Path) -> dict:
    folder = workdir / profile
    folder.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    # ballot indices far apart per chunk: the chunks never share a ballot
    jobs_list = [(str(folder), seed, first * 10, min(CHUNK, sheets - first), profile)
                 for first in range(0, sheets, CHUNK)]
    with multiprocessing.get_context("fork").Pool(jobs) as pool:
        expected = S.ExpectedSet(seed, generator={"benchmark": "accuracy", "profile": profile})
        for records in pool.imap(_make_chunk, jobs_list):
            expected.pages.extend(records)
    expected.save(folder / "expected.json")
    made = time.perf_counter()
    templates = [load_template(p) for p in TEMPLATES]
    options = ScanOptions(tuple(templates), tuple(str(p) for p in TEMPLATES), load_profile(), jobs=jobs)
    with Store(workdir / f"{profile}.sqlite") as store:
        summary = scan([str(folder)], store, options)
    read = time.perf_counter()
    check = S.check_reads(expected, [r.to_json() for r in summary.reads])
    result = check.summary()
    result["flips_unreviewed"] = sum(p.flips for p in check.pages if p.status == "ok")
    result.update(profile=profile, seconds_make=round(made - started, 1), seconds_read=round(read - made, 1),
                  input_failures=summary.page_failures + summary.files_failed)
    return result


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sheets", type=int, default=2000, help="pages per profile (default 2000)")
    ap.add_argument("--profile", default="all", help=f"all, or some of: {', '.join(S.PROFILE_NAMES)}")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--seed", type=int, default=2026)
    ap.add_argument("--keep", type=Path, help="keep the simulated scans and databases in this folder")
    args = ap.parse_args(argv)
    profiles = S.PROFILE_NAMES if args.profile == "all" else tuple(args.profile.split(","))
    work = args.keep or Path(tempfile.mkdtemp(prefix="omr-accuracy-"))
    header = (f"{'profile':15} {'sheets':>6} {'boxes':>7} {'flips':>5} {'unrev.':>6} {'dup.':>4} {'marginal':>8} "
              f"{'review':>6} {'reject':>6} {'rows≠':>5} {'sheets≠':>7} {'make s':>7} {'read s':>7}")
    print(header)
    totals: dict[str, float] = {}
    for profile in profiles:
        r = run_profile(profile, args.sheets, args.jobs, args.seed, work)
        print(f"{profile:15} {r['pages_read']:6d} {r['boxes_read']:7d} {r['flips']:5d} {r['flips_unreviewed']:6d} "
              f"{r['duplicate_flips']:4d} {r['marginal_rate']:8.2%} {r['sheets_review']:6d} {r['sheets_rejected']:6d} "
              f"{r['rows_wrong']:5d} {r['sheets_wrong']:7d} {r['seconds_make']:7.1f} {r['seconds_read']:7.1f}",
              flush=True)
        for key in ("pages_read", "boxes_read", "flips", "flips_unreviewed", "sheets_review", "sheets_rejected",
                    "seconds_read", "missing_pages", "input_failures"):
            totals[key] = totals.get(key, 0) + r[key]
    print(f"total: {totals['pages_read']:.0f} sheets, {totals['boxes_read']:.0f} boxes, flips {totals['flips']:.0f} "
          f"(unreviewed {totals['flips_unreviewed']:.0f}), review {totals['sheets_review']:.0f}, rejected "
          f"{totals['sheets_rejected']:.0f}, pages missing {totals['missing_pages']:.0f}, read in "
          f"{totals['seconds_read']:.0f} s ({args.jobs} jobs); work folder {work}")
    return 1 if totals["flips_unreviewed"] or totals["missing_pages"] else 0


if __name__ == "__main__":
    sys.exit(main())
