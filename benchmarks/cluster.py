"""The cluster path's cost: sheets/s on a Dask LocalCluster of 1 and 2 worker processes next to the
local pool's --jobs 1 and 2, in one run (so the ratios hold on a noisy machine), and the memory of
the computer that writes (the client) as the number of pages grows.

    python benchmarks/cluster.py                    # 80 pages, 2 rounds of each
    python benchmarks/cluster.py --memory 20000     # also: client RSS along a 20,000-page scan, pool and cluster
    python benchmarks/cluster.py --memory 20000 --memory-only cluster   # that pass alone

Each pass scans the same PDF (200 dpi grey JPEG pages, as scanners write them) into a fresh database,
the whole `omr scan` path: chunks, workers, duplicate check, the store. The clusters are started once,
before timing (their start-up is printed apart). The memory pass streams many small files made of the
same pages, each file its own bytes (so none is skipped as already read): the client holds the
sheets' reads (what `omr scan` prints and the digest covers), nothing of the page images.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from throughput import make_pdf  # noqa: E402

from omr.ballot.template import load_template  # noqa: E402
from omr.read.calibration import load_profile  # noqa: E402
from omr.scan.batch import ScanOptions, scan  # noqa: E402
from omr.scan.cluster import Cluster, open_cluster  # noqa: E402
from omr.store.database import Store  # noqa: E402

TEMPLATE = ROOT / "ballot_templates" / "tin-nhiem-cdyt-dong-nai-2023.yaml"


def rss_mb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def options(jobs: int) -> ScanOptions:
    return ScanOptions((load_template(TEMPLATE),), (str(TEMPLATE),), load_profile(), jobs=jobs)


def timed_scan(inputs: list[str], db: Path, jobs: int, cluster: Cluster | None, on_page=None) -> tuple[float, int]:
    started = time.perf_counter()
    with Store(db) as store:
        summary = scan(inputs, store, options(jobs), on_page=on_page, cluster=cluster)
    return time.perf_counter() - started, summary.sheets


def start_cluster(stack: contextlib.ExitStack, workers: int) -> tuple[Cluster, float]:
    """`--cluster local:N` as omr scan starts it, open until the stack closes; and its start-up time."""
    started = time.perf_counter()
    cluster = stack.enter_context(open_cluster(f"local:{workers}"))
    return cluster, time.perf_counter() - started


def throughput(work: Path, pages: int, rounds: int) -> None:
    pdf = work / "batch.pdf"
    make_pdf(pdf, TEMPLATE, "office-scanner", 200.0, None, pages)
    results: dict[str, list[float]] = {}
    runs = 0
    with contextlib.ExitStack() as stack:
        clusters = {}
        for n in (1, 2):
            clusters[n], seconds = start_cluster(stack, n)
            print(f"LocalCluster of {n} worker process(es) started in {seconds:.1f} s")
        for _ in range(rounds + 1):  # the first round warms up (references rendered, workers' books built)
            for workers in (1, 2):
                for label, cluster in ((f"--jobs {workers}", None), (f"local:{workers}", clusters[workers])):
                    runs += 1
                    seconds, sheets = timed_scan([str(pdf)], work / f"r{runs}.sqlite", workers, cluster)
                    assert sheets == pages, (label, sheets)
                    results.setdefault(label, []).append(sheets / seconds)
    rate = {label: statistics.median(v[1:]) for label, v in results.items()}
    print(f"{pages} pages, 200 dpi grey JPEG, median of {rounds} rounds (after one warm-up):")
    print(f"{'':12} {'sheets/s':>9} {'cluster/local':>14}")
    for workers in (1, 2):
        local, on_cluster = rate[f"--jobs {workers}"], rate[f"local:{workers}"]
        print(f"{'--jobs ' + str(workers):12} {local:9.1f}")
        print(f"{'local:' + str(workers):12} {on_cluster:9.1f} {on_cluster / local:14.2f}")


def external_cluster(work: Path, workers: int):
    """`dask scheduler` and `dask worker` as their own processes, as on a real cluster: the client
    (this process) then holds only what the scan keeps, not the scheduler's bookkeeping."""
    from distributed import Client

    bin_dir = Path(sys.executable).parent
    info = work / "scheduler.json"
    procs = [subprocess.Popen([str(bin_dir / "dask"), "scheduler", "--scheduler-file", str(info), "--port", "0",
                               "--no-dashboard"], stderr=subprocess.DEVNULL)]
    while not info.exists():
        time.sleep(0.2)
    procs.append(subprocess.Popen([str(bin_dir / "dask"), "worker", "--scheduler-file", str(info), "--nworkers",
                                   str(workers), "--nthreads", "1", "--no-dashboard"], stderr=subprocess.DEVNULL))
    client = Client(scheduler_file=str(info))
    client.wait_for_workers(workers, timeout=120)
    return procs, client


