"""Native events: the reporting contract, validated field by field.

An event is a JSON object with common fields (``event_id``, ``type``, ``occurred_at``, ``reporter``,
optional ``region`` and ``data``) and the fields of its type (``EVENT_TYPES``). :func:`parse_event`
turns a raw object into an :class:`Event` or raises :class:`~battrace.errors.InvalidEvent` (or
:class:`~battrace.errors.InvalidCode` for a malformed battery code, rule R06) naming the field.

The event's *content* (what the reporter said, canonical JSON) is what idempotency compares and
what the hash chain covers.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from battrace.domain.codes import parse_code
from battrace.domain.credit import validate_credit_code
from battrace.domain.limits import check_moment, check_raw, check_size
from battrace.domain.vin import validate_vin
from battrace.errors import BattraceError, InvalidEvent

APPLICATIONS = ("energy_storage", "backup_power", "charging_station", "low_speed_vehicle", "e_bike", "other")
PROCESSES = ("hydro", "pyro", "direct")
TEST_METHODS = ("gbt34015", "pulse")
COMMON_FIELDS = ("event_id", "type", "occurred_at", "reporter", "region", "data")
_REGION = re.compile(r"[0-9]{6}")  # ASCII digits only (\d would take fullwidth digits)
#: RFC 3339 date-time with a mandatory offset, ASCII digits only.
_RFC3339 = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt][0-9]{2}:[0-9]{2}:[0-9]{2}(?P<frac>\.[0-9]{1,9})?(?:[Zz]|[+-][0-9]{2}:[0-9]{2})"
)
_EVENT_ID_MAX = 128


def _fail(event_type: str | None, field: str, message: str, value: Any = None) -> InvalidEvent:
    prefix = f"{event_type}: " if event_type else ""
    return InvalidEvent(f"{prefix}field {field!r} {message}", field=field, value=_short(value))


def _short(value: Any) -> Any:
    text = repr(value)
    return value if len(text) <= 80 and isinstance(value, (str, int, float, bool, type(None))) else text[:80]


# -- field checkers: (event_type, field, value) -> normalised value ----------------------------------

Checker = Callable[[str, str, Any], Any]


def _code(t: str, f: str, v: Any) -> str:
    if not isinstance(v, str):
        raise _fail(t, f, "must be a battery code (string)", v)
    parse_code(v)
    return v


def _codes(t: str, f: str, v: Any) -> list[str]:
    if not isinstance(v, list) or not v:
        raise _fail(t, f, "must be a non-empty list of battery codes", v)
    out = [_code(t, f"{f}[{i}]", c) for i, c in enumerate(v)]
    if len(set(out)) != len(out):
        raise _fail(t, f, "lists a battery more than once", v)
    return out


def _vin(t: str, f: str, v: Any) -> str:
    if not isinstance(v, str):
        raise _fail(t, f, "must be a 17-character VIN", v)
    validate_vin(v)
    return v


_VALID_CREDIT: set[str] = set()


def _credit(t: str, f: str, v: Any) -> str:
    if isinstance(v, str) and v in _VALID_CREDIT:  # the same few thousand organisations report millions of events
        return str(v)
    if not isinstance(v, str):
        raise _fail(t, f, "must be an 18-character unified social credit code", v)
    validate_credit_code(v)
    if len(_VALID_CREDIT) < 100_000:
        _VALID_CREDIT.add(v)
    return v


def _text(t: str, f: str, v: Any) -> str:
    if not isinstance(v, str) or not v.strip() or len(v) > 500:
        raise _fail(t, f, "must be a non-empty string (at most 500 characters)", v)
    return v


def _bool(t: str, f: str, v: Any) -> bool:
    if not isinstance(v, bool):
        raise _fail(t, f, "must be true or false", v)
    return v


def _number(t: str, f: str, v: Any, lo: float = 0.0, hi: float = 1e9, lo_open: bool = True) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
        raise _fail(t, f, "must be a number", v)
    if (v <= lo if lo_open else v < lo) or v > hi:
        bound = f"> {lo}" if lo_open else f">= {lo}"
        raise _fail(t, f, f"must be {bound} and <= {hi}", v)
    return v


def _positive(t: str, f: str, v: Any) -> float:
    return _number(t, f, v)


def _soh(t: str, f: str, v: Any) -> float:
    return _number(t, f, v, 0.0, 1.2, lo_open=False)


def _choice(options: tuple[str, ...]) -> Checker:
    def check(t: str, f: str, v: Any) -> str:
        if v not in options:
            raise _fail(t, f, f"must be one of {', '.join(options)}", v)
        return str(v)

    return check


def _timestamp(t: str, f: str, v: Any) -> str:
    parse_time(v, f, t)
    return str(v)


def _outputs(t: str, f: str, v: Any) -> dict[str, float]:
    if not isinstance(v, dict) or not v:
        raise _fail(t, f, "must be an object of material -> kg", v)
    for k, kg in v.items():
        if not isinstance(k, str) or not re.match(r"^[a-z_]{1,32}$", k):
            raise _fail(t, f"{f}.{k}", "is not a material name (lower-case letters and _)", k)
        _number(t, f"{f}.{k}", kg, 0.0, 1e7, lo_open=False)
    return dict(v)


def _replacements(t: str, f: str, v: Any) -> list[dict[str, str]]:
    if not isinstance(v, list) or not v:
        raise _fail(t, f, "must be a non-empty list of {removed, installed}", v)
    out = []
    for i, item in enumerate(v):
        if not isinstance(item, dict) or set(item) != {"removed", "installed"}:
            raise _fail(t, f"{f}[{i}]", "must be an object with exactly removed and installed", item)
        out.append({"removed": _code(t, f"{f}[{i}].removed", item["removed"]),
                    "installed": _code(t, f"{f}[{i}].installed", item["installed"])})
    return out


def _features(t: str, f: str, v: Any) -> dict[str, Any]:
    if not isinstance(v, dict):
        raise _fail(t, f, "must be an object", v)
    return v


@dataclass(frozen=True, slots=True)
class EventType:
    name: str
    reporters: tuple[str, ...] | None  # None: any organisation (custody decides)
    required: Mapping[str, Checker]
    optional: Mapping[str, Checker]


_ALL = None
EVENT_TYPES: dict[str, EventType] = {
    t.name: t
    for t in (
        EventType(
            "battery.produced", ("battery_maker",),
            {"battery": _code, "model": _text, "rated_capacity_ah": _positive, "nominal_voltage_v": _positive,
             "rated_energy_kwh": _positive, "mass_kg": _positive},
            {"components": _codes},
        ),
        EventType("battery.assembled", ("battery_maker", "vehicle_maker"),
                  {"battery": _code, "components": _codes}, {}),
        EventType("techinfo.filed", ("battery_maker",),
                  {"model": _text, "ccc_certified_at": _timestamp, "document": _text}, {}),
        EventType(
            "vehicle.certified", ("vehicle_maker",),
            {"vin": _vin, "vehicle_model": _text, "swap_model": _bool, "batteries": _codes, "certificate_no": _text},
            {},
        ),
        EventType("vehicle.sold", ("vehicle_maker",), {"vin": _vin}, {}),
        EventType("battery.swapped", ("swap_operator",), {"vin": _vin, "removed": _code, "installed": _code}, {}),
        EventType("battery.replaced", ("repair_shop", "vehicle_maker"),
                  {"vin": _vin, "removed": _code, "reason": _text}, {"installed": _code}),
        EventType("battery.repaired", ("repair_shop", "vehicle_maker"),
                  {"battery": _code}, {"components_replaced": _replacements}),
        EventType("vehicle.scrapped", ("dismantler",),
                  {"vin": _vin, "batteries_present": lambda t, f, v: [] if v == [] else _codes(t, f, v),
                   "certificate_no": _text}, {}),
        EventType("battery.removed", ("dismantler",), {"battery": _code, "vin": _vin}, {}),
        EventType("battery.handed_over", _ALL, {"batteries": _codes, "to": _credit}, {}),
        EventType("battery.received", _ALL, {"batteries": _codes, "from": _credit}, {}),
        EventType(
            "battery.tested", _ALL, {"battery": _code, "soh": _soh},
            {"measured_capacity_ah": _positive, "internal_resistance_mohm": _positive,
             "method": _choice(TEST_METHODS), "features": _features},
        ),
        EventType(
            "battery.remanufactured", ("reuse_enterprise",),
            {"product": _code, "sources": _codes, "application": _choice(APPLICATIONS)},
            {"certification": _text},
        ),
        EventType("product.delivered", ("reuse_enterprise",),
                  {"battery": _code, "application": _choice(APPLICATIONS), "customer": _text}, {}),
        EventType("battery.dismantled", ("recycler", "reuse_enterprise"), {"battery": _code}, {"components": _codes}),
        EventType(
            "battery.recycled", ("recycler",),
            {"batteries": _codes, "process": _choice(PROCESSES), "outputs": _outputs}, {},
        ),
        EventType("battery.reported_missing", _ALL, {"battery": _code, "reason": _text}, {}),
        EventType("battery.discarded", ("battery_maker", "vehicle_maker"), {"battery": _code, "reason": _text}, {}),
        EventType("product.returned", ("reuse_enterprise", "collection_outlet", "recycler"),
                  {"battery": _code, "reason": _text}, {"from_customer": _text}),
    )
}


#: The schema version of each event type's content as the ledger writes it today, stored with every
#: event (``events.schema_version``). Raise a type's version when its content changes shape, and
#: register an upcaster from the old version (:mod:`battrace.domain.upcasting`).
EVENT_VERSIONS: dict[str, int] = dict.fromkeys(EVENT_TYPES, 1)


def parse_time(value: Any, field: str = "occurred_at", event_type: str | None = None) -> datetime:
    """An RFC 3339 timestamp with an offset (``Z`` or ``+08:00``)."""
    if not isinstance(value, str):
        raise _fail(event_type, field, "must be an RFC 3339 timestamp with offset", value)
    form = _RFC3339.fullmatch(value)
    if form is None:
        if _without_offset(value):
            raise _fail(event_type, field, "needs a time-zone offset (China reports in +08:00)", value)
        raise _fail(event_type, field, "is not an RFC 3339 timestamp (2026-05-01T09:30:00+08:00)", value)
    try:
        moment = _to_datetime(value, form.group("frac"))
    except ValueError:
        raise _fail(event_type, field, "is not a valid date and time", value) from None
    check_moment(moment, field, event_type=event_type, text=value)
    return moment


def _to_datetime(value: str, frac: str | None) -> datetime:
    text = value.upper()
    if frac and len(frac) > 7:  # Python keeps microseconds: drop the nanosecond digits
        text = text.replace(frac, frac[:7], 1)
    return datetime.fromisoformat(text)


AS_OF_BASES = ("recorded", "occurred")


def parse_moment(value: Any, field: str = "at") -> datetime:
    """A moment a reader asks about (``passport --at``, ``?at=``): an RFC 3339 timestamp with offset,
    or a date ``YYYY-MM-DD`` meaning the end of that day on China's clock (+08:00)."""
    if isinstance(value, str) and len(value) == 10:
        try:
            day = datetime.strptime(value, "%Y-%m-%d")
        except ValueError:
            raise _fail(None, field, "is neither a date (YYYY-MM-DD) nor an RFC 3339 timestamp", value) from None
        return datetime.fromisoformat(f"{day.date().isoformat()}T23:59:59.999999+08:00")
    return parse_time(value, field)


