"""EPCIS 2.0 capture: our documents come back as the same native events; anything else is refused
with the event index, field and value — never a crash."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from battrace.errors import ValidationError
from battrace.interop.epcis import EpcisNotUnderstood, from_epcis_document, to_epcis_document
from tests.conftest import shared_path
from tests.interop.strategies import FIELDS, any_native_event, native_event, stored_extras

CREATED = datetime(2026, 6, 1, 8, 0, tzinfo=UTC)
PRODUCED = {
    "event_id": "p-0001", "type": "battery.produced", "occurred_at": "2026-05-06T09:30:00+08:00",
    "reporter": "91350900MA2XN5AB1T", "battery": "07HPE010000000G560000001", "model": "P-100",
    "rated_capacity_ah": 150, "nominal_voltage_v": 350.4, "rated_energy_kwh": 52.6, "mass_kg": 360,
}
HANDED = {
    "event_id": "h-1", "type": "battery.handed_over", "occurred_at": "2026-07-01T08:00:00+08:00",
    "reporter": "91350900MA2XN5AB1T", "batteries": ["07HPE010000000G560000001"], "to": "91440300MA5FXXC12L",
}


def _doc(*events: dict[str, Any]) -> dict[str, Any]:
    return to_epcis_document(list(events), created_at=CREATED)


def _refusal(doc: Any) -> EpcisNotUnderstood:
    with pytest.raises(EpcisNotUnderstood) as info:
        from_epcis_document(doc)
    return info.value


def test_not_understood_is_a_validation_error_with_a_stable_code() -> None:
    err = _refusal({"type": "EPCISQueryDocument"})
    assert isinstance(err, ValidationError)
    assert err.code == "epcis_not_understood" and err.status == 422
    assert err.to_dict()["context"] == {"event_index": None, "field": "type", "value": "EPCISQueryDocument"}


@pytest.mark.parametrize("event_type", sorted(FIELDS))
@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_round_trip_gives_the_same_event_for_every_type(event_type: str, data: st.DataObject) -> None:
    event = data.draw(native_event(event_type))
    assert from_epcis_document(_doc(event)) == [event]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(events=st.lists(any_native_event, max_size=6), extras=stored_extras)
def test_round_trip_of_stored_events_drops_only_the_platform_extras(events: list[dict[str, Any]],
                                                                    extras: dict[str, Any]) -> None:
    doc = to_epcis_document([{**e, **extras} for e in events], created_at=CREATED)
    assert from_epcis_document(json.loads(json.dumps(doc))) == events


def test_capture_accepts_any_prefix_bound_to_our_namespace() -> None:
    doc = json.loads(json.dumps(_doc(PRODUCED)).replace('"bt:', '"battrace:'))
    doc["@context"][1] = {"battrace": "https://battrace.org/epcis/"}
    assert from_epcis_document(doc) == [PRODUCED]


def test_capture_accepts_full_iris_and_cbv_web_uris() -> None:
    doc = _doc(PRODUCED)
    ev = doc["epcisBody"]["eventList"][0]
    ev["bizStep"] = "https://ref.gs1.org/cbv/BizStep-commissioning"
    ev["disposition"] = "https://ref.gs1.org/cbv/Disp-active"
    ev["https://battrace.org/epcis/event_id"] = ev.pop("bt:event_id")
    assert from_epcis_document(doc) == [PRODUCED]


def test_an_empty_document_captures_nothing() -> None:
    assert from_epcis_document(_doc()) == []


def test_refusal_names_the_event_and_the_foreign_extension() -> None:
    doc = _doc(PRODUCED, HANDED)
    doc["epcisBody"]["eventList"][1]["example:colour"] = "red"
    err = _refusal(doc)
    assert err.context == {"event_index": 1, "field": "example:colour", "value": "red"}


def test_refusal_names_a_biz_step_the_type_does_not_use() -> None:
    doc = _doc(PRODUCED)
    doc["epcisBody"]["eventList"][0]["bizStep"] = "shipping"
    err = _refusal(doc)
    assert (err.context["event_index"], err.context["field"], err.context["value"]) == (0, "bizStep", "shipping")


def test_refusal_names_a_foreign_identifier() -> None:
    doc = _doc(PRODUCED)
    doc["epcisBody"]["eventList"][0]["epcList"] = ["urn:epc:id:sgtin:0614141.107346.2017"]
    err = _refusal(doc)
    assert err.context["field"] == "epcList[0]"
    assert err.context["value"] == "urn:epc:id:sgtin:0614141.107346.2017"


def test_refusal_names_a_malformed_battery_code() -> None:
    doc = _doc(PRODUCED)
    doc["epcisBody"]["eventList"][0]["epcList"] = ["https://id.battrace.org/battery/07HXE010000000G560000001"]
    err = _refusal(doc)
    assert err.context["field"] == "epcList[0]" and "position 4" in err.message


def test_refusal_names_a_party_with_a_bad_check_character() -> None:
    doc = _doc(HANDED)
    doc["epcisBody"]["eventList"][0]["destinationList"][0]["destination"] = (
        "https://id.battrace.org/org/91440300MA5FXXC12X")
    err = _refusal(doc)
    assert err.context["event_index"] == 0 and err.context["field"] == "destinationList[0]"
    assert "check character" in err.message


def test_refusal_names_an_invalid_native_field() -> None:
    doc = _doc(HANDED, PRODUCED)
    doc["epcisBody"]["eventList"][1]["ilmd"]["bt:mass_kg"] = -1
    err = _refusal(doc)
    assert err.context == {"event_index": 1, "field": "bt:mass_kg", "value": -1}


def test_a_missing_event_type_is_read_from_the_shape_or_refused() -> None:
    doc = _doc(PRODUCED)
    del doc["epcisBody"]["eventList"][0]["bt:event_type"]
    assert from_epcis_document(doc) == [PRODUCED]
    doc["epcisBody"]["eventList"][0]["bizStep"] = "accepting"
    err = _refusal(doc)
    assert err.context["field"] == "bt:event_type" and "matches no battrace event type" in err.message


def test_refusal_names_a_schema_violation_inside_an_event() -> None:
    doc = _doc(PRODUCED, HANDED)
    doc["epcisBody"]["eventList"][1]["action"] = "UPSERT"
    err = _refusal(doc)
    assert err.context["event_index"] == 1 and err.context["field"] == "action"


def test_refusal_of_something_that_is_not_a_document() -> None:
    assert _refusal([1, 2]).context["field"] == "$"
    assert _refusal({"type": "EPCISDocument"}).context["event_index"] is None


def test_refusal_when_a_reporter_side_party_is_tampered() -> None:
    doc = _doc(HANDED)
    doc["epcisBody"]["eventList"][0]["sourceList"][0]["source"] = "https://id.battrace.org/org/91440300MA5FXXC12L"
    assert _refusal(doc).context["field"] == "sourceList"


def test_error_declarations_are_refused() -> None:
    doc = _doc(PRODUCED)
    doc["epcisBody"]["eventList"][0]["errorDeclaration"] = {"declarationTime": "2026-06-01T00:00:00Z"}
    assert _refusal(doc).context["field"] == "errorDeclaration"


def _examples() -> list[Path]:
    root = shared_path("anchors", "epcis", "JSON")
    return sorted(root.rglob("*.jsonld"))


# every official example: either imported, or refused naming event, field and value — never a crash
EXPECTED_REFUSALS = {
    "AssociationEvent-a.jsonld": (0, "parentID"),
    "AssociationEvent-b.jsonld": (0, "parentID"),
    "EPCISQueryDocument.jsonld": (None, "type"),
    "Example-TransactionEvents-2020_07_03y.jsonld": (0, "epcList[0]"),
    "Example_9.6.1-ObjectEvent.jsonld": (0, "epcList[0]"),
    "Example_9.6.2-ObjectEvent.jsonld": (0, "example:myField"),
    "Example_9.6.3-AggregationEvent.jsonld": (0, "example:myField"),
    "Example_9.6.4-TransformationEvent.jsonld": (0, "example:myField"),
    "PersistentDisposition-example.jsonld": (0, "epcList[0]"),
    "Example_9.6.1-ObjectEventWithDigitalLink.jsonld": (0, "epcList[0]"),
    "ErrorDeclarationAndCorrectiveEvent.jsonld": (0, "errorDeclaration"),
    "Example_9.6.1-ObjectEvent-with-error-declaration.jsonld": (0, "errorDeclaration"),
    "aggregation_event_all_possible_fields.jsonld": (0, "ext1:float"),
    "association_event_all_possible_fields.jsonld": (0, "ext1:float"),
    "object_event_all_possible_fields.jsonld": (0, "ext1:float"),
    "transaction_event_all_possible_fields.jsonld": (0, "ext1:float"),
    "transformation_event_all_possible_fields.jsonld": (0, "ext1:float"),
    "SensorDataExample1.jsonld": (0, "epcList[0]"),
    "SensorDataExample2.jsonld": (0, "epcList[0]"),
    "SensorDataExample8.jsonld": (0, "parentID"),
}


def test_every_official_example_is_covered() -> None:
    assert {p.name for p in _examples()} == set(EXPECTED_REFUSALS)


@pytest.mark.parametrize("name", sorted(EXPECTED_REFUSALS))
def test_official_example_is_refused_precisely(name: str) -> None:
    path = next(p for p in _examples() if p.name == name)
    doc = json.loads(path.read_text("utf-8"))
    original = copy.deepcopy(doc)
    err = _refusal(doc)
    assert (err.context["event_index"], err.context["field"]) == EXPECTED_REFUSALS[name]
    assert err.context["value"] is not None
    assert doc == original  # capture never mutates its input


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(event=any_native_event, key=st.sampled_from(["bizStep", "disposition", "action", "eventTimeZoneOffset"]),
       value=st.sampled_from(["shipping", "destroyed", "OBSERVE", "+05:00"]))
def test_any_tampered_standard_field_is_refused_or_harmless(event: dict[str, Any], key: str, value: str) -> None:
    doc = _doc(event)
    ev = doc["epcisBody"]["eventList"][0]
    before = ev.get(key)
    ev[key] = value
    try:
        assert from_epcis_document(doc) == [event]
        assert before == value  # accepted only when nothing changed
    except EpcisNotUnderstood as err:
        assert err.context["event_index"] == 0
        # the schema ties ILMD to the action: OBSERVE on a commissioning event is refused at its ILMD
        coupled = ("ilmd",) if key == "action" else ()
        assert err.context["field"] in (key, "$", "type", *coupled)


def test_a_loose_timestamp_is_exported_valid_but_not_captured() -> None:
    # the ledger takes RFC 3339 only (issue 12): a space for the T is refused at capture as at ingest
    loose = {**PRODUCED, "occurred_at": "2026-05-06 09:30:00+08:00"}
    doc = _doc(loose)
    ev = doc["epcisBody"]["eventList"][0]
    assert ev["eventTime"] == "2026-05-06T09:30:00+08:00" and ev["bt:occurred_at"] == loose["occurred_at"]
    with pytest.raises(EpcisNotUnderstood, match="RFC 3339"):
        from_epcis_document(doc)
