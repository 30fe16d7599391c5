"""Aggregates for the regulator dashboard that the other query services do not give.

- :func:`findings_matrix`: findings per province and rule (a cross-tab, one ``GROUP BY``), for a
  jurisdiction;
- :func:`reporting_league`: per reporting organisation, the events it reported and its late reports
  (findings of rule R04, whose responsible party is the reporter), hence its on-time rate.

Both read the findings that :mod:`battrace.services.compliance` writes; they never evaluate rules.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select

from battrace.domain.access import region_prefix
from battrace.storage import schema
from battrace.storage.store import Store

LATE_RULE = "R04"
UNPLACED = "unknown"


def data_version(store: Store) -> tuple[int, int, str]:
    """What the dashboard's figures depend on, cheaply: the log's last seq, the last finding's id and
    the last resolution (findings are also raised and resolved "as of" a date, without an event).
    Equal versions mean equal figures, so a page may reuse what it computed for the same version."""
    e, f = schema.events, schema.findings
    with store.reader() as conn:
        seq = conn.execute(select(func.coalesce(func.max(e.c.seq), 0))).scalar_one()
        last_id, resolved = conn.execute(select(func.coalesce(func.max(f.c.id), 0), func.max(f.c.resolved_at))).one()
    return int(seq), int(last_id), str(resolved or "")


def _prefix(jurisdiction: str | None) -> str:
    return region_prefix(jurisdiction) if jurisdiction else ""


def findings_matrix(store: Store, *, jurisdiction: str | None = None, state: str | None = "open") -> dict[str, Any]:
    """``{"provinces": [...], "rules": [...], "counts": {province: {rule: n}}}`` of findings in
    ``state`` (all states when ``None``); provinces as ``440000``, ``unknown`` without a region."""
    f = schema.findings
    province = func.substr(f.c.region, 1, 2)
    stmt = select(province, f.c.rule, func.count()).group_by(province, f.c.rule)
    if state is not None:
        stmt = stmt.where(f.c.state == state)
    prefix = _prefix(jurisdiction)
    if prefix:
        stmt = stmt.where(f.c.region.like(f"{prefix}%"))
    counts: dict[str, dict[str, int]] = {}
    with store.reader() as conn:
        for p, rule, n in conn.execute(stmt):
            key = f"{p}0000" if p else UNPLACED
            counts.setdefault(key, {})[rule] = int(n)
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
    e, f, o = schema.events, schema.findings, schema.orgs
    prefix = _prefix(jurisdiction)
    events_stmt = select(e.c.reporter, func.count()).group_by(e.c.reporter)
    late_stmt = (select(f.c.responsible, func.count()).where(f.c.rule == LATE_RULE, f.c.responsible.is_not(None))
                 .group_by(f.c.responsible))
    orgs_stmt = select(o.c.credit_code, o.c.name, o.c.type, o.c.region)
    if prefix:
        orgs_stmt = orgs_stmt.where(o.c.region.like(f"{prefix}%"))
    with store.reader() as conn:
        orgs = {r.credit_code: r for r in conn.execute(orgs_stmt)}
        events = {r: int(n) for r, n in conn.execute(events_stmt) if r in orgs}
        late = {r: int(n) for r, n in conn.execute(late_stmt) if r in orgs}
    rows = [LeagueRow(code, orgs[code].name, orgs[code].type, orgs[code].region, n, min(late.get(code, 0), n))
            for code, n in events.items() if n >= min_events]
    if worst_first:
        rows.sort(key=lambda r: (r.on_time, -r.events, r.org))
    else:
        rows.sort(key=lambda r: (-r.on_time, -r.events, r.org))
    return rows[:limit], len(rows)
