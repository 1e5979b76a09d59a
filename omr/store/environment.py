"""What a run records about the computer and the tool that read, so a re-run can match it."""

from __future__ import annotations

import functools
import hashlib
import importlib.metadata
import platform
import sqlite3
from pathlib import Path
from typing import Any

from omr import __version__

_PACKAGE_ROOT = Path(__file__).resolve().parents[1]  # the omr package: every module that reads


@functools.cache
def tool_code_sha256() -> str:
    """SHA-256 of the tool's own source files (names and text, line endings normalised): the version
    number does not change with every edit of the code that reads, this does."""
    digest = hashlib.sha256()
    for path in sorted(_PACKAGE_ROOT.rglob("*.py"), key=lambda p: p.relative_to(_PACKAGE_ROOT).as_posix()):
        digest.update(path.relative_to(_PACKAGE_ROOT).as_posix().encode() + b"\0")
        digest.update(path.read_bytes().replace(b"\r\n", b"\n") + b"\0")
    return digest.hexdigest()


def environment_info() -> dict[str, Any]:
    """What a re-run needs to match: the tool's version and code, Python, platform and the versions
    of the libraries that read."""
    libraries: dict[str, str | None] = {}
    for key, dists in (
        ("numpy", ("numpy",)),
        ("opencv", ("opencv-python-headless", "opencv-python", "opencv-contrib-python-headless",
                    "opencv-contrib-python")),
        ("pypdfium2", ("pypdfium2",)),
        ("zxing-cpp", ("zxing-cpp",)),
        ("Pillow", ("Pillow", "pillow")),
        ("PyYAML", ("PyYAML", "pyyaml")),
        ("reportlab", ("reportlab",)),
        ("segno", ("segno",)),
    ):
        libraries[key] = None
        for dist in dists:
            try:
                libraries[key] = importlib.metadata.version(dist)
                break
            except importlib.metadata.PackageNotFoundError:
                continue
    try:  # the PDFium binary renders vector pages: its build matters as much as the wrapper's
        from pypdfium2.version import PDFIUM_INFO

        libraries["pdfium"] = str(PDFIUM_INFO)
    except Exception:  # optional: any failure just means "unknown"
        libraries["pdfium"] = None
    return {
        "tool": __version__,
        "tool_code": tool_code_sha256(),
        "python": platform.python_version(),
        "python_implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "machine": platform.machine(),
        "sqlite": sqlite3.sqlite_version,
        "libraries": libraries,
    }
