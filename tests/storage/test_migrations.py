"""The migrations build exactly the tables the code declares."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from battrace.storage.schema import metadata
from battrace.storage.store import Store


def test_migrated_database_matches_the_declared_schema(db_url: str) -> None:
    store = Store(db_url)
    with store.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), metadata)
    store.close()
    relevant = [d for d in diff if not (isinstance(d, tuple) and d[0] in ("add_table", "remove_table")
                                        and getattr(d[1], "name", "") == "alembic_version")]
    assert relevant == []


def test_opening_twice_is_a_no_op(sqlite_url: str) -> None:
    Store(sqlite_url).close()
    Store(sqlite_url).close()
