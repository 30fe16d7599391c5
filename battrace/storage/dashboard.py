"""The dashboard's aggregate tables (migration 0013): add deltas as events arrive, recount, read.

``reporter_counts`` (events per reporter: the reporting league), ``flow_counts`` (hand-overs by
sender and receiver: the flows between provinces) and ``installation_counts`` (packs certified
into vehicles by region and year: the retirement forecast). Like :mod:`battrace.storage.counts`,
deltas are one driver-level upsert per table, rows in key order (concurrent writers lock counter
rows in one order: no deadlock), into the writer's ``slot`` (``INSERT … ON CONFLICT DO UPDATE SET
n = n + excluded.n``: no read-modify-write); readers sum the slots.

The recounts (``recount_*``) are the same figures computed from the log and the read models: what
``battrace verify`` compares the tables with, what ``battrace rebuild`` and migration 0013 write.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Table, delete, func, select

from battrace.storage import schema
from battrace.storage.counts import SLOTS, _slot
from battrace.storage.store import run

HAND_OVER = "battery.handed_over"
CERTIFIED = "vehicle.certified"

FlowKey = tuple[str, str]  # sender, receiver (credit codes)
#: batteries, hand-overs, waste batteries, waste hand-overs
FlowDelta = tuple[int, int, int, int]
InstallationKey = tuple[str, str, str]  # vehicle's region ('' = none), org ('' unless no region), year


def _add(conn: Connection, table: Table, key: tuple[str, ...], values: tuple[str, ...],
         deltas: Mapping[Any, tuple[int, ...]]) -> None:
    slot = _slot(conn, SLOTS)
    rows = [(*k, slot, *v) for k, v in sorted(deltas.items()) if any(v)]
    if not rows:
        return
    mark = "%s" if conn.dialect.name == "postgresql" else "?"
    columns = ", ".join((*key, "slot", *values))
    updates = ", ".join(f"{v} = {table.name}.{v} + excluded.{v}" for v in values)
    run(conn,
        f"INSERT INTO {table.name} ({columns}) VALUES ({', '.join([mark] * (len(key) + 1 + len(values)))}) "
        f"ON CONFLICT ({', '.join((*key, 'slot'))}) DO UPDATE SET {updates}",
        rows, many=True)


def add_reporters(conn: Connection, deltas: Mapping[str, int]) -> None:
    _add(conn, schema.reporter_counts, ("reporter",), ("n",), {(r,): (n,) for r, n in deltas.items()})


def add_flows(conn: Connection, deltas: Mapping[FlowKey, FlowDelta]) -> None:
    _add(conn, schema.flow_counts, ("sender", "receiver"),
         ("batteries", "handovers", "waste_batteries", "waste_handovers"), deltas)


def add_installations(conn: Connection, deltas: Mapping[InstallationKey, int]) -> None:
    _add(conn, schema.installation_counts, ("region", "org", "year"), ("packs",),
         {k: (n,) for k, n in deltas.items()})


# -- look-ups the deltas need (rare: only for what a batch changes after the fact) ----------------


def _linked(conn: Connection, streams: list[str], *, first_only: bool) -> dict[int, str]:
    """seq -> stream of the links of ``streams`` (by the links' primary key; the first link only)."""
    link = schema.event_links
    out: dict[int, str] = {}
    for i in range(0, len(streams), 500):
        stmt = select(link.c.seq, link.c.stream).where(link.c.stream.in_(streams[i:i + 500]))
        if first_only:
            stmt = stmt.where(link.c.version == 1)
        out.update({int(seq): stream for seq, stream in conn.execute(stmt)})
    return out


def _events(conn: Connection, seqs: list[int], event_type: str) -> list[tuple[int, str, datetime, str]]:
    """``(seq, reporter, occurred_at, body)`` of the events at ``seqs`` that are of ``event_type``."""
    e = schema.events
    out: list[tuple[int, str, datetime, str]] = []
    for i in range(0, len(seqs), 500):
        out += [(int(seq), r, at, body) for seq, r, at, body in conn.execute(
            select(e.c.seq, e.c.reporter, e.c.occurred_at, e.c.body)
            .where(e.c.seq.in_(seqs[i:i + 500]), e.c.type == event_type))]
    return out


def handovers_of(conn: Connection, codes: Iterable[str]) -> list[tuple[int, str, str, datetime, list[str]]]:
    """Every ``battery.handed_over`` event naming one of ``codes`` (through the batteries' links):
    ``(seq, sender, receiver, occurred_at, batteries)``."""
    seqs = sorted(_linked(conn, sorted(set(codes)), first_only=False))
    out = []
    for seq, reporter, occurred_at, body in _events(conn, seqs, HAND_OVER):
        doc = json.loads(body)
        out.append((seq, reporter, doc.get("to") or "", occurred_at, list(doc.get("batteries") or ())))
    return out


def certified_packs(conn: Connection, vins: Iterable[str]) -> dict[str, int]:
    """Packs each vehicle's ``vehicle.certified`` event listed (the first event of its stream)."""
    first = _linked(conn, sorted({f"vin:{v}" for v in vins}), first_only=True)
    return {first[seq][4:]: len(json.loads(body).get("batteries") or ())
            for seq, _, _, body in _events(conn, sorted(first), CERTIFIED)}


#: The advisory lock of a hand-over recounted after the fact (see :func:`lock_handovers`): a key in
#: PostgreSQL's one-key (bigint) space, which does not overlap the two-key space of the writers'
#: lock (:data:`battrace.storage.migrate.WRITER_LOCK_ARGS`), hashed from the schema and the seq, so
#: that two platforms in two schemas of one database never wait for each other's hand-overs.
HANDOVER_LOCK_KEY = "hashtextextended(current_schema() || '/handover', %s)"


def lock_handovers(conn: Connection, seqs: Iterable[int]) -> None:
    """Serialise the writers that recount the same earlier hand-overs (PostgreSQL; SQLite has one
    writer): each takes a transaction lock per hand-over, in seq order (no deadlock between them),
    and reads the batteries' states after it, so that the second sees what the first committed."""
    if conn.dialect.name != "postgresql":
        return
    for seq in sorted(set(seqs)):
        conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({HANDOVER_LOCK_KEY})", (seq,))


# -- recounts from the log and the read models ----------------------------------------------------


def _recount_sql(dialect: str) -> dict[str, str]:
    """The three recounts as SELECTs whose columns are the tables' (key..., values...) without slot."""
    if dialect == "postgresql":
        to = "(e.body::jsonb ->> 'to')"
        items = "jsonb_array_elements_text(e.body::jsonb -> 'batteries') AS item(value)"
        waste = "(b.waste AND ((b.doc::jsonb ->> 'waste_since')::timestamptz <= e.occurred_at))"
        vin = "(e.body::jsonb ->> 'vin')"
        region = "coalesce(v.doc::jsonb ->> 'region', e.body::jsonb ->> 'region')"
        year = "substr(e.body::jsonb ->> 'occurred_at', 1, 4)"
        packs = "jsonb_array_length(e.body::jsonb -> 'batteries')"
        item = "item.value"
    else:
        to = "json_extract(e.body, '$.to')"
        items = "json_each(e.body, '$.batteries') AS item"
        waste = ("(b.waste AND julianday(json_extract(b.doc, '$.waste_since')) <= julianday(e.occurred_at))")
        vin = "json_extract(e.body, '$.vin')"
        region = "coalesce(json_extract(v.doc, '$.region'), json_extract(e.body, '$.region'))"
        year = "substr(json_extract(e.body, '$.occurred_at'), 1, 4)"
        packs = "json_array_length(e.body, '$.batteries')"
        item = "item.value"
    return {
        "reporter_counts": "SELECT e.reporter AS c0, count(*) AS c1 FROM events e GROUP BY e.reporter",
        "flow_counts": (
            f"SELECT e.reporter AS c0, coalesce({to}, '') AS c1, count(*) AS c2, count(DISTINCT e.seq) AS c3, "
            f"sum(CASE WHEN {waste} THEN 1 ELSE 0 END) AS c4, "
            f"count(DISTINCT CASE WHEN {waste} THEN e.seq END) AS c5 "
            f"FROM events e CROSS JOIN {items} JOIN batteries b ON b.code = {item} "
            f"WHERE e.type = '{HAND_OVER}' GROUP BY e.reporter, coalesce({to}, '')"
        ),
        "installation_counts": (
            f"SELECT coalesce({region}, '') AS c0, "
            f"CASE WHEN {region} IS NULL THEN e.reporter ELSE '' END AS c1, "
            f"{year} AS c2, sum({packs}) AS c3 FROM events e LEFT JOIN vehicles v ON v.vin = {vin} "
            f"WHERE e.type = '{CERTIFIED}' "
            f"GROUP BY coalesce({region}, ''), CASE WHEN {region} IS NULL THEN e.reporter ELSE '' END, {year}"
        ),
    }


_COLUMNS = {
    "reporter_counts": ("reporter", "n"),
    "flow_counts": ("sender", "receiver", "batteries", "handovers", "waste_batteries", "waste_handovers"),
    "installation_counts": ("region", "org", "year", "packs"),
}
_KEYS = {"reporter_counts": 1, "flow_counts": 2, "installation_counts": 3}
TABLES = tuple(_COLUMNS)


def recount(conn: Connection, table: str) -> dict[tuple[str, ...], tuple[int, ...]]:
    """``table``'s figures recounted from the log and the read models: key -> values (zeros left out)."""
    k = _KEYS[table]
    out: dict[tuple[str, ...], tuple[int, ...]] = {}
    for row in conn.exec_driver_sql(_recount_sql(conn.dialect.name)[table]):
        values = tuple(int(v or 0) for v in row[k:])
        if any(values):
            out[tuple(str(x) for x in row[:k])] = values
    return out


def stored(conn: Connection, table: str) -> dict[tuple[str, ...], tuple[int, ...]]:
    """``table``'s figures summed over the slots: key -> values (zeros left out)."""
    t = schema.metadata.tables[table]
    names = _COLUMNS[table]
    k = _KEYS[table]
    keys = [t.c[n] for n in names[:k]]
    out: dict[tuple[str, ...], tuple[int, ...]] = {}
    for row in conn.execute(select(*keys, *(func.sum(t.c[n]) for n in names[k:])).group_by(*keys)):
        values = tuple(int(v or 0) for v in row[k:])
        if any(values):
            out[tuple(row[:k])] = values
    return out


def write(conn: Connection, table: str, figures: Mapping[tuple[str, ...], tuple[int, ...]]) -> None:
    """Replace ``table``'s rows with ``figures`` (a :func:`recount`'s, into slot 0)."""
    t = schema.metadata.tables[table]
    conn.execute(delete(t))
    names, k = _COLUMNS[table], _KEYS[table]
    rows = [{**dict(zip(names[:k], key, strict=True)), "slot": 0, **dict(zip(names[k:], values, strict=True))}
            for key, values in sorted(figures.items()) if any(values)]
    if rows:
        conn.execute(t.insert(), rows)


def rebuild(conn: Connection) -> None:
    """Recount the three tables into slot 0 (``battrace rebuild``; migration 0013 fills them alike)."""
    sql = _recount_sql(conn.dialect.name)
    for table in TABLES:
        conn.execute(delete(schema.metadata.tables[table]))
        names, k = _COLUMNS[table], _KEYS[table]
        aliases = [f"c{i}" for i in range(len(names))]
        conn.exec_driver_sql(
            f"INSERT INTO {table} ({', '.join((*names[:k], 'slot', *names[k:]))}) "
            f"SELECT {', '.join((*aliases[:k], '0', *aliases[k:]))} FROM ({sql[table]}) AS r"
        )


# -- reads ----------------------------------------------------------------------------------------


def read_reporters(conn: Connection) -> dict[str, int]:
    t = schema.reporter_counts
    return {r: int(n) for r, n in conn.execute(select(t.c.reporter, func.sum(t.c.n)).group_by(t.c.reporter)) if n}


def read_flows(conn: Connection, *, waste_only: bool) -> list[tuple[str, str, int, int]]:
    """``(sender, receiver, batteries, hand-overs)`` per pair of organisations."""
    t = schema.flow_counts
    n, h = (t.c.waste_batteries, t.c.waste_handovers) if waste_only else (t.c.batteries, t.c.handovers)
    stmt = select(t.c.sender, t.c.receiver, func.sum(n), func.sum(h)).group_by(t.c.sender, t.c.receiver)
    return [(s, r, int(b), int(k or 0)) for s, r, b, k in conn.execute(stmt) if b]


def read_installations(conn: Connection) -> list[tuple[str, str, str, int]]:
    """``(vehicle's region or '', org or '', year, packs)``."""
    t = schema.installation_counts
    stmt = select(t.c.region, t.c.org, t.c.year, func.sum(t.c.packs)).group_by(t.c.region, t.c.org, t.c.year)
    return [(r, o, y, int(p)) for r, o, y, p in conn.execute(stmt) if p]


def org_regions(conn: Connection) -> dict[str, str | None]:
    o = schema.orgs
    return {c: r for c, r in conn.execute(select(o.c.credit_code, o.c.region))}


__all__: list[Any] = [
    "add_flows", "add_installations", "add_reporters", "certified_packs", "handovers_of", "lock_handovers",
    "read_flows",
    "read_installations", "read_reporters", "rebuild", "recount", "stored", "TABLES",
]
