"""R01 车电一体报废: a vehicle scrapped without its bound pack."""

from __future__ import annotations

import pytest

from tests import story as s
from tests.rules.scenarios import PACK2, VIN2, Case, Events, Scenario, ids, run_case


def _scrapped_without_pack(e: Events) -> None:
    e.in_service()
    e.scrap(s.VIN, [], "2026-05-01")


def _two_packs_one_missing(e: Events) -> None:
    e.produce(s.PACK)
    e.produce(PACK2)
    e.certify(s.VIN, [s.PACK, PACK2])
    e.sell(s.VIN)
    e.scrap(s.VIN, [PACK2], "2026-05-01")


def _scrapped_with_pack(e: Events) -> None:
    e.in_service()
    e.scrap(s.VIN, [s.PACK], "2026-05-01")


def _swap_model(e: Events) -> None:
    e.in_service(swap_model=True)
    e.scrap(s.VIN, [], "2026-05-01")


def _left_by_replacement(e: Events) -> None:
    e.in_service()
    e.replace(s.VIN, s.PACK, "2025-06-01")  # reported, nothing installed
    e.scrap(s.VIN, [], "2026-05-01")


def _replaced_then_scrapped_with_new_pack(e: Events) -> None:
    e.waste_at_repair_shop()
    e.scrap(s.VIN, [s.SPARE], "2026-05-01")


def _left_by_swap(e: Events) -> None:
    e.in_service(swap_model=True)
    e.produce(PACK2)
    e.swap(s.VIN, s.PACK, PACK2, "2025-01-10")
    e.scrap(s.VIN, [PACK2], "2026-05-01")


def _other_vehicle_scrapped_without_pack(e: Events) -> None:
    e.in_service()
    e.in_service(PACK2, VIN2)
    e.scrap(VIN2, [], "2026-05-01")


CASES = [
    Case("raised_when_scrapped_without_its_pack", _scrapped_without_pack,
         [{"batteries": [s.PACK], "vin": s.VIN, "severity": "violation", "responsible": s.VEHICLE_MAKER,
           "orgs": [s.DISMANTLER, s.VEHICLE_MAKER], "state": "open"}]),
    Case("raised_for_the_missing_one_of_two_packs", _two_packs_one_missing, [{"batteries": [s.PACK], "vin": s.VIN}]),
    Case("raised_only_for_the_vehicle_concerned", _other_vehicle_scrapped_without_pack,
         [{"batteries": [PACK2], "vin": VIN2}]),
    Case("not_raised_when_the_pack_is_present", _scrapped_with_pack, []),
    Case("not_raised_for_a_swap_model_vehicle", _swap_model, []),
    Case("not_raised_when_the_pack_left_by_a_reported_replacement", _left_by_replacement, []),
    Case("not_raised_when_the_replacement_pack_is_present", _replaced_then_scrapped_with_new_pack, []),
    Case("not_raised_when_the_pack_left_by_a_reported_swap", _left_by_swap, []),
]


@pytest.mark.parametrize("case", CASES, ids=ids(CASES))
def test_r01(db_url: str, case: Case) -> None:
    run_case(db_url, "R01", case)


def test_r01_resolved_when_the_dismantler_later_removes_the_pack(db_url: str) -> None:
    sc = Scenario(db_url)
    e = Events()
    _scrapped_without_pack(e)
    sc.ingest(e)
    assert [f["state"] for f in sc.findings("R01")] == ["open"]
    later = Events(items=[])
    removal = later.remove(s.PACK, s.VIN, "2026-05-03")
    removal["event_id"] = "late-removal"
    sc.ingest(later)
    [finding] = sc.findings("R01")
    assert finding["state"] == "resolved" and finding["resolved_event_id"] == "late-removal"
    assert finding["resolved_seq"] > finding["event_seq"]
    sc.close()
