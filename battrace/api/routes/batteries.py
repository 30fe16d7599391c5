"""Batteries and vehicles: the digital ID at the caller's tier, history, vehicle records."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from battrace.api.deps import PlatformDep, ReaderDep, ReadStoreDep
from battrace.domain.access import PARTICIPANT, PUBLIC, public_view
from battrace.domain.events import parse_moment
from battrace.services.health import health_summary
from battrace.services.passport import get_passport
from battrace.services.telemetry import list_alarms

router = APIRouter(tags=["batteries"])


@router.get("/batteries/{code}", summary="A battery's digital ID at the caller's tier")
def battery(
    code: str, platform: PlatformDep, caller: ReaderDep, reads: ReadStoreDep,
    at: Annotated[str | None, Query(description="rebuild the digital ID as it was at this moment: an RFC 3339 "
                                                "timestamp with offset, or a date (the end of that day, China time)")]
    = None,
    by: Annotated[str, Query(description="'recorded' (default): as the platform had recorded it by then; "
                                         "'occurred': what had happened by then")] = "recorded",
) -> dict[str, Any]:
    moment = parse_moment(at, "at") if at is not None else None
    read = platform.guard.battery(caller, code, "battery.read", at=moment, by=by, reads=reads)
    if read.tier == PUBLIC:
        return public_view(read.passport)
    return {**read.passport, "tier": read.tier, "health_summary": health_summary(read.passport),
            "alarms": list_alarms(reads, battery=code, until=moment, limit=50)}


@router.get("/batteries/{code}/history", summary="A battery's event history with hashes")
def history(code: str, platform: PlatformDep, caller: ReaderDep, reads: ReadStoreDep) -> dict[str, Any]:
    read = platform.guard.battery(caller, code, "battery.history", least=PARTICIPANT, reads=reads)
    return {"code": code, "tier": read.tier, "head": read.passport["head"], "events": read.passport["history"]}


@router.get("/vehicles/{vin}", summary="A vehicle's record")
def vehicle(vin: str, platform: PlatformDep, caller: ReaderDep) -> dict[str, Any]:
    read = platform.guard.vehicle(caller, vin, "vehicle.read")
    return {**read.record, "tier": read.tier}


@router.get("/public/batteries/{code}", summary="The public tier, no credentials")
def public_battery(code: str, reads: ReadStoreDep) -> dict[str, Any]:
    """For the consumer who scans a code: identity, maker, chemistry, capacity, production month,
    lifecycle state, whether it is a retired EV battery, re-made product certification."""
    return public_view(get_passport(reads, code))
