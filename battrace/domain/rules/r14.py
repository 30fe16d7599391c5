"""R14: a re-made product graded below the policy for its declared application.

The grading policy the health module ships (:class:`battrace.domain.grading.GradingPolicy`, the
``grading_policy`` of :class:`RulesConfig`) sets a minimum SOH per re-use application and the
applications whose products need a certification. A ``battery.remanufactured`` whose sources' last
health test (``battery.tested``) lies below the floor of the declared application, or which carries
no certification where the policy asks for one, raises a warning of the re-use enterprise. Sources
without any test are R09's.
"""

from __future__ import annotations

from collections.abc import Iterator

from battrace.domain.rules.finding import WARNING, Finding
from battrace.domain.rules.registry import EventFacts, Rule, register


def check(f: EventFacts) -> Iterator[Finding]:
    policy = f.config.grading_policy
    application = f.event["application"]
    product = f.event["product"]
    floor = policy.min_soh.get(application)
    low: dict[str, float] = {}
    if floor is not None:
        for code in f.event["sources"]:
            b = f.before(code)
            soh = (b.health or {}).get("soh") if b is not None else None
            if soh is not None and soh < floor:
                low[code] = soh
    uncertified = application in policy.certification_required and not f.event.get("certification")
    if not low and not uncertified:
        return
    reasons_zh, reasons_en = [], []
    if low and floor is not None:
        listed = ", ".join(f"{c} ({soh * 100:.0f}%)" for c, soh in low.items())
        reasons_zh.append(f"来源电池最近一次检测的SOH低于 {application} 的最低要求 {floor * 100:.0f}%：{listed}")
        reasons_en.append(f"sources last tested below the {floor * 100:.0f}% floor for {application}: {listed}")
    if uncertified:
        reasons_zh.append(f"用途 {application} 要求产品认证，但未提供")
        reasons_en.append(f"no certification, which the policy requires for {application}")
    yield f.finding(
        "R14", f"{f.reporter}:{f.event.event_id}", batteries=[product, *low], responsible=f.reporter,
        zh=f"再制造产品 {product} 不符合分级策略：" + "；".join(reasons_zh),
        en=f"re-made product {product} does not meet the grading policy: " + "; ".join(reasons_en),
        detail={"application": application, "floor": floor, "low_sources": low, "uncertified": uncertified},
    )


RULE = register(Rule(
    "R14", WARNING, "re-made below the grading policy", "再制造产品不符合分级要求",
    checks={"battery.remanufactured": check},
))
