"""Write demo-decisions.json: what a counting committee would decide for the bundled samples.

    python3 sample_scans/make_demo_decisions.py

A DEMONSTRATION, used only by `omr demo`: the decisions are not a person's. They are derived from
expected.json, the truth the simulator recorded (what each voter marked, what was written on each
sheet), as a careful reviewer looking at every sheet would decide them:

- a row: the choices the voter marked (the tally then applies the ballot's rules: no mark, several
  marks, overvote), or invalid when the voter crossed out the printed name; on a cross-out ballot,
  struck or not as the voter's stroke was meant (an unclear stroke that is no strike: not struck);
- a sheet: rejected when it is the same sheet scanned again, when names were added to it, or when a
  cross-out ballot bears no stamp; else accepted (a signature, a note, a damaged corner mark, a scanner
  streak or a blank sheet does not void a ballot: a person confirms it; on a cross-out ballot, the stamp
  is there).

`omr demo` applies a decision only where the tally says a person is needed, so the reader may
change what it doubts without the demonstration deciding what nobody asked. It also carries the
committee's hand counts of the demonstration, per ballot: the ballots found in the samples (and for an
election, the base of its percentages: the members convened).
"""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REVIEWER = "DEMO — not a real review"
# make_samples.py draws its sheet "not issued by the committee" from this ballot: it lies in that pile
NOT_ISSUED_PILE = "tin-nhiem-cdyt-dong-nai-2023"


def sheet_decision(page: dict[str, Any]) -> dict[str, str]:
    if page["duplicate_of"]:
        return {"action": "reject-sheet", "reason": "duplicate", "note": f"the same sheet as {page['duplicate_of']}"}
    if "added_name" in page["behaviours"]:
        return {"action": "reject-sheet", "reason": "added-content", "note": "a name written in by the voter"}
    if page.get("stamp") == "absent":  # a cross-out ballot the committee forgot to stamp: invalid
        return {"action": "reject-sheet", "reason": "no-stamp", "note": "no stamp on the paper ballot"}
    return {"action": "accept", "note": "looked at: " + (", ".join(page["flags"]) or "nothing that voids it")}


def row_decision(row: dict[str, Any]) -> list[str] | dict[str, str]:
    if "crossed_name" in row["reasons"]:
        return {"invalid": "crossed-out-name"}
    return list(row["intended"])


def demo_decisions(expected: dict[str, Any]) -> dict[str, Any]:
    ballots: dict[str, set[str]] = defaultdict(set)
    elections: set[str] = set()  # cross-out ballots: the Party's percentage base is the committee's too
    piles: dict[str, str] = {}
    sheets = []
    for page in expected["pages"]:
        where = f"{page['file']}#{page['page']}"
        if page["template"] is None:  # not issued by the committee: the machine rejects it
            piles[where] = NOT_ISSUED_PILE
            ballots[NOT_ISSUED_PILE].add(page["ballot"])
            continue
        if page["test"]:  # a test-deck sheet: never counted, nothing to decide
            continue
        ballots[page["template"]].add(page["ballot"])
        if page.get("verdict"):
            elections.add(page["template"])
        sheets.append({"file": page["file"], "page": page["page"], "sheet": sheet_decision(page),
                       "rows": {f"{r['contest']}/{r['row']}": row_decision(r) for r in page["rows"]}})
    hand_counts = {}
    for template_id, found in sorted(ballots.items()):
        collected = len(found)
        hand_counts[template_id] = {"issued": collected + 1, "collected": collected,
                                    "convened": collected + 3, "present": collected + 1}
        if template_id in elections:  # the members convened, less none excluded: omr tally --base
            hand_counts[template_id]["base"] = collected + 1
    return {
        "format": "ballot-omr-demo-decisions",
        "version": 1,
        "demonstration": "DEMONSTRATION ONLY, for `omr demo` on the bundled samples: not a person's review. "
                         "Decided from expected.json (the simulator's truth) by sample_scans/make_demo_decisions.py. "
                         "Never apply to real ballots.",
        "reviewer": REVIEWER,
        "hand_counts": hand_counts,
        "piles": piles,
        "sheets": sheets,
    }


def main() -> int:
    expected = json.loads((HERE / "expected.json").read_text(encoding="utf-8"))
    data = demo_decisions(expected)
    head = json.dumps({k: v for k, v in data.items() if k != "sheets"}, ensure_ascii=False, indent=1)
    lines = ",\n".join("  " + json.dumps(s, ensure_ascii=False) for s in data["sheets"])  # one sheet a line
    text = head[:-2] + ',\n "sheets": [\n' + lines + "\n ]\n}\n"
    json.loads(text)
    (HERE / "demo-decisions.json").write_text(text, encoding="utf-8")
    print(f"demo-decisions.json: {len(data['sheets'])} sheets, hand counts {data['hand_counts']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
