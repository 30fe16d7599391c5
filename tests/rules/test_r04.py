"""R04: an event reported after its deadline (calendar days, months, Chinese working days)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import pytest

from tests import story as s
from tests.rules.scenarios import PACK2, VIN2, Case, Events, Scenario, ids, run_case


def _certified(recorded: str) -> Callable[[Events], None]:
    def build(e: Events) -> None:
        e.produce(s.PACK)
        e.certify(s.VIN, [s.PACK], "2024-03-20", recorded=recorded)

    return build


def _certified_on(day: str, recorded: str) -> Callable[[Events], None]:
    def build(e: Events) -> None:
        e.produce(s.PACK, "2026-04-20")
        e.certify(s.VIN, [s.PACK], day, recorded=recorded)

    return build


def _removed_before_national_day(recorded: str) -> Callable[[Events], None]:
    """Removed on Friday 2025-09-26: 15 working days run over the National Day week (1-8 Oct) and count the
    adjusted working Sunday 28 Sep and Saturday 11 Oct, so the report is due on 2025-10-23."""

    def build(e: Events) -> None:
        e.in_service()
        e.scrap(s.VIN, [s.PACK], "2025-09-25")
        e.remove(s.PACK, s.VIN, "2025-09-26", recorded=recorded)

    return build


def _techinfo(ccc: str, recorded: str) -> Callable[[Events], None]:
    def build(e: Events) -> None:
        e.techinfo("X1", ccc, "2024-01-20", recorded=recorded)

    return build


def _late_hand_over_by_repair_shop(e: Events) -> None:
    e.waste_at_repair_shop()
    e.hand_over([s.PACK], s.REPAIR_SHOP, s.OUTLET, "2025-06-10", recorded="2026-06-10")


LATE = {"severity": "warning", "state": "open"}
CASES = [
    Case("raised_when_certified_21_calendar_days_before_the_report", _certified("2024-04-10"),
         [{**LATE, "batteries": [s.PACK], "vin": s.VIN, "responsible": s.VEHICLE_MAKER,
           "due_at": "2024-04-09T23:59:59+08:00"}]),
    Case("not_raised_on_the_20th_calendar_day", _certified("2024-04-09"), []),
    Case("raised_the_day_after_15_working_days_across_national_day", _removed_before_national_day("2025-10-24"),
         [{**LATE, "batteries": [s.PACK], "vin": s.VIN, "responsible": s.DISMANTLER,
           "due_at": "2025-10-23T23:59:59+08:00"}]),
    Case("not_raised_on_the_15th_working_day_counting_the_adjusted_saturday",
         _removed_before_national_day("2025-10-23"), []),
    Case("not_raised_when_monday_to_friday_counting_would_call_it_late", _removed_before_national_day("2025-10-20"),
         []),
    Case("raised_when_techinfo_is_filed_6_months_and_a_day_after_ccc", _techinfo("2024-01-10", "2024-07-11"),
         [{**LATE, "batteries": [], "responsible": s.BATTERY_MAKER, "due_at": "2024-07-10T23:59:59+08:00"}]),
    Case("not_raised_when_techinfo_is_filed_6_months_after_ccc", _techinfo("2024-01-10", "2024-07-10"), []),
    Case("raised_after_the_end_of_a_shorter_month", _techinfo("2024-08-31", "2025-03-01"),
         [{"due_at": "2025-02-28T23:59:59+08:00"}]),
    Case("not_raised_on_the_last_day_of_a_shorter_month", _techinfo("2024-08-31", "2025-02-28"), []),
    Case("not_raised_for_an_event_without_a_deadline", _late_hand_over_by_repair_shop, []),
    # CN-2018: 15 working days from Wed 2024-03-20 skip Qingming (4-6 Apr) and count Sunday 7 Apr: due 11 Apr
    Case("not_raised_under_cn_2018_within_15_working_days", _certified("2024-04-11"), [],
         settings={"regime": "CN-2018"}),
    Case("raised_under_cn_2026_for_the_same_report", _certified("2024-04-11"), [{"batteries": [s.PACK]}]),
    Case("raised_under_cn_2018_after_15_working_days", _certified("2024-04-12"),
         [{"due_at": "2024-04-11T23:59:59+08:00"}], settings={"regime": "CN-2018"}),
]
# These cases were written for the 2026 Measures' figures; their dates (2024-2025) lie before
# 2026-04-01, so the regime is forced for them (BATTRACE_REGIME) except where a case names one.
CASES = [c if c.settings else Case(c.name, c.build, c.expect, c.as_of, {"regime": "CN-2026"}, c.kind,
                                   c.file_techinfo) for c in CASES]
# By date (no forced regime): the regime in force when the duty arose decides.
CASES += [
    Case("by_date_cn_2018_before_april_2026_within_15_working_days", _certified("2024-04-11"), []),
    Case("by_date_cn_2018_before_april_2026_after_15_working_days", _certified("2024-04-12"),
         [{"due_at": "2024-04-11T23:59:59+08:00"}]),
    Case("by_date_cn_2026_from_april_2026_21_calendar_days", _certified_on("2026-05-06", "2026-05-27"),
         [{"due_at": "2026-05-26T23:59:59+08:00"}]),
    Case("by_date_cn_2026_from_april_2026_20_calendar_days", _certified_on("2026-05-06", "2026-05-26"), []),
    Case("by_date_no_techinfo_deadline_for_a_ccc_before_april_2026", _techinfo("2024-01-10", "2024-07-11"), []),
]


@pytest.mark.parametrize("case", CASES, ids=ids(CASES))
def test_r04(db_url: str, case: Case) -> None:
    run_case(db_url, "R04", case)


def test_r04_detail_and_messages_name_the_deadline(sqlite_url: str) -> None:
    [finding] = run_case(sqlite_url, "R04", CASES[2])
    d = finding["detail"]
    assert (d["limit"], d["unit"], d["start"], d["due"], d["days_late"]) == (15, "working_days", "2025-09-26",
                                                                              "2025-10-23", 1)
    assert d["approximate"] is False
    assert "15 working days" in finding["message"]["en"] and "15个工作日" in finding["message"]["zh"]


def test_r04_measures_a_live_report_by_the_platform_clock(sqlite_url: str) -> None:
    sc = Scenario(sqlite_url)
    e = Events()
    e.produce(s.PACK)
    e.certify(s.VIN, [s.PACK], "2026-10-20")
    e.produce(PACK2)
    late = e.certify(VIN2, [PACK2], "2026-10-20")
    sc.now = datetime(2026, 11, 9, 3, 0, tzinfo=UTC)  # 11:00 in China, 20 days after: on time
    sc.platform.ledger.ingest(list(enumerate(e.items[:2], 1)))
    assert sc.findings("R04") == []
    sc.now = datetime(2026, 11, 9, 16, 30, tzinfo=UTC)  # 00:30 on 10 Nov in China: a day late
    sc.platform.ledger.ingest(list(enumerate(e.items[2:], 1)))
    [finding] = sc.findings("R04")
    assert finding["event_id"] == late["event_id"] and finding["detail"]["recorded"] == "2026-11-10"
    sc.close()


def test_r04_falls_back_to_monday_to_friday_beyond_the_calendar_and_says_so(sqlite_url: str) -> None:
    sc = Scenario(sqlite_url, regime="CN-2018")
    sc.now = datetime(2027, 3, 1, tzinfo=UTC)
    e = Events()
    e.produce(s.PACK, "2026-12-01")
    e.certify(s.VIN, [s.PACK], "2026-12-15", recorded="2027-01-20")
    sc.ingest(e)
    [finding] = sc.findings("R04")
    # 16-31 Dec 2026: 12 working days; 1 Jan 2027 (unknown year) counts as a Friday: due Tue 5 Jan 2027
    assert finding["detail"]["approximate"] is True
    assert finding["due_at"] == "2027-01-05T23:59:59+08:00"
    assert "Monday-Friday" in finding["message"]["en"] and "周一至周五" in finding["message"]["zh"]
    sc.close()
