"""Statistics for regulators: batteries by state, chemistry and region; retirements; findings."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, and_, case, func, literal, or_, select

from battrace.domain.access import region_prefix
from battrace.domain.wholelife import FOLLOWED_STATES
from battrace.storage import schema
from battrace.storage.store import Store

RETIREMENT_TYPES = ("battery.removed", "battery.replaced")


def _month(store: Store, column: Any) -> Any:
    if store.dialect == "postgresql":
        return func.to_char(func.timezone("Asia/Shanghai", column), "YYYY-MM")
    return func.substr(column, 1, 7)  # UTC text; a month boundary may differ by 8 hours


def _effective_columns(b: Any) -> tuple[Any, Any, Any]:
    """A component's state and holder follow its outermost ancestor (battrace.domain.wholelife), in SQL:
    ``(state, holder, from-clause)`` over the batteries joined to their parent and grandparent."""
    p1, p2 = b.alias("parent_b"), b.alias("grand_b")
    source = b.outerjoin(p1, p1.c.code == b.c.parent).outerjoin(p2, p2.c.code == p1.c.parent)
    root_state = func.coalesce(p2.c.state, p1.c.state)
    state = case(
        (b.c.parent.is_(None), b.c.state),
        (root_state.in_(FOLLOWED_STATES), root_state),
        (root_state == "dismantled", literal("waste")),
        else_=b.c.state,
    )
    holder = case(
        (b.c.parent.is_(None), func.coalesce(b.c.custodian, b.c.maker)),
        else_=func.coalesce(p2.c.custodian, p1.c.custodian, p2.c.maker, p1.c.maker, b.c.maker),
    )
    return state.label("state"), holder, source


def get_stats(store: Store, *, jurisdiction: str | None = None, level: str = "P") -> dict[str, Any]:
    b, o, e, f = schema.batteries, schema.orgs, schema.events, schema.findings
    prefix = region_prefix(jurisdiction) if jurisdiction else ""
    if level == "P":  # packs have no parent: their stored state is their state
        state, holder, source = b.c.state, func.coalesce(b.c.custodian, b.c.maker), b
    else:
        state, holder, source = _effective_columns(b)
    region = select(o.c.region).where(o.c.credit_code == holder).scalar_subquery()
    scope: ColumnElement[bool] = region.like(f"{prefix}%") if prefix else literal(True)
    where = and_(b.c.level == level, scope) if level != "all" else scope
    with store.reader() as conn:
        by_state: dict[str, int] = dict(
            conn.execute(select(state, func.count()).select_from(source).where(where).group_by(state)).all()
        )
        by_chem: dict[str, int] = dict(
            conn.execute(select(b.c.chemistry, func.count()).select_from(source).where(where)
                         .group_by(b.c.chemistry)).all()
        )
        province = func.substr(region, 1, 2)
        by_region = {
            (p or "??") + "0000": n
            for p, n in conn.execute(select(province, func.count()).select_from(source).where(where)
                                     .group_by(province)).all()
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
