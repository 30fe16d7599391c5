"""Aggregates for the regulator dashboard that the other query services do not give.

- :func:`findings_matrix`: findings per province and rule (a cross-tab, one ``GROUP BY``), for a
  jurisdiction;
- :func:`reporting_league`: per reporting organisation, the events it reported (``reporter_counts``,
  kept as events arrive) and its late reports (findings of rule R04, whose responsible party is the
  reporter), hence its on-time rate.

Both read the findings that :mod:`battrace.services.compliance` writes; they never evaluate rules.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from battrace.domain.access import region_prefix
from battrace.storage import reporting
from battrace.storage.store import Store

LATE_RULE = "R04"
UNPLACED = "unknown"


def data_version(store: Store) -> tuple[int, int, str]:
    """What the dashboard's figures depend on, cheaply: the log's last seq, the last finding's id and
    the last resolution (findings are also raised and resolved "as of" a date, without an event).
    Equal versions mean equal figures, so a page may reuse what it computed for the same version."""
    with store.reader() as conn:
        return reporting.data_version(conn)


def _prefix(jurisdiction: str | None) -> str:
    return region_prefix(jurisdiction) if jurisdiction else ""


def findings_matrix(store: Store, *, jurisdiction: str | None = None, state: str | None = "open") -> dict[str, Any]:
    """``{"provinces": [...], "rules": [...], "counts": {province: {rule: n}}}`` of findings in
    ``state`` (all states when ``None``); provinces as ``440000``, ``unknown`` without a region."""
    counts: dict[str, dict[str, int]] = {}
    with store.reader() as conn:
        cells = reporting.findings_by_province_rule(conn, state=state, prefix=_prefix(jurisdiction))
    for p, rule, n in cells:
        key = f"{p}0000" if p else UNPLACED
        counts.setdefault(key, {})[rule] = n
    provinces = sorted(counts, key=lambda p: (-sum(counts[p].values()), p))
    rules = sorted({r for row in counts.values() for r in row})
    return {"provinces": provinces, "rules": rules, "counts": counts}


@dataclass(frozen=True, slots=True)
class LeagueRow:
    org: str
    name: str
    type: str
    region: str | None
    events: int
    late: int

    @property
    def on_time(self) -> float:
        return 1.0 - self.late / self.events if self.events else 1.0

    def as_dict(self) -> dict[str, Any]:
        return {"org": self.org, "name": self.name, "type": self.type, "region": self.region,
                "events": self.events, "late": self.late, "on_time": round(self.on_time, 4)}


def reporting_league(
    store: Store, *, jurisdiction: str | None = None, min_events: int = 1, worst_first: bool = True,
    limit: int = 20,
) -> tuple[list[LeagueRow], int]:
    """Reporters ranked by on-time rate (worst first by default; ties: more events first), and how
    many reporters were ranked. Only organisations with at least ``min_events`` events count."""
    with store.reader() as conn:
        orgs, events, late = reporting.reporting_counts(conn, prefix=_prefix(jurisdiction), late_rule=LATE_RULE)
    rows = [LeagueRow(code, orgs[code].name, orgs[code].type, orgs[code].region, n, min(late.get(code, 0), n))
            for code, n in events.items() if n >= min_events]
    if worst_first:
        rows.sort(key=lambda r: (r.on_time, -r.events, r.org))
    else:
        rows.sort(key=lambda r: (-r.on_time, -r.events, r.org))
    return rows[:limit], len(rows)