def memory(work: Path, pages: int, which: str) -> None:
    """Client RSS along a scan of `pages` pages: the local pool (--jobs 2) or a cluster of 2 workers
    whose scheduler and workers are processes of their own."""
    per_file = 10
    base = work / "base.pdf"
    make_pdf(base, TEMPLATE, "office-scanner", 200.0, None, 50)
    folder = work / "many"
    folder.mkdir()
    from omr.scan.ingest import page_range_bytes

    parts = [page_range_bytes(str(base), first, first + per_file - 1)[0] for first in range(1, 51, per_file)]
    for i in range(pages // per_file):  # every file its own bytes: a comment after the end changes none of its pages
        (folder / f"f{i:06d}.pdf").write_bytes(parts[i % len(parts)] + f"\n% copy {i}\n".encode())
    procs, client = external_cluster(work, 2) if which == "cluster" else ([], None)
    label = "cluster of 2 workers" if client is not None else "--jobs 2"
    try:
        cluster = Cluster(client, client.scheduler.address) if client is not None else None
        samples: list[tuple[int, float]] = [(0, rss_mb())]
        done = [0]
        step = max(pages // 10, 1)

        def on_page(n: int) -> None:
            before = done[0]
            done[0] += n
            if done[0] // step != before // step:
                samples.append((done[0], rss_mb()))

        seconds, sheets = timed_scan([str(folder)], work / "memory.sqlite", 2, cluster, on_page)
        print(f"client memory along a scan of {sheets} pages, {label} ({sheets / seconds:.1f} sheets/s; "
              f"{per_file} pages a file; a process of its own):")
        print("  " + ", ".join(f"{n}: {mb:.0f} MB" for n, mb in samples))
        (n0, m0), (n1, m1) = samples[1], samples[-1]
        print(f"  growth after the first tenth: {(m1 - m0) / max(n1 - n0, 1) * 1000:.1f} MB per 1,000 pages")
    finally:
        if client is not None:
            client.close()
        for p in reversed(procs):
            p.terminate()
            p.wait(timeout=60)


def main(argv: list[str] | None = None) -> int:
    logging.getLogger("distributed").setLevel(logging.ERROR)
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--pages", type=int, default=80)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--memory", type=int, default=0, metavar="N", help="also: client RSS along an N-page scan")
    ap.add_argument("--memory-only", choices=("pool", "cluster"), help="only that memory pass, in this process")
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="omr-bench-cluster-") as tmp:
        if args.memory_only:
            memory(Path(tmp), args.memory, args.memory_only)
            return 0
        throughput(Path(tmp), args.pages, args.rounds)
        for which in ("pool", "cluster") if args.memory else ():  # each in a fresh process: no memory freed
            sys.stdout.flush()  # by the one before hides the growth of the next
            subprocess.run([sys.executable, __file__, "--memory", str(args.memory), "--memory-only", which],
                           check=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
