"""Organisations (admin), findings, statistics, dismantling information and the audit log."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Query

from battrace.api.deps import CallerDep, PlatformDep, ReaderDep, ReadStoreDep
from battrace.services.access import list_audit, require_admin, require_regulator
from battrace.services.compliance import list_findings
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
    platform: PlatformDep, caller: ReaderDep,
    rule: str | None = None, state: Annotated[str | None, Query(pattern="^(open|resolved)$")] = None,
    battery: str | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100, offset: Annotated[int, Query(ge=0, le=1_000_000_000)] = 0,
) -> list[dict[str, Any]]:
    scope = platform.guard.scope(caller, "findings.list")
    return list(list_findings(platform.store, rule=rule, state=state, battery=battery, limit=limit, offset=offset,
                              **scope.as_filters()))


@router.get("/stats", summary="Statistics for regulators")
def stats(
    caller: ReaderDep, platform: PlatformDep, reads: ReadStoreDep,
    level: Annotated[str, Query(pattern="^(P|M|C|all)$")] = "P",
) -> dict[str, Any]:
    require_regulator(caller)
    platform.guard.scope(caller, "stats.read")  # a regulator without a jurisdiction is refused
    return get_stats(reads, jurisdiction=None if caller.admin else caller.jurisdiction, level=level)


@router.get("/techinfo/{model}", summary="Dismantling information (restricted, audited)")
def techinfo(
    model: str, platform: PlatformDep, caller: ReaderDep,
    maker: Annotated[str | None, Query(max_length=18, description="the maker's credit code (one maker only)")] = None,
    battery: Annotated[str | None, Query(max_length=24, description="the held battery the read is for")] = None,
    purpose: Annotated[str | None, Query(max_length=200, description="why it is read (recorded in the audit log)")]
    = None,
) -> list[dict[str, Any]]:
    """For a repair shop, dismantler, collection outlet, re-use enterprise or recycler that holds a
    battery of this model, not yet recycled: the documents of that battery's maker only (a model name
    is not unique across makers). Every attempt is audited with the purpose and the battery."""
    return platform.guard.techinfo(caller, model, maker=maker, battery=battery, purpose=purpose)


@router.get("/audit", summary="The audit log of restricted reads (regulators)")
def audit_log(
    platform: PlatformDep, caller: CallerDep, actor: str | None = None, action: str | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100, offset: Annotated[int, Query(ge=0, le=1_000_000_000)] = 0,
) -> list[dict[str, Any]]:
    return list_audit(platform.store, caller, actor=actor, action=action, limit=limit, offset=offset)
