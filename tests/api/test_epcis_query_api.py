"""The EPCIS 2.0 query interface over HTTP, queried the way an EPCIS client does; every response
document is validated against the official GS1 schemas in ../shared/anchors/epcis/."""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Any
from urllib.parse import parse_qsl, quote, urlparse

import pytest
from jsonschema import Draft7Validator, FormatChecker
from sqlalchemy import select

from battrace.interop.epcis_schema import is_datetime, is_uri
from battrace.storage import schema
from tests import story as s
from tests.api.conftest import Api
from tests.conftest import shared_path

PACK_URI = f"https://id.battrace.org/battery/{s.PACK}"
SPARE_URI = f"https://id.battrace.org/battery/{s.SPARE}"
EVENTS = "/api/v1/epcis/events"


def _checker() -> FormatChecker:
    checker = FormatChecker(formats=())
    checker.checks("uri")(is_uri)
    checker.checks("date-time")(is_datetime)
    return checker


@lru_cache(maxsize=1)
def _document_validator() -> Draft7Validator:
    doc = json.loads(shared_path("anchors", "epcis", "EPCIS-JSON-Schema.json").read_text("utf-8"))
    return Draft7Validator(doc, format_checker=_checker())


def _openapi_validator(component: str) -> Draft7Validator:
    api = json.loads(shared_path("anchors", "epcis", "REST Bindings", "openapi.json").read_text("utf-8"))
    return Draft7Validator({**api["components"]["schemas"][component], "components": api["components"]},
                           format_checker=_checker())


def _valid_query_document(body: dict[str, Any]) -> list[dict[str, Any]]:
    errors = [f"{list(e.absolute_path)}: {e.message}" for e in _document_validator().iter_errors(body)]
    assert not errors, errors[:5]
    assert body["type"] == "EPCISQueryDocument"
    events: list[dict[str, Any]] = body["epcisBody"]["queryResults"]["resultsBody"]["eventList"]
    return events


def _get(api: Api, url: str, role: str = "admin", **params: str) -> Any:
    r = api.client.get(url, params=params, headers=api.headers(role))
    return r


def _export(api: Api, code: str) -> list[dict[str, Any]]:
    r = api.client.get(f"/api/v1/batteries/{code}/epcis", headers=api.headers("admin"))
    assert r.status_code == 200
    events: list[dict[str, Any]] = r.json()["epcisBody"]["eventList"]
    return events


def _all_pages(api: Api, role: str, url: str, params: dict[str, str]) -> tuple[list[dict[str, Any]], int]:
    """Follow the Link rel=next headers as an EPCIS client does; (events, pages)."""
    r = api.client.get(url, params=params, headers=api.headers(role))
    out, pages = [], 0
    while True:
        assert r.status_code == 200, r.text
        assert r.headers["content-type"].startswith("application/ld+json")
        assert r.headers["GS1-EPCIS-Version"] == "2.0"
        out += _valid_query_document(r.json())
        pages += 1
        link = r.headers.get("link")
        if link is None:
            return out, pages
        target = link.split(">")[0].lstrip("<")
        assert link.endswith('rel="next"')
        parsed = urlparse(target)
        r = api.client.get(parsed.path, params=parse_qsl(parsed.query), headers=api.headers(role))


def test_a_battery_queried_page_by_page_is_its_export(story_api: Api) -> None:
    url = f"/api/v1/epcis/epcs/{quote(PACK_URI, safe='')}/events"
    events, pages = _all_pages(story_api, "maker", url, {"perPage": "2"})
    export = _export(story_api, s.PACK)
    assert pages == (len(export) + 1) // 2 and pages > 2
    assert events == export  # same events, same eventIDs, same order
    by_code, _ = _all_pages(story_api, "maker", f"/api/v1/epcis/epcs/{s.PACK}/events", {"perPage": "1000"})
    assert by_code == export
    # MATCH_anyEPC: the events that name the battery in an EPC slot (the standard's meaning)
    named, _ = _all_pages(story_api, "maker", EVENTS, {"MATCH_anyEPC": PACK_URI, "perPage": "3"})
    slots = ("epcList", "childEPCs", "inputEPCList", "outputEPCList")
    assert named == [e for e in export if PACK_URI in [e.get("parentID")] + [x for k in slots for x in e.get(k, [])]]
    assert 0 < len(named) < len(export)


