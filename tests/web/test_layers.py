"""The web face sits beside the API, on the services: it imports neither the API nor SQL."""

from __future__ import annotations

import ast
from pathlib import Path

import battrace.web

WEB = Path(battrace.web.__file__).parent


def imported(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_web_modules_use_services_not_the_api_or_sql() -> None:
    modules = sorted(WEB.rglob("*.py"))
    assert len(modules) > 8
    for path in modules:
        for name in imported(path):
            assert not name.startswith("battrace.api"), f"{path.name} imports {name}"
            assert not name.startswith("sqlalchemy"), f"{path.name} imports {name}"
            assert not name.startswith("battrace.storage") or name == "battrace.storage.store", \
                f"{path.name} imports {name}"
