"""Supervision cases: open on findings, move through the state machine, read within reach.

Who may do what (:mod:`battrace.domain.departments`): a regulator sees and acts on cases in its
jurisdiction held by its department (the national level: every case); the company concerned sees
its own cases and answers rectification orders; nobody else sees a case. Every step is appended to
``case_steps`` (hash-chained, checked by ``battrace verify``) and queued for webhooks in the same
transaction. A finding the ledger resolved after the case was opened shows so on the case (its
``resolved_event_id``).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection

from battrace.clock import CHINA
from battrace.domain.access import Caller
from battrace.domain.cases import (
    CLOSED,
    GENESIS,
    OPENED,
    STATES,
    InvalidCaseStep,
    Step,
    is_company_action,
    next_state,
    step_body,
    step_hash,
)
from battrace.domain.departments import Regulator, department_for, department_of, departments, reach_of
from battrace.errors import Forbidden, NotFound, UnknownOrg, ValidationError
from battrace.services.access import require_org
from battrace.services.webhooks import notify
from battrace.storage import compliance as fdb
from battrace.storage import supervision as db
from battrace.storage.store import Store

MAX_FINDINGS = 100
MAX_ID = 2**31 - 1


def reach(store: Store, conn: Connection, caller: Caller) -> Regulator | None:
    """The caller's reach as a regulator (its department read from the registry), else None."""
    org = store.load_orgs(conn).get(caller.org) if caller.org else None
    return reach_of(caller, org.department if org else None)


def _iso(v: datetime | None) -> str | None:
    return v.astimezone(CHINA).isoformat() if v is not None else None


def _append(store: Store, conn: Connection, case: Any, action: str, state: str, actor: str, body: dict[str, Any],
            now: datetime, **case_values: Any) -> Step:
    step = Step(case.id, case.version + 1, now, actor, action, state, body)
    digest = step_hash(case.head, step.content())
    db.append_step(conn, step, digest, case_values)
    data = {"case": case.id, "version": step.version, "action": action, "state": state, "actor": actor,
            "at": now.isoformat(), "org": case.org, "department": case_values.get("department", case.department),
            "body": body}
    notify(store, conn, "case.step", f"case-{case.id}-{step.version}", data, parties=[case.org],
           region=case.region, now=now, department=data["department"])
    return step


def open_case(store: Store, caller: Caller, finding_ids: Sequence[int], *, reason: str | None, now: datetime,
              report: str | None = None, org: str | None = None, region: str | None = None) -> dict[str, Any]:
    """Open a case on findings that all concern one company and lie within the caller's reach (or,
    from a public report, on a company ``org`` in the report's ``region`` without findings)."""
    require_org(caller)
    ids = sorted({int(i) for i in finding_ids})
    if any(not 1 <= i <= MAX_ID for i in ids):
        raise InvalidCaseStep("finding ids are positive integers", field="findings")
    if len(ids) > MAX_FINDINGS or (not ids and not (report and org)):
        raise InvalidCaseStep(f"a case needs 1 to {MAX_FINDINGS} findings", field="findings")
    if not ids:
        return _open_on_report(store, caller, report or "", org or "", region, reason=reason, now=now)
    with store.writer() as conn:
        who = reach(store, conn, caller)
        if who is None:
            raise Forbidden("only regulators open cases")
        found = {f["id"]: f for i in ids for f in fdb.select_findings(conn, limit=1, offset=0, finding_id=i)}
        missing = [i for i in ids if i not in found]
        if missing:
            raise NotFound(f"unknown finding(s) {', '.join(map(str, missing))}", findings=missing)
        dept = department_of(who.department)
        for f in found.values():
            if not who.covers_region(f["region"]):
                raise Forbidden(f"finding {f['id']} (region {f['region']}) is outside your jurisdiction",
                                finding=f["id"])
            if not who.national and f["rule"] not in dept.rules:
                raise Forbidden(f"finding {f['id']} ({f['rule']}) is not enforced by the {dept.id} department",
                                finding=f["id"], department=dept.id)
        companies = {f["responsible"] or (f["orgs"][0] if f["orgs"] else None) for f in found.values()}
        if len(companies) != 1 or None in companies:
            raise InvalidCaseStep("the findings of one case must concern one company", field="findings")
        company = companies.pop()
        assert company is not None
        first = found[ids[0]]
        department = who.department if not who.national else department_for({f["rule"] for f in found.values()})
        rules = sorted({f["rule"] for f in found.values()})
        title = f"{', '.join(rules)} · {first['message']['zh'][:80]}"
        case_id = db.insert_case(conn, {
            "org": company, "region": first["region"], "department": department, "state": OPENED, "title": title,
            "opened_by": caller.org or "admin", "opened_at": now, "updated_at": now, "closed_at": None,
            "due_date": None, "report": report, "version": 0, "head": GENESIS}, ids)
        case = db.get_case(conn, case_id)
        body = {"findings": ids, "reason": (reason or "").strip()[:4000] or None, "report": report}
        _append(store, conn, case, "open", OPENED, caller.org or "admin", body, now)
    return get_case(store, caller, case_id)


