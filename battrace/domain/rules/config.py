"""The compliance engine's parameters: everything the law leaves unsettled is configuration.

:class:`RulesConfig` holds the regime (by default the one in force when each duty arose: ``CN-2018``
before 2026-04-01, ``CN-2026`` from then on; a forced one with ``BATTRACE_REGIME``), its reporting
deadlines (``battrace/domain/data/deadlines.csv``, see ``deadlines.md`` there for the source), the
idle limit of rule R05, who may take waste batteries and with which qualifications (R02), the
prohibited applications of re-made products (R03) and the follow-up limits of R04b.
"""

from __future__ import annotations

import csv
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date
from functools import lru_cache
from importlib import resources
from typing import Any

from battrace.domain.deadlines import UNITS
from battrace.domain.grading import DEFAULT_POLICY, GradingPolicy

REGIMES = ("CN-2026", "CN-2018")


@dataclass(frozen=True, slots=True)
class Deadline:
    """One row of ``deadlines.csv``."""

    regime: str
    reporter_type: str
    event_type: str
    limit: int
    unit: str
    trigger: str  # occurred_at, or the event field the deadline runs from (ccc_certified_at)
    status: str  # C: read in a source; U: uncertain
    note: str

    @property
    def text_en(self) -> str:
        return f"{self.limit} {self.unit.replace('_', ' ')}"

    @property
    def text_zh(self) -> str:
        unit = {"working_days": "个工作日", "calendar_days": "日", "months": "个月"}[self.unit]
        return f"{self.limit}{unit}"


def parse_deadlines(text: str) -> dict[str, dict[tuple[str, str], Deadline]]:
    """``{regime: {(reporter_type, event_type): Deadline}}`` from the CSV text."""
    out: dict[str, dict[tuple[str, str], Deadline]] = {}
    for row in csv.DictReader(text.splitlines()):
        if row["unit"] not in UNITS:
            raise ValueError(f"deadlines.csv: unknown unit {row['unit']!r}")
        d = Deadline(row["regime"], row["reporter_type"], row["event_type"], int(row["deadline"]), row["unit"],
                     row["trigger"], row["status"], row["note"])
        out.setdefault(d.regime, {})[(d.reporter_type, d.event_type)] = d
    return out


@lru_cache(maxsize=1)
def builtin_deadlines() -> dict[str, dict[tuple[str, str], Deadline]]:
    text = resources.files("battrace.domain.data").joinpath("deadlines.csv").read_text(encoding="utf-8")
    return parse_deadlines(text)


def _deadlines_for(regime: str) -> Mapping[tuple[str, str], Deadline]:
    table = builtin_deadlines()
    if regime not in table:
        raise ValueError(f"unknown regime {regime!r} (one of {', '.join(sorted(table))})")
    return table[regime]


#: The 2026 Measures apply to duties that arise from this day on; earlier ones fall under the 2018 provisions.
REGIME_CHANGE = date(2026, 4, 1)


def regime_on(day: date) -> str:
    """The regime in force on ``day`` (China's calendar): ``CN-2018`` before 2026-04-01, ``CN-2026`` from then."""
    return "CN-2018" if day < REGIME_CHANGE else "CN-2026"


