"""`omr scan`: a batch of files -> sheet reads in the store, in parallel, with nothing lost.

Files are read in path order (sorted, so the order they were given in does not matter), split into
chunks of pages for the worker processes, and stored one whole file at a time in one transaction:
an interrupted run leaves no half-read file, and running the same command again skips the files
already read (by content hash) and finishes the job. Reads depend only on the pixels, so the result
is the same for any number of workers.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path

import cv2
import numpy as np

from omr import __version__
from omr.annotate import annotate
from omr.calibration import Profile
from omr.duplicates import DuplicateIndex
from omr.ingest import PageError, count_pages, expand_inputs, file_sha256, read_pages
from omr.layout import fingerprint
from omr.pipeline import TemplateBook, read_sheet
from omr.results import SHEET_OK, SHEET_REJECTED, SHEET_REVIEW, Reason, SheetRead
from omr.store import RunInfo, Store, environment_info
from omr.template import Template

PAGES_PER_CHUNK = 8
# Two scans of one sheet: their ink cells correlate at 0.987 or more (sample set) while different
# voters' marks on the same boxes reach 0.944 at most (300 simulated sheets); cells also agree in level.


@dataclass(frozen=True)
class ScanOptions:
    templates: tuple[Template, ...]
    template_paths: tuple[str, ...]
    profile: Profile
    jobs: int = 1
    annotate_dir: str | None = None
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
    reads: list[SheetRead] = field(default_factory=list)
    failures: list[PageError] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        if self.page_failures or self.files_failed:
            return 2
        return 1 if self.review or self.rejected else 0


@dataclass(frozen=True)
class _Chunk:
    path: str
    first: int  # 1-based, inclusive
    last: int | None  # inclusive; None: to the end


# --- worker side: one process-wide book of templates, set up once per process ----------------

_BOOK: TemplateBook | None = None
_OPTIONS: ScanOptions | None = None


def _init_worker(options: ScanOptions) -> None:
    global _BOOK, _OPTIONS
    cv2.setNumThreads(1)  # the parallelism is ours: one page per process
    _OPTIONS = options
    _BOOK = TemplateBook.from_templates(list(options.templates))


def _read_chunk(chunk: _Chunk) -> tuple[_Chunk, list[SheetRead], list[PageError]]:
    assert _BOOK is not None and _OPTIONS is not None
    reads: list[SheetRead] = []
    errors: list[PageError] = []
    for item in read_pages(chunk.path, max_megapixels=_OPTIONS.max_megapixels, render_dpi=_OPTIONS.render_dpi,
                           first=chunk.first, last=chunk.last):
        if isinstance(item, PageError):
            errors.append(item)
            continue
        try:
            read = read_sheet(item.pixels, item.source, item.page, _BOOK, _OPTIONS.profile)
        except Exception as exc:  # a bug must not lose the batch: the page is reported, not guessed
            errors.append(PageError(item.source, item.page, f"recognition failed: {type(exc).__name__}: {exc}"))
            continue
        if _OPTIONS.annotate_dir and read.status != SHEET_OK:
            _write_annotation(item.pixels, read, _BOOK, _OPTIONS.annotate_dir)
        reads.append(read)
    return chunk, reads, errors


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


# --- coordinator side -----------------------------------------------------------------------

def _annotate_again(read: SheetRead, options: ScanOptions, book: TemplateBook) -> None:
    """Annotate a sheet whose status changed after it was read (found to be a copy of another)."""
    assert options.annotate_dir is not None
    for item in read_pages(read.source, max_megapixels=options.max_megapixels, render_dpi=options.render_dpi,
                           first=read.page, last=read.page):
        if not isinstance(item, PageError):
            _write_annotation(item.pixels, read, book, options.annotate_dir)


def _chunks(path: str) -> list[_Chunk]:
    pages = count_pages(path)
    if not pages:
        return [_Chunk(path, 1, None)]
    return [_Chunk(path, first, min(first + PAGES_PER_CHUNK - 1, pages))
            for first in range(1, pages + 1, PAGES_PER_CHUNK)]


def _results(chunks: list[_Chunk], options: ScanOptions) -> Iterator[tuple[_Chunk, list[SheetRead], list[PageError]]]:
    if options.jobs <= 1:
        _init_worker(options)
        yield from map(_read_chunk, chunks)
        return
    # Not a plain fork: a process forked after OpenCV started its thread pool can hang in it. A fork
    # server is a fresh process that has only imported the reader (no thread started), so its
    # workers start fast and clean; Windows has none, and spawns.
    if "forkserver" in multiprocessing.get_all_start_methods():
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(["omr.batch"])
    else:
        context = multiprocessing.get_context("spawn")
    with context.Pool(options.jobs, initializer=_init_worker, initargs=(options,)) as pool:
        yield from pool.imap(_read_chunk, chunks)


class _Duplicates:
    """Finds a sheet's earlier copy among the sheets already stored and those read before it, through
    an index of their signatures (omr.duplicates): each read is compared with the few sheets whose
    coarse key is near its own, not with the whole batch. A copy found is never left out silently:
    it goes to a person, who confirms "same sheet" (counted once) or "two ballots" (both counted)."""

    def __init__(self, store: Store):
        self.index = DuplicateIndex()
        for _, path, page, fp, tpage, sig in store.signatures():
            self.index.add((fp, tpage), sig, (path, page))

    def check(self, read: SheetRead) -> SheetRead:
        if read.status == SHEET_REJECTED or read.test or not read.signature:
            return read
        group = (read.fingerprint, read.template_page)
        found = self.index.find(group, read.signature)
        if found is not None:
            (path, page), c = found
            paper = f", paper texture {c.paper:.2f}" if c.paper is not None else ", no paper texture to compare"
            reason = Reason("duplicate", f"the same sheet as {path} page {page}? ink alike {c.ink:.3f}{paper}: "
                            "a person confirms the same sheet (counted once) or two ballots (both counted)")
            read = replace(read, status=SHEET_REVIEW, reasons=read.reasons + (reason,))
        self.index.add(group, read.signature, (read.source, read.page))
        return read


def scan(inputs: list[str], store: Store, options: ScanOptions,
         on_page: Callable[[int], None] | None = None, on_total: Callable[[int], None] | None = None) -> ScanSummary:
    """Read every page of every input into the store; the summary says what happened to each."""
    summary = ScanSummary()
    files, missing = expand_inputs(inputs)
    files = sorted(set(files))
    summary.failures.extend(missing)
    summary.files_failed += len(missing)
    run_id = store.begin_run(RunInfo(
        tool_version=__version__,
        options={"jobs": options.jobs, "render_dpi": options.render_dpi, "max_megapixels": options.max_megapixels,
                 "inputs": list(inputs)},
        templates=[{"id": t.id, "fingerprint": fingerprint(t), "path": p}
                   for t, p in zip(options.templates, options.template_paths)],
        calibration=options.profile.to_json(),
        environment=environment_info(),
    ))
    summary.run_id = run_id
    for failure in missing:
        store.record_failure(run_id, failure)
    todo: list[tuple[str, str, int]] = []
    this_run: set[str] = set()
    copies: list[tuple[str, str]] = []  # the same content under another name: one file, never counted twice
    for path in files:
        digest = file_sha256(path)
        if digest in this_run:
            copies.append((path, digest))
            continue
        if store.source_status(digest) == "read":
            store.record_skip(run_id, path, digest)
            summary.files_skipped += 1
            summary.reads.extend(store.sheets_of_source(digest))
            continue
        this_run.add(digest)
        todo.append((path, digest, os.path.getsize(path)))
    chunks = [c for path, _, _ in todo for c in _chunks(path)]
    if on_total:
        on_total(sum((c.last - c.first + 1) if c.last else 1 for c in chunks))
    pending: dict[str, tuple[list[SheetRead], list[PageError], int]] = {}
    remaining = {path: sum(1 for c in chunks if c.path == path) for path, _, _ in todo}
    info = {path: (digest, size) for path, digest, size in todo}
    duplicates = _Duplicates(store)
    annotate_book: TemplateBook | None = None
    status = "interrupted"
    try:
        for chunk, reads, errors in _results(chunks, options):
            got_reads, got_errors, _ = pending.setdefault(chunk.path, ([], [], 0))
            for read in reads:
                checked = duplicates.check(read)
                if checked is not read and options.annotate_dir:
                    if annotate_book is None:
                        annotate_book = TemplateBook.from_templates(list(options.templates))
                    _annotate_again(checked, options, annotate_book)  # a copy found after the worker drew it
                got_reads.append(checked)
            got_errors.extend(errors)
            if on_page:
                on_page(len(reads) + len(errors))
            remaining[chunk.path] -= 1
            if remaining[chunk.path] == 0:
                digest, size = info[chunk.path]
                reads_done, errors_done, _ = pending.pop(chunk.path)
                store.record_file(run_id, chunk.path, digest, size, reads_done, errors_done)
                _count(summary, reads_done, errors_done)
        for path, digest in copies:
            store.record_skip(run_id, path, digest)
            summary.files_skipped += 1
        status = "finished"
    finally:
        store.finish_run(run_id, status, _summary_json(summary))
    return summary


def _count(summary: ScanSummary, reads: list[SheetRead], errors: list[PageError]) -> None:
    summary.files += 1
    if errors and not reads:
        summary.files_failed += 1
    summary.page_failures += len(errors)
    summary.failures.extend(errors)
    summary.reads.extend(reads)
    for r in reads:
        summary.sheets += 1
        summary.test_sheets += int(r.test)
        summary.ok += r.status == SHEET_OK
        summary.review += r.status == SHEET_REVIEW
        summary.rejected += r.status == SHEET_REJECTED


def _summary_json(s: ScanSummary) -> dict:
    return {"files": s.files, "files_skipped": s.files_skipped, "files_failed": s.files_failed, "sheets": s.sheets,
            "ok": s.ok, "review": s.review, "rejected": s.rejected, "test_sheets": s.test_sheets,
            "page_failures": s.page_failures}


def scan_scores(inputs: list[str], options: ScanOptions) -> tuple[list[float], list[PageError]]:
    """Every box score of a batch, nothing stored: what calibration works from."""
    files, failures = expand_inputs(inputs)
    chunks = [c for path in sorted(set(files)) for c in _chunks(path)]
    scores: list[float] = []
    for _, reads, errors in _results(chunks, options):
        failures.extend(errors)
        scores.extend(m.score for r in reads if r.status != SHEET_REJECTED for row in r.rows for m in row.marks)
    return scores, failures
