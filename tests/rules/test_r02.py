"""R02: a waste battery handed over to an organisation that may not take it."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests import story as s
from tests.rules.scenarios import (
    LAPSED_RECYCLER,
    NO_HW_RECYCLER,
    UNQUALIFIED_RECYCLER,
    Case,
    Events,
    ids,
    run_case,
)


def _waste_to(receiver: str, day: str = "2025-06-10") -> Callable[[Events], None]:
    def build(e: Events) -> None:
        e.waste_at_repair_shop()
        e.hand_over([s.PACK], s.REPAIR_SHOP, receiver, day)

    return build


def _new_pack_to_vehicle_maker(e: Events) -> None:
    e.produce(s.PACK)
    e.hand_over([s.PACK], s.BATTERY_MAKER, s.VEHICLE_MAKER, "2024-03-06")


def _outlet_passes_on_to_unqualified(e: Events) -> None:
    e.waste_at_repair_shop()
    e.transfer([s.PACK], s.REPAIR_SHOP, s.OUTLET, "2025-06-10")
    e.hand_over([s.PACK], s.OUTLET, UNQUALIFIED_RECYCLER, "2025-07-01")


UNSPONSORED_OUTLET = s.credit(16)


def _swap_stock_to(receiver: str) -> Callable[[Events], None]:
    def build(e: Events) -> None:
        e.in_service(swap_model=True)
        e.produce(s.SPARE)
        e.swap(s.VIN, s.PACK, s.SPARE, "2025-01-05")
        e.hand_over([s.PACK], s.SWAPPER, receiver, "2025-02-01")

    return build


def _scrap_to(receiver: str) -> Callable[[Events], None]:
    def build(e: Events) -> None:
        e.produce(s.PACK)
        e.add("battery.discarded", s.BATTERY_MAKER, "2024-03-06", battery=s.PACK, reason="end-of-line failure")
        e.hand_over([s.PACK], s.BATTERY_MAKER, receiver, "2024-03-10")

    return build


def _returned_product_to(receiver: str) -> Callable[[Events], None]:
    def build(e: Events) -> None:
        e.waste_at_repair_shop()
        e.transfer([s.PACK], s.REPAIR_SHOP, s.REUSER, "2025-07-01")
        e.test(s.PACK, s.REUSER, "2025-07-05", soh=0.85)
        e.remanufacture(s.PRODUCT, [s.PACK], "2025-08-01")
        e.deliver(s.PRODUCT, "2025-08-10")
        e.add("product.returned", s.REUSER, "2026-01-10", battery=s.PRODUCT, reason="end of second life")
        e.hand_over([s.PRODUCT], s.REUSER, receiver, "2026-01-20")

    return build


def _received_by_unqualified(e: Events) -> None:
    e.waste_at_repair_shop()
    e.hand_over([s.PACK], s.REPAIR_SHOP, UNQUALIFIED_RECYCLER, "2025-06-10")
    e.receive([s.PACK], UNQUALIFIED_RECYCLER, s.REPAIR_SHOP, "2025-06-11")


CASES = [
    Case("raised_when_handed_to_a_dismantler", _waste_to(s.DISMANTLER),
         [{"batteries": [s.PACK], "responsible": s.REPAIR_SHOP, "orgs": [s.REPAIR_SHOP, s.DISMANTLER],
           "severity": "violation"}]),
    Case("raised_when_handed_to_another_repair_shop_type", _waste_to(s.SWAPPER), [{"batteries": [s.PACK]}]),
    Case("raised_when_the_recycler_holds_no_qualification", _waste_to(UNQUALIFIED_RECYCLER),
         [{"batteries": [s.PACK]}]),
    Case("raised_when_the_discharge_permit_lapsed_before_the_hand_over", _waste_to(LAPSED_RECYCLER, "2026-01-05"),
         [{"batteries": [s.PACK]}]),
    Case("raised_when_an_outlet_passes_it_to_an_unqualified_recycler", _outlet_passes_on_to_unqualified,
         [{"responsible": s.OUTLET}]),
    Case("not_raised_when_the_permit_was_still_valid_on_the_day", _waste_to(LAPSED_RECYCLER, "2025-12-31"), []),
    Case("not_raised_for_a_qualified_recycler", _waste_to(s.RECYCLER), []),
    Case("not_raised_for_a_qualified_reuse_enterprise", _waste_to(s.REUSER), []),
    Case("not_raised_for_a_collection_outlet", _waste_to(s.OUTLET), []),
    Case("not_raised_for_a_new_pack_shipped_by_its_maker", _new_pack_to_vehicle_maker, []),
    Case("not_raised_without_a_hazardous_waste_licence_by_default", _waste_to(NO_HW_RECYCLER), []),
    Case("raised_without_a_hazardous_waste_licence_when_required", _waste_to(NO_HW_RECYCLER),
         [{"batteries": [s.PACK]}], settings={"require_hazardous_waste_license": True}),
    Case("not_raised_with_every_licence_when_the_licence_is_required", _waste_to(s.RECYCLER), [],
         settings={"require_hazardous_waste_license": True}),
    Case("raised_when_swap_stock_leaves_for_a_dismantler", _swap_stock_to(s.DISMANTLER),
         [{"batteries": [s.PACK], "responsible": s.SWAPPER}]),
    Case("not_raised_when_swap_stock_goes_to_a_recycler", _swap_stock_to(s.RECYCLER), []),
    Case("raised_when_production_scrap_goes_to_a_repair_shop", _scrap_to(s.REPAIR_SHOP),
         [{"batteries": [s.PACK], "responsible": s.BATTERY_MAKER}]),
    Case("not_raised_when_production_scrap_goes_to_a_recycler", _scrap_to(s.RECYCLER), []),
    Case("raised_when_a_returned_product_goes_to_an_unqualified_recycler", _returned_product_to(UNQUALIFIED_RECYCLER),
         [{"batteries": [s.PRODUCT], "responsible": s.REUSER}]),
    Case("not_raised_when_a_returned_product_goes_to_a_recycler", _returned_product_to(s.RECYCLER), []),
    Case("raised_on_both_sides_when_the_unqualified_receiver_books_it_in", _received_by_unqualified,
         [{"responsible": s.REPAIR_SHOP, "orgs": [s.REPAIR_SHOP, UNQUALIFIED_RECYCLER]},
          {"responsible": UNQUALIFIED_RECYCLER}]),
    Case("raised_for_an_outlet_no_maker_set_up", _waste_to(UNSPONSORED_OUTLET),
         [{"batteries": [s.PACK], "orgs": [s.REPAIR_SHOP, UNSPONSORED_OUTLET]}]),
]


@pytest.mark.parametrize("case", CASES, ids=ids(CASES))
def test_r02(db_url: str, case: Case) -> None:
    run_case(db_url, "R02", case)


def test_r02_names_the_lapsed_qualification(sqlite_url: str) -> None:
    [finding] = run_case(sqlite_url, "R02", CASES[3])
    assert finding["detail"]["missing_qualifications"] == ["discharge_permit"]
    assert "discharge_permit" in finding["message"]["en"] and "discharge_permit" in finding["message"]["zh"]
