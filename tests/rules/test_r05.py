"""R05: a lost trail — reported missing, or a waste battery idle past the limit (as of a date)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests import story as s
from tests.rules.scenarios import NEW_MODULE, Case, Events, Scenario, ids, run_case


def _waste(*then: Callable[[Events], object]) -> Callable[[Events], None]:
    """Waste at the repair shop since 2025-06-01 (idle limit 90 days: due 2025-08-30), then ``then``."""

    def build(e: Events) -> None:
        e.waste_at_repair_shop()
        for step in then:
            step(e)

    return build


def _module_removed_by_repair(e: Events) -> None:
    e.add("battery.produced", s.BATTERY_MAKER, "2024-03-05", battery=s.CELLS[0], **s.CELL)
    e.add("battery.produced", s.BATTERY_MAKER, "2024-03-05", battery=s.CELLS[1], **s.CELL)
    e.add("battery.produced", s.BATTERY_MAKER, "2024-03-05", battery=s.MODULES[0], components=s.CELLS[:2],
          **{**s.CELL, "model": "M1"})
    e.add("battery.produced", s.BATTERY_MAKER, "2024-03-05", battery=s.PACK, components=[s.MODULES[0]], **s.FIG)
    e.certify(s.VIN, [s.PACK])
    e.sell(s.VIN)
    e.add("battery.produced", s.BATTERY_MAKER, "2025-05-01", battery=NEW_MODULE, **{**s.CELL, "model": "M1"})
    e.repair(s.PACK, s.MODULES[0], NEW_MODULE, "2025-06-01")


def _new_pack_missing(e: Events) -> None:
    e.produce(s.PACK)
    e.missing(s.PACK, s.BATTERY_MAKER, "2024-05-01")


IDLE = {"batteries": [s.PACK], "severity": "violation", "event_id": None, "state": "open"}
CASES = [
    Case("raised_when_waste_is_idle_for_91_days", _waste(),
         [{**IDLE, "orgs": [s.REPAIR_SHOP, s.VEHICLE_MAKER], "responsible": s.VEHICLE_MAKER,
           "due_at": "2025-08-30T23:59:59+08:00"}], as_of="2025-08-31", kind="idle"),
    Case("not_raised_on_the_90th_day", _waste(), [], as_of="2025-08-30", kind="idle"),
    Case("not_raised_when_custody_progressed_within_90_days",
         _waste(lambda e: e.transfer([s.PACK], s.REPAIR_SHOP, s.OUTLET, "2025-08-01")), [], as_of="2025-10-30",
         kind="idle"),
    Case("raised_90_days_after_the_last_progress",
         _waste(lambda e: e.transfer([s.PACK], s.REPAIR_SHOP, s.OUTLET, "2025-08-01")),
         [{**IDLE, "orgs": [s.OUTLET, s.VEHICLE_MAKER], "due_at": "2025-10-30T23:59:59+08:00"}],
         as_of="2025-10-31", kind="idle"),
    Case("not_raised_by_a_test_which_is_no_custody_progress_either_way",
         _waste(lambda e: e.test(s.PACK, s.REPAIR_SHOP, "2025-08-20")), [{**IDLE}], as_of="2025-08-31",
         kind="idle"),
    Case("raised_when_a_hand_over_stays_in_transit", _waste(lambda e: e.hand_over([s.PACK], s.REPAIR_SHOP,
                                                                                  s.RECYCLER, "2025-07-01")),
         [{**IDLE, "orgs": [s.REPAIR_SHOP, s.VEHICLE_MAKER]}], as_of="2025-09-30", kind="idle"),
    Case("not_raised_once_recycled", _waste(
        lambda e: e.transfer([s.PACK], s.REPAIR_SHOP, s.RECYCLER, "2025-07-01"),
        lambda e: e.add("battery.recycled", s.RECYCLER, "2025-07-20", batteries=[s.PACK], process="hydro",
                        outputs={"li": 3.0})), [], as_of="2026-06-01"),
    Case("not_raised_once_re_made", _waste(
        lambda e: e.transfer([s.PACK], s.REPAIR_SHOP, s.REUSER, "2025-07-01"),
        lambda e: e.test(s.PACK, s.REUSER, "2025-07-02"),
        lambda e: e.remanufacture(s.PRODUCT, [s.PACK], "2025-07-20")), [], as_of="2026-06-01"),
    Case("raised_with_a_configured_limit_of_30_days", _waste(), [{**IDLE, "due_at": "2025-07-01T23:59:59+08:00"}],
         as_of="2025-07-02", settings={"idle_limit_days": 30}, kind="idle"),
    Case("raised_when_reported_missing", _waste(lambda e: e.missing(s.PACK, s.REPAIR_SHOP, "2025-06-15")),
         [{"batteries": [s.PACK], "vin": s.VIN, "event_id": "x-005", "responsible": s.VEHICLE_MAKER,
           "orgs": [s.REPAIR_SHOP, s.VEHICLE_MAKER], "state": "open"}], kind="event"),
    Case("names_the_battery_maker_for_a_pack_never_installed", _new_pack_missing,
         [{"batteries": [s.PACK], "responsible": s.BATTERY_MAKER, "orgs": [s.BATTERY_MAKER]}]),
    Case("names_the_battery_maker_for_a_module_out_of_a_repair", _module_removed_by_repair,
         [{"batteries": [s.MODULES[0]], "responsible": s.BATTERY_MAKER,
           "orgs": [s.REPAIR_SHOP, s.BATTERY_MAKER]}], as_of="2025-09-01"),
]


@pytest.mark.parametrize("case", CASES, ids=ids(CASES))
def test_r05(db_url: str, case: Case) -> None:
    run_case(db_url, "R05", case)


def test_r05_idle_finding_is_resolved_when_custody_progresses_and_a_new_wait_starts(db_url: str) -> None:
    sc = Scenario(db_url)
    e = Events()
    _waste()(e)
    sc.ingest(e)
    assert sc.as_of("2025-09-15")["raised"] == {"R05": 1, "R11": 1}  # R11: no outlet of the battery maker
    later = Events(items=[])
    later.hand_over([s.PACK], s.REPAIR_SHOP, s.OUTLET, "2025-09-20")["event_id"] = "finally"
    sc.ingest(later)
    [first] = sc.findings("R05")
    assert first["state"] == "resolved" and first["resolved_event_id"] == "finally"
    assert first["detail"]["idle_days"] == 106 and first["detail"]["takeback_party"] == s.VEHICLE_MAKER
    assert sc.as_of("2025-10-01")["raised"] == {}
    sc.as_of("2026-01-01")  # in transit since 2025-09-20 for 103 days: lost again (and R04b)
    open_ = sc.findings("R05", state="open")
    assert len(open_) == 1 and open_[0]["detail"]["since"] == "2025-09-20"
    sc.close()
