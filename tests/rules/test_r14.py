"""R14: a re-made product below the grading policy for its application, or uncertified where required."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests import story as s
from tests.rules.scenarios import Case, Events, ids, run_case


def _remade(soh: float, application: str = "energy_storage", **kw: object) -> Callable[[Events], None]:
    def build(e: Events) -> None:
        e.waste_at_repair_shop()
        e.transfer([s.PACK], s.REPAIR_SHOP, s.REUSER, "2025-07-01")
        e.test(s.PACK, s.REUSER, "2025-07-05", soh=soh)
        e.remanufacture(s.PRODUCT, [s.PACK], "2025-08-01", application=application, **kw)

    return build


CASES = [
    Case("raised_below_the_storage_floor", _remade(0.78),
         [{"batteries": [s.PRODUCT, s.PACK], "responsible": s.REUSER, "severity": "warning"}]),
    Case("not_raised_at_the_storage_floor", _remade(0.80), []),
    Case("not_raised_for_backup_power_at_72_percent", _remade(0.72, "backup_power"), []),
    Case("raised_for_backup_power_at_65_percent", _remade(0.65, "backup_power"), [{"batteries": [s.PRODUCT, s.PACK]}]),
    Case("raised_for_storage_without_a_certification", _remade(0.9, certification=None),
         [{"batteries": [s.PRODUCT]}]),
    Case("not_raised_for_backup_power_without_a_certification", _remade(0.9, "backup_power", certification=None), []),
]


@pytest.mark.parametrize("case", CASES, ids=ids(CASES))
def test_r14(db_url: str, case: Case) -> None:
    run_case(db_url, "R14", case)


def test_r14_says_why(sqlite_url: str) -> None:
    [finding] = run_case(sqlite_url, "R14", CASES[0])
    assert finding["detail"]["floor"] == 0.8 and finding["detail"]["low_sources"] == {s.PACK: 0.78}
    assert "80%" in finding["message"]["en"] and "80%" in finding["message"]["zh"]
