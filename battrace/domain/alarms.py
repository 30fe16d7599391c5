"""BMS early warning over GB/T 32960-style real-time frames.

A frame is a dict (e.g. parsed JSON)::

    {"battery": "07HPE01…" or "vin": "LGX…",   # one of the two identifies the battery
     "time": datetime (tz-aware) or ISO 8601 string with offset,
     "soc": 55.0, "voltage": 350.2, "current": -120.0,         # pack V, A (negative = charging)
     "cell_voltages": [3.61, 3.62, …],                         # V, physical order
     "temperatures": [31.0, 32.5, …],                          # probe °C
     "insulation_ohm": 2.5e6,                                  # Ω
     "alarm_level": 0, "alarm_flags": 0,                       # GB/T 32960.3 alarm unit
     "charging": True | False | 1…4 | None,                    # optional; GB/T 32960 code 1/2 = charging
     "chemistry": "NCM" | "LFP" | …,                           # optional; else Monitor(chemistry=…)
     "fleet": False}                                           # optional; fleet vehicles: 60-day offline

:class:`Monitor` evaluates frames incrementally, keeping a small state per battery, and returns
only NEW alarms. Time comes from the frames; the module never reads the clock.

Hazards (GB/T 45688-2025 suggested thresholds, see ``shared/domain/alarms.md``), ids as emitted:

``over_temperature``              max probe ≥ NCM 60 °C / LFP 65 °C
``cell_over_voltage_charging``    max cell ≥ NCM 4.4 V / LFP 3.7 V while charging
``cell_under_voltage_discharging``  min cell ≤ NCM 1.8 V / LFP 1.5 V while not charging
``cell_voltage_spread_charging``  RMS of (Vmax − Vmin) over the last N charging frames ≥ 0.5 V
``low_insulation``                insulation / pack voltage ≤ 100 Ω/V in ≥ 5 frames within 24 h
``voltage_sampling_fault``        two physically adjacent cells differ by ≥ 0.5 V while their mean
                                  lies within ±0.05 V of the pack's median cell — one reads high and
                                  its neighbour equally low, the signature of a broken sense wire
                                  (battrace's reading of the standard's wording)
``long_offline``                  gap between frames > 60 days (fleet) / 90 days (private)

plus ``thermal_runaway`` (GB 38031-2020: max temperature rising ≥ 1 °C/s for more than 3 s
together with a pack-voltage drop > 25 % from the start of the rise, or the maximum operating
temperature reached) and ``bms_level_1`` … ``bms_level_3`` (the frame's own alarm level, with the
32-bit flag word decoded by :func:`decode_flags`).

Response: BMS level 1 / 2 / 3 → ``within_7_days`` / ``within_1_day`` / ``stop_at_once``; a
GB/T 45688 hazard → ``within_7_days`` when it is the battery's only hazard in 24 h, else
``within_1_day`` (level 1 / 2); thermal runaway → ``stop_at_once`` (level 3).

A condition that stays true extends its alarm (``last_at``) instead of raising a new one; after
``rearm_s`` without the condition a new alarm is raised. Frames older than the battery's last
frame (late re-sends) are counted in ``Monitor.stats`` and skipped.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from types import MappingProxyType
from typing import Any

from battrace.domain.health import InvalidHealthInput

ALARM_FLAG_BITS: tuple[str, ...] = (
    "temperature_difference",
    "battery_high_temperature",
    "energy_storage_over_voltage",
    "energy_storage_under_voltage",
    "soc_low",
    "cell_over_voltage",
    "cell_under_voltage",
    "soc_too_high",
    "soc_jump",
    "energy_storage_mismatch",
    "poor_cell_consistency",
    "insulation",
    "dcdc_temperature",
    "brake_system",
    "dcdc_status",
    "motor_controller_temperature",
    "high_voltage_interlock",
    "drive_motor_temperature",
    "energy_storage_over_charge",
)
HAZARDS_45688: tuple[str, ...] = (
    "over_temperature",
    "cell_over_voltage_charging",
    "cell_under_voltage_discharging",
    "cell_voltage_spread_charging",
    "low_insulation",
    "voltage_sampling_fault",
    "long_offline",
)
THERMAL_RUNAWAY = "thermal_runaway"
RESPONSES = {1: "within_7_days", 2: "within_1_day", 3: "stop_at_once"}
DAY_S = 86_400.0


@lru_cache(maxsize=4096)
def decode_flags(flags: int) -> tuple[str, ...]:
    """Names of the set bits of a GB/T 32960.3 general alarm flag word (bits 19–31 reserved)."""
    if not 0 <= flags <= 0xFFFFFFFF:
        raise InvalidHealthInput(f"alarm flags {flags!r} are not a 32-bit word", field="alarm_flags")
    names = [name for bit, name in enumerate(ALARM_FLAG_BITS) if flags >> bit & 1]
    names += [f"reserved_bit_{bit}" for bit in range(len(ALARM_FLAG_BITS), 32) if flags >> bit & 1]
    return tuple(names)


@dataclass(frozen=True, slots=True)
class ChemistryLimits:
    max_temp_c: float
    max_cell_v_charging: float | None
    min_cell_v_discharging: float | None


def _default_limits() -> Mapping[str, ChemistryLimits]:
    return MappingProxyType(
        {
            "NCM": ChemistryLimits(60.0, 4.4, 1.8),
            "LFP": ChemistryLimits(65.0, 3.7, 1.5),
            # Unknown chemistry: the stricter temperature limit, no cell-voltage limits.
            "": ChemistryLimits(60.0, None, None),
        }
    )


CHEMISTRY_ALIASES: Mapping[str, str] = MappingProxyType({"NCM": "NCM", "NMC": "NCM", "NCA": "NCM", "LFP": "LFP"})


@dataclass(frozen=True, slots=True)
class AlarmConfig:
    """Thresholds (GB/T 45688 suggested values and GB 38031 criteria by default)."""

    limits: Mapping[str, ChemistryLimits] = field(default_factory=_default_limits)
    spread_rms_v: float = 0.5
    spread_window: int = 30  # charging frames in the RMS window (must be full to raise)
    spread_gap_reset_s: float = 3600.0  # a longer gap between charging frames empties the window
    insulation_ohm_per_v: float = 100.0
    insulation_frames: int = 5
    insulation_window_s: float = DAY_S
    sampling_spread_v: float = 0.5
    sampling_mid_tolerance_v: float = 0.05
    offline_fleet_days: float = 60.0
    offline_private_days: float = 90.0
    runaway_rate_c_per_s: float = 1.0
    runaway_duration_s: float = 3.0
    runaway_voltage_drop: float = 0.25
    runaway_max_temp_c: float = 60.0  # the pack's maximum operating temperature
    charging_current_negative: bool = True  # sign convention when ``charging`` is absent
    charging_current_a: float = 0.5  # |current| above which a pack counts as (dis)charging
    hazard_window_s: float = DAY_S  # "two or more hazards in 24 h"
    rearm_s: float = 600.0

    def limits_for(self, chemistry: str | None) -> ChemistryLimits:
        key = CHEMISTRY_ALIASES.get((chemistry or "").upper(), "")
        return self.limits.get(key) or self.limits[""]


@dataclass(frozen=True, slots=True)
class Alarm:
    battery: str
    hazard: str
    level: int
    first_at: datetime
    last_at: datetime
    evidence: Mapping[str, Any]
    response: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "battery": self.battery,
            "hazard": self.hazard,
            "level": self.level,
            "first_at": self.first_at.isoformat(),
            "last_at": self.last_at.isoformat(),
            "evidence": dict(self.evidence),
            "response": self.response,
        }


class _Episode:
    __slots__ = ("battery", "hazard", "level", "first_at", "last_at", "last_t", "evidence", "response")

    def __init__(
        self,
        battery: str,
        hazard: str,
        level: int,
        first_at: datetime,
        last_at: datetime,
        last_t: float,
        evidence: dict[str, Any],
        response: str,
    ) -> None:
        self.battery, self.hazard, self.level, self.response = battery, hazard, level, response
        self.first_at, self.last_at, self.last_t, self.evidence = first_at, last_at, last_t, evidence

    def snapshot(self) -> Alarm:
        return Alarm(
            self.battery,
            self.hazard,
            self.level,
            self.first_at,
            self.last_at,
            MappingProxyType(self.evidence),
            self.response,
        )


class _State:
    """Per-battery state: a handful of numbers and three short deques."""

    __slots__ = (
        "last_t",
        "last_dt",
        "prev_tmax",
        "prev_v",
        "streak_t",
        "streak_v",
        "spread_sq",
        "spread_last_t",
        "insulation_ts",
        "episodes",
        "offline_reported_t",
        "chemistry",
        "fleet",
    )

    def __init__(self, window: int) -> None:
        self.last_t = -math.inf
        self.last_dt: datetime | None = None
        self.prev_tmax = math.nan
        self.prev_v = math.nan
        self.streak_t = math.nan  # start of the current ≥ 1 °C/s rise
        self.streak_v = math.nan  # pack voltage at that start
        self.spread_sq: deque[float] = deque(maxlen=window)
        self.spread_last_t = -math.inf
        self.insulation_ts: deque[float] = deque()
        self.episodes: dict[str, _Episode] = {}
        self.offline_reported_t = math.nan
        self.chemistry: str | None = None
        self.fleet = False


def _time(value: Any, battery: str) -> datetime:
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            raise InvalidHealthInput(
                f"frame of {battery}: time {value!r} is not ISO 8601", battery=battery, field="time"
            ) from None
    if not isinstance(value, datetime):
        raise InvalidHealthInput(
            f"frame of {battery}: time must be a datetime or ISO string", battery=battery, field="time"
        )
    if value.tzinfo is None or value.utcoffset() is None:
        raise InvalidHealthInput(
            f"frame of {battery}: time {value.isoformat()} has no time zone", battery=battery, field="time"
        )
    return value


class Monitor:
    """Incremental evaluator: ``feed(frames)`` returns the alarms those frames raised."""

    def __init__(
        self,
        config: AlarmConfig | None = None,
        *,
        chemistry: str | None = None,
        chemistry_of: Mapping[str, str] | None = None,
        strict: bool = True,
    ) -> None:
        self.config = config or AlarmConfig()
        self.strict = strict
        self.default_chemistry = chemistry
        self.chemistry_of = dict(chemistry_of or {})
        self._states: dict[str, _State] = {}
        self.stats = {"frames": 0, "out_of_order": 0, "rejected": 0, "alarms": 0}

    # ------------------------------------------------------------------ public

    def feed(self, frames: Iterable[Mapping[str, Any]]) -> list[Alarm]:
        """Evaluate frames in order; return the alarms they raised.

        A malformed frame raises :class:`InvalidHealthInput` (its ``context["alarms"]`` holds the
        alarms the batch raised before it), or with ``strict=False`` is skipped and counted in
        ``stats["rejected"]``.
        """
        out: list[Alarm] = []
        for frame in frames:
            try:
                self._frame(frame, out)
            except InvalidHealthInput as exc:
                if self.strict:
                    self.stats["alarms"] += len(out)
                    exc.context["alarms"] = [a.as_dict() for a in out]
                    raise
                self.stats["rejected"] += 1
        self.stats["alarms"] += len(out)
        return out

    def check_offline(self, as_of: datetime) -> list[Alarm]:
        """Alarms for batteries silent for longer than the offline limit at ``as_of``."""
        now_dt = _time(as_of, "check_offline")
        now = now_dt.timestamp()
        out: list[Alarm] = []
        for battery, st in self._states.items():
            if st.last_dt is None or st.offline_reported_t == st.last_t:
                continue
            limit = self._offline_limit_s(st)
            if now - st.last_t > limit:
                st.offline_reported_t = st.last_t
                self._raise(
                    out,
                    battery,
                    st,
                    "long_offline",
                    st.last_dt,
                    st.last_t,
                    {
                        "last_frame_at": st.last_dt.isoformat(),
                        "as_of": now_dt.isoformat(),
                        "days": round((now - st.last_t) / DAY_S, 1),
                        "limit_days": limit / DAY_S,
                    },
                    first_at=st.last_dt,
                    last_at=now_dt,
                    now_t=now,
                )
        self.stats["alarms"] += len(out)
        return out

    def episodes(self, battery: str | None = None) -> list[Alarm]:
        """Current alarms (with their latest ``last_at``) for one battery or all."""
        keys = [battery] if battery is not None else list(self._states)
        return [e.snapshot() for k in keys if k in self._states for e in self._states[k].episodes.values()]

    # ------------------------------------------------------------------ per frame

    def _offline_limit_s(self, st: _State) -> float:
        return _offline_limit_s(self.config, st)

    def _frame(self, f: Mapping[str, Any], out: list[Alarm]) -> None:
        """Read one frame, run every registered detector on it (in registration order), then keep
        what the next frame needs."""
        cfg = self.config
        battery = f.get("battery") or f.get("vin")
        if not battery:
            raise InvalidHealthInput("frame has neither 'battery' nor 'vin'", field="battery")
        dt = _time(f.get("time"), battery)
        t = dt.timestamp()
        st = self._states.get(battery)
        if st is None:
            st = self._states[battery] = _State(cfg.spread_window)
            st.chemistry = f.get("chemistry") or self.chemistry_of.get(battery) or self.default_chemistry
        elif f.get("chemistry"):
            st.chemistry = f["chemistry"]
        if "fleet" in f:
            st.fleet = bool(f["fleet"])
        self.stats["frames"] += 1
        if t < st.last_t:
            self.stats["out_of_order"] += 1
            return
        r = _reading(f, battery, dt, t, cfg, cfg.limits_for(st.chemistry))
        for detect in DETECTORS.values():
            signal = detect(cfg, st, r)
            if signal is not None:
                hazard, evidence, extra = signal
                self._raise(out, battery, st, hazard, dt, t, evidence, **extra)
        st.prev_tmax = r.tmax
        st.prev_v = r.voltage
        st.last_t = t
        st.last_dt = dt

    def _raise(
        self,
        out: list[Alarm],
        battery: str,
        st: _State,
        hazard: str,
        dt: datetime,
        t: float,
        evidence: dict[str, Any],
        *,
        level: int | None = None,
        first_at: datetime | None = None,
        last_at: datetime | None = None,
        now_t: float | None = None,
    ) -> None:
        cfg = self.config
        ep = st.episodes.get(hazard)
        if ep is not None and t - ep.last_t <= cfg.rearm_s and hazard != "long_offline":
            ep.last_at, ep.last_t = dt, t
            return
        if level is None:
            horizon = (now_t if now_t is not None else t) - cfg.hazard_window_s
            others = sum(1 for h, e in st.episodes.items() if h != hazard and h in HAZARDS_45688 and e.last_t > horizon)
            level = 2 if others else 1
            if others:
                evidence["other_hazards_24h"] = sorted(
                    h for h, e in st.episodes.items() if h != hazard and h in HAZARDS_45688 and e.last_t > horizon
                )
        ep = _Episode(
            battery,
            hazard,
            level,
            first_at or dt,
            last_at or dt,
            now_t if now_t is not None else t,
            evidence,
            RESPONSES[level],
        )
        st.episodes[hazard] = ep
        out.append(ep.snapshot())


# ---------------------------------------------------------------------------- detectors


@dataclass(slots=True)
class Reading:
    """One frame as the detectors read it (not frozen: made for every frame, and frozen dataclasses
    are several times slower to build)."""

    battery: str
    dt: datetime
    t: float
    cells: list[float]
    temps: list[float]
    voltage: float
    charging: bool
    vmax: float  # highest / lowest cell voltage (NaN without cells)
    vmin: float
    tmax: float
    insulation_ohm: float | None
    alarm_level: Any
    alarm_flags: int
    limits: ChemistryLimits


#: What a detector reports: (hazard, evidence, extra arguments of the raise: level, first_at).
Signal = tuple[str, dict[str, Any], dict[str, Any]]
#: A detector reads a frame (and the battery's state, which it may update) and returns its signal, if any.
Detector = Callable[[AlarmConfig, _State, Reading], "Signal | None"]
#: The detectors, by name, in the order they run on each frame (a hazard raised earlier in a frame
#: counts as "another hazard within 24 h" for the ones after it).
DETECTORS: dict[str, Detector] = {}


def detector(name: str) -> Callable[[Detector], Detector]:
    """Register a detector under ``name`` (once), as the compliance rules register themselves."""

    def add(fn: Detector) -> Detector:
        if name in DETECTORS:
            raise ValueError(f"detector {name} is registered twice")
        DETECTORS[name] = fn
        return fn

    return add


def _offline_limit_s(cfg: AlarmConfig, st: _State) -> float:
    return (cfg.offline_fleet_days if st.fleet else cfg.offline_private_days) * DAY_S


def _reading(
    f: Mapping[str, Any], battery: str, dt: datetime, t: float, cfg: AlarmConfig, lim: ChemistryLimits
) -> Reading:
    try:
        cells = f["cell_voltages"]
        temps = f["temperatures"]
        voltage = float(f["voltage"])
        current = float(f["current"])
    except KeyError as exc:
        raise InvalidHealthInput(
            f"frame of {battery} at {dt.isoformat()}: missing {exc.args[0]!r}", battery=battery, field=exc.args[0]
        ) from None
    except (TypeError, ValueError):
        raise InvalidHealthInput(
            f"frame of {battery} at {dt.isoformat()}: voltage/current not numbers", battery=battery
        ) from None
    charging_raw = f.get("charging")
    if charging_raw is None:
        charging = (-current if cfg.charging_current_negative else current) > cfg.charging_current_a
    elif isinstance(charging_raw, bool):
        charging = charging_raw
    else:
        charging = charging_raw in (1, 2)
    tmax = max(temps) if temps else math.nan
    vmax, vmin = (max(cells), min(cells)) if cells else (math.nan, math.nan)
    return Reading(battery, dt, t, cells, temps, voltage, charging, vmax, vmin, tmax, f.get("insulation_ohm"),
                   f.get("alarm_level", 0), f.get("alarm_flags", 0) or 0, lim)


@detector("long_offline")
def _long_offline(cfg: AlarmConfig, st: _State, r: Reading) -> Signal | None:
    """Long offline, noticed when the battery comes back."""
    limit = _offline_limit_s(cfg, st)
    if st.last_dt is not None and r.t - st.last_t > limit and st.offline_reported_t != st.last_t:
        st.offline_reported_t = st.last_t
        return ("long_offline", {"last_frame_at": st.last_dt.isoformat(), "days": round((r.t - st.last_t) / DAY_S, 1),
                                "limit_days": limit / DAY_S}, {"first_at": st.last_dt})
    return None


@detector("over_temperature")
def _over_temperature(cfg: AlarmConfig, st: _State, r: Reading) -> Signal | None:
    if r.tmax >= r.limits.max_temp_c:
        return ("over_temperature", {"max_temp_c": r.tmax, "limit_c": r.limits.max_temp_c,
                                    "probe": r.temps.index(r.tmax) + 1}, {})
    return None


@detector("cell_over_voltage_charging")
def _cell_over_voltage(cfg: AlarmConfig, st: _State, r: Reading) -> Signal | None:
    limit = r.limits.max_cell_v_charging
    if r.cells and r.charging and limit is not None and r.vmax >= limit:
        return ("cell_over_voltage_charging",
                {"max_cell_v": r.vmax, "cell": r.cells.index(r.vmax) + 1, "limit_v": limit}, {})
    return None


@detector("cell_voltage_spread_charging")
def _cell_spread(cfg: AlarmConfig, st: _State, r: Reading) -> Signal | None:
    """RMS of the cell spread over the last ``spread_window`` charging frames."""
    if not (r.cells and r.charging):
        return None
    spread = r.vmax - r.vmin
    sq = st.spread_sq
    if r.t - st.spread_last_t > cfg.spread_gap_reset_s:
        sq.clear()
    st.spread_last_t = r.t
    sq.append(spread * spread)
    if len(sq) == cfg.spread_window:
        rms = math.sqrt(sum(sq) / cfg.spread_window)
        if rms >= cfg.spread_rms_v:
            return ("cell_voltage_spread_charging", {"rms_spread_v": round(rms, 4), "window_frames": cfg.spread_window,
                                                    "limit_v": cfg.spread_rms_v}, {})
    return None


@detector("cell_under_voltage_discharging")
def _cell_under_voltage(cfg: AlarmConfig, st: _State, r: Reading) -> Signal | None:
    limit = r.limits.min_cell_v_discharging
    if r.cells and not r.charging and limit is not None and r.vmin <= limit:
        return ("cell_under_voltage_discharging", {"min_cell_v": r.vmin, "cell": r.cells.index(r.vmin) + 1,
                                                  "limit_v": limit}, {})
    return None


@detector("voltage_sampling_fault")
def _sampling_fault(cfg: AlarmConfig, st: _State, r: Reading) -> Signal | None:
    """Two adjacent cells, one high and one equally low around the median: a broken sense wire."""
    cells = r.cells
    if not cells or r.vmax - r.vmin < cfg.sampling_spread_v:
        return None
    median = sorted(cells)[len(cells) // 2]
    limit, tol = cfg.sampling_spread_v, cfg.sampling_mid_tolerance_v
    for i in range(len(cells) - 1):
        a, b = cells[i], cells[i + 1]
        if abs(a - b) >= limit and abs((a + b) / 2.0 - median) <= tol:
            return ("voltage_sampling_fault", {"cells": [i + 1, i + 2], "voltages_v": [a, b], "median_cell_v": median,
                                               "limit_v": limit}, {})
    return None


@detector("low_insulation")
def _low_insulation(cfg: AlarmConfig, st: _State, r: Reading) -> Signal | None:
    if r.insulation_ohm is None or r.voltage <= 0:
        return None
    per_volt = r.insulation_ohm / r.voltage
    if per_volt <= cfg.insulation_ohm_per_v:
        q = st.insulation_ts
        q.append(r.t)
        horizon = r.t - cfg.insulation_window_s
        while q and q[0] <= horizon:
            q.popleft()
        if len(q) >= cfg.insulation_frames:
            return ("low_insulation", {"ohm_per_v": round(per_volt, 2), "frames_in_window": len(q),
                                      "limit_ohm_per_v": cfg.insulation_ohm_per_v}, {})
    return None


@detector(THERMAL_RUNAWAY)
def _thermal_runaway(cfg: AlarmConfig, st: _State, r: Reading) -> Signal | None:
    """GB 38031: a sustained ≥ 1 °C/s rise plus a voltage drop or the maximum temperature."""
    if math.isnan(st.prev_tmax) or r.t <= st.last_t:
        return None
    rate = (r.tmax - st.prev_tmax) / (r.t - st.last_t)
    if rate < cfg.runaway_rate_c_per_s:
        st.streak_t = math.nan
        return None
    if math.isnan(st.streak_t):
        st.streak_t, st.streak_v = st.last_t, st.prev_v
    duration = r.t - st.streak_t
    if duration > cfg.runaway_duration_s:
        drop = 1.0 - r.voltage / st.streak_v if st.streak_v > 0 else 0.0
        if drop > cfg.runaway_voltage_drop or r.tmax >= cfg.runaway_max_temp_c:
            return (THERMAL_RUNAWAY, {"rise_c_per_s": round(rate, 3), "rising_for_s": duration, "max_temp_c": r.tmax,
                                     "voltage_drop": round(drop, 4), "max_operating_temp_c": cfg.runaway_max_temp_c},
                   {"level": 3})
    return None


@detector("bms_level")
def _bms_level(cfg: AlarmConfig, st: _State, r: Reading) -> Signal | None:
    """The frame's own alarm level (1–3), with its flag word decoded."""
    if r.alarm_level in (1, 2, 3):
        return (f"bms_level_{r.alarm_level}", {"alarm_level": r.alarm_level, "alarm_flags": r.alarm_flags,
                                              "flags": list(decode_flags(r.alarm_flags))}, {"level": r.alarm_level})
    return None
