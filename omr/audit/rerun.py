"""The audit's runner: re-read every archived file and compare with the results database.

:func:`run_audit` takes a snapshot of the results database (the audited file is opened read-only and
never written), re-reads every archived file with the templates, calibration thresholds and options
each original run recorded, into a temporary database, in the order the original runs read them (a
sheet scanned twice is flagged on its second scan: order matters), and compares (omr.audit.compare).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sqlite3
import sys
import tempfile
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from omr.audit.compare import compare_environment, compare_profiles, compare_reads, compare_totals, match_files
from omr.audit.digest import reads_digest
from omr.audit.findings import KINDS, AuditError, AuditReport, Difference, FileEntry, Note, TemplateCheck
from omr.audit.verify import log_problems, open_snapshot, utc_now
from omr.read.results import SheetRead
from omr.scan.ingest import file_sha256
from omr.store.database import Store
from omr.store.environment import environment_info
from omr.store.records import (
    Decision,
    PageFailure,
    RunFile,
    RunRecord,
    SourceRecord,
    StoredSheet,
)


def _resolve_templates(runs: Sequence[RunRecord], template_paths: Sequence[str], base: Path
                       ) -> tuple[dict[int, list[tuple[Any, str]]], list[TemplateCheck], list[Note]]:
    """For each run, its templates (Template, path) with the fingerprints it recorded: from the
    files given, else from the paths the run recorded (as given, or from the database's folder `base`)
    when they still hold the same template (omr.ballot.shelf)."""
    from omr.ballot.shelf import RecordedTemplate, find_templates

    given = find_templates((), template_paths).found  # a bad file given by the auditor: exit 2
    used_given: set[str] = set()
    resolved: dict[int, list[tuple[Any, str]]] = {}
    checks: list[TemplateCheck] = []
    for run in runs:
        records = [RecordedTemplate(t.id, t.fingerprint, t.path) for t in run.templates]
        lookup = find_templates(records, template_paths, base)
        resolved[run.id] = []
        for rec in records:
            found = lookup.found.get(rec.fingerprint)
            if found is None:
                checks.append(TemplateCheck(run.id, rec.id, rec.fingerprint, rec.path, None, "missing",
                                            lookup.missing.get(rec.fingerprint, "no template file given")))
                continue
            if found.path in template_paths:
                used_given.add(found.path)
            resolved[run.id].append((found.template, found.path))
            from_record = rec.path is not None and (found.path == rec.path or Path(found.path) == base / rec.path)
            checks.append(TemplateCheck(run.id, rec.id, rec.fingerprint, rec.path, found.path, "match",
                                        "" if from_record else f"recorded as {rec.path}"))
    notes = [Note("templates", f"{f.path} (fingerprint {fp[:16]}…) was given but no audited run used it")
             for fp, f in given.items() if f.path not in used_given]
    return resolved, checks, notes


def _profile_of(run: RunRecord, override: Any | None) -> tuple[Any, list[Note]]:
    from omr.read.calibration import ProfileError, parse_profile

    recorded = run.calibration
    notes: list[Note] = []
    if override is not None:
        differ = compare_profiles(recorded, override.to_json())
        if differ:
            notes.append(Note("calibration", f"run {run.id} recorded calibration {recorded.get('name')!r}; the "
                                             f"audit re-reads with {override.name!r} instead: " + "; ".join(differ)))
        return override, notes
    try:
        return parse_profile(dict(recorded), f"run {run.id}: recorded calibration"), notes
    except ProfileError as exc:
        raise AuditError(f"cannot re-read with the thresholds run {run.id} recorded: {exc}") from None


_NEEDED = {"tool_version": "tool version", "environment.python": "Python version",
           "environment.libraries": "library versions", "options.render_dpi": "render dpi",
           "options.max_megapixels": "page size limit", "calibration.blank_below": "blank threshold",
           "calibration.marked_at_least": "marked threshold"}


def _record_gaps(run: RunRecord) -> list[str]:
    """What a run should have recorded to be repeated and did not."""
    gaps = []
    for path, label in _NEEDED.items():
        field_name, *parts = path.split(".")
        value: Any = getattr(run, field_name)
        for part in parts:
            value = value.get(part) if isinstance(value, Mapping) else None
        if value in (None, "", {}):
            gaps.append(label)
    if not run.templates or any(not t.fingerprint for t in run.templates):
        gaps.append("template fingerprints")
    return gaps


def _link(target: Path, link: Path) -> None:
    """`link` reads as `target`: a symbolic link, else a hard link, else a copy."""
    try:
        os.symlink(target, link)
    except OSError:
        try:
            os.link(target, link)
        except OSError:
            shutil.copyfile(target, link)


@contextlib.contextmanager
def _progress(total_files: int, enabled: bool) -> Iterator[Any]:
    if not enabled:
        yield None
        return
    from tqdm import tqdm

    bar = tqdm(total=total_files, unit="file", desc="re-reading", disable=None, file=sys.stderr, dynamic_ncols=True)
    try:
        yield bar
    finally:
        bar.close()


def _hash_archive(archive: Sequence[str]) -> tuple[dict[str, list[str]], list[Difference]]:
    """SHA-256 -> the archived paths with that content (folders walked as `omr scan` walks them)."""
    from omr.scan.ingest import expand_inputs

    files, missing_inputs = expand_inputs(list(archive))
    problems = [Difference("archive-input", f.source, None, None, None, None, f.message) for f in missing_inputs]
    archived: dict[str, list[str]] = {}
    for path in sorted(set(files)):
        try:
            archived.setdefault(file_sha256(str(path)), []).append(path)
        except OSError as exc:
            problems.append(Difference("archive-input", path, None, None, None, None,
                                       f"cannot read: {exc.strerror or exc}"))
    return archived, problems


def _reading_record(source: SourceRecord) -> RunFile:
    """The run_files record of the run that read this content (or last tried to): its settings and
    its place in that run's order are what a re-read repeats. A source with neither (never the
    case for what the tool writes) gives its first run, first in that run's order (id 0)."""
    recs = source.files
    return next((f for f in recs if f.outcome == "read"), None) or next(
        (f for f in reversed(recs) if f.outcome == "failed"),
        RunFile(0, source.first_run_id, source.first_path, source.status))


