"""R02: a waste battery handed over to an organisation that may not take it.

The receiver must be a ``collection_outlet``, ``reuse_enterprise`` or ``recycler``
(:attr:`RulesConfig.allowed_recipients`); a utilisation company must also hold every required
qualification (investment filing, EIA approval, discharge permit; the hazardous-waste licence where
the setting requires it) valid on the hand-over day. Only waste batteries count: a new pack shipped
by its maker, or a swap-stock pack moved between stations, is not a waste battery. A violation of
the sender, not resolved by later events.
"""

from __future__ import annotations

from collections.abc import Iterator

from battrace.domain.rules.finding import VIOLATION, Finding
from battrace.domain.rules.registry import EventFacts, Rule, register


def check(f: EventFacts) -> Iterator[Finding]:
    waste = [c for c in f.event["batteries"] if (b := f.before(c)) is not None and b.waste]
    if not waste:
        return
    to = f.event["to"]
    receiver = f.org(to)
    if receiver is None:  # pragma: no cover - the integrity rules refuse unknown receivers
        return
    cfg = f.config
    missing: list[str] = []
    if receiver.type not in cfg.allowed_recipients:
        reason_en = f"a {receiver.type} may not take waste batteries"
        reason_zh = f"接收方类型为 {receiver.type}，不得接收废旧动力电池"
    elif receiver.type in cfg.qualified_recipients:
        missing = [k for k in cfg.qualifications if not receiver.holds(k, f.day)]
        if not missing:
            return
        reason_en = f"the receiver lacks a valid {', '.join(missing)} on {f.day.isoformat()}"
        reason_zh = f"接收方在 {f.day.isoformat()} 缺少有效资质：{'、'.join(missing)}"
    else:
        return
    yield f.finding(
        "R02", f"{f.reporter}:{f.event.event_id}", batteries=waste, orgs=[to], responsible=f.reporter,
        zh=f"废旧动力电池移交给不具备资格的单位 {receiver.name}（{to}）：{reason_zh}",
        en=f"waste batteries handed over to {receiver.name} ({to}), which may not take them: {reason_en}",
        detail={"receiver": to, "receiver_type": receiver.type, "missing_qualifications": missing,
                "day": f.day.isoformat()},
    )


RULE = register(Rule(
    "R02", VIOLATION, "waste battery handed to an unqualified receiver", "废旧电池移交给不具备资格的单位",
    checks={"battery.handed_over": check},
))
