"""A scripted battery story used by the ledger tests: real identifiers, every step of the lifecycle."""

from __future__ import annotations

from datetime import date
from typing import Any

from battrace.domain.codes import build_code
from battrace.domain.credit import with_check_char
from battrace.domain.vin import with_check_digit


def credit(n: int) -> str:
    return with_check_char(f"91440300MA{n:07d}")


BATTERY_MAKER = credit(1)
VEHICLE_MAKER = credit(2)
REPAIR_SHOP = credit(3)
DISMANTLER = credit(4)
OUTLET = credit(5)
REUSER = credit(6)
RECYCLER = credit(7)
REGULATOR = credit(8)
SWAPPER = credit(9)
OTHER_MAKER = credit(10)

QUALS = [
    {"kind": k, "number": f"{k}-1", "valid_from": "2020-01-01", "valid_to": "2030-12-31"}
    for k in ("investment_filing", "eia_approval", "discharge_permit", "hazardous_waste_license")
]


def orgs() -> list[dict[str, Any]]:
    return [
        {"credit_code": BATTERY_MAKER, "name": "宁德示例电池", "type": "battery_maker", "region": "350900",
         "manufacturer_codes": ["07H"]},
        {"credit_code": OTHER_MAKER, "name": "Other Cells Ltd", "type": "battery_maker", "region": "320500",
         "manufacturer_codes": ["02L"]},
        {"credit_code": VEHICLE_MAKER, "name": "示例汽车", "type": "vehicle_maker", "region": "440300"},
        {"credit_code": REPAIR_SHOP, "name": "维修站", "type": "repair_shop", "region": "440300"},
        {"credit_code": DISMANTLER, "name": "拆解厂", "type": "dismantler", "region": "440300"},
        {"credit_code": OUTLET, "name": "回收网点", "type": "collection_outlet", "region": "440300",
         "operated_for": VEHICLE_MAKER},
        {"credit_code": REUSER, "name": "梯次利用", "type": "reuse_enterprise", "region": "430100",
         "manufacturer_codes": ["R01"], "qualifications": QUALS},
        {"credit_code": RECYCLER, "name": "再生利用", "type": "recycler", "region": "360500", "qualifications": QUALS},
        {"credit_code": REGULATOR, "name": "广东省工信厅", "type": "regulator", "jurisdiction": "440000"},
        {"credit_code": SWAPPER, "name": "换电运营", "type": "swap_operator", "region": "110000"},
    ]


def code(level: str, serial: int, *, maker: str = "07H", day: date = date(2024, 3, 5), trace: str | None = "A000001",
         btype: str = "E") -> str:
    return build_code(maker, level, btype, "01", day, serial, trace=trace)


PACK = code("P", 1)
SPARE = code("P", 2)
MODULES = [code("M", 10 + i) for i in range(2)]
CELLS = [code("C", 100 + i) for i in range(4)]
PRODUCT = code("P", 1, maker="R01", trace=None, day=date(2026, 3, 1))
VIN = with_check_digit("LGXCE4CB0R0000001")


def ev(n: int, type_: str, reporter: str, when: str, **fields: Any) -> dict[str, Any]:
    return {"event_id": f"e-{n:03d}", "type": type_, "occurred_at": when, "reporter": reporter, **fields}


FIG = {"model": "X1", "rated_capacity_ah": 150.0, "nominal_voltage_v": 350.4, "rated_energy_kwh": 52.6,
       "mass_kg": 360.0}
CELL = {"model": "C1", "rated_capacity_ah": 150.0, "nominal_voltage_v": 3.65, "rated_energy_kwh": 0.55,
        "mass_kg": 2.8}


