"""Reading on a Dask cluster (dask.distributed): `omr scan --cluster` and `omr audit --cluster`.

The scan runner (omr.scan.batch) stays the one writer: it splits the files into chunks of pages,
stores each file whole and checks copies, as for local workers; only the reading moves. Each chunk
travels as bytes (for a PDF, a new PDF holding just the chunk's pages, its images as stored; any
other file whole) with the templates and thresholds, so the workers need no shared disk; a worker
reads it with the same one-sheet pipeline and sends the reads back. At most a few chunks per worker
are in flight, and results are taken in the order of the chunks: the client's memory does not grow
with the archive's size beyond the reads themselves, and the reads, their order and the digest are
those of a local run whatever the number of workers.

A worker that dies (killed, out of memory) loses nothing: the scheduler gives its chunks to the
others (dask's `distributed.scheduler.allowed-failures` times). A chunk that kills every worker it
is given to is read again page by page, and a page that still kills its reader is reported, not
read, as the local pool does.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import tempfile
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from omr.read.pipeline import TemplateBook
from omr.read.results import SheetRead
from omr.scan.batch import CHUNKS_IN_FLIGHT_PER_JOB, READER_DIED, ScanOptions, read_range
from omr.scan.ingest import PageError, page_range_bytes, path_text
from omr.store.environment import environment_info

_LOCAL = re.compile(r"local:([0-9]{1,4})")
# What must be equal on every worker and here for the reads to be equal (the digest of a local run)
_SAME_ON_WORKERS = ("tool", "tool_code", "python", "python_implementation", "libraries")


class ClusterError(Exception):
    """The cluster cannot be used: not reachable, or its workers would not read as this computer."""


@dataclass(frozen=True)
class SentPages:
    """Pages of one file as a worker gets them: `data` holds pages first..last (1-based within it),
    which are pages first+offset.. of the file named `name`."""

    name: str
    suffix: str
    data: bytes
    first: int
    last: int | None
    offset: int


_BOOKS: dict[tuple[str, ...], TemplateBook] = {}  # per worker process: built once per set of templates


def _book(options: ScanOptions) -> TemplateBook:
    import cv2

    from omr.ballot.layout import fingerprint

    key = tuple(sorted(fingerprint(t) for t in options.templates))
    if key not in _BOOKS:
        cv2.setNumThreads(1)  # the parallelism is the cluster's: one page per worker thread
        _BOOKS[key] = TemplateBook.from_templates(list(options.templates))
    return _BOOKS[key]


def read_sent(sent: SentPages, options: ScanOptions) -> tuple[list[SheetRead], list[PageError]]:
    """On a worker: the reads and errors of the pages sent, named as in the original file."""
    with tempfile.TemporaryDirectory(prefix="omr-worker-") as tmp:
        path = os.path.join(tmp, "pages" + sent.suffix)
        with open(path, "wb") as f:
            f.write(sent.data)
        return read_range(path, sent.first, sent.last, _book(options), options, named=sent.name,
                          page_offset=sent.offset)


def pages_to_send(path: str, first: int, last: int | None) -> SentPages | None:
    """A chunk as bytes for a worker; None when the file cannot be read here (it is then read here,
    which gives the same error as a local run)."""
    try:
        data, first_in, last_in = page_range_bytes(path, first, last)
    except OSError:
        return None
    return SentPages(path_text(path), Path(path).suffix.lower(), data, first_in, last_in, first - first_in)


def worker_environment() -> dict[str, Any]:
    """On a worker: what must match this computer for the reads to be the same."""
    info = environment_info()
    return {k: info.get(k) for k in _SAME_ON_WORKERS}


class Cluster:
    """A connection to a Dask scheduler (or a LocalCluster this process started)."""

    def __init__(self, client: Any, address: str) -> None:
        self.client = client
        self.address = address

    def threads(self) -> int:
        return max(1, sum(self.client.nthreads().values()))

    def describe(self) -> dict[str, Any]:
        return {"address": self.address, "workers": len(self.client.nthreads()), "threads": self.threads()}

    def check_workers(self) -> None:
        """Refuse workers that would not read as this computer does (another tool code, Python or
        library version): the reads and the digest must be those of a local run."""
        here = worker_environment()
        try:
            found = self.client.run(worker_environment)
        except Exception as exc:  # a worker without the tool cannot even unpickle the call
            raise ClusterError(f"the workers of {self.address} cannot run the reader ({type(exc).__name__}: {exc}): "
                               "install this very version of Ballot OMR on every worker") from None
        if not found:
            raise ClusterError(f"{self.address}: no worker is connected to the scheduler")
        for worker, there in sorted(found.items()):
            differ = [k for k in _SAME_ON_WORKERS if there.get(k) != here.get(k)]
            if differ:
                raise ClusterError(f"worker {worker} differs from this computer in {', '.join(differ)} "
                                   f"(there: {', '.join(str(there.get(k)) for k in differ)}; here: "
                                   f"{', '.join(str(here.get(k)) for k in differ)}): its reads could differ; "
                                   "install the same versions on every worker")

    def results(self, chunks: list[Any], options: ScanOptions, on_worker_lost: Callable[[], None]
                ) -> Iterator[tuple[Any, list[SheetRead], list[PageError]]]:
        """Each chunk's reads and errors, in the order of the chunks, a few chunks per worker thread
        in flight. `on_worker_lost` is called for each worker that left the cluster during the run
        (stopped, or died: the scheduler gave its chunks to others) and each chunk that killed every
        worker it was given to."""
        sent_options = replace(options, annotate_dir=None, debug_dir=None)  # their disks are not ours
        window: deque[tuple[Any, Any]] = deque()
        todo = deque(chunks)
        workers = set(self.client.nthreads())
        limit = CHUNKS_IN_FLIGHT_PER_JOB * self.threads()
        try:
            while todo or window:
                while todo and len(window) < limit:
                    chunk = todo.popleft()
                    window.append((chunk, self._submit(chunk.path, chunk.first, chunk.last, sent_options)))
                chunk, future = window.popleft()
                yield (chunk, *self._outcome(chunk, future, sent_options, on_worker_lost))
        finally:
            self.client.cancel([f for _, f in window if f is not None])
        for _ in workers - set(self.client.nthreads()):
            on_worker_lost()

    def _submit(self, path: str, first: int, last: int | None, options: ScanOptions) -> Any:
        sent = pages_to_send(path, first, last)
        if sent is None:
            return None
        return self.client.submit(read_sent, sent, options, pure=False)

    def _outcome(self, chunk: Any, future: Any, options: ScanOptions, on_worker_lost: Callable[[], None]
                 ) -> tuple[list[SheetRead], list[PageError]]:
        from distributed import KilledWorker

        if future is None:  # not readable here: read here, which says why as a local run does
            return read_range(chunk.path, chunk.first, chunk.last, _book(options), options)
        try:
            return future.result()
        except KilledWorker:
            on_worker_lost()
        if chunk.last is None or chunk.last == chunk.first:
            return [], [PageError(path_text(chunk.path), chunk.last, READER_DIED)]
        reads: list[SheetRead] = []
        errors: list[PageError] = []
        for page in range(chunk.first, chunk.last + 1):  # page by page: only the page that kills is lost
            alone = self._submit(chunk.path, page, page, options)
            try:
                got = alone.result() if alone is not None else ([], [PageError(path_text(chunk.path), page,
                                                                               READER_DIED)])
            except KilledWorker:
                got = ([], [PageError(path_text(chunk.path), page, READER_DIED)])
            reads += got[0]
            errors += got[1]
        return reads, errors


@contextlib.contextmanager
def open_cluster(address: str) -> Iterator[Cluster]:
    """`local:N`: a LocalCluster of N worker processes on this computer, stopped at the end;
    otherwise the address of a running scheduler (`tcp://HOST:8786`)."""
    from distributed import Client, LocalCluster

    local = _LOCAL.fullmatch(address.strip())
    if address.strip().startswith("local") and (local is None or int(local.group(1)) < 1):
        raise ClusterError(f"--cluster {address!r}: write local:N with N worker processes, e.g. local:4")
    if local:
        n = int(local.group(1))
        with LocalCluster(n_workers=n, threads_per_worker=1, processes=True, dashboard_address=None,
                          silence_logs=logging.ERROR) as started, Client(started) as client:
            cluster = Cluster(client, address.strip())
            cluster.check_workers()
            yield cluster
        return
    try:
        client = Client(address.strip(), timeout="30s")
    except (OSError, TimeoutError, ValueError) as exc:
        raise ClusterError(f"cannot reach the Dask scheduler at {address} ({exc}): start it with "
                           "`dask scheduler` and its workers with `dask worker ADDRESS`") from None
    with client:
        cluster = Cluster(client, address.strip())
        try:
            client.wait_for_workers(1, timeout=60)
        except TimeoutError:
            raise ClusterError(f"{address}: no worker joined the scheduler within a minute: start some with "
                               f"`dask worker {address.strip()}`") from None
        cluster.check_workers()
        yield cluster
