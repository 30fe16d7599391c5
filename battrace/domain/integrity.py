"""Integrity rules: decide whether an event may happen, and what it changes.

:func:`decide` checks an event against the current world (rules R06b, R07, R08, R12 and the
unknown-entity errors of ``rules.md``; R06 is checked when the event is parsed) and returns a
:class:`Decision` — the new states of every battery and vehicle it touches, lineage links and the
streams it belongs to — or raises the rule's error. It never changes anything itself.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from battrace.domain.codes import LEVELS
from battrace.domain.events import EVENT_TYPES, Event
from battrace.domain.lifecycle import evolve_battery, evolve_vehicle, to_waste
from battrace.domain.orgs import Org
from battrace.domain.state import (
    FINISHED,
    HANDOVER,
    HELD,
    IN_SERVICE,
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
#: ... a re-made product in service in its application may be handed over too (taken back as waste).
PRODUCT_HANDOVER = HANDOVER | {Status.IN_SERVICE}


class World(Protocol):
    """What :func:`decide` may read."""

    def org(self, credit_code: str) -> Org | None: ...

    def maker_of_code(self, manufacturer_code: str) -> Org | None: ...

    def battery(self, code: str) -> BatteryState | None: ...

    def vehicle(self, vin: str) -> VehicleState | None: ...


def vehicle_stream(vin: str) -> str:
    return f"vin:{vin}"


def techinfo_stream(maker: str, model: str) -> str:
    return f"techinfo:{maker}:{model}"


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


def _produced(x: _Ctx) -> None:
    code = x.e["battery"]
    x.new_code(code)
    x.d.batteries[code] = evolve_battery(None, x.e, code)
    if "components" in x.e.fields:
        x.assemble(code, x.e["components"])


def _assembled(x: _Ctx) -> None:
    parent = x.battery(x.e["battery"])
    x.assemble(parent.code, x.e["components"])
    x.transition(parent, {Status.PRODUCED}, "be assembled")
    x.change(parent.code)


def techinfo_document(event: Event) -> dict[str, Any]:
    """The techinfo read model's document after a ``techinfo.filed`` (also what ``verify`` re-derives)."""
    f = event.fields
    return {"maker": event.reporter, "model": f["model"], "ccc_certified_at": f["ccc_certified_at"],
            "document": f["document"], "filed_at": event.content["occurred_at"]}


def _techinfo(x: _Ctx) -> None:
    x.d.techinfo = techinfo_document(x.e)
    x.d.extra_streams.append(techinfo_stream(x.e.reporter, x.e.fields["model"]))


def _not_for_vehicles(x: _Ctx, b: BatteryState) -> None:
    """Neither a re-made product nor a waste battery may be installed in a vehicle."""
    if b.remade or b.waste:
        what = "a re-made product" if b.remade else "a waste battery"
        raise InvalidTransition(
            f"{x.e.type}: {b.code} is {what}; it may not be installed in a vehicle",
            battery=b.code, state=b.state, event_type=x.e.type,
        )


def _certified(x: _Ctx) -> None:
    vin = x.e["vin"]
    if x.d.vehicles.get(vin) or x.w.vehicle(vin):
        raise InvalidTransition(f"vehicle.certified: vehicle {vin} is already certified", vin=vin)
    for code in x.e["batteries"]:
        b = x.battery(code)
        if b.parent is not None:
            raise AlreadyAssembled(f"vehicle.certified: {code} is assembled into {b.parent}", battery=code)
        _not_for_vehicles(x, b)
        x.transition(b, {Status.PRODUCED}, "be installed in a vehicle")
        x.change(code)
    x.change_vehicle(vin)


def _own_vehicle(x: _Ctx, v: VehicleState) -> None:
    if v.maker != x.e.reporter:
        raise NotCustodian(
            f"{x.e.type}: vehicle {v.vin} was certified by {v.maker}, not by {x.e.reporter}",
            vin=v.vin, maker=v.maker, reporter=x.e.reporter,
        )


def _sold(x: _Ctx) -> None:
    v = x.vehicle(x.e["vin"])
    _own_vehicle(x, v)
    if v.state != "certified":
        raise InvalidTransition(f"vehicle.sold: vehicle {v.vin} is {v.state}", vin=v.vin, state=v.state)
    for code in v.packs:
        x.change(code)
    x.change_vehicle(v.vin)


def _take_out(x: _Ctx, v: VehicleState, code: str) -> None:
    """The pack removed by a swap or replacement (R10 mismatches are findings, not rejections)."""
    b = x.battery(code)
    x.transition(b, IN_VEHICLE, "be removed from a vehicle")
    if b.vin is None:  # a re-made product in service in its application is in no vehicle
        raise InvalidTransition(f"{x.e.type}: {code} is in no vehicle", battery=code, state=b.state)
    if b.vin != v.vin:
        x.change_vehicle(b.vin)  # it leaves the vehicle it was really bound to
    x.change(code)


