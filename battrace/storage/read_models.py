"""Writes of ``battrace rebuild`` to the read models: rows rewritten from their fold, rows without a
stream in the log removed, the lineage table replaced. In the caller's transaction."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import Connection, delete, exists, insert, literal, select

from battrace.storage import schema, verification
from battrace.storage.store import Store
from battrace.storage.verification import READ_MODEL_KEYS

_CHUNK = 500


def upsert_rows(store: Store, conn: Connection, table_name: str, rows: Sequence[dict[str, Any]]) -> None:
    """Insert or replace whole rows of a read model (``batteries``, ``vehicles``, ``techinfo``) by key."""
    table, key, _ = READ_MODEL_KEYS[table_name]
    store.bulk(conn, table, rows, [key])


def delete_rows_without_stream(conn: Connection) -> list[tuple[str, str]]:
    """Delete every read-model row whose stream has no link in the log; return their ``(table, key)``."""
    lk = schema.event_links
    out: list[tuple[str, str]] = []
    for name, (table, key, prefix) in READ_MODEL_KEYS.items():
        stream = (literal(prefix) + table.c[key]) if prefix else table.c[key]
        keys = [str(k) for k in conn.execute(select(table.c[key]).where(~exists().where(lk.c.stream == stream))
                                             .order_by(table.c[key])).scalars()]
        for i in range(0, len(keys), _CHUNK):
            conn.execute(delete(table).where(table.c[key].in_(keys[i : i + _CHUNK])))
        out.extend((name, k) for k in keys)
    return out


def replace_lineage(conn: Connection, rows: Iterable[tuple[str, str, int]]) -> None:
    """The lineage table made exactly ``rows`` ``(product, source, seq)``."""
    lin = schema.lineage
    conn.execute(delete(lin))
    values = [{"product": p, "source": s, "seq": q} for p, s, q in sorted(rows)]
    if values:
        conn.execute(insert(lin), values)


def repair_components(conn: Connection) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """``components`` made exactly the ``(parent, code)`` pairs of ``batteries`` again (a table its
    triggers keep, edited by hand), by one set-based delete and one insert: returns the pairs
    removed and the pairs added. Run under the writer lock (``rebuild``), so nothing changes
    between reading the pairs and repairing them."""
    extra, missing = verification.components_apart(conn, None)
    if extra:
        conn.exec_driver_sql("DELETE FROM components WHERE (parent, code) IN "
                             f"(SELECT c.parent, c.code {verification.COMPONENTS_EXTRA})")
    if missing:
        conn.exec_driver_sql("INSERT INTO components (parent, code) "
                             f"SELECT b.parent, b.code {verification.COMPONENTS_MISSING}")
    return extra, missing
