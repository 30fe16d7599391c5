"""Capture of what partners' EPCIS systems send: events written without the battrace vocabulary and
with extra standard fields are read when they map to our contract; the extra fields are kept
verbatim in ``data.epcis`` and come back in place on export; what cannot map is still refused."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any

import pytest

from battrace.interop.epcis import (
    EpcisNotUnderstood,
    event_hash,
    from_epcis_document,
    to_epcis_document,
    to_epcis_event,
)
from battrace.interop.epcis_common import EPCIS_CONTEXT_URL
from battrace.interop.epcis_hash import context_prefixes
from battrace.interop.epcis_schema import first_schema_error

CREATED = datetime(2026, 6, 1, 8, 0, tzinfo=UTC)
BATTERY = "07HPE010000000G560000001"
OUTLET = "91440300MA5FXXC12L"
MAKER = "91350900MA2XN5AB1T"
EXTRAS = {
    "readPoint": {"id": "urn:epc:id:sgln:0614141.07346.1234"},
    "bizLocation": {"id": "https://id.gs1.org/414/0614141073467"},
    "bizTransactionList": [{"type": "desadv", "bizTransaction": "urn:epcglobal:cbv:bt:0614141073467:1152"}],
    "sensorElementList": [{"sensorMetadata": {"time": "2026-07-02T08:00:00+08:00"},
                           "sensorReport": [{"type": "Temperature", "value": 21.5, "uom": "CEL"}]}],
}


def _partner_event(**changes: Any) -> dict[str, Any]:
    """A receiving event as a partner's EPCIS system writes it: no bt: terms at all."""
    event: dict[str, Any] = {
        "type": "ObjectEvent",
        "eventID": "urn:uuid:6d9f3c2e-2b1a-4c55-9d7e-0a1b2c3d4e5f",
        "eventTime": "2026-07-02T09:00:00+08:00",
        "eventTimeZoneOffset": "+08:00",
        "epcList": [f"https://id.battrace.org/battery/{BATTERY}"],
        "action": "OBSERVE",
        "bizStep": "receiving",
        "disposition": "in_progress",
        "sourceList": [{"type": "possessing_party", "source": f"https://id.battrace.org/org/{MAKER}"}],
        "destinationList": [{"type": "possessing_party", "destination": f"https://id.battrace.org/org/{OUTLET}"}],
        **copy.deepcopy(EXTRAS),
    }
    event.update(changes)
    return event


def _doc(*events: dict[str, Any]) -> dict[str, Any]:
    return {"@context": [EPCIS_CONTEXT_URL], "type": "EPCISDocument", "schemaVersion": "2.0",
            "creationDate": "2026-07-02T10:00:00+08:00", "epcisBody": {"eventList": list(events)}}


def test_a_partner_event_that_maps_is_read_with_its_extra_fields_verbatim() -> None:
    doc = _doc(_partner_event())
    assert first_schema_error(doc) is None
    (native,) = from_epcis_document(doc, reporter=OUTLET)
    assert native == {
        "event_id": "urn:uuid:6d9f3c2e-2b1a-4c55-9d7e-0a1b2c3d4e5f", "type": "battery.received",
        "occurred_at": "2026-07-02T09:00:00+08:00", "reporter": OUTLET, "batteries": [BATTERY], "from": MAKER,
        "data": {"epcis": EXTRAS},
    }


def test_the_export_puts_the_extra_fields_back_in_place() -> None:
    (native,) = from_epcis_document(_doc(_partner_event()), reporter=OUTLET)
    exported = to_epcis_event(native)
    for name, value in EXTRAS.items():
        assert exported[name] == value
    assert "bt:data" not in exported
    assert first_schema_error(to_epcis_document([native], created_at=CREATED)) is None
    # the exported event differs from the partner's only by the battrace envelope terms
    body = {k: v for k, v in exported.items() if not k.startswith("bt:") and k not in ("eventID", "@context")}
    theirs = {k: v for k, v in _partner_event().items() if k != "eventID"}
    assert event_hash(body, prefixes=context_prefixes(exported["@context"])) == event_hash(theirs)


def test_native_events_with_partner_fields_round_trip_unchanged() -> None:
    (native,) = from_epcis_document(_doc(_partner_event()), reporter=OUTLET)
    native["data"]["note"] = "kept"
    again = from_epcis_document(to_epcis_document([native], created_at=CREATED))
    assert again == [native]


def test_a_region_read_point_stays_the_region() -> None:
    event = _partner_event(readPoint={"id": "https://id.battrace.org/region/440300"})
    (native,) = from_epcis_document(_doc(event), reporter=OUTLET)
    assert native["region"] == "440300" and "readPoint" not in native["data"]["epcis"]


def _refused(event: dict[str, Any], reporter: str | None = OUTLET) -> EpcisNotUnderstood:
    with pytest.raises(EpcisNotUnderstood) as info:
        from_epcis_document(_doc(event), reporter=reporter)
    return info.value


@pytest.mark.parametrize(("changes", "field"), [
    ({"epcList": ["urn:epc:id:sgtin:0614141.107346.2017"]}, "epcList[0]"),  # not our identifier
    ({"example:colour": "red"}, "example:colour"),  # a foreign user extension
    ({"errorDeclaration": {"declarationTime": "2026-07-03T00:00:00Z"}}, "errorDeclaration"),
    ({"bizStep": "accepting"}, "bt:event_type"),  # a shape no battrace type has
    ({"eventID": None}, "eventID"),  # no identity for the event
    ({"bt:data": "free text"}, "bt:data"),  # nowhere to keep the extra fields
    ({"destinationList": [{"type": "possessing_party", "destination": f"https://id.battrace.org/org/{MAKER}"}]},
     "destinationList"),  # the receiver is not the reporter
])
def test_what_cannot_map_is_still_refused_naming_the_field(changes: dict[str, Any], field: str) -> None:
    event = _partner_event(**changes)
    event = {k: v for k, v in event.items() if v is not None}
    if "example:colour" in event or "bt:data" in event:
        event["@context"] = [{"example": "https://example.org/", "bt": "https://battrace.org/epcis/"}]
    err = _refused(event)
    assert err.context["event_index"] == 0 and err.context["field"] == field, err.message


def test_without_a_reporter_an_event_must_name_one() -> None:
    err = _refused(_partner_event(), reporter=None)
    assert err.context["field"] == "bt:reporter" and "reporter" in err.message


@pytest.mark.parametrize(("native", "shape"), [
    ({"event_id": "d-1", "type": "battery.discarded", "occurred_at": "2026-07-01T08:00:00+08:00",
      "reporter": MAKER, "battery": BATTERY, "reason": "end-of-line failure"},
     ("ObjectEvent", "OBSERVE", "decommissioning", "damaged")),
    ({"event_id": "r-1", "type": "product.returned", "occurred_at": "2026-07-01T08:00:00+08:00",
      "reporter": OUTLET, "battery": BATTERY, "reason": "end of second life", "from_customer": "某储能电站"},
     ("ObjectEvent", "OBSERVE", "receiving", "returned")),
])
def test_the_two_new_event_types_map_as_events_md_says(native: dict[str, Any], shape: tuple[str, ...]) -> None:
    event = to_epcis_event(native)
    assert (event["type"], event["action"], event["bizStep"], event["disposition"]) == shape
    assert event["epcList"] == [f"https://id.battrace.org/battery/{BATTERY}"]
    assert event["bt:reason"] == native["reason"]
    assert first_schema_error(to_epcis_document([native], created_at=CREATED)) is None
