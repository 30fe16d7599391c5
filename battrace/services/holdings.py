"""The batteries an organisation holds (it is their custodian), for its console."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, func, select

from battrace.errors import ValidationError
from battrace.storage import schema
from battrace.storage.store import Store

MAX_PAGE = 500


@dataclass(frozen=True)
class Holdings:
    rows: list[dict[str, Any]]
    total: int
    by_state: dict[str, int]


def list_holdings(store: Store, org: str, *, state: str | None = None, limit: int = 50, offset: int = 0) -> Holdings:
    """Batteries on their own (not inside a pack) whose custodian is ``org`` (most recent activity
    first), with the last event's time, how many there are, and how many per state."""
    if not 1 <= limit <= MAX_PAGE:
        raise ValidationError(f"limit must be between 1 and {MAX_PAGE}", field="limit")
    if offset < 0:
        raise ValidationError("offset must be >= 0", field="offset")
    b, e = schema.batteries, schema.events
    # a module or cell inside a pack is held as part of the pack (its custodian is the pack's; see
    # battrace.domain.wholelife): only batteries on their own are listed
    mine = and_(b.c.custodian == org, b.c.parent.is_(None))
    page = (
        select(b.c.code, b.c.level, b.c.chemistry, b.c.model, b.c.state, b.c.waste, b.c.remade, b.c.version,
               b.c.last_seq)
        .where(mine)
        .order_by(b.c.last_seq.desc(), b.c.code)
        .limit(limit)
        .offset(offset)
    )
    if state is not None:
        page = page.where(b.c.state == state)
    with store.reader() as conn:
        by_state = {s: int(n) for s, n in conn.execute(select(b.c.state, func.count()).where(mine).group_by(b.c.state))}
        rows = [dict(r._mapping) for r in conn.execute(page)]
        # the last event of each listed battery: looked up for the page only, never joined to every row held
        last = {r.seq: r for r in conn.execute(select(e.c.seq, e.c.type, e.c.occurred_at)
                                               .where(e.c.seq.in_([row["last_seq"] for row in rows])))}
    for row in rows:
        event = last.get(row.pop("last_seq"))
        row["last_event"], row["last_at"] = (event.type, event.occurred_at) if event else (None, None)
    total = by_state.get(state, 0) if state is not None else sum(by_state.values())
    return Holdings(rows, total, dict(sorted(by_state.items(), key=lambda kv: -kv[1])))
