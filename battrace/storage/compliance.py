"""Storage of the compliance engine: findings (with their subjects), timers and sales per province.

Statements only; the engine (:mod:`battrace.services.compliance`) decides what to write. Every
function takes the caller's connection, so findings are written in the transaction of the events
that raise them. Findings are never deleted: an open finding is resolved by setting its state.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, bindparam, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from battrace.clock import CHINA
from battrace.domain.rules.finding import OPEN, RESOLVED, Finding, Resolution
from battrace.domain.rules.r11 import Sales
from battrace.domain.rules.timers import Timer
from battrace.storage import schema
from battrace.storage.chain import append, row_body
from battrace.storage.store import run

F = schema.findings
S = schema.finding_subjects
T = schema.compliance_timers
SALES = schema.compliance_sales
_CHUNK = 500
_KEYS = 2000  # keys per IN list (SQLite allows 32,766 parameters)


def _dumps(obj: Any) -> str:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"), sort_keys=True)


def _insert(conn: Connection, table: Any) -> Any:
    return (pg_insert if conn.dialect.name == "postgresql" else sqlite_insert)(table)


def _chunks(items: Sequence[Any], size: int = _CHUNK) -> Iterator[Sequence[Any]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


# -- findings -----------------------------------------------------------------------------------


def finding_row(f: Finding) -> dict[str, Any]:
    return {
        "rule": f.rule, "severity": f.severity, "dedupe_key": f.dedupe_key, "state": OPEN,
        "batteries": _dumps(list(f.batteries)), "vin": f.vin, "orgs": _dumps(list(f.orgs)),
        "responsible": f.responsible, "region": f.region, "event_seq": f.event_seq, "event_id": f.event_id,
        "raised_at": f.raised_at, "due_at": f.due_at, "resolved_seq": None, "resolved_at": None,
        "resolved_event_id": None, "message_zh": f.message_zh, "message_en": f.message_en,
        "detail": _dumps(f.detail),
    }


def insert_findings(conn: Connection, findings: Sequence[Finding]) -> int:
    """Insert findings whose dedupe key is new (others are left as they are); return how many."""
    if not findings:
        return 0
    by_key: dict[str, Finding] = {}
    for f in findings:
        by_key.setdefault(f.dedupe_key, f)
    keys = list(by_key)
    existing: set[str] = set()
    for chunk in _chunks(keys):
        existing.update(conn.execute(select(F.c.dedupe_key).where(F.c.dedupe_key.in_(chunk))).scalars())
    new = [by_key[k] for k in keys if k not in existing]
    if not new:
        return 0
    conn.execute(F.insert(), [finding_row(f) for f in new])
    ids: dict[str, int] = {}
    for chunk in _chunks([f.dedupe_key for f in new]):
        ids.update(conn.execute(select(F.c.dedupe_key, F.c.id).where(F.c.dedupe_key.in_(chunk))).tuples().all())
    subjects = [
        {"finding_id": ids[f.dedupe_key], "kind": kind, "value": value}
        for f in new
        for kind, value in sorted(f.subjects())
    ]
    if subjects:
        conn.execute(S.insert(), subjects)
    log_findings(conn, sorted(ids.values()), "raised")
    return len(new)


def resolve_findings(conn: Connection, resolutions: Sequence[Resolution]) -> int:
    """Resolve the open findings with the given dedupe keys (the first resolution of a key wins)."""
    first: dict[str, Resolution] = {}
    for r in resolutions:
        first.setdefault(r.dedupe_key, r)
    if not first:
        return 0
    resolving: list[int] = []
    for chunk in _chunks(list(first)):
        resolving.extend(conn.execute(select(F.c.id).where(F.c.dedupe_key.in_(chunk), F.c.state == OPEN)).scalars())
    stmt = (
        update(F)
        .where(F.c.dedupe_key == bindparam("k"), F.c.state == OPEN)
        .values(state=RESOLVED, resolved_seq=bindparam("s"), resolved_at=bindparam("a"),
                resolved_event_id=bindparam("e"))
    )
    result = conn.execute(stmt, [{"k": r.dedupe_key, "s": r.seq, "a": r.at, "e": r.event_id} for r in first.values()])
    log_findings(conn, sorted(resolving), "resolved")
    return int(result.rowcount or 0)


# -- the findings' hash chain (battrace.storage.chain) ---------------------------------------------


def finding_bodies(conn: Connection, ids: Sequence[int] | None = None) -> Iterator[tuple[int, str]]:
    """``(id, body)`` of the given findings (all, in id order, when ``ids`` is None): the whole row
    with its subjects, as the chain records it and ``verify`` compares it."""
    if ids is None:  # page through the table by id: memory stays flat
        last = 0
        while True:
            page = list(conn.execute(select(F.c.id).where(F.c.id > last).order_by(F.c.id).limit(_CHUNK)).scalars())
            if not page:
                return
            yield from finding_bodies(conn, page)
            last = page[-1]
    for chunk in _chunks(list(ids)):
        stmt = select(F).where(F.c.id.in_(chunk)).order_by(F.c.id)
        sub = select(S).where(S.c.finding_id.in_(chunk)).order_by(S.c.finding_id, S.c.kind, S.c.value)
        subjects: dict[int, list[list[str]]] = {}
        for srow in conn.execute(sub):
            subjects.setdefault(srow.finding_id, []).append([srow.kind, srow.value])
        for row in conn.execute(stmt):
            yield row.id, row_body({**row._mapping, "subjects": subjects.get(row.id, [])})


def log_findings(conn: Connection, ids: Sequence[int], action: str) -> None:
    """Append the findings' rows after ``action`` to their chain, in the caller's transaction."""
    if ids:
        append(conn, schema.finding_log, [(str(i), action, body) for i, body in finding_bodies(conn, ids)])


def open_keys(conn: Connection, rule: str) -> set[str]:
    return set(conn.execute(select(F.c.dedupe_key).where(F.c.rule == rule, F.c.state == OPEN)).scalars())


# -- timers -------------------------------------------------------------------------------------


def timer_row(t: Timer) -> dict[str, Any]:
    return {"key": t.key, "kind": t.kind, "deadline": t.deadline, "raised": False, "since": t.since,
            "event_seq": t.event_seq, "event_id": t.event_id, "battery": t.battery, "vin": t.vin, "org": t.org,
            "responsible": t.responsible, "region": t.region}


def timer_from_row(row: Any) -> Timer:
    return Timer(key=row.key, kind=row.kind, since=row.since, event_seq=row.event_seq, event_id=row.event_id,
                 battery=row.battery, vin=row.vin, org=row.org, responsible=row.responsible, region=row.region,
                 deadline=row.deadline)


def write_timers(conn: Connection, ops: dict[str, Timer | None]) -> list[Timer]:
    """Apply timer changes — None ends a wait, a timer starts one (replacing the row; or, when
    ``keep_existing``, only where there is none) — and return the ended or replaced timers that had
    raised a finding (one ``DELETE … RETURNING`` per chunk: no separate lookup)."""
    gone = [k for k, t in ops.items() if t is None or not t.keep_existing]
    raised: list[Timer] = []
    for chunk in _chunks(gone, _KEYS):
        for row in conn.execute(T.delete().where(T.c.key.in_(chunk)).returning(*T.c)):
            if row.raised:
                raised.append(timer_from_row(row))
    fresh = [timer_row(t) for t in ops.values() if t is not None and not t.keep_existing]
    if fresh:
        conn.execute(T.insert(), fresh)
    keep = [timer_row(t) for t in ops.values() if t is not None and t.keep_existing]
    if keep:
        conn.execute(_insert(conn, T).on_conflict_do_nothing(index_elements=["key"]), keep)
    return raised


def timer_groups(conn: Connection) -> list[tuple[str, str]]:
    """The ``(kind, deadline)`` pairs of timers that have not raised a finding yet."""
    stmt = select(T.c.kind, T.c.deadline).where(~T.c.raised).group_by(T.c.kind, T.c.deadline)
    return [(k, d) for k, d in conn.execute(stmt).tuples()]


def overdue_timers(
    conn: Connection, kind: str, deadline: str, before: datetime, limit: int, *, since: datetime | None = None
) -> list[Timer]:
    """Up to ``limit`` unraised timers of a group that started before ``before`` (and, if given, not
    before ``since``), oldest first."""
    stmt = (
        select(T)
        .where(T.c.kind == kind, T.c.deadline == deadline, ~T.c.raised, T.c.since < before)
        .order_by(T.c.since, T.c.key)
        .limit(limit)
    )
    if since is not None:
        stmt = stmt.where(T.c.since >= since)
    return [timer_from_row(r) for r in conn.execute(stmt)]


def mark_raised(conn: Connection, keys: Sequence[str]) -> None:
    for chunk in _chunks(list(keys), 1000):
        conn.execute(update(T).where(T.c.key.in_(chunk)).values(raised=True))


def count_timers(conn: Connection) -> dict[str, int]:
    stmt = select(T.c.kind, func.count()).group_by(T.c.kind)
    return {k: int(n) for k, n in conn.execute(stmt).tuples()}


# -- sales per province (R11) -------------------------------------------------------------------


def add_sales(conn: Connection, sales: Iterable[Sales]) -> None:
    """Add vehicles sold per (maker, province); the first sale's event is kept."""
    rows = [{"maker": s.maker, "province": s.province, "vehicles": s.vehicles, "first_seq": s.first_seq,
             "first_event_id": s.first_event_id} for s in sales]
    if not rows:
        return
    stmt = _insert(conn, SALES)
    stmt = stmt.on_conflict_do_update(
        index_elements=["maker", "province"], set_={"vehicles": SALES.c.vehicles + stmt.excluded.vehicles}
    )
    conn.execute(stmt, rows)