def _environment_notes(runs: Sequence[RunRecord]) -> list[Note]:
    here = environment_info()
    seen: dict[str, list[int]] = {}
    notes = []
    for run in runs:
        for message in compare_environment(run.environment, here):
            seen.setdefault(message, []).append(run.id)
        gaps = _record_gaps(run)
        if gaps:
            notes.append(Note("record", f"run {run.id} did not record {', '.join(gaps)}: the re-read uses "
                                        "the defaults and this computer's"))
    return notes + [Note("environment", f"{m} (run{'s' if len(ids) > 1 else ''} {', '.join(map(str, ids))})")
                    for m, ids in seen.items()]


def run_audit(archive: Sequence[str], db: str | Path, template_paths: Sequence[str] = (), *, jobs: int = 1,
              calibration: str | None = None, progress: bool = False, cluster: str | None = None) -> AuditReport:
    """Re-read every archived file as the database's runs read it and compare; see the module doc.
    `calibration`: a profile name or path to re-read with instead of each run's recorded thresholds
    (to see what another threshold would change). `cluster`: re-read on that Dask cluster
    (omr.scan.cluster: a scheduler's address, or local:N)."""
    from omr.read.calibration import ProfileError, load_profile

    report = AuditReport(str(db), "", None, [str(a) for a in archive], utc_now())
    override = None
    if calibration is not None:
        try:
            override = load_profile(calibration)
        except ProfileError as exc:
            raise AuditError(str(exc)) from None
    with tempfile.TemporaryDirectory(prefix="omr-audit-") as tmp_name:
        tmp = Path(tmp_name)
        with contextlib.closing(open_snapshot(db, tmp)) as store:
            report.database_sha256 = file_sha256(str(db))
            report.integrity = log_problems(store)
            report.log_head = store.log_head()
            try:
                runs = {r.id: r for r in store.runs()}
                sources = {s.sha256: s for s in store.sources()}
                records = store.sheet_items()
                decisions = store.latest_decisions()
            except (ValueError, TypeError, KeyError, sqlite3.Error) as exc:
                why = report.integrity[0].message if report.integrity else f"{type(exc).__name__}: {exc}"
                raise AuditError(f"{db}: the recorded reads cannot be read back ({why}); `omr verify` says more") \
                    from exc
        if not runs:
            raise AuditError(f"{db}: no run is recorded in this database: nothing to audit")
        report.differences += [Difference("integrity", None, None, None if p.entry_id is None else
                                          f"log entry {p.entry_id}", None, None, p.message) for p in report.integrity]

        # ---- files: the archive against the database, by content
        archived, problems = _hash_archive(archive)
        report.differences += problems
        pairs, missing, extra = match_files(
            {sha: sorted({s.first_path, *(f.path for f in s.files)}) for sha, s in sources.items()}, archived)
        # what to re-read: (run id, order in that run, archived path, SHA-256 of the content recorded for it)
        last_run = max(runs)
        plan: list[tuple[int, tuple, str, str]] = []
        for sha, paths in archived.items():
            old = pairs.get(sha, sha)
            if old in sources:
                rec = _reading_record(sources[old])
                run_id, order = rec.run_id, (0, rec.id)
            else:  # never recorded: re-read with the last run's settings, after the recorded files
                run_id, order = last_run, (1, paths[0])
            plan.append((run_id, order, paths[0], old))
            report.files += [FileEntry("copy", p, None, None, sha, run=run_id) for p in paths[1:]]
        plan.sort(key=lambda p: p[:2])
        display = {sha: s.first_path for sha, s in sources.items()} | {old: path for _, _, path, old in plan}

        # ---- the settings each run recorded
        needed = sorted({p[0] for p in plan})
        read_by = sorted({_reading_record(s).run_id for s in sources.values()} | set(needed))
        resolved, report.templates, notes = _resolve_templates([runs[i] for i in read_by], template_paths,
                                                               Path(db).parent)
        lacking = [c for c in report.templates if c.status != "match"]
        if any(c.run in needed for c in lacking):
            raise AuditError("cannot re-read with the same templates: " + "; ".join(
                f"run {c.run} used template {c.id} (fingerprint {c.fingerprint[:16]}…): {c.note}"
                for c in lacking if c.run in needed) + ". Pass the template files as they were with --template.")
        report.notes += notes + [Note("templates", f"run {c.run} (none of its files archived) used template "
                                                   f"{c.id}: {c.note}") for c in lacking]
        report.notes += _environment_notes([runs[i] for i in needed])

        # ---- re-read, run by run, each run's files in the order it read them
        after_records, failed, links = _reread(plan, runs, resolved, override, jobs, progress, tmp, report, cluster)

    # ---- compare the files present on both sides, page by page
    def relink(read: SheetRead) -> SheetRead:
        reasons = tuple(replace(r, detail=_unlink_text(r.detail, links)) for r in read.reasons)
        return replace(read, source=links.get(read.source, read.source), reasons=reasons)

    before = {(s.source_sha256, s.read.page): s.read for s in records}
    after = {(pairs.get(s.source_sha256, s.source_sha256), s.read.page): relink(s.read) for s in after_records}
    both = set(pairs.values())
    sheet_key = {s.id: (s.source_sha256, s.read.page) for s in records}
    decided: dict[tuple[str, int], set[tuple[str, str]]] = {}
    for sid, contest, row in decisions:
        if contest is not None and sid in sheet_key:
            decided.setdefault(sheet_key[sid], set()).add((contest, row))
    sheet_diffs = compare_reads({k: v for k, v in before.items() if k[0] in both},
                                {k: v for k, v in after.items() if k[0] in both}, lambda k: display[k[0]], decided)
    failed = {(links.get(f.path, f.path), f.page): f.message for f in failed}
    report.differences += [
        replace(d, detail=f"{d.detail}; now: {failed.get((d.file, d.page)) or failed[(d.file, None)]}")
        if d.kind == "sheet-missing" and {(d.file, d.page), (d.file, None)} & set(failed) else d for d in sheet_diffs]
    report.sheets_before, report.sheets_after = len(before), len(after)
    report.sheets_compared = len(set(before) & set(after))
    report.digest_before = reads_digest(before.values())
    report.digest_after = reads_digest(after.values())
    _file_entries(report, sources, pairs, missing, extra, display, Counter(k[0] for k in before),
                  Counter(k[0] for k in after), last_run)

    # ---- totals, the same human decisions applied to both
    _totals(report, records, after, decisions, resolved)
    report.finished_at = utc_now()
    report.differences.sort(key=lambda d: list(KINDS).index(d.kind))
    return report


