"""The statistics of every level (packs, modules, cells, all) read from the aggregates equal the live
count from the read models (:func:`battrace.storage.reporting.statistics`), a component counted where
its pack puts it; on SQLite and PostgreSQL, through the real ledger."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date, datetime
from typing import Any

import pytest
from sqlalchemy import text

from battrace.config import Settings
from battrace.domain.access import region_prefix
from battrace.services.counts import rebuild_counts, rebuild_counts_in_parts
from battrace.services.orgs import import_orgs
from battrace.services.platform import Platform
from battrace.services.simulate import SimulationParams, simulate
from battrace.services.stats import get_stats
from battrace.services.verify import Context, VerifyReport, check_aggregates
from battrace.storage import reporting
from battrace.storage.store import Store
from tests import story as s
from tests.rules.scenarios import Events, Scenario
from tests.services.test_wholelife import SCRAP_DISMANTLE_RECYCLE, SWAP_STOCK_TO_WASTE, _named

NOW = datetime.fromisoformat("2026-07-01T00:00:00+08:00")
LEVELS = ("P", "M", "C", "all")


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    out = tmp_path_factory.mktemp("world")
    simulate(SimulationParams(packs=60, seed=11, end=date(2026, 6, 30), life_scale_years=4.0), out)
    events = [json.loads(line) for line in (out / "events.jsonl").read_text(encoding="utf-8").splitlines() if line]
    orgs = json.loads((out / "orgs.json").read_text(encoding="utf-8"))
    return events, orgs


def live(store: Store, level: str, jurisdiction: str | None) -> dict[str, Any]:
    """What ``get_stats`` must answer, counted live from the read models and the log."""
    prefix = region_prefix(jurisdiction) if jurisdiction else ""
    with store.reader() as conn:
        r = reporting.statistics(conn, prefix=prefix, level=level)
    return {"level": level, "jurisdiction": jurisdiction, "batteries_by_state": r["by_state"],
            "batteries_by_chemistry": r["by_chemistry"], "batteries_by_region": dict(sorted(r["by_region"].items())),
            "retirements_per_month": r["retirements"], "findings_per_rule": dict(sorted(r["findings"].items()))}


def problems(store: Store) -> list[dict[str, Any]]:
    report = VerifyReport()
    with store.reader() as conn:
        check_aggregates(Context(store, conn, report))
    return report.problems


def assert_every_level_live(store: Store, jurisdictions: list[str | None]) -> None:
    for level in LEVELS:
        for jurisdiction in jurisdictions:
            assert get_stats(store, jurisdiction=jurisdiction, level=level) == live(store, level, jurisdiction), \
                (level, jurisdiction)


def test_every_level_from_the_aggregates_equals_the_live_count(
    db_url: str, world: tuple[list[dict[str, Any]], list[dict[str, Any]]]
) -> None:
    events, orgs = world
    platform = Platform(Settings(database_url=db_url, rules=False), now=lambda: NOW)
    try:
        import_orgs(platform.store, orgs, NOW)
        third = len(events) // 3  # three ingests: later batches move components counted by earlier ones
        for part in (events[:third], events[third:2 * third], events[2 * third:]):
            assert platform.ledger.ingest(enumerate(part, 1), import_history=True).rejected == 0
        store = platform.store
        jurisdictions: list[str | None] = [None, *sorted({o["region"][:2] + "0000" for o in orgs
                                                          if o.get("region")})[:2]]
        assert_every_level_live(store, jurisdictions)
        with store.reader() as conn:  # the world has components whose pack changed their fate
            followed = conn.execute(text(
                "SELECT count(*) FROM batteries b JOIN batteries p ON p.code = b.parent "
                "WHERE p.state IN ('waste', 'in_transit', 'recycled', 'remade', 'swap_stock', 'missing')")).scalar_one()
        assert followed > 0
        cells = get_stats(store, level="C")["batteries_by_state"]
        assert set(cells) - {"produced", "assembled"}, cells
        assert problems(store) == []

        # the migration's backfill gives the same figures as the ledger kept
        from alembic import command

        from battrace.storage.migrate import alembic_config

        kept = {level: get_stats(store, level=level) for level in LEVELS}
        cfg = alembic_config()
        for fn, target in ((command.downgrade, "0013"), (command.upgrade, "0014")):
            with store.engine.begin() as conn:
                cfg.attributes["connection"] = conn
                fn(cfg, target)
        assert {level: get_stats(store, level=level) for level in LEVELS} == kept
        assert problems(store) == []
    finally:
        platform.close()


@pytest.fixture
def sc(db_url: str) -> Iterator[Scenario]:
    scenario = Scenario(db_url)
    yield scenario
    scenario.close()


@pytest.mark.parametrize("steps", [SCRAP_DISMANTLE_RECYCLE, SWAP_STOCK_TO_WASTE], ids=["dismantle", "swap"])
def test_components_follow_their_pack_in_the_counts(sc: Scenario, steps: Any) -> None:
    """A pack with two modules of two cells each changes state and custodian (sold, scrapped, removed,
    handed to a recycler in another province, dismantled freeing one module, recycled): after each
    step the module and cell counts are where the pack puts them, from the aggregates."""
    store = sc.platform.store
    seen: set[tuple[str, str]] = set()
    for step in steps:
        e = Events(items=[])
        step.build(e)
        sc.ingest(_named(f"counts-{step.name}", e))
        assert_every_level_live(store, [None, "440000", "360000"])
        for code, (state, custodian, _) in step.expect.items():
            if code in s.CELLS:
                seen.add((state, custodian or ""))
        assert problems(store) == []
    if steps is SCRAP_DISMANTLE_RECYCLE:
        # the cells moved with the pack: waste at the dismantler (Shenzhen), then at the recycler (Jiangxi)
        assert {("waste", s.DISMANTLER), ("waste", s.RECYCLER), ("recycled", s.RECYCLER)} <= seen
        cells = get_stats(store, level="C")
        assert cells["batteries_by_state"] == {"recycled": 4}
        assert cells["batteries_by_region"] == {"360000": 4}


def test_a_tampered_aggregate_is_reported_and_rebuilt(sc: Scenario) -> None:
    e = Events(items=[])
    SCRAP_DISMANTLE_RECYCLE[0].build(e)
    SCRAP_DISMANTLE_RECYCLE[1].build(e)
    sc.ingest(_named("tamper", e))
    store = sc.platform.store
    assert problems(store) == []
    assert get_stats(store, level="C")["batteries_by_state"] == {"waste": 4}
    with store.writer() as conn:  # one cell counted in the wrong bucket: as its own stored state says
        conn.execute(text("UPDATE battery_counts SET n = n - 1 WHERE level = 'C' AND state = 'waste' AND slot = "
                          "(SELECT min(slot) FROM battery_counts WHERE level = 'C' AND state = 'waste' AND n > 0)"))
        conn.execute(text("INSERT INTO battery_counts (level, state, chemistry, region, slot, n) "
                          "VALUES ('C', 'assembled', 'LFP', '440300', 99, 1)"))
    found = problems(store)
    assert {p["kind"] for p in found} == {"aggregate"}
    assert {tuple(p["key"][:2]) for p in found} == {("C", "waste"), ("C", "assembled")}
    assert all(p["table"] == "battery_counts" for p in found)
    rebuild_counts(store)
    assert problems(store) == []
    assert get_stats(store, level="C")["batteries_by_state"] == {"waste": 4}
    counted = {level: get_stats(store, level=level) for level in LEVELS}
    with store.writer() as conn:  # tampered again: the recount in parts (bench/scale.py's) mends it alike
        conn.execute(text("UPDATE battery_counts SET n = n + 5 WHERE level = 'M'"))
    assert problems(store)
    seconds = rebuild_counts_in_parts(store)
    assert set(seconds) >= {"battery_counts", "retirement_counts", "reporter_counts", "write"}
    assert problems(store) == []
    assert {level: get_stats(store, level=level) for level in LEVELS} == counted


PACKS = [s.code("P", 600 + i) for i in range(6)]


def _tree(i: int) -> tuple[list[str], list[str]]:
    """Pack ``i``'s two modules and four cells."""
    modules = [s.code("M", 600 + 2 * i + j) for j in range(2)]
    cells = [s.code("C", 600 + 4 * i + j) for j in range(4)]
    return modules, cells


