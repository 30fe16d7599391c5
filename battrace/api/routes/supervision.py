"""Organisations (admin), findings, statistics, dismantling information and the audit log."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Query

from battrace.api.deps import CallerDep, PlatformDep, ReadStoreDep
from battrace.domain.access import region_prefix
from battrace.services.access import list_audit, require_admin, require_org, require_regulator, techinfo_read
from battrace.services.orgs import import_orgs, list_orgs
from battrace.services.stats import get_stats

router = APIRouter(tags=["supervision"])


@router.get("/orgs", summary="List organisations (admin)")
def orgs(platform: PlatformDep, caller: CallerDep) -> list[dict[str, Any]]:
    require_admin(caller)
    return [o.as_dict() for o in list_orgs(platform.store)]


@router.post("/orgs", summary="Create or update organisations (admin)")
def post_orgs(
    platform: PlatformDep, caller: CallerDep,
    body: Annotated[Any, Body(description="an organisation object or a list of them")],
) -> dict[str, int]:
    require_admin(caller)
    items = body if isinstance(body, list) else [body]
    return import_orgs(platform.store, items, platform.now())


@router.get("/findings", summary="Compliance findings: the caller's own, or the jurisdiction's")
def findings(
    platform: PlatformDep, caller: CallerDep,
    rule: str | None = None, state: Annotated[str | None, Query(pattern="^(open|resolved)$")] = None,
    battery: str | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100, offset: Annotated[int, Query(ge=0, le=1_000_000_000)] = 0,
) -> list[dict[str, Any]]:
    require_org(caller)
    from battrace.services.compliance import list_findings

    scope: dict[str, Any] = {}
    if caller.admin:
        pass
    elif caller.org_type == "regulator":
        scope["region_prefix"] = region_prefix(caller.jurisdiction or "")
    else:
        scope["org"] = caller.org
    return list(list_findings(platform.store, rule=rule, state=state, battery=battery, limit=limit, offset=offset,
                              **scope))


@router.get("/stats", summary="Statistics for regulators")
def stats(
    caller: CallerDep, reads: ReadStoreDep,
    level: Annotated[str, Query(pattern="^(P|M|C|all)$")] = "P",
) -> dict[str, Any]:
    require_regulator(caller)
    return get_stats(reads, jurisdiction=None if caller.admin else caller.jurisdiction, level=level)


@router.get("/techinfo/{model}", summary="Dismantling information (restricted, audited)")
def techinfo(model: str, platform: PlatformDep, caller: CallerDep) -> list[dict[str, Any]]:
    return techinfo_read(platform.store, caller, model, platform.now())


@router.get("/audit", summary="The audit log of restricted reads (regulators)")
def audit_log(
    platform: PlatformDep, caller: CallerDep, actor: str | None = None, action: str | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100, offset: Annotated[int, Query(ge=0, le=1_000_000_000)] = 0,
) -> list[dict[str, Any]]:
    return list_audit(platform.store, caller, actor=actor, action=action, limit=limit, offset=offset)
