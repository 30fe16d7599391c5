"""State shared by CLI commands: the database URL chosen by ``--db``."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import typer
from sqlalchemy.engine import make_url

from battrace.config import database_url
from battrace.errors import EmptyDatabase

_HINT = "pass --db URL or set BATTRACE_DATABASE_URL"


@dataclass
class CliState:
    db: str | None = None

    @property
    def database_url(self) -> str:
        return database_url(self.db)

    def existing_database_url(self) -> str:
        """The URL for a read command: a SQLite file that does not exist is an error, not created."""
        url = self.database_url
        path = sqlite_path(url)
        if path is not None and not path.exists():
            raise EmptyDatabase(f"database {display_url(url)} does not exist; {_HINT}", database=display_url(url))
        return url


def sqlite_path(url: str) -> Path | None:
    """The file of a ``sqlite:///`` URL (None for other databases and in-memory SQLite)."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return Path(parsed.database)


def display_url(url: str) -> str:
    """The URL to show people: SQLite files as absolute paths, passwords hidden."""
    path = sqlite_path(url)
    if path is not None:
        return f"sqlite:///{path.resolve()}"
    return make_url(url).render_as_string(hide_password=True)


def empty_database(url: str) -> EmptyDatabase:
    return EmptyDatabase(f"database {display_url(url)} holds no events; {_HINT}", database=display_url(url))


def state(ctx: typer.Context) -> CliState:
    root = ctx.find_root()
    obj = root.obj
    return obj if isinstance(obj, CliState) else CliState()