def _put_in(x: _Ctx, code: str, allowed: set[str]) -> None:
    b = x.battery(code)
    if b.parent is not None:
        raise AlreadyAssembled(f"{x.e.type}: {code} is assembled into {b.parent}", battery=code)
    _not_for_vehicles(x, b)
    x.transition(b, allowed, "be installed in a vehicle")
    if b.state != Status.PRODUCED:
        x.custodian(b, "install it")
    x.change(code)


def _live_vehicle(x: _Ctx) -> VehicleState:
    v = x.vehicle(x.e["vin"])
    if v.state == "scrapped":
        raise InvalidTransition(f"{x.e.type}: vehicle {v.vin} is scrapped", vin=v.vin, state=v.state)
    return v


def _swapped(x: _Ctx) -> None:
    v = _live_vehicle(x)
    if not v.swap_model:
        raise InvalidTransition(f"battery.swapped: vehicle {v.vin} is not a swap model", vin=v.vin)
    if x.e["removed"] == x.e["installed"]:
        raise InvalidTransition("battery.swapped: removed and installed are the same pack", battery=x.e["removed"])
    _take_out(x, v, x.e["removed"])
    _put_in(x, x.e["installed"], {Status.SWAP_STOCK, Status.PRODUCED})
    x.change_vehicle(v.vin)


def _replaced(x: _Ctx) -> None:
    v = _live_vehicle(x)
    installed = x.e.get("installed")
    if installed == x.e["removed"]:
        raise InvalidTransition("battery.replaced: removed and installed are the same pack", battery=installed)
    _take_out(x, v, x.e["removed"])
    if installed:
        _put_in(x, installed, {Status.PRODUCED, Status.SWAP_STOCK})
    x.change_vehicle(v.vin)


def _repaired(x: _Ctx) -> None:
    b = x.battery(x.e["battery"])
    x.transition(b, IN_SERVICE | {Status.PRODUCED, Status.WASTE}, "be repaired")
    x.change(b.code)
    for item in x.e.get("components_replaced") or ():
        old = x.battery(item["removed"])
        if old.parent != b.code:
            raise InvalidTransition(
                f"battery.repaired: {old.code} is not a component of {b.code}", battery=old.code, parent=b.code
            )
        x.change(old.code)
        x.assemble(b.code, [item["installed"]])


def _scrapped(x: _Ctx) -> None:
    v = x.vehicle(x.e["vin"])
    if v.state == "scrapped":
        raise InvalidTransition(f"vehicle.scrapped: vehicle {v.vin} is already scrapped", vin=v.vin)
    present = x.e["batteries_present"]
    for code in present:
        b = x.battery(code)
        x.transition(b, IN_VEHICLE, "be found in a scrapped vehicle")
        if b.vin is None:
            raise InvalidTransition(f"vehicle.scrapped: {code} is in no vehicle", battery=code, state=b.state)
        if b.vin != v.vin:
            # an unreported replacement (R13): the report is a fact; the pack leaves the vehicle the
            # records bound it to
            x.change_vehicle(b.vin)
        x.change(code)
    if v.swap_model:
        for code in v.packs:  # a swap pack not found at scrapping stays in swap stock with its last holder
            if code not in present:
                x.change(code)
    x.change_vehicle(v.vin)


def _removed(x: _Ctx) -> None:
    v = x.vehicle(x.e["vin"])
    b = x.battery(x.e["battery"])
    if v.state != "scrapped":
        raise InvalidTransition(
            f"battery.removed: vehicle {v.vin} is not scrapped (a removal from a live vehicle is a replacement)",
            vin=v.vin,
        )
    if b.vin != v.vin:
        raise InvalidTransition(f"battery.removed: {b.code} is not bound to {v.vin}", battery=b.code, vin=v.vin)
    x.change(b.code)
    x.change_vehicle(v.vin)


def _handed_over(x: _Ctx) -> None:
    receiver = x.org(x.e["to"])
    if receiver.credit_code == x.e.reporter:
        raise InvalidTransition("battery.handed_over: sender and receiver are the same organisation")
    for code in x.e["batteries"]:
        b = x.battery(code)
        x.transition(b, PRODUCT_HANDOVER if b.remade else HANDOVER, "be handed over")
        if b.parent is not None:
            raise InvalidTransition(f"battery.handed_over: {code} is assembled into {b.parent}", battery=code)
        x.custodian(b, "hand it over")
        x.change(code)


def _received(x: _Ctx) -> None:
    sender = x.e["from"]
    x.org(sender)
    for code in x.e["batteries"]:
        b = x.battery(code)
        if b.state != Status.IN_TRANSIT:
            raise InvalidTransition(
                f"battery.received: {code} is {b.state}; nothing was handed over", battery=code, state=b.state
            )
        if b.pending_to != x.e.reporter:
            raise NotCustodian(
                f"battery.received: {code} was handed over to {b.pending_to}, not to {x.e.reporter}",
                battery=code, receiver=b.pending_to,
            )
        if b.custodian != sender:
            raise InvalidTransition(
                f"battery.received: {code} was sent by {b.custodian}, not by {sender}", battery=code, sender=b.custodian
            )
        x.change(code)
        got = x.d.batteries[code]
        if got.state == Status.PRODUCED and x.org(x.e.reporter).type == "recycler":
            # a recycler takes batteries only as waste (e.g. an undelivered re-made product)
            x.d.batteries[code] = to_waste(got, x.e.content["occurred_at"], x.e.reporter)


