"""R03: a re-made product made for, or delivered to, a prohibited application (``e_bike``).

One violation per product: made for e-bikes and then delivered to them is one finding (raised by
the first of the two events).
"""

from __future__ import annotations

from collections.abc import Iterator

from battrace.domain.rules.finding import VIOLATION, Finding
from battrace.domain.rules.registry import EventFacts, Rule, register


def check(f: EventFacts) -> Iterator[Finding]:
    application = f.event["application"]
    if application not in f.config.prohibited_applications:
        return
    if f.type == "battery.remanufactured":
        product, sources = f.event["product"], list(f.event["sources"])
        zh_act, en_act = "再制造为", "re-made for"
    else:
        product, sources = f.event["battery"], []
        zh_act, en_act = "交付用于", "delivered for"
    yield f.finding(
        "R03", product, batteries=[product], responsible=f.reporter,
        zh=f"再制造电池产品 {product} {zh_act}禁止的用途 {application}（不得用于电动自行车）",
        en=f"re-made product {product} {en_act} a prohibited application: {application}",
        detail={"application": application, "customer": f.event.get("customer"), "sources": sources},
    )


RULE = register(Rule(
    "R03", VIOLATION, "re-made product for a prohibited application", "再制造产品用于禁止用途",
    checks={"battery.remanufactured": check, "product.delivered": check},
))