@dataclass(frozen=True)
class RulesConfig:
    #: ``None`` (the default): the regime in force when each duty arose (:func:`regime_on`); a regime
    #: name forces that one for every date (``BATTRACE_REGIME``).
    regime: str | None = None
    #: ``(reporter_type, event_type) -> Deadline``, used whatever the date; defaults to the forced
    #: regime's rows of deadlines.csv (empty with no forced regime: each date's regime decides).
    deadlines: Mapping[tuple[str, str], Deadline] = field(default_factory=dict)
    #: R05: days without custody progress after which a waste battery's trail counts as lost.
    idle_limit_days: int = 90
    #: R02: organisation types that may take waste batteries.
    allowed_recipients: tuple[str, ...] = ("collection_outlet", "reuse_enterprise", "recycler")
    #: R02: the utilisation companies among them, which need qualifications valid on the hand-over day.
    qualified_recipients: tuple[str, ...] = ("reuse_enterprise", "recycler")
    required_qualifications: tuple[str, ...] = ("investment_filing", "eia_approval", "discharge_permit")
    #: R02: also require ``hazardous_waste_license`` (local practice differs: a setting).
    require_hazardous_waste_license: bool = False
    #: R03: applications a re-made product may not serve.
    prohibited_applications: tuple[str, ...] = ("e_bike",)
    #: R04b: limit of a follow-up the deadlines table has no row for (e.g. a receipt by a repair shop).
    follow_up_default: tuple[int, str] = (30, "working_days")
    #: R14: the grading policy re-made products are held to (the health module's default).
    grading_policy: GradingPolicy = DEFAULT_POLICY
    #: Rule ids to run (None: all).
    enabled: frozenset[str] | None = None

    def __post_init__(self) -> None:
        if not self.deadlines and self.regime is not None:
            object.__setattr__(self, "deadlines", _deadlines_for(self.regime))
        if self.idle_limit_days < 1:
            raise ValueError("idle_limit_days must be >= 1")
        if self.follow_up_default[1] not in UNITS:
            raise ValueError(f"follow_up_default unit must be one of {', '.join(UNITS)}")

    @classmethod
    def from_settings(cls, settings: Any) -> RulesConfig:
        """From :class:`battrace.config.Settings` (regime, idle limit, hazardous-waste licence)."""
        return cls(
            regime=settings.regime,
            idle_limit_days=settings.idle_limit_days,
            require_hazardous_waste_license=settings.require_hazardous_waste_license,
        )

    def with_(self, **changes: Any) -> RulesConfig:
        if "regime" in changes and "deadlines" not in changes:
            changes["deadlines"] = {}
        return replace(self, **changes)

    @property
    def by_date(self) -> bool:
        """Whether the regime is chosen by the date the duty arose (no forced regime, no custom table)."""
        return not self.deadlines

    def regime_for(self, day: date | None) -> str:
        """The regime of a duty that arose on ``day`` (the forced one, if any)."""
        return self.regime or regime_on(day or REGIME_CHANGE)

    def deadlines_on(self, day: date | None) -> Mapping[tuple[str, str], Deadline]:
        """The deadlines table for a duty that arose on ``day``."""
        return self.deadlines or _deadlines_for(regime_on(day or REGIME_CHANGE))

    def deadline(self, reporter_type: str, event_type: str, day: date | None = None) -> Deadline | None:
        """The deadline of ``(reporter_type, event_type)`` for a duty that arose on ``day``."""
        return self.deadlines_on(day).get((reporter_type, event_type))

    def follow_up(self, party_type: str | None, event_type: str, day: date | None = None) -> tuple[int, str, str]:
        """``(limit, unit, source)`` of an expected follow-up by a ``party_type`` whose duty arose on
        ``day``: the table's row, else :attr:`follow_up_default`."""
        d = self.deadlines_on(day).get((party_type or "", event_type))
        if d is not None:
            return d.limit, d.unit, f"{d.regime} {d.reporter_type} {d.event_type}"
        return self.follow_up_default[0], self.follow_up_default[1], "default"

    def eras(self) -> list[tuple[date | None, date | None]]:
        """``[(from, until)]`` day ranges that share one deadlines table (``None``: open-ended)."""
        return [(None, REGIME_CHANGE), (REGIME_CHANGE, None)] if self.by_date else [(None, None)]

    @property
    def qualifications(self) -> tuple[str, ...]:
        extra = ("hazardous_waste_license",) if self.require_hazardous_waste_license else ()
        return self.required_qualifications + extra

    def runs(self, rule_id: str) -> bool:
        return self.enabled is None or rule_id in self.enabled
