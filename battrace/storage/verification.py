"""The statements ``battrace verify`` and ``battrace anchor`` run: streamed walks of the log and
look-ups of the read models by key. Reads only; the comparisons live in :mod:`battrace.services.verify`.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from sqlalchemy import Connection, Table, and_, exists, func, literal, select, tuple_

from battrace.storage import schema

_CHUNK = 500


def _chunks(items: Sequence[Any], size: int = _CHUNK) -> Iterator[Sequence[Any]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def events(conn: Connection) -> Iterator[Any]:
    """Every event in ``seq`` order (streamed)."""
    e = schema.events
    yield from conn.execute(select(e).order_by(e.c.seq).execution_options(yield_per=5000))


def links_between(conn: Connection, first: int, last: int) -> list[tuple[int, str]]:
    """``(seq, stream)`` of every link of the events ``first``..``last``."""
    lk = schema.event_links
    stmt = select(lk.c.seq, lk.c.stream).where(lk.c.seq >= first, lk.c.seq <= last)
    return [(int(seq), str(stream)) for seq, stream in conn.execute(stmt)]


def links_with_events(conn: Connection) -> Iterator[Any]:
    """Every link in ``(stream, version)`` order with its event's hash, type, schema version and body
    (streamed)."""
    lk, e = schema.event_links, schema.events
    stmt = (
        select(lk.c.stream, lk.c.version, lk.c.hash, lk.c.seq, e.c.hash.label("event_hash"), e.c.body, e.c.type,
               e.c.schema_version)
        .join(e, e.c.seq == lk.c.seq, isouter=True)
        .order_by(lk.c.stream, lk.c.version)
        .execution_options(yield_per=5000)
    )
    yield from conn.execute(stmt)


#: Each read model keyed by its stream: (table, key column, prefix that makes the stream name).
READ_MODEL_KEYS: dict[str, tuple[Table, str, str]] = {
    "batteries": (schema.batteries, "code", ""),
    "vehicles": (schema.vehicles, "vin", "vin:"),
    "techinfo": (schema.techinfo, "stream", ""),
}


def read_model_rows(conn: Connection, table_name: str, keys: Sequence[str]) -> dict[str, dict[str, Any]]:
    """Whole rows of a read model by key."""
    table, key, _ = READ_MODEL_KEYS[table_name]
    out: dict[str, dict[str, Any]] = {}
    for chunk in _chunks(list(keys)):
        for row in conn.execute(select(table).where(table.c[key].in_(chunk))):
            out[row._mapping[key]] = dict(row._mapping)
    return out


def rows_without_stream(conn: Connection, limit: int = 100) -> list[tuple[str, str]]:
    """``(table, key)`` of read-model rows whose stream has no link in the log (added outside the ledger)."""
    lk = schema.event_links
    out: list[tuple[str, str]] = []
    for name, (table, key, prefix) in READ_MODEL_KEYS.items():
        stream = (literal(prefix) + table.c[key]) if prefix else table.c[key]
        stmt = (select(table.c[key]).where(~exists().where(lk.c.stream == stream))
                .order_by(table.c[key]).limit(limit))
        out.extend((name, str(k)) for k in conn.execute(stmt).scalars())
    return out


#: ``components`` pairs no battery row has, and battery rows' pairs ``components`` lacks.
COMPONENTS_EXTRA = ("FROM components c WHERE NOT EXISTS (SELECT 1 FROM batteries b "
                    "WHERE b.code = c.code AND b.parent = c.parent)")
COMPONENTS_MISSING = ("FROM batteries b WHERE b.parent IS NOT NULL AND NOT EXISTS (SELECT 1 FROM components c "
                      "WHERE c.parent = b.parent AND c.code = b.code)")


def components_apart(conn: Connection, limit: int | None = 20) -> tuple[list[tuple[str, str]],
                                                                       list[tuple[str, str]]]:
    """``components`` against ``batteries.parent``: pairs ``(parent, code)`` in the table that no
    battery row has, and pairs of battery rows the table lacks (at most ``limit`` of each; all
    of them when ``limit`` is ``None``)."""
    bound = "" if limit is None else f" LIMIT {int(limit)}"
    extra = conn.exec_driver_sql(f"SELECT c.parent, c.code {COMPONENTS_EXTRA} ORDER BY c.parent, c.code{bound}")
    missing = conn.exec_driver_sql(f"SELECT b.parent, b.code {COMPONENTS_MISSING} ORDER BY b.parent, b.code{bound}")
    return [(r[0], r[1]) for r in extra], [(r[0], r[1]) for r in missing]


def lineage(conn: Connection) -> set[tuple[str, str, int]]:
    lin = schema.lineage
    return {(str(p), str(s), int(q)) for p, s, q in conn.execute(select(lin.c.product, lin.c.source, lin.c.seq))}


def stream_heads(conn: Connection) -> Iterator[tuple[str, int, str]]:
    """``(stream, version, hash)`` of every stream's last link, in stream order (streamed)."""
    lk = schema.event_links
    last = select(lk.c.stream, func.max(lk.c.version).label("version")).group_by(lk.c.stream).subquery()
    stmt = (
        select(lk.c.stream, lk.c.version, lk.c.hash)
        .join(last, and_(last.c.stream == lk.c.stream, last.c.version == lk.c.version))
        .order_by(lk.c.stream)
        .execution_options(yield_per=5000)
    )
    for stream, version, digest in conn.execute(stmt):
        yield str(stream), int(version), str(digest)


def links_at(conn: Connection, keys: Iterable[tuple[str, int]]) -> dict[tuple[str, int], str]:
    """The hash of the link at each ``(stream, version)`` that exists."""
    lk = schema.event_links
    out: dict[tuple[str, int], str] = {}
    for chunk in _chunks(list(keys)):
        stmt = select(lk.c.stream, lk.c.version, lk.c.hash).where(tuple_(lk.c.stream, lk.c.version).in_(chunk))
        for stream, version, digest in conn.execute(stmt):
            out[(str(stream), int(version))] = str(digest)
    return out


def max_seq(conn: Connection) -> int:
    return int(conn.execute(select(func.coalesce(func.max(schema.events.c.seq), 0))).scalar_one())


def event_hash_at(conn: Connection, seq: int) -> str | None:
    e = schema.events
    return conn.execute(select(e.c.hash).where(e.c.seq == seq)).scalar_one_or_none()


def link_count(conn: Connection) -> int:
    return int(conn.execute(select(func.count()).select_from(schema.event_links)).scalar_one())
