"""`omr scan` and `omr calibrate`: scanned pages into the results database."""

from __future__ import annotations

import argparse
import contextlib
import json
import sqlite3
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from omr.scan import usable_cores

if TYPE_CHECKING:
    from omr.read.results import SheetRead


def _load_templates(paths: list[str]) -> list:
    from omr.ballot.template import TemplateError, load_template

    templates = [load_template(p) for p in paths]
    seen: dict[str, str] = {}
    for t in templates:
        if t.id in seen:
            raise TemplateError(t.source, [f"{t.source}: template id '{t.id}' is also used by {seen[t.id]}"])
        seen[t.id] = t.source
    return templates


def _cmd_scan(args: argparse.Namespace) -> int:
    from omr.scan import start_workers_early

    if not args.cluster:
        start_workers_early(args.jobs)  # first: it imports the reader while this process does
    from omr.read.calibration import ProfileError, load_profile
    from omr.scan.batch import ScanOptions

    try:
        profile = load_profile(args.calibration)
    except ProfileError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.cluster and args.debug:
        print("error: --debug writes its images where the pages are read: not with --cluster (scan the pages "
              "to look at without it)", file=sys.stderr)
        return 2
    templates = _load_templates(args.template)
    options = ScanOptions(tuple(templates), tuple(args.template), profile, jobs=max(1, args.jobs),
                          annotate_dir=args.annotate, debug_dir=args.debug)
    # the JSON of the sheets and the digest's lines wait on disk: a private temporary SQLite database sorts
    # the lines (0.4-2 kB a page: a 100,000-page batch's would not fit in the memory the scan may use)
    with tempfile.TemporaryFile() as spool, contextlib.closing(sqlite3.connect("")) as keys:
        from omr.cli.terminal import language_of, sheet_lines

        lang = language_of(templates)
        return _scan_and_report(args, templates, options, _Reads(spool if args.json else None, keys,
                                                                 lambda r: sheet_lines(r, templates, lang)))


def _scan_and_report(args: argparse.Namespace, templates: list, options, reads: _Reads) -> int:
    from tqdm import tqdm

    from omr.scan.batch import scan
    from omr.scan.cluster import ClusterError
    from omr.store.database import Store, StoreError

    bar = tqdm(total=0, unit="page", desc="reading", disable=None, file=sys.stderr, dynamic_ncols=True)

    def total(n: int) -> None:
        bar.total = n
        bar.refresh()

    try:
        with cluster_of(args.cluster) as cluster, Store(args.db) as store:
            summary = scan(args.inputs, store, options, on_page=bar.update, on_total=total, cluster=cluster,
                           on_reads=reads.add)
            run = store.run(summary.run_id)
            awaiting = _awaiting(store, args.template)
    except (StoreError, ClusterError) as exc:
        bar.close()
        print(f"error: {exc}", file=sys.stderr)
        return 2
    bar.close()
    for failure in summary.failures:
        where = f"{failure.source}" + (f" page {failure.page}" if failure.page else "")
        print(f"FAILED {where}: {failure.message}", file=sys.stderr)
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        reads.write_json(args.json, {**run.to_json(), "digest": reads.digest()})
    if args.debug and summary.files_skipped:
        print(f"note: {summary.files_skipped} file(s) were read before and skipped: no debug images of them "
              "(scan them into a new --db to get some)", file=sys.stderr)
    if summary.workers_lost and args.cluster:
        print(f"note: {summary.workers_lost} worker(s) left the cluster during the run (stopped, crashed or killed): "
              "the pages they held were read again by the others", file=sys.stderr)
    elif summary.workers_lost:
        print(f"note: a reading process died {summary.workers_lost} time(s) (a crash, the system out of memory, or "
              "killed): the pages it held were read again, each in a fresh process", file=sys.stderr)
    for run_id in summary.runs_interrupted:
        print(f"note: run {run_id} was left open by a process that stopped (killed or crashed): marked "
              "interrupted; what it stored is kept", file=sys.stderr)
    for line in _scan_lines(summary, reads, templates, args.db, awaiting, args.digest):
        print(line)
    if summary.page_failures or summary.files_failed:
        return 2  # an input or page of this run could not be read
    return 1 if summary.review or summary.rejected or awaiting else 0


def cluster_of(address: str | None) -> contextlib.AbstractContextManager:
    """The Dask cluster to read on (omr.scan.cluster; dask is loaded only then), or None: read in this
    computer's processes."""
    if not address:
        return contextlib.nullcontext()
    from omr.scan.cluster import open_cluster

    return open_cluster(address)


