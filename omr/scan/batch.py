"""`omr scan`: a batch of files -> sheet reads in the store, in parallel, with nothing lost.

Files are read in path order (sorted, so the order they were given in does not matter), split into
chunks of pages for the worker processes, and stored one whole file at a time in one transaction:
an interrupted run leaves no half-read file, and running the same command again skips the files
already read (by content hash) and finishes the job. Reads depend only on the pixels, so the result
is the same for any number of workers.
"""

from __future__ import annotations

import functools
import os
import socket
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Protocol

import cv2
import numpy as np

from omr import __version__
from omr.ballot.layout import fingerprint
from omr.ballot.template import Template
from omr.read.annotate import annotate
from omr.read.calibration import Profile
from omr.read.debug import Trace, stage_images
from omr.read.duplicates import CANDIDATES, DuplicateIndex, Probe, probe
from omr.read.pipeline import TemplateBook, read_sheet
from omr.read.results import SHEET_OK, SHEET_REJECTED, SHEET_REVIEW, Reason, SheetRead
from omr.scan import worker_context
from omr.scan.ingest import (
    PageError,
    PageImage,
    count_pages,
    expand_inputs,
    file_sha256,
    path_text,
    read_pages,
    text_path,
)
from omr.store.database import Store
from omr.store.environment import environment_info
from omr.store.records import RunInfo, StoreError

PAGES_PER_CHUNK = 8
CHUNKS_IN_FLIGHT_PER_JOB = 4  # handed to the pool ahead (results are taken in order): a slow chunk seldom
# leaves a worker idle, and a dead pool held few
READER_DIED = ("the reading process died on this page every time it was tried (a crash, or the system "
               "stopped it for lack of memory): not read; scan the page again or check the file")


@dataclass(frozen=True)
class ScanOptions:
    templates: tuple[Template, ...]
    template_paths: tuple[str, ...]
    profile: Profile
    jobs: int = 1
    annotate_dir: str | None = None
    debug_dir: str | None = None  # one image per recognition stage of every page
    max_megapixels: float = 60.0
    render_dpi: float = 200.0


@dataclass
class ScanSummary:
    run_id: int = 0
    files: int = 0
    files_skipped: int = 0
    files_failed: int = 0
    sheets: int = 0
    ok: int = 0
    review: int = 0
    rejected: int = 0
    test_sheets: int = 0
    page_failures: int = 0
    reads: list[SheetRead] = field(default_factory=list)  # without their ink signatures (in the store): memory
    # per sheet stays small in a batch of 100,000 (a signature is 2-10 kB)
    failures: list[PageError] = field(default_factory=list)
    earlier_reads: list[SheetRead] = field(default_factory=list)  # of files read by an earlier run (in `reads` too)
    runs_interrupted: list[int] = field(default_factory=list)  # runs of killed processes, closed by this run
    workers_lost: int = 0  # worker processes that died; their chunks were read again alone
    # when given, each stored file's reads (and, with True, those of a file read before) go there as they come,
    # and `reads` stays empty: a batch of any size is not held in memory (omr scan streams them)
    on_reads: Callable[[list[SheetRead], bool], None] | None = None

    def keep(self, reads: list[SheetRead], earlier: bool = False) -> None:
        kept = _kept(reads)
        if self.on_reads is not None:
            self.on_reads(kept, earlier)
            return
        self.reads.extend(kept)
        if earlier:
            self.earlier_reads.extend(kept)


@dataclass(frozen=True)
class _Chunk:
    path: str
    first: int  # 1-based, inclusive
    last: int | None  # inclusive; None: to the end


_ChunkResult = tuple[_Chunk, list[SheetRead], list[PageError]]


class ChunkReader(Protocol):
    """Reads chunks elsewhere than in this computer's processes (omr.scan.cluster: a Dask cluster)."""

    def results(self, chunks: list[_Chunk], options: ScanOptions, on_worker_lost: Callable[[], None]
                ) -> Iterator[_ChunkResult]:
        """Each chunk's reads and errors, in the order of the chunks."""
        ...

    def describe(self) -> dict[str, Any]:
        """What a run records about where it read (kept with its options)."""
        ...


