"""The regulator dashboard ``/dashboard``: the caller's jurisdiction (national for the admin)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from battrace.domain.access import region_prefix
from battrace.domain.state import IN_SERVICE as IN_SERVICE_STATES
from battrace.domain.state import RETIRED as RETIRED_STATES
from battrace.errors import BattraceError
from battrace.services.compliance import count_findings, list_findings
from battrace.services.flows import Flow, flow_totals, list_flows
from battrace.services.forecast import retirement_forecast
from battrace.services.orgs import list_orgs
from battrace.services.oversight import data_version, findings_matrix, reporting_league
from battrace.services.stats import get_stats
from battrace.storage.store import Store
from battrace.web import charts
from battrace.web.cache import cache_of
from battrace.web.i18n import MESSAGES, Translator
from battrace.web.pages.auth import login_page
from battrace.web.session import platform_of
from battrace.web.templating import frame, redirect, render

router = APIRouter(include_in_schema=False)
IN_SERVICE = tuple(sorted(IN_SERVICE_STATES))
OVERDUE_RULE = "R04b"
OVERDUE_SHOWN = 15
OVERDUE_SCAN = 1000
LEAGUE_MIN_EVENTS = 10
LEAGUE_SHOWN = 15


def _scope_name(t: Translator, jurisdiction: str | None) -> str:
    prefix = region_prefix(jurisdiction) if jurisdiction else ""
    if not prefix:
        return t("dashboard.national")
    province = t.vocab("province", prefix[:2])
    return province if len(prefix) == 2 else f"{province} · {jurisdiction}"


def _retired_recently(per_month: dict[str, int], now: datetime) -> int:
    first = (now - timedelta(days=365)).strftime("%Y-%m")
    last = now.strftime("%Y-%m")
    return sum(n for month, n in per_month.items() if first < month <= last)


def _forecast_checks(t: Translator, checks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The forecast against each published national figure, in words."""
    rows = []
    for c in checks:
        kt = f"{c['reference_kt']:,.0f}"
        key = f"forecast.ref_{c['year']}"
        rows.append({"year": c["year"], "packs": c["forecast_packs"], "kt": c["forecast_kt"],
                     "published": t(key, kt=kt) if key in MESSAGES else t("forecast.ref", kt=kt),
                     "ratio": c["ratio"]})
    return rows


def overdue_as_of(items: list[dict[str, Any]], now: datetime) -> datetime:
    """When the overdue findings were assessed: the latest time one was raised (the time-based rules
    run as of a date, e.g. the demo world's end), never after ``now``. Days overdue count to this
    moment, so that they agree with the date the table states."""
    raised = [datetime.fromisoformat(f["raised_at"]) for f in items if f.get("raised_at")]
    return min(max(raised), now) if raised else now


def _overdue(t: Translator, items: list[dict[str, Any]], orgs: dict[str, str], now: datetime) -> list[dict[str, Any]]:
    now = overdue_as_of(items, now)
    rows = []
    for f in sorted(items, key=lambda f: f.get("due_at") or "")[:OVERDUE_SHOWN]:
        due = datetime.fromisoformat(f["due_at"]) if f.get("due_at") else None
        rows.append({
            "rule": f["rule"], "message": t.pick(f["message"]["zh"], f["message"]["en"]),
            "batteries": f.get("batteries") or [], "vin": f.get("vin"), "due_at": f.get("due_at"),
            "days": max((now - due).days, 0) if due else None,
            "responsible": orgs.get(f.get("responsible") or "", f.get("responsible") or "—"),
        })
    return rows


@dataclass(frozen=True)
class DashboardData:
    """Everything the dashboard shows for one scope, before it is put into words."""

    stats: dict[str, Any]
    flows: list[Flow]
    matrix: dict[str, Any]
    overdue: list[dict[str, Any]]
    overdue_total: int
    open_total: int
    league: list[dict[str, Any]]
    league_total: int
    #: :func:`retirement_forecast` for the scope (default life), or why it could not be made.
    forecast: dict[str, Any] | None = None
    forecast_error: str | None = None