def _tested(x: _Ctx) -> None:
    b = x.battery(x.e["battery"])
    if b.state in FINISHED:
        x.transition(b, set(), "be tested")
    x.custodian(b, "test it")
    x.change(b.code)


def _remanufactured(x: _Ctx) -> None:
    product = x.e["product"]
    if product in x.e["sources"]:
        raise InvalidTransition("battery.remanufactured: the product cannot be its own source", battery=product)
    x.new_code(product)
    for code in x.e["sources"]:
        b = x.battery(code)
        x.transition(b, {Status.WASTE}, "be re-made")
        x.custodian(b, "re-make it")
        x.change(code)
        x.d.lineage.append((product, code))
    x.d.batteries[product] = evolve_battery(None, x.e, product)


def _delivered(x: _Ctx) -> None:
    b = x.battery(x.e["battery"])
    if not b.remade:
        raise InvalidTransition(f"product.delivered: {b.code} is not a re-made product", battery=b.code)
    x.transition(b, {Status.PRODUCED}, "be delivered")
    x.custodian(b, "deliver it")
    x.change(b.code)


def _dismantled(x: _Ctx) -> None:
    b = x.battery(x.e["battery"])
    x.transition(b, {Status.WASTE}, "be dismantled")
    x.custodian(b, "dismantle it")
    x.change(b.code)
    for code in x.e.get("components") or ():
        c = x.battery(code)
        if c.parent != b.code:
            raise InvalidTransition(f"battery.dismantled: {code} is not a component of {b.code}", battery=code)
        x.change(code)


def _recycled(x: _Ctx) -> None:
    for code in x.e["batteries"]:
        b = x.battery(code)
        x.transition(b, {Status.WASTE, Status.DISMANTLED}, "be recycled")
        if b.parent is not None:
            raise InvalidTransition(f"battery.recycled: {code} is assembled into {b.parent}", battery=code)
        x.custodian(b, "recycle it")
        x.change(code)


def _missing(x: _Ctx) -> None:
    b = x.battery(x.e["battery"])
    x.transition(b, HELD | {Status.IN_SERVICE} if b.remade else HELD, "be reported missing")
    x.custodian(b, "report it missing")
    x.change(b.code)


def _discarded(x: _Ctx) -> None:
    """Production scrap: a battery that never left the factory becomes waste in the reporter's custody."""
    b = x.battery(x.e["battery"])
    if b.parent is not None:
        raise InvalidTransition(f"battery.discarded: {b.code} is assembled into {b.parent}", battery=b.code)
    if b.remade:
        raise InvalidTransition(f"battery.discarded: {b.code} is a re-made product", battery=b.code)
    x.transition(b, {Status.PRODUCED}, "be discarded as production scrap")
    x.custodian(b, "discard it")
    x.change(b.code)


def _returned(x: _Ctx) -> None:
    """A re-made product back from its user at the end of its second life: waste in the reporter's custody."""
    b = x.battery(x.e["battery"])
    if not b.remade:
        raise InvalidTransition(f"product.returned: {b.code} is not a re-made product", battery=b.code)
    x.transition(b, {Status.IN_SERVICE}, "be returned (only a delivered product in service comes back)")
    x.change(b.code)


_HANDLERS: dict[str, Callable[[_Ctx], None]] = {
    "battery.produced": _produced,
    "battery.assembled": _assembled,
    "techinfo.filed": _techinfo,
    "vehicle.certified": _certified,
    "vehicle.sold": _sold,
    "battery.swapped": _swapped,
    "battery.replaced": _replaced,
    "battery.repaired": _repaired,
    "vehicle.scrapped": _scrapped,
    "battery.removed": _removed,
    "battery.handed_over": _handed_over,
    "battery.received": _received,
    "battery.tested": _tested,
    "battery.remanufactured": _remanufactured,
    "product.delivered": _delivered,
    "battery.dismantled": _dismantled,
    "battery.recycled": _recycled,
    "battery.reported_missing": _missing,
    "battery.discarded": _discarded,
    "product.returned": _returned,
}
assert set(_HANDLERS) == set(EVENT_TYPES)


def decide(event: Event, world: World) -> Decision:
    """Check ``event`` against ``world`` and return what it changes, or raise the rule's error."""
    reporter = world.org(event.reporter)
    if reporter is None:
        raise UnknownOrg(f"{event.type}: unknown reporter {event.reporter}", org=event.reporter)
    allowed = EVENT_TYPES[event.type].reporters
    if allowed is not None and reporter.type not in allowed:
        raise ForbiddenEvent(
            f"{event.type} may be reported by {', '.join(allowed)}, not by a {reporter.type} ({reporter.credit_code})",
            reporter=reporter.credit_code, reporter_type=reporter.type, event_type=event.type,
        )
    ctx = _Ctx(event, world)
    _HANDLERS[event.type](ctx)
    return ctx.d

