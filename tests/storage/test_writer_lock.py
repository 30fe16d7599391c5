"""The writer lock on PostgreSQL is the schema's own: a whole-platform writer (or a migration)
excludes the ledger's writers of its schema, and no writer or migration of another schema in the
same database. So is the lock of a hand-over being recounted."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from battrace.errors import StorageError
from battrace.storage.dashboard import lock_handovers
from battrace.storage.store import Store
from tests.conftest import pg_schema


@pytest.fixture
def other_pg_url() -> Iterator[str]:
    """A second schema in the same database (pg_url's fixture makes the first)."""
    with pg_schema() as url:
        yield url


def _impatient(url: str) -> str:
    """The same schema, on connections that give up on a lock after 300 ms (``lock_timeout``)."""
    return f"{url}%20-clock_timeout%3D300"


def test_a_writer_excludes_its_own_schemas_writers_only(pg_url: str, other_pg_url: str) -> None:
    mine, same = Store(pg_url), Store(_impatient(pg_url))
    other = None
    try:
        with mine.writer():  # e.g. an organisation import: holds its schema's lock exclusively
            other = Store(_impatient(other_pg_url))  # another schema migrates without waiting
            with other.ledger_writer() as conn:  # and its ledger writer does not wait either
                assert conn.exec_driver_sql("SELECT 1").scalar_one() == 1
            with pytest.raises(StorageError, match="lock timeout"), same.ledger_writer():
                pass  # this schema's waits, and gives up after its lock_timeout
        with same.ledger_writer() as conn:  # once the writer is done, it gets the lock
            assert conn.exec_driver_sql("SELECT 1").scalar_one() == 1
    finally:
        for store in (mine, other, same):
            if store is not None:
                store.close()


def test_a_handover_lock_excludes_its_own_schema_only(pg_url: str, other_pg_url: str) -> None:
    """Two writers recounting the same hand-over serialise on it in their schema; a platform in
    another schema recounting its own hand-over of the same seq does not wait."""
    mine, same, other = Store(pg_url), Store(_impatient(pg_url)), Store(_impatient(other_pg_url))
    try:
        with mine.engine.connect() as holder, holder.begin():
            lock_handovers(holder, [7, 3])
            with other.engine.connect() as conn, conn.begin():
                lock_handovers(conn, [3, 7])  # the other schema's seqs 3 and 7: no wait
            with same.engine.connect() as conn, conn.begin():
                lock_handovers(conn, [8])  # another hand-over of this schema: no wait
                with pytest.raises(OperationalError, match="lock timeout"):
                    lock_handovers(conn, [7])  # the same one waits, and gives up after lock_timeout
        with same.engine.connect() as conn, conn.begin():  # once the holder committed, it gets it
            lock_handovers(conn, [7])
            assert conn.execute(text("SELECT 1")).scalar_one() == 1
    finally:
        for store in (mine, same, other):
            store.close()