# --- worker side: one process-wide book of templates, set up once per process ----------------

_BOOK: TemplateBook | None = None
_OPTIONS: ScanOptions | None = None


def _init_worker(options: ScanOptions) -> None:
    global _BOOK, _OPTIONS
    cv2.setNumThreads(1)  # the parallelism is ours: one page per process
    _OPTIONS = options
    _BOOK = TemplateBook.from_templates(list(options.templates))


def _read_chunk(chunk: _Chunk) -> _ChunkResult:
    assert _BOOK is not None and _OPTIONS is not None
    return (chunk, *read_range(chunk.path, chunk.first, chunk.last, _BOOK, _OPTIONS))


def read_range(path: str, first: int, last: int | None, book: TemplateBook, options: ScanOptions, *,
               named: str | None = None, page_offset: int = 0) -> tuple[list[SheetRead], list[PageError]]:
    """The reads and errors of pages first..last of a file. `named` and `page_offset`: the file is a
    stand-in (the pages a cluster worker was sent) for the file `named`, whose page numbers are these
    plus the offset: the reads carry the original's name and numbers."""
    reads: list[SheetRead] = []
    errors: list[PageError] = []
    for item in read_pages(path, max_megapixels=options.max_megapixels, render_dpi=options.render_dpi,
                           first=first, last=last):
        if named is not None:
            item = _as_original(item, path, named, page_offset)
        if isinstance(item, PageError):
            errors.append(item)
            continue
        trace = Trace() if options.debug_dir else None
        try:
            read = read_sheet(item.pixels, item.source, item.page, book, options.profile, trace, dpi=item.dpi)
        except Exception as exc:  # a bug must not lose the batch: the page is reported, not guessed
            errors.append(PageError(item.source, item.page, f"recognition failed: {type(exc).__name__}: {exc}"))
            continue
        finally:
            if trace is not None and options.debug_dir:  # also the stages reached before a failure
                _write_debug_images(trace, item.source, item.page, options.debug_dir)
        if options.annotate_dir and read.status != SHEET_OK:
            _write_annotation(item.pixels, read, book, options.annotate_dir)
        reads.append(read)
    return reads, errors


def _as_original(item: PageImage | PageError, path: str, named: str, page_offset: int) -> PageImage | PageError:
    page = None if item.page is None else item.page + page_offset
    if isinstance(item, PageError):
        return PageError(named, page, item.message.replace(path_text(path), named))
    return replace(item, source=named, page=page)


def _write_annotation(pixels: np.ndarray, read: SheetRead, book: TemplateBook, out_dir: str) -> None:
    if read.registration is None or read.fingerprint not in book.layouts or read.template_page is None:
        return
    pl = book.layouts[read.fingerprint].pages[read.template_page - 1]
    homography = np.array(read.registration.homography).reshape(3, 3)
    image = annotate(pixels, homography, pl, read)
    name = f"{Path(read.source).name}-p{read.page:04d}-{read.status}.png"
    Path(out_dir).mkdir(parents=True, exist_ok=True)
    ok, data = cv2.imencode(".png", image)
    if ok:
        (Path(out_dir) / name).write_bytes(data.tobytes())


def _write_debug_images(trace: Trace, source: str, page: int, out_dir: str) -> None:
    Path(out_dir).mkdir(parents=True, exist_ok=True)
    for stage, image in stage_images(trace):
        ok, data = cv2.imencode(".png", image, [cv2.IMWRITE_PNG_COMPRESSION, 1])  # half the default's bytes
        if ok:
            (Path(out_dir) / f"{Path(source).stem}-p{page:04d}-{stage}.png").write_bytes(data.tobytes())


# --- coordinator side -----------------------------------------------------------------------

