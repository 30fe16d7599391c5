"""SQL for the console's holdings search: which batteries an organisation holds, uses or made.

Scopes (see :mod:`battrace.services.holdings_search`):

* ``held`` — on its own (not inside a pack), the organisation is the custodian, and it is not in a
  customer's vehicle (state not ``in_service``) nor finished (``dismantled``, ``recycled``): what
  the organisation physically has (stock, swap stock, waste, unsold vehicles, re-made products);
* ``in_use`` — on its own, the organisation is the custodian, in a customer's vehicle (``in_service``):
  what it is responsible for but does not have;
* ``made`` — the organisation is the maker (any level, anywhere).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, and_, false, func, or_, select
from sqlalchemy.engine import Connection
from sqlalchemy.sql.elements import ColumnElement

from battrace.domain.state import OUT_OF_HAND
from battrace.storage import schema

SCOPES = ("held", "in_use", "made")
_OUT_OF_HAND = tuple(sorted(OUT_OF_HAND))


@dataclass(frozen=True)
class HoldingsFilter:
    scope: str = "held"
    #: The organisation's manufacturer codes (the first 3 characters of the codes it makes): "made"
    #: reads the code ranges of the primary key rather than every battery's maker.
    maker_codes: tuple[str, ...] = ()
    state: str | None = None
    level: str | None = None
    model: str | None = None
    code: str | None = None  # part of the code (upper case)
    since: datetime | None = None  # last event on or after
    until: datetime | None = None  # last event before


def _scope(org: str, scope: str, maker_codes: tuple[str, ...] = ()) -> ColumnElement[bool]:
    b = schema.batteries
    if scope == "made":
        if not maker_codes:  # an organisation without manufacturer codes makes nothing
            return false()
        ranges = [and_(b.c.code >= prefix, b.c.code < prefix + "~") for prefix in maker_codes]
        return and_(or_(*ranges), b.c.maker == org)
    mine = and_(b.c.custodian == org, b.c.parent.is_(None))
    if scope == "in_use":
        return and_(mine, b.c.state == "in_service")
    return and_(mine, b.c.state.not_in(_OUT_OF_HAND))


def _filtered(org: str, f: HoldingsFilter, *columns: Any) -> Select[Any]:
    b, e = schema.batteries, schema.events
    stmt = select(*columns).select_from(b).where(_scope(org, f.scope, f.maker_codes))
    if f.state:
        stmt = stmt.where(b.c.state == f.state)
    if f.level:
        stmt = stmt.where(b.c.level == f.level)
    if f.model:
        stmt = stmt.where(b.c.model == f.model)
    if f.code:
        stmt = stmt.where(or_(b.c.code.startswith(f.code, autoescape=True), b.c.code.contains(f.code, autoescape=True)))
    if f.since is not None or f.until is not None:
        stmt = stmt.join(e, e.c.seq == b.c.last_seq)
        if f.since is not None:
            stmt = stmt.where(e.c.occurred_at >= f.since)
        if f.until is not None:
            stmt = stmt.where(e.c.occurred_at < f.until)
    return stmt


def scope_counts(conn: Connection, org: str, maker_codes: tuple[str, ...] = ()) -> dict[str, int]:
    b = schema.batteries
    return {s: int(conn.execute(select(func.count()).select_from(b).where(_scope(org, s, maker_codes))).scalar_one())
            for s in SCOPES}


def facets(conn: Connection, org: str, f: HoldingsFilter) -> tuple[dict[str, int], list[str]]:
    """Per state counts and the models found, within the scope and the other filters."""
    b = schema.batteries
    by_state_q = _filtered(org, HoldingsFilter(**{**f.__dict__, "state": None}), b.c.state, func.count())
    by_state = {s: int(n) for s, n in conn.execute(by_state_q.group_by(b.c.state))}
    models_q = (_filtered(org, HoldingsFilter(scope=f.scope, maker_codes=f.maker_codes), b.c.model)
                .where(b.c.model.is_not(None)).distinct())
    models = sorted(str(m) for (m,) in conn.execute(models_q.limit(200)))
    return by_state, models


def count(conn: Connection, org: str, f: HoldingsFilter) -> int:
    return int(conn.execute(_filtered(org, f, func.count())).scalar_one())


def _columns() -> tuple[Any, ...]:
    b = schema.batteries
    return (b.c.code, b.c.level, b.c.chemistry, b.c.model, b.c.state, b.c.maker, b.c.custodian, b.c.vin,
            b.c.waste, b.c.remade, b.c.last_seq)


def page(conn: Connection, org: str, f: HoldingsFilter, limit: int, offset: int) -> list[dict[str, Any]]:
    b = schema.batteries
    stmt = _filtered(org, f, *_columns()).order_by(b.c.last_seq.desc(), b.c.code).limit(limit).offset(offset)
    rows = [dict(r._mapping) for r in conn.execute(stmt)]
    _add_last_events(conn, rows)
    return rows


def stream(conn: Connection, org: str, f: HoldingsFilter, limit: int, chunk: int = 5000
           ) -> Iterator[list[dict[str, Any]]]:
    """All matching rows (at most ``limit``) in code order, in chunks read by key (``code >`` the last
    one, never an offset), each with its last event (for exports)."""
    b = schema.batteries
    after: str | None = None
    sent = 0
    while sent < limit:
        stmt = _filtered(org, f, *_columns()).order_by(b.c.code).limit(min(chunk, limit - sent))
        if after is not None:
            stmt = stmt.where(b.c.code > after)
        rows = [dict(r._mapping) for r in conn.execute(stmt)]
        if not rows:
            return
        after = rows[-1]["code"]
        sent += len(rows)
        _add_last_events(conn, rows)
        yield rows
        if len(rows) < chunk:
            return


def _add_last_events(conn: Connection, rows: list[dict[str, Any]]) -> None:
    e = schema.events
    seqs = [row["last_seq"] for row in rows]
    last = {r.seq: r for r in conn.execute(select(e.c.seq, e.c.type, e.c.occurred_at).where(e.c.seq.in_(seqs)))}
    for row in rows:
        event = last.get(row.pop("last_seq"))
        row["last_event"], row["last_at"] = (event.type, event.occurred_at) if event else (None, None)
