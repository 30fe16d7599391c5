"""The domain core stays pure: no storage, services, HTTP, web, CLI or clock imports."""

from __future__ import annotations

import ast
from pathlib import Path

DOMAIN = Path(__file__).resolve().parents[2] / "battrace" / "domain"
FORBIDDEN = ("battrace.storage", "battrace.services", "battrace.api", "battrace.web", "battrace.cli",
             "sqlalchemy", "fastapi", "typer", "httpx")


def test_domain_modules_import_nothing_impure() -> None:
    offenders = []
    for path in DOMAIN.rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            offenders += [f"{path.name}: {n}" for n in names if n.startswith(FORBIDDEN)]
    assert offenders == []


def test_domain_never_reads_the_clock() -> None:
    for path in DOMAIN.rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        for call in ("datetime.now(", "date.today(", "time.time(", "clock.now(", "utcnow("):
            assert call not in text, f"{path.name} reads the clock ({call})"
