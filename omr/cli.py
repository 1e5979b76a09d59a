"""The `omr` command line: a thin shell over the package, one sub-command per job."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from omr import __version__
from omr.template import TemplateError, load_template


def _cmd_validate(args: argparse.Namespace) -> int:
    failed = 0
    for path in args.templates:
        try:
            template = load_template(path)
        except TemplateError as exc:
            print(exc, file=sys.stderr)
            failed += 1
            continue
        from omr.layout import layout

        bl = layout(template)
        boxes = sum(len(p.boxes) for p in bl.pages)
        print(f"{path}: OK — '{template.header.title}', {len(template.contests)} contest(s), "
              f"{len(bl.pages)} page(s), {boxes} boxes, fingerprint {bl.fingerprint[:16]}…")
    return 1 if failed else 0


def _cmd_layout(args: argparse.Namespace) -> int:
    from omr.layout import layout

    bl = layout(load_template(args.template))
    if args.json:
        json.dump(bl.to_json(), sys.stdout, ensure_ascii=False, indent=1)
        print()
        return 0
    print(f"template {bl.template_id}  fingerprint {bl.fingerprint}  layout v{bl.layout_version}  paper {bl.paper}")
    for p in bl.pages:
        print(f"page {p.number}/{p.count}: {len(p.boxes)} boxes, {len(p.name_cells)} names, QR at "
              f"({p.qr.x:.1f}, {p.qr.y:.1f}) mm")
        for b in p.boxes:
            print(f"  box {b.contest_id}/{b.row_id}/{b.option_id}: x={b.rect.x:.2f} y={b.rect.y:.2f} "
                  f"w={b.rect.w:.2f} h={b.rect.h:.2f} mm")
    return 0


def _cmd_generate(args: argparse.Namespace) -> int:
    from omr.generate import ballots_pdf, test_deck_pdf, test_deck_votes

    template = load_template(args.template)
    out = Path(args.output)
    out.parent.mkdir(parents=True, exist_ok=True)
    if args.test_deck:
        deck = test_deck_votes(template, args.copies)
        out.write_bytes(test_deck_pdf(template, deck))
        key = out.with_suffix(".key.json")
        key.write_text(json.dumps({"template": template.id, "sheets": [
            {"number": s.number, "marks": {c: {r: list(v) for r, v in rows.items()} for c, rows in s.marks.items()}}
            for s in deck]}, ensure_ascii=False, indent=1), encoding="utf-8")
        print(f"{out}: test deck of {len(deck)} pre-marked sheet(s) (never counted); votes listed on each "
              f"sheet and in {key}")
    else:
        out.write_bytes(ballots_pdf(template, args.copies or 1))
        print(f"{out}: {args.copies or 1} ballot(s) of '{template.header.title}'")
    return 0


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

    from omr.batch import ScanOptions, scan
    from omr.calibration import ProfileError, load_profile
    from omr.store import Store, StoreError

    try:
        profile = load_profile(args.calibration)
    except ProfileError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    templates = _load_templates(args.template)
    options = ScanOptions(tuple(templates), tuple(args.template), profile, jobs=max(1, args.jobs),
                          annotate_dir=args.annotate)
    bar = tqdm(total=0, unit="page", desc="reading", disable=None, file=sys.stderr, dynamic_ncols=True)

    def total(n: int) -> None:
        bar.total = n
        bar.refresh()

    try:
        with Store(args.db) as store:
            summary = scan(args.inputs, store, options, on_page=bar.update, on_total=total)
            run = store.run(summary.run_id)
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
        from omr.digest import reads_digest

        payload = {"run": {**run, "digest": reads_digest(reads)}, "sheets": [r.to_json() for r in reads]}
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(payload, ensure_ascii=False, indent=1), encoding="utf-8")
    print(f"run {summary.run_id}: {summary.sheets} sheet(s) read from {summary.files} file(s): "
          f"{summary.ok} ok, {summary.review} need review, {summary.rejected} rejected"
          + (f" ({summary.test_sheets} test-deck sheet(s), kept apart from the count)" if summary.test_sheets else "")
          + (f"; {summary.files_skipped} file(s) already read before, skipped" if summary.files_skipped else "")
          + (f"; {summary.page_failures + summary.files_failed} input(s) or page(s) could not be read"
             if summary.page_failures or summary.files_failed else ""))
    for r in reads:
        if r.status != "ok":
            print(f"  {r.status.upper():8} {r.source} page {r.page}: " + "; ".join(
                [str(x) for x in r.reasons] + [str(x) for row in r.rows for x in row.reasons])[:300])
    if args.digest:
        from omr.digest import reads_digest

        print(f"digest {reads_digest(reads)}")
    return summary.exit_code


def _cmd_calibrate(args: argparse.Namespace) -> int:
    import numpy as np

    from omr.batch import ScanOptions, scan_scores
    from omr.calibration import derive_profile, load_profile, write_profile

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


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="omr", description="Optical mark recognition for paper ballots.")
    parser.add_argument("--version", action="version", version=f"omr {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("validate", help="check ballot templates and say what is wrong")
    p.add_argument("templates", nargs="+", metavar="TEMPLATE")
    p.set_defaults(func=_cmd_validate)

    p = sub.add_parser("layout", help="print every position of a template's ballot, in mm")
    p.add_argument("template", metavar="TEMPLATE")
    p.add_argument("--json", action="store_true", help="the whole geometry as JSON")
    p.set_defaults(func=_cmd_layout)

    p = sub.add_parser("generate", help="print-ready ballots (or a pre-marked test deck) as PDF")
    p.add_argument("template", metavar="TEMPLATE")
    p.add_argument("-o", "--output", required=True, help="the PDF to write")
    p.add_argument("--copies", type=int, default=None, help="ballots (or test-deck sheets) to print")
    p.add_argument("--test-deck", action="store_true", help="pre-marked test ballots with their votes listed")
    p.set_defaults(func=_cmd_generate)

    p = sub.add_parser("scan", help="read scanned ballots into the results database")
    p.add_argument("inputs", nargs="+", metavar="INPUT", help="PDF, TIFF, PNG or JPEG files, or folders")
    p.add_argument("--template", action="extend", nargs="+", required=True, metavar="T.yaml",
                   help="the templates the ballots were printed from")
    p.add_argument("--db", required=True, help="SQLite results database (created if missing)")
    p.add_argument("--json", help="also write the reads of these inputs as JSON")
    p.add_argument("--jobs", type=int, default=1, help="worker processes (default 1)")
    p.add_argument("--calibration", default="default", help="profile name in calibration/ or a path")
    p.add_argument("--annotate", metavar="DIR", help="write annotated images of sheets needing review")
    p.add_argument("--digest", action="store_true", help="print one line that fingerprints all reads")
    p.set_defaults(func=_cmd_scan)

    p = sub.add_parser("calibrate", help="derive score thresholds for a scanner and pen from a batch")
    p.add_argument("scans", nargs="+", metavar="SCANS")
    p.add_argument("--template", action="extend", nargs="+", required=True, metavar="T.yaml")
    p.add_argument("-o", "--output", required=True, help="profile to write, e.g. calibration/office-a.yaml")
    p.add_argument("--base", default="default", help="profile whose other settings are kept")
    p.add_argument("--jobs", type=int, default=1)
    p.set_defaults(func=_cmd_calibrate)

    # --- tally (issue 4): sub-commands added below this line ---
    from omr.tally_cli import add_parser as add_tally_parser

    add_tally_parser(sub)

    # --- review (issue 5): sub-commands added below this line ---
    from omr.review.cli import add_parser as add_review_parser

    add_review_parser(sub)

    # --- audit and verify (issue 6): sub-commands added below this line ---
    from omr.audit import add_commands as add_audit_commands

    add_audit_commands(sub)

    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except TemplateError as exc:
        print(exc, file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted: what was read so far is kept; run the same command again to finish", file=sys.stderr)
        return 130
