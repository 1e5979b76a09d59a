"""cvr.json: NIST SP 1500-103 cast vote records (JSON), one per ballot sheet read.

- Each record has two snapshots: ``original`` (what the machine read: every box with its score as
  ``MarkMetricValue`` and whether it was read as marked) and the counted one (``interpreted`` when
  no person decided anything on the sheet, ``modified`` when a decision applies, with the decisions
  as annotations). ``CurrentSnapshotId`` points at the counted one; a sheet still awaiting review
  has the status ``needs-adjudication``.
- ``BallotImage`` carries the SHA-256 of the decoded page pixels (``SheetRead.image_sha256``), which
  an auditor recomputes from the archived scans to find a record's image.
- Record ids reveal nothing about scan order, yet an auditor re-running the count gets the same
  ids: ``HMAC-SHA256(key, template fingerprint + image hash)`` with a fixed, published key (a
  secret key would hide nothing, since the record carries the image hash itself, and would break
  re-runs). Records are sorted by id, and carry no file, page, batch or time.
- Records are made for sheets in the count and sheets a person rejected as invalid ballots (their
  contests ``invalidated-rules``); duplicates, test-deck sheets and sheets not issued by the
  committee have none (they are not ballots of this count).
- Each person of a confidence contest is a ``BallotMeasureContest`` (its three levels the
  selections); a choose contest is a ``CandidateContest``; a yes/no question a ``BallotMeasureContest``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

from omr.ballot.layout import fingerprint
from omr.ballot.template import Template
from omr.codes import COUNTED, PENDING, REJECTED_BY_REVIEWER
from omr.count.tally import RowOutcome, SheetOutcome, Tally
from omr.read.results import BLANK, INVALID, MARKED, VALID

DEVICE_ID = "ballot-omr"
CVR_ID_KEY = b"ballot-omr/cvr-id/v1"
EPOCH = "1970-01-01T00:00:00Z"


def cvr_id(template_fingerprint: str | None, image_sha256: str) -> str:
    """A record id: stable across re-runs, unrelated to the order sheets were scanned in."""
    digest = hmac.new(CVR_ID_KEY, f"{template_fingerprint or ''}:{image_sha256}".encode(), hashlib.sha256)
    return "cvr-" + digest.hexdigest()[:24]


def _contest_id(t: Template, contest_id: str, row_id: str, kind: str) -> str:
    return f"{t.id}/{contest_id}/{row_id}" if kind == "confidence" else f"{t.id}/{contest_id}"


def _election(t: Template) -> dict[str, Any]:
    contests: list[dict[str, Any]] = []
    candidates: list[dict[str, Any]] = []
    for c in t.contests:
        for row_id in c.row_ids:
            cid = _contest_id(t, c.id, row_id, c.kind)
            if c.kind == "choose":
                selections = []
                for o in c.options:
                    cand = f"{t.id}/candidate/{c.id}/{o.id}"
                    candidates.append({"@id": cand, "@type": "CVR.Candidate", "Name": o.label})
                    selections.append({"@id": f"{cid}/{o.id}", "@type": "CVR.CandidateSelection",
                                       "CandidateIds": [cand]})
                contests.append({"@id": cid, "@type": "CVR.CandidateContest", "Name": c.title,
                                 "ContestSelection": selections, "VotesAllowed": c.max_marks,
                                 "NumberElected": c.max_marks, "VoteVariation": "n-of-m" if c.max_marks > 1
                                 else "plurality"})
            else:
                person = next((p for p in c.rows if p.id == row_id), None)
                name = f"{person.name} — {person.position}" if person and person.position else (
                    person.name if person else c.title)
                contests.append({"@id": cid, "@type": "CVR.BallotMeasureContest", "Name": name,
                                 "ContestSelection": [{"@id": f"{cid}/{o.id}", "@type": "CVR.BallotMeasureSelection",
                                                       "Selection": o.label} for o in c.options]})
    election: dict[str, Any] = {"@id": f"election/{t.id}", "@type": "CVR.Election",
                                "Name": " — ".join(x for x in (t.header.title, t.header.subtitle) if x),
                                "ElectionScopeId": f"gpunit/{t.id}", "Contest": contests}
    if candidates:
        election["Candidate"] = candidates
    return election


_INVALID_STATUS = {"no-mark": "not-indicated", "several-marks": "overvoted", "overvote": "overvoted",
                   "undervote": "undervoted", "crossed-out-name": "invalidated-rules",
                   "decided-invalid": "invalidated-rules", "ballot-invalid": "invalidated-rules"}


def _indication(state: str) -> str:
    return "yes" if state == MARKED else "no" if state == BLANK else "unknown"


def _counts(kind: str, max_marks: int, n: int) -> dict[str, int]:
    if kind == "choose":
        return {"Selections": n, "Overvotes": max(0, n - max_marks), "Undervotes": max(0, max_marks - n)}
    return {"Selections": n, "Overvotes": int(n > 1), "Undervotes": int(n == 0)}


def _original_contest(cid: str, row: RowOutcome, kind: str, max_marks: int) -> dict[str, Any]:
    votes = set(row.machine_choices) if row.machine_status == VALID else set()
    selections = []
    for i, m in enumerate(row.marks, start=1):
        counted = m.option_id in votes
        allocable = "yes" if counted else "unknown" if row.machine_status not in (VALID, INVALID) else "no"
        selections.append({
            "@type": "CVR.CVRContestSelection", "ContestSelectionId": f"{cid}/{m.option_id}", "OptionPosition": i,
            "SelectionPosition": [{"@type": "CVR.SelectionPosition", "Position": 1,
                                   "HasIndication": _indication(m.state), "MarkMetricValue": [f"{m.score:.4f}"],
                                   "NumberVotes": int(counted), "IsAllocable": allocable}],
            "TotalNumberVotes": int(counted)})
    out: dict[str, Any] = {"@type": "CVR.CVRContest", "ContestId": cid, "CVRContestSelection": selections,
                           **_counts(kind, max_marks, len(row.machine_choices))}
    if row.machine_status == INVALID:
        codes = [c for c in row.machine_codes if c in _INVALID_STATUS] or ["invalid"]
        out["Status"] = [_INVALID_STATUS.get(codes[0], "invalidated-rules")]
    elif row.machine_status != VALID:
        out["Status"] = ["other"]
        out["OtherStatus"] = "needs-adjudication"
    return out


def _counted_contest(cid: str, row: RowOutcome | None, kind: str, max_marks: int, ballot_invalid: bool) -> dict:
    if row is None or ballot_invalid:
        return {"@type": "CVR.CVRContest", "ContestId": cid, "Status": ["invalidated-rules"], "Selections": 0}
    marks = {m.option_id: m for m in row.marks}
    decided = row.decision is not None
    selections = []
    if row.status == VALID:
        for option in row.choices:
            m = marks.get(option)
            position: dict[str, Any] = {"@type": "CVR.SelectionPosition", "Position": 1,
                                        "HasIndication": _indication(m.state) if m else "unknown", "NumberVotes": 1,
                                        "IsAllocable": "yes"}
            if m is not None:
                position["MarkMetricValue"] = [f"{m.score:.4f}"]
            if decided:
                position["Status"] = ["adjudicated"]
            selections.append({"@type": "CVR.CVRContestSelection", "ContestSelectionId": f"{cid}/{option}",
                               "OptionPosition": list(marks).index(option) + 1 if option in marks else 1,
                               "SelectionPosition": [position], "TotalNumberVotes": 1})
    out: dict[str, Any] = {"@type": "CVR.CVRContest", "ContestId": cid, "CVRContestSelection": selections,
                           **_counts(kind, max_marks, len(row.choices))}
    if row.status == INVALID:
        out["Status"] = [_INVALID_STATUS.get(row.codes[0] if row.codes else "", "invalidated-rules")]
    elif row.status == PENDING:
        out["Status"] = ["other"]
        out["OtherStatus"] = "needs-adjudication"
    return out


def _annotations(sheet: SheetOutcome) -> list[dict[str, Any]]:
    notes = []
    for d in sheet.decisions:
        what = f"{d.contest_id}/{d.row_id}" if d.scope == "row" else "sheet"
        text = f"{what}: {d.action}" + (f" {'+'.join(d.choices)}" if d.action == "set" else "") + \
            (f" ({d.reason})" if d.reason else "")
        notes.append({"@type": "CVR.Annotation", "AdjudicatorName": [d.reviewer], "Message": [text],
                      "TimeStamp": d.created_at})
    return notes


def cvr_record(sheet: SheetOutcome, template: Template) -> dict[str, Any]:
    fp = fingerprint(template)
    rid = cvr_id(fp, sheet.image_sha256)
    contests = {c.id: c for c in template.contests}
    rows = {(r.contest_id, r.row_id): r for r in sheet.rows}
    ballot_invalid = sheet.outcome == REJECTED_BY_REVIEWER
    original, counted = [], []
    source_rows = list(sheet.rows)
    for row in source_rows:
        c = contests[row.contest_id]
        cid = _contest_id(template, c.id, row.row_id, c.kind)
        original.append(_original_contest(cid, row, c.kind, c.max_marks))
        counted.append(_counted_contest(cid, rows.get((row.contest_id, row.row_id)), c.kind, c.max_marks,
                                        ballot_invalid))
    machine_status = [] if sheet.machine_status == "ok" else ["needs-adjudication"]
    snap_original: dict[str, Any] = {"@id": f"{rid}/original", "@type": "CVR.CVRSnapshot", "Type": "original",
                                     "CVRContest": original}
    if machine_status:
        snap_original["Status"] = machine_status
        snap_original["Annotation"] = [{"@type": "CVR.Annotation", "Message": sorted(
            {r.code for r in sheet.reasons} | {code for r in source_rows if r.machine_status != VALID
                                               for code in r.codes})}]
    kind = "modified" if sheet.decisions else "interpreted"
    snap_counted: dict[str, Any] = {"@id": f"{rid}/{kind}", "@type": "CVR.CVRSnapshot", "Type": kind,
                                    "CVRContest": counted}
    if sheet.pending:
        snap_counted["Status"] = ["needs-adjudication"]
    notes = _annotations(sheet)
    if notes:
        snap_counted["Annotation"] = notes
    return {
        "@type": "CVR.CVR", "UniqueId": rid, "ElectionId": f"election/{template.id}", "BallotStyleId": template.id,
        "BallotSheetId": str(sheet.template_page or 1), "CreatingDeviceId": DEVICE_ID,
        "BallotImage": [{"@type": "CVR.ImageData",
                         "Hash": {"@type": "CVR.Hash", "Type": "sha-256", "Value": sheet.image_sha256}}],
        "CVRSnapshot": [snap_original, snap_counted], "CurrentSnapshotId": snap_counted["@id"],
    }


def cvr_report(tally: Tally) -> dict[str, Any]:
    from omr import __version__

    by_fp = {fingerprint(t): t for t in tally.templates}
    records = [cvr_record(s, by_fp[s.fingerprint]) for s in tally.sheets
               if s.outcome in (COUNTED, REJECTED_BY_REVIEWER) and s.fingerprint in by_fp]
    records.sort(key=lambda r: r["UniqueId"])
    decided = any(s.decisions for s in tally.sheets)
    report: dict[str, Any] = {
        "@type": "CVR.CastVoteRecordReport",
        "Version": "1.0.0",
        "GeneratedDate": tally.as_of or EPOCH,
        "ReportType": ["originating-device-export"] + (["adjudicated"] if decided else []),
        "ReportGeneratingDeviceIds": [DEVICE_ID],
        "ReportingDevice": [{
            "@id": DEVICE_ID, "@type": "CVR.ReportingDevice", "Application": f"Ballot OMR {__version__}",
            "Manufacturer": "Ballot OMR", "Model": "omr tally",
            "MarkMetricType": "share of the box interior covered by new ink, 0 to 1 (4 decimals)",
            "Notes": ["BallotImage Hash: SHA-256 of the decoded page pixels (height x width header, then the grey "
                      "bytes), as recorded in the results database for each sheet read",
                      "UniqueId: 'cvr-' + the first 24 hex digits of HMAC-SHA256(key 'ballot-omr/cvr-id/v1', "
                      "template fingerprint + ':' + image hash): stable across re-runs, unrelated to scan order; "
                      "records are sorted by it"]}],
        "GpUnit": [{"@id": f"gpunit/{t.id}", "@type": "CVR.GpUnit", "Type": "other", "OtherType": "organisation",
                    "Name": " — ".join(t.header.left) or t.header.title} for t in tally.templates],
        "Election": [_election(t) for t in tally.templates],
        "CVR": records,
    }
    if tally.provisional:
        report["Notes"] = (f"PROVISIONAL: {len(tally.pending_sheets)} sheet(s) await review; the records marked "
                           "needs-adjudication may still change")
    if not report["GpUnit"]:
        report["GpUnit"] = [{"@id": "gpunit/none", "@type": "CVR.GpUnit", "Type": "other"}]
        report["Election"] = [{"@id": "election/none", "@type": "CVR.Election", "ElectionScopeId": "gpunit/none",
                               "Contest": [{"@id": "none", "@type": "CVR.Contest", "ContestSelection": [
                                   {"@id": "none/none", "@type": "CVR.ContestSelection"}]}]}]
    return report


def cvr_json(tally: Tally) -> str:
    return json.dumps(cvr_report(tally), ensure_ascii=False, indent=1) + "\n"
