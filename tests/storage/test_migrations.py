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
    """A hash partition of a PostgreSQL table (migrations 0006 and 0016): physical, not declared in the schema."""
    return re.fullmatch(r"(event_links|batteries|vehicles|techinfo|lineage|components)_p\d\d", name) is not None


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


def test_0016_fills_components_from_the_batteries_it_finds_and_downgrades(db_url: str) -> None:
    """A database at 0015 with assembled batteries gets their pairs in ``components``; down again,
    the table and its triggers are gone and ``batteries`` takes writes as before."""
    from datetime import UTC, datetime

    from alembic import command
    from sqlalchemy import create_engine, text

    from battrace.services.ledger import Ledger
    from battrace.services.orgs import import_orgs
    from battrace.storage.migrate import alembic_config
    from tests import story as s

    now = datetime(2026, 11, 21, 8, 0, tzinfo=UTC)
    store = Store(db_url)
    import_orgs(store, s.orgs(), now)
    assert Ledger(store, now=lambda: now).ingest(list(enumerate(s.story(), 1))).rejected == 0
    store.close()
    engine, cfg = create_engine(db_url), alembic_config()

    def run(fn: Any, target: str) -> None:
        with engine.begin() as conn:
            cfg.attributes["connection"] = conn
            fn(cfg, target)

    def pairs(sql: str) -> set[tuple[str, str]]:
        with engine.begin() as conn:
            return {(r[0], r[1]) for r in conn.execute(text(sql))}

    expected = pairs("SELECT parent, code FROM batteries WHERE parent IS NOT NULL")
    assert {(s.PACK, m) for m in s.MODULES} <= expected
    run(command.downgrade, "0015")
    with engine.begin() as conn:  # no trigger left to write into a table that is gone
        conn.execute(text("UPDATE batteries SET parent = NULL WHERE code = :c"), {"c": s.MODULES[0]})
        conn.execute(text("UPDATE batteries SET parent = :p WHERE code = :c"), {"p": s.PACK, "c": s.MODULES[0]})
    run(command.upgrade, "0016")
    assert pairs("SELECT parent, code FROM components") == expected
    engine.dispose()
