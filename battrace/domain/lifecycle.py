"""The fold: how each event changes a battery's or a vehicle's state.

``evolve_battery`` and ``evolve_vehicle`` are pure and need nothing but the previous state and the
event, so one battery's history (its stream) can be replayed on its own — to rebuild any past
version of its digital ID, or to check the stored read model against the log. The checks that
decide whether an event may happen at all live in :mod:`battrace.domain.integrity`.
"""

from __future__ import annotations

from typing import Any

from battrace.domain.codes import code_fields
from battrace.domain.events import Event
from battrace.domain.state import BatteryState, VehicleState
from battrace.domain.state import replace_state as replace  # dataclasses.replace, four times faster


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


def _waste(s: BatteryState, at: str, custodian: str, **changes: Any) -> BatteryState:
    return replace(
        s, state="waste", waste=True, waste_since=s.waste_since or at, custodian=custodian, vin=None,
        last_event_at=at, **changes
    )


def to_waste(s: BatteryState, at: str, custodian: str) -> BatteryState:
    """``s`` as a waste battery held by ``custodian`` from ``at``."""
    return _waste(s, at, custodian)


def evolve_battery(s: BatteryState | None, event: Event, code: str) -> BatteryState:
    """The state of battery ``code`` after ``event`` (which names it)."""
    t = event.type
    f = event.fields
    at: str = event.content["occurred_at"]
    who = event.reporter
    if s is None:
        if t == "battery.produced":
            return new_battery(
                code, event, model=f["model"], rated_capacity_ah=f["rated_capacity_ah"],
                nominal_voltage_v=f["nominal_voltage_v"], rated_energy_kwh=f["rated_energy_kwh"],
                mass_kg=f["mass_kg"], last_event_at=at,
            )
        if t == "battery.remanufactured":
            data = event.content.get("data") or {}
            figures = {k: data[k] for k in ("model", "rated_capacity_ah", "nominal_voltage_v", "rated_energy_kwh",
                                            "mass_kg") if k in data}
            # whatever battery.remanufactured creates is a re-made product, 17- or 24-character code
            product = new_battery(
                code, event, application=f["application"], certification=f.get("certification"),
                sources=tuple(f["sources"]), last_event_at=at, **figures,
            )
            return product if product.remade else replace(product, remade=True)
        raise ValueError(f"{t} cannot start the stream of {code}")
    # Every branch returns one copy of ``s`` with ``last_event_at`` and its own changes.
    if t in ("battery.produced", "battery.assembled"):
        if code != f["battery"]:  # a component placed into the parent
            return replace(s, last_event_at=at, state="assembled", parent=f["battery"])
        return replace(s, last_event_at=at)
    if t == "vehicle.certified":
        return replace(s, last_event_at=at, state="installed", vin=f["vin"], last_vin=f["vin"])
    if t == "vehicle.sold":
        return replace(s, last_event_at=at, **({"state": "in_service"} if s.state == "installed" else {}))
    if t == "battery.swapped":
        if code == f["removed"]:
            return replace(s, last_event_at=at, state="swap_stock", custodian=who, vin=None)
        # a swap pack stays the operator's while it runs in a customer's vehicle (its last holder)
        return replace(s, last_event_at=at, state="in_service", vin=f["vin"], last_vin=f["vin"], custodian=who)
    if t == "battery.replaced":
        if code == f["removed"]:
            return _waste(s, at, who)
        return replace(s, last_event_at=at, state="in_service", vin=f["vin"], last_vin=f["vin"], custodian=None)
    if t == "battery.repaired":
        if code == f["battery"]:
            return replace(s, last_event_at=at)
        for item in f.get("components_replaced") or ():
            if code == item["removed"]:
                return _waste(s, at, who, parent=None)
            if code == item["installed"]:
                return replace(s, last_event_at=at, state="assembled", parent=f["battery"])
        return replace(s, last_event_at=at)
    if t == "vehicle.scrapped":
        if code not in f["batteries_present"]:
            # a swap pack bound to the vehicle but not in it at scrapping: back in swap stock with its
            # last holder
            return replace(s, last_event_at=at, state="swap_stock", vin=None)
        # the pack follows the dismantler's report, even when the records bound it to another vehicle (R13)
        return replace(s, last_event_at=at, custodian=who, vin=f["vin"], last_vin=f["vin"])
    if t == "battery.removed":
        return _waste(s, at, who)
    if t == "battery.handed_over":
        # a re-made product handed over from its application comes back as waste
        prior = "waste" if s.state == "in_service" else s.state
        return replace(s, last_event_at=at, state="in_transit", prior_state=prior, pending_to=f["to"],
                       **({"waste": True, "waste_since": s.waste_since or at} if prior == "waste" else {}))
    if t == "battery.received":
        if s.prior_state == "swap_stock":
            # A swap pack handed to another organisation leaves the swap network for good: it is
            # received as a waste battery (operators move stock between their own stations without
            # a hand-over).
            return _waste(s, at, who, prior_state=None, pending_to=None)
        return replace(s, last_event_at=at, state=s.prior_state or "waste", prior_state=None, pending_to=None,
                       custodian=who)
    if t == "battery.tested":
        health = {
            "soh": f["soh"],
            "measured_capacity_ah": f.get("measured_capacity_ah"),
            "internal_resistance_mohm": f.get("internal_resistance_mohm"),
            "method": f.get("method"),
            "tested_at": at,
            "tested_by": who,
        }
        return replace(s, last_event_at=at, health=health)
    if t == "battery.remanufactured":
        return replace(s, last_event_at=at, state="remade")
    if t == "product.delivered":
        return replace(s, last_event_at=at, state="in_service", application=f["application"])
    if t == "battery.dismantled":
        if code == f["battery"]:
            return replace(s, last_event_at=at, state="dismantled")
        return _waste(s, at, who, parent=None)
    if t == "battery.recycled":
        return replace(s, last_event_at=at, state="recycled")
    if t == "battery.reported_missing":
        return replace(s, last_event_at=at, state="missing")
    if t == "battery.discarded":
        return _waste(s, at, who)
    if t == "product.returned":
        return _waste(s, at, who)
    raise ValueError(f"{t} does not change battery {code}")


