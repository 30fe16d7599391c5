from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from battrace.domain.alarms import ALARM_FLAG_BITS, AlarmConfig, Monitor, decode_flags
from battrace.domain.health import InvalidHealthInput

T0 = datetime(2026, 5, 1, 8, 0, tzinfo=timezone(timedelta(hours=8)))
BAT = "07HPE010000000G560000001"


def frame(
    k: int = 0,
    *,
    step_s: float = 10.0,
    cells: list[float] | None = None,
    temps: list[float] | None = None,
    charging: bool | None = False,
    chemistry: str = "NCM",
    **extra: Any,
) -> dict[str, Any]:
    cv = cells if cells is not None else [3.70 + 0.001 * (i % 5) for i in range(20)]
    f: dict[str, Any] = {
        "battery": BAT,
        "time": T0 + timedelta(seconds=step_s * k),
        "soc": 60.0,
        "voltage": sum(cv),
        "current": -50.0 if charging else 30.0,
        "cell_voltages": cv,
        "temperatures": temps if temps is not None else [30.0, 31.0, 30.5],
        "insulation_ohm": 5e6,
        "alarm_level": 0,
        "alarm_flags": 0,
        "chemistry": chemistry,
        "charging": charging,
    }
    f.update(extra)
    return f


def hazards(frames: list[dict[str, Any]], monitor: Monitor | None = None) -> list[str]:
    return [a.hazard for a in (monitor or Monitor()).feed(frames)]


def test_quiet_frames_raise_nothing() -> None:
    assert hazards([frame(k, charging=k % 2 == 0) for k in range(200)]) == []


# --- temperature -------------------------------------------------------------------------------


@pytest.mark.parametrize(("chem", "hot", "near"), [("NCM", 60.0, 59.9), ("LFP", 65.0, 64.9)])
def test_over_temperature_by_chemistry(chem: str, hot: float, near: float) -> None:
    assert hazards([frame(0, chemistry=chem, temps=[30, near, 31])]) == []
    alarms = Monitor().feed([frame(0, chemistry=chem, temps=[30, hot, 31])])
    assert [a.hazard for a in alarms] == ["over_temperature"]
    assert alarms[0].evidence["probe"] == 2 and alarms[0].response == "within_7_days" and alarms[0].level == 1


def test_a_lasting_condition_extends_one_alarm() -> None:
    m = Monitor()
    frames = [frame(k, temps=[61.0]) for k in range(10)]
    assert len(m.feed(frames)) == 1
    (ep,) = m.episodes(BAT)
    assert ep.first_at == T0 and ep.last_at == T0 + timedelta(seconds=90)
    # after rearm_s without the condition a new alarm is raised
    later = [frame(100 + k, temps=[61.0]) for k in range(2)]
    assert [a.hazard for a in m.feed(later)] == ["over_temperature"]


# --- cell voltages -----------------------------------------------------------------------------


def _cells(value: float, at: int = 7) -> list[float]:
    cv = [3.70] * 20
    cv[at] = value
    return cv


def test_cell_over_voltage_only_while_charging() -> None:
    assert hazards([frame(0, charging=True, cells=_cells(4.39))]) == []
    assert hazards([frame(0, charging=False, cells=_cells(4.45))]) == []
    alarms = Monitor().feed([frame(0, charging=True, cells=_cells(4.40))])
    assert [a.hazard for a in alarms] == ["cell_over_voltage_charging"] and alarms[0].evidence["cell"] == 8


def test_lfp_over_voltage_limit_is_3_7() -> None:
    lfp = [3.30] * 10
    assert hazards([frame(0, chemistry="LFP", charging=True, cells=[*lfp[:9], 3.69])]) == []
    assert hazards([frame(0, chemistry="LFP", charging=True, cells=[*lfp[:9], 3.70])]) == ["cell_over_voltage_charging"]


