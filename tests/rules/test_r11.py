"""R11: a maker's collection outlets do not cover a province where its vehicles were sold."""

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


CASES = [
    Case("raised_when_sold_in_a_province_without_an_outlet", _sold_in("110105"),
         [{"orgs": [s.VEHICLE_MAKER], "responsible": s.VEHICLE_MAKER, "region": "110000", "severity": "notice",
           "event_id": "x-002", "batteries": []}], as_of="2026-01-01"),
    Case("raised_once_per_province", _sold_twice_in_beijing, [{"region": "110000"}], as_of="2026-01-01"),
    Case("raised_for_a_maker_without_any_outlet", _sold_in("310104", maker=OTHER_VEHICLE_MAKER),
         [{"responsible": OTHER_VEHICLE_MAKER, "region": "310000"}], as_of="2026-01-01"),
    Case("not_raised_where_an_outlet_operates_for_the_maker", _sold_in("440305"), [], as_of="2026-01-01"),
    Case("not_raised_before_an_as_of_evaluation", _sold_in("110105"), []),
]


@pytest.mark.parametrize("case", CASES, ids=ids(CASES))
def test_r11(db_url: str, case: Case) -> None:
    found = run_case(db_url, "R11", case)
    if case.name == "raised_once_per_province":
        assert found[0]["detail"]["vehicles_sold"] == 2


def test_r11_resolved_when_an_outlet_is_registered(db_url: str) -> None:
    sc = Scenario(db_url)
    e = Events()
    _sold_in("110105")(e)
    sc.ingest(e)
    assert sc.as_of("2026-01-01")["raised"] == {"R11": 1}
    assert sc.as_of("2026-01-02")["raised"] == {}  # still uncovered: no second notice
    import_orgs(sc.platform.store, [BJ_OUTLET_ORG], NOW)
    assert sc.as_of("2026-02-01")["resolved"] == {"R11": 1}
    [finding] = sc.findings("R11")
    assert finding["state"] == "resolved" and finding["resolved_at"].startswith("2026-02-01")
    sc.close()
