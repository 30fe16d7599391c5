"""Native events: the reporting contract.

An event is a JSON object with common fields (``event_id``, ``type``, ``occurred_at``, ``reporter``,
optional ``region`` and ``data``) and the fields of its type, described once by the type's class in
:mod:`battrace.domain.event_types` (``EVENT_TYPES`` maps names to classes). :func:`parse_event`
turns a raw object into an :class:`Event` (with ``typed``, the class instance) or raises
:class:`~battrace.errors.InvalidEvent` (or :class:`~battrace.errors.InvalidCode` for a malformed
battery code, rule R06) naming the field.

The event's *content* (what the reporter said, canonical JSON) is what idempotency compares and
what the hash chain covers.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any

import msgspec

from battrace.domain import event_types
from battrace.domain.checks import (
    APPLICATIONS,
    EVENT_ID_MAX,
    PROCESSES,
    REGION,
    RFC3339,
    TEST_METHODS,
    check_credit,
    fail,
    parse_time,
    to_datetime,
)
from battrace.domain.event_types import COMMON_FIELDS, PLATFORM_FIELDS, EventData
from battrace.domain.limits import check_raw, check_size
from battrace.errors import BattraceError, InvalidEvent

__all__ = [
    "APPLICATIONS", "AS_OF_BASES", "COMMON_FIELDS", "EVENT_TYPES", "EVENT_VERSIONS", "PLATFORM_FIELDS", "PROCESSES",
    "TEST_METHODS", "Event", "canonical_json", "load_event", "parse_event", "parse_moment", "parse_time",
    "sha256_hex", "try_parse_event",
]

#: Every event type by name, in the contract's order: its class (fields ``required`` / ``optional``
#: with their checkers, ``reporters``, ``version``, ``decide``, ``fold_battery`` …).
EVENT_TYPES: dict[str, type[EventData]] = dict(event_types.BY_NAME)
#: The schema version of each event type's content as the ledger writes it today, stored with every
#: event (``events.schema_version``), from the classes' ``version``. Raise a class's version when its
#: content changes shape, and register an upcaster from the old version (:mod:`battrace.domain.upcasting`).
EVENT_VERSIONS: dict[str, int] = event_types.versions()
_fail = fail


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


class Event(msgspec.Struct, frozen=True):
    """A validated event, as reported (a frozen msgspec Struct: built in a seventh of a frozen
    dataclass's time, for every event parsed or read from the log)."""

    event_id: str
    type: str
    occurred_at: datetime
    reporter: str
    region: str | None
    fields: dict[str, Any]
    content: dict[str, Any]  # the normalised reported object (without platform extras)
    canonical: str  # ``content`` as canonical JSON: what idempotency compares and the hash covers
    typed: EventData  # the instance of the type's class (``event.typed.battery``)

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


#: Every top-level field an event of each type may carry.
_ALLOWED: dict[str, frozenset[str]] = {
    name: frozenset((*COMMON_FIELDS, *t.required, *t.optional, *PLATFORM_FIELDS)) for name, t in EVENT_TYPES.items()
}


def parse_event(raw: Any, *, reporter: str | None = None) -> Event:
    """Validate a raw event object. ``reporter`` (from credentials) fills a missing ``reporter``.

    Platform fields (``recorded_at``, ``seq``, ``hash``, ``imported``) are not part of the reported
    content and are ignored here; the ingest service decides what to do with ``recorded_at``.

    The object is converted into its type's class (``msgspec.convert(..., strict=True)``: types,
    constraints, unknown fields) and the semantic checkers run on what msgspec accepted; an object
    msgspec or a checker refuses is parsed again field by field (:func:`_parse_fields`), which
    raises the error naming the first offending field, exactly as every face reports it.
    """
    if not isinstance(raw, dict):
        raise InvalidEvent(f"an event must be a JSON object, got {type(raw).__name__}")
    check_raw(raw)
    name = raw.get("type")
    cls = EVENT_TYPES.get(name) if isinstance(name, str) else None
    if cls is not None:
        try:
            event = _parse_typed(cls, raw, reporter)
        except (msgspec.ValidationError, BattraceError):
            event = None
        if event is not None:
            return event
    return _parse_fields(raw, reporter)


def _parse_typed(cls: type[EventData], raw: dict[str, Any], reporter: str | None) -> Event | None:
    """The fast path: ``None`` or an exception when the field-by-field parse must say what is wrong."""
    typed = msgspec.convert(raw, cls, strict=True)
    event_type = cls.name
    occurred_at = parse_time(typed.occurred_at, "occurred_at", event_type)
    who = raw.get("reporter", reporter)
    if who is None:
        return None
    check_credit(event_type, "reporter", who)
    fields = {name: value for name in cls.names if (value := raw.get(name)) is not None}
    for name, check in cls.semantic:
        value = fields.get(name)
        if value is not None:
            check(event_type, name, value)
    content: dict[str, Any] = {"event_id": typed.event_id, "type": event_type, "occurred_at": typed.occurred_at,
                               "reporter": who}
    if typed.region is not None:
        content["region"] = typed.region
    if typed.data is not None:
        content["data"] = raw["data"]
    content.update(fields)
    canonical = canonical_json(content)
    check_size(canonical, event_type)
    if typed.reporter is None:
        msgspec.structs.force_setattr(typed, "reporter", who)
    return Event(typed.event_id, event_type, occurred_at, who, typed.region, fields, content, canonical, typed)


def _parse_fields(raw: dict[str, Any], reporter: str | None) -> Event:
    """The field-by-field parse: the first offending field named in the error."""
    event_type = raw.get("type")
    if not isinstance(event_type, str):
        raise _fail(None, "type", "is required", event_type)
    spec = EVENT_TYPES.get(event_type)
    if spec is None:
        raise _fail(None, "type", f"is not a known event type ({', '.join(EVENT_TYPES)})", event_type)
    event_id = raw.get("event_id")
    if (not isinstance(event_id, str) or not event_id.strip() or event_id != event_id.strip()
            or len(event_id) > EVENT_ID_MAX):
        raise _fail(event_type, "event_id",
                    f"is required (a string of 1-{EVENT_ID_MAX} characters, not blank, no surrounding spaces)",
                    event_id)
    occurred_at = parse_time(raw.get("occurred_at"), "occurred_at", event_type)
    who = raw.get("reporter", reporter)
    if who is None:
        raise _fail(event_type, "reporter", "is required (the reporter's unified social credit code)")
    check_credit(event_type, "reporter", who)
    region = raw.get("region")
    if region is not None and (not isinstance(region, str) or not REGION.fullmatch(region)):
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
    return Event(event_id, event_type, occurred_at, who, region, fields, content, canonical,
                 _typed(spec, content))


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
        form = RFC3339.fullmatch(text) if isinstance(text, str) else None
        if event_type not in EVENT_TYPES or form is None:
            raise ValueError(f"type {event_type!r} or occurred_at {text!r}")
        occurred_at = to_datetime(text, form.group("frac"))
        typed = _typed(EVENT_TYPES[event_type], content)
    except (KeyError, TypeError, ValueError) as exc:
        raise InvalidEvent(f"a stored event cannot be read ({type(exc).__name__}: {exc})") from None
    fields = {k: v for k, v in content.items() if k not in COMMON_FIELDS}
    return Event(event_id, event_type, occurred_at, reporter, content.get("region"), fields, content,
                 canonical if canonical is not None else canonical_json(content), typed)


def _typed(cls: type[EventData], content: dict[str, Any]) -> EventData:
    """The class instance of accepted content, built without validating it again (a stored field
    today's class does not know stays in ``fields`` only)."""
    try:
        return cls.from_content(content)
    except TypeError:
        known = {*COMMON_FIELDS, *cls.required, *cls.optional}
        return cls.from_content({k: v for k, v in content.items() if k in known})
