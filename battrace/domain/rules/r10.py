"""R10: a swap or replacement whose removed pack is not the pack bound to that VIN."""

from __future__ import annotations

from collections.abc import Iterator

from battrace.domain.rules.finding import WARNING, Finding
from battrace.domain.rules.registry import EventFacts, Rule, register


def check(f: EventFacts) -> Iterator[Finding]:
    vin, removed = f.event["vin"], f.event["removed"]
    before = f.before(removed)
    if before is None or before.vin == vin:
        return
    bound = before.vin
    maker = f.vehicle_maker(vin)
    yield f.finding(
        "R10", f"{f.reporter}:{f.event.event_id}", batteries=[removed], vin=vin, orgs=[maker],
        responsible=f.reporter,
        zh=f"车辆 {vin} 拆下的电池 {removed} 并非该车绑定的电池"
           + (f"（该电池绑定于 {bound}）" if bound else "（该电池未绑定任何车辆）"),
        en=f"pack {removed} removed from vehicle {vin} is not bound to it"
           + (f" (it is bound to {bound})" if bound else " (it is bound to no vehicle)"),
        detail={"bound_vin": bound},
    )


RULE = register(Rule(
    "R10", WARNING, "removed pack not bound to the vehicle", "拆下的电池与车辆绑定不一致",
    checks={"battery.swapped": check, "battery.replaced": check},
))
