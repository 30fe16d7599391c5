"""Integrity rules: decide whether an event may happen, and what it changes.

:func:`decide` checks an event against the current world (rules R06b, R07, R08, R12 and the
unknown-entity errors of ``rules.md``; R06 is checked when the event is parsed) and returns a
:class:`Decision` — the new states of every battery and vehicle it touches, lineage links and the
streams it belongs to — or raises the rule's error. It never changes anything itself. The checks of
each type are its class's ``decide`` (:mod:`battrace.domain.event_types`), with the helpers of
:class:`_Ctx`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from battrace.domain.codes import LEVELS
from battrace.domain.event_types import TechinfoFiled, vehicle_stream
from battrace.domain.event_types import techinfo_stream as techinfo_stream  # re-exported
from battrace.domain.events import Event
from battrace.domain.lifecycle import evolve_battery, evolve_vehicle
from battrace.domain.orgs import Org
from battrace.domain.state import (
    IN_VEHICLE,
    BatteryState,
    Status,
    VehicleState,
)
from battrace.errors import (
    AlreadyAssembled,
    DuplicateCode,
    ForbiddenEvent,
    InvalidTransition,
    NotCustodian,
    UnknownBattery,
    UnknownManufacturer,
    UnknownOrg,
    UnknownVehicle,
)

_LEVEL_RANK = {"C": 0, "M": 1, "P": 2}


class World(Protocol):
    """What :func:`decide` may read."""

    def org(self, credit_code: str) -> Org | None: ...

    def maker_of_code(self, manufacturer_code: str) -> Org | None: ...

    def battery(self, code: str) -> BatteryState | None: ...

    def vehicle(self, vin: str) -> VehicleState | None: ...


@dataclass
class Decision:
    event: Event
    batteries: dict[str, BatteryState] = field(default_factory=dict)
    vehicles: dict[str, VehicleState] = field(default_factory=dict)
    lineage: list[tuple[str, str]] = field(default_factory=list)
    techinfo: dict[str, Any] | None = None
    extra_streams: list[str] = field(default_factory=list)
    #: States before the event of the batteries and vehicles it changes (None: new); for observers.
    before: dict[str, BatteryState | None] = field(default_factory=dict)
    vehicles_before: dict[str, VehicleState | None] = field(default_factory=dict)

    @property
    def streams(self) -> list[str]:
        return [*self.batteries, *(vehicle_stream(v) for v in self.vehicles), *self.extra_streams]


class _Ctx:
    """Helpers bound to one event and world."""

    def __init__(self, event: Event, world: World) -> None:
        self.e = event
        self.w = world
        self.d = Decision(event)

    def battery(self, code: str) -> BatteryState:
        state = self.d.batteries.get(code) or self.w.battery(code)
        if state is None:
            raise UnknownBattery(f"{self.e.type}: unknown battery {code}", battery=code)
        return state

    def vehicle(self, vin: str) -> VehicleState:
        state = self.d.vehicles.get(vin) or self.w.vehicle(vin)
        if state is None:
            raise UnknownVehicle(f"{self.e.type}: unknown vehicle {vin}", vin=vin)
        return state

    def org(self, credit: str) -> Org:
        org = self.w.org(credit)
        if org is None:
            raise UnknownOrg(f"{self.e.type}: unknown organisation {credit}", org=credit)
        return org

    def change(self, code: str, state: BatteryState | None = None) -> None:
        prev = state if state is not None else self.d.batteries.get(code) or self.w.battery(code)
        self.d.before.setdefault(code, prev)
        self.d.batteries[code] = evolve_battery(prev, self.e, code)

    def change_vehicle(self, vin: str) -> None:
        prev = self.d.vehicles.get(vin) or self.w.vehicle(vin)
        self.d.vehicles_before.setdefault(vin, prev)
        self.d.vehicles[vin] = evolve_vehicle(prev, self.e)

    def transition(self, s: BatteryState, allowed: frozenset[str] | set[str], doing: str) -> None:
        if s.state not in allowed:
            raise InvalidTransition(
                f"{self.e.type}: battery {s.code} is {s.state}; cannot {doing}",
                battery=s.code, state=s.state, event_type=self.e.type,
            )

    def custodian(self, s: BatteryState, doing: str) -> None:
        if s.custodian != self.e.reporter:
            raise NotCustodian(
                f"{self.e.type}: {self.e.reporter} is not the custodian of {s.code} "
                f"(held by {s.custodian or 'nobody'}); only the custodian may {doing}",
                battery=s.code, custodian=s.custodian, reporter=self.e.reporter,
            )

    def new_code(self, code: str) -> None:
        if self.d.batteries.get(code) or self.w.battery(code):
            raise DuplicateCode(f"{self.e.type}: battery {code} already exists", battery=code)
        manufacturer = code[:3]
        owner = self.w.maker_of_code(manufacturer)
        if owner is None or owner.credit_code != self.e.reporter:
            who = f"registered to {owner.credit_code}" if owner else "registered to no organisation"
            raise UnknownManufacturer(
                f"{self.e.type}: manufacturer code {manufacturer} of {code} is {who}, not to the reporter "
                f"{self.e.reporter}",
                battery=code, manufacturer=manufacturer, reporter=self.e.reporter,
            )

    def assemble(self, parent: str, components: list[str]) -> None:
        p = self.battery(parent)
        for child in components:
            c = self.battery(child)
            if c.code == parent:
                raise InvalidTransition(f"{self.e.type}: {parent} cannot contain itself", battery=parent)
            if c.parent is not None:
                raise AlreadyAssembled(
                    f"{self.e.type}: {child} is already assembled into {c.parent}", battery=child, parent=c.parent
                )
            if _LEVEL_RANK[c.level] >= _LEVEL_RANK[p.level]:
                raise InvalidTransition(
                    f"{self.e.type}: a {LEVELS[c.level]} ({child}) cannot go into a {LEVELS[p.level]} ({parent})",
                    battery=child, parent=parent,
                )
            self.transition(c, {Status.PRODUCED}, "be assembled into another battery")
            self.change(child)

    def not_for_vehicles(self, b: BatteryState) -> None:
        """Neither a re-made product nor a waste battery may be installed in a vehicle."""
        if b.remade or b.waste:
            what = "a re-made product" if b.remade else "a waste battery"
            raise InvalidTransition(
                f"{self.e.type}: {b.code} is {what}; it may not be installed in a vehicle",
                battery=b.code, state=b.state, event_type=self.e.type,
            )

    def own_vehicle(self, v: VehicleState) -> None:
        if v.maker != self.e.reporter:
            raise NotCustodian(
                f"{self.e.type}: vehicle {v.vin} was certified by {v.maker}, not by {self.e.reporter}",
                vin=v.vin, maker=v.maker, reporter=self.e.reporter,
            )

    def take_out(self, v: VehicleState, code: str) -> None:
        """The pack removed by a swap or replacement (R10 mismatches are findings, not rejections)."""
        b = self.battery(code)
        self.transition(b, IN_VEHICLE, "be removed from a vehicle")
        if b.vin is None:  # a re-made product in service in its application is in no vehicle
            raise InvalidTransition(f"{self.e.type}: {code} is in no vehicle", battery=code, state=b.state)
        if b.vin != v.vin:
            self.change_vehicle(b.vin)  # it leaves the vehicle it was really bound to
        self.change(code)

    def put_in(self, code: str, allowed: set[str]) -> None:
        b = self.battery(code)
        if b.parent is not None:
            raise AlreadyAssembled(f"{self.e.type}: {code} is assembled into {b.parent}", battery=code)
        self.not_for_vehicles(b)
        self.transition(b, allowed, "be installed in a vehicle")
        if b.state != Status.PRODUCED:
            self.custodian(b, "install it")
        self.change(code)

    def live_vehicle(self, vin: str) -> VehicleState:
        v = self.vehicle(vin)
        if v.state == "scrapped":
            raise InvalidTransition(f"{self.e.type}: vehicle {v.vin} is scrapped", vin=v.vin, state=v.state)
        return v


def techinfo_document(event: Event) -> dict[str, Any]:
    """The techinfo read model's document after a ``techinfo.filed`` (also what ``verify`` re-derives)."""
    typed = event.typed
    assert isinstance(typed, TechinfoFiled)
    return typed.document_of(event)


def decide(event: Event, world: World) -> Decision:
    """Check ``event`` against ``world`` and return what it changes, or raise the rule's error."""
    reporter = world.org(event.reporter)
    if reporter is None:
        raise UnknownOrg(f"{event.type}: unknown reporter {event.reporter}", org=event.reporter)
    allowed = event.typed.reporters
    if allowed is not None and reporter.type not in allowed:
        raise ForbiddenEvent(
            f"{event.type} may be reported by {', '.join(allowed)}, not by a {reporter.type} ({reporter.credit_code})",
            reporter=reporter.credit_code, reporter_type=reporter.type, event_type=event.type,
        )
    ctx = _Ctx(event, world)
    event.typed.decide(ctx)  # the type's own decision (battrace.domain.event_types)
    return ctx.d

