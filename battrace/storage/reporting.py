"""Aggregate reads for the console, the dashboard and the statistics: statements only.

The services (:mod:`battrace.services.holdings`, :mod:`~battrace.services.oversight`,
:mod:`~battrace.services.stats`) decide what to ask and shape the answer; every function here takes
the caller's connection and returns plain rows or counts.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Integer,
    String,
    and_,
    case,
    cast,
    func,
    literal,
    literal_column,
    or_,
    select,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.types import DateTime

from battrace.domain.wholelife import FOLLOWED_STATES
from battrace.storage import dashboard, schema

RETIREMENT_TYPES = ("battery.removed", "battery.replaced")
HAND_OVER = "battery.handed_over"


# -- holdings (the console) -------------------------------------------------------------------


def holdings(
    conn: Connection, org: str, *, state: str | None, limit: int, offset: int,
) -> tuple[dict[str, int], list[dict[str, Any]]]:
    """(count per state of the batteries ``org`` holds, one page of them with their last event's
    ``last_event``/``last_at``), most recent activity first."""
    b, e = schema.batteries, schema.events
    # a module or cell inside a pack is held as part of the pack (its custodian is the pack's; see
    # battrace.domain.wholelife): only batteries on their own are listed
    mine = and_(b.c.custodian == org, b.c.parent.is_(None))
    page = (
        select(b.c.code, b.c.level, b.c.chemistry, b.c.model, b.c.state, b.c.waste, b.c.remade, b.c.version,
               b.c.last_seq)
        .where(mine)
        .order_by(b.c.last_seq.desc(), b.c.code)
        .limit(limit)
        .offset(offset)
    )
    if state is not None:
        page = page.where(b.c.state == state)
    by_state = {s: int(n) for s, n in conn.execute(select(b.c.state, func.count()).where(mine).group_by(b.c.state))}
    rows = [dict(r._mapping) for r in conn.execute(page)]
    # the last event of each listed battery: looked up for the page only, never joined to every row held
    last = {r.seq: r for r in conn.execute(select(e.c.seq, e.c.type, e.c.occurred_at)
                                           .where(e.c.seq.in_([row["last_seq"] for row in rows])))}
    for row in rows:
        event = last.get(row.pop("last_seq"))
        row["last_event"], row["last_at"] = (event.type, event.occurred_at) if event else (None, None)
    return by_state, rows


def sample_codes(conn: Connection, states: tuple[str, ...]) -> list[str]:
    """One pack code in each of ``states`` (when there is one), then one re-made product's (the demo)."""
    b = schema.batteries
    codes = []
    for state in states:
        row = conn.execute(select(b.c.code).where(b.c.level == "P", b.c.state == state).limit(1)).first()
        if row:
            codes.append(row.code)
    row = conn.execute(select(b.c.code).where(b.c.remade.is_(True)).limit(1)).first()
    if row:
        codes.append(row.code)
    return codes


# -- the dashboard ----------------------------------------------------------------------------


def data_version(conn: Connection) -> tuple[int, int, str]:
    """The log's last seq, the last finding's id and the last resolution time."""
    e, f = schema.events, schema.findings
    seq = conn.execute(select(func.coalesce(func.max(e.c.seq), 0))).scalar_one()
    last_id, resolved = conn.execute(select(func.coalesce(func.max(f.c.id), 0), func.max(f.c.resolved_at))).one()
    return int(seq), int(last_id), str(resolved or "")


def findings_by_province_rule(
    conn: Connection, *, state: str | None, prefix: str,
) -> list[tuple[str | None, str, int]]:
    """``(first two digits of the region or None, rule, count)`` of findings in ``state`` within ``prefix``."""
    f = schema.findings
    province = func.substr(f.c.region, 1, 2)
    stmt = select(province, f.c.rule, func.count()).group_by(province, f.c.rule)
    if state is not None:
        stmt = stmt.where(f.c.state == state)
    if prefix:
        stmt = stmt.where(f.c.region.like(f"{prefix}%"))
    return [(p, rule, int(n)) for p, rule, n in conn.execute(stmt)]


def events_per_reporter_from_log(conn: Connection) -> dict[str, int]:
    """Events per reporter counted from the log (a full scan: what ``reporter_counts`` must equal)."""
    e = schema.events
    return {r: int(n) for r, n in conn.execute(select(e.c.reporter, func.count()).group_by(e.c.reporter))}