def test_standard_filters_narrow_the_result(story_api: Api) -> None:
    export = _export(story_api, s.PACK)
    cases: list[tuple[dict[str, str], Any]] = [
        ({"eventType": "ObjectEvent"}, lambda e: e["type"] == "ObjectEvent"),
        ({"eventType": "AssociationEvent|TransformationEvent"},
         lambda e: e["type"] in ("AssociationEvent", "TransformationEvent")),
        ({"EQ_bizStep": "receiving"}, lambda e: e.get("bizStep") == "receiving"),
        ({"EQ_bizStep": "urn:epcglobal:cbv:bizstep:shipping"}, lambda e: e.get("bizStep") == "shipping"),
        ({"EQ_disposition": "https://ref.gs1.org/cbv/Disp-in_transit"}, lambda e: e.get("disposition") == "in_transit"),
        ({"GE_eventTime": "2025-06-01T00:00:00+08:00", "LT_eventTime": "2026-02-02T00:00:00Z"},
         lambda e: "2025-06-01" <= e["eventTime"][:10] <= "2026-02-01"),
        ({"EQ_readPoint": "https://id.battrace.org/region/440300"},
         lambda e: e.get("readPoint", {}).get("id") == "https://id.battrace.org/region/440300"),
        ({"EQ_bizLocation": "https://id.battrace.org/region/440300"}, lambda e: "bizLocation" in e),
        ({"MATCH_epc": PACK_URI}, lambda e: PACK_URI in e.get("epcList", []) + e.get("childEPCs", [])),
        ({"EQ_action": "ADD"}, lambda e: e.get("action") == "ADD"),
    ]
    url = f"/api/v1/epcis/epcs/{s.PACK}/events"
    for params, keep in cases:
        if "MATCH_epc" in params:
            got, _ = _all_pages(story_api, "maker", EVENTS, {"perPage": "1000", **params})
        else:
            got, _ = _all_pages(story_api, "maker", url, {"perPage": "1000", **params})
        expected = [e for e in export if keep(e)]
        assert got == expected, params
    assert any(len([e for e in export if keep(e)]) not in (0, len(export)) for _, keep in cases)


def test_record_time_window_and_event_id(story_api: Api) -> None:
    export = _export(story_api, s.PACK)
    url = f"/api/v1/epcis/epcs/{s.PACK}/events"
    got, _ = _all_pages(story_api, "maker", url, {"GE_recordTime": export[0]["recordTime"]})
    assert len(got) == len(export)
    got, _ = _all_pages(story_api, "maker", url, {"LT_recordTime": "2000-01-01T00:00:00Z"})
    assert got == []
    target = export[3]
    got, _ = _all_pages(story_api, "maker", url, {"EQ_eventID": target["eventID"]})
    assert got == [target]
    r = _get(story_api, f"{EVENTS}/{quote(target['eventID'], safe='')}", "maker")
    assert r.status_code == 200, r.text
    assert _valid_query_document(r.json()) == [target]


def test_event_types_resource(story_api: Api) -> None:
    r = _get(story_api, "/api/v1/epcis/eventTypes", "anonymous")
    assert r.status_code == 200
    body = r.json()
    errors = [e.message for e in _openapi_validator("EventTypeCollection").iter_errors(body)]
    assert not errors, errors
    assert set(body["member"]) == {"ObjectEvent", "AggregationEvent", "TransactionEvent", "TransformationEvent",
                                   "AssociationEvent"}


def _audit(api: Api, action: str) -> list[tuple[str | None, bool]]:
    a = schema.audit_log
    with api.platform.store.reader() as conn:
        rows = conn.execute(select(a.c.actor_org, a.c.allowed).where(a.c.action == action).order_by(a.c.id))
        return [(r.actor_org, bool(r.allowed)) for r in rows]


def test_access_tiers_are_those_of_the_export(story_api: Api) -> None:
    assert _get(story_api, EVENTS, "anonymous", MATCH_anyEPC=PACK_URI).status_code == 401
    r = _get(story_api, EVENTS, "unrelated", MATCH_anyEPC=PACK_URI)
    assert r.status_code == 403 and r.json()["code"] == "forbidden"
    assert (s.SWAPPER, False) in _audit(story_api, "epcis.query")
    assert _get(story_api, EVENTS, "maker", MATCH_anyEPC=PACK_URI).status_code == 200
    assert (s.BATTERY_MAKER, True) in _audit(story_api, "epcis.query")
    # naming no battery: the whole ledger, for the admin only
    r = _get(story_api, EVENTS, "maker", eventType="ObjectEvent")
    assert r.status_code == 400 and r.json()["context"]["parameter"] == "MATCH_epc"
    everything, _ = _all_pages(story_api, "admin", EVENTS, {"perPage": "1000"})
    assert len(everything) == len(s.story())
    # an event by ID: the unrelated organisation is refused, an unknown ID is 404
    target = _export(story_api, s.PACK)[0]
    assert _get(story_api, f"{EVENTS}/{quote(target['eventID'], safe='')}", "unrelated").status_code == 403
    missing = "ni:///sha-256;" + "0" * 64 + "?ver=CBV2.0"
    assert _get(story_api, f"{EVENTS}/{quote(missing, safe='')}", "admin").status_code == 404


