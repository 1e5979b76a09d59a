"""Pure comparisons on typed reads (no file, database or process).

:func:`match_files` pairs archived files with the files the database recorded (same SHA-256; an
altered file is the one at the same path with other bytes), :func:`compare_sheet` /
:func:`compare_reads` list how two reads of the same pages differ, box by box,
:func:`compare_totals` compares two tallies, and :func:`compare_environment` /
:func:`compare_profiles` say which recorded settings differ.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Container, Mapping, Sequence
from typing import Any

from omr.audit.findings import Difference
from omr.read.results import BLANK, MARKED, SheetRead

# --------------------------------------------------------------------------------------------------
# Pure comparisons


def _state_text(score: float, state: str) -> str:
    return f"{state} ({score:.4f})"


def _codes(reasons: Sequence[Any]) -> Counter[str]:
    return Counter(r.code for r in reasons)


def _codes_change(before: Counter[str], after: Counter[str]) -> str:
    gone = sorted((before - after).elements())
    new = sorted((after - before).elements())
    return "; ".join(([f"no longer {', '.join(gone)}"] if gone else []) + ([f"now {', '.join(new)}"] if new else []))


def _codes_text(reasons: Sequence[Any]) -> str:
    return ", ".join(r.code for r in reasons) or "no reason"


def compare_sheet(before: SheetRead, after: SheetRead, file: str | None = None, page: int | None = None,
                  decided: Container[tuple[str, str]] = ()) -> list[Difference]:
    """How the re-read of one page differs from its stored read; [] when they are equal. Paths and
    the wording of reasons are not compared (they name places on the computer that read them).
    `decided`: (contest id, row id) of rows a human decision covers, noted on their differences."""
    page = before.page if page is None else page
    out: list[Difference] = []

    def diff(kind: str, item: str | None, b: Any, a: Any, detail: str = "") -> None:
        out.append(Difference(kind, file, page, item, None if b is None else str(b), None if a is None else str(a),
                              detail))

    for name in ("template_id", "fingerprint", "template_page", "test", "serial"):
        b, a = getattr(before, name), getattr(after, name)
        if b != a:
            diff("sheet-identity", name, b, a)
    if before.status != after.status:
        diff("sheet-status", None, before.status, after.status,
             f"reasons before: {_codes_text(before.reasons)}; after: {_codes_text(after.reasons)}"
             if _codes(before.reasons) != _codes(after.reasons) else "the same sheet reasons: a row changed")
    elif _codes(before.reasons) != _codes(after.reasons):
        diff("sheet-reasons", None, _codes_text(before.reasons), _codes_text(after.reasons),
             _codes_change(_codes(before.reasons), _codes(after.reasons)))
    rows_b = {(r.contest_id, r.row_id): r for r in before.rows}
    rows_a = {(r.contest_id, r.row_id): r for r in after.rows}
    numbers: list[str] = []
    for key in list(rows_b) + [k for k in rows_a if k not in rows_b]:
        rb, ra = rows_b.get(key), rows_a.get(key)
        item = " / ".join(key)
        note = "a human decision covers this row" if key in decided else ""
        if ra is None or rb is None:
            diff("row-missing" if ra is None else "row-extra", item, None if rb is None else rb.status,
                 None if ra is None else ra.status, note)
            continue
        if rb.status != ra.status:
            diff("row-status", item, rb.status, ra.status, "; ".join(x for x in (
                f"reasons before: {_codes_text(rb.reasons)}; after: {_codes_text(ra.reasons)}", note) if x))
        elif _codes(rb.reasons) != _codes(ra.reasons):
            diff("row-reasons", item, _codes_text(rb.reasons), _codes_text(ra.reasons),
                 _codes_change(_codes(rb.reasons), _codes(ra.reasons)))
        if tuple(rb.choices) != tuple(ra.choices):
            diff("row-choices", item, ", ".join(rb.choices) or "none", ", ".join(ra.choices) or "none", note)
        marks_b = {m.option_id: m for m in rb.marks}
        marks_a = {m.option_id: m for m in ra.marks}
        for option in list(marks_b) + [o for o in marks_a if o not in marks_b]:
            mb, ma = marks_b.get(option), marks_a.get(option)
            box = f"{item} / {option}"
            if mb is None or ma is None:
                diff("box-missing" if ma is None else "box-extra", box,
                     None if mb is None else _state_text(mb.score, mb.state),
                     None if ma is None else _state_text(ma.score, ma.state), note)
            elif mb.state != ma.state:
                kind = "vote-flip" if {mb.state, ma.state} == {MARKED, BLANK} else "marginal"
                diff(kind, box, _state_text(mb.score, mb.state), _state_text(ma.score, ma.state), note)
            elif mb.score != ma.score:
                diff("score", box, f"{mb.score:.4f}", f"{ma.score:.4f}", f"still {ma.state}")
            elif (mb.dx_mm, mb.dy_mm) != (ma.dx_mm, ma.dy_mm):
                numbers.append(f"box {box} found at another offset")
    if before.image_sha256 != after.image_sha256:
        numbers.insert(0, "the page decodes to other pixels (image SHA-256)")
    if before.rotation != after.rotation:
        numbers.append(f"rotation {before.rotation} -> {after.rotation}")
    if before.registration != after.registration:
        numbers.append("registration (page transform)")
    changed = sorted(k for k in set(before.metrics) | set(after.metrics)
                     if before.metrics.get(k) != after.metrics.get(k))
    if changed:
        numbers.append(f"metrics {', '.join(changed)}")
    if bytes(before.signature) != bytes(after.signature):
        numbers.append("ink signature")
    if numbers:
        diff("numbers", None, None, None, "; ".join(numbers[:6]) + (f"; and {len(numbers) - 6} more"
                                                                     if len(numbers) > 6 else ""))
    return out


def compare_reads(before: Mapping[Any, SheetRead], after: Mapping[Any, SheetRead],
                  label: Callable[[Any], str], decided: Mapping[Any, Container[tuple[str, str]]] | None = None
                  ) -> list[Difference]:
    """Every difference between two sets of reads keyed alike (e.g. by (file SHA-256, page)):
    sheets that disappear, appear, or read differently. `label(key)` names the file of a key."""
    out: list[Difference] = []
    keys = list(before) + [k for k in after if k not in before]
    for key in sorted(keys, key=lambda k: (label(k), before.get(k, after.get(k)).page)):
        b, a = before.get(key), after.get(key)
        if a is None:
            out.append(Difference("sheet-missing", label(key), b.page, None, b.status, None,
                                  f"reasons: {_codes_text(b.reasons)}"))
        elif b is None:
            out.append(Difference("sheet-extra", label(key), a.page, None, None, a.status,
                                  f"reasons: {_codes_text(a.reasons)}"))
        else:
            out.extend(compare_sheet(b, a, label(key), b.page, (decided or {}).get(key, ())))
    return out


def _path_parts(path: str) -> list[str]:
    return [p for p in re.split(r"[\\/]+", path) if p not in ("", ".")]


def _tail_match(a: str, b: str) -> int:
    """How many trailing path components two paths share (file name, then folders)."""
    n = 0
    for x, y in zip(reversed(_path_parts(a)), reversed(_path_parts(b))):
        if x != y:
            break
        n += 1
    return n


def match_files(recorded: Mapping[str, Sequence[str]], archived: Mapping[str, Sequence[str]]
                ) -> tuple[dict[str, str], list[str], list[str]]:
    """Pair archived files with recorded ones. `recorded`: SHA-256 -> every path the runs were given
    it under; `archived`: SHA-256 -> the archived paths with that content.

    Returns (pairs: archived SHA-256 -> recorded SHA-256, missing recorded SHA-256s, extra archived
    SHA-256s). Equal content pairs with itself; an archived file whose content is unknown pairs with
    the missing recorded file whose path it shares the longest tail with (at least the file name):
    that file was altered. Everything else is missing or extra."""
    pairs = {sha: sha for sha in archived if sha in recorded}
    missing = [sha for sha in recorded if sha not in archived]
    unknown = [sha for sha in archived if sha not in recorded]
    candidates = sorted(
        ((-max(_tail_match(a, r) for a in archived[new] for r in recorded[old]), min(archived[new]), new, old)
         for new in unknown for old in missing), key=lambda c: c[:2])
    taken: set[str] = set()
    for score, _, new, old in candidates:
        if score < 0 and new not in pairs and old not in taken:
            pairs[new] = old
            taken.add(old)
    return pairs, [s for s in missing if s not in taken], [s for s in unknown if s not in pairs]


def _flat(value: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(value, Mapping):
        out: dict[str, Any] = {}
        for k, v in value.items():
            out.update(_flat(v, f"{prefix}{k}."))
        return out
    return {prefix[:-1]: value}


# What a re-run depends on; the platform string (kernel build) is informative, not a read setting
_ENVIRONMENT_LABELS = {"tool": "Ballot OMR", "tool_code": "the tool's code (SHA-256 of its source)",
                       "python": "Python", "python_implementation": "Python implementation",
                       "machine": "machine architecture", "sqlite": "SQLite", "platform": "platform"}


def compare_environment(recorded: Mapping[str, Any], current: Mapping[str, Any]) -> list[str]:
    """Each version or setting that differs between the run's computer and this one, in words."""
    rec, cur = _flat(recorded), _flat(current)

    def text(values: Mapping[str, Any], key: str, absent: str) -> str:
        value = values.get(key, absent) if key in values else absent
        return f"{value[:16]}…" if isinstance(value, str) and len(value) == 64 else str(value)

    out = []
    for key in sorted(set(rec) | set(cur), key=lambda k: (k.startswith("libraries."), k)):
        if rec.get(key) != cur.get(key):
            name = _ENVIRONMENT_LABELS.get(key, key.removeprefix("libraries."))
            out.append(f"{name} {text(rec, key, 'not recorded')} when read, {text(cur, key, 'absent')} here")
    return out


