"""The EPCIS 2.0 query interface (REST binding) under ``/epcis``.

* ``GET /epcis/events`` — the standard query parameters (``eventType``, ``GE_/LT_eventTime``,
  ``GE_/LT_recordTime``, ``EQ_action``, ``EQ_bizStep``, ``EQ_disposition``, ``EQ_readPoint``,
  ``EQ_bizLocation``, ``EQ_transformationID``, ``EQ_eventID``, ``MATCH_epc``, ``MATCH_anyEPC``,
  ``MATCH_parentID``, ``MATCH_inputEPC``, ``MATCH_outputEPC``; ``|`` separates values), ``perPage``
  and ``nextPageToken``; the next page is announced in a ``Link: <…>; rel="next"`` header;
* ``GET /epcis/events/{eventID}`` — one event by its CBV 2.0 event hash;
* ``GET /epcis/eventTypes`` — the event types held;
* ``GET /epcis/epcs/{epc}/events`` — one battery's events (the same filters).

Answers are ``EPCISQueryDocument``s whose events are exactly those of the battery export. Access:
see :mod:`battrace.services.epcis_query`. Bad parameters: ``400 epcis_query_invalid``.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request, Response

from battrace.api.deps import CallerDep, PlatformDep
from battrace.interop.epcis_query import (
    PARAMETERS,
    EpcisQueryInvalid,
    event_types_collection,
    parse_query,
    query_document,
)
from battrace.services import epcis_query

router = APIRouter(tags=["epcis"])

LD_JSON = "application/ld+json"
_HEADERS = {"GS1-EPCIS-Version": "2.0", "GS1-CBV-Version": "2.0"}
_DOC: dict[int | str, dict[str, Any]] = {
    200: {"content": {LD_JSON: {"schema": {"type": "object"}}}, "description": "EPCISQueryDocument (JSON-LD)"}
}
_QUERY_PARAMETERS = {
    "parameters": [
        {"name": name, "in": "query", "required": False, "schema": {"type": "string"},
         "description": "EPCIS 2.0 query parameter (values separated by |)"}
        for name in sorted(PARAMETERS)
    ]
}


def _ld_json(body: Any, headers: dict[str, str] | None = None) -> Response:
    return Response(json.dumps(body, ensure_ascii=False, default=str), media_type=LD_JSON,
                    headers={**_HEADERS, **(headers or {})})


def _page(request: Request, platform: PlatformDep, caller: CallerDep, battery: str | None = None) -> Response:
    params = list(request.query_params.multi_items())
    query = parse_query(params + ([("epc", battery)] if battery is not None else []))
    events, token = epcis_query.query_events(platform, caller, query, battery=battery)
    headers = {}
    if token is not None:
        kept = [(k, v) for k, v in params if k != "nextPageToken"] + [("nextPageToken", token)]
        headers["Link"] = f'<{request.url.replace(query=urlencode(kept))}>; rel="next"'
    return _ld_json(query_document(events, created_at=platform.now()), headers)


@router.get("/epcis/events", summary="EPCIS 2.0 event query", response_class=Response, responses=_DOC,
            openapi_extra=_QUERY_PARAMETERS)
def epcis_events(request: Request, platform: PlatformDep, caller: CallerDep) -> Response:
    """Events selected by the standard query parameters, one page (`perPage`, default 30) per call.
    Name the batteries with `MATCH_epc` / `MATCH_anyEPC` (participant tier on each; audited);
    only the platform admin may query without naming one."""
    return _page(request, platform, caller)


@router.get("/epcis/eventTypes", summary="EPCIS event types held", response_class=Response, responses=_DOC)
def epcis_event_types() -> Response:
    return _ld_json(event_types_collection())


@router.get("/epcis/events/{event_id:path}", summary="One EPCIS event by its eventID", response_class=Response,
            responses=_DOC)
def epcis_event(event_id: str, platform: PlatformDep, caller: CallerDep) -> Response:
    """`event_id` is the CBV 2.0 event hash (`ni:///sha-256;…?ver=CBV2.0`, percent-encoded)."""
    event = epcis_query.find_event(platform, caller, event_id)
    return _ld_json(query_document([event], created_at=platform.now()))


@router.get("/epcis/epcs/{epc:path}/events", summary="One battery's EPCIS events", response_class=Response,
            responses=_DOC, openapi_extra=_QUERY_PARAMETERS)
def epcis_epc_events(epc: str, request: Request, platform: PlatformDep, caller: CallerDep) -> Response:
    """The battery's whole history exactly as exported (`epc`: its URI, percent-encoded, or its code),
    narrowed by the query parameters."""
    if any(k.startswith("MATCH_") for k in request.query_params):
        raise EpcisQueryInvalid("MATCH_anyEPC", "the EPC is given in the path; leave out MATCH_ parameters")
    return _page(request, platform, caller, epc)
