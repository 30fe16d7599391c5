"""Field checkers of the reporting contract: one function a kind of value (battery code, VIN, credit
code, timestamp, text, number …), each ``(event_type, field, value) -> value`` raising
:class:`~battrace.errors.InvalidEvent` (or the code's own error) with the message, field and value
every face reports.

The event classes (:mod:`battrace.domain.event_types`) name the checker of each field; the parser
(:func:`battrace.domain.events.parse_event`) runs them. Moved here from ``events.py`` unchanged.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from datetime import datetime
from typing import Any

from battrace.domain.codes import parse_code
from battrace.domain.credit import validate_credit_code
from battrace.domain.limits import check_moment
from battrace.domain.vin import validate_vin
from battrace.errors import InvalidEvent

APPLICATIONS = ("energy_storage", "backup_power", "charging_station", "low_speed_vehicle", "e_bike", "other")
PROCESSES = ("hydro", "pyro", "direct")
TEST_METHODS = ("gbt34015", "pulse")
REGION = re.compile(r"[0-9]{6}")  # ASCII digits only (\d would take fullwidth digits)
#: RFC 3339 date-time with a mandatory offset, ASCII digits only.
RFC3339 = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt][0-9]{2}:[0-9]{2}:[0-9]{2}(?P<frac>\.[0-9]{1,9})?(?:[Zz]|[+-][0-9]{2}:[0-9]{2})"
)
EVENT_ID_MAX = 128
MATERIAL = re.compile(r"^[a-z_]{1,32}$")


def fail(event_type: str | None, field: str, message: str, value: Any = None) -> InvalidEvent:
    prefix = f"{event_type}: " if event_type else ""
    return InvalidEvent(f"{prefix}field {field!r} {message}", field=field, value=_short(value))


def _short(value: Any) -> Any:
    text = repr(value)
    return value if len(text) <= 80 and isinstance(value, (str, int, float, bool, type(None))) else text[:80]


Checker = Callable[[str, str, Any], Any]


#: Values already found valid (codes, VINs, credit codes are pure functions of their text): a battery
#: is named by a handful of events, an organisation by millions. Bounded: emptied when full.
_VALID_CODES: set[str] = set()
_VALID_VINS: set[str] = set()
_VALID_CREDIT: set[str] = set()
_CACHE_MAX = 100_000


def _remember(cache: set[str], value: str) -> None:
    if len(cache) >= _CACHE_MAX:
        cache.clear()
    cache.add(value)


def _cached_check(cache: set[str], expected: str, validate: Callable[[str], Any]) -> Checker:
    """A checker of a string whose validity is a pure function of its text: ``validate`` raises the
    precise error; values found valid are remembered in ``cache`` (bounded, see :func:`_remember`)."""

    def check(t: str, f: str, v: Any) -> str:
        if type(v) is str and v in cache:
            return v
        if not isinstance(v, str):
            raise fail(t, f, expected, v)
        validate(v)
        if type(v) is str:  # not a str subclass, whose equality could differ
            _remember(cache, v)
        return v

    return check


check_code = _cached_check(_VALID_CODES, "must be a battery code (string)", parse_code)
check_vin = _cached_check(_VALID_VINS, "must be a 17-character VIN", validate_vin)
check_credit = _cached_check(_VALID_CREDIT, "must be an 18-character unified social credit code",
                             validate_credit_code)


def check_codes(t: str, f: str, v: Any) -> list[str]:
    if not isinstance(v, list) or not v:
        raise fail(t, f, "must be a non-empty list of battery codes", v)
    out = [check_code(t, f"{f}[{i}]", c) for i, c in enumerate(v)]
    if len(set(out)) != len(out):
        raise fail(t, f, "lists a battery more than once", v)
    return out


def check_codes_or_none(t: str, f: str, v: Any) -> list[str]:
    """A list of battery codes that may be empty (``batteries_present``: none found)."""
    return [] if v == [] else check_codes(t, f, v)


def check_text(t: str, f: str, v: Any) -> str:
    if not isinstance(v, str) or not v.strip() or len(v) > 500:
        raise fail(t, f, "must be a non-empty string (at most 500 characters)", v)
    return v


def check_bool(t: str, f: str, v: Any) -> bool:
    if not isinstance(v, bool):
        raise fail(t, f, "must be true or false", v)
    return v


def check_number(t: str, f: str, v: Any, lo: float = 0.0, hi: float = 1e9, lo_open: bool = True) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
        raise fail(t, f, "must be a number", v)
    if (v <= lo if lo_open else v < lo) or v > hi:
        bound = f"> {lo}" if lo_open else f">= {lo}"
        raise fail(t, f, f"must be {bound} and <= {hi}", v)
    return v


def check_positive(t: str, f: str, v: Any) -> float:
    return check_number(t, f, v)


def check_soh(t: str, f: str, v: Any) -> float:
    return check_number(t, f, v, 0.0, 1.2, lo_open=False)


def choice(options: tuple[str, ...]) -> Checker:
    def check(t: str, f: str, v: Any) -> str:
        if v not in options:
            raise fail(t, f, f"must be one of {', '.join(options)}", v)
        return str(v)

    return check


def check_timestamp(t: str, f: str, v: Any) -> str:
    parse_time(v, f, t)
    return str(v)


def check_outputs(t: str, f: str, v: Any) -> dict[str, float]:
    if not isinstance(v, dict) or not v:
        raise fail(t, f, "must be an object of material -> kg", v)
    for k, kg in v.items():
        if not isinstance(k, str) or not MATERIAL.match(k):
            raise fail(t, f"{f}.{k}", "is not a material name (lower-case letters and _)", k)
        check_number(t, f"{f}.{k}", kg, 0.0, 1e7, lo_open=False)
    return dict(v)


def check_replacements(t: str, f: str, v: Any) -> list[dict[str, str]]:
    if not isinstance(v, list) or not v:
        raise fail(t, f, "must be a non-empty list of {removed, installed}", v)
    out = []
    for i, item in enumerate(v):
        if not isinstance(item, dict) or set(item) != {"removed", "installed"}:
            raise fail(t, f"{f}[{i}]", "must be an object with exactly removed and installed", item)
        out.append({"removed": check_code(t, f"{f}[{i}].removed", item["removed"]),
                    "installed": check_code(t, f"{f}[{i}].installed", item["installed"])})
    return out


def check_features(t: str, f: str, v: Any) -> dict[str, Any]:
    if not isinstance(v, dict):
        raise fail(t, f, "must be an object", v)
    return v


def parse_time(value: Any, field: str = "occurred_at", event_type: str | None = None) -> datetime:
    """An RFC 3339 timestamp with an offset (``Z`` or ``+08:00``)."""
    if not isinstance(value, str):
        raise fail(event_type, field, "must be an RFC 3339 timestamp with offset", value)
    form = RFC3339.fullmatch(value)
    if form is None:
        if _without_offset(value):
            raise fail(event_type, field, "needs a time-zone offset (China reports in +08:00)", value)
        raise fail(event_type, field, "is not an RFC 3339 timestamp (2026-05-01T09:30:00+08:00)", value)
    try:
        moment = to_datetime(value, form.group("frac"))
    except ValueError:
        raise fail(event_type, field, "is not a valid date and time", value) from None
    check_moment(moment, field, event_type=event_type, text=value)
    return moment


def to_datetime(value: str, frac: str | None) -> datetime:
    text = value.upper()
    if frac and len(frac) > 7:  # Python keeps microseconds: drop the nanosecond digits
        text = text.replace(frac, frac[:7], 1)
    return datetime.fromisoformat(text)


def _without_offset(value: str) -> bool:
    try:
        return datetime.fromisoformat(value).tzinfo is None
    except ValueError:
        return False