def _open_on_report(store: Store, caller: Caller, report: str, org: str, region: str | None, *,
                    reason: str | None, now: datetime) -> dict[str, Any]:
    with store.writer() as conn:
        who = reach(store, conn, caller)
        if who is None:
            raise Forbidden("only regulators open cases")
        if org not in store.load_orgs(conn):
            raise UnknownOrg(f"unknown organisation {org}", org=org)
        if not who.covers_region(region):
            raise Forbidden(f"region {region} is outside your jurisdiction")
        case_id = db.insert_case(conn, {
            "org": org, "region": region, "department": who.department, "state": OPENED,
            "title": f"public report {report}", "opened_by": caller.org or "admin", "opened_at": now,
            "updated_at": now, "closed_at": None, "due_date": None, "report": report, "version": 0,
            "head": GENESIS}, [])
        case = db.get_case(conn, case_id)
        body: dict[str, Any] = {"findings": [], "reason": (reason or "").strip()[:4000] or None, "report": report}
        _append(store, conn, case, "open", OPENED, caller.org or "admin", body, now)
    return get_case(store, caller, case_id)


def act(store: Store, caller: Caller, case_id: int, action: str, raw: dict[str, Any], now: datetime
        ) -> dict[str, Any]:
    """Apply one step (``order``, ``respond``, ``escalate``, ``close``) to a case."""
    require_org(caller)
    if not isinstance(raw, dict):
        raise InvalidCaseStep("the step must be a JSON object")
    with store.writer() as conn:
        case = db.get_case(conn, case_id, for_update=True)
        if case is None or not _visible(store, conn, caller, case):
            raise NotFound(f"unknown case {case_id}", case=case_id)
        if is_company_action(action):
            if caller.org != case.org:
                raise Forbidden(f"only the company concerned answers case {case_id}", case=case_id)
        else:
            who = reach(store, conn, caller)
            if who is None or not who.acts_on(case.region, case.department):
                raise Forbidden(f"case {case_id} is held by the {case.department} department in region "
                                f"{case.region}: outside your reach", case=case_id)
        today = now.astimezone(CHINA).date()
        body = step_body(action, raw, departments=set(departments()), today=today)
        state = next_state(case.state, action)
        values: dict[str, Any] = {}
        if action == "respond":
            _check_curing(conn, case.org, body["curing_events"])
        if action == "order":
            values["due_date"] = body["due_date"]
        if action == "close":
            values["closed_at"] = now
        if action == "escalate" and body["measure"] == "transfer":
            values["department"] = body["department"]
        _append(store, conn, case, action, state, caller.org or "admin", body, now, **values)
        return _load(conn, db.get_case(conn, case_id))  # the actor sees the result (even of a transfer)


def _check_curing(conn: Connection, org: str, event_ids: list[str]) -> None:
    """Curing events must be events the company reported (by its event ids)."""
    if not event_ids:
        return
    known = db.reported_event_ids(conn, org, event_ids)
    unknown = [i for i in event_ids if i not in known]
    if unknown:
        raise ValidationError(f"curing event(s) not reported by {org}: {', '.join(unknown)}", field="curing_events",
                              unknown=unknown)


def _visible(store: Store, conn: Connection, caller: Caller, case: Any) -> bool:
    if caller.org is not None and caller.org == case.org:
        return True
    who = reach(store, conn, caller)
    return who is not None and who.acts_on(case.region, case.department)


def _case_dict(row: Any, finding_ids: list[int]) -> dict[str, Any]:
    return {"id": row.id, "org": row.org, "region": row.region, "department": row.department, "state": row.state,
            "title": row.title, "opened_by": row.opened_by, "opened_at": _iso(row.opened_at),
            "updated_at": _iso(row.updated_at), "closed_at": _iso(row.closed_at), "due_date": row.due_date,
            "report": row.report, "version": row.version, "findings": finding_ids}


def get_case(store: Store, caller: Caller, case_id: int) -> dict[str, Any]:
    """A case with its steps and its findings (each with its current state), when the caller may see it."""
    require_org(caller)
    with store.reader() as conn:
        case = db.get_case(conn, case_id)
        if case is None or not _visible(store, conn, caller, case):
            raise NotFound(f"unknown case {case_id}", case=case_id)
        return _load(conn, case)


