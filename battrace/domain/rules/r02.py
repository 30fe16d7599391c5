"""R02: a waste battery handed over to, or received by, an organisation that may not take it.

Every source of waste counts: a pack from a vehicle (removed, replaced), swap stock leaving the swap
network, production scrap (``battery.discarded``) and a re-made product back from its application
(``product.returned``, or handed over from service). The receiver must be a ``collection_outlet``
set up by a vehicle or battery maker (its ``operated_for``), a ``reuse_enterprise`` or a
``recycler`` (:attr:`RulesConfig.allowed_recipients`); a utilisation company must also hold every
required qualification (investment filing, EIA approval, discharge permit; the hazardous-waste
licence where the setting requires it) valid on the day. A new pack shipped by its maker is not a
waste battery.

The hand-over raises the finding of the sender; the receipt raises the receiver's. Both name both
sides. Neither is resolved by later events.
"""

from __future__ import annotations

from collections.abc import Iterator

from battrace.domain.orgs import Org
from battrace.domain.rules.finding import VIOLATION, Finding
from battrace.domain.rules.registry import EventFacts, Rule, register
from battrace.domain.state import BatteryState

#: Who may set up a collection outlet (``operated_for``).
OUTLET_OPERATORS = ("vehicle_maker", "battery_maker")


def is_waste(b: BatteryState | None) -> bool:
    """Whether ``b`` (before a hand-over) travels as a waste battery."""
    if b is None:
        return False
    return b.waste or b.state == "swap_stock" or (b.remade and b.state == "in_service")


def _refusal(f: EventFacts, receiver: Org) -> tuple[str, str, list[str]] | None:
    """``(reason_zh, reason_en, missing qualifications)`` when ``receiver`` may not take waste batteries."""
    cfg = f.config
    if receiver.type not in cfg.allowed_recipients:
        return (f"接收方类型为 {receiver.type}，不得接收废旧动力电池",
                f"a {receiver.type} may not take waste batteries", [])
    if receiver.type == "collection_outlet":
        operator = f.org(receiver.operated_for)
        if operator is None or operator.type not in OUTLET_OPERATORS:
            return ("该回收服务网点不是由汽车生产企业或电池生产企业设立的（operated_for）",
                    "the collection outlet was not set up by a vehicle or battery maker (operated_for)", [])
        return None
    if receiver.type in cfg.qualified_recipients:
        missing = [k for k in cfg.qualifications if not receiver.holds(k, f.day)]
        if missing:
            return (f"接收方在 {f.day.isoformat()} 缺少有效资质：{'、'.join(missing)}",
                    f"the receiver lacks a valid {', '.join(missing)} on {f.day.isoformat()}", missing)
    return None


def check(f: EventFacts) -> Iterator[Finding]:
    waste = [c for c in f.event["batteries"] if is_waste(f.before(c))]
    if not waste:
        return
    to = f.event["to"]
    receiver = f.org(to)
    if receiver is None:  # pragma: no cover - the integrity rules refuse unknown receivers
        return
    refusal = _refusal(f, receiver)
    if refusal is None:
        return
    reason_zh, reason_en, missing = refusal
    yield f.finding(
        "R02", f"{f.reporter}:{f.event.event_id}", batteries=waste, orgs=[to], responsible=f.reporter,
        zh=f"废旧动力电池移交给不具备资格的单位 {receiver.name}（{to}）：{reason_zh}",
        en=f"waste batteries handed over to {receiver.name} ({to}), which may not take them: {reason_en}",
        detail={"side": "sender", "sender": f.reporter, "receiver": to, "receiver_type": receiver.type,
                "missing_qualifications": missing, "day": f.day.isoformat()},
    )


def check_receipt(f: EventFacts) -> Iterator[Finding]:
    waste = [c for c in f.event["batteries"] if (b := f.after(c)) is not None and b.waste]
    if not waste:
        return
    receiver = f.org(f.reporter)
    if receiver is None:  # pragma: no cover
        return
    refusal = _refusal(f, receiver)
    if refusal is None:
        return
    reason_zh, reason_en, missing = refusal
    sender = f.event["from"]
    yield f.finding(
        "R02", f"received:{f.reporter}:{f.event.event_id}", batteries=waste, orgs=[sender],
        responsible=f.reporter,
        zh=f"不具备资格的单位 {receiver.name}（{f.reporter}）接收了来自 {sender} 的废旧动力电池：{reason_zh}",
        en=f"{receiver.name} ({f.reporter}), which may not take waste batteries, received them from {sender}: "
           f"{reason_en}",
        detail={"side": "receiver", "sender": sender, "receiver": f.reporter, "receiver_type": receiver.type,
                "missing_qualifications": missing, "day": f.day.isoformat()},
    )


RULE = register(Rule(
    "R02", VIOLATION, "waste battery handed to an unqualified receiver", "废旧电池移交给不具备资格的单位",
    checks={"battery.handed_over": check, "battery.received": check_receipt},
))