def story() -> list[dict[str, Any]]:
    """Produce cells/modules/pack, certify, sell, replace, scrap, collect, hand over, test, re-make, recycle."""
    e: list[dict[str, Any]] = []
    t = "2024-03-05T09:00:00+08:00"
    for _i, c in enumerate(CELLS):
        e.append(ev(len(e), "battery.produced", BATTERY_MAKER, t, battery=c, **CELL))
    for i, m in enumerate(MODULES):
        e.append(ev(len(e), "battery.produced", BATTERY_MAKER, t, battery=m, components=CELLS[2 * i: 2 * i + 2],
                    **{**CELL, "model": "M1"}))
    e.append(ev(len(e), "battery.produced", BATTERY_MAKER, t, battery=PACK, components=MODULES, **FIG))
    e.append(ev(len(e), "battery.produced", BATTERY_MAKER, t, battery=SPARE, **FIG))
    e.append(ev(len(e), "techinfo.filed", BATTERY_MAKER, "2024-03-06T09:00:00+08:00", model="X1",
                ccc_certified_at="2024-01-10T00:00:00+08:00", document="https://example.org/x1-dismantling.pdf"))
    e.append(ev(len(e), "vehicle.certified", VEHICLE_MAKER, "2024-03-20T10:00:00+08:00", vin=VIN,
                vehicle_model="E1", swap_model=False, batteries=[PACK], certificate_no="WAB1234567",
                region="440300"))
    e.append(ev(len(e), "vehicle.sold", VEHICLE_MAKER, "2024-04-01T10:00:00+08:00", vin=VIN, region="440300"))
    e.append(ev(len(e), "battery.replaced", REPAIR_SHOP, "2025-06-01T10:00:00+08:00", vin=VIN, removed=PACK,
                installed=SPARE, reason="capacity fade"))
    e.append(ev(len(e), "battery.handed_over", REPAIR_SHOP, "2025-06-02T10:00:00+08:00", batteries=[PACK], to=OUTLET))
    e.append(ev(len(e), "battery.received", OUTLET, "2025-06-03T10:00:00+08:00", batteries=[PACK],
                **{"from": REPAIR_SHOP}))
    e.append(ev(len(e), "vehicle.scrapped", DISMANTLER, "2026-05-01T10:00:00+08:00", vin=VIN,
                batteries_present=[SPARE], certificate_no="BF0001"))
    e.append(ev(len(e), "battery.removed", DISMANTLER, "2026-05-02T10:00:00+08:00", battery=SPARE, vin=VIN))
    e.append(ev(len(e), "battery.handed_over", DISMANTLER, "2026-05-03T10:00:00+08:00", batteries=[SPARE], to=RECYCLER))
    e.append(ev(len(e), "battery.received", RECYCLER, "2026-05-04T10:00:00+08:00", batteries=[SPARE],
                **{"from": DISMANTLER}))
    e.append(ev(len(e), "battery.handed_over", OUTLET, "2026-02-01T10:00:00+08:00", batteries=[PACK], to=REUSER))
    e.append(ev(len(e), "battery.received", REUSER, "2026-02-02T10:00:00+08:00", batteries=[PACK], **{"from": OUTLET}))
    e.append(ev(len(e), "battery.tested", REUSER, "2026-02-10T10:00:00+08:00", battery=PACK, soh=0.78,
                method="gbt34015", measured_capacity_ah=117.0))
    e.append(ev(len(e), "battery.remanufactured", REUSER, "2026-03-01T10:00:00+08:00", product=PRODUCT,
                sources=[PACK], application="energy_storage", certification="CQC-2026-001"))
    e.append(ev(len(e), "product.delivered", REUSER, "2026-03-10T10:00:00+08:00", battery=PRODUCT,
                application="energy_storage", customer="某储能电站"))
    e.append(ev(len(e), "battery.dismantled", RECYCLER, "2026-05-10T10:00:00+08:00", battery=SPARE))
    e.append(ev(len(e), "battery.recycled", RECYCLER, "2026-05-20T10:00:00+08:00", batteries=[SPARE],
                process="hydro", outputs={"li": 3.1, "ni": 18.2, "co": 6.0, "black_mass": 120.0}))
    return e


SCRAP = code("P", 8)  # a pack that fails end-of-line testing (production scrap)


def second_life() -> list[dict[str, Any]]:
    """After :func:`story`: the re-made product comes back at the end of its second life and is
    recycled; a new pack is discarded as production scrap and recycled. Event ids continue the story's."""
    e: list[dict[str, Any]] = []
    n0 = len(story())

    def add(type_: str, reporter: str, when: str, **fields: Any) -> None:
        e.append(ev(n0 + len(e), type_, reporter, when, **fields))

    add("battery.produced", BATTERY_MAKER, "2026-06-01T09:00:00+08:00", battery=SCRAP, **FIG)
    add("battery.discarded", BATTERY_MAKER, "2026-06-02T09:00:00+08:00", battery=SCRAP,
        reason="end-of-line insulation test failed")
    add("battery.handed_over", BATTERY_MAKER, "2026-06-05T09:00:00+08:00", batteries=[SCRAP], to=RECYCLER)
    add("battery.received", RECYCLER, "2026-06-06T09:00:00+08:00", batteries=[SCRAP], **{"from": BATTERY_MAKER})
    add("product.returned", REUSER, "2026-09-01T10:00:00+08:00", battery=PRODUCT, reason="end of second life",
        from_customer="某储能电站")
    add("battery.handed_over", REUSER, "2026-09-05T10:00:00+08:00", batteries=[PRODUCT], to=RECYCLER)
    add("battery.received", RECYCLER, "2026-09-06T10:00:00+08:00", batteries=[PRODUCT], **{"from": REUSER})
    add("battery.recycled", RECYCLER, "2026-09-20T10:00:00+08:00", batteries=[PRODUCT, SCRAP], process="hydro",
        outputs={"li": 4.0, "black_mass": 150.0})
    return e
