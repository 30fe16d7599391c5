"""Flows of waste batteries between provinces, from ``battery.handed_over`` events.

One aggregation in the database: each hand-over is unnested into its batteries, each battery is
joined to its read model (to keep only batteries that were already waste when they were handed
over) and the sender and the receiver to their registered regions; the result is grouped by the
two provinces (the first two digits of a GB/T 2260 code). A regulator sees the flows that leave or
enter its jurisdiction.

Batteries shipped new (a spare pack from its maker, swap stock) are not waste flows and are left
out unless ``waste_only=False``. A battery is waste from ``waste_since`` on (the read model keeps
it; waste is never undone), so a pack that travelled new and later retired counts only for the
hand-overs after it retired.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, String, and_, cast, func, literal, or_, select
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.types import DateTime

from battrace.domain.access import region_prefix
from battrace.storage import schema
from battrace.storage.store import Store

HAND_OVER = "battery.handed_over"
UNKNOWN_PROVINCE = "??0000"


@dataclass(frozen=True, slots=True)
class Flow:
    """Batteries that went from one province to another (or stayed within one)."""

    source: str  # province code of the sender, e.g. ``440000``
    target: str  # province code of the receiver
    batteries: int
    handovers: int

    def as_dict(self) -> dict[str, Any]:
        return {"source": self.source, "target": self.target, "batteries": self.batteries,
                "handovers": self.handovers}


def _province(region: Any) -> Any:
    return func.coalesce(func.substr(region, 1, 2), "??")


def list_flows(
    store: Store,
    *,
    jurisdiction: str | None = None,
    waste_only: bool = True,
    since: datetime | None = None,
    until: datetime | None = None,
) -> list[Flow]:
    """Province-to-province flows of (waste) batteries, largest first.

    ``jurisdiction`` (a region code) keeps flows whose sender or receiver lies in it; ``since`` and
    ``until`` bound the hand-overs' ``occurred_at``.
    """
    e, b = schema.events, schema.batteries
    sender, receiver = schema.orgs.alias("sender"), schema.orgs.alias("receiver")
    if store.dialect == "postgresql":
        body = cast(e.c.body, JSONB)
        receiver_code: ColumnElement[Any] = body["to"].astext
        item = func.jsonb_array_elements_text(body["batteries"]).table_valued("value").alias("item")
        waste_since = cast(cast(b.c.doc, JSONB)["waste_since"].astext, DateTime(timezone=True))
        waste_then: ColumnElement[bool] = waste_since <= e.c.occurred_at
    else:
        receiver_code = func.json_extract(e.c.body, "$.to")
        item = func.json_each(e.c.body, "$.batteries").table_valued("value").alias("item")
        waste_then = func.julianday(func.json_extract(b.c.doc, "$.waste_since")) <= func.julianday(e.c.occurred_at)
    source, target = _province(sender.c.region), _province(receiver.c.region)
    conditions: list[ColumnElement[bool]] = [e.c.type == HAND_OVER]
    if waste_only:
        conditions += [b.c.waste.is_(True), waste_then]
    if since is not None:
        conditions.append(e.c.occurred_at >= since)
    if until is not None:
        conditions.append(e.c.occurred_at < until)
    prefix = region_prefix(jurisdiction) if jurisdiction else ""
    if prefix:
        conditions.append(or_(sender.c.region.like(f"{prefix}%"), receiver.c.region.like(f"{prefix}%")))
    stmt = (
        select(source.label("source"), target.label("target"), func.count().label("batteries"),
               func.count(func.distinct(e.c.seq)).label("handovers"))
        .select_from(e)
        .join(item, literal(True))
        .join(b, b.c.code == cast(item.c.value, String))
        .outerjoin(sender, sender.c.credit_code == e.c.reporter)
        .outerjoin(receiver, receiver.c.credit_code == receiver_code)
        .where(and_(*conditions))
        .group_by(source, target)
        .order_by(func.count().desc(), source, target)
    )
    with store.reader() as conn:
        rows = conn.execute(stmt).all()
    return [Flow(f"{s}0000", f"{t}0000", int(n), int(h)) for s, t, n, h in rows]


def flow_totals(flows: list[Flow]) -> dict[str, int]:
    """Batteries that left their province, stayed within it, and in all."""
    across = sum(f.batteries for f in flows if f.source != f.target)
    within = sum(f.batteries for f in flows if f.source == f.target)
    return {"across": across, "within": within, "total": across + within}


__all__ = ["HAND_OVER", "UNKNOWN_PROVINCE", "Flow", "flow_totals", "list_flows"]
