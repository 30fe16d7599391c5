"""The digital ID (passport) of a battery, its history and a vehicle's record.

The passport is read from the read models; ``at=`` rebuilds any past version by folding the
battery's own stream up to that time (:func:`battrace.domain.lifecycle.evolve_battery`).
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from battrace.clock import CHINA
from battrace.domain.codes import parse_code
from battrace.domain.events import AS_OF_BASES, Event
from battrace.domain.lifecycle import evolve_battery, evolve_vehicle
from battrace.domain.orgs import Org
from battrace.domain.state import BatteryState, VehicleState
from battrace.domain.upcasting import stored_event
from battrace.domain.wholelife import Inherited, chain, effective, is_retired
from battrace.errors import UnknownBattery, UnknownVehicle, ValidationError
from battrace.services.compliance import battery_findings
from battrace.storage import lineage, passport_reads
from battrace.storage.store import Store


def _org_ref(orgs: dict[str, Org], credit: str | None) -> dict[str, Any] | None:
    if credit is None:
        return None
    org = orgs.get(credit)
    return {"credit_code": credit, "name": org.name if org else None, "type": org.type if org else None}


def history_entry(row: dict[str, Any]) -> dict[str, Any]:
    """A stored event as shown to readers: the reported content plus platform fields."""
    body = row["body"]  # text, or already parsed by a one-statement read (battrace.storage.passport_reads)
    event = body if isinstance(body, dict) else json.loads(body)
    recorded: datetime = row["recorded_at"]
    event.update(
        seq=row["seq"],
        recorded_at=recorded.astimezone(CHINA).isoformat(),
        imported=bool(row["imported"]),
        hash=row["hash"],
    )
    if "link" in row:
        event["link"] = row["link"]
    return event


def fold(code: str, rows: list[dict[str, Any]]) -> tuple[BatteryState | None, list[str]]:
    """Replay one battery's stream: its state and its components after the last row."""
    state: BatteryState | None = None
    children: list[str] = []
    for row in rows:
        event = _stored(row)
        state = evolve_battery(state, event, code)
        children = _children_after(children, event, code)
    return state, children


def _stored(row: dict[str, Any]) -> Event:
    """A stored event as the fold reads it: upcast from its schema version, trusted (not re-validated)."""
    return stored_event(row["type"], row["schema_version"], row["body"])


def _children_after(children: list[str], event: Event, code: str) -> list[str]:
    f = event.fields
    if event.type in ("battery.produced", "battery.assembled") and f.get("battery") == code:
        return children + [c for c in f.get("components") or () if c not in children]
    if event.type == "battery.repaired" and f.get("battery") == code:
        out = list(children)
        for item in f.get("components_replaced") or ():
            out = [c for c in out if c != item["removed"]] + [item["installed"]]
        return out
    if event.type == "battery.dismantled" and f.get("battery") == code:
        freed = set(f.get("components") or ())
        return [c for c in children if c not in freed]
    return children


def get_history(store: Store, code: str, *, until: datetime | None = None) -> list[dict[str, Any]]:
    parse_code(code)
    if until is None and store.dialect in passport_reads.DIALECTS:  # one statement, no transaction
        with store.reader(single_statement=True) as conn:
            rows = passport_reads.history_rows(conn, code)
    else:
        with store.reader() as conn:
            rows = store.stream_events(conn, code, until=until)
    if not rows and until is None:
        raise UnknownBattery(f"unknown battery {code}", battery=code)
    return [history_entry(r) for r in rows]


def _fold_vehicle(rows: list[dict[str, Any]]) -> VehicleState | None:
    state: VehicleState | None = None
    for row in rows:
        state = evolve_vehicle(state, _stored(row))
    return state


