"""Whole life, every level: a pack's modules and cells share its fate on every path, and re-made
products live a whole second life (SQLite and PostgreSQL; the library and the public API)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient

from battrace.api import create_app
from battrace.services.health import battery_value, health_summary
from battrace.services.holdings import list_holdings
from battrace.services.passport import get_passport, get_vehicle
from battrace.services.stats import get_stats
from tests import story as s
from tests.rules.scenarios import PACK2, VIN2, Events, Scenario

M0, M1 = s.MODULES
C00, C01, C10, C11 = s.CELLS
PRODUCT24 = s.code("P", 7, maker="R01")  # a re-use enterprise's product with a full 24-character code
PRODUCT17 = s.PRODUCT


def _pack_with_components(e: Events, day: str = "2024-03-05") -> None:
    for c in s.CELLS:
        e.add("battery.produced", s.BATTERY_MAKER, day, battery=c, **s.CELL)
    for i, m in enumerate(s.MODULES):
        e.add("battery.produced", s.BATTERY_MAKER, day, battery=m, components=s.CELLS[2 * i: 2 * i + 2],
              **{**s.CELL, "model": "M1"})
    e.produce(s.PACK, day, components=list(s.MODULES))


# (state, custodian, retired) expected of each code after a step
Expect = dict[str, tuple[str, str | None, bool]]


@dataclass(frozen=True)
class Step:
    name: str
    build: Callable[[Events], None]
    expect: Expect


def _all(codes: list[str], state: str, custodian: str | None, retired: bool) -> Expect:
    return {c: (state, custodian, retired) for c in codes}


EVERY_LEVEL = [s.PACK, *s.MODULES, *s.CELLS]


def _sold(e: Events) -> None:
    _pack_with_components(e)
    e.certify(s.VIN, [s.PACK])
    e.sell(s.VIN)


SCRAP_DISMANTLE_RECYCLE = [
    Step("in_service", _sold, {s.PACK: ("in_service", s.BATTERY_MAKER, False),
                               **_all([*s.MODULES, *s.CELLS], "assembled", s.BATTERY_MAKER, False)}),
    Step("removed_from_the_scrapped_vehicle", lambda e: (
        e.scrap(s.VIN, [s.PACK], "2025-05-01"), e.remove(s.PACK, s.VIN, "2025-05-02")),
         _all(EVERY_LEVEL, "waste", s.DISMANTLER, True)),
    Step("at_the_recycler", lambda e: e.transfer([s.PACK], s.DISMANTLER, s.RECYCLER, "2025-05-10"),
         _all(EVERY_LEVEL, "waste", s.RECYCLER, True)),
    Step("dismantled_freeing_one_module", lambda e: e.add(
        "battery.dismantled", s.RECYCLER, "2025-05-20", battery=s.PACK, components=[M0]),
         {s.PACK: ("dismantled", s.RECYCLER, True), **_all([M0, C00, C01, M1, C10, C11], "waste", s.RECYCLER, True)}),
    Step("pack_recycled_whole_with_what_it_kept", lambda e: e.add(
        "battery.recycled", s.RECYCLER, "2025-06-01", batteries=[s.PACK], process="hydro", outputs={"li": 1.0}),
         {**_all([s.PACK, M1, C10, C11], "recycled", s.RECYCLER, True),
          **_all([M0, C00, C01], "waste", s.RECYCLER, True)}),
    Step("freed_module_recycled_on_its_own", lambda e: e.add(
        "battery.recycled", s.RECYCLER, "2025-06-02", batteries=[M0], process="pyro", outputs={"ni": 1.0}),
         _all(EVERY_LEVEL, "recycled", s.RECYCLER, True)),
]

SWAP_STOCK_TO_WASTE = [
    Step("swapped_out", lambda e: (
        _pack_with_components(e), e.produce(PACK2), e.certify(s.VIN, [s.PACK], swap_model=True), e.sell(s.VIN),
        e.swap(s.VIN, s.PACK, PACK2, "2025-01-05")),
         {**_all(EVERY_LEVEL, "swap_stock", s.SWAPPER, False), PACK2: ("in_service", s.SWAPPER, False)}),
    Step("handed_out_of_the_swap_network", lambda e: e.transfer([s.PACK], s.SWAPPER, s.RECYCLER, "2025-02-01"),
         _all(EVERY_LEVEL, "waste", s.RECYCLER, True)),
    Step("scrapped_without_its_swap_pack", lambda e: e.scrap(s.VIN, [], "2025-03-01"),
         {PACK2: ("swap_stock", s.SWAPPER, False)}),
]

PRODUCTION_SCRAP = [
    Step("discarded_at_end_of_line", lambda e: (
        _pack_with_components(e), e.add("battery.discarded", s.BATTERY_MAKER, "2024-03-06", battery=s.PACK,
                                        reason="end-of-line insulation test failed")),
         _all(EVERY_LEVEL, "waste", s.BATTERY_MAKER, True)),
    Step("handed_to_a_recycler", lambda e: e.transfer([s.PACK], s.BATTERY_MAKER, s.RECYCLER, "2024-03-10"),
         _all(EVERY_LEVEL, "waste", s.RECYCLER, True)),
    Step("recycled", lambda e: e.add(
        "battery.recycled", s.RECYCLER, "2024-04-01", batteries=[s.PACK], process="hydro", outputs={"li": 1.0}),
         _all(EVERY_LEVEL, "recycled", s.RECYCLER, True)),
]


def _remade(product: str) -> Callable[[Events], None]:
    def build(e: Events) -> None:
        e.waste_at_repair_shop()
        e.transfer([s.PACK], s.REPAIR_SHOP, s.REUSER, "2025-07-01")
        e.test(s.PACK, s.REUSER, "2025-07-05", soh=0.85)
        e.remanufacture(product, [s.PACK], "2025-08-01")
        e.deliver(product, "2025-08-10")

    return build


def remade_path(product: str) -> list[Step]:
    return [
        Step("delivered", _remade(product), {product: ("in_service", s.REUSER, True),
                                             s.PACK: ("remade", s.REUSER, True)}),
        Step("returned_to_a_recycler", lambda e: e.add(
            "product.returned", s.RECYCLER, "2030-01-10", battery=product, reason="end of second life",
            from_customer="某储能电站"),
             {product: ("waste", s.RECYCLER, True)}),
        Step("dismantled", lambda e: e.add("battery.dismantled", s.RECYCLER, "2030-02-01", battery=product),
             {product: ("dismantled", s.RECYCLER, True)}),
        Step("recycled", lambda e: e.add(
            "battery.recycled", s.RECYCLER, "2030-03-01", batteries=[product], process="hydro",
            outputs={"li": 1.0}),
             {product: ("recycled", s.RECYCLER, True)}),
    ]


PATHS = {
    "scrap_dismantle_recycle": SCRAP_DISMANTLE_RECYCLE,
    "swap_stock_to_waste": SWAP_STOCK_TO_WASTE,
    "production_scrap": PRODUCTION_SCRAP,
    "remade24_returned_recycled": remade_path(PRODUCT24),
    "remade17_returned_recycled": remade_path(PRODUCT17),
}


@pytest.fixture
def sc(db_url: str) -> Iterator[Scenario]:
    scenario = Scenario(db_url)
    scenario.now = scenario.now.replace(year=2031)  # the re-made paths run to 2030
    yield scenario
    scenario.close()


@pytest.mark.parametrize("path", list(PATHS))
def test_every_level_follows_the_pack_on_every_path(sc: Scenario, path: str) -> None:
    client = TestClient(create_app(sc.platform, with_web=False))
    store = sc.platform.store
    for step in PATHS[path]:
        e = Events(items=[])
        step.build(e)
        sc.ingest(_named(f"{path}-{step.name}", e))
        for code, (state, custodian, retired) in step.expect.items():
            p = get_passport(store, code)
            got = (p["state"], (p["custodian"] or {}).get("credit_code"), p["retired"])
            assert got == (state, custodian, retired), (step.name, code, p["level"])
            public = client.get(f"/api/v1/public/batteries/{code}").json()
            assert (public["state"], public["retired_ev_battery"]) == (state, retired), (step.name, code)
            if p["parent"] is not None:  # a component names the pack it belongs to and when it retired
                assert public["pack"]["code"] in (s.PACK, M0)
                assert public["pack"]["retired"] is retired
                if retired:
                    assert public["pack"]["retired_at"]


def test_holdings_list_components_with_their_pack_not_with_their_maker(sc: Scenario) -> None:
    e = Events()
    _sold(e)
    e.scrap(s.VIN, [s.PACK], "2025-05-01")
    e.remove(s.PACK, s.VIN, "2025-05-02")
    sc.ingest(e)
    maker = list_holdings(sc.platform.store, s.BATTERY_MAKER)
    assert [r["code"] for r in maker.rows] == [] and maker.total == 0
    dismantler = list_holdings(sc.platform.store, s.DISMANTLER)
    assert [r["code"] for r in dismantler.rows] == [s.PACK]
    cells = get_stats(sc.platform.store, level="C")["batteries_by_state"]
    assert cells == {"waste": 4}
    assert get_stats(sc.platform.store, level="all")["batteries_by_state"] == {"waste": 7}


def _rejected(sc: Scenario, e: Events) -> dict[str, Any]:
    rows = [dict(x, recorded_at=x["occurred_at"]) for x in e.items]
    report = sc.platform.ledger.ingest(list(enumerate(rows, 1)), import_history=True)
    [rejection] = report.as_dict()["rejections"]
    return rejection


def _named(prefix: str, e: Events) -> Events:
    for i, item in enumerate(e.items):
        item["event_id"] = f"{prefix}-{i}"
    return e


def test_neither_a_remade_product_nor_a_waste_battery_goes_into_a_vehicle(sc: Scenario) -> None:
    e = Events()
    _remade(PRODUCT24)(e)
    sc.ingest(e)
    bad = Events(items=[])
    bad.certify(VIN2, [PRODUCT24], "2025-09-01")
    rejection = _rejected(sc, _named("bad", bad))
    assert rejection["code"] == "invalid_transition" and "re-made product" in rejection["message"]
    p9 = s.code("P", 9)
    waste = Events(items=[])
    waste.in_service(PACK2, VIN2)
    waste.produce(p9)
    waste.replace(VIN2, PACK2, "2025-09-02", installed=p9)  # PACK2: waste at the repair shop
    sc.ingest(_named("w", waste))
    again = Events(items=[])
    again.replace(VIN2, p9, "2025-09-03", installed=PACK2)
    rejection = _rejected(sc, _named("again", again))
    assert rejection["code"] == "invalid_transition" and "waste battery" in rejection["message"]


def test_a_recycled_pack_and_its_cells_are_never_graded_for_reuse(sc: Scenario) -> None:
    e = Events()
    _sold(e)
    e.replace(s.VIN, s.PACK, "2025-05-01")
    e.transfer([s.PACK], s.REPAIR_SHOP, s.RECYCLER, "2025-05-10")
    e.test(s.PACK, s.RECYCLER, "2025-05-11", soh=0.92)
    sc.ingest(e)
    before = health_summary(get_passport(sc.platform.store, s.PACK))
    assert before["decision"]["path"] == "reuse"  # a healthy waste pack is a re-use candidate
    done = Events(items=[])
    done.add("battery.recycled", s.RECYCLER, "2025-06-01", batteries=[s.PACK], process="hydro", outputs={"li": 1.0})
    done.items[0]["event_id"] = "recycle-it"
    sc.ingest(done)
    summary = health_summary(get_passport(sc.platform.store, s.PACK))
    assert summary["decision"]["path"] == "recycle" and "recycled" in summary["decision"]["reason_en"]
    value = battery_value(get_passport(sc.platform.store, s.PACK))
    assert value["better_path"] == "recycle" and value["reuse_allowed"] is False
    assert value["residual_value_cny"] == 0.0 and "recycled" in " ".join(value["notes"])
    assert get_passport(sc.platform.store, C10)["state"] == "recycled"


def test_unreported_replacement_at_scrapping_follows_the_report(sc: Scenario) -> None:
    e = Events()
    e.in_service(s.PACK, s.VIN)
    e.in_service(PACK2, VIN2)
    e.scrap(VIN2, [s.PACK], "2025-05-01")  # the dismantler found the first vehicle's pack in VIN2
    sc.ingest(e)
    [finding] = sc.findings("R13")
    assert finding["batteries"] == [s.PACK] and finding["responsible"] == s.VEHICLE_MAKER
    assert finding["detail"]["recorded_vin"] == s.VIN and finding["vin"] == VIN2
    pack = get_passport(sc.platform.store, s.PACK)
    assert (pack["vin"], pack["custodian"]["credit_code"]) == (VIN2, s.DISMANTLER)
    assert get_vehicle(sc.platform.store, s.VIN)["packs"] == []  # the other vehicle shows its pack is gone
    assert s.PACK in get_vehicle(sc.platform.store, VIN2)["packs"]
    removal = Events(items=[])
    removal.remove(s.PACK, VIN2, "2025-05-02")
    removal.items[0]["event_id"] = "remove-found-pack"
    sc.ingest(removal)
    assert get_passport(sc.platform.store, s.PACK)["state"] == "waste"


def test_passport_at_a_date_shows_the_vehicle_and_the_open_findings_then(sc: Scenario) -> None:
    e = Events()
    e.in_service(s.PACK, s.VIN)
    e.in_service(PACK2, VIN2)
    e.scrap(VIN2, [s.PACK], "2025-05-01")
    sc.ingest(e)
    store = sc.platform.store
    then = get_passport(store, s.PACK, at=_moment("2025-04-30"))
    assert then["vin"] == s.VIN and then["vehicle"]["state"] == "sold" and then["findings"] == []
    after = get_passport(store, s.PACK, at=_moment("2025-05-01"))
    assert after["vin"] == VIN2 and after["vehicle"]["state"] == "scrapped"
    assert [f["rule"] for f in after["findings"]] == ["R13"]
    # by when it happened vs by when it was recorded: a report recorded late
    late = Events(items=[])
    late.remove(s.PACK, VIN2, "2025-05-02", recorded="2025-06-30")
    late.items[0]["event_id"] = "late-removal"
    sc.ingest(late)
    assert get_passport(store, s.PACK, at=_moment("2025-06-01"))["state"] == "in_service"
    assert get_passport(store, s.PACK, at=_moment("2025-06-01"), by="occurred")["state"] == "waste"


def _moment(day: str) -> Any:
    from battrace.domain.events import parse_moment

    return parse_moment(day)


def test_a_returned_product_is_remade_again_with_its_lineage(sc: Scenario) -> None:
    e = Events()
    _remade(PRODUCT24)(e)
    sc.ingest(e)
    third = s.code("P", 11, maker="R01")
    again = Events(items=[])
    again.add("product.returned", s.REUSER, "2026-01-10", battery=PRODUCT24, reason="capacity below contract")
    again.test(PRODUCT24, s.REUSER, "2026-01-12", soh=0.72)
    again.remanufacture(third, [PRODUCT24], "2026-02-01", application="backup_power")
    sc.ingest(_named("again", again))
    product = get_passport(sc.platform.store, PRODUCT24)
    assert (product["state"], product["products"], product["sources"]) == ("remade", [third], [s.PACK])
    assert get_passport(sc.platform.store, third)["sources"] == [PRODUCT24]
    assert get_passport(sc.platform.store, third)["remade"] is True
