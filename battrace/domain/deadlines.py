"""Deadline arithmetic: calendar days, months and Chinese working days (rules R04 and R04b).

A deadline is a limit and a unit (``deadlines.csv``) counted from a trigger day (normally the day
the event occurred, in China time). The *due day* is the last day on which the act is on time; an
act is late when the day it happened (for a report: the day it was recorded) is after the due day.

- ``calendar_days``: the due day is ``start + limit`` days.
- ``months``: the same day ``limit`` months later, or the month's last day when it is shorter
  (31 January + 1 month = 28 or 29 February).
- ``working_days``: the ``limit``-th working day after the start (the start itself never counts).
  Working days follow the State Council's holiday schedule, read from the ``chinesecalendar``
  package (import name ``chinese_calendar``): weekends and public holidays are skipped, adjusted
  working weekends (调休, e.g. a Saturday worked to bridge the National Day week) count. For a day
  in a year the package does not know, Monday to Friday count as working days and the result is
  marked ``approximate``.

Everything here is pure: dates in, dates out; nothing reads the clock.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import lru_cache

import chinese_calendar

from battrace.clock import CHINA

UNITS = ("calendar_days", "working_days", "months")
_ONE_DAY = timedelta(days=1)


@dataclass(frozen=True, slots=True)
class Due:
    """The last day on which an act is on time."""

    day: date
    #: A working day outside the holiday calendar's known years was taken as Monday-Friday.
    approximate: bool = False


@dataclass(frozen=True, slots=True)
class Late:
    """An act after its due day."""

    due: date
    done: date
    approximate: bool

    @property
    def days_late(self) -> int:
        """Calendar days after the due day."""
        return (self.done - self.due).days


def china_date(moment: datetime) -> date:
    """The calendar day of an instant on China's clock (+08:00)."""
    return moment.astimezone(CHINA).date()


@lru_cache(maxsize=1)
def known_years() -> tuple[int, int]:
    """The first and last year whose holiday schedule the calendar package knows."""
    holidays = chinese_calendar.constants.holidays
    return min(holidays).year, max(holidays).year


def working_day(day: date) -> tuple[bool, bool]:
    """``(is a working day, the calendar knows the day's year)``.

    The same answer as ``chinese_calendar.is_workday`` (an adjusted working day, else Monday-Friday
    that is no public holiday), read from the package's tables directly: the package's own function
    re-validates the year range on every call, which dominated the cost of rule R04.
    """
    first, last = known_years()
    if first <= day.year <= last:
        return day in _WORKDAYS or (day.weekday() < 5 and day not in _HOLIDAYS), True
    return day.weekday() < 5, False


_WORKDAYS = frozenset(chinese_calendar.constants.workdays)
_HOLIDAYS = frozenset(chinese_calendar.constants.holidays)


def is_working_day(day: date) -> bool:
    return working_day(day)[0]


@lru_cache(maxsize=65536)
def add_working_days(start: date, n: int) -> Due:
    """The ``n``-th working day after ``start`` (``n >= 0``; ``n == 0`` gives ``start``)."""
    if n < 0:
        raise ValueError("n must be >= 0")
    day, approximate, left = start, False, n
    while left:
        day += _ONE_DAY
        works, known = working_day(day)
        approximate |= not known
        left -= works
    return Due(day, approximate)


def add_months(start: date, n: int) -> date:
    """The same day ``n`` months later, clamped to the end of a shorter month."""
    index = start.month - 1 + n
    year, month = start.year + index // 12, index % 12 + 1
    return date(year, month, min(start.day, calendar.monthrange(year, month)[1]))


def due_date(start: date, limit: int, unit: str) -> Due:
    """The due day of an act that must happen within ``limit`` ``unit`` of ``start``."""
    if limit < 0:
        raise ValueError("limit must be >= 0")
    if unit == "calendar_days":
        return Due(start + timedelta(days=limit))
    if unit == "months":
        return Due(add_months(start, limit))
    if unit == "working_days":
        return add_working_days(start, limit)
    raise ValueError(f"unknown deadline unit {unit!r} (one of {', '.join(UNITS)})")


def lateness(start: date, done: date, limit: int, unit: str) -> Late | None:
    """How late an act done on ``done`` is against a deadline from ``start``; None when on time."""
    if (done - start).days <= limit:  # every unit gives at least ``limit`` calendar days
        return None
    due = due_date(start, limit, unit)
    return Late(due.day, done, due.approximate) if done > due.day else None


def overdue_before(as_of: date, limit: int, unit: str) -> date:
    """The first start day that is *not* yet overdue on ``as_of``.

    An act pending since ``start`` is overdue on ``as_of`` when its due day lies before ``as_of``;
    since the due day never decreases as the start moves later, that holds exactly for the starts
    before the returned day. As-of queries compare a stored start time with this one bound instead
    of computing a due day per row.
    """
    if due_date(as_of, limit, unit).day < as_of:  # pragma: no cover - limits are >= 0
        raise ValueError("a deadline cannot end before it starts")
    span = timedelta(days=max(2 * limit + 31, 62) if unit != "months" else 31 * limit + 31)
    lo = as_of - span
    while due_date(lo, limit, unit).day >= as_of:
        lo -= span
    hi = as_of  # invariant: due(lo) < as_of <= due(hi)
    while (hi - lo).days > 1:
        mid = lo + timedelta(days=(hi - lo).days // 2)
        if due_date(mid, limit, unit).day < as_of:
            lo = mid
        else:
            hi = mid
    return hi


def working_days_between(start: date, end: date) -> tuple[int, bool]:
    """Working days in ``(start, end]`` and whether any was approximated (for messages)."""
    count, approximate, day = 0, False, start
    while day < end:
        day += _ONE_DAY
        works, known = working_day(day)
        count += works
        approximate |= not known
    return count, approximate
