"""The supervision simulation on a small simulated world: outlets, cases in every state with
verifiable chains, public reports; deterministic for a seed."""

from __future__ import annotations

from pathlib import Path

from battrace.domain.access import Caller
from battrace.services.cases import case_stats, list_cases
from battrace.services.outlets import list_outlets
from battrace.services.reports import list_reports
from battrace.services.simulate.supervision import populate
from battrace.services.verify import verify
from battrace.storage.supervision import waste_pack_codes
from tests.web.world import SIM_END, build_world


def test_populate_makes_a_living_supervision_picture(tmp_path: Path) -> None:
    world = build_world(f"sqlite:///{tmp_path / 'w.db'}", packs=120, work=tmp_path / "sim")
    store = world.platform.store
    with store.reader() as conn:
        retired = len(waste_pack_codes(conn, 12))  # reports are made on retired packs, as many as there are
    counts = populate(world.platform, seed=7, end=SIM_END, case_rate=0.5, reports=12)
    assert retired >= 6
    assert counts["outlets"] > 0 and counts["cases"] > 5 and counts["reports"] == retired, counts
    stats = case_stats(store)
    assert stats["total"] == counts["cases"]
    assert stats["closed"] == counts["closed"] and stats["closed"] > 0
    assert stats["mean_days_to_close"] is not None and stats["mean_days_to_close"] > 1
    assert sum(1 for n in stats["by_state"].values() if n) >= 3  # cases in several states
    admin = Caller(admin=True)
    assert len(list_cases(store, admin, limit=1000)) == counts["cases"]
    states = {r["state"] for r in list_reports(store, admin, limit=100)}
    assert {"received", "linked", "dismissed"} <= states
    assert any(o["address"] for o in list_outlets(store))
    assert verify(store).ok
    world.platform.close()
