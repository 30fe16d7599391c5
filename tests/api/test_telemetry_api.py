"""BMS telemetry through HTTP: synthetic GB/T 32960-style frames with each hazard and its near miss,
VIN resolution, stored alarms on the digital ID and in GET /alarms, permissions, malformed frames."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from battrace.clock import CHINA
from battrace.services.telemetry import TelemetryService
from battrace.storage import schema
from tests import story as s
from tests.api.conftest import NOW, Api, build

T0 = datetime(2026, 11, 20, 10, 0, tzinfo=CHINA)
IN_SERVICE = 11  # story()[:11]: the pack is certified in the vehicle (440300) and sold
NCELLS = 96


def cells(changes: dict[int, float] | None = None, base: float = 3.70) -> list[float]:
    out = [base] * NCELLS
    for i, v in (changes or {}).items():
        out[i] = v
    return out


def frame(sec: float, **fields: Any) -> dict[str, Any]:
    """A healthy NCM pack frame ``sec`` seconds after T0 (discharging at 20 A), with overrides."""
    f: dict[str, Any] = {
        "vin": s.VIN, "time": (T0 + timedelta(seconds=sec)).isoformat(), "soc": 60.0, "voltage": 355.2,
        "current": 20.0, "cell_voltages": cells(), "temperatures": [30.0] * 16, "insulation_kohm": 5000.0,
        "alarm_level": 0, "alarm_flags": 0,
    }
    f.update(fields)
    return f


def hot(t: float) -> list[float]:
    return [30.0] * 15 + [t]


DAY = 86_400.0
Frames = Callable[[], list[dict[str, Any]]]
CASES: dict[str, tuple[Frames, set[str]]] = {
    # GB/T 45688 max temperature (NCM 60 °C)
    "over_temperature": (lambda: [frame(0, temperatures=hot(60.0))], {"over_temperature"}),
    "over_temperature_near_miss": (lambda: [frame(0, temperatures=hot(59.9))], set()),
    # max cell voltage while charging (NCM 4.4 V)
    "over_voltage_charging": (lambda: [frame(0, current=-50.0, cell_voltages=cells({10: 4.4}))],
                              {"cell_over_voltage_charging"}),
    "over_voltage_near_miss": (lambda: [frame(0, current=-50.0, cell_voltages=cells({10: 4.39}))], set()),
    "over_voltage_not_charging": (lambda: [frame(0, current=50.0, cell_voltages=cells({10: 4.45}))], set()),
    # min cell voltage while discharging (NCM 1.8 V)
    "under_voltage_discharging": (lambda: [frame(0, cell_voltages=cells({10: 1.8}))],
                                  {"cell_under_voltage_discharging"}),
    "under_voltage_near_miss": (lambda: [frame(0, cell_voltages=cells({10: 1.81}))], set()),
    "under_voltage_while_charging": (lambda: [frame(0, current=-50.0, cell_voltages=cells({10: 1.7}))], set()),
    # RMS of (Vmax − Vmin) over 30 charging frames ≥ 0.5 V
    "spread_charging": (lambda: [frame(10 * k, current=-50.0, cell_voltages=cells({5: 3.2})) for k in range(30)],
                        {"cell_voltage_spread_charging"}),
    "spread_window_not_full": (lambda: [frame(10 * k, current=-50.0, cell_voltages=cells({5: 3.2}))
                                        for k in range(29)], set()),
    "spread_near_miss": (lambda: [frame(10 * k, current=-50.0, cell_voltages=cells({5: 3.21})) for k in range(30)],
                         set()),
    # insulation ≤ 100 Ω/V in ≥ 5 frames a day: 35 kΩ / 355.2 V = 98.5 Ω/V (kΩ converted)
    "low_insulation_kohm": (lambda: [frame(60 * k, insulation_kohm=35.0) for k in range(5)], {"low_insulation"}),
    "low_insulation_ohm": (lambda: [frame(60 * k, insulation_kohm=None, insulation_ohm=35_000.0) for k in range(5)],
                           {"low_insulation"}),
    "low_insulation_four_frames": (lambda: [frame(60 * k, insulation_kohm=35.0) for k in range(4)], set()),
    "low_insulation_near_miss": (lambda: [frame(60 * k, insulation_kohm=36.0) for k in range(5)], set()),
    # adjacent cells ±0.26 V around the median: a broken sense wire
    "sampling_fault": (lambda: [frame(0, cell_voltages=cells({20: 3.96, 21: 3.44}))], {"voltage_sampling_fault"}),
    "sampling_near_miss": (lambda: [frame(0, cell_voltages=cells({20: 3.94, 21: 3.46}))], set()),
    # offline > 90 days (private) / > 60 days (fleet)
    "long_offline_private": (lambda: [frame(-91 * DAY), frame(0)], {"long_offline"}),
    "offline_near_miss": (lambda: [frame(-89 * DAY), frame(0)], set()),
    "long_offline_fleet": (lambda: [frame(-61 * DAY, fleet=True), frame(0, fleet=True)], {"long_offline"}),
    # GB 38031: ≥ 1 °C/s for > 3 s with a voltage drop > 25 %
    "thermal_runaway": (lambda: [frame(k, temperatures=hot(30.0 + 2 * k), voltage=v)
                                 for k, v in enumerate((355.2, 340.0, 320.0, 290.0, 250.0))], {"thermal_runaway"}),
    "runaway_slow_rise": (lambda: [frame(k, temperatures=hot(30.0 + 0.9 * k), voltage=v)
                                   for k, v in enumerate((355.2, 340.0, 320.0, 290.0, 250.0))], set()),
    "runaway_no_voltage_drop": (lambda: [frame(k, temperatures=hot(30.0 + 2 * k), voltage=355.2 - 5 * k)
                                         for k in range(5)], set()),
    # the frame's own GB/T 32960 alarm level
    "bms_level_3": (lambda: [frame(0, alarm_level=3, alarm_flags=0b10)], {"bms_level_3"}),
    "bms_level_0_with_flags": (lambda: [frame(0, alarm_level=0, alarm_flags=0b10)], set()),
    "bms_level_invalid": (lambda: [frame(0, alarm_level=0xFF)], set()),
}


@pytest.fixture
def live(api: Api) -> Api:
    report = api.platform.ledger.ingest(list(enumerate(s.story()[:IN_SERVICE], 1)))
    assert report.rejected == 0
    return api


def post(api: Api, frames: list[Any], role: str = "vehicle_maker") -> dict[str, Any]:
    r = api.client.post("/api/v1/telemetry", json=frames, headers=api.headers(role))
    assert r.status_code == 200, r.json()
    body: dict[str, Any] = r.json()
    return body


@pytest.mark.parametrize("case", list(CASES))
def test_each_hazard_raises_its_alarm_and_near_misses_raise_none(live: Api, case: str) -> None:
    make, expected = CASES[case]
    frames = make()
    out = post(live, frames)
    assert (out["frames"], out["accepted"], out["rejected"]) == (len(frames), len(frames), 0), out
    assert {a["hazard"] for a in out["alarms"]} == expected
    stored = live.client.get("/api/v1/alarms", headers=live.headers("admin")).json()
    assert {a["hazard"] for a in stored} == expected
    for a in stored:
        assert a["battery"] == s.PACK and a["vin"] == s.VIN and a["region"] == "440300"


def test_levels_and_required_response_times(live: Api) -> None:
    out = post(live, [frame(0, temperatures=hot(61.0)),
                      frame(60, temperatures=hot(31.0), cell_voltages=cells({10: 1.7})),
                      frame(120, alarm_level=2, alarm_flags=(1 << 11) | (1 << 1))])
    by = {a["hazard"]: a for a in out["alarms"]}
    assert by["over_temperature"]["level"] == 1 and by["over_temperature"]["response"] == "within_7_days"
    assert by["over_temperature"]["respond_by"] == (T0 + timedelta(days=7)).isoformat()
    second = by["cell_under_voltage_discharging"]
    assert second["level"] == 2 and second["response"] == "within_1_day"
    assert second["evidence"]["other_hazards_24h"] == ["over_temperature"]
    assert second["respond_by"] == (T0 + timedelta(seconds=60, days=1)).isoformat()
    bms = by["bms_level_2"]
    assert bms["response"] == "within_1_day" and bms["evidence"]["flags"] == ["battery_high_temperature", "insulation"]
    runaway = post(live, [frame(1000 + k, temperatures=hot(30.0 + 2 * k), voltage=v)
                          for k, v in enumerate((355.2, 340.0, 320.0, 290.0, 250.0))])["alarms"]
    assert [(a["hazard"], a["level"], a["response"]) for a in runaway] == [("thermal_runaway", 3, "stop_at_once")]
    assert runaway[0]["respond_by"] == runaway[0]["first_at"]


def test_alarms_are_shown_on_the_digital_id_at_participant_and_regulator_tiers(live: Api) -> None:
    live.platform.now = lambda: NOW + timedelta(hours=1)  # the alarm is stored an hour after the events
    post(live, [frame(0, temperatures=hot(62.0))])
    for role in ("maker", "vehicle_maker", "regulator", "admin"):
        body = live.client.get(f"/api/v1/batteries/{s.PACK}", headers=live.headers(role)).json()
        assert [(a["hazard"], a["level"], a["response"]) for a in body["alarms"]] == \
            [("over_temperature", 1, "within_7_days")], role
        assert body["alarms"][0]["respond_by"] == (T0 + timedelta(days=7)).isoformat()
    public = live.client.get(f"/api/v1/batteries/{s.PACK}", headers=live.headers("unrelated")).json()
    assert public["tier"] == "public" and "alarms" not in public
    at = NOW.isoformat().replace("+", "%2B")
    before = live.client.get(f"/api/v1/batteries/{s.PACK}?at={at}", headers=live.headers("maker")).json()
    assert before["tier"] == "participant" and before["alarms"] == []  # the digital ID as it was then


def test_alarm_list_is_scoped_to_jurisdiction_or_the_batterys_makers(live: Api) -> None:
    post(live, [frame(0, temperatures=hot(62.0))])
    seen = {role: len(live.client.get("/api/v1/alarms", headers=live.headers(role)).json())
            for role in ("maker", "vehicle_maker", "regulator", "national_regulator", "admin", "far_regulator",
                         "unrelated", "recycler")}
    assert seen == {"maker": 1, "vehicle_maker": 1, "regulator": 1, "national_regulator": 1, "admin": 1,
                    "far_regulator": 0, "unrelated": 0, "recycler": 0}
    assert live.client.get("/api/v1/alarms").status_code == 401
    h = live.headers("admin")
    assert len(live.client.get(f"/api/v1/alarms?battery={s.PACK}&hazard=over_temperature", headers=h).json()) == 1
    assert live.client.get("/api/v1/alarms?min_level=2", headers=h).json() == []
    assert live.client.get("/api/v1/alarms?since=2026-11-21T00:00:00%2B08:00", headers=h).json() == []
    assert live.client.get("/api/v1/alarms?since=2026-11-21T00:00:00", headers=h).status_code == 422


def test_frames_by_pack_code_and_by_vin_reach_the_same_battery(live: Api) -> None:
    by_code = {**frame(0, temperatures=hot(62.0)), "battery": s.PACK}
    del by_code["vin"]
    out = post(live, [by_code, frame(1, temperatures=hot(62.0))], role="maker")
    assert [a["battery"] for a in out["alarms"]] == [s.PACK]  # one episode, extended by the VIN frame
    stored = live.client.get("/api/v1/alarms", headers=live.headers("admin")).json()
    assert len(stored) == 1 and stored[0]["last_at"] == (T0 + timedelta(seconds=1)).isoformat()


def test_a_lasting_condition_extends_its_stored_alarm_across_requests(live: Api) -> None:
    post(live, [frame(0, temperatures=hot(62.0))])
    out = post(live, [frame(30, temperatures=hot(63.0)), frame(60, temperatures=hot(63.0))])
    assert out["alarms"] == [] and out["extended"] == 1
    stored = live.client.get("/api/v1/alarms", headers=live.headers("admin")).json()
    assert len(stored) == 1 and stored[0]["last_at"] == (T0 + timedelta(seconds=60)).isoformat()
    later = post(live, [frame(60 + 601, temperatures=hot(63.0))])  # after rearm_s without it: a new alarm
    assert [a["hazard"] for a in later["alarms"]] == ["over_temperature"]


def test_late_frames_are_counted_and_skipped(live: Api) -> None:
    post(live, [frame(100)])
    out = post(live, [frame(50, temperatures=hot(70.0))])
    assert out["late"] == 1 and out["alarms"] == []


def test_frames_within_a_request_are_evaluated_in_time_order(live: Api) -> None:
    frames = [frame(k, temperatures=hot(30.0 + 2 * k), voltage=v)
              for k, v in enumerate((355.2, 340.0, 320.0, 290.0, 250.0))]
    out = post(live, list(reversed(frames)))
    assert out["late"] == 0 and [a["hazard"] for a in out["alarms"]] == ["thermal_runaway"]


def test_each_malformed_frame_is_rejected_on_its_own_naming_the_field(live: Api) -> None:
    bad: list[Any] = [
        {"time": T0.isoformat()},
        frame(1, time="2026-11-20T10:00:00"),
        frame(2, cell_voltages=[3.7, "x"]),
        frame(3, temperatures=None),
        frame(4, voltage=True),
        frame(5, insulation_ohm=1.0),
        frame(6, alarm_level=7),
        frame(7, alarm_flags=-1),
        frame(8, charging="yes"),
        frame(9, vin="LSVNOTAREALVIN123"),
        {**frame(10), "battery": "07HPE01A000001E359999999"},
        42,
    ]
    out = post(live, [frame(0, temperatures=hot(62.0)), *bad])
    assert (out["frames"], out["accepted"], out["rejected"]) == (13, 1, 12)
    assert [a["hazard"] for a in out["alarms"]] == ["over_temperature"]
    reasons = {r["frame"]: (r["code"], r["message"]) for r in out["rejections"]}
    assert reasons[1][0] == "invalid_health_input" and "'battery'" in reasons[1][1]
    assert "time-zone" in reasons[2][1] and "cell_voltages[1]" in reasons[3][1]
    assert "'temperatures' is missing" in reasons[4][1] and "'voltage'" in reasons[5][1]
    assert "not both" in reasons[6][1] and "alarm_level" in reasons[7][1] and "alarm_flags" in reasons[8][1]
    assert "charging" in reasons[9][1]
    assert reasons[10][0] == "unknown_vehicle" and reasons[11][0] == "unknown_battery"
    assert "JSON object" in reasons[12][1]


def test_only_the_batterys_makers_may_report_its_frames(live: Api) -> None:
    for role in ("unrelated", "regulator", "repair_shop"):
        out = post(live, [frame(0, temperatures=hot(62.0))], role=role)
        assert out["accepted"] == 0 and out["rejections"][0]["code"] == "forbidden", role
    assert live.client.post("/api/v1/telemetry", json=[frame(0)]).status_code == 401
    assert post(live, [frame(0, temperatures=hot(62.0))], role="admin")["alarms"]


def test_bodies_ndjson_and_limits(live: Api, sqlite_url: str) -> None:
    h = live.headers("vehicle_maker")
    lines = json.dumps(frame(0)) + "\n\n" + json.dumps(frame(1, temperatures=hot(65.0))) + "\n{oops\n"
    r = live.client.post("/api/v1/telemetry", content=lines.encode(),
                         headers={**h, "Content-Type": "application/x-ndjson"})
    assert r.status_code == 200 and (r.json()["accepted"], r.json()["rejected"]) == (2, 1)
    one = live.client.post("/api/v1/telemetry", json=frame(2), headers=h)
    assert one.status_code == 200 and one.json()["accepted"] == 1
    for content in (b"{not json", b"42", b"\xff\xfe"):
        r = live.client.post("/api/v1/telemetry", content=content, headers={**h, "Content-Type": "application/json"})
        assert r.status_code == 422 and set(r.json()) == {"ok", "error", "code", "status", "context"}
    live.platform.close()
    small = build(sqlite_url.replace("battrace.db", "small.db"), batch_limit=2)
    r = small.client.post("/api/v1/telemetry", json=[frame(0)] * 3, headers=small.headers("vehicle_maker"))
    assert r.status_code == 413 and r.json()["code"] == "payload_too_large"
    small.platform.close()


def test_a_vin_without_a_bound_pack_is_rejected(api: Api) -> None:
    api.platform.ledger.ingest(list(enumerate(s.story()[:IN_SERVICE], 1)))
    extra = s.code("P", 3)
    api.platform.ledger.ingest([(1, s.ev(900, "battery.produced", s.BATTERY_MAKER, "2024-03-05T09:00:00+08:00",
                                         battery=extra, **s.FIG))])
    api.platform.ledger.ingest([(1, s.ev(901, "battery.replaced", s.REPAIR_SHOP, "2025-06-01T10:00:00+08:00",
                                         vin=s.VIN, removed=s.PACK, reason="capacity fade"))])
    out = post(api, [frame(0)])
    assert out["rejected"] == 1 and out["rejections"][0]["code"] == "conflict"
    assert "0 packs bound" in out["rejections"][0]["message"]


@pytest.fixture
def stored_api(db_url: str) -> Iterator[Api]:
    a = build(db_url)
    a.platform.ledger.ingest(list(enumerate(s.story()[:IN_SERVICE], 1)))
    yield a
    a.platform.close()


def test_alarms_are_stored_once_per_episode_on_every_store(stored_api: Api) -> None:
    frames = [frame(0, temperatures=hot(62.0)), frame(1, cell_voltages=cells({20: 3.96, 21: 3.44}))]
    assert len(post(stored_api, frames)["alarms"]) == 2
    # A restarted monitor (new process) re-sent the same frames: the same episodes, no duplicate rows.
    again = TelemetryService(stored_api.platform.store, now=stored_api.platform.now).ingest(frames, source="replay")
    assert len(again.alarms) == 2
    a = schema.alarms
    with stored_api.platform.store.reader() as conn:
        assert conn.execute(select(func.count()).select_from(a)).scalar_one() == 2
        rows = conn.execute(select(a.c.hazard, a.c.level, a.c.maker, a.c.vehicle_maker, a.c.evidence)
                            .order_by(a.c.hazard)).all()
    assert [r.hazard for r in rows] == ["over_temperature", "voltage_sampling_fault"]
    assert rows[1].level == 2 and rows[0].maker == s.BATTERY_MAKER and rows[0].vehicle_maker == s.VEHICLE_MAKER
    assert json.loads(rows[1].evidence)["cells"] == [21, 22]
    listed = stored_api.client.get("/api/v1/alarms", headers=stored_api.headers("regulator")).json()
    assert [x["hazard"] for x in listed] == ["voltage_sampling_fault", "over_temperature"]


def test_check_offline_raises_long_offline_for_silent_batteries(stored_api: Api) -> None:
    from battrace.services.telemetry import telemetry_for

    post(stored_api, [frame(0)])
    service = telemetry_for(stored_api.platform)
    assert service.check_offline(T0 + timedelta(days=30)) == []
    raised = service.check_offline(T0 + timedelta(days=91))
    assert [a["hazard"] for a in raised] == ["long_offline"]
    listed = stored_api.client.get("/api/v1/alarms", headers=stored_api.headers("vehicle_maker")).json()
    assert [x["hazard"] for x in listed] == ["long_offline"]


def test_frames_dated_before_2000_or_ahead_of_the_clock_are_refused(live: Api) -> None:
    ahead = (NOW + timedelta(minutes=6)).isoformat()
    out = post(live, [frame(0, time="0001-01-01T00:00:00+08:00", temperatures=hot(70.0)),
                      frame(0, time="9999-12-31T23:59:59-08:00", temperatures=hot(70.0)),
                      frame(0, time=ahead, temperatures=hot(70.0)),
                      frame(0, time=(NOW + timedelta(minutes=4)).isoformat())])
    assert (out["accepted"], out["rejected"]) == (1, 3) and out["alarms"] == []
    assert "before 2000" in out["rejections"][0]["message"]
    assert all("ahead of the platform's clock" in r["message"] for r in out["rejections"][1:])
