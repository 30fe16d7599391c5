"""R05: a lost trail: a waste battery reported missing, or without custody progress for too long.

A battery reported missing raises the finding at once. A waste battery (waste, in transit or
dismantled) whose custody has not progressed for more than :attr:`RulesConfig.idle_limit_days`
(default 90) is found "as of" a date from its idle timer; the finding is resolved when custody
progresses (a hand-over, a receipt, dismantling, re-making, recycling).

Both name the party with the last-resort ("兜底") take-back duty as ``responsible``: the maker of
the vehicle the pack was last installed in, else the battery maker.
"""

from __future__ import annotations

from collections.abc import Iterator

from battrace.domain.deadlines import Due, china_date
from battrace.domain.reasons import reason_label
from battrace.domain.rules.finding import VIOLATION, Finding
from battrace.domain.rules.registry import EventFacts, Rule, register
from battrace.domain.rules.timers import AsOf, Timer, timer_finding


def missing(f: EventFacts) -> Iterator[Finding]:
    code = f.event["battery"]
    after = f.after(code)
    if after is None:  # pragma: no cover
        return
    responsible = f.takeback_party(after)
    party = f.org(responsible)
    party_zh = f"{party.name}（{responsible}）" if party else str(responsible)
    party_en = f"{party.name} ({responsible})" if party else str(responsible)
    reason = str(f.event["reason"])
    yield f.finding(
        "R05", f"missing:{code}", batteries=[code], vin=after.last_vin, responsible=responsible,
        zh=f"电池 {code} 被报告丢失（{reason_label(reason, 0)}）；兜底回收责任方：{party_zh}",
        en=f"battery {code} reported missing ({reason_label(reason, 1)}); last-resort take-back party: {party_en}",
        detail={"reason": f.event["reason"], "last_vin": after.last_vin, "takeback_party": responsible},
    )


def idle(timer: Timer, due: Due, ctx: AsOf) -> Finding:
    since = china_date(timer.since).isoformat()
    days = (ctx.day - china_date(timer.since)).days
    return timer_finding(
        timer, due, ctx, raised_by_event=False,
        zh=f"废旧电池 {timer.battery} 自 {since} 起 {days} 天无流转记录（超过 {ctx.config.idle_limit_days} 天），"
           f"持有方 {ctx.name(timer.org)}；兜底回收责任方 {ctx.name(timer.responsible)}",
        en=f"waste battery {timer.battery} has had no custody progress since {since} ({days} days, limit "
           f"{ctx.config.idle_limit_days}); held by {ctx.name_en(timer.org)}; last-resort take-back party "
           f"{ctx.name_en(timer.responsible)}",
        detail={"idle_days": days, "holder": timer.org, "takeback_party": timer.responsible},
    )


RULE = register(Rule(
    "R05", VIOLATION, "lost trail", "流向不明（溯源断链）",
    checks={"battery.reported_missing": missing}, overdue={"idle": idle}, as_of=True,
))
