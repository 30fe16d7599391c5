"""The one place that reads the wall clock. Everything else takes time as an argument."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

CHINA = timezone(timedelta(hours=8), "CST")


def now() -> datetime:
    """The current time, timezone-aware (UTC)."""
    return datetime.now(UTC)


def today_in_china() -> datetime:
    return now().astimezone(CHINA)
