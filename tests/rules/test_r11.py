"""R11: a producer's collection outlets do not cover a province where its vehicles, packs or re-made
products went (vehicle makers, battery makers, re-use enterprises; registered outlets and the directory)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from battrace.services.orgs import import_orgs
from tests import story as s
from tests.rules.scenarios import (
    BJ_OUTLET_ORG,
    NOW,
    OTHER_VEHICLE_MAKER,
    PACK2,
    VIN2,
    Case,
    Events,
    Scenario,
    ids,
    run_case,
)


def _sold_in(region: str, *, maker: str = s.VEHICLE_MAKER) -> Callable[[Events], None]:
    def build(e: Events) -> None:
        e.produce(s.PACK)
        e.certify(s.VIN, [s.PACK], maker=maker)
        e.sell(s.VIN, region=region, maker=maker)

    return build


def _sold_twice_in_beijing(e: Events) -> None:
    _sold_in("110105")(e)
    e.produce(PACK2)
    e.certify(VIN2, [PACK2])
    e.sell(VIN2, region="110108")


#: The pack's battery maker has no outlet anywhere: every sale also raises its notice.
PACK_MAKER = {"responsible": s.BATTERY_MAKER, "orgs": [s.BATTERY_MAKER]}

CASES = [
    Case("raised_when_sold_in_a_province_without_an_outlet", _sold_in("110105"),
         [{"orgs": [s.VEHICLE_MAKER], "responsible": s.VEHICLE_MAKER, "region": "110000", "severity": "notice",
           "event_id": "x-002", "batteries": []}, {**PACK_MAKER, "region": "110000", "event_id": "x-002"}],
         as_of="2026-01-01"),
    Case("raised_once_per_province", _sold_twice_in_beijing,
         [{"region": "110000", "responsible": s.VEHICLE_MAKER}, {**PACK_MAKER}],
         as_of="2026-01-01"),
    Case("raised_for_a_maker_without_any_outlet", _sold_in("310104", maker=OTHER_VEHICLE_MAKER),
         [{"responsible": OTHER_VEHICLE_MAKER, "region": "310000"}, {**PACK_MAKER, "region": "310000"}],
         as_of="2026-01-01"),
    Case("not_raised_where_an_outlet_operates_for_the_maker", _sold_in("440305"),
         [{**PACK_MAKER, "region": "440000"}], as_of="2026-01-01"),
    Case("not_raised_before_an_as_of_evaluation", _sold_in("110105"), []),
]


@pytest.mark.parametrize("case", CASES, ids=ids(CASES))
def test_r11(db_url: str, case: Case) -> None:
    found = run_case(db_url, "R11", case)
    if case.name == "raised_once_per_province":
        assert [f["detail"]["vehicles_sold"] for f in found] == [2, 2]


def test_r11_resolved_when_an_outlet_is_registered(db_url: str) -> None:
    sc = Scenario(db_url)
    e = Events()
    _sold_in("110105")(e)
    sc.ingest(e)
    assert sc.as_of("2026-01-01")["raised"] == {"R11": 2}
    assert sc.as_of("2026-01-02")["raised"] == {}  # still uncovered: no second notice
    import_orgs(sc.platform.store, [BJ_OUTLET_ORG], NOW)
    assert sc.as_of("2026-02-01")["resolved"] == {"R11": 1}
    [finding] = [f for f in sc.findings("R11") if f["responsible"] == s.VEHICLE_MAKER]
    assert finding["state"] == "resolved" and finding["resolved_at"].startswith("2026-02-01")
    sc.close()


def test_r11_reads_the_outlets_directory(db_url: str) -> None:
    """An outlet listed in the directory for the battery maker covers its province, as a registered
    outlet organisation does for the vehicle maker."""
    from battrace.domain.access import Caller
    from battrace.services.outlets import add_outlets

    sc = Scenario(db_url)
    e = Events()
    _sold_in("110105")(e)
    sc.ingest(e)
    assert sc.as_of("2026-01-01")["raised"] == {"R11": 2}
    add_outlets(sc.platform.store, Caller(org=s.BATTERY_MAKER, org_type="battery_maker"),
                [{"name": "北京电池回收点", "operated_for": s.BATTERY_MAKER, "region": "110108",
                  "address": "北京市海淀区示例路 1 号", "accepts": ["pack", "module"]}], NOW)
    assert sc.as_of("2026-02-01")["resolved"] == {"R11": 1}
    states = {f["responsible"]: f["state"] for f in sc.findings("R11")}
    assert states == {s.BATTERY_MAKER: "resolved", s.VEHICLE_MAKER: "open"}
    sc.close()


def test_r11_counts_re_made_products_delivered(db_url: str) -> None:
    """A re-use enterprise delivering a product into a province without its take-back outlet gets a notice."""
    sc = Scenario(db_url)
    e = Events()
    from tests.rules.test_r03 import _remade

    _remade("energy_storage", "energy_storage")(e)
    e.items[-1]["region"] = "320500"
    sc.ingest(e)
    sc.as_of("2026-12-01")
    found = [f for f in sc.findings("R11") if f["responsible"] == s.REUSER]
    assert [(f["region"], f["detail"]["vehicles_sold"]) for f in found] == [("320000", 1)]
    assert "delivered 1 re-made products" in found[0]["message"]["en"]
    sc.close()
