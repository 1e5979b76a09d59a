"""The package as users get it: a wheel built from the checkout, installed (not editable) in a fresh
virtual environment, scans a bundled sample with the installed `omr` command."""

from __future__ import annotations

import importlib.util
import json
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from importlib.metadata import version
from pathlib import Path

import pytest
from conftest import BUNDLED_TEMPLATES, ROOT

NOT_SOURCES = shutil.ignore_patterns(".git", ".venv", "omr-demo", "__pycache__", "*.egg-info", "build", "dist",
                                     ".pytest_cache", ".ruff_cache", "*.sqlite*")


def run(*args: str | Path, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([str(a) for a in args], capture_output=True, text=True, cwd=cwd, timeout=600)


def can_build_here() -> bool:
    """Whether this environment's setuptools builds wheels by itself (70.1+, or with `wheel`): then
    no isolated build environment is fetched."""
    if importlib.util.find_spec("setuptools") is None:
        return False
    major, minor = (int(x) for x in version("setuptools").split(".")[:2])
    return (major, minor) >= (70, 1) or importlib.util.find_spec("wheel") is not None


def build_wheel(tmp: Path) -> Path:
    """The wheel of a copy of the checkout (building in place would leave build/ in the clone)."""
    source = tmp / "source"
    shutil.copytree(ROOT, source, ignore=NOT_SOURCES)
    isolation = ["--no-build-isolation"] if can_build_here() else []
    built = run(sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", *isolation, "-w", tmp / "dist", source,
                cwd=tmp)
    assert built.returncode == 0, built.stderr
    (wheel,) = (tmp / "dist").glob("ballot_omr-*.whl")
    return wheel


@pytest.mark.slow
def test_a_wheel_installed_in_a_fresh_venv_scans_a_sample(tmp_path: Path) -> None:
    wheel = build_wheel(tmp_path)
    names = zipfile.ZipFile(wheel).namelist()
    assert "omr/read/profiles/default.yaml" in names  # the calibration profile every scan loads
    assert "omr/review/templates/sheet.html" in names and "omr/review/static/review.js" in names
    assert not [n for n in names if n.startswith(("ballot_sim/", "tests/", "sample_scans/", "benchmarks/"))]

    venv = tmp_path / "venv"
    made = run(sys.executable, "-m", "venv", venv, cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    python = venv / "bin" / "python"
    installed = run(python, "-m", "pip", "install", "-q", "--no-deps", "--no-index", wheel, cwd=tmp_path)
    assert installed.returncode == 0, installed.stderr
    # the dependencies: this test environment's (no download); never its editable `omr`, whose
    # .pth files are not read from a folder a .pth names
    purelib = run(python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])", cwd=tmp_path)
    deps = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    (Path(purelib.stdout.strip()) / "test-deps.pth").write_text("\n".join(sorted(deps)) + "\n")
    where = run(python, "-c", "import omr; print(omr.__file__)", cwd=tmp_path)
    assert Path(where.stdout.strip()).is_relative_to(venv), where.stdout + where.stderr

    sample = ROOT / "sample_scans" / "scan-clean-1bit.png"
    scanned = run(venv / "bin" / "omr", "scan", sample, "--template", *BUNDLED_TEMPLATES, "--db", "r.sqlite",
                  "--json", "r.json", cwd=tmp_path)
    assert scanned.returncode in (0, 1), scanned.stdout + scanned.stderr
    reads = json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))
    assert [(s["page"], s["template"]) for s in reads["sheets"]] == [(1, "tin-nhiem-cdyt-dong-nai-2023")]
    assert reads["sheets"][0]["status"] in ("ok", "review")
    # the demo needs a checkout's samples: the installed package says so instead of failing obscurely
    demo = run(venv / "bin" / "omr", "demo", "-o", "demo", cwd=tmp_path)
    assert demo.returncode == 2 and "--samples" in demo.stderr
