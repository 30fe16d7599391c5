"""Obligations: what each organisation must report, and by when, before it is overdue.

Read from the compliance engine's pending waits (``compliance_timers`` not yet raised as a finding)
with the same deadline arithmetic as rules R04/R04b/R05 (:func:`battrace.domain.rules.timers.limit_of`
and :func:`battrace.domain.deadlines.due_date`): an obligation is the act that ends the wait, and
its due day is the day the rule would raise its finding after. The party that must act is the
timer's responsible organisation (the receiver for a hand-over, the dismantler for a removal, …).
At most :data:`MAX_ROWS` pending waits are read per query, the longest-waiting first.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from battrace.domain.access import Caller
from battrace.domain.deadlines import china_date, due_date
from battrace.domain.rules.config import RulesConfig
from battrace.domain.rules.timers import KINDS, limit_of
from battrace.errors import Forbidden, ValidationError
from battrace.services.access import require_org
from battrace.services.cases import reach
from battrace.services.webhooks import notify
from battrace.storage import supervision as db
from battrace.storage.store import Store

MAX_ROWS = 5000
#: kind -> (what to do in Chinese, in English), formatted with ``subject`` and ``since``
DUTIES: dict[str, tuple[str, str]] = {
    "removal": ("车辆 {vin} 于 {since} 报废：上报电池包 {battery} 的拆卸", "vehicle {vin} scrapped on {since}: "
                "report the removal of pack {battery}"),
    "handout": ("电池 {battery} 于 {since} 拆卸：移交给有资质的企业并上报", "battery {battery} removed on {since}: "
                "hand it over to a qualified enterprise and report it"),
    "handover": ("电池 {battery} 于 {since} 移交给贵单位：确认接收", "battery {battery} handed over to you on "
                 "{since}: confirm its receipt"),
    "techinfo": ("型号首次生产于 {since}（电池 {battery}）：报送拆解技术信息", "model first produced on {since} "
                 "(battery {battery}): file its dismantling information"),
    "idle": ("废旧电池 {battery} 自 {since} 起无移交进展：移交或上报", "waste battery {battery} without custody "
             "progress since {since}: hand it over or report it"),
}


def parse_within(text: str | None) -> int | None:
    """``5d`` / ``2w`` / ``10`` → days; None for None."""
    if text is None or text == "":
        return None
    raw = text.strip().lower()
    factor = 7 if raw.endswith("w") else 1
    digits = raw.rstrip("dw")
    if not digits.isdigit() or int(digits) > 3650:
        raise ValidationError(f"due-within must be days like 5d or 2w, got {text!r}", field="due_within")
    return int(digits) * factor


def obligations(store: Store, *, today: date, org: str | None = None, region_prefix: str | None = None,
                due_within: int | None = None, config: RulesConfig | None = None) -> list[dict[str, Any]]:
    """Pending obligations (soonest due first), for ``org`` (as the responsible party) or a region."""
    cfg = config or RulesConfig()
    with store.reader() as conn:  # the longest waits first, at most MAX_ROWS
        rows = db.pending_timers(conn, org=org, region_prefix=region_prefix, limit=MAX_ROWS)
    out = []
    horizon = today + timedelta(days=due_within) if due_within is not None else None
    for r in rows:
        if KINDS.get(r.kind) is None or not cfg.runs(KINDS[r.kind]):
            continue
        limit, unit, _ = limit_of(r.kind, r.deadline, cfg)
        since = china_date(r.since)
        due = due_date(since, limit, unit)
        if horizon is not None and due.day > horizon:
            continue
        zh, en = DUTIES[r.kind]
        fields = {"vin": r.vin or "—", "battery": r.battery or "—", "since": since.isoformat()}
        out.append({"key": r.key, "kind": r.kind, "rule": KINDS[r.kind], "org": r.responsible or r.org,
                    "battery": r.battery, "vin": r.vin, "region": r.region, "since": since.isoformat(),
                    "since_event_id": r.event_id, "due": due.day.isoformat(), "approximate": due.approximate,
                    "days_left": (due.day - today).days,
                    "message": {"zh": zh.format(**fields) + f"，期限 {due.day.isoformat()}",
                                "en": en.format(**fields) + f" by {due.day.isoformat()}"}})
    out.sort(key=lambda o: (o["due"], o["key"]))
    return out


def obligations_for(store: Store, caller: Caller, *, today: date, org: str | None = None,
                    due_within: int | None = None) -> list[dict[str, Any]]:
    """The caller's obligations (a company: its own only; a regulator: its jurisdiction, or one org)."""
    require_org(caller)
    with store.reader() as conn:
        who = reach(store, conn, caller)
    if who is None:
        if org is not None and org != caller.org:
            raise Forbidden("a company sees only its own obligations")
        return obligations(store, today=today, org=caller.org, due_within=due_within)
    return obligations(store, today=today, org=org, region_prefix=who.prefix or None, due_within=due_within)


def notify_due_soon(store: Store, now: datetime, *, within_days: int = 5) -> int:
    """Queue ``obligation.due_soon`` webhooks for obligations due within ``within_days`` (once per
    obligation and due day); returns how many deliveries were queued."""
    today = china_date(now)
    due = obligations(store, today=today, due_within=within_days)
    queued = 0
    with store.writer() as conn:
        for o in due:
            if o["org"] is None:
                continue
            queued += notify(store, conn, "obligation.due_soon", f"obl-{o['key']}-{o['due']}", o,
                             parties=[o["org"]], region=o["region"], now=now)
    return queued