def _annotate_again(read: SheetRead, options: ScanOptions, book: TemplateBook) -> None:
    """Annotate a sheet whose status changed after it was read (found to be a copy of another)."""
    assert options.annotate_dir is not None
    for item in read_pages(text_path(read.source), max_megapixels=options.max_megapixels, render_dpi=options.render_dpi,
                           first=read.page, last=read.page):
        if not isinstance(item, PageError):
            _write_annotation(item.pixels, read, book, options.annotate_dir)


def _chunks(path: str) -> list[_Chunk]:
    pages = count_pages(path)
    if not pages:
        return [_Chunk(path, 1, None)]
    return [_Chunk(path, first, min(first + PAGES_PER_CHUNK - 1, pages))
            for first in range(1, pages + 1, PAGES_PER_CHUNK)]


def _balanced(chunks: list[_Chunk], jobs: int) -> list[_Chunk]:
    """The chunks with those of the batch's last `jobs` x PAGES_PER_CHUNK pages split into single pages, so
    that the workers run out of pages together: with whole chunks to the end, one worker idles for up to a
    chunk's time (8 pages, 0.15-0.3 s) while another reads the last. A chunk costs well under a millisecond
    to open; which process reads a page never changes what is read, nor the order of the results."""
    tail, pages = len(chunks), 0
    while tail and chunks[tail - 1].last is not None and pages < jobs * PAGES_PER_CHUNK:
        tail -= 1
        pages += chunks[tail].last - chunks[tail].first + 1  # type: ignore[operator]
    return chunks[:tail] + [_Chunk(c.path, page, page) for c in chunks[tail:]
                            for page in range(c.first, c.last + 1)]  # type: ignore[operator]


def _results(chunks: list[_Chunk], options: ScanOptions, reader: Callable[[_Chunk], _ChunkResult] | None = None,
             on_worker_lost: Callable[[], None] | None = None, cluster: ChunkReader | None = None,
             ) -> Iterator[_ChunkResult]:
    """Each chunk's reads and errors, in the order of the chunks (so the results never depend on the
    number of workers). `reader` is the worker function (default: read the chunk's pages);
    `on_worker_lost` is called each time a worker process dies; `cluster`: read there instead."""
    if cluster is not None:
        yield from cluster.results(chunks, options, on_worker_lost or (lambda: None))
        return
    reader = reader or _read_chunk
    if options.jobs <= 1:
        _init_worker(options)
        yield from map(reader, chunks)
        return
    yield from _pooled(chunks, options, reader, on_worker_lost or (lambda: None))


def _pool(options: ScanOptions, workers: int) -> ProcessPoolExecutor:
    return ProcessPoolExecutor(workers, mp_context=worker_context(), initializer=_init_worker, initargs=(options,))


def _pooled(chunks: list[_Chunk], options: ScanOptions, reader: Callable[[_Chunk], _ChunkResult],
            on_worker_lost: Callable[[], None]) -> Iterator[_ChunkResult]:
    """Chunks read by a pool of workers, a few at a time. A worker that dies (a native crash, the
    out-of-memory killer, kill -9) breaks the pool: the chunks it held are read again alone in fresh
    processes (see _alone), the rest goes on in a new pool. Nothing hangs, nothing is read twice. The
    break shows where it shows first: waiting for a result, or handing out the next chunk (which then
    waits for the new pool)."""
    todo = deque(chunks)
    while todo:
        pool = _pool(options, options.jobs)
        window: deque[tuple[_Chunk, Future]] = deque()
        try:
            while todo or window:
                try:
                    while todo and len(window) < CHUNKS_IN_FLIGHT_PER_JOB * options.jobs:
                        window.append((todo[0], pool.submit(reader, todo[0])))
                        todo.popleft()
                    result = window[0][1].result()
                except BrokenProcessPool:
                    on_worker_lost()
                    if not window:  # broken before it took a chunk: the next is read alone, so each pool moves on
                        yield _alone(todo.popleft(), options, reader)
                    break
                window.popleft()
                yield result
        finally:
            pool.shutdown(wait=not window, cancel_futures=True)
        for chunk, future in window:  # the pool broke: keep what was finished, read the rest alone
            done = future.done() and not future.cancelled() and future.exception() is None
            yield future.result() if done else _alone(chunk, options, reader)


