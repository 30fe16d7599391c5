"""The regulator statistics' aggregate tables: add deltas as events arrive, rebuild, read.

Deltas are added in one upsert per table, with the rows in key order, so that concurrent writers
take the counter rows' locks in the same order (no deadlock between two ingest transactions), and
into one ``slot`` of :data:`SLOTS` per transaction, so that writers in different processes or
threads rarely wait for each other's counter rows; readers sum over the slots.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Collection, Mapping

from sqlalchemy import Connection, Table, delete, func, literal, select

from battrace.domain.wholelife import FOLLOWED_STATES
from battrace.storage import schema
from battrace.storage.store import run

BatteryKey = tuple[str, str, str, str]  # level, state, chemistry, region
RetirementKey = tuple[str, str]  # month, region
#: Counter rows per battery bucket: enough for the writers of one node to rarely meet, few enough
#: that a read sums a small table (retirements are rare events: one row per bucket).
SLOTS = 4


def _slot(conn: Connection, slots: int) -> int:
    """This writer's counter slot: by process and thread (SQLite has one writer: always 0)."""
    if conn.dialect.name != "postgresql" or slots == 1:
        return 0
    return hash((os.getpid(), threading.get_ident())) % slots


def _add(conn: Connection, table: Table, key: tuple[str, ...], deltas: Mapping[tuple[str, ...], int],
         slots: int) -> None:
    """One driver-level executemany (the ingest hot path: no SQL compilation per batch)."""
    slot = _slot(conn, slots)
    rows = [(*k, slot, n) for k, n in sorted(deltas.items()) if n]
    if not rows:
        return
    mark = "%s" if conn.dialect.name == "postgresql" else "?"
    columns = ", ".join((*key, "slot", "n"))
    run(conn,
        f"INSERT INTO {table.name} ({columns}) VALUES ({', '.join([mark] * (len(key) + 2))}) "
        f"ON CONFLICT ({', '.join((*key, 'slot'))}) DO UPDATE SET n = {table.name}.n + excluded.n",
        rows, many=True)


def add_battery_counts(conn: Connection, deltas: Mapping[BatteryKey, int]) -> None:
    _add(conn, schema.battery_counts, ("level", "state", "chemistry", "region"), deltas, SLOTS)  # type: ignore[arg-type]


def add_retirement_counts(conn: Connection, deltas: Mapping[RetirementKey, int]) -> None:
    _add(conn, schema.retirement_counts, ("month", "region"), deltas, 1)  # type: ignore[arg-type]


#: A component's row as the counts need it: (code, level, chemistry, state, maker, custodian, parent).
ComponentRow = tuple[str, str, str, str, str | None, str | None, str]
_CHUNK = 900  # under the 999 bound parameters of an SQLite built before 3.32


def components_of(conn: Connection, parents: Collection[str]) -> list[ComponentRow]:
    """The batteries whose ``parent`` is one of ``parents`` (by ``ix_batteries_parent``): one driver-level
    statement per 900 parents (the ingest hot path)."""
    wanted = sorted(parents)
    out: list[ComponentRow] = []
    columns = "code, level, chemistry, state, maker, custodian, parent"
    for i in range(0, len(wanted), _CHUNK):
        part = wanted[i:i + _CHUNK]
        if conn.dialect.name == "postgresql":
            rows = conn.exec_driver_sql(f"SELECT {columns} FROM batteries WHERE parent = ANY(%s)", (part,))
        else:
            rows = conn.exec_driver_sql(
                f"SELECT {columns} FROM batteries WHERE parent IN ({', '.join('?' * len(part))})", tuple(part))
        out.extend(tuple(r) for r in rows)
    return out


def _month_sql(conn: Connection) -> str:
    if conn.dialect.name == "postgresql":
        return "to_char(timezone('Asia/Shanghai', e.occurred_at), 'YYYY-MM')"
    return "strftime('%Y-%m', e.occurred_at, '+8 hours')"


def _followed() -> str:
    return ", ".join(f"'{s}'" for s in sorted(FOLLOWED_STATES))  # constants of the code, not input


def battery_recount_sql(batteries: str = "batteries") -> list[str]:
    """The recount of ``battery_counts`` as two SELECTs of (level, state, chemistry, region, n) whose
    rows add up: the batteries on their own (their stored state, held by their custodian or else
    their maker), then the components in a parent, in the bucket they show
    (:mod:`battrace.domain.wholelife`; the same expressions as :func:`battrace.storage.reporting.statistics`).
    ``batteries`` names the table the counted rows come from (a partition of it: a recount in parts);
    the parents are looked up in the whole table. Two statements, not one join, so that the packs
    (almost every row) are counted by a plain scan."""
    root = "coalesce(p2.state, p1.state)"
    return [
        "SELECT b.level, b.state, b.chemistry, coalesce(o.region, ''), count(*) "
        f"FROM {batteries} b LEFT JOIN orgs o ON o.credit_code = coalesce(b.custodian, b.maker) "
        "WHERE b.parent IS NULL GROUP BY b.level, b.state, b.chemistry, coalesce(o.region, '')",
        f"SELECT level, state, chemistry, region, count(*) FROM (SELECT b.level AS level, "
        f"CASE WHEN {root} IN ({_followed()}) THEN {root} WHEN {root} = 'dismantled' THEN 'waste' "
        f"ELSE b.state END AS state, b.chemistry AS chemistry, coalesce(o.region, '') AS region "
        f"FROM {batteries} b LEFT JOIN batteries p1 ON p1.code = b.parent "
        "LEFT JOIN batteries p2 ON p2.code = p1.parent "
        "LEFT JOIN orgs o ON o.credit_code = coalesce(p2.custodian, p1.custodian, p2.maker, p1.maker, b.maker) "
        "WHERE b.parent IS NOT NULL) AS c GROUP BY level, state, chemistry, region",
    ]


