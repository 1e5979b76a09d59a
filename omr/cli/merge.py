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
    from omr.audit.verify import open_snapshot, verify_database
    from omr.scan.batch import duplicate_check
    from omr.scan.ingest import file_sha256
    from omr.store.database import Store
    from omr.store.merge import merge
    from omr.store.records import StoreError

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
    for path in list(names.values()) + ([str(room_path)] if room_path.exists() else []):
        try:  # every station's hash chain (and the room's own) checked before anything is written
            result = verify_database(path)
        except AuditError as exc:
            print(f"REFUSED {path}: {exc}", file=sys.stderr)
            refused = True
            continue
        if not result.ok:
            first = f"log entry {result.first_entry}" if result.first_entry is not None else "first problem"
            print(f"REFUSED {path}: its log does not verify: {first}: {result.problems[0].message}", file=sys.stderr)
            refused = True
    if refused:
        print("nothing merged", file=sys.stderr)
        return 2
    conflicts = 0
    try:
        with Store(room_path) as room:
            for name, path in names.items():
                with tempfile.TemporaryDirectory(prefix="omr-merge-") as tmp, contextlib.closing(
                        open_snapshot(path, Path(tmp))) as station:
                    report = merge(room, station, name, file_sha256(path), vet=duplicate_check(room))
                print(_line(report, path))
                for note in report.notes:
                    print(f"  note: {note}")
                for conflict in report.conflicts:
                    print(f"  CONFLICT {conflict}")
                conflicts += len(report.conflicts)
            head = room.log_head()
    except (StoreError, AuditError) as exc:
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
