"""On a demo-like world: every module or cell whose pack is retired answers "retired" on the public
check, and no recycled battery is graded for re-use."""

from __future__ import annotations

import random

from fastapi.testclient import TestClient
from sqlalchemy import select

from battrace.api import create_app
from battrace.services.health import health_summary
from battrace.services.passport import get_passport
from battrace.storage import schema
from tests.web.world import World

SAMPLE = 25


def _components_of(world: World, states: tuple[str, ...]) -> list[str]:
    """Codes of modules and cells whose outermost pack is in one of ``states``."""
    b = schema.batteries
    p1, p2 = b.alias("p1"), b.alias("p2")
    root_state = select(b.c.code, p1.c.state, p2.c.state).select_from(
        b.join(p1, p1.c.code == b.c.parent).outerjoin(p2, p2.c.code == p1.c.parent))
    with world.platform.store.reader() as conn:
        rows = conn.execute(root_state).all()
    return sorted(code for code, parent, grand in rows if (grand or parent) in states)


def test_components_of_retired_packs_answer_retired(big_world: World) -> None:
    recycled = _components_of(big_world, ("recycled",))
    retired = _components_of(big_world, ("waste", "dismantled", "remade", "in_transit"))
    assert recycled and retired, "the demo-like world has components of recycled and of other retired packs"
    rng = random.Random(11)
    sample = rng.sample(recycled, min(SAMPLE, len(recycled))) + rng.sample(retired, min(SAMPLE, len(retired)))
    with TestClient(create_app(big_world.platform)) as client:
        client.get("/", params={"lang": "en"})
        for code in sample:
            page = client.get(f"/b/{code}")
            assert page.status_code == 200
            assert "Yes — this is a retired EV battery" in page.text, code
            view = client.get(f"/api/v1/public/batteries/{code}").json()
            assert view["retired_ev_battery"] is True and view["pack"]["retired"] is True, code
            assert view["pack"]["code"] in page.text  # the pack it belonged to, by code


def test_no_recycled_battery_is_graded_for_reuse(big_world: World) -> None:
    b = schema.batteries
    with big_world.platform.store.reader() as conn:
        codes = list(conn.execute(select(b.c.code).where(b.c.state.in_(("recycled", "dismantled", "remade")))
                                  .order_by(b.c.code)).scalars())
    graded = 0
    for code in codes:
        summary = health_summary(get_passport(big_world.platform.store, code))
        if summary["decision"] is not None:
            graded += 1
            assert summary["decision"]["path"] != "reuse", code
            assert summary["value"] is None or summary["value"]["reuse_allowed"] is False, code
    assert graded > 0