def _alone(chunk: _Chunk, options: ScanOptions, reader: Callable[[_Chunk], _ChunkResult]) -> _ChunkResult:
    """A chunk whose worker died, read again in a process of its own; if that one dies too, page by
    page, each in its own process: a page that kills its reader every time is reported, not read."""
    try:
        return _in_own_process(chunk, options, reader)
    except BrokenProcessPool:
        pass
    if chunk.last is None or chunk.last == chunk.first:
        page = chunk.first if chunk.last == chunk.first else None
        return chunk, [], [PageError(path_text(chunk.path), page, READER_DIED)]
    reads: list[SheetRead] = []
    errors: list[PageError] = []
    for number in range(chunk.first, chunk.last + 1):
        try:
            _, got_reads, got_errors = _in_own_process(_Chunk(chunk.path, number, number), options, reader)
        except BrokenProcessPool:
            got_reads, got_errors = [], [PageError(path_text(chunk.path), number, READER_DIED)]
        reads += got_reads
        errors += got_errors
    return chunk, reads, errors


def _in_own_process(chunk: _Chunk, options: ScanOptions, reader: Callable[[_Chunk], _ChunkResult],
                    ) -> _ChunkResult:
    with _pool(options, 1) as pool:
        return pool.submit(reader, chunk).result()


class _Duplicates:
    """Finds a sheet's earlier copy among the sheets already stored, by this process or any other,
    and those read before it in the same file, through an index (omr.read.duplicates): it holds a
    small descriptor of every sheet, compares a new read in full with the few most alike, and fetches
    their signatures from the database only then, so the cost and the memory a sheet takes stay flat.
    A copy found is never left out silently: it goes to a person, who confirms "same sheet" (counted
    once) or "two ballots" (both counted)."""

    def __init__(self) -> None:
        self.index = DuplicateIndex()
        self.last_id = 0
        self.last_checked: list[SheetRead] = []  # what the last check_file returned
        self.ahead: dict[str, _WithinFile] = {}  # by path: the look-ups among a file's own sheets, made early

    def refresh(self, store: Store) -> None:
        """Take in the sheets stored since the last look (called inside the write transaction, so no
        other process can store a sheet between this look and the insert)."""
        for s in store.signatures(after_id=self.last_id):
            self.index.add((s.fingerprint, s.template_page), s.signature, (s.sheet_id, s.path, s.page))
            self.last_id = max(self.last_id, s.sheet_id)

    def look_ahead(self, path: str, reads: list[SheetRead]) -> None:
        """Look for copies of these sheets among those before them in the same file, as the file's chunks
        come in (in page order) and before its write transaction: that part of the check depends on nothing
        stored, and a file's last chunk then leaves less to do while the workers wait for the next file."""
        self.ahead.setdefault(path, _WithinFile()).add(reads)

    def check_file(self, store: Store, reads: list[SheetRead], path: str | None = None) -> list[SheetRead]:
        """The reads of one file, each sent to review when it may be a copy of a stored or earlier sheet.
        `path`: the file whose sheets look_ahead was given (its look-ups are used when given these reads).
        A sheet is compared in full with the CANDIDATES sheets most alike it by descriptor among the stored
        and the file's earlier ones together (not as many again from each: the cost stays that of one index)."""
        self.refresh(store)
        ahead = self.ahead.pop(path, None) if path is not None else None
        if ahead is None or not ahead.made_for(reads):
            ahead = _WithinFile()
            ahead.add(reads)

        def load(item: tuple) -> bytes:  # a stored sheet's signature from the database, the file's from memory
            return store.signature(item[0]) if item[0] is not None else ahead.held[item]

        checked = []
        for read, looked, earlier in zip(reads, ahead.probes, ahead.near):
            if looked is None:
                checked.append(read)
                continue
            # best first; a stable sort keeps a tie in the order given: the stored sheets' first
            near = sorted(self.index.nearest(looked) + earlier, key=lambda item_likeness: -item_likeness[1])
            found = self.index.confirm(looked, near[:CANDIDATES], load)
            if found is not None:
                (_, path, page), c = found
                paper = f", paper texture {c.paper:.2f}" if c.paper is not None else ", no paper texture to compare"
                reason = Reason("duplicate", f"the same sheet as {path} page {page}: possibly (ink alike {c.ink:.3f}"
                                f"{paper}); a person confirms the same sheet (counted once) or two ballots "
                                "(both counted)")
                read = replace(read, status=SHEET_REVIEW, reasons=read.reasons + (reason,))
            checked.append(read)
        self.last_checked = checked
        return checked


