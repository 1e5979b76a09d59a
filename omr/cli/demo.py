"""`omr demo`: the committee's whole day on the bundled samples, in one command.

    omr demo [-o OUTDIR] [--samples DIR] [--templates DIR] [--jobs N]

Prints the ballots of the bundled templates, reads the bundled scans into OUTDIR/results.sqlite,
applies the decisions of sample_scans/demo-decisions.json where a person is needed (a
DEMONSTRATION: decided from the simulator's truth, recorded under the reviewer name "DEMO — not a
real review"), then tallies each ballot with the demonstration's hand counts and writes its minutes
and exports into OUTDIR/<ballot>/. The samples mix three ballots (three elections): each is
counted on its own, as a committee counts each election from its own ballot box.

Nothing here is a default of any other command: the demonstration's decisions exist only in this
file's input, and only for the bundled samples.

Exit status: 0 every step ran and no sheet awaits a person (each ballot's minutes say whether its
count reconciles); 1 some doubts were not covered by the demonstration's decisions (the minutes say
PROVISIONAL); 2 the samples or templates were not found, or OUTDIR is not a demo folder.
"""

from __future__ import annotations

import argparse
import json
import shlex
import shutil
import sys
from pathlib import Path
from typing import Any

from omr.scan import usable_cores

CHECKOUT = Path(__file__).resolve().parents[2]
DECISIONS_FILE = "demo-decisions.json"
MARKER = ".omr-demo"  # an OUTDIR this command made (and may empty on the next run)


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("demo", help="the whole day on the bundled samples: print, scan, decide (demo), tally, minutes",
                       description="Print the ballots, read the bundled sample scans, apply the demonstration's "
                                   "review decisions, tally each ballot and write its minutes and exports into "
                                   "OUTDIR. From a checkout (the samples are not in the installed package).")
    p.add_argument("-o", "--output", default="omr-demo", metavar="OUTDIR",
                   help="folder for everything the demo makes (default: omr-demo); a folder an earlier demo "
                        "made is emptied first, any other must be empty or new")
    p.add_argument("--samples", default=str(CHECKOUT / "sample_scans"), metavar="DIR",
                   help=f"the sample scans with their {DECISIONS_FILE} (default: the checkout's sample_scans/)")
    p.add_argument("--templates", default=str(CHECKOUT / "ballot_templates"), metavar="DIR",
                   help="the templates the samples were printed from (default: the checkout's ballot_templates/)")
    p.add_argument("--jobs", type=int, default=usable_cores(),
                   help=f"worker processes for the scan (default: the usable cores, here {usable_cores()})")
    p.set_defaults(func=run)


def _prepare_output(out: Path) -> str | None:
    """Make OUTDIR ready; a message instead when it holds something the demo did not make."""
    if out.exists() and not out.is_dir():
        return f"{out} is a file: give a folder"
    if out.is_dir() and any(out.iterdir()):
        if not (out / MARKER).is_file():
            return f"{out} is not empty and was not made by `omr demo`: give a new or empty folder"
        shutil.rmtree(out)
    out.mkdir(parents=True, exist_ok=True)
    (out / MARKER).write_text("made by `omr demo`: emptied by the next `omr demo -o` on this folder\n",
                              encoding="utf-8")
    return None


def _print_ballots(templates: list, out: Path) -> None:
    from omr.ballot.generate import ballots_pdf

    folder = out / "ballots"
    folder.mkdir()
    for t in templates:
        path = folder / f"{t.id}.pdf"
        path.write_bytes(ballots_pdf(t, 1))
        print(f"  {path}: '{t.header.title}'")


def _scan(samples: Path, template_paths: list[Path], templates: list, db: Path, jobs: int) -> None:
    from omr.read.calibration import load_profile
    from omr.scan.batch import ScanOptions, scan
    from omr.store.database import Store

    options = ScanOptions(tuple(templates), tuple(str(p) for p in template_paths), load_profile("default"),
                          jobs=max(1, jobs))
    with Store(db) as store:
        s = scan([str(samples)], store, options)
    print(f"  {s.sheets} sheet(s) read from {s.files} file(s): {s.ok} ok, {s.review} need a person, "
          f"{s.rejected} rejected ({s.test_sheets} test-deck sheet(s), never counted)")
    for f in s.failures:
        print(f"  FAILED {f.source}" + (f" page {f.page}" if f.page else "") + f": {f.message}", file=sys.stderr)


def _where(source: str, page: int, samples: Path) -> str:
    """The key of a sheet in the decisions file: its path under the samples folder, '#', its page."""
    path = Path(source)
    try:
        name = path.resolve().relative_to(samples.resolve()).as_posix()
    except ValueError:
        name = path.name
    return f"{name}#{page}"


def _piles(store, templates: list, demo: dict[str, Any], samples: Path) -> dict[str, list]:
    """The sheets of each ballot, by template id: by the fingerprint the machine read, or (a sheet
    no template claims, e.g. one not issued) by the pile the demonstration puts it in."""
    from omr.ballot.layout import fingerprint

    by_fp = {fingerprint(t): t.id for t in templates}
    piles: dict[str, list] = {t.id: [] for t in templates}
    for stored in store.sheet_items():
        sid, read = stored.id, stored.read
        template_id = by_fp.get(read.fingerprint) or demo["piles"].get(_where(read.source, read.page, samples))
        if template_id is None:
            print(f"  NOTE {read.source} page {read.page}: belongs to no ballot of the demo; left out of the tallies")
            continue
        piles[template_id].append((sid, read))
    return piles


