"""The shape of the code, kept by tools rather than memory (issue 15).

- `lint-imports` checks the contracts in .importlinter: shared/ imports no project package and
  no `time`, issuer/ and verifier/ never import each other, the federal operator
  (issuer/federation/) imports only shared/, the layers of each app, that the verification path
  never reaches the publication reader or the network, and that only issuer.storage reaches the
  database drivers and Alembic (that only it speaks a SQL dialect is
  tests/issuer/storage/test_dialect_confined.py: import-linter cannot see sqlalchemy.dialects).
- Import cycles inside each package, found on grimp's graph (the one import-linter builds):
  none in shared/, issuer/ or verifier/. In issuer/ the use cases take `issuer.context.Context`,
  which imports none of them, and only the front ends import `issuer.service`.
"""
from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import grimp
import pytest

ROOT = Path(__file__).resolve().parent.parent


def cycles(graph: grimp.ImportGraph, package: str) -> list[list[str]]:
    """The strongly connected components (more than one module, or a module importing itself)
    of the imports among `package`'s own modules (Tarjan)."""
    mods = {m for m in graph.modules if m == package or m.startswith(package + ".")}
    edges = {m: sorted(graph.find_modules_directly_imported_by(m) & mods) for m in mods}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in edges[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1 or v in edges[v]:
                found.append(sorted(component))

    for m in sorted(mods):
        if m not in index:
            visit(m)
    return found


@pytest.fixture(scope="module")
def graph() -> grimp.ImportGraph:
    return grimp.build_graph("shared", "issuer", "verifier", cache_dir=None)


def test_import_contracts_hold():
    exe = shutil.which("lint-imports", path=str(Path(sys.executable).parent)) or "lint-imports"
    run = subprocess.run([exe, "--no-cache", "--config", str(ROOT / ".importlinter")], cwd=ROOT,
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "0 broken" in run.stdout


@pytest.mark.parametrize("package", ["shared", "issuer", "verifier"])
def test_no_import_cycles(graph, package):
    assert cycles(graph, package) == []


def test_the_cycle_finder_finds_a_cycle(tmp_path, monkeypatch):
    # The check above passes on an empty answer; show it can say no.
    pkg = tmp_path / "knot"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "a.py").write_text("from knot import b\n")
    (pkg / "b.py").write_text("from knot import a\n")
    (pkg / "c.py").write_text("from knot import a\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    assert cycles(grimp.build_graph("knot", cache_dir=None), "knot") == [["knot.a", "knot.b"]]
