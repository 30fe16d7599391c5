"""R03: a re-made product made for, or delivered to, a prohibited application (e-bike)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests import story as s
from tests.rules.scenarios import Case, Events, ids, run_case


def _remade(made_for: str, delivered_for: str | None) -> Callable[[Events], None]:
    def build(e: Events) -> None:
        e.waste_at_repair_shop()
        e.transfer([s.PACK], s.REPAIR_SHOP, s.REUSER, "2025-06-10")
        e.test(s.PACK, s.REUSER, "2025-06-20")
        e.remanufacture(s.PRODUCT, [s.PACK], "2026-03-01", application=made_for)
        if delivered_for:
            e.deliver(s.PRODUCT, "2026-03-10", application=delivered_for)

    return build


CASES = [
    Case("raised_when_made_for_e_bikes", _remade("e_bike", None),
         [{"batteries": [s.PRODUCT], "responsible": s.REUSER, "event_id": "x-008", "severity": "violation"}]),
    Case("raised_when_delivered_to_e_bikes", _remade("energy_storage", "e_bike"),
         [{"batteries": [s.PRODUCT], "event_id": "x-009"}]),
    Case("raised_once_when_made_for_and_delivered_to_e_bikes", _remade("e_bike", "e_bike"),
         [{"batteries": [s.PRODUCT], "event_id": "x-008"}]),
    Case("not_raised_for_energy_storage", _remade("energy_storage", "energy_storage"), []),
    Case("not_raised_for_low_speed_vehicles", _remade("low_speed_vehicle", "low_speed_vehicle"), []),
]


@pytest.mark.parametrize("case", CASES, ids=ids(CASES))
def test_r03(db_url: str, case: Case) -> None:
    run_case(db_url, "R03", case)
