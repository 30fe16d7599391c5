"""R04b: an expected follow-up missing past its deadline, evaluated as of a date."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests import story as s
from tests.rules.scenarios import Case, Events, Scenario, ids, run_case


def _handed_to_recycler(*, received: str | None = None) -> Callable[[Events], None]:
    """Handed over on Tue 2025-06-10: the recycler's receipt is due within 30 working days (2025-07-22)."""

    def build(e: Events) -> None:
        e.waste_at_repair_shop()
        e.hand_over([s.PACK], s.REPAIR_SHOP, s.RECYCLER, "2025-06-10")
        if received:
            e.receive([s.PACK], s.RECYCLER, s.REPAIR_SHOP, received)

    return build


def _scrapped(*, removed: str | None = None, handed_out: str | None = None) -> Callable[[Events], None]:
    """Scrapped on 2025-06-03 (removal due within 15 working days: 2025-06-24); removed on ``removed``."""

    def build(e: Events) -> None:
        e.in_service()
        e.scrap(s.VIN, [s.PACK], "2025-06-03")
        if removed:
            e.remove(s.PACK, s.VIN, removed)
        if handed_out:
            e.transfer([s.PACK], s.DISMANTLER, s.RECYCLER, handed_out)

    return build


def _model_without_techinfo(*, filed: str | None = None) -> Callable[[Events], None]:
    def build(e: Events) -> None:
        e.produce(s.PACK, "2024-03-05")
        e.produce(s.SPARE, "2024-04-01")
        if filed:
            e.techinfo("X1", "2024-01-10", filed)

    return build


def _cells_without_techinfo(e: Events) -> None:
    e.add("battery.produced", s.BATTERY_MAKER, "2024-03-05", battery=s.CELLS[0], **s.CELL)


CASES = [
    Case("raised_when_a_hand_over_is_unconfirmed_after_30_working_days", _handed_to_recycler(),
         [{"batteries": [s.PACK], "orgs": [s.REPAIR_SHOP, s.RECYCLER], "responsible": s.RECYCLER,
           "event_id": "x-005", "due_at": "2025-07-22T23:59:59+08:00", "severity": "warning", "state": "open"}],
         as_of="2025-07-23", kind="handover"),
    Case("not_raised_on_the_last_day_for_the_receipt", _handed_to_recycler(), [], as_of="2025-07-22", kind="handover"),
    Case("not_raised_when_the_receipt_came_late_but_came", _handed_to_recycler(received="2025-09-01"), [],
         as_of="2025-10-01", kind="handover"),
    Case("raised_when_a_scrapped_vehicles_pack_is_never_removed", _scrapped(),
         [{"batteries": [s.PACK], "vin": s.VIN, "responsible": s.DISMANTLER, "due_at": "2025-06-24T23:59:59+08:00"}],
         as_of="2025-06-25", kind="removal"),
    Case("not_raised_before_the_removal_is_due", _scrapped(), [], as_of="2025-06-24", kind="removal"),
    Case("raised_when_a_removed_pack_is_never_handed_over", _scrapped(removed="2025-06-04"),
         [{"batteries": [s.PACK], "vin": s.VIN, "responsible": s.DISMANTLER, "event_id": "x-004",
           "due_at": "2025-06-25T23:59:59+08:00"}], as_of="2025-06-26", kind="handout"),
    Case("not_raised_when_removed_and_handed_over", _scrapped(removed="2025-06-04", handed_out="2025-06-20"), [],
         as_of="2025-12-31"),
    Case("raised_when_techinfo_is_not_filed_6_months_after_the_first_production", _model_without_techinfo(),
         [{"batteries": [s.PACK], "orgs": [s.BATTERY_MAKER], "event_id": "x-000",
           "due_at": "2024-09-05T23:59:59+08:00"}], as_of="2024-09-06", kind="techinfo", file_techinfo=False,
         settings={"regime": "CN-2026"}),
    Case("not_raised_on_the_last_day_for_techinfo", _model_without_techinfo(), [], as_of="2024-09-05",
         kind="techinfo", file_techinfo=False,
         settings={"regime": "CN-2026"}),
    Case("not_raised_when_techinfo_is_filed", _model_without_techinfo(filed="2024-03-06"), [], as_of="2025-01-01",
         file_techinfo=False),
    Case("not_raised_for_cell_models", _cells_without_techinfo, [], as_of="2025-01-01", file_techinfo=False),
    # by date: a model produced before 2026-04-01 fell under CN-2018, which had no filing duty
    Case("not_raised_by_date_for_production_before_april_2026", _model_without_techinfo(), [], as_of="2024-09-06",
         kind="techinfo", file_techinfo=False),
]


@pytest.mark.parametrize("case", CASES, ids=ids(CASES))
def test_r04b(db_url: str, case: Case) -> None:
    run_case(db_url, "R04b", case)


def test_r04b_unconfirmed_hand_over_is_resolved_by_the_receipt(db_url: str) -> None:
    sc = Scenario(db_url)
    e = Events()
    _handed_to_recycler()(e)
    sc.ingest(e)
    assert sc.as_of("2025-08-01")["raised"].get("R04b") == 1
    receipt = Events(items=list(e.items))
    sc.ingest(receipt)  # the same events again: duplicates, nothing new
    got = Events(items=[])
    got.receive([s.PACK], s.RECYCLER, s.REPAIR_SHOP, "2025-08-05")["event_id"] = "receipt"
    sc.ingest(got)
    [finding] = sc.findings("R04b")
    assert finding["state"] == "resolved" and finding["resolved_event_id"] == "receipt"
    assert sc.as_of("2025-12-31")["raised"].get("R04b") is None
    sc.close()


def test_r04b_missing_techinfo_is_resolved_by_the_filing(db_url: str) -> None:
    sc = Scenario(db_url, file_techinfo=False, regime="CN-2026")
    e = Events()
    _model_without_techinfo()(e)
    sc.ingest(e)
    sc.as_of("2024-10-01")
    assert [f["state"] for f in sc.findings("R04b")] == ["open"]
    later = Events(items=[])
    later.techinfo("X1", "2024-01-10", "2024-10-02")["event_id"] = "filing"
    sc.ingest(later)
    [finding] = sc.findings("R04b")
    assert finding["state"] == "resolved" and finding["resolved_event_id"] == "filing"
    more = Events(items=[])
    more.produce(s.code("P", 9), "2024-11-01")["event_id"] = "another-x1"
    sc.ingest(more)  # the model is on file now: no new wait
    sc.as_of("2026-01-01")
    assert len(sc.findings("R04b")) == 1
    sc.close()


def test_r04b_removal_finding_resolved_by_the_removal_which_starts_the_hand_over_wait(db_url: str) -> None:
    sc = Scenario(db_url)
    e = Events()
    _scrapped()(e)
    sc.ingest(e)
    sc.as_of("2025-07-01")
    later = Events(items=[])
    later.remove(s.PACK, s.VIN, "2025-07-02")["event_id"] = "removal"
    sc.ingest(later)
    [removal] = sc.findings("R04b")
    assert removal["state"] == "resolved" and removal["resolved_event_id"] == "removal"
    sc.as_of("2025-08-01")
    handout = [f for f in sc.findings("R04b") if f["state"] == "open"]
    assert [f["event_id"] for f in handout] == ["removal"]
    sc.close()