def compare_profiles(recorded: Mapping[str, Any], used: Mapping[str, Any]) -> list[str]:
    """The calibration settings (thresholds) that differ between two profiles, in words."""
    return [f"{k}: {recorded.get(k)!r} recorded, {used.get(k)!r} used" for k in sorted(set(recorded) | set(used))
            if k != "description" and recorded.get(k) != used.get(k)]


_ROW_LABELS = ("id", "name", "position", "percent")  # names, and percentages (derived from the counts)


def _row_numbers(row: Mapping[str, Any]) -> dict[str, Any]:
    """What one tally row says: every plain field (valid, invalid, pending, band, ...) and each count."""
    out = {k: v for k, v in row.items() if k not in _ROW_LABELS and not isinstance(v, (Mapping, list))}
    for group in ("counts", "invalid_detail"):
        out.update({f"{group}.{k}": v for k, v in (row.get(group) or {}).items()})
    return out


def compare_totals(before: Mapping[str, Any], after: Mapping[str, Any]) -> list[Difference]:
    """Each number that differs between two tallies (``Tally.to_json()``): per contest row (valid,
    invalid, pending, each option's count, band, ...) and the reconciliation (sheets read, ballots
    counted, invalid, duplicates, ...), named by template, contest, row and field."""
    out: list[Difference] = []

    def rows(t: Mapping[str, Any]) -> dict[tuple[str, str, str], Mapping[str, Any]]:
        return {(str(c.get("template")), str(c.get("id")), str(r.get("id"))): r
                for c in t.get("contests", []) for r in c.get("rows", [])}

    rb, ra = rows(before), rows(after)
    for key in list(rb) + [k for k in ra if k not in rb]:
        nb, na = _row_numbers(rb.get(key, {})), _row_numbers(ra.get(key, {}))
        name = (rb.get(key) or ra.get(key) or {}).get("name")
        item = key[1] if key[1] == key[2] else f"{key[1]} / {key[2]}"
        for f in list(nb) + [k for k in na if k not in nb]:
            if nb.get(f) != na.get(f):
                out.append(Difference("total", None, None, f"{item}: {f}", str(nb.get(f, "—")), str(na.get(f, "—")),
                                      f"{name}, template {key[0]}" if name else f"template {key[0]}"))
    rec_b, rec_a = _flat(before.get("reconciliation") or {}), _flat(after.get("reconciliation") or {})
    for f in list(rec_b) + [k for k in rec_a if k not in rec_b]:
        if not isinstance(rec_b.get(f, rec_a.get(f)), list) and rec_b.get(f) != rec_a.get(f):
            out.append(Difference("total", None, None, f"ballots: {f}", str(rec_b.get(f, "—")),
                                  str(rec_a.get(f, "—"))))
    if before.get("provisional") != after.get("provisional"):
        out.append(Difference("total", None, None, "provisional", str(before.get("provisional")),
                              str(after.get("provisional"))))
    return out