@pytest.mark.parametrize(("chem", "low", "near"), [("NCM", 1.8, 1.81), ("LFP", 1.5, 1.51)])
def test_cell_under_voltage_only_while_discharging(chem: str, low: float, near: float) -> None:
    base = 3.6 if chem == "NCM" else 3.3
    cv_near = [base] * 10
    cv_near[0] = near
    cv_low = [base] * 10
    cv_low[0] = low
    assert hazards([frame(0, chemistry=chem, cells=cv_near)]) == []
    assert hazards([frame(0, chemistry=chem, charging=True, cells=cv_low)]) == []
    assert hazards([frame(0, chemistry=chem, cells=cv_low)]) == ["cell_under_voltage_discharging"]


def test_charging_is_inferred_from_current_sign_when_absent() -> None:
    assert hazards([frame(0, charging=None, current=-40.0, cells=_cells(4.41))]) == ["cell_over_voltage_charging"]
    assert hazards([frame(0, charging=None, current=40.0, cells=_cells(4.41))]) == []
    assert hazards([frame(0, charging=1, cells=_cells(4.41))]) == ["cell_over_voltage_charging"]


def test_spread_rms_over_the_charging_window() -> None:
    cfg = AlarmConfig(spread_window=10)
    wide = [3.70] * 19 + [3.15]  # spread 0.55
    narrow = [3.70] * 19 + [3.25]  # spread 0.45
    assert hazards([frame(k, charging=True, cells=narrow) for k in range(30)], Monitor(cfg)) == []
    # one wide frame in an otherwise quiet window: RMS well below 0.5
    quiet = [frame(k, charging=True) for k in range(9)] + [frame(9, charging=True, cells=wide)]
    assert hazards(quiet, Monitor(cfg)) == []
    # wide while NOT charging: not this hazard
    assert hazards([frame(k, cells=wide) for k in range(30)], Monitor(cfg)) == []
    alarms = Monitor(cfg).feed([frame(k, charging=True, cells=wide) for k in range(10)])
    assert [a.hazard for a in alarms] == ["cell_voltage_spread_charging"]
    assert alarms[0].evidence["rms_spread_v"] == pytest.approx(0.55)


def test_spread_window_empties_after_a_long_gap() -> None:
    cfg = AlarmConfig(spread_window=10, spread_gap_reset_s=600)
    wide = [3.70] * 19 + [3.15]
    frames = [frame(k, charging=True, cells=wide) for k in range(5)]
    frames += [frame(1000 + k, charging=True, cells=wide) for k in range(5)]
    assert hazards(frames, Monitor(cfg)) == []


# --- insulation --------------------------------------------------------------------------------


def _low_ins(k: int, ohm_per_v: float = 100.0, step_s: float = 600.0) -> dict[str, Any]:
    f = frame(k, step_s=step_s)
    f["insulation_ohm"] = ohm_per_v * f["voltage"]
    return f


def test_low_insulation_needs_five_frames_within_a_day() -> None:
    assert hazards([_low_ins(k) for k in range(4)]) == []
    assert hazards([_low_ins(k, ohm_per_v=101.0) for k in range(10)]) == []
    # five low frames spread over more than 24 h: no alarm
    assert hazards([_low_ins(k, step_s=7 * 3600) for k in range(5)]) == []
    alarms = Monitor().feed([_low_ins(k) for k in range(5)])
    assert [a.hazard for a in alarms] == ["low_insulation"] and alarms[0].evidence["frames_in_window"] == 5


# --- voltage sampling fault --------------------------------------------------------------------


def test_sampling_fault_when_neighbours_deviate_symmetrically() -> None:
    cv = [3.70] * 20
    cv[4], cv[5] = 3.96, 3.44  # one reads high, its neighbour equally low
    alarms = Monitor().feed([frame(0, cells=cv)])
    assert [a.hazard for a in alarms] == ["voltage_sampling_fault"]
    assert alarms[0].evidence["cells"] == [5, 6]


def test_no_sampling_fault_when_a_single_cell_is_low_or_spread_small() -> None:
    single = [3.70] * 20
    single[4] = 3.10  # a genuinely weak cell: mean of the pair is far from the median
    assert hazards([frame(0, cells=single)]) == []
    small = [3.70] * 20
    small[4], small[5] = 3.94, 3.46  # 0.48 V
    assert hazards([frame(0, cells=small)]) == []


# --- long offline ------------------------------------------------------------------------------