@pytest.mark.parametrize(("params", "parameter"), [
    ({"EQ_colour": "red"}, "EQ_colour"),
    ({"GE_eventTime": "yesterday"}, "GE_eventTime"),
    ({"GE_eventTime": "2026-01-01T00:00:00"}, "GE_eventTime"),
    ({"perPage": "0"}, "perPage"),
    ({"perPage": "many"}, "perPage"),
    ({"nextPageToken": "not-a-token"}, "nextPageToken"),
    ({"nextPageToken": "eyJvIjoxZTQwMCwicSI6IngifQ"}, "nextPageToken"),  # {"o":1e400,"q":"x"}
    ({"MATCH_epc": "urn:epc:idpat:sgtin:0614141.107346.*"}, "MATCH_epc"),
    ({"MATCH_epc": f"https://id.battrace.org/vehicle/{s.VIN}"}, "MATCH_epc"),
])
def test_bad_parameters_are_named(story_api: Api, params: dict[str, str], parameter: str) -> None:
    r = _get(story_api, EVENTS, "admin", **params)
    assert r.status_code == 400, r.text
    body = r.json()
    assert body["code"] == "epcis_query_invalid" and body["context"]["parameter"] == parameter
    assert parameter in body["error"]


def test_a_page_token_only_continues_its_own_query(story_api: Api) -> None:
    r = _get(story_api, EVENTS, "admin", MATCH_anyEPC=PACK_URI, perPage="1")
    token = dict(parse_qsl(urlparse(r.headers["link"].split(">")[0].lstrip("<")).query))["nextPageToken"]
    r = _get(story_api, EVENTS, "admin", MATCH_anyEPC=SPARE_URI, perPage="1", nextPageToken=token)
    assert r.status_code == 400 and r.json()["context"]["parameter"] == "nextPageToken"


def test_a_partner_system_captures_a_plain_epcis_event_over_http(api: Api) -> None:
    """The outlet's EPCIS system reports receiving a battery (handed over to it below) without any
    battrace term; the event is stored, its extra fields kept, and the query gives them back."""
    story_api = api
    for role, event in (
        ("maker", s.ev(1, "battery.produced", s.BATTERY_MAKER, "2026-05-01T10:00:00+08:00", battery=s.SPARE,
                       **s.FIG)),
        ("maker", s.ev(2, "battery.handed_over", s.BATTERY_MAKER, "2026-06-01T10:00:00+08:00",
                       batteries=[s.SPARE], to=s.OUTLET)),
    ):
        r = api.client.post("/api/v1/events", json=event, headers=api.headers(role))
        assert r.status_code == 200 and r.json()["accepted"] == 1, r.json()
    extra = {"readPoint": {"id": "urn:epc:id:sgln:0614141.07346.1234"},
             "bizTransactionList": [{"type": "desadv", "bizTransaction": "urn:epcglobal:cbv:bt:0614141073467:1"}]}
    event = {"type": "ObjectEvent", "eventID": "urn:uuid:0b7e6f1c-1111-4e2a-9c3d-5a6b7c8d9e0f",
             "eventTime": "2026-06-02T10:00:00+08:00", "eventTimeZoneOffset": "+08:00", "epcList": [SPARE_URI],
             "action": "OBSERVE", "bizStep": "receiving", "disposition": "in_progress",
             "sourceList": [{"type": "possessing_party", "source": f"https://id.battrace.org/org/{s.BATTERY_MAKER}"}],
             "destinationList": [{"type": "possessing_party",
                                  "destination": f"https://id.battrace.org/org/{s.OUTLET}"}], **extra}
    doc = {"@context": ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"], "type": "EPCISDocument",
           "schemaVersion": "2.0", "creationDate": "2026-06-02T11:00:00+08:00", "epcisBody": {"eventList": [event]}}
    r = story_api.client.post("/api/v1/epcis/capture", json=doc, headers=story_api.headers("outlet"))
    assert r.status_code == 200 and r.json()["accepted"] == 1, r.text
    got, _ = _all_pages(story_api, "outlet", f"/api/v1/epcis/epcs/{s.SPARE}/events",
                        {"EQ_bizStep": "receiving", "GE_eventTime": "2026-06-02T00:00:00+08:00"})
    (mine,) = [e for e in got if e.get("bt:event_id") == event["eventID"]]
    assert mine["readPoint"] == extra["readPoint"] and mine["bizTransactionList"] == extra["bizTransactionList"]


def test_the_ledger_scan_on_both_databases(db_url: str) -> None:
    """The admin's unnamed query and the lookup by eventID read the ledger in chunks (SQLite and
    PostgreSQL)."""
    from tests.api.conftest import _org_of, build

    api = build(db_url)
    try:
        by_org = {_org_of(api, role): role for role in api.keys if role != "admin"}
        for event in s.story()[:6]:
            r = api.client.post("/api/v1/events", json=event, headers=api.headers(by_org[event["reporter"]]))
            assert r.status_code == 200 and r.json()["accepted"] == 1, r.json()
        everything, pages = _all_pages(api, "admin", EVENTS, {"perPage": "4"})
        assert len(everything) == 6 and pages == 2
        assert [e["bt:seq"] for e in everything] == sorted(e["bt:seq"] for e in everything)
        target = everything[-1]
        r = _get(api, f"{EVENTS}/{quote(target['eventID'], safe='')}", "admin")
        assert r.status_code == 200 and _valid_query_document(r.json()) == [target]
    finally:
        api.platform.close()
