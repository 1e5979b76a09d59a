"""Scanning a batch: files -> page images (ingest), worker processes, the store."""

import multiprocessing
import os


def usable_cores() -> int:
    """The cores this process may run on (its CPU affinity, e.g. a container's or taskset's share),
    the default number of worker processes."""
    if hasattr(os, "process_cpu_count"):  # Python 3.13+
        return os.process_cpu_count() or 1
    if hasattr(os, "sched_getaffinity"):  # Linux
        return len(os.sched_getaffinity(0)) or 1
    return os.cpu_count() or 1


def worker_context() -> multiprocessing.context.BaseContext:
    """How worker processes are made. Not a plain fork: a process forked after OpenCV started its
    thread pool can hang in it. A fork server is a fresh process that has only imported the reader (no
    thread started), so its workers start fast and clean; Windows has none, and spawns."""
    if "forkserver" in multiprocessing.get_all_start_methods():
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(["omr.scan.batch"])
        return context
    return multiprocessing.get_context("spawn")


def start_workers_early(jobs: int) -> None:
    """Start the fork server the workers come from now: it imports the reader (~0.4 s of CPU) while
    this process imports the same and loads the templates, opens the store and hashes the files,
    rather than after it. Called before this process imports the reader itself (which is why it lives
    here, in a module that imports nothing heavy): the two imports then run side by side on two cores.
    Nothing else changes: the workers are still made when pages are."""
    if jobs > 1 and "forkserver" in multiprocessing.get_all_start_methods():
        from multiprocessing import forkserver

        worker_context()
        forkserver.ensure_running()
