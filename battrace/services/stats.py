"""Statistics for regulators: batteries by state, chemistry and region; retirements; findings."""

from __future__ import annotations

from typing import Any

from battrace.domain.access import region_prefix
from battrace.storage import reporting
from battrace.storage.store import Store


def get_stats(store: Store, *, jurisdiction: str | None = None, level: str = "P") -> dict[str, Any]:
    prefix = region_prefix(jurisdiction) if jurisdiction else ""
    with store.reader() as conn:
        counts = reporting.statistics(conn, prefix=prefix, level=level)
    return {
        "level": level,
        "jurisdiction": jurisdiction,
        "batteries_by_state": counts["by_state"],
        "batteries_by_chemistry": counts["by_chemistry"],
        "batteries_by_region": dict(sorted(counts["by_region"].items())),
        "retirements_per_month": counts["retirements"],
        "findings_per_rule": dict(sorted(counts["findings"].items())),
    }
