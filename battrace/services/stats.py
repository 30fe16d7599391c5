"""Statistics for regulators: batteries by state, chemistry and region; retirements; findings."""

from __future__ import annotations

from collections import Counter
from typing import Any

from sqlalchemy import ColumnElement, and_, func, literal, or_, select

from battrace.domain.access import region_prefix
from battrace.services.counts import RETIREMENT_TYPES
from battrace.storage import counts, schema
from battrace.storage.store import Store

__all__ = ["get_stats", "RETIREMENT_TYPES"]


def _month(store: Store, column: Any) -> Any:
    if store.dialect == "postgresql":
        return func.to_char(func.timezone("Asia/Shanghai", column), "YYYY-MM")
    return func.substr(column, 1, 7)  # UTC text; a month boundary may differ by 8 hours


def get_stats(store: Store, *, jurisdiction: str | None = None, level: str = "P") -> dict[str, Any]:
    """Batteries by state, chemistry and province, retirements per month, findings per rule.

    For packs (``level="P"``, the default and the dashboard's) the battery and retirement figures
    come from aggregates kept up to date as events arrive (:mod:`battrace.services.counts`): a few
    hundred rows whatever the size of the log. Findings are counted from their table by index
    (findings are few against events). Other levels are counted live from the read models."""
    if level != "P":
        return _live_stats(store, jurisdiction=jurisdiction, level=level)
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


def _live_stats(store: Store, *, jurisdiction: str | None, level: str) -> dict[str, Any]:
    """Counted from the read models at request time (levels other than packs)."""
    b, o, e, f = schema.batteries, schema.orgs, schema.events, schema.findings
    holder = func.coalesce(b.c.custodian, b.c.maker)
    region = select(o.c.region).where(o.c.credit_code == holder).scalar_subquery()
    prefix = region_prefix(jurisdiction) if jurisdiction else ""
    scope: ColumnElement[bool] = region.like(f"{prefix}%") if prefix else literal(True)
    where = and_(b.c.level == level, scope) if level != "all" else scope
    with store.reader() as conn:
        by_state: dict[str, int] = dict(
            conn.execute(select(b.c.state, func.count()).where(where).group_by(b.c.state)).all())
        by_chem: dict[str, int] = dict(
            conn.execute(select(b.c.chemistry, func.count()).where(where).group_by(b.c.chemistry)).all())
        province = func.substr(region, 1, 2)
        by_region = {
            (p or "??") + "0000": n
            for p, n in conn.execute(select(province, func.count()).where(where).group_by(province)).all()
        }
        month = _month(store, e.c.occurred_at)
        retire = select(month, func.count()).where(e.c.type.in_(RETIREMENT_TYPES))
        if prefix:
            retire = retire.where(
                or_(e.c.reporter.in_(select(o.c.credit_code).where(o.c.region.like(f"{prefix}%"))))
            )
        retirements: dict[str, int] = dict(conn.execute(retire.group_by(month).order_by(month)).all())
        fstmt = select(f.c.rule, f.c.state, func.count()).group_by(f.c.rule, f.c.state)
        if prefix:
            fstmt = fstmt.where(f.c.region.like(f"{prefix}%"))
        findings: dict[str, dict[str, int]] = {}
        for rule, state, n in conn.execute(fstmt):
            findings.setdefault(rule, {})[state] = n
    return {
        "level": level,
        "jurisdiction": jurisdiction,
        "batteries_by_state": by_state,
        "batteries_by_chemistry": by_chem,
        "batteries_by_region": dict(sorted(by_region.items())),
        "retirements_per_month": retirements,
        "findings_per_rule": dict(sorted(findings.items())),
    }
