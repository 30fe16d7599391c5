"""R09: a battery re-made without a health test (``battery.tested``) on a source."""

from __future__ import annotations

from collections.abc import Iterator

from battrace.domain.rules.finding import WARNING, Finding
from battrace.domain.rules.registry import EventFacts, Rule, register


def check(f: EventFacts) -> Iterator[Finding]:
    untested = [c for c in f.event["sources"] if (b := f.before(c)) is not None and not b.health]
    if not untested:
        return
    product = f.event["product"]
    yield f.finding(
        "R09", f"{f.reporter}:{f.event.event_id}", batteries=[product, *untested], responsible=f.reporter,
        zh=f"再制造产品 {product} 的来源电池未经健康检测：{'、'.join(untested)}",
        en=f"re-made product {product} uses sources without a health test: {', '.join(untested)}",
        detail={"untested_sources": untested},
    )


RULE = register(Rule(
    "R09", WARNING, "re-made without a health test", "再制造前未做健康检测",
    checks={"battery.remanufactured": check},
))
