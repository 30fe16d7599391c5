"""Statistics for regulators: batteries by state, chemistry and region; retirements; findings."""

from __future__ import annotations

from collections import Counter
from typing import Any

from sqlalchemy import func, select

from battrace.domain.access import region_prefix
from battrace.services.counts import RETIREMENT_TYPES
from battrace.storage import counts, schema
from battrace.storage.store import Store

__all__ = ["get_stats", "RETIREMENT_TYPES"]


def get_stats(store: Store, *, jurisdiction: str | None = None, level: str = "P") -> dict[str, Any]:
    """Batteries by state, chemistry and province, retirements per month, findings per rule.

    The battery and retirement figures come from aggregates kept up to date as events arrive
    (:mod:`battrace.services.counts`): a few hundred rows whatever the size of the log. Findings
    are counted from their table by index (findings are few against events)."""
    f = schema.findings
    prefix = region_prefix(jurisdiction) if jurisdiction else ""
    with store.reader() as conn:
        rows = counts.read_battery_counts(conn, level=None if level == "all" else level, region_prefix=prefix)
        retirements = counts.read_retirements(conn, region_prefix=prefix)
        fstmt = select(f.c.rule, f.c.state, func.count()).group_by(f.c.rule, f.c.state)
        if prefix:
            fstmt = fstmt.where(f.c.region.like(f"{prefix}%"))
        findings: dict[str, dict[str, int]] = {}
        for rule, state, n in conn.execute(fstmt):
            findings.setdefault(rule, {})[state] = n
    by_state: Counter[str] = Counter()
    by_chem: Counter[str] = Counter()
    by_region: Counter[str] = Counter()
    for state, chemistry, region, n in rows:
        by_state[state] += n
        by_chem[chemistry] += n
        by_region[(region[:2] or "??") + "0000"] += n
    return {
        "level": level,
        "jurisdiction": jurisdiction,
        "batteries_by_state": dict(by_state),
        "batteries_by_chemistry": dict(by_chem),
        "batteries_by_region": dict(sorted(by_region.items())),
        "retirements_per_month": retirements,
        "findings_per_rule": dict(sorted(findings.items())),
    }
