"""One vocabulary: every code the reader gives is declared once in omr.codes with its words, and no
outcome depends on the wording of a message. The bundled samples are read for real, every message
is then reworded, and the tally, the review queue and the minutes' verdicts must not move."""

from __future__ import annotations

import ast
import dataclasses
from pathlib import Path

import pytest
from conftest import BUNDLED_TEMPLATES, ROOT

from omr import codes
from omr.ballot.template import load_template
from omr.count.tally import tally_reads
from omr.read.calibration import load_profile
from omr.read.interpret import row_needs_person, sheet_needs_person
from omr.read.results import Reason, SheetRead
from omr.scan.batch import ScanOptions, scan
from omr.store.database import Store

PACKAGE = ROOT / "omr"


def _reason_literals() -> dict[str, list[str]]:
    """Every code written as Reason("code", ...) in the package, with where."""
    found: dict[str, list[str]] = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (isinstance(node, ast.Call) and getattr(node.func, "id", None) == "Reason" and node.args
                    and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)):
                found.setdefault(node.args[0].value, []).append(f"{path.relative_to(ROOT)}:{node.lineno}")
    return found


def test_every_reason_the_package_gives_is_declared_with_words_in_both_languages() -> None:
    used = _reason_literals()
    assert len(used) >= 15  # the reader's reasons are found (the scan above is not vacuous)
    undeclared = {c: w for c, w in used.items() if c not in codes.REASONS}
    assert not undeclared, f"reason codes used but not declared in omr/codes.py: {undeclared}"
    for r in codes.REASONS.values():
        for words in (r.title, r.phrase, r.explain):
            assert words.vi and words.en and words.vi != r.code, r.code
    assert set(codes.REASONS) >= codes.ROW_REVIEW_CODES and set(codes.REASONS) >= codes.SHEET_REVIEW_CODES
    assert codes.RULE_INVALID_CODES <= codes.ROW_INVALID_CODES


def test_no_module_declares_a_code_set_of_its_own() -> None:
    """The review-code sets and the outcome names live in omr/codes.py only."""
    names = {"SHEET_REVIEW_CODES", "ROW_REVIEW_CODES", "ROW_INVALID_CODES", "OUTCOMES", "REASON_WORDS",
             "OUTCOME_WORDS", "SHEET_OK", "COUNTED", "NOT_ISSUED"}
    for path in sorted(PACKAGE.rglob("*.py")):
        if path.name == "codes.py":
            continue
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            targets = node.targets if isinstance(node, ast.Assign) else \
                [node.target] if isinstance(node, ast.AnnAssign) else []
            for t in targets:
                for n in (t.elts if isinstance(t, ast.Tuple) else [t]):
                    assert getattr(n, "id", None) not in names, f"{path.relative_to(ROOT)} declares {n.id}"


@pytest.fixture(scope="module")
def sample_reads(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[tuple[int, SheetRead]], list]:
    db = tmp_path_factory.mktemp("codes") / "r.sqlite"
    templates = [load_template(p) for p in BUNDLED_TEMPLATES]
    with Store(db) as store:
        scan([str(ROOT / "sample_scans")], store, ScanOptions(tuple(templates), tuple(map(str, BUNDLED_TEMPLATES)),
                                                            load_profile(), jobs=2))
        return [(s.id, s.read) for s in store.sheet_items()], templates


def _reworded(read: SheetRead) -> SheetRead:
    def say(reasons: tuple[Reason, ...]) -> tuple[Reason, ...]:
        return tuple(dataclasses.replace(r, detail=f"reworded {i}: ¿{r.detail[::-1]}?") for i, r in enumerate(reasons))

    rows = tuple(dataclasses.replace(row, reasons=say(row.reasons)) for row in read.rows)
    return dataclasses.replace(read, reasons=say(read.reasons), rows=rows)


@pytest.mark.slow
def test_rewording_every_message_changes_no_outcome(sample_reads) -> None:
    items, templates = sample_reads
    statuses = {r.status for _, r in items}
    assert statuses == {codes.SHEET_OK, codes.SHEET_REVIEW, codes.SHEET_REJECTED}
    kinds = {r.rejection for _, r in items if r.status == codes.SHEET_REJECTED}
    assert codes.NOT_ISSUED in kinds  # the foreign sheet of the samples
    reworded = [(sid, _reworded(r)) for sid, r in items]
    assert all(a.reasons[0].detail != b.reasons[0].detail for (_, a), (_, b) in zip(items, reworded) if a.reasons)

    before, after = tally_reads(items, {}, templates), tally_reads(reworded, {}, templates)

    def verdicts(t):
        return [(s.source, s.page, s.outcome, s.pending, [(r.status, r.codes, r.choices) for r in s.rows])
                for s in t.sheets]

    assert verdicts(before) == verdicts(after)
    assert before.reconciliation.discrepancies and [
        (d.code, d.count) for d in before.reconciliation.discrepancies] == [
        (d.code, d.count) for d in after.reconciliation.discrepancies]
    assert [(c.id, [(r.valid, r.invalid, r.counts) for r in c.rows]) for c in before.contests] == [
        (c.id, [(r.valid, r.invalid, r.counts) for r in c.rows]) for c in after.contests]
    for (_, a), (_, b) in zip(items, reworded):
        assert sheet_needs_person(a) == sheet_needs_person(b)
        assert [row_needs_person(a, r) for r in a.rows] == [row_needs_person(b, r) for r in b.rows]
        assert a.rejection == b.rejection


def test_rejection_kind_is_what_the_reader_established() -> None:
    base = SheetRead("x.pdf", 1, codes.SHEET_REJECTED, (Reason("rejected", "anything at all"),), "0" * 64)
    assert base.rejection == codes.NOT_REGISTERED
    assert dataclasses.replace(base, fingerprint="f" * 64).rejection == codes.NOT_ISSUED
    assert dataclasses.replace(base, fingerprint="f" * 64, template_id="t").rejection == codes.WRONG_PAGE
    assert {codes.REJECTION_OUTCOME[k] for k in codes.REJECTIONS} == {codes.NOT_ISSUED, codes.UNREADABLE}
    ok = dataclasses.replace(base, status=codes.SHEET_OK, reasons=())
    assert ok.rejection is None


def test_words_follow_the_language_and_unknown_codes_show_as_themselves() -> None:
    assert codes.reason_phrase("no-mark", "vi") == "không đánh dấu ô nào"
    assert codes.reason_phrase("no-mark", "en") == "no box marked"
    assert codes.reason_phrase("something-new", "vi") == "something-new"
    assert codes.decision_reason_words("other", "vi").startswith("Lý do khác")
    assert codes.decision_reason_words("free text by a reviewer", "en") == "free text by a reviewer"
    assert Path(codes.__file__).name == "codes.py"
