"""`omr audit` and `omr verify` (registered in omr/cli/main.py)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from omr.scan import usable_cores


def cmd_audit(args: Any) -> int:
    from omr.audit.findings import AuditError
    from omr.audit.rerun import run_audit  # the reader and the scan runner: loaded only to re-read
    from omr.scan.cluster import ClusterError

    try:
        report = run_audit(args.archive, args.db, args.template or [], jobs=args.jobs, calibration=args.calibration,
                           progress=True, cluster=args.cluster)
    except (AuditError, ClusterError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(report.to_json(), ensure_ascii=False, indent=1), encoding="utf-8")
    if args.report:
        from omr.audit.report import write_audit_pdf

        Path(args.report).parent.mkdir(parents=True, exist_ok=True)
        write_audit_pdf(report, args.report)
    print("\n".join(report.summary_lines()))
    return report.exit_code


def cmd_verify(args: Any) -> int:
    from omr.audit.findings import AuditError
    from omr.audit.verify import verify_database

    try:
        result = verify_database(args.db, args.head)
    except AuditError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print("\n".join(result.lines(args.db)))
    return 0 if result.ok else 1


def add_parser(sub: Any) -> None:
    """`omr audit` and `omr verify` on the command line's sub-parsers."""
    p = sub.add_parser("audit", help="re-read archived scans and compare with the results database")
    p.add_argument("archive", nargs="+", metavar="ARCHIVE", help="the archived scan files or folders")
    p.add_argument("--db", required=True, help="the results database to audit (never written)")
    p.add_argument("--template", action="extend", nargs="+", metavar="T.yaml",
                   help="the templates the ballots were printed from (default: the paths the runs recorded); "
                        "each must have the fingerprint the runs recorded")
    p.add_argument("--calibration", default=None,
                   help="re-read with this profile instead of the thresholds each run recorded")
    p.add_argument("--jobs", type=int, default=usable_cores(),
                   help=f"worker processes (default: the usable cores, here {usable_cores()})")
    p.add_argument("--cluster", metavar="ADDRESS", help="re-read on a Dask cluster (tcp://HOST:8786, or local:N "
                                                        "worker processes here), as omr scan --cluster")
    p.add_argument("--report", metavar="audit.pdf", help="write the audit report as PDF")
    p.add_argument("--json", metavar="audit.json", help="write every difference as JSON")
    p.set_defaults(func=cmd_audit)

    p = sub.add_parser("verify", help="check that the results database was not edited behind the tool's back")
    p.add_argument("--db", required=True, help="the results database (never written)")
    p.add_argument("--head", default=None, metavar="HASH", help="a log head published earlier, which must still "
                                                                "be in the log")
    p.set_defaults(func=cmd_verify)
