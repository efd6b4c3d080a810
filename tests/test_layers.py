"""The one-way dependencies of ../shared/ARCHITECTURE.md, checked by parsing every import:

    carecycle  <-  screening  <-  casework  <-  referrals  <-  supervision

An area imports only the shell and the areas left of it; the shell imports no area, except
`create_app`'s list of the area packages (the one place that knows every area). All ten
forbidden directions are checked, imports inside functions included."""
from __future__ import annotations

import ast
from itertools import combinations
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
ORDER = ["carecycle", "screening", "casework", "referrals", "supervision"]
FORBIDDEN = [(left, right) for left, right in combinations(ORDER, 2)]  # left must not import right
# the one place allowed to know every area: create_app's list of area packages
ALLOWED = {("carecycle/__init__.py", "area_packages")}


def _imports(package: str) -> list[tuple[str, str, int, str]]:
    """(file, imported top-level package, line, enclosing function) for every absolute import."""
    found = []
    for path in sorted((ROOT / package).rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        functions = {}
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                for inner in ast.walk(node):
                    functions.setdefault(id(inner), node.name)
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module]
            for name in names:
                found.append((str(path.relative_to(ROOT)), name.split(".")[0], node.lineno,
                              functions.get(id(node), "")))
    return found


def test_there_are_ten_forbidden_directions():
    assert len(FORBIDDEN) == 10


@pytest.mark.parametrize("left, right", FORBIDDEN, ids=[f"{a}-must-not-import-{b}" for a, b in FORBIDDEN])
def test_no_area_imports_an_area_to_its_right(left, right):
    wrong = [f"{file}:{line}" for file, imported, line, function in _imports(left)
             if imported == right and (file, function) not in ALLOWED]
    assert wrong == [], f"{left} imports {right}"


def test_the_check_sees_imports_inside_functions(tmp_path, monkeypatch):
    package = tmp_path / "carecycle"
    package.mkdir()
    (package / "x.py").write_text("def f():\n    import supervision.views\n    from referrals import api\n")
    monkeypatch.setattr(__import__(__name__, fromlist=["ROOT"]), "ROOT", tmp_path)
    assert {(imported, function) for _f, imported, _l, function in _imports("carecycle")} == {
        ("supervision", "f"), ("referrals", "f")}