def _tally(store, template, items: list, numbers: dict[str, int]):
    from omr.count.stored import store_inputs
    from omr.count.tally import tally_reads

    inputs = store_inputs(store)
    inputs["reads"] = items
    return tally_reads(inputs.pop("reads"), inputs.pop("decisions"), [template], **inputs, **numbers)


def _decide(store, tally, demo: dict[str, Any], samples: Path) -> tuple[int, list[str]]:
    """Record the demonstration's decision for every doubt the tally says awaits a person.
    Returns (decisions recorded, doubts the demonstration does not cover)."""
    decided = {f"{s['file']}#{s['page']}": s for s in demo["sheets"]}
    reviewer = demo["reviewer"]
    recorded, uncovered = 0, []
    for sheet in tally.pending_sheets:
        where = _where(sheet.source, sheet.page, samples)
        entry = decided.get(where)
        if entry is None:
            uncovered += [f"{where} {item}" for item in sheet.pending]
            continue
        rejected = entry["sheet"]["action"] == "reject-sheet"
        # a person who opens the sheet for any doubt sees all of it: a void ballot is rejected whole
        if rejected or any("/" not in item for item in sheet.pending):
            store.add_decision(sheet.sheet_id, scope="sheet", reviewer=reviewer, **entry["sheet"])
            recorded += 1
        for item in sheet.pending:
            contest_id, slash, row_id = item.partition("/")
            if not slash or rejected:
                continue
            if item not in entry["rows"]:
                uncovered.append(f"{where} {item}")
            else:
                decision = entry["rows"][item]
                if isinstance(decision, dict):
                    kwargs = {"action": "invalid", "reason": decision["invalid"]}
                else:
                    kwargs = {"action": "set", "choices": decision}
                store.add_decision(sheet.sheet_id, scope="row", contest_id=contest_id, row_id=row_id,
                                   reviewer=reviewer, note="demonstration: decided from the samples' truth", **kwargs)
                recorded += 1
    return recorded, uncovered


def _state(tally) -> str:
    r = tally.reconciliation
    words = ["PROVISIONAL" if tally.provisional else "final",
             "reconciled" if r.reconciled else "NOT reconciled"]
    if tally.quorum_met is not None:
        words.append("quorum met" if tally.quorum_met else "NO quorum")
    if tally.elections:  # an election: its valid and invalid ballots by its rules (a counted sheet may be invalid)
        e = tally.elections[0]
        return ", ".join(words) + f": {r.collected} collected, {e.valid} valid, {e.invalid} invalid"
    return ", ".join(words) + f": {r.collected} collected, {r.ballots_counted} valid, {r.invalid_ballots} invalid"


def _omr_command() -> str:
    """How to run `omr` from any folder: the command itself when it is on PATH, else its full path
    (e.g. inside the clone's .venv, which scripts/demo.sh does not activate)."""
    on_path = shutil.which("omr")
    beside = Path(sys.executable).parent / "omr"
    if on_path and beside.is_file() and Path(on_path).resolve() == beside.resolve():
        return "omr"
    if beside.is_file():
        return shlex.quote(str(beside))
    return f"{shlex.quote(sys.executable)} -m omr"


def run(args: argparse.Namespace) -> int:
    from omr.ballot.template import load_template
    from omr.reports import MINUTES, write_reports
    from omr.store.database import Store

    samples, out = Path(args.samples), Path(args.output)
    template_paths = sorted(Path(args.templates).glob("*.yaml"))
    if not (samples / DECISIONS_FILE).is_file() or not template_paths:
        print(f"error: the demo needs the bundled samples ({samples / DECISIONS_FILE}) and templates "
              f"({args.templates}/*.yaml) of a checkout: run it from a clone, or give --samples and --templates",
              file=sys.stderr)
        return 2
    demo = json.loads((samples / DECISIONS_FILE).read_text(encoding="utf-8"))
    problem = _prepare_output(out)
    if problem:
        print(f"error: {problem}", file=sys.stderr)
        return 2
    templates = [load_template(p) for p in template_paths]
    db = out / "results.sqlite"

    print("1. print the ballots")
    _print_ballots(templates, out)
    print(f"2. read the scans in {samples} into {db}")
    _scan(samples.resolve(), [p.resolve() for p in template_paths], templates, db, args.jobs)
    print(f"3. decide the doubtful sheets: DEMONSTRATION decisions from {samples / DECISIONS_FILE}, "
          f"recorded as reviewer '{demo['reviewer']}'")
    pending = 0
    sampled = [t for t in templates if t.id in demo["hand_counts"]]  # the ballots the bundled scans are of
    with Store(db) as store:
        piles = _piles(store, templates, demo, samples)
        for t in sampled:
            recorded, uncovered = _decide(store, _tally(store, t, piles[t.id], {}), demo, samples)
            print(f"  {t.id}: {recorded} decision(s) recorded")
            for doubt in uncovered:
                print(f"  NOT DECIDED (no demonstration decision): {doubt}")
        print("4. tally each ballot with the demonstration's hand counts; minutes and exports")
        for t in sampled:
            tally = _tally(store, t, piles[t.id], demo["hand_counts"][t.id])
            pending += len(tally.pending_sheets)
            written = write_reports(tally, out / t.id)
            print(f"  {t.id}: {_state(tally)}")
            for d in tally.reconciliation.discrepancies:
                print(f"    {d.severity}: {d.message}")
            print(f"    minutes: {written[MINUTES]}")
    print(f"\nEverything is in {out.resolve()}/: ballots/, results.sqlite, and per ballot the minutes "
          f"({MINUTES}), results.json, results.csv, cvr.json, manifest.csv.")
    print(f"Open the review screen on the same database (the demonstration's decisions are in its history):\n"
          f"    {_omr_command()} review --db {shlex.quote(str(db.resolve()))}")
    return 1 if pending else 0
