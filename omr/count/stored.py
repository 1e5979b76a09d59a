"""The tally of a results database: the thin shell that gathers what the pure tally needs from the
store (reads, decisions, failures, the log head) and finds the templates the scan runs recorded."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from omr.ballot.shelf import RecordedTemplate, find_templates
from omr.ballot.template import Template
from omr.count.tally import Tally, of_ballot, tally_reads
from omr.store.database import Store


def recorded_templates(store: Store) -> list[RecordedTemplate]:
    """The templates the scan runs recorded, newest run first."""
    return [RecordedTemplate(t.id, t.fingerprint, t.path) for run in reversed(store.runs()) for t in run.templates]


def run_templates(store: Store, paths: Sequence[str | Path] | None = None,
                  base_dir: str | Path | None = None) -> dict[str, Template]:
    """The templates of the ballots in a store, by fingerprint: from `paths` when given, else from
    the template paths the scan runs recorded (newest run first; a relative path is tried from the
    current folder, then from the database's folder). A template whose file changed since the scan
    (another fingerprint) is not used: its ballots then ask for `--template`."""
    if paths:
        return find_templates((), paths).templates()
    base = Path(base_dir) if base_dir is not None else store.path.parent
    return find_templates(recorded_templates(store), (), base).templates()


def store_inputs(store: Store) -> dict[str, Any]:
    """What tally_reads needs from a store besides the templates and the committee's numbers."""
    runs = store.runs()
    decisions = store.latest_decisions()
    times = [r.finished_at or r.started_at for r in runs] + [d.created_at for d in store.decisions()]
    stored = store.sheet_items()
    return {
        "reads": [(s.id, s.read) for s in stored],
        "source_sha256": {s.id: s.source_sha256 for s in stored},
        "decisions": decisions,
        "failures": store.failures(),
        "as_of": max((t for t in times if t), default=None),
        "log_head": store.log_head(),
        "scans_running": sum(1 for r in runs if r.status == "running"),
    }


def tally_store(store: Store, templates: Mapping[str, Template] | Sequence[Template], ballot: str | None = None,
                **numbers: Any) -> Tally:
    """The tally of everything in a store, with the given templates and the committee's numbers
    (issued, collected, convened, present, batches); with `ballot` (a template id), of that ballot's
    sheets only (see ``omr.count.tally.of_ballot``)."""
    inputs = store_inputs(store)
    if ballot is not None:
        inputs["reads"], inputs["failures"] = of_ballot(inputs["reads"], inputs["failures"], templates, ballot)
    return tally_reads(inputs.pop("reads"), inputs.pop("decisions"), templates, **inputs, **numbers)


def compute_tally(store: Store, issued: int | None = None, collected: int | None = None, convened: int | None = None,
                  present: int | None = None, batches: dict[str, int] | None = None) -> Tally:
    """The tally of a store, its templates found through the paths its scan runs recorded."""
    return tally_store(store, run_templates(store), issued=issued, collected=collected, convened=convened,
                       present=present, batches=batches)