def load_sales(conn: Connection) -> list[Sales]:
    stmt = select(SALES).order_by(SALES.c.maker, SALES.c.province)
    return [Sales(r.maker, r.province, r.vehicles, r.first_seq, r.first_event_id) for r in conn.execute(stmt)]


# -- queries ------------------------------------------------------------------------------------


def filter_findings(
    stmt: Any,
    *,
    rule: str | None = None,
    org: str | None = None,
    battery: str | Sequence[str] | None = None,
    vin: str | None = None,
    state: str | None = None,
    severity: str | None = None,
    region_prefix: str | None = None,
    finding_id: int | None = None,
) -> Any:
    conds = []
    if finding_id is not None:
        conds.append(F.c.id == finding_id)
    if rule:
        conds.append(F.c.rule == rule)
    if state:
        conds.append(F.c.state == state)
    if severity:
        conds.append(F.c.severity == severity)
    if region_prefix:
        conds.append(F.c.region.like(f"{region_prefix}%"))
    for kind, value in (("org", org), ("battery", battery), ("vin", vin)):
        if value:
            # a few values: equalities (an expanding IN costs more to render than the query takes)
            match = or_(*(S.c.value == v for v in value)) if isinstance(value, (list, tuple)) else S.c.value == value
            sub = select(S.c.finding_id).where(S.c.kind == kind, match)
            conds.append(F.c.id.in_(sub))
    return stmt.where(and_(*conds)) if conds else stmt