def _awaiting(store, template_paths: list[str]) -> int:
    """Sheets of the whole database that still await a person, as the review screen counts them:
    the number `omr review` shows is the number the scan says."""
    from omr.review.model import TemplateShelf, awaiting_count

    return awaiting_count(store, TemplateShelf(store, template_paths))


class _Reads:
    """A scan's reads as they are stored, file by file, kept only as the terminal and --json need them:
    each sheet's JSON in a temporary file, its digest line, and the sheets read now that need a person.
    The batch itself is never held (a read is ~3.5 kB in memory, its JSON as much again)."""

    def __init__(self, spool: BinaryIO | None, keys: sqlite3.Connection,
                 lines: Callable[[SheetRead], list[str]]) -> None:
        self.spool = spool  # None: no --json
        self.lines = lines  # what the terminal says of a sheet that needs a person
        self.index: list[tuple[str, int, int, int]] = []  # source, page, offset and length in the spool
        self.keys = keys  # the digest's lines, in a table of an empty temporary database
        self.keys.execute("CREATE TABLE lines (line TEXT NOT NULL)")
        self._digest: str | None = None
        # read now, not ok: source, page and the terminal's lines (not the read: ~3.5 kB, and a large batch
        # of doubtful sheets, e.g. suspected copies, grew the scan's memory with each)
        self.waiting: list[tuple[str, int, list[str]]] = []
        self.waiting_before = 0  # of files read before, not ok

    def add(self, reads: list, earlier: bool) -> None:
        from omr.audit.digest import read_key

        self.keys.executemany("INSERT INTO lines VALUES (?)", [(read_key(r),) for r in reads])
        self._digest = None
        for r in reads:
            if r.status != "ok":
                if earlier:
                    self.waiting_before += 1
                else:
                    self.waiting.append((r.source, r.page, self.lines(r)))
            if self.spool is not None:
                # as json.dumps(..., indent=1) writes it two levels down: {"sheets": [ here ]}
                data = json.dumps(r.to_json(), ensure_ascii=False, indent=1).replace("\n", "\n  ").encode()
                self.index.append((r.source, r.page, self.spool.tell(), len(data)))
                self.spool.write(data)

    def digest(self) -> str:
        from omr.audit.digest import sorted_keys_digest

        if self._digest is None:
            self._digest = sorted_keys_digest(line for (line,) in self.keys.execute(
                "SELECT line FROM lines ORDER BY line"))
        return self._digest

    def write_json(self, path: str, run: dict) -> None:
        """{"run": run, "sheets": [every read, by source and page]}, the bytes json.dumps(indent=1) gives."""
        assert self.spool is not None
        with open(path, "wb") as out:
            out.write(('{\n "run": ' + json.dumps(run, ensure_ascii=False, indent=1).replace("\n", "\n ")
                       + ',\n "sheets": ').encode())
            first = True
            for _, _, offset, length in sorted(self.index, key=lambda e: (e[0], e[1])):
                self.spool.seek(offset)
                out.write(b"[\n  " if first else b",\n  ")
                out.write(self.spool.read(length))
                first = False
            out.write(b"[]\n}" if first else b"\n ]\n}")


def _scan_lines(summary, reads: _Reads, templates: list, db: str, awaiting: int, digest: bool) -> list[str]:
    """What this run found, in the ballots' language: each sheet read now that needs a person, the
    sheets of files read before in one line, then the summary and what awaits review, last."""
    from omr.cli.terminal import WORDS, language_of, scan_summary

    lang = language_of(templates)
    out: list[str] = []
    for _, _, lines in sorted(reads.waiting, key=lambda w: (w[0], w[1])):
        out += lines
    if reads.waiting_before:
        out.append(WORDS[lang]["earlier"].format(n=reads.waiting_before))
    if digest:
        out.append(f"digest {reads.digest()}")
    out += scan_summary(summary.run_id, {"sheets": summary.sheets, "files": summary.files, "ok": summary.ok,
                                         "review": summary.review, "rejected": summary.rejected,
                                         "test_sheets": summary.test_sheets, "skipped": summary.files_skipped,
                                         "failed": len(summary.failures)}, lang)
    out.append(WORDS[lang]["awaiting" if awaiting else "none_awaiting"].format(n=awaiting, db=db))
    return out


