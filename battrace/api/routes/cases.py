"""Supervision that acts: cases, obligations, exports and webhook subscriptions."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, BackgroundTasks, Body, Path, Query, Response

from battrace import clock
from battrace.api.deps import CallerDep, PlatformDep
from battrace.domain.access import region_prefix
from battrace.domain.deadlines import china_date
from battrace.errors import ValidationError
from battrace.services import cases as svc
from battrace.services import webhooks
from battrace.services.access import require_admin, require_org, require_regulator
from battrace.services.compliance import list_findings
from battrace.services.exports import FINDING_COLUMNS, FORMATS, OBLIGATION_COLUMNS, export
from battrace.services.obligations import obligations_for, parse_within
from battrace.services.platform import Platform

router = APIRouter(tags=["cases"])
CaseId = Annotated[int, Path(ge=1, le=2**31 - 1)]


def deliver_now(platform: Platform) -> None:
    """Deliver what is due (run after the response; failures stay in the outbox for a retry)."""
    webhooks.deliver_due(platform.store, platform.now(), signed_at=clock.now())


@router.get("/cases", summary="Cases the caller may see (regulators: within reach; a company: its own)")
def cases(
    platform: PlatformDep, caller: CallerDep, state: str | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100, offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> list[dict[str, Any]]:
    return svc.list_cases(platform.store, caller, state=state, limit=limit, offset=offset)


@router.post("/cases", summary="Open a case on findings (regulators within reach)")
def open_case(
    platform: PlatformDep, caller: CallerDep, tasks: BackgroundTasks,
    body: Annotated[dict[str, Any], Body(examples=[{"findings": [12], "reason": "R02 violation found"}])],
) -> dict[str, Any]:
    findings = body.get("findings")
    if not isinstance(findings, list) or not all(isinstance(f, int) for f in findings):
        raise ValidationError("findings must be a list of finding ids", field="findings")
    reason = body.get("reason")
    case = svc.open_case(platform.store, caller, findings, reason=reason if isinstance(reason, str) else None,
                         now=platform.now())
    tasks.add_task(deliver_now, platform)
    return case


@router.get("/cases/stats", summary="Cases by state and department, mean days to close (regulators)")
def case_stats(platform: PlatformDep, caller: CallerDep) -> dict[str, Any]:
    require_regulator(caller)
    prefix = None if caller.admin else region_prefix(caller.jurisdiction or "") or None
    return svc.case_stats(platform.store, region_prefix=prefix)


@router.get("/cases/{case_id}", summary="One case with its steps and findings")
def case(case_id: CaseId, platform: PlatformDep, caller: CallerDep) -> dict[str, Any]:
    return svc.get_case(platform.store, caller, case_id)


@router.post("/cases/{case_id}/steps", summary="Move a case: order, respond, escalate or close")
def step(
    case_id: CaseId, platform: PlatformDep, caller: CallerDep, tasks: BackgroundTasks,
    body: Annotated[dict[str, Any], Body(examples=[{"action": "order", "due_date": "2026-12-31",
                                                    "legal_basis": "《办法》第三十条"}])],
) -> dict[str, Any]:
    action = body.get("action")
    if not isinstance(action, str):
        raise ValidationError("action is required (order, respond, escalate, close)", field="action")
    fields = {k: v for k, v in body.items() if k != "action"}
    result = svc.act(platform.store, caller, case_id, action, fields, platform.now())
    tasks.add_task(deliver_now, platform)
    return result


@router.get("/obligations", summary="What must be reported, and by when, before it is overdue")
def obligations(
    platform: PlatformDep, caller: CallerDep, org: str | None = None,
    due_within: Annotated[str | None, Query(description="e.g. 5d or 2w")] = None,
) -> list[dict[str, Any]]:
    return obligations_for(platform.store, caller, today=china_date(platform.now()), org=org,
                           due_within=parse_within(due_within))


def _file(data: bytes, fmt: str, name: str) -> Response:
    return Response(data, media_type=FORMATS[fmt],
                    headers={"Content-Disposition": f'attachment; filename="{name}.{fmt}"'})


@router.get("/exports/findings", summary="Findings as CSV or XLSX (the caller's own, or the jurisdiction's)",
            response_class=Response)
def export_findings(
    platform: PlatformDep, caller: CallerDep, format: Annotated[str, Query(pattern="^(csv|xlsx)$")] = "csv",
    rule: str | None = None, state: Annotated[str | None, Query(pattern="^(open|resolved)$")] = None,
) -> Response:
    require_org(caller)
    scope: dict[str, Any] = {}
    if not caller.admin:
        if caller.org_type == "regulator":
            scope["region_prefix"] = region_prefix(caller.jurisdiction or "") or None
        else:
            scope["org"] = caller.org
    rows = list_findings(platform.store, rule=rule, state=state, limit=1000, **scope)
    return _file(export(rows, FINDING_COLUMNS, format, sheet="findings"), format, "findings")


@router.get("/exports/obligations", summary="Obligations as CSV or XLSX", response_class=Response)
def export_obligations(
    platform: PlatformDep, caller: CallerDep, format: Annotated[str, Query(pattern="^(csv|xlsx)$")] = "csv",
    org: str | None = None, due_within: str | None = None,
) -> Response:
    rows = obligations_for(platform.store, caller, today=china_date(platform.now()), org=org,
                           due_within=parse_within(due_within))
    return _file(export(rows, OBLIGATION_COLUMNS, format, sheet="obligations"), format, "obligations")


@router.post("/webhooks", summary="Subscribe a URL to notifications (the secret is shown once)")
def subscribe(
    platform: PlatformDep, caller: CallerDep,
    body: Annotated[dict[str, Any], Body(examples=[{"url": "https://example.com/hook",
                                                    "events": ["case.step", "finding.new"]}])],
) -> dict[str, Any]:
    return webhooks.subscribe(platform.store, caller, body.get("url"), body.get("events"), platform.now())


@router.get("/webhooks", summary="The caller's subscriptions")
def subscriptions(platform: PlatformDep, caller: CallerDep) -> list[dict[str, Any]]:
    return webhooks.list_subscriptions(platform.store, caller)


@router.delete("/webhooks/{sub_id}", summary="End a subscription")
def unsubscribe(sub_id: CaseId, platform: PlatformDep, caller: CallerDep) -> dict[str, Any]:
    webhooks.unsubscribe(platform.store, caller, sub_id)
    return {"ok": True, "id": sub_id}


@router.get("/webhooks/deliveries", summary="Deliveries to the caller's subscriptions, with their status")
def deliveries(
    platform: PlatformDep, caller: CallerDep,
    status: Annotated[str | None, Query(pattern="^(pending|delivered|failed)$")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[dict[str, Any]]:
    return webhooks.list_deliveries(platform.store, caller, status=status, limit=limit)


@router.post("/webhooks/deliver", summary="Deliver the pending notifications that are due (admin)")
def deliver(platform: PlatformDep, caller: CallerDep) -> dict[str, int]:
    require_admin(caller)
    return webhooks.deliver_due(platform.store, platform.now(), signed_at=clock.now())
