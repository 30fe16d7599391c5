"""Supervision pages: cases for regulators (``/dashboard/cases``, ``/dashboard/reports``) and for
companies (``/console/cases``: their cases, the to-do panel of obligations, exports, webhooks);
public ``/report`` and ``/outlets``.

Every form posts back with the viewer's CSRF token; a refused or invalid step is shown on the same
page with the platform's error message (the state of the case is unchanged).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, BackgroundTasks, Form, Path, Query, Request
from fastapi.responses import Response

from battrace import clock
from battrace.domain.access import region_prefix
from battrace.domain.cases import MEASURES
from battrace.domain.deadlines import china_date
from battrace.domain.departments import departments
from battrace.errors import BattraceError, Forbidden, NotFound
from battrace.services import cases as svc
from battrace.services import outlets as outlet_svc
from battrace.services import reports as report_svc
from battrace.services import webhooks
from battrace.services.compliance import get_finding, list_findings
from battrace.services.exports import FINDING_COLUMNS, FORMATS, OBLIGATION_COLUMNS, export
from battrace.services.obligations import obligations_for
from battrace.web.pages.auth import login_page
from battrace.web.session import csrf_token, platform_of
from battrace.web.templating import Frame, frame, redirect, render

router = APIRouter(include_in_schema=False)
FINDINGS_SHOWN = 100
RECENT_EVENTS = 30
CaseId = Annotated[int, Path(ge=1, le=2**31 - 1)]


def _regulator(request: Request, next_url: str) -> Frame | Response:
    fr = frame(request)
    if not fr.viewer.signed_in:
        return redirect(fr, f"/login?next={next_url}")
    if not fr.viewer.is_regulator:
        return login_page(request, next_url=next_url, reason="login.need_regulator", status_code=403)
    return fr


def _company(request: Request, next_url: str) -> Frame | Response:
    fr = frame(request)
    if not fr.viewer.signed_in:
        return redirect(fr, f"/login?next={next_url}")
    if fr.caller.org is None:
        return login_page(request, next_url=next_url, reason="console.admin", status_code=403)
    return fr


def _csrf_ok(fr: Frame, csrf: str) -> bool:
    return csrf == csrf_token(fr.viewer.key or "")


def _deliver(request: Request) -> None:
    platform = platform_of(request)
    webhooks.deliver_due(platform.store, platform.now(), signed_at=clock.now())


def _org_names(request: Request) -> dict[str, str]:
    return svc.org_names(platform_of(request).store)


# -- regulators ----------------------------------------------------------------------------------


@router.get("/dashboard/cases", name="web_cases")
def cases_page(request: Request, finding: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
               error: str | None = None, status_code: int = 200) -> Response:
    fr = _regulator(request, "/dashboard/cases")
    if not isinstance(fr, Frame):
        return fr
    platform = platform_of(request)
    store = platform.store
    who = svc.caller_reach(store, fr.caller)
    assert who is not None
    stats = svc.case_stats(store, region_prefix=who.prefix or None)
    cases = svc.list_cases(store, fr.caller, limit=200)
    if finding is not None:  # opened from one finding (``?finding=ID``): that one alone
        one = get_finding(store, finding)
        findings = [one] if one["state"] == "open" and who.covers_region(one["region"]) else []
    else:
        findings = list_findings(store, state="open", region_prefix=who.prefix or None, limit=FINDINGS_SHOWN)
    if not who.national:
        enforced = departments()[who.department].rules
        findings = [f for f in findings if f["rule"] in enforced]
    return render(fr, "sup_cases.html", status_code=status_code, stats=stats, cases=cases, findings=findings,
                  names=_org_names(request), department=who.department, national=who.national,
                  csrf=csrf_token(fr.viewer.key or ""), error=error)


@router.post("/dashboard/cases/open", name="web_case_open")
def case_open(request: Request, tasks: BackgroundTasks, finding: Annotated[int, Form(ge=1, le=2**31 - 1)],
              reason: Annotated[str, Form()] = "", csrf: Annotated[str, Form()] = "") -> Response:
    fr = _regulator(request, "/dashboard/cases")
    if not isinstance(fr, Frame):
        return fr
    if not _csrf_ok(fr, csrf):
        return cases_page(request, None, error=fr.t("upload.csrf"), status_code=403)
    platform = platform_of(request)
    try:
        case = svc.open_case(platform.store, fr.caller, [finding], reason=reason, now=platform.now())
    except BattraceError as exc:
        return cases_page(request, None, error=exc.message, status_code=exc.status)
    tasks.add_task(_deliver, request)
    return redirect(fr, f"/dashboard/cases/{case['id']}")


def _case_page(request: Request, fr: Frame, case_id: CaseId, template: str, *, error: str | None = None,
               done: str | None = None, status_code: int = 200, **extra: Any) -> Response:
    platform = platform_of(request)
    case = svc.get_case(platform.store, fr.caller, case_id)
    return render(fr, template, status_code=status_code, case=case, names=_org_names(request),
                  csrf=csrf_token(fr.viewer.key or ""), error=error, done=done, measures=MEASURES,
                  departments=sorted(departments()), today=china_date(platform.now()).isoformat(), **extra)


@router.get("/dashboard/cases/{case_id}", name="web_case")
def case_page(request: Request, case_id: CaseId) -> Response:
    fr = _regulator(request, f"/dashboard/cases/{case_id}")
    if not isinstance(fr, Frame):
        return fr
    return _case_page(request, fr, case_id, "sup_case.html")


@router.post("/dashboard/cases/{case_id}/step", name="web_case_step")
def case_step(request: Request, tasks: BackgroundTasks, case_id: CaseId, action: Annotated[str, Form()],
              csrf: Annotated[str, Form()] = "", due_date: Annotated[str, Form()] = "",
              legal_basis: Annotated[str, Form()] = "", reason: Annotated[str, Form()] = "",
              measure: Annotated[str, Form()] = "", amount: Annotated[str, Form()] = "",
              department: Annotated[str, Form()] = "", verified: Annotated[str, Form()] = "") -> Response:
    fr = _regulator(request, f"/dashboard/cases/{case_id}")
    if not isinstance(fr, Frame):
        return fr
    if not _csrf_ok(fr, csrf):
        return _case_page(request, fr, case_id, "sup_case.html", error=fr.t("upload.csrf"), status_code=403)
    forms: dict[str, dict[str, Any]] = {"order": {"due_date": due_date, "legal_basis": legal_basis, "reason": reason},
                              "close": {"reason": reason, "verified": verified == "on"},
                              "escalate": {"measure": measure, "reason": reason, "legal_basis": legal_basis or None,
                                           **({"amount": amount} if measure == "fine" else {}),
                                           **({"department": department} if measure == "transfer" else {})},
                              }
    fields = forms.get(action, {})
    platform = platform_of(request)
    try:
        svc.act(platform.store, fr.caller, case_id, action, fields, platform.now())
    except (Forbidden, NotFound):
        raise
    except BattraceError as exc:
        return _case_page(request, fr, case_id, "sup_case.html", error=exc.message, status_code=exc.status)
    tasks.add_task(_deliver, request)
    try:
        return _case_page(request, fr, case_id, "sup_case.html", done=fr.t.vocab("case_action", action))
    except NotFound:  # transferred out of the regulator's reach
        return redirect(fr, "/dashboard/cases")


@router.get("/dashboard/reports", name="web_reports")
def reports_page(request: Request, error: str | None = None, status_code: int = 200) -> Response:
    fr = _regulator(request, "/dashboard/reports")
    if not isinstance(fr, Frame):
        return fr
    rows = report_svc.list_reports(platform_of(request).store, fr.caller, limit=200)
    return render(fr, "sup_reports.html", status_code=status_code, reports=rows,
                  csrf=csrf_token(fr.viewer.key or ""), error=error)


@router.post("/dashboard/reports/{receipt}/triage", name="web_report_triage")
def report_triage(request: Request, tasks: BackgroundTasks, receipt: str, action: Annotated[str, Form()],
                  csrf: Annotated[str, Form()] = "", reason: Annotated[str, Form()] = "",
                  battery: Annotated[str, Form()] = "", org: Annotated[str, Form()] = "") -> Response:
    fr = _regulator(request, "/dashboard/reports")
    if not isinstance(fr, Frame):
        return fr
    if not _csrf_ok(fr, csrf):
        return reports_page(request, error=fr.t("upload.csrf"), status_code=403)
    raw: dict[str, Any] = {"action": action, "reason": reason or None}
    if battery:
        raw["battery"] = battery
    if org:
        raw["org"] = org
    platform = platform_of(request)
    try:
        out = report_svc.triage(platform.store, fr.caller, receipt, raw, platform.now())
    except BattraceError as exc:
        return reports_page(request, error=exc.message, status_code=exc.status)
    tasks.add_task(_deliver, request)
    if out.get("case"):
        return redirect(fr, f"/dashboard/cases/{out['case']}")
    return redirect(fr, "/dashboard/reports")


# -- companies -----------------------------------------------------------------------------------


def _my_page(request: Request, fr: Frame, *, secret: str | None = None, error: str | None = None,
             status_code: int = 200) -> Response:
    platform = platform_of(request)
    store = platform.store
    todo = obligations_for(store, fr.caller, today=china_date(platform.now()))
    return render(fr, "sup_console.html", status_code=status_code,
                  cases=svc.list_cases(store, fr.caller, limit=200), todo=todo,
                  subscriptions=webhooks.list_subscriptions(store, fr.caller),
                  deliveries=webhooks.list_deliveries(store, fr.caller, limit=20), secret=secret,
                  event_types=webhooks.EVENT_TYPES, csrf=csrf_token(fr.viewer.key or ""), error=error)


@router.get("/console/cases", name="web_my_cases")
def my_cases(request: Request) -> Response:
    fr = _company(request, "/console/cases")
    if not isinstance(fr, Frame):
        return fr
    return _my_page(request, fr)


@router.post("/console/webhooks", name="web_subscribe")
def subscribe(request: Request, url: Annotated[str, Form()], events: Annotated[list[str] | None, Form()] = None,
              csrf: Annotated[str, Form()] = "") -> Response:
    fr = _company(request, "/console/cases")
    if not isinstance(fr, Frame):
        return fr
    if not _csrf_ok(fr, csrf):
        return _my_page(request, fr, error=fr.t("upload.csrf"), status_code=403)
    platform = platform_of(request)
    try:
        sub = webhooks.subscribe(platform.store, fr.caller, url, events or [], platform.now())
    except BattraceError as exc:
        return _my_page(request, fr, error=exc.message, status_code=exc.status)
    return _my_page(request, fr, secret=sub["secret"])


@router.get("/console/exports/{what}", name="web_export")
def export_file(request: Request, what: str, format: Annotated[str, Query(pattern="^(csv|xlsx)$")] = "csv"
                ) -> Response:
    fr = _company(request, "/console/cases")
    if not isinstance(fr, Frame):
        return fr
    platform = platform_of(request)
    caller = fr.caller
    if what == "findings":
        scope: dict[str, Any] = ({"region_prefix": region_prefix(caller.jurisdiction or "") or None}
                                 if caller.org_type == "regulator" else {"org": caller.org})
        rows = list_findings(platform.store, limit=1000, **scope)
        data = export(rows, FINDING_COLUMNS, format, sheet="findings")
    elif what == "obligations":
        rows = obligations_for(platform.store, caller, today=china_date(platform.now()))
        data = export(rows, OBLIGATION_COLUMNS, format, sheet="obligations")
    else:
        raise NotFound(f"nothing to export as {what!r}")
    return Response(data, media_type=FORMATS[format],
                    headers={"Content-Disposition": f'attachment; filename="{what}.{format}"'})


def _recent_events(request: Request, org: str) -> list[dict[str, Any]]:
    return svc.recent_events(platform_of(request).store, org, RECENT_EVENTS)


@router.get("/console/cases/{case_id}", name="web_my_case")
def my_case(request: Request, case_id: CaseId) -> Response:
    fr = _company(request, f"/console/cases/{case_id}")
    if not isinstance(fr, Frame):
        return fr
    assert fr.caller.org is not None
    return _case_page(request, fr, case_id, "sup_my_case.html", events=_recent_events(request, fr.caller.org))


@router.post("/console/cases/{case_id}/respond", name="web_my_case_respond")
def my_case_respond(request: Request, tasks: BackgroundTasks, case_id: CaseId, text: Annotated[str, Form()] = "",
                    attachments: Annotated[str, Form()] = "", curing: Annotated[list[str] | None, Form()] = None,
                    curing_other: Annotated[str, Form()] = "", csrf: Annotated[str, Form()] = "") -> Response:
    fr = _company(request, f"/console/cases/{case_id}")
    if not isinstance(fr, Frame):
        return fr
    assert fr.caller.org is not None
    events = _recent_events(request, fr.caller.org)
    if not _csrf_ok(fr, csrf):
        return _case_page(request, fr, case_id, "sup_my_case.html", error=fr.t("upload.csrf"), status_code=403,
                          events=events)
    cure = list(curing or []) + [x.strip() for x in curing_other.split(",") if x.strip()]
    platform = platform_of(request)
    try:
        svc.act(platform.store, fr.caller, case_id, "respond",
                {"text": text, "attachments": attachments, "curing_events": cure}, platform.now())
    except (Forbidden, NotFound):
        raise
    except BattraceError as exc:
        return _case_page(request, fr, case_id, "sup_my_case.html", error=exc.message, status_code=exc.status,
                          events=events)
    tasks.add_task(_deliver, request)
    return _case_page(request, fr, case_id, "sup_my_case.html", done=fr.t.vocab("case_action", "respond"),
                      events=events)


# -- the public ----------------------------------------------------------------------------------


@router.get("/report", name="web_report")
def report_form(request: Request, code: Annotated[str | None, Query(max_length=64)] = None,
                receipt: Annotated[str | None, Query(max_length=20)] = None) -> Response:
    fr = frame(request)
    status = None
    error = None
    if receipt:
        try:
            status = report_svc.status(platform_of(request).store, receipt.strip().upper())
        except BattraceError as exc:
            error = exc.message
    return render(fr, "sup_report.html", code=code or "", status=status, error=error,
                  status_code=200 if error is None else 404)


@router.post("/report", name="web_report_submit")
def report_submit(request: Request, code: Annotated[str, Form()] = "", what: Annotated[str, Form()] = "",
                  region: Annotated[str, Form()] = "", contact: Annotated[str, Form()] = "") -> Response:
    fr = frame(request)
    platform = platform_of(request)
    client = report_svc.client_id(request.client.host if request.client else None)
    raw = {"code": code, "what": what, "region": region, "contact": contact or None}
    try:
        out = report_svc.submit(platform.store, raw, client=client, now=platform.now())
    except BattraceError as exc:
        return render(fr, "sup_report.html", status_code=exc.status, code=code, what=what, region=region,
                      contact=contact, error=exc.message, status=None)
    return render(fr, "sup_report.html", code="", receipt=out["receipt"], status=None, error=None)


@router.get("/outlets", name="web_outlets")
def outlets_page(request: Request, region: Annotated[str | None, Query(pattern=r"^\d{6}$")] = None) -> Response:
    fr = frame(request)
    rows = outlet_svc.list_outlets(platform_of(request).store, region=region, limit=500)
    return render(fr, "sup_outlets.html", outlets=rows, region=region or "", names=_org_names(request))


def battery_extras(store: Any, passport: dict[str, Any], retired: bool) -> dict[str, Any]:
    """For the battery page: the producer's outlets in the holder's province (a retired battery)."""
    if not retired:
        return {"outlets": []}
    producers = [p["credit_code"] for p in (passport.get("maker"),) if p]
    vehicle = passport.get("vehicle") or {}
    if isinstance(vehicle.get("maker"), dict):
        producers.append(vehicle["maker"]["credit_code"])
    elif isinstance(vehicle.get("maker"), str):
        producers.append(vehicle["maker"])
    return {"outlets": outlet_svc.outlets_for_battery(store, passport, producers)}
