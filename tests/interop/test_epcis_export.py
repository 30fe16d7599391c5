"""Native events → EPCIS 2.0: every export validates against the official JSON schema."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from importlib import resources
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from battrace.errors import InvalidEvent
from battrace.interop.epcis import (
    BT_NS,
    MAPPING,
    battrace_context,
    event_hash,
    first_schema_error,
    is_valid,
    to_epcis_document,
    to_epcis_event,
)
from battrace.interop.epcis_common import parse_id_uri
from battrace.interop.epcis_hash import context_prefixes
from tests.conftest import shared_path
from tests.interop.strategies import FIELDS, any_native_event, native_event, stored_extras

CREATED = datetime(2026, 6, 1, 8, 0, tzinfo=UTC)
PRODUCED = {
    "event_id": "p-0001", "type": "battery.produced", "occurred_at": "2026-05-06T09:30:00+08:00",
    "reporter": "91350900MA2XN5AB1T", "battery": "07HPE010000000G560000001", "model": "P-100",
    "rated_capacity_ah": 150, "nominal_voltage_v": 350.4, "rated_energy_kwh": 52.6, "mass_kg": 360,
}
CERTIFIED = {
    "event_id": "v-0001", "type": "vehicle.certified", "occurred_at": "2026-05-20T10:00:00+08:00",
    "reporter": "91440300MA5FXXC12L", "vin": "LGXCE4CB8T0000001", "vehicle_model": "E1", "swap_model": False,
    "batteries": ["07HPE010000000G560000001"], "certificate_no": "WAB1234567",
}


def test_the_shipped_schema_is_the_official_one() -> None:
    shipped = resources.files("battrace.interop.data.epcis").joinpath("EPCIS-JSON-Schema.json").read_text("utf-8")
    official = shared_path("anchors", "epcis", "EPCIS-JSON-Schema.json").read_text("utf-8")
    assert json.loads(shipped) == json.loads(official)


def test_the_shipped_schema_has_its_licence() -> None:
    licence = resources.files("battrace.interop.data.epcis").joinpath("LICENSE").read_text("utf-8")
    assert "GS1" in licence


def test_produced_maps_to_a_commissioning_object_event_with_ilmd() -> None:
    ev = to_epcis_event(PRODUCED)
    assert ev["type"] == "ObjectEvent"
    assert ev["action"] == "ADD" and ev["bizStep"] == "commissioning" and ev["disposition"] == "active"
    assert ev["epcList"] == ["https://id.battrace.org/battery/07HPE010000000G560000001"]
    assert ev["ilmd"] == {"bt:model": "P-100", "bt:rated_capacity_ah": 150, "bt:nominal_voltage_v": 350.4,
                          "bt:rated_energy_kwh": 52.6, "bt:mass_kg": 360}
    assert ev["eventTime"] == "2026-05-06T09:30:00+08:00" and ev["eventTimeZoneOffset"] == "+08:00"
    assert ev["bt:event_id"] == "p-0001" and ev["bt:reporter"] == "91350900MA2XN5AB1T"
    assert first_schema_error(ev) is None


def test_certified_maps_to_an_association_of_packs_to_the_vehicle() -> None:
    ev = to_epcis_event(CERTIFIED)
    assert (ev["type"], ev["action"], ev["bizStep"]) == ("AssociationEvent", "ADD", "installing")
    assert ev["parentID"] == "https://id.battrace.org/vehicle/LGXCE4CB8T0000001"
    assert ev["childEPCs"] == ["https://id.battrace.org/battery/07HPE010000000G560000001"]
    assert ev["bt:swap_model"] is False and ev["bt:certificate_no"] == "WAB1234567"


def test_event_id_is_the_event_hash_of_the_exported_event() -> None:
    ev = to_epcis_event(PRODUCED)
    body = {k: v for k, v in ev.items() if k != "eventID"}
    assert ev["eventID"] == event_hash(body, prefixes=context_prefixes(ev["@context"]))
    assert ev["eventID"].startswith("ni:///sha-256;") and ev["eventID"].endswith("?ver=CBV2.0")


def test_event_id_changes_when_any_field_changes() -> None:
    ids = {to_epcis_event({**PRODUCED, **change})["eventID"] for change in (
        {}, {"model": "P-101"}, {"mass_kg": 361}, {"occurred_at": "2026-05-06T09:30:01+08:00"},
        {"data": {"line": 3}}, {"region": "350100"},
    )}
    assert len(ids) == 6


def test_event_id_ignores_the_record_time() -> None:
    a = to_epcis_event({**PRODUCED, "recorded_at": "2026-05-06T10:00:00+08:00"})
    b = to_epcis_event({**PRODUCED, "recorded_at": "2026-05-07T10:00:00+08:00"})
    assert a["eventID"] == b["eventID"] and a["recordTime"] != b["recordTime"]


def test_stored_extras_travel_as_extensions() -> None:
    ev = to_epcis_event({**PRODUCED, "seq": 7, "hash": "ab" * 32, "imported": True,
                         "recorded_at": "2026-05-06T10:00:00+08:00"})
    assert ev["bt:seq"] == 7 and ev["bt:ledger_hash"] == "ab" * 32 and ev["bt:imported"] is True
    assert ev["recordTime"] == "2026-05-06T10:00:00+08:00"


def test_region_becomes_the_read_point() -> None:
    assert to_epcis_event({**PRODUCED, "region": "350100"})["readPoint"] == {
        "id": "https://id.battrace.org/region/350100"}


@pytest.mark.parametrize(("event", "expected"), [
    ({"type": "battery.replaced", "vin": "LGXCE4CB8T0000001", "removed": "07HPE010000000G560000001",
      "reason": "fault"}, ("AssociationEvent", "DELETE", "07HPE010000000G560000001")),
    ({"type": "battery.replaced", "vin": "LGXCE4CB8T0000001", "removed": "07HPE010000000G560000001",
      "installed": "07HPE010000000G560000002", "reason": "fault"},
     ("AssociationEvent", "ADD", "07HPE010000000G560000002")),
    ({"type": "battery.swapped", "vin": "LGXCE4CB8T0000001", "removed": "07HPE010000000G560000001",
      "installed": "07HPE010000000G560000002"}, ("AssociationEvent", "ADD", "07HPE010000000G560000002")),
    ({"type": "battery.removed", "vin": "LGXCE4CB8T0000001", "battery": "07HPE010000000G560000001"},
     ("AssociationEvent", "DELETE", "07HPE010000000G560000001")),
])
def test_association_events_carry_the_pack_that_is_bound_or_unbound(event: dict[str, Any],
                                                                    expected: tuple[str, str, str]) -> None:
    ev = to_epcis_event({**event, "event_id": "x", "occurred_at": "2026-05-06T09:30:00+08:00",
                         "reporter": "91350900MA2XN5AB1T"})
    assert (ev["type"], ev["action"], parse_id_uri(ev["childEPCs"][0])[1]) == expected  # type: ignore[index]
    assert is_valid(ev)


def test_tested_carries_measurements_as_sensor_reports() -> None:
    ev = to_epcis_event({"event_id": "t1", "type": "battery.tested", "occurred_at": "2026-05-06T09:30:00+08:00",
                         "reporter": "91350900MA2XN5AB1T", "battery": "07HPE010000000G560000001", "soh": 0.83,
                         "measured_capacity_ah": 124.5, "internal_resistance_mohm": 1.9, "method": "pulse"})
    reports = ev["sensorElementList"][0]["sensorReport"]
    assert {"type": "bt:state_of_health", "value": 0.83} in reports
    assert {"type": "ElectricCharge", "value": 124.5, "uom": "AMH"} in reports
    assert {"type": "Resistance", "value": 1.9, "uom": "E45"} in reports
    assert ev["bizStep"] == "inspecting" and ev["bt:method"] == "pulse"


def test_recycled_outputs_become_output_quantities_in_kilograms() -> None:
    ev = to_epcis_event({"event_id": "r1", "type": "battery.recycled", "occurred_at": "2026-05-06T09:30:00+08:00",
                         "reporter": "91350900MA2XN5AB1T", "batteries": ["07HPE010000000G560000001"],
                         "process": "hydro", "outputs": {"li": 2.5, "black_mass": 120}})
    assert ev["type"] == "TransformationEvent" and ev["bizStep"] == "bt:recycling"
    assert ev["outputQuantityList"] == [
        {"epcClass": "https://id.battrace.org/material/li", "quantity": 2.5, "uom": "KGM"},
        {"epcClass": "https://id.battrace.org/material/black_mass", "quantity": 120, "uom": "KGM"},
    ]
    assert is_valid(ev)


def test_custom_steps_use_the_battrace_namespace() -> None:
    custom = {m.biz_step for m in MAPPING.values() if m.biz_step and m.biz_step.startswith("bt:")}
    assert custom == {"bt:swapping", "bt:remanufacturing", "bt:dismantling", "bt:recycling", "bt:scrapping",
                      "bt:filing_techinfo"}
    assert battrace_context()["bt"] == BT_NS


def test_the_shipped_context_is_valid_json_ld_shape() -> None:
    text = resources.files("battrace.interop.data").joinpath("battrace-epcis-context.jsonld").read_text("utf-8")
    ctx = json.loads(text)["@context"]
    assert ctx["bt"] == "https://battrace.org/epcis/"
    assert ctx["bt:data"] == {"@type": "@json"}


def test_unknown_type_is_refused_with_the_field() -> None:
    with pytest.raises(InvalidEvent) as info:
        to_epcis_event({**PRODUCED, "type": "battery.teleported"})
    assert info.value.context["field"] == "type"


def test_missing_required_field_is_refused_with_the_field() -> None:
    event = {k: v for k, v in PRODUCED.items() if k != "battery"}
    with pytest.raises(InvalidEvent) as info:
        to_epcis_event(event)
    assert info.value.context["field"] == "battery"


def test_document_has_the_header_fields_and_keeps_event_order() -> None:
    doc = to_epcis_document([PRODUCED, CERTIFIED], sender="https://id.battrace.org/org/91350900MA2XN5AB1T",
                            created_at=CREATED)
    assert doc["type"] == "EPCISDocument" and doc["schemaVersion"] == "2.0"
    assert doc["creationDate"] == "2026-06-01T08:00:00+00:00"
    assert doc["sender"] == "https://id.battrace.org/org/91350900MA2XN5AB1T"
    assert [e["bt:event_id"] for e in doc["epcisBody"]["eventList"]] == ["p-0001", "v-0001"]
    assert all("@context" not in e for e in doc["epcisBody"]["eventList"])
    assert first_schema_error(doc) is None


def test_document_needs_an_aware_creation_time() -> None:
    with pytest.raises(InvalidEvent):
        to_epcis_document([PRODUCED], created_at=datetime(2026, 6, 1))


def test_the_validator_rejects_what_the_schema_forbids() -> None:
    doc = to_epcis_document([PRODUCED], created_at=CREATED)
    doc["epcisBody"]["eventList"][0]["action"] = "UPSERT"
    assert not is_valid(doc)
    doc = to_epcis_document([PRODUCED], created_at=CREATED)
    doc["epcisBody"]["eventList"][0]["epcList"] = ["not a uri"]
    assert first_schema_error(doc) is not None
    doc = to_epcis_document([PRODUCED], created_at=CREATED)
    doc["creationDate"] = "yesterday"
    assert first_schema_error(doc) is not None


@pytest.mark.parametrize("event_type", sorted(FIELDS))
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_every_event_type_exports_a_schema_valid_event(event_type: str, data: st.DataObject) -> None:
    event = data.draw(native_event(event_type))
    ev = to_epcis_event(event)
    assert first_schema_error(ev) is None, first_schema_error(ev)
    assert ev["bt:event_type"] == event_type


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(events=st.lists(any_native_event, max_size=5), extras=stored_extras)
def test_documents_of_stored_events_validate(events: list[dict[str, Any]], extras: dict[str, Any]) -> None:
    doc = to_epcis_document([{**e, **extras} for e in events], sender="battrace", created_at=CREATED)
    error = first_schema_error(doc)
    assert error is None, error


def test_interop_modules_stay_pure() -> None:
    import ast
    from pathlib import Path

    import battrace.interop as pkg

    forbidden = ("battrace.storage", "battrace.services", "battrace.api", "battrace.web", "battrace.cli",
                 "battrace.clock", "sqlalchemy", "fastapi", "httpx")
    for path in Path(pkg.__file__).parent.glob("*.py"):
        tree = ast.parse(path.read_text("utf-8"))
        names = [n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)]
        names += [a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names]
        assert not [m for m in names if m.startswith(forbidden)], path.name
