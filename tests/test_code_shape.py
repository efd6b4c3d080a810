"""The shape issue 17 gave the code, kept by tests: handlers never commit or roll back, services never
abort, templates never compare a state with a string, and every kind of record a user loads goes
through `load_visible` with a visibility rule that holds for every role."""
from __future__ import annotations

import re
import uuid
from pathlib import Path

import pytest
from flask_login import login_user

from carecycle.lifecycle import NotFound, load_visible
from carecycle.roles import Role

ROOT = Path(__file__).resolve().parents[1]
AREAS = ("carecycle", "screening", "casework", "referrals", "supervision")


def _python(where: str):
    for area in AREAS:
        for path in sorted((ROOT / area).rglob("*.py")):
            rel = path.relative_to(ROOT).as_posix()
            if where in rel:
                yield rel, path.read_text(encoding="utf-8")


def _handler_files():
    for area in AREAS:
        for path in sorted((ROOT / area).rglob("*.py")):
            rel = path.relative_to(ROOT).as_posix()
            parts = rel.split("/")
            if any(part in ("views", "api") or part in ("views.py", "api.py", "web.py") for part in parts[1:]):
                yield rel, path.read_text(encoding="utf-8")


def test_the_checks_see_the_handlers_and_services():
    assert len(list(_handler_files())) > 30
    assert len(list(_python("/service"))) > 30


def test_no_handler_commits_or_rolls_back():
    found = [(rel, n + 1) for rel, text in _handler_files() for n, line in enumerate(text.splitlines())
             if re.search(r"\.(commit|rollback)\(\)", line)]
    assert found == []


def test_no_service_aborts_or_knows_http():
    found = [(rel, n + 1) for rel, text in _python("/service") for n, line in enumerate(text.splitlines())
             if re.search(r"\babort\(|from flask import .*\babort\b", line)]
    assert found == []


def test_no_template_compares_a_state_with_a_string():
    literal = re.compile(r"(phase|status|state|kind)\s*[!=]=\s*['\"]")
    found = [(path.relative_to(ROOT).as_posix(), n + 1) for path in sorted((ROOT / "templates").rglob("*.html"))
             for n, line in enumerate(path.read_text(encoding="utf-8").splitlines()) if literal.search(line)]
    assert found == []


def test_no_area_keeps_a_loader_of_its_own():
    """`load_visible` is the one way: no `_or_404` helper and no `load_<record>(id, user)` left."""
    helper = re.compile(r"^def (_\w+_or_404|load_(case|client|entry|group|alert|referral|note|drill|worker|review)"
                        r"|get_(member|team|training|organisation|location))\(", re.M)
    found = [rel for area in AREAS[1:] for rel, text in _python(area + "/") if helper.search(text)]
    assert found == []


@pytest.mark.parametrize("role", [r for r in Role])
def test_every_registered_kind_answers_404_for_a_record_that_is_not_there(app, db, make_user, role):
    user = make_user(role.value)
    kinds = app.extensions["carecycle_kinds"]
    assert {"case", "client", "note", "referral", "alert", "drill", "screening_result", "volunteer"} <= set(kinds)
    with app.test_request_context("/"):
        login_user(user)
        for kind in kinds:
            with pytest.raises(NotFound):
                load_visible(kind, uuid.uuid4(), user)
            with pytest.raises(NotFound):
                load_visible(kind, "not-an-id", user)


def test_no_module_assigns_to_another_modules_attribute():
    """Hooks go through the shell's registries (carecycle.areas: add_hook, add_labels, ...), never by
    assigning to, or appending to, a name another module owns."""
    import ast
    import importlib.util

    def is_module(name: str) -> bool:
        try:
            return importlib.util.find_spec(name) is not None
        except ModuleNotFoundError:
            return False

    found = []
    for area in AREAS:
        for path in sorted((ROOT / area).rglob("*.py")):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            imported = set()
            for node in ast.walk(tree):
                if isinstance(node, ast.Import):
                    imported |= {(a.asname or a.name).split(".")[0] for a in node.names}
                elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                    imported |= {a.asname or a.name for a in node.names if is_module(f"{node.module}.{a.name}")}
            for node in ast.walk(tree):
                targets = node.targets if isinstance(node, ast.Assign) else []
                for target in targets:
                    if (isinstance(target, ast.Attribute) and isinstance(target.value, ast.Name)
                            and target.value.id in imported):
                        found.append((path.relative_to(ROOT).as_posix(), node.lineno))
                if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                        and node.func.attr in ("append", "update", "extend")
                        and isinstance(node.func.value, ast.Attribute)
                        and isinstance(node.func.value.value, ast.Name) and node.func.value.value.id in imported
                        and node.func.value.attr.isupper()):
                    found.append((path.relative_to(ROOT).as_posix(), node.lineno))
    assert found == []