def _load(conn: Connection, case: Any) -> dict[str, Any]:
    ids = db.case_finding_ids(conn, [case.id]).get(case.id, [])
    out = _case_dict(case, ids)
    out["steps"] = [{"version": s.version, "at": _iso(s.at), "actor": s.actor, "action": s.action,
                     "state": s.state, "body": json.loads(s.body), "hash": s.hash}
                    for s in db.case_steps(conn, case.id)]
    out["finding_details"] = [f for i in ids for f in fdb.select_findings(conn, limit=1, offset=0, finding_id=i)]
    out["resolved_by_ledger"] = [{"finding": f["id"], "event_id": f["resolved_event_id"], "at": f["resolved_at"]}
                                 for f in out["finding_details"] if f["state"] == "resolved"]
    return out


def list_cases(store: Store, caller: Caller, *, state: str | None = None, limit: int = 100, offset: int = 0
               ) -> list[dict[str, Any]]:
    """The cases the caller may see (newest first)."""
    require_org(caller)
    if state is not None and state not in STATES:
        raise ValidationError(f"state must be one of {', '.join(STATES)}, got {state!r}", field="state")
    if not 1 <= limit <= 1000 or offset < 0:
        raise ValidationError("limit must be 1..1000 and offset >= 0", field="limit")
    with store.reader() as conn:
        who = reach(store, conn, caller)
        if who is not None:
            rows = db.select_cases(conn, region_prefix=who.prefix or None,
                                   department=None if who.national else who.department, state=state, limit=limit,
                                   offset=offset)
        else:
            rows = db.select_cases(conn, org=caller.org, state=state, limit=limit, offset=offset)
        ids = db.case_finding_ids(conn, [r.id for r in rows])
    return [_case_dict(r, ids.get(r.id, [])) for r in rows]


def cases_for_finding(store: Store, caller: Caller, finding_id: int) -> list[int]:
    with store.reader() as conn:
        ids = db.cases_of_finding(conn, finding_id)
        return [i for i in ids if (c := db.get_case(conn, i)) is not None and _visible(store, conn, caller, c)]


def case_stats(store: Store, *, region_prefix: str | None = None) -> dict[str, Any]:
    """Cases by state and by department, and the mean days from opening to closing."""
    with store.reader() as conn:
        counts = db.case_counts(conn, region_prefix=region_prefix)
        spans = db.closed_durations(conn, region_prefix=region_prefix)
    by_state = {s: 0 for s in STATES}
    by_department: dict[str, dict[str, int]] = {}
    for state, dept, n in counts:
        by_state[state] = by_state.get(state, 0) + n
        by_department.setdefault(dept, {s: 0 for s in STATES})[state] = n
    days = [(b - a).total_seconds() / 86400 for a, b in spans]
    return {"total": sum(by_state.values()), "by_state": by_state, "by_department": by_department,
            "closed": by_state[CLOSED], "mean_days_to_close": round(sum(days) / len(days), 2) if days else None}


def today_of(now: datetime) -> date:
    return now.astimezone(CHINA).date()


def check_case_chains(conn: Connection, add: Any) -> int:
    """For ``battrace verify``: every case's steps contiguous from 1, each hash recomputed from the
    previous one and the stored content, the last equal to the case's head. ``add(kind, message,
    **context)`` records a problem; returns the number of steps read."""
    heads = db.case_heads(conn)
    seen: dict[int, tuple[int, str]] = {}
    broken: set[int] = set()
    n = 0
    for row in db.iter_steps(conn):
        n += 1
        if row.case_id in broken:
            continue
        version, head = seen.get(row.case_id, (0, GENESIS))
        if row.version != version + 1:
            add("case_step_missing", f"case {row.case_id}: steps {version + 1}..{row.version - 1} are missing",
                case=row.case_id)
            broken.add(row.case_id)
            continue
        step = Step(row.case_id, row.version, row.at, row.actor, row.action, row.state, json.loads(row.body))
        if step_hash(head, step.content()) != row.hash:
            add("case_step_hash", f"case {row.case_id}: step {row.version} was changed after it was recorded",
                case=row.case_id, version=row.version)
            broken.add(row.case_id)
            continue
        seen[row.case_id] = (row.version, row.hash)
    for case_id, (version, head) in heads.items():
        if case_id in broken:
            continue
        if seen.get(case_id, (0, GENESIS)) != (version, head):
            add("case_head", f"case {case_id}: the case is at step {version} but its recorded steps end at "
                f"{seen.get(case_id, (0, GENESIS))[0]} (a step was removed or the case edited)", case=case_id)
    return n


def recent_events(store: Store, org: str, limit: int = 30) -> list[dict[str, Any]]:
    """The organisation's latest reported events (id, type, time): what it may cite as curing events."""
    with store.reader() as conn:
        return db.recent_events(conn, org, limit)


def caller_reach(store: Store, caller: Caller) -> Regulator | None:
    """:func:`reach` in a read transaction of its own (for pages)."""
    with store.reader() as conn:
        return reach(store, conn, caller)


def org_names(store: Store) -> dict[str, str]:
    """Every organisation's name by credit code (for pages)."""
    with store.reader() as conn:
        return {c: o.name for c, o in store.load_orgs(conn).items()}