def _forecast(store: Store, prefix: str) -> tuple[dict[str, Any] | None, str | None]:
    try:
        return retirement_forecast(store, region_prefix=prefix), None
    except BattraceError as exc:  # e.g. installation years out of the forecast's range: say so, keep the page
        return None, exc.message


def gather(store: Store, jurisdiction: str | None, *, worst_first: bool) -> DashboardData:
    prefix = (region_prefix(jurisdiction) if jurisdiction else "") or None
    forecast, forecast_error = _forecast(store, prefix or "")
    ranked, ranked_total = reporting_league(store, jurisdiction=jurisdiction, worst_first=worst_first,
                                           min_events=LEAGUE_MIN_EVENTS, limit=LEAGUE_SHOWN)
    return DashboardData(
        stats=get_stats(store, jurisdiction=jurisdiction, level="P"),
        flows=list_flows(store, jurisdiction=jurisdiction),
        matrix=findings_matrix(store, jurisdiction=jurisdiction),
        overdue=list_findings(store, rule=OVERDUE_RULE, state="open", region_prefix=prefix, limit=OVERDUE_SCAN),
        overdue_total=count_findings(store, rule=OVERDUE_RULE, state="open", region_prefix=prefix),
        open_total=count_findings(store, state="open", region_prefix=prefix),
        league=[r.as_dict() for r in ranked],
        league_total=ranked_total,
        forecast=forecast,
        forecast_error=forecast_error,
    )


@router.get("/dashboard", name="web_dashboard")
def dashboard(request: Request, league: Annotated[str, Query(pattern="^(worst|best)$")] = "worst") -> Response:
    fr = frame(request)
    if not fr.viewer.signed_in:
        return redirect(fr, "/login?next=/dashboard")
    if not fr.viewer.is_regulator:
        return login_page(request, next_url="/dashboard", reason="login.need_regulator", status_code=403)
    platform = platform_of(request)
    store, t, now = platform.read_store, fr.t, platform.now()  # a replica when configured
    platform.guard.scope(fr.caller, "dashboard.read")  # a regulator without a jurisdiction is refused
    jurisdiction = None if fr.caller.admin else fr.caller.jurisdiction
    worst_first = league == "worst"
    data = cache_of(request).get(("dashboard", jurisdiction, worst_first), data_version(store),
                                 lambda: gather(store, jurisdiction, worst_first=worst_first))
    org_names = {o.credit_code: o.name for o in list_orgs(store)}
    by_state: dict[str, int] = data.stats["batteries_by_state"]
    per_month: dict[str, int] = data.stats["retirements_per_month"]
    kpis = [
        ("kpi.packs", sum(by_state.values())),
        ("kpi.in_service", sum(by_state.get(s, 0) for s in IN_SERVICE)),
        ("kpi.retired", sum(by_state.get(s, 0) for s in RETIRED_STATES)),
        ("kpi.retired_12m", _retired_recently(per_month, now)),
        ("kpi.across", flow_totals(data.flows)["across"]),
        ("kpi.open_findings", data.open_total),
    ]
    chart_options = {
        "by-state": charts.by_state(t, by_state) if by_state else None,
        "retirements": charts.retirements(t, per_month) if per_month else None,
        "flows": charts.flows(t, data.flows) if data.flows else None,
        "findings": charts.findings(t, data.matrix) if data.matrix["provinces"] else None,
        "forecast": charts.forecast(t, data.forecast) if data.forecast and data.forecast["years"] else None,
    }
    return render(
        fr, "dashboard.html", scope=_scope_name(t, jurisdiction), now=now, kpis=kpis, charts=chart_options,
        overdue=_overdue(t, data.overdue, org_names, now), overdue_total=data.overdue_total,
        overdue_as_of=overdue_as_of(data.overdue, now),
        league=data.league, league_total=data.league_total, league_order=league, league_min=LEAGUE_MIN_EVENTS,
        forecast=data.forecast, forecast_error=data.forecast_error,
        forecast_checks=_forecast_checks(t, data.forecast["checks"]) if data.forecast else [],
    )