def retirement_recount_sql(conn: Connection, retirement_types: tuple[str, ...]) -> str:
    """The recount of ``retirement_counts`` (month, region, n) from the log."""
    types = ", ".join(f"'{t}'" for t in retirement_types)  # constants of the code, not input
    month = _month_sql(conn)
    return (f"SELECT {month}, coalesce(o.region, ''), count(*) "
            f"FROM events e LEFT JOIN orgs o ON o.credit_code = e.reporter WHERE e.type IN ({types}) "
            f"GROUP BY {month}, coalesce(o.region, '')")


Figures = dict[str, dict[tuple[str, ...], int]]


def _sum(conn: Connection, statements: list[str]) -> dict[tuple[str, ...], int]:
    out: dict[tuple[str, ...], int] = {}
    for sql in statements:
        for row in conn.exec_driver_sql(sql):
            key = tuple(str(x) for x in row[:-1])
            out[key] = out.get(key, 0) + int(row[-1])
    return {k: n for k, n in out.items() if n}


def recount_batteries(conn: Connection, batteries: str = "batteries") -> dict[tuple[str, ...], int]:
    """``battery_counts`` recounted from the read models (``batteries``: or one of its partitions)."""
    return _sum(conn, battery_recount_sql(batteries))


def recount_retirements(conn: Connection, retirement_types: tuple[str, ...]) -> dict[tuple[str, ...], int]:
    """``retirement_counts`` recounted from the log."""
    return _sum(conn, [retirement_recount_sql(conn, retirement_types)])


def recount(conn: Connection, retirement_types: tuple[str, ...]) -> Figures:
    """Both tables' figures recounted from the read models and the log (what ``verify`` compares and
    ``rebuild`` writes): table -> key -> count."""
    return {"battery_counts": recount_batteries(conn), "retirement_counts": recount_retirements(conn, retirement_types)}


def partitions(conn: Connection, table: str) -> list[str]:
    """The partitions of ``table`` (PostgreSQL hash partitions), or ``[table]`` when it has none."""
    if conn.dialect.name != "postgresql":
        return [table]
    names = [str(r[0]) for r in conn.exec_driver_sql(
        "SELECT inhrelid::regclass::text FROM pg_inherits WHERE inhparent = to_regclass(%s) ORDER BY 1", (table,))]
    return names or [table]


def add_figures(total: Figures, part: Figures) -> None:
    """Add the figures of a recount in parts to ``total``."""
    for table, rows in part.items():
        into = total.setdefault(table, {})
        for key, n in rows.items():
            into[key] = into.get(key, 0) + n


def write(conn: Connection, figures: Figures) -> None:
    """Replace both tables' rows with ``figures`` (into slot 0)."""
    for table, key in ((schema.battery_counts, ("level", "state", "chemistry", "region")),
                       (schema.retirement_counts, ("month", "region"))):
        conn.execute(delete(table))
        rows = [{**dict(zip(key, k, strict=True)), "slot": 0, "n": n}
                for k, n in sorted(figures.get(table.name, {}).items()) if n]
        if rows:
            conn.execute(table.insert(), rows)


def rebuild(conn: Connection, retirement_types: tuple[str, ...]) -> None:
    """Recount both tables from the read models and the log (``battrace rebuild``; after an
    organisation changes region)."""
    write(conn, recount(conn, retirement_types))


def stored(conn: Connection) -> dict[str, dict[tuple[str, ...], int]]:
    """Both tables' figures summed over the slots: table -> key -> count (zeros left out)."""
    out: dict[str, dict[tuple[str, ...], int]] = {}
    for t, key in ((schema.battery_counts, ("level", "state", "chemistry", "region")),
                   (schema.retirement_counts, ("month", "region"))):
        cols = [t.c[k] for k in key]
        out[t.name] = {tuple(row[:-1]): int(row[-1])
                       for row in conn.execute(select(*cols, func.sum(t.c.n)).group_by(*cols)) if row[-1]}
    return out


def read_battery_counts(conn: Connection, *, level: str | None, region_prefix: str) -> list[tuple[str, str, str, int]]:
    """(state, chemistry, province, n) rows for one level (or all) within a region prefix ('' = all);
    the province is the region's first two digits ('' when the holder has no region)."""
    c = schema.battery_counts
    province = func.substr(c.c.region, 1, 2)
    stmt = select(c.c.state, c.c.chemistry, province, func.sum(c.c.n))
    if level is not None:
        stmt = stmt.where(c.c.level == level)
    if region_prefix:
        stmt = stmt.where(c.c.region.like(f"{region_prefix}%"))
    stmt = stmt.group_by(c.c.state, c.c.chemistry, province)
    return [(s, ch, p or "", int(n)) for s, ch, p, n in conn.execute(stmt) if n]


def read_retirements(conn: Connection, *, region_prefix: str) -> dict[str, int]:
    c = schema.retirement_counts
    stmt = select(c.c.month, func.sum(c.c.n)).where(literal(True))
    if region_prefix:
        stmt = stmt.where(c.c.region.like(f"{region_prefix}%"))
    return {m: int(n) for m, n in conn.execute(stmt.group_by(c.c.month).order_by(c.c.month)) if n}