class _WithinFile:
    """Each sheet of a file looked up among the sheets before it in the same file, by descriptor only (the
    full comparisons are check_file's, with the stored sheets'), in the order the sheets are given."""

    def __init__(self) -> None:
        self.index = DuplicateIndex()  # the file's sheets join the shared index once stored (the next refresh)
        self.held: dict[tuple, bytes] = {}
        self.reads: list[SheetRead] = []
        self.probes: list[Probe | None] = []  # per read: its look-up (None: no copy is looked for)
        self.near: list[list[tuple[tuple, float]]] = []  # per read: the file's earlier sheets most alike it

    def add(self, reads: list[SheetRead]) -> None:
        for read in reads:
            self.reads.append(read)
            group = (read.fingerprint, read.template_page)
            looked = None if read.status == SHEET_REJECTED or read.test else probe(group, read.signature)
            self.probes.append(looked)
            self.near.append(self.index.nearest(looked) if looked is not None else [])
            if looked is not None:
                item = (None, read.source, read.page)
                self.held[item] = read.signature
                self.index.add(group, read.signature, item, looked)

    def made_for(self, reads: list[SheetRead]) -> bool:
        """Whether these are the very reads the look-ups were made for, in the same order."""
        return len(reads) == len(self.reads) and all(a is b for a, b in zip(reads, self.reads))


def duplicate_check(store: Store) -> Callable[[list[SheetRead]], list[SheetRead]]:
    """The check for copies that `omr scan` runs on each file's reads inside its write transaction, for
    whatever else stores sheets (omr merge: station databases into one): a read that is a copy of a
    sheet already stored, or of one before it in the list, is sent to review. One function, so that
    what tells two sheets apart can change in one place."""
    return functools.partial(_Duplicates().check_file, store)


def scan(inputs: list[str], store: Store, options: ScanOptions,
         on_page: Callable[[int], None] | None = None, on_total: Callable[[int], None] | None = None,
         cluster: ChunkReader | None = None,
         on_reads: Callable[[list[SheetRead], bool], None] | None = None) -> ScanSummary:
    """Read every page of every input into the store; the summary says what happened to each (its
    reads go to `on_reads` instead when given, see ScanSummary). `cluster`: the pages are read there
    (omr.scan.cluster), and stored here as from local workers."""
    summary = ScanSummary(on_reads=on_reads)
    files, missing = expand_inputs(inputs)
    files = sorted(set(files))
    summary.failures.extend(missing)
    summary.files_failed += len(missing)
    summary.runs_interrupted = mark_dead_runs(store)
    run_id = store.begin_run(RunInfo(
        tool_version=__version__,
        options={"jobs": options.jobs, "render_dpi": options.render_dpi, "max_megapixels": options.max_megapixels,
                 "inputs": [path_text(os.fspath(p)) for p in inputs], "process": this_process(),
                 **({} if cluster is None else {"cluster": cluster.describe()})},
        templates=[{"id": t.id, "fingerprint": fingerprint(t), "path": p}
                   for t, p in zip(options.templates, options.template_paths)],
        calibration=options.profile.to_json(),
        environment=environment_info(),
    ))
    summary.run_id = run_id
    status = "interrupted"
    try:
        for failure in missing:
            store.record_failure(run_id, failure)
        todo, copies = _sort_out(files, store, run_id, summary)
        _read_and_store(todo, store, run_id, options, summary, on_page, on_total, cluster)
        for path, digest in copies:
            store.record_skip(run_id, path_text(path), digest)
            summary.files_skipped += 1
        status = "finished"
    finally:
        store.finish_run(run_id, status, _summary_json(summary))
    return summary


