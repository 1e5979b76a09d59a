"""The `omr` command line: one parser, each group of sub-commands from its own module.

These modules import nothing heavy at the top (numpy, OpenCV, the reader): `omr scan --jobs N` starts
the process its workers come from before it imports the reader, so that both import side by side.
"""

from __future__ import annotations

import argparse
import sys

from omr import __version__
from omr.cli import audit, ballot, demo, merge, review, scan, tally


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="omr", description="Optical mark recognition for paper ballots.")
    parser.add_argument("--version", action="version", version=f"omr {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    for group in (ballot, scan, tally, review, audit, merge, demo):
        group.add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except ValueError as exc:  # a TemplateError is one; its module is loaded only by the commands that read templates
        from omr.ballot.template import TemplateError

        if not isinstance(exc, TemplateError):
            raise
        print(exc, file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted: what was read so far is kept; run the same command again to finish", file=sys.stderr)
        return 130
