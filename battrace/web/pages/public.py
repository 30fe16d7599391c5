"""The public face: the lookup box on ``/`` and a battery's page ``/b/{code}`` with its QR code."""

from __future__ import annotations

from typing import Annotated, Any

import segno
from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from markupsafe import Markup

from battrace.domain.access import PUBLIC, public_view
from battrace.domain.codes import parse_code
from battrace.errors import UnknownBattery
from battrace.interop.carriers import ERROR_LEVEL, label_svg, public_url
from battrace.services.compliance import battery_findings
from battrace.services.health import health_summary
from battrace.services.lookup import codes_on_record
from battrace.services.orgs import list_orgs
from battrace.services.passport import get_passport
from battrace.services.telemetry import list_alarms
from battrace.storage.store import Store
from battrace.web import views
from battrace.web.pages.supervision import battery_extras
from battrace.web.session import platform_of
from battrace.web.templating import frame, redirect, render

router = APIRouter(include_in_schema=False)
#: The newest alarms a battery page lists (as the API's digital ID).
ALARMS_SHOWN = 50


@router.get("/", name="web_index")
def index(request: Request, q: Annotated[str | None, Query(max_length=400)] = None) -> Response:
    fr = frame(request)
    if q is None:
        return render(fr, "index.html")
    found = views.lookup(fr.t, q)
    if found.code is not None:
        suffix = "?found=label" if found.from_label else ""
        return redirect(fr, f"/b/{found.code}{suffix}")
    return render(fr, "index.html", status_code=422, query=q, error=found.error,
                  suggestions=_suggestions(platform_of(request).store, found.suggestions))


#: How many readings of a mistyped code the lookup offers.
SUGGESTIONS_SHOWN = 3


def _suggestions(store: Store, readings: tuple[str, ...]) -> list[dict[str, Any]]:
    """The likeliest readings of a mistyped code, those on record first (marked), at most three."""
    on_record = codes_on_record(store, readings)
    ordered = [c for c in readings if c in on_record] + [c for c in readings if c not in on_record]
    return [{"code": c, "on_record": c in on_record} for c in ordered[:SUGGESTIONS_SHOWN]]


def _base_url(request: Request) -> str:
    """``BATTRACE_PUBLIC_BASE_URL`` (what printed labels carry), else the base URL this request came to
    — as the API's QR codes and labels do."""
    return platform_of(request).settings.public_base_url or str(request.base_url).rstrip("/")


def qr_inline(url: str) -> Markup:
    """The QR code of ``url`` as inline SVG (segno, error correction M, as on printed labels)."""
    svg = segno.make(url, error=ERROR_LEVEL, micro=False, boost_error=False).svg_inline(
        scale=4, border=2, dark="#0f172a", light="#ffffff", omitsize=True)
    return Markup(svg)


@router.get("/b/{code}", name="web_battery")
def battery(request: Request, code: str, found: str | None = None) -> Response:
    fr = frame(request)
    platform = platform_of(request)
    try:
        read = platform.guard.battery(fr.caller, code, "battery.read", reads=platform.read_store)
    except UnknownBattery:
        parsed = parse_code(code)
        return render(fr, "battery_unknown.html", status_code=404, code=code,
                      decoded=views.decoded_code(fr.t, parsed))
    passport, tier = read.passport, read.tier
    url = public_url(code, _base_url(request))
    context: dict[str, Any] = {"code": code, "tier": tier, "qr": qr_inline(url), "url": url,
                               "found_in_label": found == "label"}
    view = public_view(passport)
    context["verdict"] = views.verdict(fr.t, view)
    context["stages"] = views.stages(fr.t, view["state"], view["retired_ev_battery"], bool(view.get("remade_product")))
    context["state"] = view["state"]
    context["supervision"] = battery_extras(platform.store, passport, view["retired_ev_battery"])  # issue 15
    if tier == PUBLIC:
        context.update(identity=views.identity_rows(fr.t, view, full=False, orgs={}),
                       timeline=views.public_timeline(fr.t, view), lineage=None, health=None, findings=None,
                       vehicle=None, alarms=None, alarms_more=False)
        return render(fr, "battery.html", **context)
    orgs = {o.credit_code: o for o in list_orgs(platform.store)}
    alarms = list_alarms(platform.store, battery=code, limit=ALARMS_SHOWN + 1)  # newest first
    context.update(
        identity=views.identity_rows(fr.t, passport, full=True, orgs=orgs),
        timeline=views.full_timeline(fr.t, passport["history"], orgs, code),
        lineage=views.lineage(passport),
        health=views.health(fr.t, passport, health_summary(passport), orgs),
        alarms=views.alarm_rows(fr.t, alarms[:ALARMS_SHOWN]),
        alarms_more=len(alarms) > ALARMS_SHOWN,
        alarms_shown=ALARMS_SHOWN,
        findings=battery_findings(platform.store, code),
        vehicle=passport.get("vehicle"),
        passport=passport,
    )
    return render(fr, "battery.html", **context)


@router.get("/b/{code}/label.svg", name="web_label")
def label(request: Request, code: str) -> Response:
    """A printable label (100 mm × 50 mm) with the code, public facts and the page's QR code."""
    passport = get_passport(platform_of(request).read_store, code)
    svg = label_svg(passport, _base_url(request))
    return Response(svg, media_type="image/svg+xml",
                    headers={"Content-Disposition": f'inline; filename="battery-{code}.svg"'})