def _reread(plan: Sequence[tuple[int, tuple, str, str]], runs: Mapping[int, RunRecord],
            resolved: Mapping[int, Sequence[tuple[Any, str]]], override: Any | None, jobs: int, progress: bool,
            tmp: Path, report: AuditReport, cluster_address: str | None = None,
            ) -> tuple[list[StoredSheet], list[PageFailure], dict[str, str]]:
    """`omr scan` of the planned files into a temporary database, one run's files at a time with that
    run's templates, thresholds and options. Each run's files are linked under names that sort in
    the order the run read them (scan reads in path order). Returns the re-read sheets, the pages
    that could not be read, and link path -> archived path."""
    from omr.scan.batch import ScanOptions, scan
    from omr.scan.cluster import open_cluster

    links: dict[str, str] = {}
    on_cluster = open_cluster(cluster_address) if cluster_address else contextlib.nullcontext()
    with on_cluster as cluster, Store(tmp / "rerun.sqlite") as rerun, _progress(len(plan), progress) as bar:
        for run_id in sorted({p[0] for p in plan}):
            run = runs[run_id]
            profile, notes = _profile_of(run, override)
            report.notes += notes
            folder = tmp / f"run-{run_id}"
            folder.mkdir()
            inputs = []
            for seq, (_, _, path, _) in enumerate(p for p in plan if p[0] == run_id):
                link = folder / f"{seq:07d}{Path(path).suffix.lower()}"
                _link(Path(path).resolve(), link)
                links[str(link)] = path
                inputs.append(str(link))
            recorded = run.options or {}
            options = ScanOptions(tuple(t for t, _ in resolved[run_id]), tuple(p for _, p in resolved[run_id]),
                                  profile, jobs=max(1, jobs),
                                  max_megapixels=float(recorded.get("max_megapixels", 60.0)),
                                  render_dpi=float(recorded.get("render_dpi", 200.0)))
            scan(inputs, rerun, options, cluster=cluster)
            if bar is not None:
                bar.update(len(inputs))
            report.runs.append({
                "id": run_id, "started_at": run.started_at, "status": run.status,
                "tool_version": run.tool_version, "files_reread": len(inputs),
                "calibration_recorded": run.calibration, "calibration_used": profile.to_json(),
                "options_used": {"render_dpi": options.render_dpi, "max_megapixels": options.max_megapixels},
                "templates": [{"id": t.id, "path": p} for t, p in resolved[run_id]]})
        return rerun.sheet_items(), rerun.failures(), links