def test_long_offline_when_battery_returns() -> None:
    m = Monitor()
    m.feed([frame(0)])
    back = frame(0)
    back["time"] = T0 + timedelta(days=91)
    alarms = m.feed([back])
    assert [a.hazard for a in alarms] == ["long_offline"]
    assert alarms[0].first_at == T0 and alarms[0].evidence["days"] == 91.0


def test_fleet_vehicles_go_offline_after_60_days_and_check_offline_uses_given_time() -> None:
    m = Monitor()
    m.feed([frame(0, fleet=True)])
    assert m.check_offline(T0 + timedelta(days=59)) == []
    (alarm,) = m.check_offline(T0 + timedelta(days=61))
    assert alarm.hazard == "long_offline" and alarm.last_at == T0 + timedelta(days=61)
    assert m.check_offline(T0 + timedelta(days=70)) == []  # reported once per silence
    private = Monitor()
    private.feed([frame(0)])
    assert private.check_offline(T0 + timedelta(days=89)) == []


# --- thermal runaway ---------------------------------------------------------------------------


def _ramp(rates: list[float], *, v_factor: list[float] | None = None, start: float = 35.0) -> list[dict[str, Any]]:
    frames, temp = [], start
    for k, r in enumerate(rates):
        temp += r
        f = frame(k, step_s=1.0, temps=[30.0, temp])
        if v_factor is not None:
            f["voltage"] *= v_factor[k]
        frames.append(f)
    return frames


def test_thermal_runaway_with_voltage_drop() -> None:
    drop = [1.0] * 4 + [0.7] * 3
    alarms = Monitor().feed(_ramp([0, 1.5, 1.5, 1.5, 1.5, 1.5, 1.5], v_factor=drop))
    assert "thermal_runaway" in [a.hazard for a in alarms]
    tr = next(a for a in alarms if a.hazard == "thermal_runaway")
    assert tr.level == 3 and tr.response == "stop_at_once" and tr.evidence["rising_for_s"] > 3


def test_thermal_runaway_when_max_temperature_reached() -> None:
    hazards_ = hazards(_ramp([0] + [5.0] * 6))  # 35 → 65 °C at 5 °C/s
    assert "thermal_runaway" in hazards_


def test_no_thermal_runaway_for_near_misses() -> None:
    # fast rise for exactly 3 s, then stops: not "more than 3 s"
    assert "thermal_runaway" not in hazards(_ramp([0, 1.5, 1.5, 1.5, 0, 0], v_factor=[1, 1, 1, 0.6, 0.6, 0.6]))
    # rise just under 1 °C/s with a voltage drop
    assert "thermal_runaway" not in hazards(_ramp([0] + [0.95] * 10, v_factor=[1] * 5 + [0.6] * 6))
    # sustained fast rise but neither a 25 % drop nor the maximum temperature
    assert "thermal_runaway" not in hazards(_ramp([0] + [1.2] * 8, v_factor=[1] * 4 + [0.8] * 5, start=20))


# --- BMS alarm unit and response ---------------------------------------------------------------


def test_decode_flags() -> None:
    assert decode_flags(0) == ()
    assert decode_flags(1 << 1 | 1 << 11) == ("battery_high_temperature", "insulation")
    assert decode_flags(1 << 18) == ("energy_storage_over_charge",)
    assert decode_flags(1 << 31) == ("reserved_bit_31",)
    with pytest.raises(InvalidHealthInput):
        decode_flags(1 << 32)


@given(st.integers(0, (1 << 19) - 1))
def test_decode_flags_round_trips(flags: int) -> None:
    names = decode_flags(flags)
    assert sum(1 << ALARM_FLAG_BITS.index(n) for n in names) == flags


@pytest.mark.parametrize(("level", "response"), [(1, "within_7_days"), (2, "within_1_day"), (3, "stop_at_once")])
def test_bms_level_maps_to_response(level: int, response: str) -> None:
    (alarm,) = Monitor().feed([frame(0, alarm_level=level, alarm_flags=1 << 11)])
    assert (alarm.hazard, alarm.level, alarm.response) == (f"bms_level_{level}", level, response)
    assert alarm.evidence["flags"] == ["insulation"]


