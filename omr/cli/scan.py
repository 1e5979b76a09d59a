"""`omr scan` and `omr calibrate`: scanned pages into the results database."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from omr.ballot.template import TemplateError, load_template
from omr.scan import usable_cores


def _load_templates(paths: list[str]) -> list:
    templates = [load_template(p) for p in paths]
    seen: dict[str, str] = {}
    for t in templates:
        if t.id in seen:
            raise TemplateError(t.source, [f"{t.source}: template id '{t.id}' is also used by {seen[t.id]}"])
        seen[t.id] = t.source
    return templates


def _cmd_scan(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from omr.read.calibration import ProfileError, load_profile
    from omr.scan.batch import ScanOptions, scan
    from omr.store.database import Store, StoreError

    try:
        profile = load_profile(args.calibration)
    except ProfileError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    templates = _load_templates(args.template)
    options = ScanOptions(tuple(templates), tuple(args.template), profile, jobs=max(1, args.jobs),
                          annotate_dir=args.annotate, debug_dir=args.debug)
    bar = tqdm(total=0, unit="page", desc="reading", disable=None, file=sys.stderr, dynamic_ncols=True)

    def total(n: int) -> None:
        bar.total = n
        bar.refresh()

    try:
        with Store(args.db) as store:
            summary = scan(args.inputs, store, options, on_page=bar.update, on_total=total)
            run = store.run(summary.run_id)
            awaiting = _awaiting(store, args.template)
    except StoreError as exc:
        bar.close()
        print(f"error: {exc}", file=sys.stderr)
        return 2
    bar.close()
    for failure in summary.failures:
        where = f"{failure.source}" + (f" page {failure.page}" if failure.page else "")
        print(f"FAILED {where}: {failure.message}", file=sys.stderr)
    reads = sorted(summary.reads, key=lambda r: (r.source, r.page))
    if args.json:
        from omr.audit.digest import reads_digest

        payload = {"run": {**run.to_json(), "digest": reads_digest(reads)}, "sheets": [r.to_json() for r in reads]}
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        with open(args.json, "w", encoding="utf-8") as out:  # streamed: no second copy of a long batch as one string
            for chunk in json.JSONEncoder(ensure_ascii=False, indent=1).iterencode(payload):
                out.write(chunk)
    if args.debug and summary.files_skipped:
        print(f"note: {summary.files_skipped} file(s) were read before and skipped: no debug images of them "
              "(scan them into a new --db to get some)", file=sys.stderr)
    if summary.workers_lost:
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


def _awaiting(store, template_paths: list[str]) -> int:
    """Sheets of the whole database that still await a person, as the review screen counts them:
    the number `omr review` shows is the number the scan says."""
    from omr.review.model import AWAITING, TemplateShelf, load_queue

    return load_queue(store, TemplateShelf(store, template_paths)).counts()[AWAITING]


def _scan_lines(summary, reads: list, templates: list, db: str, awaiting: int, digest: bool) -> list[str]:
    """What this run found, in the ballots' language: each sheet read now that needs a person, the
    sheets of files read before in one line, then the summary and what awaits review, last."""
    from omr.cli.terminal import WORDS, language_of, scan_summary, sheet_lines

    lang = language_of(templates)
    earlier = {id(r) for r in summary.earlier_reads}
    out: list[str] = []
    for r in reads:
        if r.status != "ok" and id(r) not in earlier:
            out += sheet_lines(r, templates, lang)
    waiting_before = sum(1 for r in summary.earlier_reads if r.status != "ok")
    if waiting_before:
        out.append(WORDS[lang]["earlier"].format(n=waiting_before))
    if digest:
        from omr.audit.digest import reads_digest

        out.append(f"digest {reads_digest(reads)}")
    out += scan_summary(summary.run_id, {"sheets": summary.sheets, "files": summary.files, "ok": summary.ok,
                                         "review": summary.review, "rejected": summary.rejected,
                                         "test_sheets": summary.test_sheets, "skipped": summary.files_skipped,
                                         "failed": len(summary.failures)}, lang)
    out.append(WORDS[lang]["awaiting" if awaiting else "none_awaiting"].format(n=awaiting, db=db))
    return out


def _cmd_calibrate(args: argparse.Namespace) -> int:
    import numpy as np

    from omr.read.calibration import derive_profile, load_profile, write_profile
    from omr.scan.batch import ScanOptions, scan_scores

    base = load_profile(args.base)
    templates = _load_templates(args.template)
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
