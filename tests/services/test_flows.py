"""Waste-battery flows between provinces, on SQLite and PostgreSQL."""

from __future__ import annotations

from battrace.services.flows import Flow, flow_totals, list_flows
from tests import story as s
from tests.web.world import build_world


def test_flows_follow_the_waste_hand_overs_of_the_story(db_url: str) -> None:
    world = build_world(db_url)
    try:
        store = world.platform.store
        # repair shop (Guangdong) → outlet (Guangdong) → re-user (Hunan); dismantler (Guangdong) → recycler (Jiangxi)
        assert set(list_flows(store)) == {Flow("440000", "440000", 1, 1), Flow("440000", "430000", 1, 1),
                                          Flow("440000", "360000", 1, 1)}
        assert flow_totals(list_flows(store)) == {"across": 2, "within": 1, "total": 3}
        assert {f.target for f in list_flows(store, jurisdiction="360000")} == {"360000"}
        assert list_flows(store, jurisdiction="110000") == []
    finally:
        world.platform.close()


def test_a_new_pack_shipped_is_no_waste_flow_but_its_later_hand_over_is(db_url: str) -> None:
    world = build_world(db_url)
    try:
        new = s.code("P", 300)
        events = [
            s.ev(800, "battery.produced", s.BATTERY_MAKER, "2026-06-01T09:00:00+08:00", battery=new, **s.FIG),
            s.ev(801, "battery.handed_over", s.BATTERY_MAKER, "2026-06-02T09:00:00+08:00", batteries=[new],
                 to=s.VEHICLE_MAKER),
            s.ev(802, "battery.received", s.VEHICLE_MAKER, "2026-06-03T09:00:00+08:00", batteries=[new],
                 **{"from": s.BATTERY_MAKER}),
        ]
        report = world.platform.ledger.ingest(enumerate(events, 1))
        assert report.accepted == 3, report.as_dict()["rejections"]
        store = world.platform.store
        fujian = [f for f in list_flows(store, waste_only=False) if f.source == "350000"]
        assert fujian == [Flow("350000", "440000", 1, 1)]  # Fujian maker → Guangdong vehicle maker
        assert not [f for f in list_flows(store) if f.source == "350000"]
    finally:
        world.platform.close()
