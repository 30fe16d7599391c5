"""R13: an unreported replacement found at scrapping (a pack the records bind to another vehicle)."""

from __future__ import annotations

import pytest

from tests import story as s
from tests.rules.scenarios import PACK2, VIN2, Case, Events, ids, run_case


def _found_in_another_vehicle(e: Events) -> None:
    e.in_service(s.PACK, s.VIN)
    e.in_service(PACK2, VIN2)
    e.scrap(VIN2, [s.PACK], "2025-05-01")


def _found_where_recorded(e: Events) -> None:
    e.in_service(s.PACK, s.VIN)
    e.scrap(s.VIN, [s.PACK], "2025-05-01")


def _swapped_then_scrapped(e: Events) -> None:
    e.in_service(s.PACK, s.VIN, swap_model=True)
    e.produce(PACK2)
    e.swap(s.VIN, s.PACK, PACK2, "2025-01-05")
    e.scrap(s.VIN, [PACK2], "2025-05-01")


CASES = [
    Case("raised_for_a_pack_bound_to_another_vehicle", _found_in_another_vehicle,
         [{"batteries": [s.PACK], "vin": VIN2, "responsible": s.VEHICLE_MAKER, "severity": "violation"}]),
    Case("not_raised_for_the_vehicles_own_pack", _found_where_recorded, []),
    Case("not_raised_after_a_reported_swap", _swapped_then_scrapped, []),
]


@pytest.mark.parametrize("case", CASES, ids=ids(CASES))
def test_r13(db_url: str, case: Case) -> None:
    run_case(db_url, "R13", case)


def test_r13_names_the_other_vehicle_its_maker_and_the_last_custodian(sqlite_url: str) -> None:
    [finding] = run_case(sqlite_url, "R13", CASES[0])
    d = finding["detail"]
    assert (d["recorded_vin"], d["recorded_vehicle_maker"], d["last_custodian"]) == (s.VIN, s.VEHICLE_MAKER,
                                                                                     s.BATTERY_MAKER)
    assert s.VIN in finding["message"]["en"] and s.VIN in finding["message"]["zh"]