def reporting_counts(
    conn: Connection, *, prefix: str, late_rule: str,
) -> tuple[dict[str, Any], dict[str, int], dict[str, int]]:
    """(organisations within ``prefix`` by credit code, events per reporter, ``late_rule`` findings
    per responsible party) — the last two for those organisations only."""
    f, o = schema.findings, schema.orgs
    late_stmt = (select(f.c.responsible, func.count()).where(f.c.rule == late_rule, f.c.responsible.is_not(None))
                 .group_by(f.c.responsible))
    orgs_stmt = select(o.c.credit_code, o.c.name, o.c.type, o.c.region)
    if prefix:
        orgs_stmt = orgs_stmt.where(o.c.region.like(f"{prefix}%"))
    orgs = {r.credit_code: r for r in conn.execute(orgs_stmt)}
    # events per reporter from the aggregate kept as events arrive (battrace.storage.dashboard)
    events = {r: n for r, n in dashboard.read_reporters(conn).items() if r in orgs}
    late = {r: int(n) for r, n in conn.execute(late_stmt) if r in orgs}
    return orgs, events, late


# -- statistics -------------------------------------------------------------------------------


def _month(conn: Connection, column: Any) -> Any:
    if conn.dialect.name == "postgresql":
        return func.to_char(func.timezone("Asia/Shanghai", column), "YYYY-MM")
    return func.strftime("%Y-%m", column, "+8 hours")  # UTC text, read in China time (UTC+8, no DST)


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


def statistics(conn: Connection, *, prefix: str, level: str) -> dict[str, Any]:
    """Batteries by state, chemistry and province (where their holder is), retirements per month and
    findings per rule and state, within ``prefix`` (all when empty), for ``level`` (or ``all``)."""
    b, o, e = schema.batteries, schema.orgs, schema.events
    if level == "P":  # packs have no parent: their stored state is their state
        state, holder, source = b.c.state, func.coalesce(b.c.custodian, b.c.maker), b
    else:
        state, holder, source = _effective_columns(b)
    region = select(o.c.region).where(o.c.credit_code == holder).scalar_subquery()
    scope: ColumnElement[bool] = region.like(f"{prefix}%") if prefix else literal(True)
    where = and_(b.c.level == level, scope) if level != "all" else scope
    by_state: dict[str, int] = dict(
        conn.execute(select(state, func.count()).select_from(source).where(where).group_by(state)).all())
    by_chem: dict[str, int] = dict(
        conn.execute(select(b.c.chemistry, func.count()).select_from(source).where(where)
                     .group_by(b.c.chemistry)).all())
    province = func.substr(region, 1, 2)
    by_region = {
        (p or "??") + "0000": n
        for p, n in conn.execute(select(province, func.count()).select_from(source).where(where)
                                 .group_by(province)).all()
    }
    month = _month(conn, e.c.occurred_at)
    retire = select(month, func.count()).where(e.c.type.in_(RETIREMENT_TYPES))
    if prefix:
        retire = retire.where(
            or_(e.c.reporter.in_(select(o.c.credit_code).where(o.c.region.like(f"{prefix}%"))))
        )
    retirements: dict[str, int] = dict(conn.execute(retire.group_by(month).order_by(month)).all())
    findings = findings_per_rule(conn, prefix=prefix)
    return {"by_state": by_state, "by_chemistry": by_chem, "by_region": by_region, "retirements": retirements,
            "findings": findings}


def findings_per_rule(conn: Connection, *, prefix: str) -> dict[str, dict[str, int]]:
    """Findings per rule and state within ``prefix`` (all when empty)."""
    f = schema.findings
    fstmt = select(f.c.rule, f.c.state, func.count()).group_by(f.c.rule, f.c.state)
    if prefix:
        fstmt = fstmt.where(f.c.region.like(f"{prefix}%"))
    findings: dict[str, dict[str, int]] = {}
    for rule, state, n in conn.execute(fstmt):
        findings.setdefault(rule, {})[state] = n
    return findings


# -- flows between provinces ------------------------------------------------------------------


def _province(region: Any) -> Any:
    return func.coalesce(func.substr(region, 1, 2), "??")