CROSSOUT_SCANNING = (
    "cross-out election ballots: scan them in grey (8-bit) or colour, 200-300 dpi. A red stamp is a pale grey on a "
    "grey scan and vanishes from a 1-bit (black and white) one: there a stamp the scan lost reads 'unclear' and "
    "goes to a person, and light pencil strikes may be lost. The strike and stamp thresholds are in the profile "
    "(strike_struck_at, strike_clear_below, strike_ink_mm2, strike_restored_mm2, "
    "strike_restored_bilevel_mm2, strike_min_seen, strike_light_below, "
    "strike_light_fold_below, strike_dotted_below, "
    "stamp_present_mm2, stamp_absent_mm2, stamp_ring_share).")


def _cmd_calibrate(args: argparse.Namespace) -> int:
    import numpy as np

    from omr.read.calibration import derive_profile, load_profile, write_profile
    from omr.scan.batch import ScanOptions, scan_scores

    base = load_profile(args.base)
    templates = _load_templates(args.template)
    if any(c.kind == "crossout" for t in templates for c in t.contests):
        print(CROSSOUT_SCANNING)
    options = ScanOptions(tuple(templates), tuple(args.template), base, jobs=max(1, args.jobs))
    scores, failures = scan_scores(args.scans, options)
    for f in failures:
        print(f"FAILED {f.source}" + (f" page {f.page}" if f.page else "") + f": {f.message}", file=sys.stderr)
    name = Path(args.output).stem
    d = derive_profile(np.asarray(scores), name, base)
    write_profile(d.profile, args.output)
    hist, edges = np.histogram(scores, bins=[0, 0.01, 0.02, 0.03, 0.05, 0.08, 0.12, 0.2, 0.3, 0.5, 1.0001])
    print(f"{d.boxes} boxes: blank boxes score up to {d.blank_noise:.4f} (99th percentile of the lower half), "
          f"clearly marked boxes {d.typical_mark:.4f} (median)")
    for count, lo, hi in zip(hist, edges[:-1], edges[1:]):
        print(f"  {lo:5.2f}-{min(hi, 1):4.2f} {'#' * int(60 * count / max(hist.max(), 1)):60} {count}")
    print(f"thresholds: blank below {d.profile.blank_below}, marked from {d.profile.marked_at_least} "
          f"(default: {base.blank_below}, {base.marked_at_least}); {d.note}")
    print("pencil: scan in grey (8-bit); a 1-bit scanner's threshold can erase a light pencil line or break it "
          "into specks, and no threshold set here brings it back")
    print(f"written {args.output}; use it with: omr scan ... --calibration {args.output}")
    return 0


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("scan", help="read scanned ballots into the results database")
    p.add_argument("inputs", nargs="+", metavar="INPUT", help="PDF, TIFF, PNG or JPEG files, or folders")
    p.add_argument("--template", action="extend", nargs="+", required=True, metavar="T.yaml",
                   help="the templates the ballots were printed from")
    p.add_argument("--db", required=True, help="SQLite results database (created if missing)")
    p.add_argument("--json", help="also write the reads of these inputs as JSON")
    p.add_argument("--jobs", type=int, default=usable_cores(),
                   help=f"worker processes (default: the usable cores, here {usable_cores()})")
    p.add_argument("--calibration", default="default", help="profile name in calibration/ or a path")
    p.add_argument("--annotate", metavar="DIR", help="write annotated images of sheets needing review")
    p.add_argument("--digest", action="store_true", help="print one line that fingerprints all reads")
    p.add_argument("--cluster", metavar="ADDRESS", help="read the pages on a Dask cluster: the scheduler's address "
                   "(tcp://HOST:8786), or local:N for N worker processes on this computer; the database is "
                   "written here")
    p.add_argument("--debug", metavar="DIR", help="write one image per recognition stage of every page read "
                   "(markers, registration grid, QR code, boxes, ink found, result), named FILE-pPAGE-STAGE.png")
    p.set_defaults(func=_cmd_scan)

    p = sub.add_parser("calibrate", help="derive score thresholds for a scanner and pen from a batch")
    p.add_argument("scans", nargs="+", metavar="SCANS")
    p.add_argument("--template", action="extend", nargs="+", required=True, metavar="T.yaml")
    p.add_argument("-o", "--output", required=True, help="profile to write, e.g. calibration/office-a.yaml")
    p.add_argument("--base", default="default", help="profile whose other settings are kept")
    p.add_argument("--jobs", type=int, default=usable_cores(),
                   help=f"worker processes (default: the usable cores, here {usable_cores()})")
    p.set_defaults(func=_cmd_calibrate)
