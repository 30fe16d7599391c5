"""R10: a swap or replacement whose removed pack is not the pack bound to that VIN."""

from __future__ import annotations

import pytest

from tests import story as s
from tests.rules.scenarios import PACK2, PACK3, VIN2, Case, Events, ids, run_case


def _replaced_other_vehicles_pack(e: Events) -> None:
    e.in_service()
    e.in_service(PACK2, VIN2)
    e.replace(s.VIN, PACK2, "2025-06-01")


def _replaced_own_pack(e: Events) -> None:
    e.in_service()
    e.replace(s.VIN, s.PACK, "2025-06-01")


def _swapped_own_pack(e: Events) -> None:
    e.in_service(swap_model=True)
    e.produce(PACK3)
    e.swap(s.VIN, s.PACK, PACK3, "2025-06-01")


def _swapped_other_vehicles_pack(e: Events) -> None:
    e.in_service(swap_model=True)
    e.in_service(PACK2, VIN2, swap_model=True)
    e.produce(PACK3)
    e.swap(s.VIN, PACK2, PACK3, "2025-06-01")


CASES = [
    Case("raised_when_the_replaced_pack_is_bound_to_another_vehicle", _replaced_other_vehicles_pack,
         [{"batteries": [PACK2], "vin": s.VIN, "responsible": s.REPAIR_SHOP, "severity": "warning",
           "orgs": [s.REPAIR_SHOP, s.VEHICLE_MAKER]}]),
    Case("raised_when_the_swapped_pack_is_bound_to_another_vehicle", _swapped_other_vehicles_pack,
         [{"batteries": [PACK2], "vin": s.VIN, "responsible": s.SWAPPER}]),
    Case("not_raised_for_the_vehicles_own_pack_replaced", _replaced_own_pack, []),
    Case("not_raised_for_the_vehicles_own_pack_swapped", _swapped_own_pack, []),
]


@pytest.mark.parametrize("case", CASES, ids=ids(CASES))
def test_r10(db_url: str, case: Case) -> None:
    found = run_case(db_url, "R10", case)
    for f in found:
        assert f["detail"]["bound_vin"] == VIN2
