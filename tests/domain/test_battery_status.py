"""Battery states as a StrEnum: members are their strings, so storage, JSON and SQL are unchanged."""

from __future__ import annotations

import json

from battrace.domain import state
from battrace.domain.events import canonical_json
from battrace.domain.state import Status


def test_members_equal_and_hash_as_their_strings() -> None:
    assert Status.WASTE == "waste" and "waste" in state.RETIRED and "in_service" in state.IN_VEHICLE
    assert {"waste": 1}[Status.WASTE] == 1
    assert json.loads(canonical_json({"state": Status.IN_TRANSIT})) == {"state": "in_transit"}
    assert [str(s) for s in state.BATTERY_STATES] == [s.value for s in Status]


def test_named_sets_hold_only_states_and_nest_as_named() -> None:
    named = [state.IN_VEHICLE, state.IN_SERVICE, state.TERMINAL, state.WASTE_STATES, state.RETIRED, state.FINISHED,
             state.HANDOVER, state.HELD, state.IDLE, state.FOLLOWED, state.OUT_OF_HAND]
    assert all(s and s <= set(Status) for s in named)
    assert state.IN_VEHICLE < state.IN_SERVICE and state.TERMINAL < state.RETIRED and state.WASTE_STATES < state.RETIRED
    assert not state.RETIRED & state.IN_SERVICE
