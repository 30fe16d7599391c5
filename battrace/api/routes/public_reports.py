"""Public reports of suspicious batteries (anyone; triage by regulators) and the outlets directory."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Query, Request

from battrace.api.deps import CallerDep, PlatformDep
from battrace.services import outlets as outlet_svc
from battrace.services import reports

router = APIRouter(tags=["public reports and outlets"])


@router.post("/reports", summary="Report a suspicious battery (anyone; rate-limited); answers a receipt")
def submit(
    request: Request, platform: PlatformDep,
    body: Annotated[dict[str, Any], Body(examples=[{"code": "07HPE0100000000000000001",
                                                    "what": "sold at a roadside stall", "region": "440305"}])],
) -> dict[str, Any]:
    client = reports.client_id(request.client.host if request.client else None)
    return reports.submit(platform.store, body, client=client, now=platform.now())


@router.get("/reports/{receipt}", summary="The status of a report, by its receipt (anyone)")
def receipt_status(receipt: str, platform: PlatformDep) -> dict[str, Any]:
    return reports.status(platform.store, receipt)


@router.get("/reports", summary="Reports in the caller's jurisdiction (regulators)")
def list_reports(
    platform: PlatformDep, caller: CallerDep, state: str | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[dict[str, Any]]:
    return reports.list_reports(platform.store, caller, state=state, limit=limit)


@router.post("/reports/{receipt}/triage", summary="Link, open a case on, or dismiss a report (regulators)")
def triage(
    receipt: str, platform: PlatformDep, caller: CallerDep,
    body: Annotated[dict[str, Any], Body(examples=[{"action": "dismiss", "reason": "duplicate of PR-…"}])],
) -> dict[str, Any]:
    return reports.triage(platform.store, caller, receipt, body, platform.now())


@router.get("/outlets", summary="Collection outlets by region (a province, a city) and producer (public)")
def outlets(
    platform: PlatformDep, region: Annotated[str | None, Query(pattern=r"^\d{6}$")] = None,
    operated_for: str | None = None, limit: Annotated[int, Query(ge=1, le=1000)] = 500,
) -> list[dict[str, Any]]:
    return outlet_svc.list_outlets(platform.store, region=region, operated_for=operated_for, limit=limit)


@router.post("/outlets", summary="Register outlets (a producer for itself, or the admin)")
def add_outlets(
    platform: PlatformDep, caller: CallerDep, body: Annotated[Any, Body(description="an outlet or a list")],
) -> dict[str, int]:
    return outlet_svc.add_outlets(platform.store, caller, body, platform.now())
