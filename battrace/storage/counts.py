"""The regulator statistics' aggregate tables: add deltas as events arrive, rebuild, read.

Deltas are added in one upsert per table, with the rows in key order, so that concurrent writers
take the counter rows' locks in the same order (no deadlock between two ingest transactions), and
into one ``slot`` of :data:`SLOTS` per transaction, so that writers in different processes or
threads rarely wait for each other's counter rows; readers sum over the slots.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping

from sqlalchemy import Connection, Table, delete, func, literal, select

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


def _month_sql(conn: Connection) -> str:
    if conn.dialect.name == "postgresql":
        return "to_char(timezone('Asia/Shanghai', e.occurred_at), 'YYYY-MM')"
    return "strftime('%Y-%m', e.occurred_at, '+8 hours')"


_BATTERY_RECOUNT = (
    "SELECT b.level, b.state, b.chemistry, coalesce(o.region, ''), count(*) FROM batteries b "
    "LEFT JOIN orgs o ON o.credit_code = coalesce(b.custodian, b.maker) "
    "GROUP BY b.level, b.state, b.chemistry, coalesce(o.region, '')"
)


def _retirement_recount(conn: Connection, retirement_types: tuple[str, ...]) -> str:
    types = ", ".join(f"'{t}'" for t in retirement_types)  # constants of the code, not input
    month = _month_sql(conn)
    return (f"SELECT {month}, coalesce(o.region, ''), count(*) "
            f"FROM events e LEFT JOIN orgs o ON o.credit_code = e.reporter WHERE e.type IN ({types}) "
            f"GROUP BY {month}, coalesce(o.region, '')")


def rebuild(conn: Connection, retirement_types: tuple[str, ...]) -> None:
    """Recount both tables from the read models and the log (after an organisation changes region)."""
    conn.execute(delete(schema.battery_counts))
    conn.execute(delete(schema.retirement_counts))
    conn.exec_driver_sql(
        "INSERT INTO battery_counts (level, state, chemistry, region, slot, n) "
        "SELECT b.level, b.state, b.chemistry, coalesce(o.region, ''), 0, count(*) FROM batteries b "
        "LEFT JOIN orgs o ON o.credit_code = coalesce(b.custodian, b.maker) "
        "GROUP BY b.level, b.state, b.chemistry, coalesce(o.region, '')"
    )
    types = ", ".join(f"'{t}'" for t in retirement_types)  # constants of the code, not input
    month = _month_sql(conn)
    conn.exec_driver_sql(
        f"INSERT INTO retirement_counts (month, region, slot, n) SELECT {month}, coalesce(o.region, ''), 0, count(*) "
        f"FROM events e LEFT JOIN orgs o ON o.credit_code = e.reporter WHERE e.type IN ({types}) "
        f"GROUP BY {month}, coalesce(o.region, '')"
    )


def recount(conn: Connection, retirement_types: tuple[str, ...]) -> dict[str, dict[tuple[str, ...], int]]:
    """Both tables' figures recounted from the read models and the log (what ``verify`` compares):
    table -> key -> count."""
    out: dict[str, dict[tuple[str, ...], int]] = {}
    for table, sql in (("battery_counts", _BATTERY_RECOUNT),
                       ("retirement_counts", _retirement_recount(conn, retirement_types))):
        out[table] = {tuple(str(x) for x in row[:-1]): int(row[-1]) for row in conn.exec_driver_sql(sql) if row[-1]}
    return out


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
