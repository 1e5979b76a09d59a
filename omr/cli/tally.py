"""`omr tally`: the committee's numbers + the results database -> minutes and exports (thin shell).

    omr tally --db results.sqlite --issued N --collected M [--convened C --present P]
              [--batch NAME=COUNT ...] [--template T.yaml ...] [--ballot ID] [-o OUTDIR]
              [--place P --held WHEN --chair NAME --member NAME ...]

The templates are those the scan runs recorded (their paths are in the database; a relative path is
tried from the current folder, then from the database's folder); ``--template`` gives them instead,
e.g. when the files moved. A template file edited since the scan has another fingerprint and is not
used: its ballots then ask for ``--template``.

Exit status: 0 the count is final, reconciles (and the quorum is met when given); 1 the tally is
PROVISIONAL, does not reconcile, or the meeting had no quorum (the reports are written all the
same, saying so); 2 nothing could be tallied (no database, a template missing, impossible numbers).
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import tempfile
from pathlib import Path

MAX_COUNT = 100_000_000  # more ballots or people than any meeting or election this tool counts


def _count(text: str) -> int:
    """A count as a clerk types it: ASCII digits only (no sign, '_', other scripts' digits or spaces
    inside), at most MAX_COUNT."""
    text = text.strip()
    if not re.fullmatch(r"[0-9]+", text):
        if re.fullmatch(r"-[0-9]+", text):
            raise argparse.ArgumentTypeError(f"{text} is negative")
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number written with the digits 0-9")
    value = int(text)
    if value > MAX_COUNT:
        raise argparse.ArgumentTypeError(f"{text} is more than {MAX_COUNT:,}: check the number")
    return value


def _batch(text: str) -> tuple[str, int]:
    name, sep, count = text.rpartition("=")
    if not sep or not name.strip():
        raise argparse.ArgumentTypeError(f"{text!r}: write a batch as NAME=COUNT, e.g. lo-1=40")
    return name.strip(), _count(count.strip())


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("tally", help="reconcile with the hand count; write the minutes, results, CVR and manifest",
                       description="Reconcile the sheets read with the ballots counted by hand and write the "
                                   "minutes (bien-ban-kiem-phieu.pdf), results.json, results.csv, results-vi.csv, "
                                   "results.xlsx, cvr.json (NIST SP 1500-103), and for Arlo manifest.csv, "
                                   "manifest-hybrid.csv and cvr-dominion.csv into OUTDIR.")
    p.add_argument("--db", required=True, help="the results database `omr scan` wrote")
    p.add_argument("--issued", type=_count, required=True, metavar="N", help="ballots issued")
    p.add_argument("--collected", type=_count, required=True, metavar="M", help="ballots collected (hand count)")
    p.add_argument("--convened", type=_count, metavar="C", help="people convened to the meeting")
    p.add_argument("--present", type=_count, metavar="P", help="people present (quorum: P x 3 >= C x 2)")
    p.add_argument("--base", type=_count, metavar="N", help="cross-out elections, Party rules: the base of "
                   "percentages and of 'more than half' (official members or delegates convened, less statutory "
                   "exclusions)")
    p.add_argument("--voters", type=_count, metavar="N", help="cross-out elections, state rules: voters on the list")
    p.add_argument("--voted", type=_count, metavar="N", help="cross-out elections, state rules: voters who voted")
    p.add_argument("--batch", type=_batch, action="append", default=[], metavar="NAME=COUNT",
                   help="ballots counted by hand in one batch (NAME: the scanned file's name, without extension, "
                        "or its folder); repeat for each batch")
    p.add_argument("--template", action="extend", nargs="+", metavar="T.yaml",
                   help="the templates the ballots were printed from (default: those the scans recorded)")
    p.add_argument("--place", default="", help="where the count took place (the minutes' opening; default: the "
                                                "template's place)")
    p.add_argument("--held", default="", metavar="WHEN", help="when, as the minutes write it, e.g. \"14 giờ, ngày 29 "
                                                             "tháng 6 năm 2023\" (default: the template's date)")
    p.add_argument("--chair", default="", metavar="NAME", help="the committee's chair (named in the minutes)")
    p.add_argument("--member", action="append", default=[], metavar="NAME",
                   help="a committee member; repeat for each (one signature line each)")
    p.add_argument("--ballot", metavar="ID", help="tally only this ballot (template id) of a database holding "
                                                  "several: minutes are signed per ballot, with its own --issued "
                                                  "and --collected")
    p.add_argument("-o", "--output", default=None, metavar="OUTDIR",
                   help="folder for the reports (default: ., or the ballot's id with --ballot)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from omr.count.stored import run_templates, tally_store
    from omr.count.tally import TallyError, TemplateMissing
    from omr.reports import write_reports
    from omr.reports.arlo import manifest_problems
    from omr.reports.minutes import Committee
    from omr.store.database import Store
    from omr.store.records import StoreError

    if (args.convened is None) != (args.present is None):
        print("error: give both --convened and --present (the quorum needs both), or neither", file=sys.stderr)
        return 2
    if args.convened is not None and (args.convened == 0 or args.present > args.convened):
        what = "nobody was convened (--convened 0)" if args.convened == 0 else \
            f"--present {args.present} is more than --convened {args.convened}"
        print(f"error: {what}: check the meeting's numbers", file=sys.stderr)
        return 2
    outdir = args.output or args.ballot or "."
    problem = _output_problem(outdir)
    if problem:
        print(f"error: -o {outdir}: {problem}", file=sys.stderr)
        return 2
    batches: dict[str, int] = {}
    for name, count in args.batch:
        if name in batches:
            print(f"error: batch {name} is given twice", file=sys.stderr)
            return 2
        batches[name] = count
    try:
        with Store(args.db, create=False) as store:
            templates = run_templates(store, args.template)
            mixed = _mixed_ballots(store, templates, args.ballot)
            if mixed:
                print(mixed, file=sys.stderr)
                return 2
            tally = tally_store(store, templates, ballot=args.ballot, issued=args.issued, collected=args.collected,
                                convened=args.convened, present=args.present, batches=batches or None,
                                base=args.base, voters=args.voters, voted=args.voted)
    except (StoreError, TallyError) as exc:
        hint = "" if args.template or not isinstance(exc, TemplateMissing) else \
            " (the template files the scans recorded were not found or have changed: pass --template T.yaml)"
        print(f"error: {exc}{hint}", file=sys.stderr)
        return 2
    committee = Committee(place=args.place.strip(), held=args.held.strip(), chair=args.chair.strip(),
                          members=tuple(m.strip() for m in args.member if m.strip()))
    try:
        written = write_reports(tally, outdir, committee)
    except OSError as exc:
        print(f"error: cannot write the reports into {outdir}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    from omr.cli.terminal import tally_lines, wrap

    for problem in manifest_problems(tally):
        print(f"  note: {problem}")
    for line in wrap(("đã ghi: " if tally.language == "vi" else "written: ")
                     + ", ".join(str(p) for p in written.values())) + tally_lines(tally, args.db):
        print(line)
    if tally.provisional or not tally.reconciliation.reconciled or tally.quorum_met is False:
        return 1
    return 0


def _output_problem(outdir: str) -> str | None:
    """Why the reports cannot be written into that folder (checked before any work), or None."""
    path = Path(outdir).absolute()
    existing = next(p for p in (path, *path.parents) if p.exists())
    if not existing.is_dir():
        where = "" if existing == path else f" ({existing} is a file)"
        return f"is a file, not a folder{where}: -o names the folder the reports go into"
    try:  # nothing is created before the tally is made: a probe file in the folder that exists
        fd, probe = tempfile.mkstemp(dir=existing, prefix=".omr-write-test-")
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        return f"cannot write into {existing} ({exc.strerror or exc})"
    return None


def _mixed_ballots(store, templates, ballot: str | None) -> str:
    """Why the tally cannot go on as asked ('' when it can): a database holding several ballots
    needs --ballot (one set of minutes per ballot, in its language), and --ballot must name one."""
    from omr.count.tally import ballots_in

    found = ballots_in([(s.id, s.read) for s in store.sheet_items()], templates)
    listing = "; ".join(f"{tid} ({n} sheet(s))" for tid, n in found.items())
    if ballot is not None and ballot not in found:
        return f"error: no sheet of ballot {ballot!r} in {store.path}: the ballots read are {listing or 'none'}"
    if ballot is None and len(found) > 1:
        return (f"error: {store.path} holds sheets of {len(found)} ballots: {listing}. Minutes are signed per "
                "ballot: run `omr tally --ballot ID` once for each, with that ballot's --issued and --collected")
    return ""
