"""Storage of supervision: cases and their steps, webhook subscriptions and outbox, public reports,
outlets. Statements only; every function takes the caller's connection (a case step, its outbox
rows and the case's new head are written in one transaction)."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row, func, or_, select, update

from battrace.domain.cases import Step
from battrace.domain.events import canonical_json
from battrace.storage import schema
from battrace.storage.store import run

C, CF, CS = schema.cases, schema.case_findings, schema.case_steps
WS, WO = schema.webhook_subscriptions, schema.webhook_outbox
PR, OUT = schema.public_reports, schema.outlets


def _chunks(items: Sequence[Any], size: int = 500) -> Iterator[Sequence[Any]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


# -- cases --------------------------------------------------------------------------------------


def insert_case(conn: Connection, row: dict[str, Any], finding_ids: Sequence[int]) -> int:
    case_id = int(conn.execute(C.insert().returning(C.c.id), [row]).scalar_one())
    if finding_ids:
        conn.execute(CF.insert(), [{"case_id": case_id, "finding_id": f} for f in finding_ids])
    return case_id


def append_step(conn: Connection, step: Step, digest: str, case_values: dict[str, Any]) -> None:
    conn.execute(CS.insert(), [{"case_id": step.case_id, "version": step.version, "at": step.at,
                                "actor": step.actor, "action": step.action, "state": step.state,
                                "body": canonical_json(step.body), "hash": digest}])
    conn.execute(update(C).where(C.c.id == step.case_id).values(version=step.version, head=digest,
                                                                   state=step.state, updated_at=step.at,
                                                                   **case_values))


def get_case(conn: Connection, case_id: int, *, for_update: bool = False) -> Any:
    stmt = select(C).where(C.c.id == case_id)
    if for_update and conn.dialect.name == "postgresql":
        stmt = stmt.with_for_update()
    return conn.execute(stmt).first()


def case_steps(conn: Connection, case_id: int) -> list[Any]:
    return list(conn.execute(select(CS).where(CS.c.case_id == case_id).order_by(CS.c.version)))


def case_finding_ids(conn: Connection, case_ids: Sequence[int]) -> dict[int, list[int]]:
    out: dict[int, list[int]] = {}
    for chunk in _chunks(list(case_ids)):
        for cid, fid in conn.execute(select(CF.c.case_id, CF.c.finding_id).where(CF.c.case_id.in_(chunk))
                                     .order_by(CF.c.case_id, CF.c.finding_id)):
            out.setdefault(cid, []).append(fid)
    return out


def cases_of_finding(conn: Connection, finding_id: int) -> list[int]:
    return list(conn.execute(select(CF.c.case_id).where(CF.c.finding_id == finding_id)).scalars())


def select_cases(conn: Connection, *, org: str | None = None, region_prefix: str | None = None,
                 department: str | None = None, state: str | None = None, limit: int = 100,
                 offset: int = 0) -> list[Any]:
    stmt = select(C)
    if org:
        stmt = stmt.where(C.c.org == org)
    if region_prefix:
        stmt = stmt.where(C.c.region.like(f"{region_prefix}%"))
    if department:
        stmt = stmt.where(C.c.department == department)
    if state:
        stmt = stmt.where(C.c.state == state)
    return list(conn.execute(stmt.order_by(C.c.id.desc()).limit(limit).offset(offset)))


def case_counts(conn: Connection, *, region_prefix: str | None = None) -> list[tuple[str, str, int]]:
    stmt = select(C.c.state, C.c.department, func.count()).group_by(C.c.state, C.c.department)
    if region_prefix:
        stmt = stmt.where(C.c.region.like(f"{region_prefix}%"))
    return [(s, d, int(n)) for s, d, n in conn.execute(stmt)]


def closed_durations(conn: Connection, *, region_prefix: str | None = None) -> list[tuple[datetime, datetime]]:
    stmt = select(C.c.opened_at, C.c.closed_at).where(C.c.closed_at.is_not(None))
    if region_prefix:
        stmt = stmt.where(C.c.region.like(f"{region_prefix}%"))
    return [(a, b) for a, b in conn.execute(stmt)]


def iter_steps(conn: Connection) -> Iterator[Any]:
    stmt = select(CS).order_by(CS.c.case_id, CS.c.version).execution_options(yield_per=5000)
    yield from conn.execute(stmt)


def case_heads(conn: Connection) -> dict[int, tuple[int, str]]:
    return {r.id: (r.version, r.head) for r in conn.execute(select(C.c.id, C.c.version, C.c.head))}


# -- webhooks -----------------------------------------------------------------------------------


def insert_subscription(conn: Connection, row: dict[str, Any]) -> int:
    return int(conn.execute(WS.insert().returning(WS.c.id), [row]).scalar_one())


def subscriptions(conn: Connection, *, org: str | None = None, active_only: bool = True,
                  admin_only: bool = False) -> list[Any]:
    stmt = select(WS).order_by(WS.c.id)
    if active_only:
        stmt = stmt.where(WS.c.active)
    if org is not None:
        stmt = stmt.where(WS.c.org == org)
    elif admin_only:
        stmt = stmt.where(WS.c.org.is_(None))
    return list(conn.execute(stmt))


def subscribed_event_types(conn: Connection) -> list[str]:
    """The ``events`` (JSON lists) of the active subscriptions: the check a ledger batch makes
    (driver SQL: building and caching a Core select cost ten times this query)."""
    return [row[0] for row in run(conn, "SELECT events FROM webhook_subscriptions WHERE active")]


def deactivate_subscription(conn: Connection, sub_id: int, org: str | None) -> int:
    stmt = update(WS).where(WS.c.id == sub_id, WS.c.active)
    if org is not None:
        stmt = stmt.where(WS.c.org == org)
    return int(conn.execute(stmt.values(active=False)).rowcount or 0)


def enqueue(conn: Connection, rows: Sequence[dict[str, Any]]) -> int:
    """Insert outbox rows whose (subscription, msg_id) is new; return how many."""
    if not rows:
        return 0
    new = []
    for r in rows:
        seen = conn.execute(select(WO.c.id).where(WO.c.subscription_id == r["subscription_id"],
                                                  WO.c.msg_id == r["msg_id"])).first()
        if seen is None:
            new.append(r)
    if new:
        conn.execute(WO.insert(), new)
    return len(new)


def due_deliveries(conn: Connection, now: datetime, limit: int) -> list[Any]:
    stmt = (select(WO, WS.c.url, WS.c.secret).join(WS, WS.c.id == WO.c.subscription_id)
            .where(WO.c.status == "pending", WO.c.next_attempt_at <= now)
            .order_by(WO.c.next_attempt_at, WO.c.id).limit(limit))
    return list(conn.execute(stmt))


def record_attempt(conn: Connection, outbox_id: int, values: dict[str, Any]) -> None:
    conn.execute(update(WO).where(WO.c.id == outbox_id).values(**values))


def deliveries(conn: Connection, *, org: str | None = None, status: str | None = None, limit: int = 100,
               admin_only: bool = False) -> list[Any]:
    stmt = (select(WO, WS.c.url, WS.c.org).join(WS, WS.c.id == WO.c.subscription_id)
            .order_by(WO.c.id.desc()).limit(limit))
    if org is not None:
        stmt = stmt.where(WS.c.org == org)
    elif admin_only:
        stmt = stmt.where(WS.c.org.is_(None))
    if status:
        stmt = stmt.where(WO.c.status == status)
    return list(conn.execute(stmt))


# -- public reports -----------------------------------------------------------------------------


def insert_report(conn: Connection, row: dict[str, Any]) -> None:
    conn.execute(PR.insert(), [row])


def reports_since(conn: Connection, client: str, since: datetime) -> int:
    stmt = select(func.count()).select_from(PR).where(PR.c.client == client, PR.c.created_at >= since)
    return int(conn.execute(stmt).scalar_one())


def get_report(conn: Connection, receipt: str) -> Any:
    return conn.execute(select(PR).where(PR.c.receipt == receipt)).first()


def select_reports(conn: Connection, *, region_prefix: str | None, state: str | None, limit: int) -> list[Any]:
    stmt = select(PR).order_by(PR.c.created_at.desc()).limit(limit)
    if region_prefix:
        stmt = stmt.where(PR.c.region.like(f"{region_prefix}%"))
    if state:
        stmt = stmt.where(PR.c.state == state)
    return list(conn.execute(stmt))


def update_report(conn: Connection, receipt: str, values: dict[str, Any]) -> None:
    conn.execute(update(PR).where(PR.c.receipt == receipt).values(**values))


# -- outlets ------------------------------------------------------------------------------------


def insert_outlets(conn: Connection, rows: Sequence[dict[str, Any]]) -> None:
    if rows:
        conn.execute(OUT.insert(), list(rows))


def select_outlets(conn: Connection, *, region_prefix: str | None = None, operated_for: str | None = None,
                   limit: int = 1000) -> list[Any]:
    stmt = select(OUT).order_by(OUT.c.region, OUT.c.id).limit(limit)
    if region_prefix:
        stmt = stmt.where(OUT.c.region.like(f"{region_prefix}%"))
    if operated_for:
        stmt = stmt.where(OUT.c.operated_for == operated_for)
    return list(conn.execute(stmt))


def outlet_regions(conn: Connection) -> list[tuple[str, str]]:
    """``(operated_for, region)`` of every outlet in the directory (for rule R11)."""
    return [(a, b) for a, b in conn.execute(select(OUT.c.operated_for, OUT.c.region))]


def loads(text: str | None) -> Any:
    return json.loads(text) if text else None


# -- reads for the supervision services (the ledger's tables, read-only) ------------------------


def reported_event_ids(conn: Connection, org: str, event_ids: Sequence[str]) -> set[str]:
    """Those of ``event_ids`` that ``org`` reported."""
    e = schema.events
    return set(conn.execute(select(e.c.event_id).where(e.c.reporter == org, e.c.event_id.in_(list(event_ids))))
               .scalars())


def recent_events(conn: Connection, org: str, limit: int) -> list[dict[str, Any]]:
    """``org``'s latest reported events (``event_id``, ``type``, ``occurred_at``), newest first."""
    e = schema.events
    stmt = select(e.c.event_id, e.c.type, e.c.occurred_at).where(e.c.reporter == org).order_by(e.c.seq.desc())
    return [dict(r._mapping) for r in conn.execute(stmt.limit(limit))]


def pending_timers(conn: Connection, *, org: str | None, region_prefix: str | None, limit: int) -> list[Row[Any]]:
    """Compliance timers not raised yet (the waits behind obligations), the longest-waiting first."""
    t = schema.compliance_timers
    stmt = select(t).where(~t.c.raised).order_by(t.c.since, t.c.key).limit(limit)
    if org:
        stmt = stmt.where(or_(t.c.responsible == org, (t.c.responsible.is_(None)) & (t.c.org == org)))
    if region_prefix:
        stmt = stmt.where(t.c.region.like(f"{region_prefix}%"))
    return list(conn.execute(stmt))


def battery_exists(conn: Connection, code: str) -> bool:
    b = schema.batteries
    return conn.execute(select(b.c.code).where(b.c.code == code)).first() is not None


def waste_pack_codes(conn: Connection, limit: int) -> list[str]:
    """Up to ``limit`` codes of retired packs (waste, dismantled or recycled), in code order (the
    simulator's public reports)."""
    b = schema.batteries
    retired = or_(b.c.waste, b.c.state.in_(("dismantled", "recycled")))
    return list(conn.execute(select(b.c.code).where(b.c.level == "P", retired).order_by(b.c.code).limit(limit))
                .scalars())