def _sort_out(files: list[str], store: Store, run_id: int, summary: ScanSummary,
              ) -> tuple[list[tuple[str, str, int]], list[tuple[str, str]]]:
    """The files to read as (path, SHA-256, size), and second copies of their content in this batch
    as (path, SHA-256); files that cannot be hashed are recorded as failed, files already read as skipped."""
    todo: list[tuple[str, str, int]] = []
    this_run: set[str] = set()
    copies: list[tuple[str, str]] = []  # the same content under another name: one file, never counted twice
    for path in files:
        try:
            digest, size = file_sha256(path), os.path.getsize(path)
        except OSError as exc:  # unreadable, or gone or replaced since the folder was listed
            failure = PageError(path_text(path), None, f"cannot read file: {_os_message(exc)}")
            store.record_failure(run_id, failure)
            summary.failures.append(failure)
            summary.files_failed += 1
            continue
        if digest in this_run:
            copies.append((path, digest))
            continue
        if store.source_status(digest) == "read":
            store.record_skip(run_id, path_text(path), digest)
            summary.files_skipped += 1
            summary.keep(store.sheets_of_source(digest), earlier=True)
            this_run.add(digest)  # the same content under another name: skipped as a copy, listed once
            continue
        this_run.add(digest)
        todo.append((path, digest, size))
    return todo, copies


def _os_message(exc: OSError) -> str:
    if isinstance(exc, PermissionError):
        return "permission denied"
    return exc.strerror or str(exc) or type(exc).__name__


def _read_and_store(todo: list[tuple[str, str, int]], store: Store, run_id: int, options: ScanOptions,
                    summary: ScanSummary, on_page: Callable[[int], None] | None,
                    on_total: Callable[[int], None] | None, cluster: ChunkReader | None = None) -> None:
    """Read the files' pages in workers and store each file, whole, as soon as its last chunk is in.
    Cluster workers draw no annotations (their disks are not ours): they are drawn here, from the file."""
    chunks = [c for path, _, _ in todo for c in _chunks(path)]
    if cluster is None and options.jobs > 1:
        chunks = _balanced(chunks, options.jobs)
    if on_total:
        on_total(sum((c.last - c.first + 1) if c.last else 1 for c in chunks))
    pending: dict[str, tuple[list[SheetRead], list[PageError]]] = {}
    remaining = {path: sum(1 for c in chunks if c.path == path) for path, _, _ in todo}
    info = {path: (digest, size) for path, digest, size in todo}
    duplicates = _Duplicates()
    annotate_book: TemplateBook | None = None
    def lost() -> None:
        summary.workers_lost += 1

    for chunk, reads, errors in _results(chunks, options, on_worker_lost=lost, cluster=cluster):
        got_reads, got_errors = pending.setdefault(chunk.path, ([], []))
        got_reads.extend(reads)
        got_errors.extend(errors)
        duplicates.look_ahead(chunk.path, reads)
        if on_page:
            on_page(len(reads) + len(errors))
        remaining[chunk.path] -= 1
        if remaining[chunk.path]:
            continue
        digest, size = info[chunk.path]
        reads_done, errors_done = pending.pop(chunk.path)
        outcome = store.record_file(run_id, path_text(chunk.path), digest, size, reads_done, errors_done,
                                    vet=functools.partial(duplicates.check_file, store, path=chunk.path))
        stored = duplicates.last_checked
        if outcome == "skipped-already-read":  # another scan stored the same file meanwhile
            duplicates.ahead.pop(chunk.path, None)
            summary.files_skipped += 1
            summary.keep(store.sheets_of_source(digest), earlier=True)
            continue
        if options.annotate_dir:
            for before, after in zip(sorted(reads_done, key=lambda r: r.page), stored):
                if after is not before or (cluster is not None and after.status != SHEET_OK):
                    if annotate_book is None:
                        annotate_book = TemplateBook.from_templates(list(options.templates))
                    _annotate_again(after, options, annotate_book)  # a copy found after the worker drew it
        _count(summary, stored, errors_done)


