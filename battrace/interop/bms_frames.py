"""BMS frames (GB/T 32960-style, as JSON) read into the checked form the early-warning monitor takes.

:func:`normalise_frame` checks one frame and names the field at fault; ``insulation_kohm`` (what
GB/T 32960 transmits, kΩ) is converted to ``insulation_ohm``. The fields are listed in
docs/telemetry.md. Pure: no clock, no storage (the service checks frames against its clock).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from battrace.errors import InvalidHealthInput

#: Most cell voltages / temperature probes one frame may carry.
MAX_VALUES = 2_000
#: Frames dated before this year are refused.
EARLIEST_YEAR = 2000
_NUM = (int, float)
_NUM_TYPES = frozenset(_NUM)
_ALARM_LEVELS = (0, 1, 2, 3, 0xFE, 0xFF)



def bad_frame(index: int, message: str, name: str) -> InvalidHealthInput:
    return InvalidHealthInput(f"frame {index}: {message}", frame=index, field=name)


def _number(f: Mapping[str, Any], name: str, index: int, lo: float, hi: float, *, required: bool) -> float | None:
    v = f.get(name)
    if v is None:
        if required:
            raise bad_frame(index, f"{name!r} is missing", name)
        return None
    if type(v) not in _NUM or not lo <= v <= hi:
        raise bad_frame(index, f"{name!r} = {v!r} must be a number in [{lo:g}, {hi:g}]", name)
    return float(v)


def _series(f: Mapping[str, Any], name: str, index: int, lo: float, hi: float) -> list[float]:
    values = f.get(name)
    if values is None:
        raise bad_frame(index, f"{name!r} is missing", name)
    if not isinstance(values, list) or len(values) > MAX_VALUES:
        raise bad_frame(index, f"{name!r} must be a list of at most {MAX_VALUES} numbers", name)
    # Fast path (C loops): only ints and floats, finite (a NaN or ±inf makes the sum non-finite), in range.
    if not values or (set(map(type, values)) <= _NUM_TYPES and math.isfinite(sum(values))
                      and lo <= min(values) and max(values) <= hi):
        return values
    for i, v in enumerate(values):
        if type(v) not in _NUM or not lo <= v <= hi:
            raise bad_frame(index, f"{name}[{i}] = {v!r} must be a number in [{lo:g}, {hi:g}]", name)
    return values  # pragma: no cover - the fast path accepts every list the loop accepts


def _time(value: Any, index: int) -> datetime:
    if not isinstance(value, str):
        raise bad_frame(index, "'time' must be an ISO 8601 timestamp with offset", "time")
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise bad_frame(index, f"'time' = {value[:40]!r} is not ISO 8601", "time") from None
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise bad_frame(index, f"'time' = {value[:40]!r} needs a time-zone offset", "time")
    if moment.year < EARLIEST_YEAR:
        raise bad_frame(index, f"'time' = {value[:40]!r} is before {EARLIEST_YEAR}", "time")
    return moment


def normalise_frame(raw: Any, index: int) -> dict[str, Any]:
    """A checked frame for the monitor (``insulation_kohm`` converted to Ω), or raise naming the field."""
    if not isinstance(raw, Mapping):
        raise bad_frame(index, "must be a JSON object", "frame")
    battery, vin = raw.get("battery"), raw.get("vin")
    if battery is None and vin is None:
        raise bad_frame(index, "needs 'battery' (pack code) or 'vin'", "battery")
    for name, v in (("battery", battery), ("vin", vin)):
        if v is not None and (not isinstance(v, str) or not 1 <= len(v) <= 24):
            raise bad_frame(index, f"{name!r} must be a code or VIN string", name)
    f: dict[str, Any] = {"time": _time(raw.get("time"), index)}
    if battery is not None:
        f["battery"] = battery
    if vin is not None:
        f["vin"] = vin
    f["voltage"] = _number(raw, "voltage", index, 0.0, 2_000.0, required=True)
    f["current"] = _number(raw, "current", index, -5_000.0, 5_000.0, required=True)
    soc = _number(raw, "soc", index, 0.0, 100.0, required=False)
    if soc is not None:
        f["soc"] = soc
    f["cell_voltages"] = _series(raw, "cell_voltages", index, 0.0, 10.0)
    f["temperatures"] = _series(raw, "temperatures", index, -60.0, 300.0)
    kohm = _number(raw, "insulation_kohm", index, 0.0, 1e9, required=False)
    ohm = _number(raw, "insulation_ohm", index, 0.0, 1e12, required=False)
    if kohm is not None and ohm is not None:
        raise bad_frame(index, "give 'insulation_kohm' or 'insulation_ohm', not both", "insulation_kohm")
    if kohm is not None:
        f["insulation_ohm"] = kohm * 1000.0
    elif ohm is not None:
        f["insulation_ohm"] = ohm
    level = raw.get("alarm_level", 0)
    if type(level) is not int or level not in _ALARM_LEVELS:
        raise bad_frame(index, f"'alarm_level' = {level!r} must be 0–3 (254/255: abnormal/invalid)", "alarm_level")
    f["alarm_level"] = level
    flags = raw.get("alarm_flags", 0)
    if type(flags) is not int or not 0 <= flags <= 0xFFFFFFFF:
        raise bad_frame(index, f"'alarm_flags' = {flags!r} must be a 32-bit unsigned integer", "alarm_flags")
    f["alarm_flags"] = flags
    charging = raw.get("charging")
    if charging is not None:
        if type(charging) is not bool and (type(charging) is not int or not 0 <= charging <= 255):
            raise bad_frame(index, "'charging' must be true/false or a GB/T 32960 charging-state code", "charging")
        f["charging"] = charging
    fleet = raw.get("fleet")
    if fleet is not None:
        if type(fleet) is not bool:
            raise bad_frame(index, "'fleet' must be true or false", "fleet")
        f["fleet"] = fleet
    return f
