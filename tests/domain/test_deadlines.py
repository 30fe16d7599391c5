"""Deadline arithmetic: calendar days, months, Chinese working days (holidays and 调休)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from battrace.domain.deadlines import (
    UNITS,
    add_months,
    add_working_days,
    china_date,
    due_date,
    is_working_day,
    known_years,
    lateness,
    overdue_before,
    working_day,
    working_days_between,
)

days = st.dates(min_value=date(2004, 1, 1), max_value=date(2030, 12, 31))
limits = st.integers(min_value=0, max_value=60)
units = st.sampled_from(UNITS)


@pytest.mark.parametrize(("day", "working"), [
    (date(2025, 9, 28), True),  # Sunday worked before National Day
    (date(2025, 10, 1), False),
    (date(2025, 10, 8), False),
    (date(2025, 10, 11), True),  # Saturday worked after National Day
    (date(2025, 10, 4), False),  # an ordinary Saturday inside the holiday
    (date(2026, 2, 14), True),  # Saturday worked before the Spring Festival 2026
    (date(2026, 2, 16), False),
    (date(2024, 4, 7), True),  # Sunday worked after Qingming 2024
    (date(2024, 4, 4), False),
])
def test_working_day_follows_the_holiday_schedule(day: date, working: bool) -> None:
    assert is_working_day(day) is working
    assert working_day(day) == (working, True)


@pytest.mark.parametrize(("start", "n", "due"), [
    (date(2025, 9, 26), 5, date(2025, 10, 10)),  # Sun 28 Sep counts; 1-8 Oct skipped
    (date(2025, 9, 26), 6, date(2025, 10, 11)),  # the adjusted Saturday is the 6th working day
    (date(2025, 9, 26), 15, date(2025, 10, 23)),
    (date(2026, 2, 2), 15, date(2026, 2, 28)),  # two adjusted Saturdays around the Spring Festival
    (date(2024, 3, 20), 15, date(2024, 4, 11)),
    (date(2025, 6, 10), 30, date(2025, 7, 22)),
    (date(2025, 6, 10), 0, date(2025, 6, 10)),
])
def test_add_working_days_examples(start: date, n: int, due: date) -> None:
    assert add_working_days(start, n).day == due
    assert add_working_days(start, n).approximate is False


def test_a_year_outside_the_calendar_falls_back_to_monday_to_friday_and_says_so() -> None:
    first, last = known_years()
    assert first <= 2025 <= last
    after = date(last + 1, 1, 1)
    assert working_day(after) == (after.weekday() < 5, False)
    due = add_working_days(date(last, 12, 30), 3)
    assert due.approximate
    assert not add_working_days(date(2025, 9, 26), 15).approximate


@pytest.mark.parametrize(("start", "n", "due"), [
    (date(2024, 1, 31), 1, date(2024, 2, 29)),
    (date(2023, 1, 31), 1, date(2023, 2, 28)),
    (date(2024, 8, 31), 6, date(2025, 2, 28)),
    (date(2024, 1, 10), 6, date(2024, 7, 10)),
    (date(2024, 11, 15), 14, date(2026, 1, 15)),
])
def test_add_months_clamps_to_the_end_of_a_shorter_month(start: date, n: int, due: date) -> None:
    assert add_months(start, n) == due


def test_china_date_uses_the_china_clock() -> None:
    assert china_date(datetime(2025, 9, 30, 16, 30, tzinfo=UTC)) == date(2025, 10, 1)
    assert china_date(datetime(2025, 9, 30, 15, 59, tzinfo=UTC)) == date(2025, 9, 30)


def test_lateness_counts_calendar_days_after_the_due_day() -> None:
    late = lateness(date(2025, 9, 26), date(2025, 10, 27), 15, "working_days")
    assert late is not None and late.due == date(2025, 10, 23) and late.days_late == 4
    assert lateness(date(2025, 9, 26), date(2025, 10, 23), 15, "working_days") is None


def test_unknown_unit_and_negative_limits_are_refused() -> None:
    with pytest.raises(ValueError):
        due_date(date(2025, 1, 1), 3, "weeks")
    with pytest.raises(ValueError):
        add_working_days(date(2025, 1, 1), -1)


@given(days, st.integers(min_value=1, max_value=60))
def test_the_nth_working_day_is_a_working_day_with_n_working_days_before_it(start: date, n: int) -> None:
    due = add_working_days(start, n)
    assert is_working_day(due.day)
    assert working_days_between(start, due.day)[0] == n
    assert working_days_between(start, due.day - timedelta(days=1))[0] == n - 1


@given(days, days, limits, units)
def test_due_dates_never_move_back_when_the_start_moves_forward(a: date, b: date, n: int, unit: str) -> None:
    lo, hi = sorted((a, b))
    assert due_date(lo, n, unit).day <= due_date(hi, n, unit).day


@given(days, limits, units)
def test_due_date_is_not_before_the_start(start: date, n: int, unit: str) -> None:
    due = due_date(start, n, unit).day
    assert due >= start
    if unit == "calendar_days":
        assert (due - start).days == n
    if unit == "working_days":
        assert (due - start).days >= n


@given(st.dates(min_value=date(2005, 1, 1), max_value=date(2030, 12, 31)), limits, units)
def test_overdue_before_splits_starts_into_overdue_and_not_yet(as_of: date, n: int, unit: str) -> None:
    bound = overdue_before(as_of, n, unit)
    assert due_date(bound, n, unit).day >= as_of
    assert due_date(bound - timedelta(days=1), n, unit).day < as_of


@given(days, days, limits, units)
def test_lateness_is_none_exactly_when_done_by_the_due_day(start: date, done: date, n: int, unit: str) -> None:
    late = lateness(start, done, n, unit)
    assert (late is None) == (done <= due_date(start, n, unit).day)
    if late is not None:
        assert late.days_late >= 1


def test_working_day_agrees_with_the_calendar_package_on_every_known_day() -> None:
    import chinese_calendar

    first, last = known_years()
    day = date(first, 1, 1)
    while day.year <= last:
        assert working_day(day) == (chinese_calendar.is_workday(day), True), day
        day += timedelta(days=1)
