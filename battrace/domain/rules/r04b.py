"""R04b: an expected follow-up missing past its deadline, evaluated "as of" a date.

- a hand-over never confirmed by the receiver (limit: the receiver's ``battery.received`` deadline);
- a scrapped vehicle's battery never removed (the dismantler's ``battery.removed`` deadline) or,
  once removed, never handed over (its ``battery.handed_over`` deadline);
- dismantling information (``techinfo.filed``) not filed 6 months after CCC certification.

The waits are timers (:mod:`battrace.domain.rules.timers`); a finding is resolved by the event that
ends its wait (the receipt, the removal, the hand-over, the filing).
"""

from __future__ import annotations

from battrace.domain.deadlines import Due, china_date
from battrace.domain.rules.finding import WARNING, Finding
from battrace.domain.rules.registry import Rule, register
from battrace.domain.rules.timers import AsOf, Timer, limit_of, timer_finding


def _limit_texts(timer: Timer, ctx: AsOf) -> tuple[str, str]:
    limit, unit, _ = limit_of(timer.kind, timer.deadline, ctx.config, china_date(timer.since))
    zh = {"working_days": "个工作日", "calendar_days": "日", "months": "个月"}[unit]
    return f"{limit}{zh}", f"{limit} {unit.replace('_', ' ')}"


def _since(timer: Timer) -> str:
    return china_date(timer.since).isoformat()


def handover(timer: Timer, due: Due, ctx: AsOf) -> Finding:
    zh_limit, en_limit = _limit_texts(timer, ctx)
    receiver = timer.responsible
    return timer_finding(
        timer, due, ctx,
        zh=f"电池 {timer.battery} 于 {_since(timer)} 移交给 {ctx.name(receiver)}，接收方应在 {zh_limit}内"
           f"（{due.day.isoformat()} 前）确认接收，截至 {ctx.day.isoformat()} 仍未确认",
        en=f"battery {timer.battery} handed over to {ctx.name_en(receiver)} on {_since(timer)} was never "
           f"confirmed: the receipt was due within {en_limit} (by {due.day.isoformat()}), none as of "
           f"{ctx.day.isoformat()}",
        detail={"follow_up": "battery.received", "sender": timer.org, "receiver": receiver},
    )


def removal(timer: Timer, due: Due, ctx: AsOf) -> Finding:
    zh_limit, en_limit = _limit_texts(timer, ctx)
    return timer_finding(
        timer, due, ctx,
        zh=f"报废车辆 {timer.vin} 的动力电池 {timer.battery} 未在报废后 {zh_limit}内（{due.day.isoformat()} 前）"
           f"拆卸上报，截至 {ctx.day.isoformat()}",
        en=f"pack {timer.battery} of vehicle {timer.vin}, scrapped on {_since(timer)}, was not reported removed "
           f"within {en_limit} (by {due.day.isoformat()}), as of {ctx.day.isoformat()}",
        detail={"follow_up": "battery.removed"},
    )


def handout(timer: Timer, due: Due, ctx: AsOf) -> Finding:
    zh_limit, en_limit = _limit_texts(timer, ctx)
    return timer_finding(
        timer, due, ctx,
        zh=f"从报废车辆 {timer.vin} 拆下的电池 {timer.battery} 未在 {zh_limit}内（{due.day.isoformat()} 前）"
           f"移交出库，截至 {ctx.day.isoformat()}",
        en=f"battery {timer.battery}, removed from scrapped vehicle {timer.vin} on {_since(timer)}, was not handed "
           f"over within {en_limit} (by {due.day.isoformat()}), as of {ctx.day.isoformat()}",
        detail={"follow_up": "battery.handed_over"},
    )


def techinfo(timer: Timer, due: Due, ctx: AsOf) -> Finding:
    zh_limit, en_limit = _limit_texts(timer, ctx)
    model = timer.key.split(":", 2)[2]
    return timer_finding(
        timer, due, ctx,
        zh=f"{ctx.name(timer.responsible)} 的电池型号 {model} 未在 {zh_limit}内（{due.day.isoformat()} 前）"
           f"备案拆解技术信息（自 {_since(timer)} 起算），截至 {ctx.day.isoformat()}",
        en=f"dismantling information of battery model {model} by {ctx.name_en(timer.responsible)} was not filed "
           f"within {en_limit} (by {due.day.isoformat()}, counted from {_since(timer)}), as of {ctx.day.isoformat()}",
        detail={"follow_up": "techinfo.filed", "model": model},
    )


RULE = register(Rule(
    "R04b", WARNING, "expected follow-up missing", "应报未报（后续事项逾期）",
    overdue={"handover": handover, "removal": removal, "handout": handout, "techinfo": techinfo},
    as_of=True,
))
