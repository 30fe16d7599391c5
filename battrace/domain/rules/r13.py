"""R13: an unreported replacement, found at scrapping.

A dismantler reports the packs it found in a scrapped vehicle (``batteries_present``). A pack the
records bind to another vehicle was replaced without a report (swaps and reported replacements are
R10's). The report is a fact and is stored; the pack's record follows it (it leaves the other
vehicle, which shows that its pack is gone). The finding names the other vehicle, its maker (who
should have reported the replacement) and the pack's last recorded custodian.
"""

from __future__ import annotations

from collections.abc import Iterator

from battrace.domain.rules.finding import VIOLATION, Finding
from battrace.domain.rules.registry import EventFacts, Rule, register


def check(f: EventFacts) -> Iterator[Finding]:
    vin = f.event["vin"]
    for code in f.event["batteries_present"]:
        before = f.before(code)
        if before is None or before.vin is None or before.vin == vin:
            continue
        other = before.vin
        maker = f.vehicle_maker(other)
        custodian = before.custodian
        yield f.finding(
            "R13", f"{code}:{f.event.event_id}", batteries=[code], vin=vin, orgs=[custodian, maker],
            responsible=maker,
            zh=f"报废车辆 {vin} 中发现的电池包 {code} 登记装于车辆 {other}（生产企业 {maker}），"
               f"更换未上报；最后记录的持有方 {custodian or '无'}",
            en=f"pack {code} found in scrapped vehicle {vin} is recorded in vehicle {other} (maker {maker}): "
               f"an unreported replacement; last recorded custodian {custodian or 'none'}",
            detail={"recorded_vin": other, "recorded_vehicle_maker": maker, "last_custodian": custodian,
                    "found_in": vin},
        )


RULE = register(Rule(
    "R13", VIOLATION, "unreported replacement", "电池更换未上报",
    checks={"vehicle.scrapped": check},
))
