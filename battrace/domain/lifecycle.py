"""The fold: how each event changes a battery's or a vehicle's state.

``evolve_battery`` and ``evolve_vehicle`` are pure and need nothing but the previous state and the
event, so one battery's history (its stream) can be replayed on its own — to rebuild any past
version of its digital ID, or to check the stored read model against the log. Each event type's
step is a method of its class (:mod:`battrace.domain.event_types`); the checks that decide whether
an event may happen at all are its ``decide`` (run by :mod:`battrace.domain.integrity`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from battrace.domain.codes import code_fields
from battrace.domain.state import BatteryState, VehicleState
from battrace.domain.state import replace_state as replace  # dataclasses.replace, four times faster

if TYPE_CHECKING:
    from battrace.domain.events import Event


def new_battery(code: str, event: Event, **extra: Any) -> BatteryState:
    manufacturer, level, battery_type, chemistry, remade = code_fields(code)  # parsed when the event was
    return BatteryState(
        code=code,
        level=level,
        battery_type=battery_type,
        chemistry=chemistry,
        manufacturer=manufacturer,
        remade=remade,
        state="produced",
        maker=event.reporter,
        custodian=event.reporter,
        produced_at=event.content["occurred_at"],
        **extra,
    )


def to_waste(s: BatteryState, at: str, custodian: str, **changes: Any) -> BatteryState:
    """``s`` as a waste battery held by ``custodian`` from ``at`` (with ``changes``)."""
    return replace(
        s, state="waste", waste=True, waste_since=s.waste_since or at, custodian=custodian, vin=None,
        last_event_at=at, **changes
    )


def evolve_battery(s: BatteryState | None, event: Event, code: str) -> BatteryState:
    """The state of battery ``code`` after ``event`` (which names it): the fold step of the event's
    class (:meth:`battrace.domain.event_types.EventData.fold_battery`)."""
    return event.typed.fold_battery(s, event, code)


def evolve_vehicle(v: VehicleState | None, event: Event) -> VehicleState:
    """The state of vehicle ``v`` after ``event`` (:meth:`~battrace.domain.event_types.EventData.fold_vehicle`)."""
    return event.typed.fold_vehicle(v, event)
