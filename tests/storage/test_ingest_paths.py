"""The ingest's fast paths give what the plain path gives: read-model documents byte for byte, and
the parse-ahead worker processes the same outcomes and the same log (both stores)."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from battrace.config import Settings
from battrace.domain.events import canonical_json
from battrace.domain.state import BatteryState, replace_battery
from battrace.interop.jsonl import decode_lines
from battrace.services.orgs import import_orgs
from battrace.services.platform import Platform
from battrace.services.verify import verify
from battrace.storage import schema
from battrace.storage.documents import document_json, document_loads
from tests import story as s
from tests.conftest import pg_schema

NOW = datetime(2026, 11, 21, 8, 0, tzinfo=UTC)

_STATE = BatteryState(code="1SBCB0R000007881V0000001", level="cell", battery_type="x", manufacturer="SB",
                      remade=False, chemistry="LFP", maker="91431400Q3FK2HFNUA", state="in_stock",
                      model="C1SB-0R", rated_capacity_ah=117.0, nominal_voltage_v=3.2, rated_energy_kwh=0.374,
                      mass_kg=2.36, produced_at="2018-01-27T08:02:33+08:00", sources=("a", "b"))


@pytest.mark.parametrize("value", [0.0, -0.0, 1e-4, 1e-5, 5e-5, 1e-7, 123.456, 1e15, 9.999999999999998e15, 1e16,
                                   1e22, 2.5e-300, float("nan"), float("inf"), 117, 2**63 - 1, "模组 1e-7 0.00001"])
def test_documents_are_canonical_json_whatever_the_numbers(value: Any) -> None:
    state = replace_battery(_STATE, rated_capacity_ah=value, health={"soh": value, "series": [value, {"x": value}]})
    assert document_json(state) == canonical_json(state.as_dict())
    assert document_json({"model": "M", "numbers": [value]}) == canonical_json({"model": "M", "numbers": [value]})


@settings(max_examples=300, deadline=None)
@given(st.floats() | st.integers(min_value=-(2**63) + 1, max_value=2**63 - 1) | st.text(max_size=20))
def test_any_value_encodes_as_canonical_json(value: Any) -> None:
    doc = {"health": {"v": value}, "é": [value]}
    assert document_json(doc) == canonical_json(doc)
    assert document_json(replace_battery(_STATE, mass_kg=value)) == canonical_json(
        replace_battery(_STATE, mass_kg=value).as_dict())


def test_documents_read_back_as_json_reads_them() -> None:
    text = document_json(replace_battery(_STATE, health={"soh": 0.91, "cycles": 117}))
    assert document_loads(text) == json.loads(text)
    assert type(document_loads(text)["health"]["cycles"]) is int
    assert document_loads('{"x":NaN}') == {"x": pytest.approx(float("nan"), nan_ok=True)}


@pytest.fixture
def other_url(db_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A second empty database of the same kind as ``db_url``."""
    if db_url.startswith("sqlite"):
        yield f"sqlite:///{tmp_path_factory.mktemp('other') / 'battrace.db'}"
        return
    with pg_schema() as url:
        yield url


@pytest.fixture
def two(db_url: str, other_url: str) -> Iterator[tuple[Platform, Platform]]:
    platforms = [Platform(Settings(database_url=u), now=lambda: NOW) for u in (db_url, other_url)]
    for p in platforms:
        import_orgs(p.store, s.orgs(), NOW)
    yield platforms[0], platforms[1]
    for p in platforms:
        p.close()


def _lines() -> list[bytes]:
    """The story with, mixed in: a line that is not JSON, an invalid event, a repeat, a conflict."""
    events = s.story()
    changed = copy.deepcopy(events[0])
    changed["model"] = "other"
    invalid = {**events[3], "event_id": "bad-1", "occurred_at": "yesterday"}
    unknown = {"event_id": "bad-2", "type": "battery.tested", "occurred_at": "2024-03-05T09:00:00+08:00",
               "reporter": s.BATTERY_MAKER, "battery": s.code("P", 55), "soh": 0.9}
    mixed: list[Any] = [*events[:4], b'{"event_id": "x", ', invalid, events[2], changed, unknown, *events[4:]]
    return [m if isinstance(m, bytes) else json.dumps(m, ensure_ascii=False).encode() for m in mixed]


def _log(p: Platform) -> list[list[Any]]:
    with p.store.reader() as conn:
        return [[tuple(r) for r in conn.execute(select(t).order_by(*t.primary_key.columns))]
                for t in (schema.events, schema.event_links, schema.batteries, schema.vehicles, schema.lineage)]


def test_parse_workers_give_the_same_outcomes_and_the_same_log(two: tuple[Platform, Platform]) -> None:
    plain, ahead = two
    lines = _lines()
    for p in (plain, ahead):
        p.ledger.batch_size = 5  # several batches in flight at once
    expected = plain.ledger.ingest(decode_lines(lines), import_history=False)
    assert (expected.rejected, expected.duplicate) == (4, 1), expected.as_dict()
    first = _log(plain)
    got = ahead.ledger.ingest(enumerate(lines, 1), import_history=False, parse_workers=2)
    assert got.as_dict(outcomes=True) == expected.as_dict(outcomes=True)
    assert _log(ahead) == first
    assert verify(ahead.store).ok