def _moving_packs() -> Events:
    """Writer 0: each pack discarded at the end of the line, then handed to a recycler in another
    province (its components' state and holder change with it)."""
    e = Events(items=[])
    for pack in PACKS:
        e.add("battery.discarded", s.BATTERY_MAKER, "2024-03-06", battery=pack, reason="insulation test failed")
        e.transfer([pack], s.BATTERY_MAKER, s.RECYCLER, "2024-03-10")
    return _named("mover", e)


def _testing_components() -> Events:
    """Writer 1: every module and cell tested by its maker, three times (the event a component in a pack
    may take on its own), at the same time."""
    e = Events(items=[])
    for day in ("2024-03-07", "2024-03-08", "2024-03-09"):
        for i in range(len(PACKS)):
            modules, cells = _tree(i)
            for code in modules + cells:
                e.test(code, s.BATTERY_MAKER, day)
    return _named("tester", e)


def run_component_writer(url: str, which: int, start: Any, results: Any) -> None:
    platform = Platform(Settings(database_url=url, rules=False), now=lambda: NOW)
    platform.ledger.batch_size = 1  # one transaction per event: the two writers interleave
    events = (_moving_packs() if which == 0 else _testing_components()).items
    rows = [dict(x, recorded_at=x["occurred_at"]) for x in events]
    start.wait()
    report = platform.ledger.ingest(list(enumerate(rows, 1)), import_history=True)
    results.put((which, report.accepted, report.rejected, platform.ledger.retries))
    platform.close()


