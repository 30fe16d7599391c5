"""Health through HTTP: pulse estimates, grading, assessment recorded on the ledger, value, forecast."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from battrace.domain.health import PulseTest, estimate_soh
from battrace.services.access import authenticate
from tests import story as s
from tests.api.conftest import Api, build

# Real PulseBat rows (MIT licence, see battrace/domain/data/PULSEBAT-LICENSE.txt): measured SOH in the comment.
NMC21_FRESH = [3.6159, 3.6349, 3.6435, 3.6247, 3.6177, 3.5987, 3.5897, 3.6087, 3.6166, 3.6549, 3.6719, 3.6342,
               3.6184, 3.5801, 3.5625, 3.601, 3.6164, 3.674, 3.6991, 3.6424, 3.6191]  # NMC_21Ah, SOC 30 %, 1.005
NMC2_AGED = [3.8042, 3.8234, 3.8306, 3.812, 3.8064, 3.7872, 3.7797, 3.7983, 3.803, 3.8417, 3.856, 3.8188, 3.8076,
             3.7707, 3.7549, 3.7918, 3.8017, 3.8752, 3.9059, 3.8309, 3.8113]  # NMC_2.1Ah, SOC 30 %, 0.612
LFP35 = [3.1819, 3.2225, 3.2414, 3.2012, 3.1871, 3.1466, 3.1266, 3.1668, 3.1837, 3.2653, 3.3008, 3.2202, 3.1907,
         3.1092, 3.0687, 3.1498, 3.1835, 3.3064, 3.3571, 3.2353, 3.194]  # LFP_35Ah, SOC 5 %, 0.814
HELD_BY_REUSER = 20  # story()[:20]: the pack was collected and received by the re-use enterprise


def row(volts: list[float], chemistry: str, rated: float, soc: float | None) -> dict[str, Any]:
    r: dict[str, Any] = {"chemistry": chemistry, "rated_capacity_ah": rated,
                         **{f"U{i + 1}": v for i, v in enumerate(volts)}}
    if soc is not None:
        r["soc_percent"] = soc
    return r


def report(api: Api, events: list[dict[str, Any]]) -> None:
    roles = {authenticate(api.platform.store, f"Bearer {key}").org: role for role, key in api.keys.items()
             if role != "admin"}
    for event in events:
        r = api.client.post("/api/v1/events", json=event, headers=api.headers(roles[event["reporter"]]))
        assert r.status_code == 200 and r.json()["accepted"] == 1, r.json()


@pytest.fixture
def held(api: Api) -> Api:
    report(api, s.story()[:HELD_BY_REUSER])
    return api


@pytest.fixture
def db_api(db_url: str) -> Iterator[Api]:
    a = build(db_url)
    yield a
    a.platform.close()


# -- estimate ------------------------------------------------------------------------------------


def test_estimate_returns_soh_interval_grade_and_model_per_row(api: Api) -> None:
    rows = [row(NMC21_FRESH, "NCM", 21, 30), row(NMC2_AGED, "NMC", 2.1, 30), row(LFP35, "LFP", 35, None)]
    r = api.client.post("/api/v1/health/estimate", json=rows, headers=api.headers("holder"))
    assert r.status_code == 200, r.json()
    out = r.json()
    assert [o["row"] for o in out] == [1, 2, 3]
    assert [o["model"] for o in out] == ["NMC_21Ah/soc", "NMC_2.1Ah/soc", "LFP_35Ah/no_soc"]
    for o, measured in zip(out, (1.005, 0.612, 0.814), strict=True):
        assert o["soh_low"] <= o["soh"] <= o["soh_high"]
        assert abs(o["soh"] - measured) < 0.05
    assert out[0]["grade"] == "A" and out[1]["grade"] == "C"
    expected = estimate_soh(PulseTest(tuple(NMC21_FRESH), "NCM", 21.0, 30.0))
    assert out[0]["soh"] == round(expected.soh, 4)
    assert "no soc_percent" in out[2]["notes"][0]


def test_estimate_names_the_row_and_column_of_a_bad_value(api: Api) -> None:
    bad = row(LFP35, "LFP", 35, 5) | {"U3": "x"}
    r = api.client.post("/api/v1/health/estimate", json=[row(LFP35, "LFP", 35, 5), bad], headers=api.headers("maker"))
    assert r.status_code == 422
    body = r.json()
    assert body["code"] == "invalid_health_input"
    assert body["context"] == {"row": 2, "column": "U3"} and "row 2" in body["error"]


@pytest.mark.parametrize("body", [[], [42], [{"chemistry": "LTO", "rated_capacity_ah": 20}], {"not": "a list"}])
def test_estimate_refuses_malformed_bodies_in_the_canonical_shape(api: Api, body: Any) -> None:
    r = api.client.post("/api/v1/health/estimate", json=body, headers=api.headers("maker"))
    assert r.status_code == 422
    assert set(r.json()) == {"ok", "error", "code", "status", "context"}


def test_estimate_needs_credentials(api: Api) -> None:
    r = api.client.post("/api/v1/health/estimate", json=[row(LFP35, "LFP", 35, 5)])
    assert r.status_code == 401 and r.json()["code"] == "unauthorized"


# -- grade ---------------------------------------------------------------------------------------


def test_grade_judges_a_pulse_estimate_on_its_lower_bound(api: Api) -> None:
    h = api.headers("holder")
    measured = api.client.post("/api/v1/health/grade", json={"soh": 0.82, "method": "gbt34015", "chemistry": "LFP"},
                               headers=h).json()
    pulse = api.client.post("/api/v1/health/grade", headers=h,
                            json={"soh": 0.82, "soh_low": 0.72, "method": "pulse", "chemistry": "LFP"}).json()
    assert measured["path"] == "reuse" and "energy_storage" in measured["applications"]
    assert pulse["soh_used"] == 0.72 and "energy_storage" not in pulse["applications"]
    assert pulse["applications"] == ["backup_power", "low_speed_vehicle", "other"]
    assert "e-bikes" in pulse["reason_en"] and "电动自行车" in pulse["reason_zh"]


def test_grade_sends_a_battery_below_the_floor_to_recycling(api: Api) -> None:
    r = api.client.post("/api/v1/health/grade", json={"soh": 0.55, "method": "gbt34015", "chemistry": "NCM"},
                        headers=api.headers("holder"))
    assert r.json()["path"] == "recycle" and r.json()["applications"] == []


def test_grade_applies_a_custom_policy_and_refuses_e_bikes(api: Api) -> None:
    h = api.headers("holder")
    strict = {"min_soh": {"backup_power": 0.9}}
    r = api.client.post("/api/v1/health/grade", headers=h,
                        json={"soh": 0.85, "method": "gbt34015", "chemistry": "LFP", "policy": strict})
    assert r.json()["path"] == "recycle"
    for policy in ({"min_soh": {"e_bike": 0.6}}, {"min_soh": "x"}, {"min_soh": {"other": "high"}}, {"nope": 1}):
        r = api.client.post("/api/v1/health/grade", headers=h,
                            json={"soh": 0.85, "method": "gbt34015", "chemistry": "LFP", "policy": policy})
        assert r.status_code == 422 and r.json()["code"] == "invalid_health_input", (policy, r.json())


@pytest.mark.parametrize("body", [
    {"soh": 0.8, "method": "guess", "chemistry": "LFP"},
    {"soh": 7, "method": "gbt34015", "chemistry": "LFP"},
    {"soh": 0.8, "method": "gbt34015", "chemistry": " "},
    {"soh": 0.8, "method": "gbt34015"},
])
def test_grade_refuses_bad_input_with_422(api: Api, body: dict[str, Any]) -> None:
    r = api.client.post("/api/v1/health/grade", json=body, headers=api.headers("holder"))
    assert r.status_code == 422 and r.json()["ok"] is False


# -- assess, digital ID, value -------------------------------------------------------------------


def test_assess_records_battery_tested_with_interval_and_decision(held: Api) -> None:
    pulse = {f"U{i + 1}": v for i, v in enumerate(NMC21_FRESH)} | {"soc_percent": 30, "rated_capacity_ah": 21}
    r = held.client.post(f"/api/v1/batteries/{s.PACK}/assess", json={"pulse": pulse, "event_id": "t-1"},
                         headers=held.headers("holder"))
    assert r.status_code == 200, r.json()
    out = r.json()
    assert out["method"] == "pulse" and out["event"]["status"] == "accepted" and out["event"]["seq"]
    assert out["estimate"]["model"] == "NMC_21Ah/soc"
    assert out["decision"]["path"] == "reuse" and out["decision"]["soh_used"] == out["estimate"]["soh_low"]
    assert "energy_storage" not in out["decision"]["applications"]  # ternary: barred by default
    assert out["value"]["better_path"] == "reuse"

    history = held.client.get(f"/api/v1/batteries/{s.PACK}/history", headers=held.headers("holder")).json()["events"]
    tested = history[-1]
    assert tested["type"] == "battery.tested" and tested["method"] == "pulse" and tested["reporter"] == s.REUSER
    assert tested["features"]["estimate"]["soh_low"] == out["estimate"]["soh_low"]
    assert tested["features"]["grading"]["path"] == "reuse"
    assert tested["features"]["pulse_test"]["voltages"] == NMC21_FRESH

    passport = held.client.get(f"/api/v1/batteries/{s.PACK}", headers=held.headers("maker")).json()
    summary = passport["health_summary"]
    assert summary["tested"] is True and summary["method"] == "pulse"
    assert summary["soh_low"] == out["estimate"]["soh_low"] and summary["grade"] == "A"
    assert summary["decision"] == out["decision"]
    assert summary["value"]["reuse_value_cny"] == out["value"]["reuse_value_cny"]
    public = held.client.get(f"/api/v1/batteries/{s.PACK}").json()
    assert "health_summary" not in public and "alarms" not in public

    again = held.client.post(f"/api/v1/batteries/{s.PACK}/assess", json={"pulse": pulse, "event_id": "t-1"},
                             headers=held.headers("holder"))
    assert again.status_code == 200 and again.json()["event"]["status"] == "duplicate"


def test_assess_of_a_measured_soh_below_the_floor_recycles(held: Api) -> None:
    r = held.client.post(f"/api/v1/batteries/{s.PACK}/assess", headers=held.headers("holder"),
                         json={"soh": 0.55, "measured_capacity_ah": 82.5, "occurred_at": "2026-11-20T09:00:00+08:00"})
    assert r.status_code == 200, r.json()
    out = r.json()
    assert out["method"] == "gbt34015" and out["estimate"] is None
    assert out["decision"]["path"] == "recycle" and out["value"]["better_path"] == "recycle"
    health = held.client.get(f"/api/v1/batteries/{s.PACK}", headers=held.headers("holder")).json()["health"]
    assert health["soh"] == 0.55 and health["measured_capacity_ah"] == 82.5
    assert health["tested_at"] == "2026-11-20T09:00:00+08:00"


def test_assess_is_for_the_current_custodian_only(held: Api) -> None:
    for role, status, code in (("maker", 403, "not_custodian"), ("admin", 403, "forbidden"),
                               ("anonymous", 401, "unauthorized")):
        r = held.client.post(f"/api/v1/batteries/{s.PACK}/assess", json={"soh": 0.9}, headers=held.headers(role))
        assert (r.status_code, r.json()["code"]) == (status, code), role


@pytest.mark.parametrize("body", [
    {},
    {"soh": 0.9, "pulse": {"U1": 3.6}},
    {"pulse": {"U1": 3.6}},
    {"soh": 0.9, "method": "pulse_guess"},
    {"soh": 1.4},  # accepted by grading, refused by the event contract (≤ 1.2)
    {"pulse": {f"U{i}": 3.6 for i in range(1, 22)}, "method": "gbt34015"},
])
def test_assess_refuses_bad_input_and_records_nothing(held: Api, body: dict[str, Any]) -> None:
    r = held.client.post(f"/api/v1/batteries/{s.PACK}/assess", json=body, headers=held.headers("holder"))
    assert r.status_code == 422, r.json()
    assert held.client.get(f"/api/v1/batteries/{s.PACK}", headers=held.headers("holder")).json()["health"] is None


def test_value_gives_material_and_reuse_figures_and_the_better_path(held: Api) -> None:
    assert held.client.get(f"/api/v1/batteries/{s.PACK}/value", headers=held.headers("maker")).status_code == 409
    held.client.post(f"/api/v1/batteries/{s.PACK}/assess", json={"soh": 0.9}, headers=held.headers("holder"))
    r = held.client.get(f"/api/v1/batteries/{s.PACK}/value", headers=held.headers("maker"))
    assert r.status_code == 200, r.json()
    v = r.json()
    assert v["battery"] == s.PACK and v["energy_kwh"] == 52.6 and v["materials_row"] == "NMC622"
    assert v["reuse_value_cny"] == round(0.9 * 52.6 * 300, 2)
    assert v["material_value_cny"] > 0 and v["better_path"] == "reuse"
    assert v["residual_value_cny"] == max(v["reuse_value_cny"], v["material_value_cny"])
    assert v["soh_source"]["method"] == "gbt34015" and v["prices_as_of"] == "2025-06-30"
    cheap = held.client.get(f"/api/v1/batteries/{s.PACK}/value?reuse_cny_per_kwh=1", headers=held.headers("maker"))
    assert cheap.json()["better_path"] == "recycle"
    assert held.client.get(f"/api/v1/batteries/{s.PACK}/value", headers=held.headers("unrelated")).status_code == 403
    assert held.client.get(f"/api/v1/batteries/{s.PACK}/value").status_code == 401


def test_health_summary_says_untested_when_no_test_is_recorded(held: Api) -> None:
    summary = held.client.get(f"/api/v1/batteries/{s.PACK}", headers=held.headers("holder")).json()["health_summary"]
    assert summary == {"tested": False, "soh": None, "grade": None, "decision": None, "value": None}


# -- forecast ------------------------------------------------------------------------------------


def test_forecast_counts_installations_from_the_ledger_on_every_store(db_api: Api) -> None:
    report(db_api, s.story()[:11])  # the pack is certified in a vehicle in 440300 (2024)
    r = db_api.client.get("/api/v1/forecast?last_year=2040", headers=db_api.headers("national_regulator"))
    assert r.status_code == 200, r.json()
    f = r.json()
    assert f["installations"] == [{"province": "440000", "year": 2024, "packs": 1.0}]
    assert f["years"] == list(range(2024, 2041)) and len(f["series"]["440000"]) == len(f["years"])
    assert f["scope"] == {"region_prefix": "", "national": True}
    assert [c["year"] for c in f["checks"]] == [2025, 2030] and f["checks"][0]["reference_kt"] == 400.0
    total = sum(r["expected"] for r in f["retirements"])
    assert 0.5 < total <= 1.0  # most of the one pack retires by 2040
    assert {n["year"] for n in f["national"]} == set(f["years"])


def test_forecast_places_packs_where_the_vehicle_is_registered_when_it_is_sold_elsewhere(db_api: Api) -> None:
    """Issue 16, point 8: a vehicle certified by a Guangdong maker and sold in Beijing retires in Beijing."""
    events = s.story()[:11]
    sold = next(e for e in events if e["type"] == "vehicle.sold")
    sold["region"] = "110105"
    report(db_api, events)
    f = db_api.client.get("/api/v1/forecast?last_year=2040", headers=db_api.headers("national_regulator")).json()
    assert f["installations"] == [{"province": "110000", "year": 2024, "packs": 1.0}]
    guangdong = db_api.client.get("/api/v1/forecast", headers=db_api.headers("regulator")).json()
    assert guangdong["scope"]["region_prefix"] == "44" and guangdong["installations"] == []


def test_forecast_is_for_regulators_within_their_jurisdiction(db_api: Api) -> None:
    report(db_api, s.story()[:11])
    provincial = db_api.client.get("/api/v1/forecast", headers=db_api.headers("regulator")).json()
    assert provincial["installations"] and provincial["scope"] == {"region_prefix": "44", "national": False}
    assert provincial["checks"] == []
    far = db_api.client.get("/api/v1/forecast", headers=db_api.headers("far_regulator")).json()
    assert far["installations"] == [] and far["retirements"] == [] and far["years"] == []
    assert db_api.client.get("/api/v1/forecast", headers=db_api.headers("admin")).json()["checks"]
    for role, status in (("maker", 403), ("vehicle_maker", 403), ("anonymous", 401)):
        assert db_api.client.get("/api/v1/forecast", headers=db_api.headers(role)).status_code == status


def test_forecast_takes_the_weibull_life_from_the_query(api: Api) -> None:
    report(api, s.story()[:11])
    h = api.headers("national_regulator")
    short = api.client.get("/api/v1/forecast?shape=3&scale=4&last_year=2030", headers=h).json()
    long = api.client.get("/api/v1/forecast?shape=3&scale=20&last_year=2030", headers=h).json()
    assert short["life"]["scale"] == 4 and long["life"]["mean_years"] > short["life"]["mean_years"]
    assert sum(short["series"]["440000"]) > sum(long["series"]["440000"])
    for query in ("shape=0", "scale=-1", "first_year=2030&last_year=2020", "kg_per_pack=0", "last_year=1800"):
        r = api.client.get(f"/api/v1/forecast?{query}", headers=h)
        assert r.status_code == 422, query