def this_process() -> dict[str, Any]:
    """What tells, later, whether the process running a scan is still alive: host, pid, start time."""
    return {"host": socket.gethostname(), "pid": os.getpid(), "started": _process_start(os.getpid())}


def _process_start(pid: int) -> int | None:
    """The process's start time in clock ticks since boot (Linux), to tell it from a later one with its pid."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            return int(f.read().rsplit(b")", 1)[1].split()[19])
    except (OSError, ValueError, IndexError):
        return None


def _alive(process: Any) -> bool:
    """False only when sure: a run recorded on this host by a process that is gone (or whose pid is
    now another process). Runs from other hosts, or without a record, count as alive."""
    if not isinstance(process, dict) or process.get("host") != socket.gethostname():
        return True
    pid = process.get("pid")
    if not isinstance(pid, int) or pid <= 0:
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True  # exists, another user's
    started = process.get("started")
    now = _process_start(pid)
    return started is None or now is None or now == started


def mark_dead_runs(store: Store) -> list[int]:
    """Close as 'interrupted' the runs whose process was killed (kill -9, a power cut) and left them
    'running'; their files stored so far are kept. Returns their ids."""
    closed = []
    for run_id, run_options in store.running_runs():
        if _alive(run_options.get("process")):
            continue
        try:
            store.finish_run(run_id, "interrupted", {"note": "the process running this scan stopped without "
                                                              "closing it (killed or crashed); what it stored is kept"})
        except StoreError:  # another scan closed it first
            continue
        closed.append(run_id)
    return closed


def _count(summary: ScanSummary, reads: list[SheetRead], errors: list[PageError]) -> None:
    summary.files += 1
    if errors and not reads:
        summary.files_failed += 1
    summary.page_failures += len(errors)
    summary.failures.extend(errors)
    summary.keep(reads)
    for r in reads:
        summary.sheets += 1
        summary.test_sheets += int(r.test)
        summary.ok += r.status == SHEET_OK
        summary.review += r.status == SHEET_REVIEW
        summary.rejected += r.status == SHEET_REJECTED


def _kept(reads: list[SheetRead]) -> list[SheetRead]:
    """The reads as the summary keeps them: without the ink signature, which only the duplicate check
    uses (from the store)."""
    return [replace(r, signature=b"") if r.signature else r for r in reads]


def _summary_json(s: ScanSummary) -> dict:
    return {"files": s.files, "files_skipped": s.files_skipped, "files_failed": s.files_failed, "sheets": s.sheets,
            "ok": s.ok, "review": s.review, "rejected": s.rejected, "test_sheets": s.test_sheets,
            "page_failures": s.page_failures, "workers_lost": s.workers_lost}


def scan_scores(inputs: list[str], options: ScanOptions) -> tuple[list[float], list[PageError]]:
    """Every box score of a batch, nothing stored: what calibration works from."""
    files, failures = expand_inputs(inputs)
    chunks = [c for path in sorted(set(files)) for c in _chunks(path)]
    scores: list[float] = []
    for _, reads, errors in _results(chunks, options):
        failures.extend(errors)
        scores.extend(m.score for r in reads if r.status != SHEET_REJECTED for row in r.rows for m in row.marks)
    return scores, failures
