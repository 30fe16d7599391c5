"""R04: an event reported after its deadline (``deadlines.csv``).

The deadline of ``(reporter type, event type)`` in the regime in force when the duty arose (CN-2018
before 2026-04-01, CN-2026 from then on, unless a regime is forced) runs from the trigger
(``occurred_at``, or an event field such as ``ccc_certified_at``) to the day the platform recorded
the event (``recorded_at``; for imported history, the original platform's), both on China's clock.
A late report is a warning of the reporter; lateness is a fact, so the finding stays open.
"""

from __future__ import annotations

from collections.abc import Iterator

from battrace.domain.deadlines import china_date, lateness
from battrace.domain.events import parse_time
from battrace.domain.rules.finding import WARNING, Finding, end_of_day
from battrace.domain.rules.registry import EventFacts, Rule, register

APPROXIMATE_EN = " (outside the holiday calendar's known years Monday-Friday were counted as working days)"
APPROXIMATE_ZH = "（超出节假日日历已知年份，按周一至周五计算工作日）"


def check(f: EventFacts) -> Iterator[Finding]:
    reporter_type = f.org_type(f.reporter)
    if reporter_type is None:  # pragma: no cover - integrity refuses unknown reporters
        return
    # the trigger (and so the regime in force when the duty arose) is the same in both regimes' rows
    deadline = f.config.deadline(reporter_type, f.type, f.day)
    if deadline is None:
        return
    if deadline.trigger == "occurred_at":
        start = f.day
    else:
        value = f.event.get(deadline.trigger)
        if value is None:
            return
        start = china_date(parse_time(value, deadline.trigger, f.type))
        deadline = f.config.deadline(reporter_type, f.type, start)
        if deadline is None:
            return
    done = china_date(f.recorded_at)
    late = lateness(start, done, deadline.limit, deadline.unit)
    if late is None:
        return
    approx_en = APPROXIMATE_EN if late.approximate else ""
    approx_zh = APPROXIMATE_ZH if late.approximate else ""
    yield f.finding(
        "R04", f"{f.reporter}:{f.event.event_id}", batteries=f.event.codes(), vin=f.event.get("vin"),
        responsible=f.reporter, due_at=end_of_day(late.due),
        zh=f"{f.type} 逾期上报：应自 {start.isoformat()} 起 {deadline.text_zh}内（{late.due.isoformat()} 前）上报，"
           f"实际于 {done.isoformat()} 记录，逾期 {late.days_late} 天{approx_zh}",
        en=f"{f.type} reported late: due within {deadline.text_en} of {start.isoformat()} "
           f"(by {late.due.isoformat()}), recorded on {done.isoformat()}, {late.days_late} days late{approx_en}",
        detail={"regime": deadline.regime, "limit": deadline.limit, "unit": deadline.unit,
                "trigger": deadline.trigger, "start": start.isoformat(), "due": late.due.isoformat(),
                "recorded": done.isoformat(), "days_late": late.days_late, "approximate": late.approximate,
                "deadline_status": deadline.status},
    )


def _event_types() -> set[str]:
    from battrace.domain.rules.config import builtin_deadlines

    return {event_type for table in builtin_deadlines().values() for (_, event_type) in table}


RULE = register(Rule(
    "R04", WARNING, "reported after the deadline", "逾期上报",
    checks=dict.fromkeys(sorted(_event_types()), check),
))