def finding_dict(row: Any) -> dict[str, Any]:
    def iso(v: datetime | None) -> str | None:
        return v.astimezone(CHINA).isoformat() if v is not None else None

    return {
        "id": row.id, "rule": row.rule, "severity": row.severity, "state": row.state,
        "batteries": json.loads(row.batteries), "vin": row.vin, "orgs": json.loads(row.orgs),
        "responsible": row.responsible, "region": row.region, "event_seq": row.event_seq,
        "event_id": row.event_id, "raised_at": iso(row.raised_at), "due_at": iso(row.due_at),
        "resolved_seq": row.resolved_seq, "resolved_event_id": row.resolved_event_id,
        "resolved_at": iso(row.resolved_at), "message": {"zh": row.message_zh, "en": row.message_en},
        "detail": json.loads(row.detail), "dedupe_key": row.dedupe_key,
    }


def select_findings(conn: Connection, *, limit: int, offset: int, **filters: Any) -> list[dict[str, Any]]:
    stmt = filter_findings(select(F), **filters).order_by(F.c.id).limit(limit).offset(offset)
    return [finding_dict(r) for r in conn.execute(stmt)]


def count_findings(conn: Connection, **filters: Any) -> int:
    stmt = filter_findings(select(func.count()).select_from(F), **filters)
    return int(conn.execute(stmt).scalar_one())


