"""Shared fixtures: real databases (a SQLite file, and PostgreSQL when configured)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
PG_ENV = "BATTRACE_TEST_DATABASE_URL"


def shared_path(*parts: str) -> Path:
    """A file under ../shared, or skip the test with a clear reason when the folder is absent."""
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"{path} is absent (../shared is only in the developers' checkout)")
    return path


def postgres_url() -> str:
    """The PostgreSQL URL for tests, or skip when BATTRACE_TEST_DATABASE_URL is unset."""
    url = os.environ.get(PG_ENV)
    if not url:
        pytest.skip(f"{PG_ENV} is unset: no PostgreSQL server configured for tests")
    return url
