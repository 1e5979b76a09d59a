"""cvr.json: NIST SP 1500-103 cast vote records (JSON), one per sheet of paper read.

- Three snapshots, as VVSG and VxSuite keep them: ``original`` (every box as read: its score as
  ``MarkMetricValue``, ``HasIndication`` marked/blank/marginal, nothing allocated yet),
  ``interpreted`` (the machine's reading under the contest rules, ``needs-adjudication`` when it
  sent the sheet to a person) and, when a person decided anything on the sheet, ``modified`` (what
  counts, the decisions as annotations). ``CurrentSnapshotId`` is the last of them.
- Every box is a ``SelectionPosition`` with ``NumberVotes`` 1 (what a mark there is worth);
  ``IsAllocable`` says whether it counts. In every decided contest Overvotes + Undervotes + the
  votes allocated = VotesAllowed (1 for confidence and yes/no): see :func:`contest_record`.
- ``BatchId``/``BatchSequenceId`` are the ballot manifest's batch and card number
  (:mod:`omr.reports.batches`), ``BallotAuditId`` links the sheets of one ballot, ``BallotSheetId``
  is the sheet of paper: the page, or for a ballot printed on both sides (the template's ``duplex``)
  the sheet whose two sides are one record. ``BallotImage`` gives each scanned page (its file, path
  relative to the folder of the scans, and page) with the SHA-256 of the file's bytes, and the SHA-256
  of the decoded pixels under its own name (``ballot-omr-pixels-sha-256``), which an auditor recomputes
  from any copy of the scan.
- Record ids are stable across re-runs and unrelated to scan order: ``HMAC-SHA256(key, template
  fingerprint + image hash)`` with a fixed, published key; records are sorted by id. Batch and
  card number do say where a sheet was in the pile, as any audit needs; the pile is the ballot box's,
  not the voters' order.
- Records are made for sheets in the count and sheets a person rejected as invalid ballots (their
  contests ``invalidated-rules``); duplicates, test-deck sheets and sheets not issued by the
  committee have none (they are not ballots of this count).
- Each person of a confidence contest is a ``RetentionContest`` on that person (a ``Candidate``),
  its levels the selections; a choose contest is a ``CandidateContest`` with a ``Candidate`` per
  choice; a yes/no question a ``BallotMeasureContest``; a cross-out election ballot one n-of-m
  ``CandidateContest`` whose selections are its candidates (a name left, not struck, is a vote).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any
from urllib.parse import quote

from omr.ballot.layout import fingerprint
from omr.ballot.template import Contest, Template
from omr.codes import COUNTED, REJECTED_BY_REVIEWER
from omr.count.tally import RowOutcome, SheetOutcome, Tally
from omr.read.results import BLANK, INVALID, MARKED, REVIEW, VALID, MarkRead
from omr.reports.arlo import OVERVOTE_CODES, votes_allowed
from omr.reports.batches import Batch, ballot_batches, ballot_ids, card_places, scans_folder
from omr.reports.text import row_title

DEVICE_ID = "ballot-omr"
CVR_ID_KEY = b"ballot-omr/cvr-id/v1"
EPOCH = "1970-01-01T00:00:00Z"
PIXELS_HASH = "ballot-omr-pixels-sha-256"


def cvr_id(template_fingerprint: str | None, image_sha256: str) -> str:
    """A record id: stable across re-runs, unrelated to the order sheets were scanned in."""
    digest = hmac.new(CVR_ID_KEY, f"{template_fingerprint or ''}:{image_sha256}".encode(), hashlib.sha256)
    return "cvr-" + digest.hexdigest()[:24]


def _contest_id(t: Template, contest_id: str, row_id: str, kind: str) -> str:
    return f"{t.id}/{contest_id}/{row_id}" if kind == "confidence" else f"{t.id}/{contest_id}"


def _person_id(t: Template, contest_id: str, row_id: str) -> str:
    return f"{t.id}/person/{contest_id}/{row_id}"


def _election(t: Template) -> dict[str, Any]:
    contests: list[dict[str, Any]] = []
    candidates: list[dict[str, Any]] = []
    for c in t.contests:
        if c.kind == "crossout":  # one contest, each candidate a selection: a name left (not struck) is a vote
            cid = f"{t.id}/{c.id}"
            selections = []
            for p in c.candidates:
                cand = f"{t.id}/candidate/{c.id}/{p.id}"
                candidates.append({"@id": cand, "@type": "CVR.Candidate", "Name": p.name})
                selections.append({"@id": f"{cid}/{p.id}", "@type": "CVR.CandidateSelection", "CandidateIds": [cand]})
            contests.append({"@id": cid, "@type": "CVR.CandidateContest", "Name": c.title or t.header.title,
                             "ContestSelection": selections, "VotesAllowed": c.seats, "NumberElected": c.seats,
                             "VoteVariation": "n-of-m"})
            continue
        for row_id in c.row_ids:
            cid = _contest_id(t, c.id, row_id, c.kind)
            name = row_title(c, row_id)
            if c.kind == "choose":
                selections = []
                for o in c.options:
                    cand = f"{t.id}/candidate/{c.id}/{o.id}"
                    candidates.append({"@id": cand, "@type": "CVR.Candidate", "Name": o.label})
                    selections.append({"@id": f"{cid}/{o.id}", "@type": "CVR.CandidateSelection",
                                       "CandidateIds": [cand]})
                contests.append({"@id": cid, "@type": "CVR.CandidateContest", "Name": name,
                                 "ContestSelection": selections, "VotesAllowed": votes_allowed(c),
                                 "NumberElected": c.max_marks, "VoteVariation": "n-of-m" if c.max_marks > 1
                                 else "plurality"})
                continue
            levels = [{"@id": f"{cid}/{o.id}", "@type": "CVR.BallotMeasureSelection", "Selection": o.label}
                      for o in c.options]
            if c.kind == "confidence":  # a vote on keeping a person: NIST's retention contest
                person = next(p for p in c.rows if p.id == row_id)
                candidates.append({"@id": _person_id(t, c.id, row_id), "@type": "CVR.Candidate", "Name": person.name})
                contests.append({"@id": cid, "@type": "CVR.RetentionContest", "Name": name,
                                 "CandidateId": _person_id(t, c.id, row_id), "ContestSelection": levels})
            else:
                contests.append({"@id": cid, "@type": "CVR.BallotMeasureContest", "Name": name,
                                 "ContestSelection": levels})
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


def _position(m: MarkRead, allocable: str, adjudicated: bool) -> dict[str, Any]:
    """One box: NumberVotes is what a mark there is worth (1); IsAllocable says whether it counts."""
    position: dict[str, Any] = {"@type": "CVR.SelectionPosition", "Position": 1, "HasIndication": _indication(m.state),
                                "MarkMetricValue": [f"{m.score:.4f}"], "NumberVotes": 1, "IsAllocable": allocable}
    if adjudicated:
        position["Status"] = ["adjudicated"]
    return position


def _selections(cid: str, marks: tuple[MarkRead, ...], allocable: dict[str, str], adjudicated: bool) -> list[dict]:
    return [{"@type": "CVR.CVRContestSelection", "ContestSelectionId": f"{cid}/{m.option_id}", "OptionPosition": i,
             "SelectionPosition": [_position(m, allocable.get(m.option_id, "unknown"), adjudicated)],
             "TotalNumberVotes": int(allocable.get(m.option_id) == "yes")}
            for i, m in enumerate(marks, start=1)]


def _original_contest(cid: str, row: RowOutcome) -> dict[str, Any]:
    """The boxes as captured, no rule applied yet: nothing allocated, nothing lost."""
    return {"@type": "CVR.CVRContest", "ContestId": cid, "CVRContestSelection": _selections(cid, row.marks, {}, False),
            "Selections": sum(m.state == MARKED for m in row.marks)}


def contest_record(cid: str, marks: tuple[MarkRead, ...], status: str, choices: tuple[str, ...],
                   codes: tuple[str, ...], allowed: int, adjudicated: bool = False) -> dict[str, Any]:
    """A contest after the rules (the machine's, or a person's decision): the votes it gives and the
    votes lost, so that Overvotes + Undervotes + votes = VotesAllowed. A row void for too many marks
    loses every vote to Overvotes; a row void for any other reason (no mark, too few, a crossed-out
    name, a person's decision, a rejected ballot) loses them to Undervotes; a row still awaiting a
    person allocates nothing yet and says so (needs-adjudication, no over/undervotes)."""
    decided = status in (VALID, INVALID)
    counted = set(choices) if status == VALID else set()
    allocable = {m.option_id: "yes" if m.option_id in counted else "no" for m in marks} if decided else {}
    out: dict[str, Any] = {"@type": "CVR.CVRContest", "ContestId": cid,
                           "CVRContestSelection": _selections(cid, marks, allocable, adjudicated),
                           "Selections": len(choices)}
    if status == VALID:
        out.update(Overvotes=0, Undervotes=allowed - len(counted))
    elif status == INVALID:
        over = bool(codes) and codes[0] in OVERVOTE_CODES
        out.update(Overvotes=allowed if over else 0, Undervotes=0 if over else allowed,
                   Status=[_INVALID_STATUS.get(codes[0] if codes else "", "invalidated-rules")])
    else:
        out.update(Status=["other"], OtherStatus="needs-adjudication")
    return out


def _crossout_contest(cid: str, c: Contest, rows: list[RowOutcome], which: str, adjudicated: bool) -> dict[str, Any]:
    """A cross-out ballot as one n-of-m contest: each candidate a selection whose indication is the name
    left (not struck); the ballot's verdict allocates the votes (all rows share it)."""
    def left(state: str) -> str:
        return "no" if state == MARKED else "yes" if state == BLANK else "unknown"

    machine = [r.machine_status for r in rows]  # a list on two pages: each page read as far as it could tell
    read = REVIEW if REVIEW in machine else INVALID if INVALID in machine else VALID
    status, choices = {"original": (None, None), "interpreted": (read, None),
                       "modified": (rows[0].status, None), "rejected": (INVALID, None)}[which]
    selections = []
    votes = 0
    for i, row in enumerate(rows, start=1):
        strike = next((m for m in row.marks if m.option_id == "struck"), None)
        if c.style == "agree":
            chosen = row.machine_choices if which == "interpreted" else row.choices
            is_vote = tuple(chosen) == (c.options[0].id,)
            indication, metric = ("yes" if is_vote else "no"), [f"{m.score:.4f}" for m in row.marks]
        else:
            chosen = row.machine_choices if which in ("original", "interpreted") else row.choices
            is_vote = "struck" not in chosen
            indication = left(strike.state) if strike and which in ("original", "interpreted") else \
                ("yes" if is_vote else "no")
            metric = [f"{strike.score:.4f}"] if strike else []
        allocable = "unknown" if status not in (VALID, INVALID) else "yes" if status == VALID and is_vote else "no"
        votes += allocable == "yes"
        position: dict[str, Any] = {"@type": "CVR.SelectionPosition", "Position": 1, "HasIndication": indication,
                                    "MarkMetricValue": metric, "NumberVotes": 1, "IsAllocable": allocable}
        if adjudicated and row.decision is not None:
            position["Status"] = ["adjudicated"]
        selections.append({"@type": "CVR.CVRContestSelection", "ContestSelectionId": f"{cid}/{row.row_id}",
                           "OptionPosition": i, "SelectionPosition": [position],
                           "TotalNumberVotes": int(allocable == "yes")})
    out: dict[str, Any] = {"@type": "CVR.CVRContest", "ContestId": cid, "CVRContestSelection": selections,
                           "Selections": votes}
    if status == VALID:
        out.update(Overvotes=0, Undervotes=c.seats - votes)
    elif status == INVALID:
        over = rows[0].codes[:1] == ("too-many-left",) if which != "rejected" else False
        out.update(Overvotes=c.seats if over else 0, Undervotes=0 if over else c.seats,
                   Status=["overvoted" if over else "invalidated-rules"])
    elif status is not None:
        out.update(Status=["other"], OtherStatus="needs-adjudication")
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


def image_location(sheet: SheetOutcome, folder: str) -> str:
    """The scanned file and page as a URI, its path relative to `folder` (the folder holding the
    scans, so the archive can move): ``file:lo-2.pdf#page=3``. A relative reference alone
    ("lo-2.pdf#page=3") is not a URI, which the schema's ``format: uri`` asks for."""
    path = sheet.source.replace("\\", "/")
    if folder and path.startswith(folder.rstrip("/") + "/"):
        path = path[len(folder.rstrip("/")) + 1:]
    return f"file:{quote(path, safe='/')}#page={sheet.page}"


def _images(sheet: SheetOutcome, folder: str) -> list[dict[str, Any]]:
    location = image_location(sheet, folder)
    images = []
    if sheet.source_sha256:
        images.append({"@type": "CVR.ImageData", "Location": location,
                       "Hash": {"@type": "CVR.Hash", "Type": "sha-256", "Value": sheet.source_sha256}})
    images.append({"@type": "CVR.ImageData", "Location": location,
                   "Hash": {"@type": "CVR.Hash", "Type": "other", "OtherType": PIXELS_HASH,
                            "Value": sheet.image_sha256}})
    return images


def _contests(sheet: SheetOutcome, template: Template,
              crossout_rows: tuple[RowOutcome, ...] | None) -> tuple[list[dict], list[dict], list[dict]]:
    """One sheet's contests in the original, interpreted and modified snapshots (see cvr_record)."""
    contests = {c.id: c for c in template.contests}
    rejected = sheet.outcome == REJECTED_BY_REVIEWER
    original, interpreted, modified = [], [], []
    for c in template.contests:
        rows = [r for r in (sheet.rows if crossout_rows is None else crossout_rows) if r.contest_id == c.id]
        if c.kind == "crossout" and rows:
            cid = f"{template.id}/{c.id}"
            original.append(_crossout_contest(cid, c, rows, "original", False))
            interpreted.append(_crossout_contest(cid, c, rows, "interpreted", False))
            modified.append(_crossout_contest(cid, c, rows, "rejected" if rejected else "modified", True))
    for row in sheet.rows:
        c = contests[row.contest_id]
        if c.kind == "crossout":
            continue
        cid = _contest_id(template, c.id, row.row_id, c.kind)
        allowed = votes_allowed(c)
        original.append(_original_contest(cid, row))
        interpreted.append(contest_record(cid, row.marks, row.machine_status, row.machine_choices, row.machine_codes,
                                          allowed))
        if rejected:
            modified.append(contest_record(cid, row.marks, INVALID, (), ("ballot-invalid",), allowed, True))
        else:
            modified.append(contest_record(cid, row.marks, row.status, row.choices, row.codes, allowed,
                                           row.decision is not None))
    return original, interpreted, modified


def cvr_record(sides: tuple[SheetOutcome, ...], template: Template, place: tuple[Batch, int] | None = None,
               ballot_id: str | None = None, folder: str = "",
               crossout_rows: tuple[tuple[RowOutcome, ...] | None, ...] | None = None) -> dict[str, Any]:
    """One sheet of paper's record: a page's, or both sides' (in page order) of a ballot printed on both
    sides of one sheet (`duplex`), their contests and images in one record, as NIST counts sheets
    (BallotSheetId). `crossout_rows`, a side each: the rows of a cross-out ballot whose list is on several
    pages, given for its first page (the contest is recorded once, whole, there) and empty for the others."""
    front = sides[0]
    rid = cvr_id(fingerprint(template), front.image_sha256)
    original, interpreted, modified = [], [], []
    for side, rows in zip(sides, crossout_rows or (None,) * len(sides)):
        o, i, m = _contests(side, template, rows)
        original += o
        interpreted += i
        modified += m
    snapshots: list[dict[str, Any]] = [
        {"@id": f"{rid}/original", "@type": "CVR.CVRSnapshot", "Type": "original", "CVRContest": original}]
    machine: dict[str, Any] = {"@id": f"{rid}/interpreted", "@type": "CVR.CVRSnapshot", "Type": "interpreted",
                               "CVRContest": interpreted}
    if any(side.machine_status != "ok" for side in sides):
        machine["Status"] = ["needs-adjudication"]
        machine["Annotation"] = [{"@type": "CVR.Annotation", "Message": sorted(
            {r.code for side in sides for r in side.reasons}
            | {code for side in sides for r in side.rows if r.machine_status != VALID for code in r.machine_codes})}]
    snapshots.append(machine)
    pending = any(side.pending for side in sides)
    if any(side.decisions for side in sides):
        snap: dict[str, Any] = {"@id": f"{rid}/modified", "@type": "CVR.CVRSnapshot", "Type": "modified",
                                "CVRContest": modified}
        if pending:
            snap["Status"] = ["needs-adjudication"]
        snap["Annotation"] = [note for side in sides for note in _annotations(side)]
        snapshots.append(snap)
    elif pending:
        machine["Status"] = ["needs-adjudication"]
    page = front.template_page or 1
    record: dict[str, Any] = {
        "@type": "CVR.CVR", "UniqueId": rid, "ElectionId": f"election/{template.id}", "BallotStyleId": template.id,
        "BallotSheetId": str((page + 1) // 2 if template.duplex else page), "CreatingDeviceId": DEVICE_ID,
    }
    if ballot_id:
        record["BallotAuditId"] = ballot_id
    if front.serial is not None:
        record["BallotPrePrintedId"] = str(front.serial)
    if place is not None:
        record["BatchId"] = place[0].name
        record["BatchSequenceId"] = place[1]
    record.update(BallotImage=[image for side in sides for image in _images(side, folder)], CVRSnapshot=snapshots,
                  CurrentSnapshotId=snapshots[-1]["@id"])
    return record


def _ballot_rows(sheet: SheetOutcome, sheets: list[SheetOutcome]) -> tuple[RowOutcome, ...] | None:
    """A cross-out ballot of several pages: all its rows on its first sheet, none on the others."""
    if not sheet.ballot:
        return None
    if sheet.ballot != f"{sheet.source}#{sheet.page}":
        return ()
    return tuple(r for s in sheets if s.ballot == sheet.ballot for r in s.rows)


def cvr_report(tally: Tally) -> dict[str, Any]:
    from omr import __version__

    by_fp = {fingerprint(t): t for t in tally.templates}
    batches = ballot_batches(tally)
    places, ballots = card_places(batches), ballot_ids(batches)
    sheets = [s for s in tally.sheets if s.outcome in (COUNTED, REJECTED_BY_REVIEWER) and s.fingerprint in by_fp]
    folder = scans_folder(sheets)
    recorded = {(s.source, s.page) for s in sheets}
    duplex = [tuple(sorted(card, key=lambda s: s.template_page or 1)) for b in batches for card in b.cards
              if len(card) > 1 and all((s.source, s.page) in recorded for s in card)]  # both sides: one record
    on_duplex = {(s.source, s.page) for card in duplex for s in card}
    records = []
    for sides in [*duplex, *((s,) for s in sheets if (s.source, s.page) not in on_duplex)]:
        where = (sides[0].source, sides[0].page)
        records.append(cvr_record(sides, by_fp[sides[0].fingerprint], places.get(where), ballots.get(where), folder,
                                  tuple(_ballot_rows(s, sheets) for s in sides)))
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
            "Notes": ["BallotImage: the scanned file as a file: URI relative to the folder that held the scans, "
                      "with #page=N; one entry with the SHA-256 of the file's bytes (when the results database has "
                      f"it), one with Hash Type other, OtherType {PIXELS_HASH}: SHA-256 of the decoded page pixels "
                      "(height x width header, then the grey bytes)",
                      "BatchId and BatchSequenceId: the ballot manifest's batch and card number (manifest.csv); "
                      "BallotAuditId: the ballot the sheet belongs to (its sheets share it); BallotSheetId: the "
                      "sheet of paper within the ballot (its page; a ballot printed on both sides: both sides in "
                      "one record, two images)",
                      "Snapshots: original (the boxes as read, no rule applied), interpreted (the machine's reading "
                      "under the contest rules), modified (after the committee's decisions, when any); "
                      "CurrentSnapshotId is the one counted",
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
