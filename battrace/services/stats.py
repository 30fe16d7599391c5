"""Statistics for regulators: batteries by state, chemistry and region; retirements; findings.

For every level (``P``, the default and the dashboard's, ``M``, ``C`` or ``all``) the battery and
retirement figures come from aggregates kept up to date as events arrive
(:mod:`battrace.services.counts`): a few hundred rows whatever the size of the log. A module or cell
in a pack is counted where the pack puts it (its state and holder follow the pack,
:mod:`battrace.domain.wholelife`), as the live count :func:`battrace.storage.reporting.statistics`
does. Findings are counted from their table by index (findings are few against events)."""

from __future__ import annotations

from collections import Counter
from typing import Any

from battrace.domain.access import region_prefix
from battrace.services.counts import RETIREMENT_TYPES
from battrace.storage import counts, reporting
from battrace.storage.store import Store

__all__ = ["get_stats", "RETIREMENT_TYPES"]


def get_stats(store: Store, *, jurisdiction: str | None = None, level: str = "P") -> dict[str, Any]:
    prefix = region_prefix(jurisdiction) if jurisdiction else ""
    with store.reader() as conn:
        rows = counts.read_battery_counts(conn, level=None if level == "all" else level, region_prefix=prefix)
        retirements = counts.read_retirements(conn, region_prefix=prefix)
        findings = reporting.findings_per_rule(conn, prefix=prefix)
    states: Counter[str] = Counter()
    chems: Counter[str] = Counter()
    regions: Counter[str] = Counter()
    for state, chemistry, region, n in rows:
        states[state] += n
        chems[chemistry] += n
        regions[(region[:2] or "??") + "0000"] += n
    by_state, by_chem, by_region = dict(states), dict(chems), dict(regions)
    return {
        "level": level,
        "jurisdiction": jurisdiction,
        "batteries_by_state": by_state,
        "batteries_by_chemistry": by_chem,
        "batteries_by_region": dict(sorted(by_region.items())),
        "retirements_per_month": retirements,
        "findings_per_rule": dict(sorted(findings.items())),
    }
