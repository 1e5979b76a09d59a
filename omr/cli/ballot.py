"""`omr validate`, `omr layout` and `omr generate`: the ballot, before any scan."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def _cmd_validate(args: argparse.Namespace) -> int:
    from omr.ballot.template import TemplateError, load_template

    failed = 0
    for path in args.templates:
        try:
            template = load_template(path)
        except TemplateError as exc:
            print(exc, file=sys.stderr)
            failed += 1
            continue
        from omr.ballot.layout import layout

        bl = layout(template)
        boxes = sum(len(p.boxes) for p in bl.pages)
        print(f"{path}: OK — '{template.header.title}', {len(template.contests)} contest(s), "
              f"{len(bl.pages)} page(s), {boxes} boxes, fingerprint {bl.fingerprint[:16]}…")
        for warning in template.warnings:
            print(f"{path}: warning: {warning}")
    return 1 if failed else 0


def _cmd_layout(args: argparse.Namespace) -> int:
    from omr.ballot.layout import layout
    from omr.ballot.template import load_template

    bl = layout(load_template(args.template))
    if args.json:
        json.dump(bl.to_json(), sys.stdout, ensure_ascii=False, indent=1)
        print()
        return 0
    print(f"template {bl.template_id}  layout v{bl.layout_version}  paper {bl.paper}")
    print(f"fingerprint {bl.fingerprint}")  # 64 hex digits: a line of its own at 80 columns
    for p in bl.pages:
        print(f"page {p.number}/{p.count}: {len(p.boxes)} boxes, {len(p.name_cells) + len(p.strike_cells)} names, "
              f"QR at ({p.qr.x:.1f}, {p.qr.y:.1f}) mm")
        for b in p.boxes:
            print(f"  box {b.contest_id}/{b.row_id}/{b.option_id}: x={b.rect.x:.2f} y={b.rect.y:.2f} "
                  f"w={b.rect.w:.2f} h={b.rect.h:.2f} mm")
        for c in p.strike_cells:
            r = c.text_rect
            print(f"  name {c.contest_id}/{c.row_id}: x={r.x:.2f} y={r.y:.2f} w={r.w:.2f} h={r.h:.2f} mm "
                  f"({len(c.lines)} line(s))")
            if c.prefix is not None:  # the "Ông"/"Bà" before it: a strike through it counts from there
                print(f"    title before it: x={c.prefix.x:.2f} w={c.prefix.w:.2f} mm")
        if p.stamp is not None:
            print(f"  stamp area: x={p.stamp.x:.2f} y={p.stamp.y:.2f} w={p.stamp.w:.2f} h={p.stamp.h:.2f} mm")
    return 0


def _cmd_generate(args: argparse.Namespace) -> int:
    from omr.ballot.generate import ballots_pdf, test_deck_pdf, test_deck_votes
    from omr.ballot.template import load_template

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


def add_parser(sub: argparse._SubParsersAction) -> None:
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
