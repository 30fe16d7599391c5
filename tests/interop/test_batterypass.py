"""Digital ID → EU Battery Pass v1.2.0: conformant aspects only when complete, nothing invented."""

from __future__ import annotations

import copy
import json
from importlib import resources
from typing import Any

import pytest

from battrace.errors import ValidationError
from battrace.interop.batterypass import (
    ASPECTS,
    aspect_errors,
    aspect_schema,
    missing_required,
    to_eu_batterypass,
)
from tests.conftest import shared_path

PASSPORT: dict[str, Any] = {
    "code": "07HPE010000000G560000001",
    "parsed": {"code": "07HPE010000000G560000001", "manufacturer": "07H", "level": "P", "battery_type": "E",
               "chemistry": "NCM", "spec": "01", "trace": "0000000", "production_date": "2026-05-06",
               "serial": "0000001", "remade": False},
    "level": "P", "chemistry": "NCM", "remade": False,
    "maker": {"credit_code": "91350900MA2XN5AB1T", "name": "Example Battery Co."},
    "model": "P-100", "rated_capacity_ah": 150.0, "nominal_voltage_v": 350.4, "rated_energy_kwh": 52.6,
    "mass_kg": 360.0, "produced_at": "2026-05-06T09:30:00+08:00", "state": "in_service", "waste": False,
    "custodian": None, "vin": "LGXCE4CB8T0000001", "parent": None, "children": [], "sources": [], "products": [],
    "health": {"soh": 0.83, "measured_capacity_ah": 124.5, "internal_resistance_mohm": 1.9, "method": "pulse",
               "tested_at": "2027-01-01T10:00:00+08:00", "tested_by": "91440300MA5FXXC12L"},
    "application": None, "certification": None,
    "history": [
        {"event_id": "t", "type": "techinfo.filed", "occurred_at": "2026-01-01T00:00:00+08:00",
         "document": "https://docs.example.com/p100-dismantling.pdf", "seq": 1},
        {"event_id": "s", "type": "vehicle.sold", "occurred_at": "2026-06-01T12:00:00+08:00", "seq": 5},
    ],
}


def test_the_shipped_schemas_are_the_official_ones_in_utf8() -> None:
    folder = {"GeneralProductInformation": "io.BatteryPass.GeneralProductInformation",
              "PerformanceAndDurability": "io.BatteryPass.Performance",
              "Circularity": "io.BatteryPass.Circularity", "Labeling": "io.BatteryPass.Labels"}
    for aspect, file in ASPECTS.items():
        raw = shared_path("anchors", "batterypass", "BatteryPass", folder[aspect], "1.2.0", "gen", file).read_bytes()
        text = raw.decode("utf-16") if raw.startswith(b"\xff\xfe") else raw.decode("utf-8-sig")
        assert aspect_schema(aspect) == json.loads(text)
        shipped = resources.files("battrace.interop.data.batterypass").joinpath(file).read_bytes()
        assert not shipped.startswith((b"\xff\xfe", b"\xef\xbb\xbf"))


def test_the_licence_note_is_shipped() -> None:
    note = resources.files("battrace.interop.data.batterypass").joinpath("LICENSE-NOTE").read_text("utf-8")
    assert "CC-BY-4.0" in note


def test_no_aspect_is_published_as_conformant_when_required_fields_are_missing() -> None:
    out = to_eu_batterypass(PASSPORT)
    assert out["aspects"] == {}
    assert [n["aspect"] for n in out["not_provided"]] == list(ASPECTS)
    gpi = next(n for n in out["not_provided"] if n["aspect"] == "GeneralProductInformation")
    assert gpi["missing"] == ["manufacturerInformation/postalAddress", "manufacturingPlace", "operatorInformation",
                              "warrentyPeriod"]


