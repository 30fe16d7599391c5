"""Read replicas: where a PostgreSQL standby stands against its primary (the SQL for it).

A write's position in PostgreSQL's write-ahead log (an LSN such as ``0/3000148``) is the token of
read-your-writes: the writer is told the primary's position after its commit, and a replica that
has replayed that far shows the write. Functions here answer ``None`` on SQLite and on a server
that is not a standby, where the question does not arise.
"""

from __future__ import annotations

import re

from battrace.errors import ValidationError
from battrace.storage.store import Store

_LSN = re.compile(r"^[0-9A-Fa-f]{1,8}/[0-9A-Fa-f]{1,8}$")


def parse_lsn(value: str) -> str:
    """A WAL position as sent back by a client (``X-Battrace-Min-LSN``), checked for its form."""
    value = value.strip()
    if not _LSN.match(value):
        raise ValidationError(f"X-Battrace-Min-LSN must be a WAL position such as 0/3000148, got {value!r}",
                              field="X-Battrace-Min-LSN")
    return value


def write_position(store: Store) -> str | None:
    """The primary's WAL insert position: every transaction committed so far lies before it (the
    write position may not yet cover an asynchronous commit)."""
    if store.dialect != "postgresql":
        return None
    with store.reader() as conn:
        return str(conn.exec_driver_sql("SELECT pg_current_wal_insert_lsn()::text").scalar_one())


def has_replayed(store: Store, lsn: str) -> bool:
    """Whether the replica behind ``store`` has replayed the WAL up to ``lsn`` (true off a standby)."""
    if store.dialect != "postgresql":
        return True
    with store.reader() as conn:
        done = conn.exec_driver_sql(
            "SELECT NOT pg_is_in_recovery() OR pg_last_wal_replay_lsn() >= %s::pg_lsn", (parse_lsn(lsn),)
        ).scalar_one()
    return bool(done)


def lag_seconds(store: Store) -> float | None:
    """How far the standby behind ``store`` trails its primary, in seconds; None when not a standby.

    Zero when it has replayed everything it received; otherwise the age of the last transaction it
    replayed (so an idle primary does not look like lag).
    """
    if store.dialect != "postgresql":
        return None
    with store.reader() as conn:
        value = conn.exec_driver_sql(
            "SELECT CASE WHEN NOT pg_is_in_recovery() THEN NULL"
            " WHEN pg_last_wal_receive_lsn() IS NOT DISTINCT FROM pg_last_wal_replay_lsn() THEN 0"
            " ELSE greatest(0, extract(epoch FROM clock_timestamp() - pg_last_xact_replay_timestamp())) END"
        ).scalar_one()
    return None if value is None else round(float(value), 3)


def ping(store: Store) -> None:
    """One round trip to the database (raises StorageError when it cannot be reached)."""
    with store.reader() as conn:
        conn.exec_driver_sql("SELECT 1").scalar_one()
