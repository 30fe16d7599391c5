"""The event classes (battrace.domain.event_types): one description of each type, and a typed parse
that accepts exactly what the field-by-field parse accepts and reports every error as it does."""

from __future__ import annotations

import json
from typing import Any

import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from battrace.domain import checks, event_types, events
from battrace.domain.event_types import CLASSES, EventData
from battrace.domain.events import EVENT_TYPES, EVENT_VERSIONS, load_event, parse_event
from battrace.errors import BattraceError
from battrace.interop.csv_io import known_columns
from battrace.interop.epcis_export import ILMD_FIELDS, MAPPING, SLOTS
from tests import story
from tests.fuzz.corpus import cases
from tests.interop.strategies import FIELDS, native_event

TYPES = sorted(FIELDS)  # the types the strategies can build (every type)
#: Values that break one field or another: wrong types, empty, blank, too long, out of range, bad codes.
BAD_VALUES: list[Any] = [
    None, "", "   ", " x", 0, -1, 0.0, 2.5, 10**10, True, [], {}, [1], ["a"], "x" * 501, "2026-05-01T09:30:00",
    "NOT-A-CODE", {"li": -1}, {"Li": 1}, [{"removed": "x"}], "LFP", "gbt34015", "2026-02-30T00:00:00+08:00",
]


def _outcome(parse: Any, raw: Any) -> tuple[Any, ...]:
    try:
        e = parse(raw)
    except BattraceError as exc:
        return ("error", type(exc).__name__, exc.message, exc.context)
    return ("ok", e.type, e.canonical, e.fields, e.occurred_at, e.reporter, e.region, e.content)


def _by_fields(raw: Any) -> Any:
    if not isinstance(raw, dict):
        return parse_event(raw)
    events.check_raw(raw)
    return events._parse_fields(raw, None)


def _assert_same_as_field_by_field(raw: Any) -> None:
    """parse_event == the field-by-field parse (result or error), and the typed path never accepts
    what the field-by-field parse refuses."""
    expected = _outcome(_by_fields, raw)
    assert _outcome(parse_event, raw) == expected
    if isinstance(raw, dict) and isinstance(raw.get("type"), str) and raw["type"] in EVENT_TYPES:
        try:
            events.check_raw(raw)  # parse_event's first step, before either path
            fast = events._parse_typed(EVENT_TYPES[raw["type"]], raw, None)
        except (msgspec.ValidationError, BattraceError):
            fast = None
        if fast is not None:
            assert expected[0] == "ok", f"the typed path accepted what the field-by-field parse refuses: {expected}"
            assert _outcome(lambda _r: fast, raw) == expected


def test_the_generated_tables_come_from_the_classes() -> None:
    assert list(EVENT_TYPES) == [c.name for c in CLASSES]
    assert {c.name: c.version for c in CLASSES} == EVENT_VERSIONS
    assert set(MAPPING) == set(SLOTS) == set(EVENT_TYPES) and set(ILMD_FIELDS) <= set(EVENT_TYPES)
    assert all(MAPPING[c.name] is c.epcis and SLOTS[c.name] is c.epcis_slots for c in CLASSES)
    for c in CLASSES:
        assert set(c.required) | set(c.optional) <= set(known_columns())
        assert c.description(), f"{c.name} has no description"
        assert c.decide is not EventData.decide, f"{c.name} has no integrity decision"
        assert c.reporters is None or c.reporters, c.name
    # a type that changes no battery keeps the base fold, which refuses
    assert event_types.TechinfoFiled.evolve is EventData.evolve


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_valid_events_parse_the_same_both_ways_and_load_to_the_same_instance(data: st.DataObject) -> None:
    event_type = data.draw(st.sampled_from(TYPES))
    raw = data.draw(native_event(event_type))
    _assert_same_as_field_by_field(raw)
    parsed = parse_event(raw)
    assert type(parsed.typed).name == event_type
    loaded = load_event(json.loads(parsed.canonical))
    assert loaded.typed == parsed.typed
    assert loaded.fields == parsed.fields


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_broken_fields_give_the_field_by_field_error(data: st.DataObject) -> None:
    event_type = data.draw(st.sampled_from(TYPES))
    raw = dict(data.draw(native_event(event_type)))
    name = data.draw(st.sampled_from([*raw, "unknown_field", "region", "data", "reporter"]))
    value = data.draw(st.sampled_from(BAD_VALUES))
    if name == "type":
        return
    raw[name] = value
    _assert_same_as_field_by_field(raw)


def test_the_hostile_corpus_parses_the_same_both_ways() -> None:
    for case in cases():
        try:
            raw = json.loads(case.line)
        except (ValueError, RecursionError):  # not JSON: refused before any parse
            continue
        _assert_same_as_field_by_field(raw)


def test_a_missing_reporter_is_filled_from_the_credentials_in_the_instance_too() -> None:
    raw = {"event_id": "e1", "type": "battery.received", "occurred_at": "2026-05-01T09:30:00+08:00",
           "batteries": [story.code("P", 1)], "from": story.BATTERY_MAKER}
    e = parse_event(raw, reporter=story.RECYCLER)
    assert e.typed.reporter == e.reporter == e.content["reporter"] == story.RECYCLER
    assert isinstance(e.typed, event_types.BatteryReceived) and e.typed.from_ == story.BATTERY_MAKER
    assert load_event(e.content).typed == e.typed


@pytest.mark.parametrize("bad", ["X" * 24, "0" * 17])
def test_the_code_cache_never_remembers_an_invalid_code(bad: str) -> None:
    for _ in range(2):
        with pytest.raises(BattraceError):
            checks.check_code("battery.tested", "battery", bad)
    assert bad not in checks._VALID_CODES