def _open_at(findings: list[dict[str, Any]], at: datetime) -> list[dict[str, Any]]:
    """The findings open at ``at``: raised by then and not yet resolved."""
    out = []
    for f in findings:
        raised, resolved = f.get("raised_at"), f.get("resolved_at")
        if raised is None or datetime.fromisoformat(raised) > at:
            continue
        if resolved is not None and datetime.fromisoformat(resolved) <= at:
            continue
        out.append({**f, "state": "open", "resolved_at": None, "resolved_seq": None} if resolved else f)
    return out


def get_passport(
    store: Store, code: str, *, at: datetime | None = None, by: str = "recorded"
) -> dict[str, Any]:
    """The digital ID of ``code`` now, or as it was at ``at`` (by when events were recorded, the
    default, or by when they happened: ``by="occurred"``).

    A module or cell shows the fate of the pack it is assembled into (:mod:`battrace.domain.wholelife`):
    its state, custodian and retirement are derived from its ancestors when it is read.
    """
    parsed = parse_code(code)
    if by not in AS_OF_BASES:
        raise ValidationError(f"by must be one of {', '.join(AS_OF_BASES)}, got {by!r}", field="by")
    if at is None and store.dialect in passport_reads.DIALECTS:  # one statement, no transaction
        with store.reader(single_statement=True) as conn:
            found = passport_reads.current_passport(conn, code)
            if found is None:
                raise UnknownBattery(f"unknown battery {code}", battery=code)
            return _current(store, conn, code, parsed.as_dict(), found)
    with store.reader() as conn:
        orgs = store.load_orgs(conn)
        rows = store.stream_events(conn, code, until=at, by=by)
        line: list[BatteryState] = []
        if at is None:
            entry, line = store.get_battery_line(conn, code)
            own = entry[0] if entry else None
            children = store.children_of(conn, code)
        else:
            own, children = fold(code, rows)
        if own is None:
            if at is not None and store.get_batteries(conn, [code]):
                raise UnknownBattery(
                    f"no event of battery {code} had been {by} by {at.isoformat()}", battery=code
                )
            raise UnknownBattery(f"unknown battery {code}", battery=code)
        state, inherited = effective(own, line if at is None else _ancestors(store, conn, own, at, by))
        sources, products = _lineage(store, conn, code, at, rows)
        vehicle = _vehicle_summary(store, conn, state.vin, at, by) if state.vin else None
    # a component's findings include its pack's (they concern it too)
    findings = battery_findings(store, code, also=(inherited.root,) if inherited is not None else ())
    if at is not None:
        findings = _open_at(findings, at)
    return _document(code, parsed.as_dict(), orgs, own, state, inherited, vehicle, children, sources, products,
                     findings, rows, at, by)


def _current(store: Store, conn: Connection, code: str, parsed: dict[str, Any],
             found: passport_reads.PassportRows) -> dict[str, Any]:
    """The current passport from the parts one statement returned (PostgreSQL); the same document as
    the separate reads give (tests/services/test_passport_reads.py compares them)."""
    orgs = store.load_orgs(conn, found.orgs_stamp)
    own = BatteryState.from_dict(json.loads(found.doc))
    line = [BatteryState.from_dict(json.loads(doc)) for doc in found.ancestor_docs]
    state, inherited = effective(own, line)
    vehicle = None
    if state.vin and state.vin == found.vin:  # the vin the statement looked the vehicle up by
        vehicle = _vehicle_dict(VehicleState.from_dict(json.loads(found.vehicle_doc)) if found.vehicle_doc else None)
    elif state.vin:  # the documents disagree with the columns the statement followed: read it as before
        vehicle = _vehicle_summary(store, conn, state.vin)
    if inherited is None:
        findings = [f for mine, f in found.findings if mine]
    elif inherited.root == found.root:
        findings = [f for _, f in found.findings]
    else:  # the documents disagree with the columns the statement followed: read them as before
        findings = battery_findings(store, code, also=(inherited.root,))
    return _document(code, parsed, orgs, own, state, inherited, vehicle, found.children, found.sources,
                     found.products, findings, found.events, None, "recorded")


