"""Timers: pending situations that become findings when they last too long (R04b, R05).

The as-of rules never replay the log. Instead, as each event is stored, :func:`timer_changes` says
which waits it starts, restarts or ends; the engine keeps them in a read model (one row per
``key``). Evaluating "as of" a date is then one indexed query per kind and deadline: the timers
whose start lies before the bound of :func:`battrace.domain.deadlines.overdue_before`.

Kinds (the key is ``kind:subject``):

=========  =====  ============================================  ============================================
kind       rule   starts                                        ends
=========  =====  ============================================  ============================================
idle       R05    a battery becomes waste, or its custody       it is re-made, recycled or reported missing
                  progresses (state, custodian or receiver      (restarted by every progress)
                  changes) while waste, in transit or
                  dismantled
handover   R04b   ``battery.handed_over``                       the battery leaves ``in_transit`` (received)
removal    R04b   ``vehicle.scrapped`` (each pack present)      the pack's state changes (removed)
handout    R04b   ``battery.removed``                           the battery's custody progresses
techinfo   R04b   the first ``battery.produced`` of a pack      ``techinfo.filed`` for the maker and model
                  model with no dismantling information
=========  =====  ============================================  ============================================

A *follow-up* timer's limit comes from the deadlines table: the row of the party expected to act
and the event expected (``recycler|battery.received`` for a hand-over to a recycler), else
:attr:`RulesConfig.follow_up_default`. The techinfo timer runs from the model's first production
(or ``data.ccc_certified_at`` of that event when given), a stand-in for the CCC certification date,
which the platform only learns from the filing itself.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from battrace.domain.deadlines import Due, china_date
from battrace.domain.events import parse_time
from battrace.domain.orgs import Org
from battrace.domain.rules.config import RulesConfig
from battrace.domain.rules.finding import Finding, end_of_day, start_of_day, unique
from battrace.domain.rules.registry import RULES, EventFacts
from battrace.domain.state import IDLE, IN_VEHICLE, BatteryState
from battrace.errors import BattraceError

IDLE_STATES = IDLE
KINDS = {"idle": "R05", "handover": "R04b", "removal": "R04b", "handout": "R04b", "techinfo": "R04b"}


@dataclass(frozen=True, slots=True)
class Timer:
    key: str
    kind: str
    since: datetime
    event_seq: int
    event_id: str
    battery: str | None = None
    vin: str | None = None
    org: str | None = None
    responsible: str | None = None
    region: str | None = None
    #: ``party_type|event_type`` of the expected follow-up; empty for R05 (the idle limit applies).
    deadline: str = ""
    #: Create only when absent: the first trigger wins (techinfo).
    keep_existing: bool = False

    @property
    def rule(self) -> str:
        return KINDS[self.kind]

    @property
    def finding_key(self) -> str:
        return finding_key(self.kind, self.key, self.event_seq)


def finding_key(kind: str, key: str, event_seq: int) -> str:
    """The dedupe key of the finding a timer raises: one per wait (a restarted wait is a new one)."""
    return f"{KINDS[kind]}:{key}:{event_seq}"


def idle(state: BatteryState | None) -> bool:
    return state is not None and state.waste and state.state in IDLE_STATES


def _custody(s: BatteryState) -> tuple[str, str | None, str | None]:
    return s.state, s.custodian, s.pending_to


def timer_changes(f: EventFacts) -> list[tuple[str, Timer | None]]:
    """The waits this event starts (a timer) or ends (None), in order, keyed by timer key."""
    cfg = f.config
    r05, r04b = cfg.runs("R05"), cfg.runs("R04b")
    e = f.event
    out: list[tuple[str, Timer | None]] = []

    def timer(kind: str, subject: str, **kw: object) -> tuple[str, Timer]:
        key = f"{kind}:{subject}"
        return key, Timer(key, kind, e.occurred_at, f.seq, e.event_id, **kw)  # type: ignore[arg-type]

    for code, after in f.decision.batteries.items():
        before = f.decision.before.get(code)
        progressed = before is None or _custody(before) != _custody(after)
        if r04b and before is not None and progressed:
            if before.state == "in_transit":
                out.append((f"handover:{code}", None))
            elif before.state in IN_VEHICLE and after.state != before.state:
                out.append((f"removal:{code}", None))
            elif before.state == "waste":
                out.append((f"handout:{code}", None))
        if not r05:
            continue
        if idle(after):
            if progressed or not idle(before):
                responsible = f.takeback_party(after)
                out.append(timer("idle", code, battery=code, org=after.custodian, responsible=responsible,
                                 region=f.region(after.custodian, responsible)))
        elif idle(before):
            out.append((f"idle:{code}", None))

    if not r04b:
        return out
    t = e.type
    if t == "battery.handed_over":
        to = e["to"]
        for code in e["batteries"]:
            out.append(timer("handover", code, battery=code, org=f.reporter, responsible=to, region=f.region(to),
                             deadline=f"{f.org_type(to)}|battery.received"))
    elif t == "vehicle.scrapped":
        for code in e["batteries_present"]:
            out.append(timer("removal", code, battery=code, vin=e["vin"], org=f.reporter, responsible=f.reporter,
                             region=f.region(f.reporter), deadline=f"{f.org_type(f.reporter)}|battery.removed"))
    elif t == "battery.removed":
        code = e["battery"]
        out.append(timer("handout", code, battery=code, vin=e["vin"], org=f.reporter, responsible=f.reporter,
                         region=f.region(f.reporter), deadline=f"{f.org_type(f.reporter)}|battery.handed_over"))
    elif t == "battery.produced":
        code = e["battery"]
        state = f.after(code)
        maker, model = f.reporter, e["model"]
        if state is not None and state.level == "P" and not state.remade and not f.techinfo_filed(maker, model):
            since = e.occurred_at
            ccc = (e.content.get("data") or {}).get("ccc_certified_at")
            if isinstance(ccc, str):
                with contextlib.suppress(BattraceError):
                    since = parse_time(ccc, "data.ccc_certified_at", t)
            key = f"techinfo:{maker}:{model}"
            if f.config.deadline(f.org_type(maker) or "", "techinfo.filed", china_date(since)) is None:
                return out  # no filing duty under the regime in force at CCC (CN-2018 had none)
            out.append((key, Timer(key, "techinfo", since, f.seq, e.event_id, battery=code, org=maker,
                                   responsible=maker, region=f.region(maker),
                                   deadline=f"{f.org_type(maker)}|techinfo.filed", keep_existing=True)))
    elif t == "techinfo.filed":
        out.append((f"techinfo:{f.reporter}:{e['model']}", None))
    return out


@dataclass(frozen=True)
class AsOf:
    """What an overdue-finding builder may read."""

    day: date
    config: RulesConfig
    orgs: Mapping[str, Org]

    def name(self, credit: str | None) -> str:
        org = self.orgs.get(credit) if credit else None
        return f"{org.name}（{credit}）" if org else str(credit)

    def name_en(self, credit: str | None) -> str:
        org = self.orgs.get(credit) if credit else None
        return f"{org.name} ({credit})" if org else str(credit)


def limit_of(
    timer_kind: str, deadline: str, config: RulesConfig, since: date | None = None
) -> tuple[int, str, str]:
    """``(limit, unit, source)`` of a timer group, for duties that arose on ``since``."""
    if timer_kind == "idle":
        return config.idle_limit_days, "calendar_days", "idle_limit_days"
    party_type, _, event_type = deadline.partition("|")
    return config.follow_up(party_type, event_type, since)


def timer_finding(
    timer: Timer,
    due: Due,
    ctx: AsOf,
    *,
    zh: str,
    en: str,
    orgs: tuple[str | None, ...] = (),
    raised_by_event: bool = True,
    detail: dict[str, Any] | None = None,
) -> Finding:
    """The finding of an overdue timer, raised "as of" ``ctx.day``."""
    spec = RULES[timer.rule]
    since_day = china_date(timer.since)
    limit, unit, source = limit_of(timer.kind, timer.deadline, ctx.config, since_day)
    return Finding(
        rule=timer.rule,
        severity=spec.severity,
        dedupe_key=timer.finding_key,
        batteries=unique([timer.battery]),
        vin=timer.vin,
        orgs=unique([timer.org, *orgs, timer.responsible]),
        responsible=timer.responsible,
        region=timer.region,
        event_seq=timer.event_seq if raised_by_event else None,
        event_id=timer.event_id if raised_by_event else None,
        raised_at=start_of_day(ctx.day),
        due_at=end_of_day(due.day),
        message_zh=zh,
        message_en=en,
        detail={"kind": timer.kind, "since": since_day.isoformat(), "since_event_id": timer.event_id,
                "since_seq": timer.event_seq, "limit": limit, "unit": unit, "limit_source": source,
                "due": due.day.isoformat(), "as_of": ctx.day.isoformat(), "approximate": due.approximate,
                **(detail or {})},
    )
