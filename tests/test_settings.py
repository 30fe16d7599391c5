"""Every ``BATTRACE_*`` setting is read by ``Settings`` and only there, and documented in the README."""

from __future__ import annotations

import re
from dataclasses import fields
from pathlib import Path

import pytest

import battrace
from battrace.config import ENVIRONMENT, Settings
from battrace.errors import ValidationError

ROOT = Path(battrace.__file__).parent
README = ROOT.parent / "README.md"
NAME = re.compile(r"BATTRACE_[A-Z0-9_]+")
#: Names that are not settings of the platform.
NOT_SETTINGS = {"BATTRACE_TEST_DATABASE_URL"}


def test_every_setting_named_in_the_code_is_a_field_of_settings() -> None:
    named = {m for path in ROOT.rglob("*.py") for m in NAME.findall(path.read_text(encoding="utf-8"))}
    assert named - NOT_SETTINGS <= set(ENVIRONMENT), sorted(named - NOT_SETTINGS - set(ENVIRONMENT))
    assert set(ENVIRONMENT.values()) == {f.name for f in fields(Settings)}


def test_the_environment_is_read_only_in_config() -> None:
    readers = [str(p.relative_to(ROOT)) for p in ROOT.rglob("*.py")
               if re.search(r"os\.environ|os\.getenv|envvar=", p.read_text(encoding="utf-8"))]
    # cli: --db's envvar, the same name; server: passes the database URL and prometheus-client's
    # multiprocess directory to its worker processes; metrics: reads that prometheus-client variable
    assert sorted(readers) == ["api/metrics.py", "cli/__init__.py", "cli/server.py", "config.py"]


@pytest.mark.parametrize("name", sorted(ENVIRONMENT))
def test_every_setting_is_documented_in_the_readme(name: str) -> None:
    assert re.search(rf"^\| `{name}` \|", README.read_text(encoding="utf-8"), re.MULTILINE), name


def test_settings_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BATTRACE_PUBLIC_BASE_URL", " https://trace.example.cn ")
    monkeypatch.setenv("BATTRACE_BATCH_LIMIT", "5")
    s = Settings.from_env("sqlite:///x.db")
    assert (s.public_base_url, s.batch_limit, s.database_url) == ("https://trace.example.cn", 5, "sqlite:///x.db")
    monkeypatch.setenv("BATTRACE_BATCH_LIMIT", "zero")
    with pytest.raises(ValidationError, match="BATTRACE_BATCH_LIMIT"):
        Settings.from_env()
