"""Simulated time: integer seconds on China's clock (+08:00), formatted as RFC 3339.

Seconds are counted from 1970-01-01 00:00 *China time*, so a day boundary is a multiple of
:data:`DAY` and formatting needs no time-zone arithmetic. Nothing here reads the wall clock.
"""

from __future__ import annotations

from datetime import date

MINUTE = 60
HOUR = 3600
DAY = 86400
_ORD0 = date(1970, 1, 1).toordinal()
_DAY_TEXT: dict[int, str] = {}


def at(day: date, seconds: int = 0) -> int:
    """The instant ``seconds`` after midnight of ``day``."""
    return (day.toordinal() - _ORD0) * DAY + seconds


def day_of(t: int) -> date:
    return date.fromordinal(t // DAY + _ORD0)


def rfc3339(t: int) -> str:
    """``2024-05-06T09:30:00+08:00``."""
    d, s = divmod(t, DAY)
    text = _DAY_TEXT.get(d)
    if text is None:
        text = _DAY_TEXT[d] = date.fromordinal(d + _ORD0).isoformat()
    h, rest = divmod(s, HOUR)
    m, sec = divmod(rest, MINUTE)
    return f"{text}T{h:02d}:{m:02d}:{sec:02d}+08:00"


def days(n: float) -> int:
    return int(n * DAY)


def month_index(t: int) -> int:
    """A sortable month number (year * 12 + month - 1) of the instant."""
    d = day_of(t)
    return d.year * 12 + d.month - 1


def add_months(day: date, months: int) -> date:
    m = day.month - 1 + months
    y = day.year + m // 12
    m = m % 12 + 1
    return date(y, m, min(day.day, 28))
