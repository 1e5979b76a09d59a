"""Finding the templates a batch was read against: the one lookup the tally, the review screen and
the audit share.

A scan run records, for each template, its id, its fingerprint and the path it was given as. Months
later the files may have moved or changed: a template is used only when its content still has the
recorded fingerprint. Files given on the command line are tried first, then each recorded path as
it was given, then the same path under the database's folder.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from omr.ballot.layout import fingerprint
from omr.ballot.template import Template, TemplateError, load_template


@dataclass(frozen=True)
class RecordedTemplate:
    """A template as a scan run recorded it."""

    id: str
    fingerprint: str
    path: str | None


@dataclass(frozen=True)
class FoundTemplate:
    template: Template
    path: str  # the file it was loaded from


@dataclass
class TemplateLookup:
    found: dict[str, FoundTemplate] = field(default_factory=dict)  # by fingerprint
    missing: dict[str, str] = field(default_factory=dict)  # recorded fingerprint -> why it was not found
    problems: list[str] = field(default_factory=list)  # files that could not be read as templates

    def templates(self) -> dict[str, Template]:
        return {fp: f.template for fp, f in self.found.items()}


def _candidates(path: str, base: Path | None) -> list[Path]:
    p = Path(path)
    out = [p]
    if not p.is_absolute() and base is not None and (base / p).resolve() != p.resolve():
        out.append(base / p)
    return out


def find_templates(recorded: Iterable[RecordedTemplate], given: Sequence[str | Path] = (),
                   base: Path | None = None, *, strict: bool = True) -> TemplateLookup:
    """The templates for `recorded`, from the `given` files first, then from the recorded paths.

    Every readable given file is kept (by fingerprint), recorded or not. With `strict`, a given file
    that is not a valid template raises TemplateError (the person named it); otherwise it becomes a
    problem. A recorded path that is missing, invalid or edited since (another fingerprint) is said
    in `missing`, with the other files of the same template id that were looked at."""
    lookup = TemplateLookup()
    looked: dict[str, list[tuple[str, str]]] = {}  # template id -> (path, fingerprint) of files read

    def load(path: Path, strict_here: bool) -> Template | None:
        try:
            t = load_template(path)
        except (TemplateError, OSError) as exc:
            if strict_here:
                raise
            lookup.problems.append(f"{path}: {str(exc).splitlines()[0]}")
            return None
        looked.setdefault(t.id, []).append((str(path), fingerprint(t)))
        return t

    for path in given:
        t = load(Path(path), strict)
        if t is not None:
            lookup.found.setdefault(fingerprint(t), FoundTemplate(t, str(path)))
    for rec in recorded:
        if not rec.fingerprint or rec.fingerprint in lookup.found:
            continue
        notes: list[str] = []
        for candidate in _candidates(rec.path, base) if rec.path else []:
            if not candidate.is_file():
                continue
            t = load(candidate, False)
            if t is None:
                notes.append(f"the recorded path {candidate} is no longer a valid template")
            elif fingerprint(t) == rec.fingerprint:
                lookup.found[rec.fingerprint] = FoundTemplate(t, str(candidate))
                break
            else:
                notes.append(f"the recorded path {candidate} now holds fingerprint {fingerprint(t)[:16]}… "
                             "(edited since)")
        else:
            if rec.path and not notes:
                notes.append(f"the recorded path {rec.path} does not exist here")
            notes += [f"{p} has fingerprint {fp[:16]}…" for p, fp in looked.get(rec.id, [])
                      if fp != rec.fingerprint and not any(p in n for n in notes)]
            lookup.missing[rec.fingerprint] = "; ".join(notes) or "no template file given"
    return lookup
