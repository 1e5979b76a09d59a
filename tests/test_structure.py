"""The house: no import circle between the package's modules, the simulator outside the package."""

from __future__ import annotations

import ast
from pathlib import Path

from conftest import ROOT

PACKAGE = ROOT / "omr"


def _module(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path, known: set[str]) -> set[str]:
    """Modules of the package this one imports, anywhere in it (functions included), except under
    `if TYPE_CHECKING:` (annotations only, never run)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skip = {id(n) for node in ast.walk(tree) if isinstance(node, ast.If)
            and getattr(node.test, "id", None) == "TYPE_CHECKING" for n in ast.walk(node)}
    found: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
        found |= {n for n in names if n in known}
    return found


def _graph() -> dict[str, set[str]]:
    files = {_module(p): p for p in PACKAGE.rglob("*.py")}
    known = set(files)
    return {m: _imports(p, known) - {m} for m, p in files.items()}


def test_no_import_circle() -> None:
    graph = _graph()
    assert len(graph) > 30 and sum(map(len, graph.values())) > 50
    cycles: list[list[str]] = []
    state: dict[str, int] = {}

    def visit(m: str, stack: list[str]) -> None:
        state[m] = 1
        for n in sorted(graph[m]):
            if state.get(n) == 1 and not n.startswith(m + "."):
                cycles.append(stack[stack.index(n):] + [n] if n in stack else [m, n])
            elif n not in state:
                visit(n, stack + [n])
        state[m] = 2

    for m in sorted(graph):
        if m not in state:
            visit(m, [m])
    assert not cycles, "import circles: " + "; ".join(" -> ".join(c) for c in cycles)


def test_the_vision_core_and_the_counting_do_no_io_of_their_own() -> None:
    """The reader and the tally import no database, web or file-walking module of the project (the
    tally's store shell is omr.count.stored)."""
    graph = _graph()
    for m, deps in graph.items():
        if m.startswith("omr.read.") or m == "omr.count.tally":
            bad = {d for d in deps if d.startswith(("omr.store", "omr.review", "omr.scan", "omr.cli"))}
            assert not bad, f"{m} imports {bad}"


def test_the_simulator_is_not_in_the_package() -> None:
    assert not list(PACKAGE.rglob("simulate*.py"))
    for m, deps in _graph().items():
        assert not any("ballot_sim" in d for d in deps), m
    for path in PACKAGE.rglob("*.py"):
        assert "ballot_sim" not in path.read_text(encoding="utf-8"), path


def test_the_readme_layout_names_every_module_and_nothing_that_is_gone() -> None:
    """README's "Project layout" is how a newcomer finds the room for a change: it must match the tree."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    block = readme.split("## Project layout", 1)[1].split("\n## ", 1)[0]
    folders = [line.split()[0] for line in block.splitlines() if line.startswith("    omr/")]
    assert len(folders) >= 9
    for folder in folders:
        assert (ROOT / folder.rstrip("/")).exists(), f"README names {folder}, which does not exist"
    for package in sorted(p for p in PACKAGE.iterdir() if p.is_dir() and (p / "__init__.py").exists()):
        assert f"omr/{package.name}/" in block, f"README's layout does not name omr/{package.name}/"
        for module in sorted(package.glob("*.py")):
            if module.name != "__init__.py":
                assert module.name in block or module.stem in block, f"README's layout does not name {module}"
    for top in ("ballot_sim/", "sample_scans/", "benchmarks/", "tests/", "scripts/"):
        assert top in block and (ROOT / top).is_dir()
