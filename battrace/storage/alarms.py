"""Storage of BMS alarms (table ``alarms``) and the look-ups telemetry needs: statements only.

:class:`battrace.services.telemetry.TelemetryService` decides what to store; every function takes
the caller's connection.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, bindparam, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from battrace.storage import schema

A = schema.alarms


def lookup(conn: Connection, columns: str, table: str, key: str, keys: set[str]) -> list[tuple[Any, ...]]:
    """``SELECT columns FROM table WHERE key IN keys`` at driver level (the per-batch hot path:
    SQLAlchemy's expanding IN would recompile the statement for every batch)."""
    mark = "?" if conn.dialect.name == "sqlite" else "%s"
    items = sorted(keys)
    rows: list[tuple[Any, ...]] = []
    for i in range(0, len(items), 500):
        chunk = items[i:i + 500]
        sql = f"SELECT {columns} FROM {table} WHERE {key} IN ({', '.join([mark] * len(chunk))})"
        rows.extend(conn.exec_driver_sql(sql, tuple(chunk)).fetchall())
    return rows


def upsert(conn: Connection, rows: list[dict[str, Any]]) -> None:
    """Store new alarms; one already stored (battery, hazard, first_at) takes the newer last_at, level,
    response and evidence."""
    ins = (pg_insert if conn.dialect.name == "postgresql" else sqlite_insert)(A)
    conn.execute(ins.on_conflict_do_update(
        index_elements=["battery", "hazard", "first_at"],
        set_={"last_at": ins.excluded.last_at, "level": ins.excluded.level,
              "response": ins.excluded.response, "evidence": ins.excluded.evidence},
    ), rows)


def extend(conn: Connection, extended: Sequence[tuple[str, str, datetime, datetime]]) -> None:
    """Move ``last_at`` of lasting alarms: ``(battery, hazard, first_at, last_at)``."""
    conn.execute(
        update(A).where(and_(A.c.battery == bindparam("b_battery"), A.c.hazard == bindparam("b_hazard"),
                             A.c.first_at == bindparam("b_first_at")))
        .values(last_at=bindparam("b_last_at")),
        [{"b_battery": b, "b_hazard": h, "b_first_at": first, "b_last_at": last} for b, h, first, last in extended],
    )


def org_region(conn: Connection, org: str) -> str | None:
    o = schema.orgs
    region: str | None = conn.execute(select(o.c.region).where(o.c.credit_code == org)).scalar_one_or_none()
    return region


def select_alarms(
    conn: Connection, *, battery: str | None, org: str | None, region_prefix: str | None, hazard: str | None,
    min_level: int | None, since: datetime | None, until: datetime | None, limit: int, offset: int,
) -> list[Any]:
    """Stored alarm rows, newest first, filtered as :func:`battrace.services.telemetry.list_alarms` says."""
    stmt = select(A).order_by(A.c.first_at.desc(), A.c.id.desc()).limit(limit).offset(offset)
    if battery is not None:
        stmt = stmt.where(A.c.battery == battery)
    if org is not None:
        stmt = stmt.where(or_(A.c.maker == org, A.c.vehicle_maker == org))
    if region_prefix:
        stmt = stmt.where(A.c.region.like(f"{region_prefix}%"))
    if hazard is not None:
        stmt = stmt.where(A.c.hazard == hazard)
    if min_level is not None:
        stmt = stmt.where(A.c.level >= min_level)
    if since is not None:
        stmt = stmt.where(A.c.first_at >= since)
    if until is not None:
        stmt = stmt.where(A.c.raised_at <= until)
    return list(conn.execute(stmt))