def test_invalid_levels_are_not_alarms() -> None:
    assert hazards([frame(0, alarm_level=0xFE), frame(1, alarm_level=0xFF), frame(2, alarm_level=0)]) == []


def test_second_hazard_in_24h_escalates_to_one_day() -> None:
    m = Monitor()
    (first,) = m.feed([frame(0, temps=[61.0])])
    assert first.response == "within_7_days"
    (second,) = m.feed([frame(3600, cells=_cells(1.7))])  # 10 h later
    assert second.hazard == "cell_under_voltage_discharging"
    assert (second.level, second.response) == (2, "within_1_day")
    assert second.evidence["other_hazards_24h"] == ["over_temperature"]
    m2 = Monitor()
    m2.feed([frame(0, temps=[61.0])])
    (late,) = m2.feed([frame(9000, cells=_cells(1.7))])  # 25 h later
    assert late.response == "within_7_days"


# --- input handling ----------------------------------------------------------------------------


def test_batteries_are_independent_and_vin_identifies_a_battery() -> None:
    m = Monitor()
    a = frame(0, temps=[61.0])
    b = frame(0, temps=[61.0])
    del b["battery"]
    b["vin"] = "LGXCE4CB8T0000001"
    assert sorted(x.battery for x in m.feed([a, b])) == [BAT, "LGXCE4CB8T0000001"]


def test_out_of_order_frames_are_skipped() -> None:
    m = Monitor()
    m.feed([frame(10)])
    assert m.feed([frame(5, temps=[70.0])]) == []
    assert m.stats["out_of_order"] == 1


def test_naive_time_and_missing_fields_are_rejected() -> None:
    naive = frame(0)
    naive["time"] = datetime(2026, 5, 1, 8, 0)
    with pytest.raises(InvalidHealthInput, match="time zone"):
        Monitor().feed([naive])
    missing = frame(0)
    del missing["cell_voltages"]
    with pytest.raises(InvalidHealthInput, match="cell_voltages"):
        Monitor().feed([missing])
    with pytest.raises(InvalidHealthInput, match="battery"):
        Monitor().feed([{"time": T0}])


def test_iso_strings_are_accepted_and_alarm_serialises() -> None:
    f = frame(0, temps=[61.0])
    f["time"] = "2026-05-01T08:00:00+08:00"
    (alarm,) = Monitor().feed([f])
    d = alarm.as_dict()
    assert d["first_at"] == "2026-05-01T08:00:00+08:00" and d["battery"] == BAT and d["evidence"]["max_temp_c"] == 61


def _stream(n: int) -> Iterator[dict[str, Any]]:
    for k in range(n):
        yield frame(k, temps=[61.0] if k % 97 == 0 else None, charging=k % 3 == 0)


def test_batching_does_not_change_the_result() -> None:
    whole = [a.as_dict() for a in Monitor().feed(_stream(400))]
    m = Monitor()
    frames = list(_stream(400))
    pieces = [a.as_dict() for i in range(0, 400, 37) for a in m.feed(frames[i : i + 37])]
    assert whole == pieces and whole


def test_lenient_monitor_skips_bad_frames_and_strict_one_reports_earlier_alarms() -> None:
    bad = frame(1)
    del bad["voltage"]
    lenient = Monitor(strict=False)
    assert [a.hazard for a in lenient.feed([bad, frame(2, temps=[61.0])])] == ["over_temperature"]
    assert lenient.stats["rejected"] == 1
    with pytest.raises(InvalidHealthInput) as exc:
        Monitor().feed([frame(0, temps=[61.0]), bad])
    assert [a["hazard"] for a in exc.value.context["alarms"]] == ["over_temperature"]


def test_unknown_chemistry_uses_strict_temperature_and_no_voltage_limits() -> None:
    assert hazards([frame(0, chemistry="LMO", temps=[60.0])]) == ["over_temperature"]
    assert hazards([frame(0, chemistry="LMO", charging=True, cells=_cells(4.5))]) == []
    assert hazards([frame(0, chemistry="LFP", temps=[64.0])]) == []
