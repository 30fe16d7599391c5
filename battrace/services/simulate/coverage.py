"""The R11 notices a simulated world should raise: producers whose products went to a province where
no collection outlet is set up for them.

Read back from the written ``events.jsonl`` (only the lines of the few event types that matter are
parsed), in log order, as the compliance engine sees them: a vehicle maker's vehicles sold, a
battery maker's packs in those vehicles, a re-use enterprise's products delivered (the delivery's
region). Each notice names the first event of its (producer, province), like the engine's finding.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from battrace.services.simulate.world import World

_TYPES = ('"vehicle.certified"', '"vehicle.sold"', '"battery.produced"', '"battery.swapped"',
          '"battery.replaced"', '"product.delivered"', '"battery.remanufactured"')


def _province(region: str | None) -> str | None:
    return f"{region[:2]}0000" if region and len(region) == 6 else None


def expected_r11(events_path: Path, world: World) -> list[dict[str, Any]]:
    covered: dict[str, set[str]] = {}
    for o in world.orgs:
        p = _province(o.region)
        if o.type == "collection_outlet" and o.operated_for and p:
            covered.setdefault(o.operated_for, set()).add(p)
    maker_of: dict[str, str] = {}
    vehicles: dict[str, tuple[str, list[str], str | None]] = {}  # vin -> (maker, packs, region)
    first: dict[tuple[str, str], str] = {}

    def sale(producer: str | None, region: str | None, event_id: str) -> None:
        p = _province(region)
        if producer and p and p not in covered.get(producer, ()):
            first.setdefault((producer, p), event_id)

    with events_path.open(encoding="utf-8") as lines:
        for line in lines:
            if not any(t in line for t in _TYPES):
                continue
            e = json.loads(line)
            t = e["type"]
            if t == "battery.produced":
                maker_of[e["battery"]] = e["reporter"]
            elif t == "battery.remanufactured":
                maker_of[e["product"]] = e["reporter"]
            elif t == "vehicle.certified":
                vehicles[e["vin"]] = (e["reporter"], list(e["batteries"]), e.get("region"))
            elif t in ("battery.swapped", "battery.replaced") and e["vin"] in vehicles:
                maker, packs, region = vehicles[e["vin"]]
                packs = [p for p in packs if p != e["removed"]] + ([e["installed"]] if e.get("installed") else [])
                vehicles[e["vin"]] = (maker, packs, region)
            elif t == "vehicle.sold" and e["vin"] in vehicles:
                maker, packs, region = vehicles[e["vin"]]
                region = e.get("region") or region
                vehicles[e["vin"]] = (maker, packs, region)
                sale(maker, region, e["event_id"])
                for pack in packs:
                    sale(maker_of.get(pack), region, e["event_id"])
            elif t == "product.delivered":
                sale(e["reporter"], e.get("region"), e["event_id"])
    return [{"rule": "R11", "batteries": [], "vin": None, "orgs": [producer], "event_id": event_id,
             "detail": f"no collection outlet for {producer} in province {province}"}
            for (producer, province), event_id in sorted(first.items())]