def evolve_vehicle(v: VehicleState | None, event: Event) -> VehicleState:
    t = event.type
    f = event.fields
    at: str = event.content["occurred_at"]
    if v is None:
        if t != "vehicle.certified":
            raise ValueError(f"{t} cannot start a vehicle stream")
        return VehicleState(
            vin=f["vin"], maker=event.reporter, vehicle_model=f["vehicle_model"], swap_model=f["swap_model"],
            certificate_no=f["certificate_no"], certified_at=at, region=event.region, packs=tuple(f["batteries"]),
        )
    if t == "vehicle.sold":
        return replace(v, state="sold", sold_at=at, region=event.region or v.region)
    if t in ("battery.swapped", "battery.replaced"):
        packs = [p for p in v.packs if p != f["removed"]]
        if f.get("installed") and v.vin == f["vin"]:
            packs.append(f["installed"])
        return replace(v, packs=tuple(packs))
    if t == "vehicle.scrapped":
        present = f["batteries_present"]
        if v.vin != f["vin"]:  # another vehicle whose pack was found in the scrapped one (R13): it is gone
            return replace(v, packs=tuple(p for p in v.packs if p not in present))
        # the scrapped vehicle holds what the dismantler found; a swap pack not found stays in swap stock
        packs = [p for p in v.packs if p in present or not v.swap_model]
        packs += [p for p in present if p not in packs]
        return replace(v, state="scrapped", scrapped_at=at, scrapped_by=event.reporter, packs=tuple(packs))
    if t == "battery.removed":
        return replace(v, packs=tuple(p for p in v.packs if p != f["battery"]))
    raise ValueError(f"{t} does not change vehicle {v.vin}")
