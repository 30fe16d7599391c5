"""Injected violations: when to break a rule, and the findings a compliance engine should raise.

Every opportunity to break a rule draws one number from the story's RNG (whether or not the rule
is broken), so the counts of opportunities and injections give the realised rate of each rule.
Each injection is recorded as an expected finding ``{rule, batteries, vin, orgs, event_id,
detail}``; ``event_id`` is the event that raises it, or ``None`` where no event does (a trail left
idle). Late reports (R04) are made unambiguously late: later than the most generous reading of the
deadline of the regime in force when the duty arose (CN-2018 before 2026-04-01, CN-2026 from
then; working days as calendar days x 7/5, plus ten days of public holidays), by a further 5-25 days.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from battrace.domain.rules.config import builtin_deadlines, regime_on
from battrace.services.simulate.params import RULES, SimulationParams
from battrace.services.simulate.timeline import DAY

#: Idle time after which a waste battery's trail counts as lost (rules.md R05 default).
LOST_AFTER_DAYS = 90


@dataclass(frozen=True, slots=True)
class Deadline:
    limit: int
    unit: str  # working_days, calendar_days, months
    trigger: str

    def generous_days(self) -> float:
        """The longest the limit can be under any reading, in calendar days."""
        if self.unit == "months":
            return self.limit * 31 + 10
        if self.unit == "working_days":
            return self.limit * 7 / 5 + 10
        return self.limit + 10

    def strict_days(self) -> float:
        """The shortest reading, in calendar days (a normal report must beat this)."""
        return self.limit * 28 if self.unit == "months" else self.limit


def deadlines() -> dict[str, dict[tuple[str, str], Deadline]]:
    """``{regime: {(reporter_type, event_type): Deadline}}``: the platform's own table, so that the
    ground truth follows the regime in force when each duty arose (as the engine does)."""
    return {regime: {key: Deadline(d.limit, d.unit, d.trigger) for key, d in table.items()}
            for regime, table in builtin_deadlines().items()}


@dataclass(slots=True)
class Finding:
    rule: str
    batteries: list[str]
    vin: str | None
    orgs: list[str]
    event_id: str | None
    detail: str

    def as_dict(self) -> dict[str, Any]:
        return {"rule": self.rule, "batteries": self.batteries, "vin": self.vin, "orgs": self.orgs,
                "event_id": self.event_id, "detail": self.detail}


@dataclass
class Injector:
    """Decides violations and keeps the expected findings, in generation order."""

    params: SimulationParams
    findings: list[Finding] = field(default_factory=list)
    opportunities: dict[str, int] = field(default_factory=lambda: dict.fromkeys(RULES, 0))
    injected: dict[str, int] = field(default_factory=lambda: dict.fromkeys(RULES, 0))
    deadlines: dict[str, dict[tuple[str, str], Deadline]] = field(default_factory=deadlines)

    def roll(self, rule: str, rng: random.Random, scale: float = 1.0) -> bool:
        """One opportunity to break ``rule``: True when it is broken (the caller must then add it).

        ``scale`` lowers the chance where one decision breaks the rule more than once (R10 pairs).
        """
        self.opportunities[rule] += 1
        return rng.random() < self.params.rate(rule) * scale

    def deadline(self, reporter_type: str, event_type: str, day: date) -> Deadline | None:
        """The deadline of a duty that arose on ``day`` (the regime in force then)."""
        return self.deadlines[regime_on(day)].get((reporter_type, event_type))

    def late_delay(self, reporter_type: str, event_type: str, rng: random.Random,
                   day: date) -> tuple[bool, int | None]:
        """Whether the event has a deadline (an R04 opportunity) under the regime in force on ``day``,
        and the late delay in seconds if it is to be reported late this time."""
        deadline = self.deadline(reporter_type, event_type, day)
        if deadline is None or deadline.trigger != "occurred_at":
            return False, None
        if not self.roll("R04", rng):
            return True, None
        return True, int((deadline.generous_days() + rng.uniform(5, 25)) * DAY)

    def add(self, rule: str, batteries: list[str], vin: str | None, orgs: list[str], event_id: str | None,
            detail: str, *, counted: bool = True) -> None:
        """Record an expected finding; ``counted=False`` for one implied by another injection."""
        if counted:
            self.injected[rule] += 1
        self.findings.append(Finding(rule, batteries, vin, orgs, event_id, detail))

    def uncount(self, rule: str) -> None:
        """An opportunity that turned out not to exist (the event was never reported)."""
        self.opportunities[rule] -= 1

    def rates(self) -> dict[str, dict[str, Any]]:
        out = {}
        for rule, (_, meaning) in RULES.items():
            n, k = self.opportunities[rule], self.injected[rule]
            out[rule] = {"configured": self.params.rate(rule), "opportunities": n, "injected": k,
                         "realised": round(k / n, 4) if n else None, "share_of": meaning}
        return out
