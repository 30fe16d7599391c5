"""Interop routes: EPCIS 2.0 export and capture, the EU Battery Pass, QR codes and labels.

* ``GET  /batteries/{code}/epcis`` — the history as an ``EPCISDocument`` (participant tier or above,
  audited like ``/history``);
* ``POST /epcis/capture`` — an ``EPCISDocument`` in the battrace vocabulary, stored through the
  ledger; the response is the ingest report of ``POST /events``;
* ``GET  /batteries/{code}/passport?format=eu-batterypass|native`` (participant tier or above);
* ``GET  /public/batteries/{code}/qr.svg|qr.png|label.svg`` — no credentials, public tier only;
* ``GET  /epcis/context.jsonld`` — the ``bt:`` JSON-LD context (also embedded in every document).
"""

from __future__ import annotations

import json
from importlib import resources
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from starlette.concurrency import run_in_threadpool

from battrace.api.deps import CallerDep, PlatformDep, ReaderDep
from battrace.domain.access import PARTICIPANT
from battrace.domain.limits import MAX_DEPTH, decode_utf8, loads
from battrace.errors import BattraceError, Forbidden, PayloadTooLarge, ValidationError
from battrace.services import interop
from battrace.services.access import require_org
from battrace.services.passport import get_passport

router = APIRouter(tags=["interop"])

LD_JSON = "application/ld+json"
_LD_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {"content": {LD_JSON: {"schema": {"type": "object"}}}, "description": "EPCIS 2.0 JSON-LD"}
}
_CAPTURE_DOC = {
    "requestBody": {
        "required": True,
        "content": {
            media: {"schema": {"type": "object", "description": "an EPCISDocument (EPCIS 2.0 JSON-LD) written in "
                               "the battrace vocabulary (see docs/interop.md)"}}
            for media in (LD_JSON, "application/json")
        },
    }
}


def _ld_json(body: Any) -> Response:
    return Response(json.dumps(body, ensure_ascii=False, default=str), media_type=LD_JSON)


@router.get("/batteries/{code}/epcis", summary="A battery's history as an EPCIS 2.0 document",
            response_class=Response, responses=_LD_RESPONSE)
def battery_epcis(code: str, platform: PlatformDep, caller: ReaderDep) -> Response:
    """Every event of the battery's history, in ledger order, one EPCIS event each (`eventID` = the
    CBV 2.0 event hash), valid against the official EPCIS 2.0 JSON schema."""
    passport = platform.guard.battery(caller, code, "battery.epcis", least=PARTICIPANT).passport
    return _ld_json(interop.epcis_document(passport, created_at=platform.now()))


@router.post("/epcis/capture", openapi_extra=_CAPTURE_DOC, summary="Capture an EPCIS 2.0 document")
async def epcis_capture(request: Request, platform: PlatformDep, caller: CallerDep) -> dict[str, Any]:
    """The document is read whole first: anything outside the battrace mapping is refused with 422
    `epcis_not_understood` naming the event, field and value, and nothing is stored. Each event must
    name the key's organisation as `bt:reporter` (403 otherwise). The events then go through the
    same ledger checks as `POST /events`, each accepted, duplicate or rejected on its own; the
    response is that report (`line` = the event's position in `eventList`, from 1)."""
    require_org(caller)
    if caller.admin:
        raise Forbidden("the platform admin does not report events; use an organisation's key")
    body = await request.body()
    org = caller.org

    def work() -> dict[str, Any]:  # decoding and the ingest run in a worker thread, off the event loop
        try:  # within the limits of battrace.domain.limits, a few levels more for the document's wrapping
            doc = loads(decode_utf8(body), max_depth=MAX_DEPTH + 8) if body else None
        except BattraceError as exc:
            raise ValidationError(f"the body is not valid JSON within the limits: {exc.message}",
                                  **exc.context) from None
        events = interop.read_epcis(doc, reporter=org)
        limit = platform.settings.batch_limit
        if len(events) > limit:
            raise PayloadTooLarge(f"a request may carry at most {limit} events, got {len(events)}", limit=limit)
        return interop.capture(platform.ledger, events, reporter=org).as_dict(outcomes=True)

    return await run_in_threadpool(work)


@router.get("/epcis/context.jsonld", summary="The battrace EPCIS JSON-LD context (bt: vocabulary)",
            response_class=Response, responses=_LD_RESPONSE)
def epcis_context() -> Response:
    text = resources.files("battrace.interop.data").joinpath("battrace-epcis-context.jsonld").read_text("utf-8")
    return Response(text, media_type=LD_JSON)


@router.get("/batteries/{code}/passport", summary="A battery's passport as the EU Battery Pass (or native)")
def battery_passport(
    code: str, platform: PlatformDep, caller: ReaderDep,
    format: Annotated[str, Query(pattern="^(eu-batterypass|native)$",
                                 description="eu-batterypass (v1.2.0 aspects) or native")] = "eu-batterypass",
) -> dict[str, Any]:
    """`eu-batterypass`: `{aspects, not_provided, partial}` — only aspects valid against the strict
    official v1.2.0 schema are in `aspects`; see docs/interop.md."""
    passport = platform.guard.battery(caller, code, "battery.passport", least=PARTICIPANT).passport
    return interop.passport_export(passport, format)


def _base(request: Request, platform: PlatformDep) -> str:
    """``BATTRACE_PUBLIC_BASE_URL`` (``settings.public_base_url``), else the base URL this request came to."""
    return platform.settings.public_base_url or str(request.base_url).rstrip("/")


_SVG: dict[int | str, dict[str, Any]] = {
    200: {"content": {"image/svg+xml": {"schema": {"type": "string"}}}, "description": "SVG image"}
}
_PNG: dict[int | str, dict[str, Any]] = {
    200: {"content": {"image/png": {"schema": {"type": "string", "format": "binary"}}}, "description": "PNG image"}
}


@router.get("/public/batteries/{code}/qr.svg", summary="QR code of the battery's public page (SVG)",
            response_class=Response, responses=_SVG)
def public_qr_svg(code: str, request: Request, platform: PlatformDep) -> Response:
    get_passport(platform.store, code)  # only codes on record get a QR code
    return Response(interop.qr_code(code, _base(request, platform), "svg"), media_type="image/svg+xml")


@router.get("/public/batteries/{code}/qr.png", summary="QR code of the battery's public page (PNG)",
            response_class=Response, responses=_PNG)
def public_qr_png(code: str, request: Request, platform: PlatformDep) -> Response:
    get_passport(platform.store, code)
    return Response(interop.qr_code(code, _base(request, platform), "png"), media_type="image/png")


@router.get("/public/batteries/{code}/label.svg", summary="Printable label (SVG, 100 mm x 50 mm), public tier",
            response_class=Response, responses=_SVG)
def public_label(code: str, request: Request, platform: PlatformDep) -> Response:
    """Code, maker, chemistry, ratings and the QR code of the public page: public-tier data only."""
    passport = get_passport(platform.store, code)
    return Response(interop.label(passport, _base(request, platform)), media_type="image/svg+xml")
