"""`omr merge`: several scanning stations' databases into one room database (registered in
omr/cli/main.py; the merge itself is omr.store.merge)."""

from __future__ import annotations

import argparse
import contextlib
import sys
import tempfile
from pathlib import Path


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("merge", help="one room database from several scanning stations' databases")
    p.add_argument("stations", nargs="+", metavar="STATION.sqlite",
                   help="the stations' results databases (each named by its file name without extension)")
    p.add_argument("-o", "--output", required=True, metavar="ROOM.sqlite",
                   help="the room database (created if missing; merging into it again brings only what is new)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from omr.audit.findings import AuditError
    from omr.audit.verify import verify_database

    room_path = Path(args.output)
    names: dict[str, str] = {}
    for station in args.stations:
        name = Path(station).stem
        if Path(station).resolve() == room_path.resolve():
            print(f"error: {station} is the room database itself", file=sys.stderr)
            return 2
        if name in names and Path(names[name]).resolve() != Path(station).resolve():
            print(f"error: {names[name]} and {station} would both be station {name!r}: rename one", file=sys.stderr)
            return 2
        names.setdefault(name, station)
    refused = False
    if room_path.exists():  # merging on top of a room database that no longer verifies would hide it
        try:
            result = verify_database(room_path)
        except AuditError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        refused = not _verified(str(room_path), result.ok, result.first_entry, result.problems)
    with tempfile.TemporaryDirectory(prefix="omr-merge-") as tmp, contextlib.ExitStack() as stack:
        snapshots = {}
        for i, (name, path) in enumerate(names.items()):
            try:  # each station's hash chain checked on the very copy that is merged, before anything is written
                snapshots[name] = stack.enter_context(contextlib.closing(_snapshot(path, Path(tmp) / str(i))))
            except AuditError as exc:
                print(f"REFUSED {path}: {exc}", file=sys.stderr)
                refused = True
                continue
            problems = _problems(snapshots[name])
            refused |= not _verified(path, not problems, problems[0].entry_id if problems else None, problems)
        if refused:
            print("nothing merged", file=sys.stderr)
            return 2
        return _merge_all(room_path, names, snapshots)


def _snapshot(path: str, folder: Path):
    from omr.audit.verify import open_snapshot

    folder.mkdir()
    return open_snapshot(path, folder)


def _problems(store) -> list:
    from omr.audit.verify import log_problems

    return log_problems(store)


def _verified(path: str, ok: bool, first_entry: int | None, problems: list) -> bool:
    if not ok:
        first = f"log entry {first_entry}" if first_entry is not None else "first problem"
        print(f"REFUSED {path}: its log does not verify: {first}: {problems[0].message}", file=sys.stderr)
    return ok


def _merge_all(room_path: Path, names: dict[str, str], snapshots: dict) -> int:
    from omr.scan.batch import duplicate_check
    from omr.scan.ingest import file_sha256
    from omr.store.database import Store
    from omr.store.merge import merge
    from omr.store.records import StoreError

    conflicts = 0
    try:
        with Store(room_path) as room:
            for name, path in names.items():
                report = merge(room, snapshots[name], name, file_sha256(path), vet=duplicate_check(room))
                print(_line(report, path))
                for note in report.notes:
                    print(f"  note: {note}")
                for conflict in report.conflicts:
                    print(f"  CONFLICT {conflict}")
                conflicts += len(report.conflicts)
            head = room.log_head()
    except (StoreError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if head is not None:
        print(f"{room_path}: log head {head.hash}; `omr verify --db {room_path}` checks it and every station's log")
    if conflicts:
        print(f"{conflicts} decision(s) disagree between stations: decide them again in `omr review --db {room_path}`")
        return 1
    return 0


def _line(report, path: str) -> str:
    if report.outcome == "already-merged":
        return f"{report.station} ({path}): already merged, nothing changed"
    if report.outcome == "nothing-new":
        return f"{report.station} ({path}): nothing new"
    also = f", {report.files_already_here} file(s) already read at another station (their reads kept)" \
        if report.files_already_here else ""
    return (f"{report.station} ({path}): merged {report.runs} run(s), {report.files} file(s), {report.sheets} "
            f"sheet(s), {report.decisions} decision(s){also}")
