"""State shared by CLI commands: the database URL chosen by ``--db``."""

from __future__ import annotations

from dataclasses import dataclass

import typer

from battrace.config import database_url


@dataclass
class CliState:
    db: str | None = None

    @property
    def database_url(self) -> str:
        return database_url(self.db)


def state(ctx: typer.Context) -> CliState:
    root = ctx.find_root()
    obj = root.obj
    return obj if isinstance(obj, CliState) else CliState()
