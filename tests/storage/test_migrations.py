"""The migrations build exactly the tables the code declares."""

from __future__ import annotations

import re
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy.exc import DBAPIError

from battrace.storage.schema import metadata
from battrace.storage.store import Store


def test_migrated_database_matches_the_declared_schema(db_url: str) -> None:
    store = Store(db_url)
    with store.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), metadata)
    store.close()
    relevant = [d for d in diff if not (isinstance(d, tuple) and d[0] in ("add_table", "remove_table")
                                        and (getattr(d[1], "name", "") == "alembic_version"
                                             or _is_partition(getattr(d[1], "name", ""))))
                and not (isinstance(d, tuple) and d[0] == "remove_index" and _is_partition(d[1].table.name))]
    assert relevant == []


def _is_partition(name: str) -> bool:
    """A hash partition of a PostgreSQL table (migration 0006): physical, not declared in the schema."""
    return re.fullmatch(r"(event_links|batteries|vehicles|techinfo|lineage)_p\d\d", name) is not None


def test_opening_twice_is_a_no_op(sqlite_url: str) -> None:
    Store(sqlite_url).close()
    Store(sqlite_url).close()


def test_0006_partitions_postgresql_tables_keeping_their_rows_and_downgrades(pg_url: str) -> None:
    from alembic import command
    from sqlalchemy import create_engine, text

    from battrace.storage.migrate import alembic_config

    engine = create_engine(pg_url)
    cfg = alembic_config()

    def run(fn: Any, target: str) -> None:
        with engine.begin() as conn:
            cfg.attributes["connection"] = conn
            fn(cfg, target)

    run(command.upgrade, "0005")
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO event_links VALUES ('B1', 1, 7, 'h1'), ('B2', 1, 9, 'h2')"))
        conn.execute(text("INSERT INTO events (seq, reporter, event_id, type, occurred_at, recorded_at, imported, "
                          "body, hash) VALUES (9, 'R', 'e9', 't', now(), now(), false, '{}', 'x')"))
    run(command.upgrade, "0006")
    with engine.begin() as conn:
        kinds = dict(conn.execute(text(
            "SELECT relname, relkind FROM pg_class WHERE relnamespace = current_schema()::regnamespace "
            "AND relname IN ('event_links', 'batteries', 'lineage', 'events')")).all())
        assert kinds == {"event_links": "p", "batteries": "p", "lineage": "p", "events": "r"}
        assert conn.execute(text("SELECT stream, seq FROM event_links ORDER BY stream")).all() == [("B1", 7), ("B2", 9)]
        assert conn.execute(text("SELECT nextval('events_seq')")).scalar_one() == 10
    with engine.begin() as conn, pytest.raises(DBAPIError):  # still append-only, partition by partition
        conn.execute(text("DELETE FROM event_links_p00"))
    run(command.downgrade, "0005")
    with engine.begin() as conn:
        assert conn.execute(text(
            "SELECT relkind FROM pg_class WHERE relname = 'event_links' "
            "AND relnamespace = current_schema()::regnamespace")).scalar_one() == "r"
        assert conn.execute(text("SELECT count(*) FROM event_links")).scalar_one() == 2
    engine.dispose()
