"""A finding: non-compliance as data (rules.md, "Red lines").

A finding carries the rule id, its severity, the batteries / VIN / organisations concerned, the
party responsible for putting it right, the event that raised it (if any), a due date where a
deadline applies, a message in Chinese and English, and a ``dedupe_key``: the same situation
always yields the same key, so re-running a rule never raises it twice.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Any

from battrace.clock import CHINA

VIOLATION = "violation"
WARNING = "warning"
NOTICE = "notice"
SEVERITIES = (VIOLATION, WARNING, NOTICE)
OPEN = "open"
RESOLVED = "resolved"
STATES = (OPEN, RESOLVED)


@dataclass(frozen=True, slots=True)
class Finding:
    rule: str
    severity: str
    dedupe_key: str
    batteries: tuple[str, ...]
    vin: str | None
    orgs: tuple[str, ...]
    responsible: str | None
    region: str | None
    event_seq: int | None
    event_id: str | None
    raised_at: datetime
    due_at: datetime | None
    message_zh: str
    message_en: str
    detail: dict[str, Any] = field(default_factory=dict)

    def subjects(self) -> set[tuple[str, str]]:
        """``(kind, value)`` pairs by which the finding is looked up: battery, vin, org."""
        out = {("battery", b) for b in self.batteries} | {("org", o) for o in self.orgs}
        if self.responsible:
            out.add(("org", self.responsible))
        if self.vin:
            out.add(("vin", self.vin))
        return out


@dataclass(frozen=True, slots=True)
class Resolution:
    """An open finding put right by a later event (or, for as-of rules, by an evaluation)."""

    dedupe_key: str
    seq: int | None
    event_id: str | None
    at: datetime


def end_of_day(day: date) -> datetime:
    """The last instant of ``day`` on China's clock (a due date as a timestamp)."""
    return datetime.combine(day, time(23, 59, 59), CHINA)


def start_of_day(day: date) -> datetime:
    return datetime.combine(day, time(0, 0), CHINA)


def province(region: str | None) -> str | None:
    """The province-level division code (GB/T 2260) of a region code: ``440305`` -> ``440000``."""
    return f"{region[:2]}0000" if region and len(region) == 6 else None


def unique(items: Any) -> tuple[str, ...]:
    """Distinct non-empty strings in order."""
    seen: dict[str, None] = {}
    for item in items:
        if item:
            seen.setdefault(item, None)
    return tuple(seen)