def test_components_counted_exactly_while_one_writer_moves_packs_and_another_tests_their_cells(pg_url: str) -> None:
    import multiprocessing

    sc = Scenario(pg_url)
    try:
        e = Events(items=[])
        for i, pack in enumerate(PACKS):
            modules, cells = _tree(i)
            for c in cells:
                e.add("battery.produced", s.BATTERY_MAKER, "2024-03-05", battery=c, **s.CELL)
            for j, m in enumerate(modules):
                e.add("battery.produced", s.BATTERY_MAKER, "2024-03-05", battery=m, components=cells[2 * j: 2 * j + 2],
                      **{**s.CELL, "model": "M1"})
            e.produce(pack, "2024-03-05", components=modules)
        sc.ingest(_named("trees", e))
        ctx = multiprocessing.get_context("spawn")
        start, results = ctx.Barrier(2), ctx.Queue()
        procs = [ctx.Process(target=run_component_writer, args=(pg_url, k, start, results)) for k in range(2)]
        for p in procs:
            p.start()
        returned = sorted(results.get(timeout=300) for _ in procs)
        for p in procs:
            p.join(timeout=60)
            assert p.exitcode == 0
        assert [(which, rejected) for which, _, rejected, _ in returned] == [(0, 0), (1, 0)]
        assert returned[0][1] == 3 * len(PACKS) and returned[1][1] == 3 * 6 * len(PACKS)
        store = sc.platform.store
        assert problems(store) == []
        assert_every_level_live(store, [None, "360000", "350000"])
        assert get_stats(store, level="C")["batteries_by_state"] == {"waste": 4 * len(PACKS)}
        assert get_stats(store, level="C")["batteries_by_region"] == {"360000": 4 * len(PACKS)}
    finally:
        sc.close()