def test_general_product_information_holds_exactly_what_we_know() -> None:
    gpi = to_eu_batterypass(PASSPORT)["partial"]["GeneralProductInformation"]
    assert gpi == {
        "productIdentifier": "07HPE010000000G560000001",
        "batteryPassportIdentifier": "urn:battrace:07hpe010000000g560000001",
        "batteryCategory": "ev",
        "manufacturerInformation": {"contactName": "Example Battery Co.", "identifier": "91350900MA2XN5AB1T"},
        "manufacturingDate": "2026-05-06T09:30:00+08:00",
        "batteryStatus": "Original",
        "batteryMass": 360.0,
        "puttingIntoService": "2026-06-01T12:00:00+08:00",
    }


def test_performance_holds_ratings_and_the_latest_test() -> None:
    perf = to_eu_batterypass(PASSPORT)["partial"]["PerformanceAndDurability"]
    assert perf["batteryTechicalProperties"] == {"ratedCapacity": 150.0, "ratedEnergy": 52.6, "nominalVoltage": 350.4}
    cond = perf["batteryCondition"]
    assert cond["remainingCapacity"] == {"remainingCapacityValue": 124.5, "lastUpdate": "2027-01-01T10:00:00+08:00"}
    assert cond["capacityFade"]["capacityFadeValue"] == pytest.approx(17.0)


def test_circularity_carries_the_dismantling_document_url() -> None:
    circ = to_eu_batterypass(PASSPORT)["partial"]["Circularity"]
    assert circ == {"dismantlingAndRemovalInformation": [
        {"documentType": "DismantlingManual", "documentURL": "https://docs.example.com/p100-dismantling.pdf"}]}


def test_every_partial_aspect_is_valid_apart_from_required_fields() -> None:
    out = to_eu_batterypass(PASSPORT)
    for aspect, payload in out["partial"].items():
        assert aspect_errors(aspect, payload, relaxed=True) == []
        assert aspect_errors(aspect, payload) != []  # and not conformant: hence not in "aspects"


def test_fields_we_do_not_hold_are_left_out_never_invented() -> None:
    bare = {**PASSPORT, "maker": None, "mass_kg": None, "produced_at": None, "health": None, "history": [],
            "rated_capacity_ah": None, "rated_energy_kwh": None, "nominal_voltage_v": None}
    out = to_eu_batterypass(bare)
    assert set(out["partial"]) == {"GeneralProductInformation"}
    gpi = out["partial"]["GeneralProductInformation"]
    assert set(gpi) == {"productIdentifier", "batteryPassportIdentifier", "batteryCategory", "batteryStatus"}


@pytest.mark.parametrize(("changes", "status", "category"), [
    ({"state": "waste", "waste": True}, "Waste", "ev"),
    ({"state": "recycled"}, "Waste", "ev"),
    ({"remade": True, "application": "energy_storage"}, "Repurposed", "stationary"),
    ({"remade": True, "application": "low_speed_vehicle"}, "Repurposed", "lmt"),
])
def test_status_and_category_follow_the_lifecycle(changes: dict[str, Any], status: str, category: str) -> None:
    gpi = to_eu_batterypass({**PASSPORT, **changes})["partial"]["GeneralProductInformation"]
    assert (gpi["batteryStatus"], gpi["batteryCategory"]) == (status, category)


def test_a_remade_product_for_another_use_has_no_category_we_could_invent() -> None:
    gpi = to_eu_batterypass({**PASSPORT, "remade": True, "application": "other"})["partial"][
        "GeneralProductInformation"]
    assert "batteryCategory" not in gpi


def test_the_official_sample_payload_is_conformant_so_the_check_can_pass() -> None:
    raw = shared_path("anchors", "batterypass", "BatteryPass", "io.BatteryPass.GeneralProductInformation", "1.2.0",
                      "gen", "GeneralProductInformation-payload.json").read_bytes()
    sample = json.loads(raw.decode("utf-16") if raw.startswith(b"\xff\xfe") else raw.decode("utf-8-sig"))
    assert missing_required("GeneralProductInformation", sample) == []
    broken = copy.deepcopy(sample)
    del broken["manufacturingPlace"]
    assert missing_required("GeneralProductInformation", broken) == ["manufacturingPlace"]


def test_a_value_that_does_not_fit_the_schema_is_refused() -> None:
    with pytest.raises(ValidationError):
        to_eu_batterypass({**PASSPORT, "mass_kg": "heavy"})
