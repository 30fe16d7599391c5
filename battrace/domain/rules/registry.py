"""The rule registry: every finding rule of rules.md, registered under its stable id.

A rule is a set of small pure functions:

- ``checks``: event type -> ``check(facts) -> findings`` for a stored event (incremental: a check
  sees one event with the states before and after it, never the whole log);
- ``resolvers``: event type -> ``resolve(facts) -> dedupe keys`` of findings the event puts right;
- ``overdue``: timer kind -> ``build(timer, due, as_of, ctx) -> finding`` for as-of rules, whose
  pending situations are kept as timers (:mod:`battrace.domain.rules.timers`).

:class:`EventFacts` is everything a check may read; the engine (``battrace.services.compliance``)
builds it for each stored event.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import cached_property
from typing import Any

from battrace.domain.deadlines import china_date
from battrace.domain.events import Event
from battrace.domain.integrity import Decision
from battrace.domain.orgs import Org
from battrace.domain.rules.config import RulesConfig
from battrace.domain.rules.finding import Finding, unique
from battrace.domain.state import BatteryState, VehicleState


@dataclass
class EventFacts:
    """One stored event, what it changed, and what a check may look up."""

    seq: int
    event: Event
    recorded_at: datetime
    decision: Decision
    orgs: Mapping[str, Org]
    config: RulesConfig
    #: VIN -> the vehicle maker's credit code, for vehicles the decision does not touch.
    vehicle_makers: Mapping[str, str] = field(default_factory=dict)
    #: Whether ``(maker, model)`` has dismantling information on file (including earlier in the batch).
    techinfo_filed: Callable[[str, str], bool] = lambda maker, model: False

    @property
    def type(self) -> str:
        return self.event.type

    @property
    def reporter(self) -> str:
        return self.event.reporter

    @cached_property
    def day(self) -> date:
        """The day the event occurred, on China's clock."""
        return china_date(self.event.occurred_at)

    def org(self, credit: str | None) -> Org | None:
        return self.orgs.get(credit) if credit else None

    def org_type(self, credit: str | None) -> str | None:
        org = self.org(credit)
        return org.type if org else None

    def before(self, code: str) -> BatteryState | None:
        return self.decision.before.get(code)

    def after(self, code: str) -> BatteryState | None:
        return self.decision.batteries.get(code)

    def vehicle_after(self, vin: str) -> VehicleState | None:
        return self.decision.vehicles.get(vin)

    def vehicle_maker(self, vin: str | None) -> str | None:
        if vin is None:
            return None
        v = self.decision.vehicles.get(vin) or self.decision.vehicles_before.get(vin)
        return v.maker if v is not None else self.vehicle_makers.get(vin)

    def takeback_party(self, state: BatteryState) -> str | None:
        """The "兜底" party of R05: the maker of the vehicle the pack was last installed in, else the
        battery's maker (for a re-made product: the re-use enterprise that made it)."""
        return self.vehicle_maker(state.last_vin) or state.maker

    def region(self, *orgs: str | None) -> str | None:
        """Where the finding belongs: the event's region, else the first named org's region."""
        if self.event.region:
            return self.event.region
        for credit in orgs:
            org = self.org(credit)
            if org is not None and org.region:
                return org.region
        return None

    def finding(
        self,
        rule: str,
        key: str,
        *,
        batteries: Iterable[str] = (),
        vin: str | None = None,
        orgs: Iterable[str | None] = (),
        responsible: str | None = None,
        due_at: datetime | None = None,
        zh: str,
        en: str,
        detail: dict[str, Any] | None = None,
    ) -> Finding:
        """A finding raised by this event; ``key`` distinguishes it from others of the same rule."""
        spec = RULES[rule]
        named = unique([self.reporter, *orgs, responsible])
        return Finding(
            rule=rule,
            severity=spec.severity,
            dedupe_key=f"{rule}:{key}",
            batteries=unique(batteries),
            vin=vin,
            orgs=named,
            responsible=responsible,
            region=self.region(responsible, self.reporter),
            event_seq=self.seq,
            event_id=self.event.event_id,
            raised_at=self.recorded_at,
            due_at=due_at,
            message_zh=zh,
            message_en=en,
            detail=detail or {},
        )


Check = Callable[[EventFacts], Iterable[Finding]]
Resolve = Callable[[EventFacts], Iterable[str]]


@dataclass(frozen=True)
class Rule:
    id: str
    severity: str
    title_en: str
    title_zh: str
    checks: Mapping[str, Check] = field(default_factory=dict)
    resolvers: Mapping[str, Resolve] = field(default_factory=dict)
    #: timer kind -> builder of the finding raised when the timer is overdue (as-of evaluation).
    overdue: Mapping[str, Callable[..., Finding]] = field(default_factory=dict)
    #: Evaluated "as of" a date (timers or aggregates), not only as events arrive.
    as_of: bool = False


RULES: dict[str, Rule] = {}
#: The modules that define rules, one per rule id.
RULE_MODULES = ("r01", "r02", "r03", "r04", "r04b", "r05", "r09", "r10", "r11", "r13", "r14")


def register(rule: Rule) -> Rule:
    if rule.id in RULES:
        raise ValueError(f"rule {rule.id} is registered twice")
    RULES[rule.id] = rule
    _dispatch.cache_clear()
    return rule


def get_rule(rule_id: str) -> Rule:
    _load()
    return RULES[rule_id]


def all_rules() -> list[Rule]:
    _load()
    return [RULES[k] for k in sorted(RULES, key=_order)]


def _order(rule_id: str) -> tuple[int, str]:
    return int("".join(ch for ch in rule_id if ch.isdigit())), rule_id


def _load() -> None:
    """Import the rule modules (they register themselves)."""
    for name in RULE_MODULES:
        importlib.import_module(f"battrace.domain.rules.{name}")


class _Dispatch:
    def __init__(self) -> None:
        self.table: dict[str, list[tuple[str, Check | None, Resolve | None]]] | None = None

    def cache_clear(self) -> None:
        self.table = None

    def __call__(self) -> dict[str, list[tuple[str, Check | None, Resolve | None]]]:
        if self.table is None:
            _load()
            table: dict[str, list[tuple[str, Check | None, Resolve | None]]] = {}
            for rule in all_rules():
                for event_type in sorted(set(rule.checks) | set(rule.resolvers)):
                    table.setdefault(event_type, []).append(
                        (rule.id, rule.checks.get(event_type), rule.resolvers.get(event_type))
                    )
            self.table = table
        return self.table


_dispatch = _Dispatch()


def run_event_rules(facts: EventFacts) -> tuple[list[Finding], list[str]]:
    """The findings an event raises and the dedupe keys of findings it resolves."""
    raised: list[Finding] = []
    resolved: list[str] = []
    for rule_id, check, resolve in _dispatch().get(facts.type, ()):
        if not facts.config.runs(rule_id):
            continue
        if check is not None:
            raised.extend(check(facts))
        if resolve is not None:
            resolved.extend(resolve(facts))
    return raised, resolved