def stats(conn: Connection) -> dict[str, Any]:
    by_rule: dict[str, dict[str, int]] = {}
    for rule, state, n in conn.execute(select(F.c.rule, F.c.state, func.count()).group_by(F.c.rule, F.c.state)):
        by_rule.setdefault(rule, {OPEN: 0, RESOLVED: 0})[state] = int(n)
    prov = func.substr(F.c.region, 1, 2)
    by_province: dict[str, dict[str, int]] = {}
    for p, state, n in conn.execute(select(prov, F.c.state, func.count()).group_by(prov, F.c.state)):
        key = f"{p}0000" if p else "unknown"
        by_province.setdefault(key, {OPEN: 0, RESOLVED: 0})[state] = int(n)
    by_severity: dict[str, dict[str, int]] = {}
    for sev, state, n in conn.execute(select(F.c.severity, F.c.state, func.count()).group_by(F.c.severity,
                                                                                              F.c.state)):
        by_severity.setdefault(sev, {OPEN: 0, RESOLVED: 0})[state] = int(n)
    by_state = {OPEN: 0, RESOLVED: 0}
    for counts in by_rule.values():
        for state, n in counts.items():
            by_state[state] = by_state.get(state, 0) + n
    return {"total": sum(by_state.values()), "by_state": by_state, "by_rule": by_rule,
            "by_severity": by_severity, "by_province": by_province}


# -- facts the engine looks up ------------------------------------------------------------------


def vehicle_makers(conn: Connection, vins: Sequence[str]) -> dict[str, str]:
    """The maker of each of ``vins`` that is on record."""
    v = schema.vehicles
    out: dict[str, str] = {}
    for chunk in _chunks(list(vins)):
        out.update(conn.execute(select(v.c.vin, v.c.maker).where(v.c.vin.in_(chunk))).tuples().all())
    return out


def techinfo_streams_on_file(conn: Connection, streams: Sequence[str]) -> set[str]:
    """Those of ``streams`` (``techinfo:<maker>:<model>``) with dismantling information on file."""
    found: set[str] = set()
    mark = "%s" if conn.dialect.name == "postgresql" else "?"
    for chunk in _chunks(list(streams)):  # driver SQL: asked for each batch that produces packs
        sql = f"SELECT stream FROM techinfo WHERE stream IN ({', '.join([mark] * len(chunk))})"
        found.update(row[0] for row in run(conn, sql, tuple(chunk)))
    return found


def battery_makers(conn: Connection, codes: Sequence[str]) -> dict[str, str | None]:
    """The maker of each of ``codes`` that is on record (R11 for battery makers), 500 codes a query."""
    b = schema.batteries
    out: dict[str, str | None] = {}
    for i in range(0, len(codes), 500):
        rows = conn.execute(select(b.c.code, b.c.maker).where(b.c.code.in_(list(codes[i : i + 500]))))
        out.update({code: maker for code, maker in rows})
    return out


def findings_raised_between(conn: Connection, lo: int, hi: int) -> list[Any]:
    """Findings raised by the events at positions ``lo``..``hi`` (new-finding notifications)."""
    f = schema.findings
    return list(conn.execute(filter_findings(f.select()).where(f.c.event_seq >= lo, f.c.event_seq <= hi)))
