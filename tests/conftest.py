"""Shared fixtures: the bundled templates, writing templates to disk, rendering PDF pages to pixels.

Kept generic on purpose: generator tests use them now, scanning tests will use them later
(render a generated ballot, draw on the pixels, read it back).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pypdfium2 as pdfium
import pytest

if TYPE_CHECKING:
    from omr.ballot.layout import PageLayout
    from omr.ballot.template import Template

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run from a checkout without installing the package
    sys.path.insert(0, str(ROOT))

TEMPLATE_DIR = ROOT / "ballot_templates"
BUNDLED_TEMPLATES = sorted(TEMPLATE_DIR.glob("*.yaml"))
SEED_TEMPLATE = TEMPLATE_DIR / "tin-nhiem-cdyt-dong-nai-2023.yaml"
LEADERS_TEMPLATE = TEMPLATE_DIR / "tin-nhiem-28-lanh-dao.yaml"
GENERAL_EN_TEMPLATE = TEMPLATE_DIR / "general-election-en.yaml"

RENDER_DPI = 200


def mm_to_px(value_mm: float, dpi: float = RENDER_DPI) -> float:
    """Millimetres from the page's top-left corner to continuous pixel coordinates."""
    return value_mm * dpi / 25.4


def px_to_mm(value_px: float, dpi: float = RENDER_DPI) -> float:
    return value_px * 25.4 / dpi


def render_pdf(pdf: bytes | str | Path, dpi: float = RENDER_DPI) -> list[np.ndarray]:
    """Every page of a PDF rendered by PDFium to a grey uint8 array (0 black, 255 white)."""
    from ballot_sim.simulate import render_pdf as render

    return render(pdf if isinstance(pdf, bytes) else Path(pdf).read_bytes(), dpi)


def pdf_page_sizes_mm(pdf: bytes | str | Path) -> list[tuple[float, float]]:
    """(width, height) of every page in millimetres, as the PDF declares it."""
    doc = pdfium.PdfDocument(pdf if isinstance(pdf, bytes) else str(pdf))
    try:
        return [(w * 25.4 / 72.0, h * 25.4 / 72.0) for w, h in (doc.get_page_size(i) for i in range(len(doc)))]
    finally:
        doc.close()


@pytest.fixture(scope="session")
def root_dir() -> Path:
    return ROOT


@pytest.fixture(scope="session")
def bundled_templates() -> list[Path]:
    assert BUNDLED_TEMPLATES, f"no templates in {TEMPLATE_DIR}"
    return BUNDLED_TEMPLATES


@pytest.fixture(scope="session")
def seed_template() -> Path:
    return SEED_TEMPLATE


@pytest.fixture(scope="session")
def leaders_template() -> Path:
    return LEADERS_TEMPLATE


@pytest.fixture(scope="session")
def general_en_template() -> Path:
    return GENERAL_EN_TEMPLATE


@pytest.fixture(scope="session")
def render() -> Callable[..., list[np.ndarray]]:
    """`render(pdf_bytes_or_path, dpi=200)`: every page as a grey numpy array."""
    return render_pdf


@pytest.fixture(scope="session")
def pdf_page_sizes() -> Callable[..., list[tuple[float, float]]]:
    """`pdf_page_sizes(pdf_bytes_or_path)`: (width, height) of every page in mm."""
    return pdf_page_sizes_mm


@pytest.fixture
def write_template(tmp_path: Path) -> Callable[..., Path]:
    """`write_template(text, name="ballot.yaml")`: a template file in a temporary folder (UTF-8),
    or raw bytes written as they are."""

    def write(content: str | bytes, name: str = "ballot.yaml") -> Path:
        path = tmp_path / name
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
        return path

    return write


@dataclass(frozen=True)
class BlankPage:
    """A generated ballot page rendered as a clean scan, with the geometry it was drawn from:
    the small, exact input the per-stage tests draw on."""

    pixels: np.ndarray  # grey uint8, read-only: draw on `copy()`
    dpi: float
    template: Template
    page: PageLayout

    @property
    def px_per_mm(self) -> float:
        return self.dpi / 25.4

    @property
    def homography(self) -> np.ndarray:
        """Page mm -> pixels of this unturned render."""
        return np.diag([self.px_per_mm, self.px_per_mm, 1.0])

    def px(self, x_mm: float, y_mm: float) -> tuple[int, int]:
        return int(round(x_mm * self.px_per_mm)), int(round(y_mm * self.px_per_mm))

    def copy(self) -> np.ndarray:
        return self.pixels.copy()


@cache
def blank_page(template_path: Path = SEED_TEMPLATE, dpi: float = 150, page: int = 1) -> BlankPage:
    from omr.ballot.generate import ballots_pdf
    from omr.ballot.layout import layout
    from omr.ballot.template import load_template

    template = load_template(template_path)
    pixels = render_pdf(ballots_pdf(template, 1), dpi)[page - 1]
    pixels.setflags(write=False)
    return BlankPage(pixels, dpi, template, layout(template).pages[page - 1])


@pytest.fixture(scope="session")
def blank() -> Callable[..., BlankPage]:
    """`blank(template_path=SEED_TEMPLATE, dpi=150, page=1)`: a clean render of one ballot page (cached)."""
    return blank_page


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """With OMR_TESTS_NO_SKIP=1 (scripts/test.sh, so CI too) a skipped test fails the run: the test
    command installs everything the tests need, so a skip means something is missing."""
    import os

    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    skipped = reporter.stats.get("skipped", []) if reporter is not None else []
    if os.environ.get("OMR_TESTS_NO_SKIP") == "1" and skipped and session.exitstatus == 0:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter, exitstatus: int, config: pytest.Config) -> None:
    import os

    skipped = terminalreporter.stats.get("skipped", [])
    if os.environ.get("OMR_TESTS_NO_SKIP") == "1" and skipped:
        terminalreporter.write_line(f"FAILED: {len(skipped)} test(s) skipped; OMR_TESTS_NO_SKIP=1 (scripts/test.sh) "
                                    "allows none: install what they need", red=True)