def _file_entries(report: AuditReport, sources: Mapping[str, SourceRecord], pairs: Mapping[str, str],
                  missing: Sequence[str], extra: Sequence[str], display: Mapping[str, str],
                  sheets_before: Counter[str], sheets_after: Counter[str], last_run: int) -> None:
    for sha in sorted(set(pairs.values()) | set(missing) | set(extra), key=lambda s: (display[s], s)):
        path = display[sha]
        if sha in extra:
            report.files.append(FileEntry("extra", path, None, None, sha, 0, sheets_after[sha], last_run))
            report.differences.append(Difference("file-extra", path, None, None, None, sha[:16] + "…",
                                                 f"never recorded; it reads as {sheets_after[sha]} sheet(s)"))
            continue
        src = sources[sha]
        run = _reading_record(src).run_id
        if sha in missing:
            report.files.append(FileEntry("missing", None, src.first_path, sha, None, sheets_before[sha], 0, run))
            report.differences.append(Difference(
                "file-missing", path, None, None, sha[:16] + "…", None,
                f"not in the archive; the database holds {sheets_before[sha]} sheet(s) read from it"
                if src.status == "read" else "not in the archive; it could not be read when recorded either"))
            continue
        new = next(n for n, o in pairs.items() if o == sha)
        status = "same" if new == sha else "altered"
        report.files.append(FileEntry(status, path, src.first_path, sha, new, sheets_before[sha],
                                      sheets_after[sha], run))
        if status == "altered":
            report.differences.append(Difference("file-altered", path, None, None, sha[:16] + "…", new[:16] + "…",
                                                 f"other bytes than the file recorded as {src.first_path}"))


def _unlink_text(text: str, links: Mapping[str, str]) -> str:
    for link, path in links.items():
        if link in text:
            text = text.replace(link, path)
    return text


def _totals(report: AuditReport, records: Sequence[StoredSheet],
            after: Mapping[tuple[str, int], SheetRead],
            decisions: Mapping[tuple[int, str | None, str | None], Decision],
            resolved: Mapping[int, Sequence[tuple[Any, str]]]) -> None:
    """Totals before (stored reads) and after (re-read), the same human decisions applied to both
    (omr.count.tally): a re-read sheet carries the id of the stored sheet of the same file content and
    page, so the decisions on it apply; a sheet that appears gets a new id, after all others."""
    from omr.count.tally import TallyError, tally_reads

    templates = list({id(t): t for items in resolved.values() for t, _ in items}.values())
    sheet_ids = {(s.source_sha256, s.read.page): s.id for s in records}
    next_id = max(sheet_ids.values(), default=0) + 1
    after_items = []
    for key, read in sorted(after.items(), key=lambda kv: (kv[0] not in sheet_ids, kv[1].source, kv[1].page)):
        sid = sheet_ids.get(key)
        if sid is None:
            sid, next_id = next_id, next_id + 1
        after_items.append((sid, read))
    try:
        before = tally_reads([(s.id, s.read) for s in records], decisions, templates).to_json()
        after_json = tally_reads(after_items, decisions, templates).to_json()
    except TallyError as exc:
        report.notes.append(Note("totals", f"totals not compared: {exc}"))
        return
    report.totals_before, report.totals_after = before, after_json
    report.differences += compare_totals(before, after_json)
