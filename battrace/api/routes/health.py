"""Health: pulse-test SOH estimates, grading, assessment recorded on the ledger, residual value, forecast."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Body, Query
from pydantic import BaseModel, ConfigDict, Field

from battrace.api.deps import CallerDep, PlatformDep, ReaderDep
from battrace.domain.access import PARTICIPANT
from battrace.domain.forecast import Weibull
from battrace.errors import Forbidden
from battrace.services.access import require_org, require_regulator
from battrace.services.forecast import retirement_forecast
from battrace.services.health import assess, battery_value, estimate_rows, grade_request, policy_from

router = APIRouter(tags=["health"])

_ROW_EXAMPLE = {"chemistry": "LFP", "rated_capacity_ah": 35, "soc_percent": 30,
                **{f"U{i}": 3.3 for i in range(1, 22)}}


class GradeCreate(BaseModel):
    """A state of health to grade."""

    model_config = ConfigDict(extra="forbid")
    soh: float = Field(description="state of health as a fraction (0.82)")
    method: str = Field(description="gbt34015 (full residual-capacity test) or pulse (estimate)")
    chemistry: str = Field(description="LFP, NCM, NCA, LMO, …")
    soh_low: float | None = Field(None, description="a pulse estimate's lower bound")
    policy: dict[str, Any] | None = Field(None, description="grading policy (docs/health.md §2); defaults otherwise")


class AssessCreate(BaseModel):
    """A test of a battery held by the caller: a pulse test to estimate, or a measured SOH."""

    model_config = ConfigDict(extra="forbid")
    pulse: dict[str, Any] | None = Field(
        None, description="U1…U21 (V), optional soc_percent; chemistry and rated_capacity_ah default to the "
        "battery's own", examples=[_ROW_EXAMPLE])
    soh: float | None = Field(None, description="a measured SOH (fraction), instead of a pulse test")
    method: str | None = Field(None, description="gbt34015 (default with soh) or pulse")
    occurred_at: datetime | None = Field(None, description="when the test was made (default: now)")
    event_id: str | None = Field(None, max_length=128, description="your id for the battery.tested event "
                                 "(repeat it to retry safely)")
    measured_capacity_ah: float | None = None
    internal_resistance_mohm: float | None = None
    policy: dict[str, Any] | None = Field(None, description="grading policy; defaults otherwise")


@router.post("/health/estimate", summary="SOH estimates from pulse tests")
def estimate(
    caller: CallerDep,
    rows: Annotated[list[dict[str, Any]], Body(
        description="rows like the CSV of `battrace health estimate`: chemistry, rated_capacity_ah, U1…U21 (V), "
        "optional soc_percent", examples=[[_ROW_EXAMPLE]])],
) -> list[dict[str, Any]]:
    """Per row `{row, status, soh, soh_low, soh_high, grade, outside, model, matched, coverage, notes}` (a
    nominal 90 % interval; `soh` … `grade` are null unless `status` is `ok`). A bad row fails the request
    with `invalid_health_input`, naming the row and column."""
    require_org(caller)
    return estimate_rows(rows)


@router.post("/health/grade", summary="Grade a state of health: re-use (for what) or recycling")
def grade(caller: CallerDep, body: GradeCreate) -> dict[str, Any]:
    require_org(caller)
    return grade_request(body.soh, body.method, body.chemistry, soh_low=body.soh_low, policy=body.policy).as_dict()


@router.get("/batteries/{code}/value", summary="Residual value: material vs re-use, and the better path")
def value(
    code: str, platform: PlatformDep, caller: ReaderDep,
    reuse_cny_per_kwh: Annotated[float | None, Query(gt=0, le=100_000,
                                                     description="re-use price per kWh of remaining capacity")] = None,
    processing_cost_cny_per_kwh: Annotated[float, Query(ge=0, le=100_000)] = 0.0,
) -> dict[str, Any]:
    """From the battery's rated energy, chemistry and latest recorded SOH (participants and regulators).
    409 when no SOH is on record."""
    passport = platform.guard.battery(caller, code, "battery.value", least=PARTICIPANT).passport
    return battery_value(passport, reuse_cny_per_kwh=reuse_cny_per_kwh,
                         processing_cost_cny_per_kwh=processing_cost_cny_per_kwh)


@router.post("/batteries/{code}/assess", summary="Test a battery you hold: estimate, grade, record battery.tested")
def post_assess(code: str, platform: PlatformDep, caller: CallerDep, body: AssessCreate) -> dict[str, Any]:
    """For the battery's current custodian. Estimates SOH from `pulse` (or takes `soh`), grades it with
    the policy and appends a `battery.tested` event whose `features` hold the estimate's interval and the
    grading decision. Returns the estimate, the decision, the residual value and the event's outcome."""
    require_org(caller)
    if caller.admin or caller.org is None:
        raise Forbidden("the platform admin does not report tests; use the custodian's key")
    return assess(
        platform, caller.org, code, body.pulse, body.soh, body.method, body.occurred_at,
        policy=policy_from(body.policy), event_id=body.event_id, measured_capacity_ah=body.measured_capacity_ah,
        internal_resistance_mohm=body.internal_resistance_mohm,
    )


@router.get("/forecast", summary="Expected retirements per province and year (regulators)")
def get_forecast(
    platform: PlatformDep, caller: CallerDep,
    shape: Annotated[float, Query(ge=0.1, le=50, description="Weibull shape k of the service life")] = 3.5,
    scale: Annotated[float, Query(ge=0.1, le=100, description="Weibull scale λ of the service life, years")] = 10.0,
    first_year: Annotated[int | None, Query(ge=1900, le=2200)] = None,
    last_year: Annotated[int | None, Query(ge=1900, le=2200)] = None,
    kg_per_pack: Annotated[float, Query(gt=0, le=10_000, description="pack mass for the national check")] = 400.0,
) -> dict[str, Any]:
    """Installations (packs in `vehicle.certified` events per province and year), the Weibull
    forecast, and at national scope the check against the published 2025/2030 figures. A provincial
    regulator sees its jurisdiction. Shape documented in docs/health.md."""
    require_regulator(caller)
    prefix = platform.guard.scope(caller, "forecast.read").region_prefix or ""
    return retirement_forecast(platform.store, life=Weibull(shape, scale), first_year=first_year,
                               last_year=last_year, kg_per_pack=kg_per_pack, region_prefix=prefix)