def _without_offset(value: str) -> bool:
    try:
        return datetime.fromisoformat(value).tzinfo is None
    except ValueError:
        return False


@dataclass(frozen=True, slots=True)
class Event:
    """A validated event, as reported."""

    event_id: str
    type: str
    occurred_at: datetime
    reporter: str
    region: str | None
    fields: dict[str, Any]
    content: dict[str, Any]  # the normalised reported object (without platform extras)
    canonical: str  # ``content`` as canonical JSON: what idempotency compares and the hash covers

    def __getitem__(self, name: str) -> Any:
        return self.fields[name]

    def get(self, name: str, default: Any = None) -> Any:
        return self.fields.get(name, default)

    def codes(self) -> list[str]:
        """Every battery code the event names, in order."""
        out: list[str] = []
        f = self.fields
        for key in ("battery", "product", "removed", "installed"):
            if key in f:
                out.append(f[key])
        for key in ("batteries", "components", "sources", "batteries_present"):
            out.extend(f.get(key) or ())
        for item in f.get("components_replaced") or ():
            out.extend((item["removed"], item["installed"]))
        seen: set[str] = set()
        return [c for c in out if not (c in seen or seen.add(c))]  # type: ignore[func-returns-value]


def canonical_json(obj: Any) -> str:
    """Sorted keys, no spaces, UTF-8 text: ``json.dumps(obj, sort_keys=True, separators=(",", ":"),
    ensure_ascii=False)``, through the C encoder directly (the same text, without building a
    ``JSONEncoder`` on every call: it is called for every event and every read-model document)."""
    if _c_make_encoder is None:  # pragma: no cover - CPython always has the C accelerator
        return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return "".join(_c_make_encoder({}, _not_serialisable, _encode_text, None, ":", ",", True, False, True)(obj, 0))


