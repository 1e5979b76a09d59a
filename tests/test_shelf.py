"""The one template lookup (tally, review screen, audit): recorded paths are trusted only while the
file still has the recorded fingerprint; given files come first; a moved database finds its
templates beside it."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from conftest import GENERAL_EN_TEMPLATE, SEED_TEMPLATE

from omr.ballot.layout import fingerprint
from omr.ballot.shelf import RecordedTemplate, find_templates
from omr.ballot.template import TemplateError, load_template


@pytest.fixture
def seed(tmp_path: Path) -> tuple[Path, RecordedTemplate]:
    path = tmp_path / "seed.yaml"
    shutil.copy(SEED_TEMPLATE, path)
    t = load_template(path)
    return path, RecordedTemplate(t.id, fingerprint(t), str(path))


def test_a_recorded_path_with_the_same_content_is_used(seed) -> None:
    path, rec = seed
    lookup = find_templates([rec])
    assert lookup.found[rec.fingerprint].path == str(path) and not lookup.missing


def test_an_edited_template_is_not_used_and_says_why(seed) -> None:
    path, rec = seed
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("Nguyễn Hồng Quang", "Nguyễn Hồng Quảng"), encoding="utf-8")
    lookup = find_templates([rec])
    assert rec.fingerprint not in lookup.found
    assert "edited since" in lookup.missing[rec.fingerprint]


def test_a_moved_template_is_found_beside_the_database_and_given_files_come_first(seed, tmp_path: Path) -> None:
    path, rec = seed
    moved = tmp_path / "archive"
    moved.mkdir()
    shutil.move(path, moved / "seed.yaml")
    relative = RecordedTemplate(rec.id, rec.fingerprint, "seed.yaml")
    assert "does not exist" in find_templates([rec]).missing[rec.fingerprint]
    assert find_templates([relative], base=moved).found[rec.fingerprint].path == str(moved / "seed.yaml")
    other = str(GENERAL_EN_TEMPLATE)
    lookup = find_templates([relative], [other], base=moved)
    assert set(lookup.found) == {rec.fingerprint, fingerprint(load_template(other))}


def test_a_bad_given_file_is_an_error_or_a_problem(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("id: [", encoding="utf-8")
    with pytest.raises(TemplateError):
        find_templates([], [bad])
    lookup = find_templates([], [bad], strict=False)
    assert not lookup.found and lookup.problems and str(bad) in lookup.problems[0]
