"""Alembic migrations, run programmatically: a new database is brought to the latest revision."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

MIGRATIONS = Path(__file__).with_name("migrations")
#: The arguments of the schema's writer lock (PostgreSQL advisory lock): ``"batt"`` and the schema's
#: name hashed. A migration holds it exclusively, as :meth:`Store.writer` does, so no ledger writer
#: of its schema runs meanwhile; writers and migrations of other schemas in the database never wait.
WRITER_LOCK_ARGS = "1650553972, hashtext(current_schema())"


def alembic_config() -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return cfg


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def upgrade(engine: Engine) -> None:
    """Upgrade the database to the head revision (a no-op when it is current)."""
    if current_revision(engine) == head_revision():
        return
    cfg = alembic_config()
    with engine.connect().execution_options(battrace_writer=True) as conn, conn.begin():
        if engine.dialect.name == "postgresql":
            conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({WRITER_LOCK_ARGS})")
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")