_c_make_encoder = getattr(json.encoder, "c_make_encoder", None)
_encode_text = json.encoder.encode_basestring  # ensure_ascii=False
_not_serialisable = json.JSONEncoder().default  # raises TypeError, as json.dumps does


def sha256_hex(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


PLATFORM_FIELDS = ("recorded_at", "seq", "hash", "imported")
#: Every top-level field an event of each type may carry.
_ALLOWED: dict[str, frozenset[str]] = {
    name: frozenset((*COMMON_FIELDS, *t.required, *t.optional, *PLATFORM_FIELDS)) for name, t in EVENT_TYPES.items()
}


def parse_event(raw: Any, *, reporter: str | None = None) -> Event:
    """Validate a raw event object. ``reporter`` (from credentials) fills a missing ``reporter``.

    Platform fields (``recorded_at``, ``seq``, ``hash``, ``imported``) are not part of the reported
    content and are ignored here; the ingest service decides what to do with ``recorded_at``.
    """
    if not isinstance(raw, dict):
        raise InvalidEvent(f"an event must be a JSON object, got {type(raw).__name__}")
    check_raw(raw)
    event_type = raw.get("type")
    if not isinstance(event_type, str):
        raise _fail(None, "type", "is required", event_type)
    spec = EVENT_TYPES.get(event_type)
    if spec is None:
        raise _fail(None, "type", f"is not a known event type ({', '.join(EVENT_TYPES)})", event_type)
    event_id = raw.get("event_id")
    if (not isinstance(event_id, str) or not event_id.strip() or event_id != event_id.strip()
            or len(event_id) > _EVENT_ID_MAX):
        raise _fail(event_type, "event_id",
                    f"is required (a string of 1-{_EVENT_ID_MAX} characters, not blank, no surrounding spaces)",
                    event_id)
    occurred_at = parse_time(raw.get("occurred_at"), "occurred_at", event_type)
    who = raw.get("reporter", reporter)
    if who is None:
        raise _fail(event_type, "reporter", "is required (the reporter's unified social credit code)")
    _credit(event_type, "reporter", who)
    region = raw.get("region")
    if region is not None and (not isinstance(region, str) or not _REGION.fullmatch(region)):
        raise _fail(event_type, "region", "must be a 6-digit GB/T 2260 division code", region)
    data = raw.get("data")
    if data is not None and not isinstance(data, dict):
        raise _fail(event_type, "data", "must be an object", data)
    fields: dict[str, Any] = {}
    for name, check in spec.required.items():
        if name not in raw:
            raise _fail(event_type, name, "is required")
        fields[name] = check(event_type, name, raw[name])
    for name, check in spec.optional.items():
        if name in raw and raw[name] is not None:
            fields[name] = check(event_type, name, raw[name])
    unknown = sorted(raw.keys() - _ALLOWED[event_type])
    if unknown:
        raise _fail(event_type, unknown[0], "is not part of this event type (extra attributes belong in 'data')")
    content: dict[str, Any] = {"event_id": event_id, "type": event_type, "occurred_at": raw["occurred_at"],
                               "reporter": who}
    if region is not None:
        content["region"] = region
    if data is not None:
        content["data"] = data
    content.update(fields)
    try:
        canonical = canonical_json(content)
    except (TypeError, ValueError) as exc:  # pragma: no cover - JSON input is always serialisable
        raise _fail(event_type, "data", f"is not serialisable: {exc}") from None
    check_size(canonical, event_type)
    return Event(event_id, event_type, occurred_at, who, region, fields, content, canonical)


def try_parse_event(raw: Any, *, reporter: str | None = None) -> Event | BattraceError:
    try:
        return parse_event(raw, reporter=reporter)
    except BattraceError as exc:
        return exc


def load_event(content: dict[str, Any], canonical: str | None = None) -> Event:
    """An event from the log: content the ledger once accepted (brought to today's schema version by
    :func:`battrace.domain.upcasting.upcast`), trusted rather than validated again with today's
    parser, so that a stricter parser or a changed fold can still replay the log. ``canonical`` is
    the stored body when the content was not upcast (saves re-encoding it).

    Raises :class:`~battrace.errors.InvalidEvent` naming what is missing when the content lacks
    the common fields (a row written outside the ledger)."""
    try:
        event_type, event_id, reporter = content["type"], content["event_id"], content["reporter"]
        text = content["occurred_at"]
        form = _RFC3339.fullmatch(text) if isinstance(text, str) else None
        if event_type not in EVENT_TYPES or form is None:
            raise ValueError(f"type {event_type!r} or occurred_at {text!r}")
        occurred_at = _to_datetime(text, form.group("frac"))
    except (KeyError, TypeError, ValueError) as exc:
        raise InvalidEvent(f"a stored event cannot be read ({type(exc).__name__}: {exc})") from None
    fields = {k: v for k, v in content.items() if k not in COMMON_FIELDS}
    return Event(event_id, event_type, occurred_at, reporter, content.get("region"), fields, content,
                 canonical if canonical is not None else canonical_json(content))
