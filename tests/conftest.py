"""Shared fixtures: real databases (a SQLite file, and PostgreSQL when configured)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import create_engine
from sqlalchemy.exc import OperationalError

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


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'battrace.db'}"


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A fresh PostgreSQL schema for one test (dropped afterwards)."""
    with pg_schema() as url:
        yield url


@contextmanager
def pg_schema() -> Iterator[str]:
    """The URL of a fresh PostgreSQL schema, dropped when the block ends (``pg_url``'s, and a second
    one for a test that needs two)."""
    base = postgres_url()
    schema = f"t_{uuid.uuid4().hex[:12]}"
    engine = create_engine(base)
    try:
        with engine.begin() as conn:
            conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    except OperationalError as exc:  # set but unreachable: fail, never skip
        pytest.fail(f"{PG_ENV} is set but PostgreSQL is unreachable: {exc.orig}")
    sep = "&" if "?" in base else "?"
    yield f"{base}{sep}options=-csearch_path%3D{schema}"
    with engine.begin() as conn:
        conn.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
    engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest) -> str:
    """Every contract test runs against both stores."""
    if request.param == "sqlite":
        return str(request.getfixturevalue("sqlite_url"))
    return str(request.getfixturevalue("pg_url"))