def handover_flows(
    conn: Connection, *, prefix: str, waste_only: bool, since: datetime | None, until: datetime | None,
) -> list[tuple[str, str, int, int]]:
    """``(sender province, receiver province, batteries, hand-overs)`` of ``battery.handed_over``
    events, largest first (see :mod:`battrace.services.flows`): from ``flow_counts`` (kept as events
    arrive) unless a time window is asked for, which only the log can answer."""
    if since is not None or until is not None:
        return handover_flows_from_log(conn, prefix=prefix, waste_only=waste_only, since=since, until=until)
    regions = dashboard.org_regions(conn)
    flows: dict[tuple[str, str], list[int]] = {}
    for sender, receiver, batteries, handovers in dashboard.read_flows(conn, waste_only=waste_only):
        s_region, r_region = regions.get(sender), regions.get(receiver)
        if prefix and not ((s_region or "").startswith(prefix) or (r_region or "").startswith(prefix)):
            continue
        key = ("??" if s_region is None else s_region[:2], "??" if r_region is None else r_region[:2])
        row = flows.setdefault(key, [0, 0])
        row[0] += batteries
        row[1] += handovers  # one hand-over has one sender and one receiver: the sums are exact
    ordered = sorted(flows.items(), key=lambda kv: (-kv[1][0], kv[0][0], kv[0][1]))
    return [(s, t, n, h) for (s, t), (n, h) in ordered]


def handover_flows_from_log(
    conn: Connection, *, prefix: str, waste_only: bool, since: datetime | None, until: datetime | None,
) -> list[tuple[str, str, int, int]]:
    """:func:`handover_flows` computed from the log (a scan of every hand-over: a time window)."""
    e, b = schema.events, schema.batteries
    sender, receiver = schema.orgs.alias("sender"), schema.orgs.alias("receiver")
    if conn.dialect.name == "postgresql":
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
    return [(str(s), str(t), int(n), int(h)) for s, t, n, h in conn.execute(stmt).all()]


# -- installations (the retirement forecast) --------------------------------------------------


def _json_fields(dialect: str) -> tuple[ColumnElement[Any], ColumnElement[Any], ColumnElement[Any],
                                        ColumnElement[Any], ColumnElement[Any]]:
    """(region, occurred_at text, number of packs, vin) read from the event body, and the region of the
    vehicle's read model (where it was sold and registered), per dialect."""
    body, vdoc = schema.events.c.body, schema.vehicles.c.doc
    if dialect == "postgresql":
        doc = body.cast(JSONB)
        return (doc["region"].astext, doc["occurred_at"].astext, func.jsonb_array_length(doc["batteries"]),
                doc["vin"].astext, vdoc.cast(JSONB)["region"].astext)
    return (
        func.json_extract(body, "$.region"),
        func.json_extract(body, "$.occurred_at"),
        func.json_array_length(body, "$.batteries"),
        func.json_extract(body, "$.vin"),
        func.json_extract(vdoc, "$.region"),
    )


def installations(conn: Connection, *, prefix: str = "") -> list[tuple[str | None, str, int | None]]:
    """``(province's first two digits, year, packs)`` installed by ``vehicle.certified`` events, in the
    province where the vehicle is registered and used (the region of its sale, ``vehicle.sold``), else
    the certification's region, else the vehicle maker's, within ``prefix`` (see
    :mod:`battrace.services.forecast`): from ``installation_counts``, kept as events arrive."""
    regions = dashboard.org_regions(conn)
    out: dict[tuple[str | None, str], int] = {}
    for region, org, year, packs in dashboard.read_installations(conn):
        placed = region or regions.get(org)
        if prefix and not (placed or "").startswith(prefix):
            continue
        key = (placed[:2] if placed else None, year)
        out[key] = out.get(key, 0) + packs
    return [(p, y, n) for (p, y), n in out.items()]


def installations_from_log(conn: Connection, *, prefix: str = "") -> list[tuple[str | None, str, int | None]]:
    """:func:`installations` computed from the log (a scan of every certification)."""
    e, o, v = schema.events, schema.orgs, schema.vehicles
    event_region, occurred, packs, vin, vehicle_region = _json_fields(conn.dialect.name)
    region = func.coalesce(vehicle_region, event_region, o.c.region)
    # Literal (not bound) arguments, so that GROUP BY repeats the SELECT expressions exactly on PostgreSQL.
    one, two, four = (literal_column(n, Integer()) for n in ("1", "2", "4"))
    province = func.substr(region, one, two).label("province")
    year = func.substr(occurred, one, four).label("year")
    stmt = (
        select(province, year, func.sum(packs).label("packs"))
        .select_from(e.outerjoin(o, o.c.credit_code == e.c.reporter).outerjoin(v, v.c.vin == vin))
        .where(e.c.type == "vehicle.certified")
        .group_by(func.substr(region, one, two), func.substr(occurred, one, four))
    )
    if prefix:
        stmt = stmt.where(region.like(f"{prefix}%"))
    return [(r.province, r.year, r.packs) for r in conn.execute(stmt)]
