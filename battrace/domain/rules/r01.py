"""R01 车电一体报废: a vehicle scrapped without a pack bound to it.

``vehicle.scrapped`` whose ``batteries_present`` lacks a pack bound to that VIN counts as an
incomplete vehicle (violation, one finding per missing pack). Not raised for swap-model vehicles,
nor for a pack that left the vehicle by a reported swap or replacement (it is no longer bound).
Resolved when the dismantler later reports the pack's removal from that vehicle: it was there.
"""

from __future__ import annotations

from collections.abc import Iterator

from battrace.domain.rules.finding import VIOLATION, Finding
from battrace.domain.rules.registry import EventFacts, Rule, register


def check(f: EventFacts) -> Iterator[Finding]:
    vin = f.event["vin"]
    vehicle = f.vehicle_after(vin)
    if vehicle is None or vehicle.swap_model:
        return
    present = set(f.event["batteries_present"])
    for code in vehicle.packs:
        if code in present:
            continue
        yield f.finding(
            "R01", f"{vin}:{code}", batteries=[code], vin=vin, orgs=[vehicle.maker], responsible=vehicle.maker,
            zh=f"车辆 {vin} 报废时缺少绑定的动力电池 {code}（车电一体报废，视为不完整车辆）",
            en=f"vehicle {vin} was scrapped without its bound pack {code} (scrap vehicle and battery together: "
               "the vehicle counts as incomplete)",
            detail={"batteries_present": sorted(present), "bound": list(vehicle.packs)},
        )


def resolve(f: EventFacts) -> Iterator[str]:
    yield f"R01:{f.event['vin']}:{f.event['battery']}"


RULE = register(Rule(
    "R01", VIOLATION, "vehicle scrapped without its battery", "车电一体报废：报废车辆缺少动力电池",
    checks={"vehicle.scrapped": check}, resolvers={"battery.removed": resolve},
))