def _document(code: str, parsed: dict[str, Any], orgs: dict[str, Org], own: BatteryState, state: BatteryState,
              inherited: Inherited | None, vehicle: dict[str, Any] | None, children: list[str],
              sources: list[str], products: list[str], findings: list[dict[str, Any]],
              rows: list[dict[str, Any]], at: datetime | None, by: str) -> dict[str, Any]:
    history = [history_entry(r) for r in rows]
    return {
        "code": code,
        "parsed": parsed,
        "level": state.level,
        "chemistry": state.chemistry,
        "remade": state.remade,
        "maker": _org_ref(orgs, state.maker),
        "model": state.model,
        "rated_capacity_ah": state.rated_capacity_ah,
        "nominal_voltage_v": state.nominal_voltage_v,
        "rated_energy_kwh": state.rated_energy_kwh,
        "mass_kg": state.mass_kg,
        "produced_at": state.produced_at,
        "state": state.state,
        "own_state": own.state,
        "waste": state.waste,
        "waste_since": state.waste_since,
        "retired": is_retired(state),
        "custodian": _org_ref(orgs, state.custodian),
        "pending_to": _org_ref(orgs, state.pending_to),
        "vin": state.vin,
        "last_vin": state.last_vin,
        "vehicle": vehicle,
        "parent": state.parent,
        "pack": inherited.as_dict() if inherited else None,
        "children": children,
        "sources": sources,
        "products": products,
        "health": state.health,
        "application": state.application,
        "certification": state.certification,
        "findings": findings,
        "as_of": at.isoformat() if at else None,
        "as_of_by": by if at else None,
        "version": len(rows),
        "head": rows[-1]["link"] if rows else None,
        "history": history,
    }


def _ancestors(
    store: Store, conn: Connection, own: BatteryState, at: datetime, by: str
) -> list[BatteryState]:
    """The parent chain of ``own`` (parent first) as it was at ``at``, each folded from its stream."""
    if own.parent is None:
        return []

    def get(code: str) -> BatteryState | None:
        if code == own.code:
            return own
        return fold(code, store.stream_events(conn, code, until=at, by=by))[0]

    return chain(own.code, get)


def _lineage(
    store: Store, conn: Connection, code: str, at: datetime | None, rows: list[dict[str, Any]]
) -> tuple[list[str], list[str]]:
    sources, products = store.lineage_of(conn, code)
    if at is None:
        return sources, products
    return sources, lineage.products_recorded_in(conn, code, (r["seq"] for r in rows))


def _vehicle_summary(
    store: Store, conn: Connection, vin: str, at: datetime | None = None, by: str = "recorded"
) -> dict[str, Any] | None:
    if at is None:
        entry = store.get_vehicles(conn, [vin]).get(vin)
        v = entry[0] if entry else None
    else:  # the vehicle as it was then
        v = _fold_vehicle(store.stream_events(conn, f"vin:{vin}", until=at, by=by))
    return _vehicle_dict(v)


def _vehicle_dict(v: VehicleState | None) -> dict[str, Any] | None:
    if v is None:
        return None
    return {"vin": v.vin, "vehicle_model": v.vehicle_model, "maker": v.maker, "state": v.state,
            "swap_model": v.swap_model}


def get_vehicle(store: Store, vin: str) -> dict[str, Any]:
    from battrace.domain.vin import validate_vin

    validate_vin(vin)
    with store.reader() as conn:
        entry = store.get_vehicles(conn, [vin]).get(vin)
        if entry is None:
            raise UnknownVehicle(f"unknown vehicle {vin}", vin=vin)
        orgs = store.load_orgs(conn)
        rows = store.stream_events(conn, f"vin:{vin}")
    v = entry[0]
    out = v.as_dict()
    out["maker"] = _org_ref(orgs, v.maker)
    out["scrapped_by"] = _org_ref(orgs, v.scrapped_by)
    out["version"] = entry[1]
    out["head"] = entry[2]
    out["history"] = [history_entry(r) for r in rows]
    return out
