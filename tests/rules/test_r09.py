"""R09: a battery re-made without a health test on a source."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests import story as s
from tests.rules.scenarios import PACK2, VIN2, Case, Events, ids, run_case


def _remade(*, tested: tuple[str, ...]) -> Callable[[Events], None]:
    def build(e: Events) -> None:
        e.waste_at_repair_shop()
        e.in_service(PACK2, VIN2)
        e.replace(VIN2, PACK2, "2025-06-02")
        e.transfer([s.PACK, PACK2], s.REPAIR_SHOP, s.REUSER, "2025-06-10")
        for code in tested:
            e.test(code, s.REUSER, "2025-06-20")
        e.remanufacture(s.PRODUCT, [s.PACK, PACK2], "2025-07-01")

    return build


CASES = [
    Case("raised_when_no_source_was_tested", _remade(tested=()),
         [{"batteries": [s.PRODUCT, s.PACK, PACK2], "responsible": s.REUSER, "severity": "warning"}]),
    Case("raised_for_the_untested_source_only", _remade(tested=(s.PACK,)),
         [{"batteries": [s.PRODUCT, PACK2]}]),
    Case("not_raised_when_every_source_was_tested", _remade(tested=(s.PACK, PACK2)), []),
]


@pytest.mark.parametrize("case", CASES, ids=ids(CASES))
def test_r09(db_url: str, case: Case) -> None:
    run_case(db_url, "R09", case)
