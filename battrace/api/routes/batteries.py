"""Batteries and vehicles: the digital ID at the caller's tier, history, vehicle records."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query

from battrace.api.deps import CallerDep, PlatformDep, ReadStoreDep
from battrace.domain.access import PUBLIC, public_view
from battrace.errors import Forbidden, Unauthorized
from battrace.services.access import audit, battery_tier, vehicle_tier
from battrace.services.health import health_summary
from battrace.services.passport import get_passport, get_vehicle
from battrace.services.telemetry import list_alarms

router = APIRouter(tags=["batteries"])


def _refuse(platform: PlatformDep, caller: CallerDep, action: str, resource: str) -> None:
    if caller.anonymous:
        raise Unauthorized(f"{resource}: credentials required for this data")
    audit(platform.store, caller, action, resource, False, "no relation to this item", platform.now())
    raise Forbidden(f"{resource}: your organisation has no relation to it; only its public tier is open",
                    resource=resource)


@router.get("/batteries/{code}", summary="A battery's digital ID at the caller's tier")
def battery(
    code: str, platform: PlatformDep, caller: CallerDep, reads: ReadStoreDep,
    at: Annotated[datetime | None, Query(description="rebuild the digital ID as recorded at this time")] = None,
) -> dict[str, Any]:
    passport = get_passport(reads, code, at=at)
    tier = battery_tier(reads, caller, passport)
    if tier == PUBLIC:
        return public_view(passport)
    audit(platform.store, caller, "battery.read", code, True, tier, platform.now())
    return {**passport, "tier": tier, "health_summary": health_summary(passport),
            "alarms": list_alarms(reads, battery=code, until=at, limit=50)}


@router.get("/batteries/{code}/history", summary="A battery's event history with hashes")
def history(code: str, platform: PlatformDep, caller: CallerDep, reads: ReadStoreDep) -> dict[str, Any]:
    passport = get_passport(reads, code)
    tier = battery_tier(reads, caller, passport)
    if tier == PUBLIC:
        _refuse(platform, caller, "battery.history", code)
    audit(platform.store, caller, "battery.history", code, True, tier, platform.now())
    return {"code": code, "tier": tier, "head": passport["head"], "events": passport["history"]}


@router.get("/vehicles/{vin}", summary="A vehicle's record")
def vehicle(vin: str, platform: PlatformDep, caller: CallerDep) -> dict[str, Any]:
    record = get_vehicle(platform.store, vin)
    tier = vehicle_tier(platform.store, caller, record)
    if tier == PUBLIC:
        _refuse(platform, caller, "vehicle.read", vin)
    audit(platform.store, caller, "vehicle.read", vin, True, tier, platform.now())
    return {**record, "tier": tier}


@router.get("/public/batteries/{code}", summary="The public tier, no credentials")
def public_battery(code: str, reads: ReadStoreDep) -> dict[str, Any]:
    """For the consumer who scans a code: identity, maker, chemistry, capacity, production month,
    lifecycle state, whether it is a retired EV battery, re-made product certification."""
    return public_view(get_passport(reads, code))
