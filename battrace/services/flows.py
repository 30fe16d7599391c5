"""Flows of waste batteries between provinces, from ``battery.handed_over`` events.

Read from ``flow_counts`` (batteries and hand-overs per sender and receiver, in all and already
waste when handed over), kept as events arrive (:mod:`battrace.services.dashboard_counts`): the
sender and the receiver are placed by their registered regions when read, and the pairs grouped by
the two provinces (the first two digits of a GB/T 2260 code). Only a time window (``since``,
``until``) is computed from the log: each hand-over unnested into its batteries, each joined to its
read model. A regulator sees the flows that leave or enter its jurisdiction.

Batteries shipped new (a spare pack from its maker, swap stock) are not waste flows and are left
out unless ``waste_only=False``. A battery is waste from ``waste_since`` on (the read model keeps
it; waste is never undone), so a pack that travelled new and later retired counts only for the
hand-overs after it retired.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from battrace.domain.access import region_prefix
from battrace.storage import reporting
from battrace.storage.reporting import HAND_OVER
from battrace.storage.store import Store

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
    prefix = region_prefix(jurisdiction) if jurisdiction else ""
    with store.reader() as conn:
        rows = reporting.handover_flows(conn, prefix=prefix, waste_only=waste_only, since=since, until=until)
    return [Flow(f"{s}0000", f"{t}0000", int(n), int(h)) for s, t, n, h in rows]


def flow_totals(flows: list[Flow]) -> dict[str, int]:
    """Batteries that left their province, stayed within it, and in all."""
    across = sum(f.batteries for f in flows if f.source != f.target)
    within = sum(f.batteries for f in flows if f.source == f.target)
    return {"across": across, "within": within, "total": across + within}


__all__ = ["HAND_OVER", "UNKNOWN_PROVINCE", "Flow", "flow_totals", "list_flows"]
