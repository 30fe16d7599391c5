"""Property-based fuzzing (hypothesis) of the edge: whatever a reporter sends, the platform answers
with an event or one of its own refusals — never another exception — and what it accepts is
storable, serialisable and verifiable."""

from __future__ import annotations

import contextlib
import itertools
import json
import math
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from battrace.config import Settings
from battrace.domain.events import canonical_json, parse_event
from battrace.domain.limits import MAX_EVENT_BYTES, check_raw
from battrace.errors import BattraceError
from battrace.interop.jsonl import decode_line
from battrace.services.orgs import import_orgs
from battrace.services.platform import Platform
from battrace.services.verify import verify
from tests import story as s
from tests.fuzz.corpus import produced

NOW = datetime(2026, 11, 21, 8, 0, tzinfo=UTC)

leaves = (st.none() | st.booleans() | st.integers() | st.integers(min_value=-(10**40), max_value=10**40)
          | st.floats(allow_nan=True, allow_infinity=True) | st.text() | st.text(alphabet="\x00\u200b\u202e\ud800 a\n"))
values = st.recursive(leaves, lambda children: st.lists(children, max_size=4)
                      | st.dictionaries(st.text(max_size=6), children, max_size=4), max_leaves=25)
deep = st.integers(min_value=1, max_value=3000).map(lambda n: _nest(n))
FIELDS = ["event_id", "type", "occurred_at", "reporter", "region", "data", "battery", "model", "rated_capacity_ah",
          "nominal_voltage_v", "rated_energy_kwh", "mass_kg", "components"]


def _nest(n: int) -> Any:
    value: Any = 1
    for _ in range(n):
        value = {"a": value}
    return value


@given(field=st.sampled_from(FIELDS), value=values | deep)
@settings(max_examples=400, deadline=None, database=None)
def test_any_value_in_any_field_is_an_event_or_a_refusal(field: str, value: Any) -> None:
    raw = produced(1, "p-1") | {field: value}
    try:
        event = parse_event(raw)
    except BattraceError:
        return
    text = event.canonical
    assert json.loads(text) == json.loads(canonical_json(json.loads(text)))  # round-trips
    assert len(text.encode()) <= MAX_EVENT_BYTES
    check_raw(json.loads(text))


@given(line=st.binary(max_size=300) | st.text(max_size=300).map(str.encode)
       | st.builds(lambda v: json.dumps(produced(1, "p") | {"data": v}, allow_nan=True).encode(), values))
@settings(max_examples=400, deadline=None, database=None)
def test_any_line_decodes_to_an_object_or_a_refusal(line: bytes) -> None:
    decoded = decode_line(1, line)
    if isinstance(decoded, BattraceError):
        return
    with contextlib.suppress(BattraceError):
        parse_event(decoded)


@given(depth=st.integers(min_value=1, max_value=20_000))
@settings(max_examples=30, deadline=None, database=None)
def test_any_nesting_in_a_line_is_refused_cleanly(depth: int) -> None:
    line = ("[" * depth + "]" * depth).encode()
    decoded = decode_line(1, line)
    assert isinstance(decoded, (list, BattraceError))


@pytest.fixture(scope="module")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    p = Platform(Settings(database_url=f"sqlite:///{tmp_path_factory.mktemp('prop') / 'p.db'}"), now=lambda: NOW)
    import_orgs(p.store, s.orgs(), NOW)
    yield p
    p.close()


_serials = itertools.count(100)


@given(field=st.sampled_from(FIELDS), value=values | deep)
@settings(max_examples=40, deadline=None, database=None, suppress_health_check=list(HealthCheck))
def test_a_hostile_event_between_valid_ones_leaves_them_stored_and_the_log_verifiable(
    platform: Platform, field: str, value: Any
) -> None:
    n = next(_serials)
    before, after = produced(3 * n, f"h-{n}-a"), produced(3 * n + 1, f"h-{n}-c")
    hostile = produced(3 * n + 2, f"h-{n}-b") | {field: value}
    report = platform.ledger.ingest([(1, before), (2, hostile), (3, after)])
    statuses = [o.status for o in report.outcomes]
    assert statuses[0] == statuses[2] == "accepted", report.as_dict()
    if statuses[1] == "rejected":
        assert report.outcomes[1].code != "unprocessable_event", report.outcomes[1]
    if isinstance(value, float) and not math.isfinite(value):
        assert statuses[1] == "rejected"
    result = verify(platform.store)
    assert result.ok, result.problems[:3]
