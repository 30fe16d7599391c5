"""The regulator statistics' aggregates, kept in step with the read models in the ingest transaction.

:func:`count_batch` is the ledger's one hook: for every battery a batch changed it moves one count
from the battery's bucket before the batch to its bucket after (level, state, chemistry, the
holder's region), and counts retirement events by month and reporter's region. So
``/api/v1/stats`` and the dashboard read a few hundred rows whatever the size of the log.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection

from battrace.domain.deadlines import china_date
from battrace.domain.orgs import Org
from battrace.domain.state import BatteryState
from battrace.services import dashboard_counts
from battrace.storage import counts, dashboard
from battrace.storage.store import Store

if TYPE_CHECKING:
    from battrace.services.ledger import Accepted, BatchWorld

RETIREMENT_TYPES = ("battery.removed", "battery.replaced")


def bucket(state: BatteryState, orgs: Mapping[str, Org]) -> counts.BatteryKey:
    holder = orgs.get(state.custodian or state.maker or "")
    return (state.level, state.state, state.chemistry, (holder.region if holder else None) or "")


def count_batch(conn: Connection, accepted: list[Accepted], world: BatchWorld) -> None:
    """Add the batch's changes to the aggregates (in the caller's transaction)."""
    if not accepted:
        return
    moves: Counter[counts.BatteryKey] = Counter()
    for code, before in world.before_batteries.items():
        after = world.batteries.get(code)
        if before is not None:
            moves[bucket(before[0], world.orgs)] -= 1
        if after is not None:
            moves[bucket(after[0], world.orgs)] += 1
    retired: Counter[counts.RetirementKey] = Counter()
    for a in accepted:
        if a.event.type in RETIREMENT_TYPES:
            reporter = world.orgs.get(a.event.reporter)
            region = (reporter.region if reporter else None) or ""
            retired[(china_date(a.event.occurred_at).strftime("%Y-%m"), region)] += 1
    counts.add_battery_counts(conn, moves)
    counts.add_retirement_counts(conn, retired)
    dashboard_counts.count_batch(conn, accepted, world)  # the dashboard's flows, league and forecast


def rebuild_counts(store: Store, conn: Connection | None = None, *, dashboard_too: bool = True) -> None:
    """Recount from the read models and the log (``battrace rebuild``; after organisations changed
    region, ``dashboard_too=False``: the dashboard's tables are keyed by organisation, not region)."""
    if conn is not None:
        counts.rebuild(conn, RETIREMENT_TYPES)
        if dashboard_too:
            dashboard.rebuild(conn)
        return
    with store.writer() as own:
        rebuild_counts(store, own, dashboard_too=dashboard_too)


__all__: list[Any] = ["count_batch", "rebuild_counts", "bucket", "RETIREMENT_TYPES"]
