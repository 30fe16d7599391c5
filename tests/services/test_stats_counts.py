"""The statistics' aggregates (battery_counts, retirement_counts) against a recount from the read
models and the log, after a simulated world went through the real ledger, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from collections import Counter
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import text

from battrace.config import Settings
from battrace.domain.access import region_prefix
from battrace.services.orgs import import_orgs
from battrace.services.platform import Platform
from battrace.services.simulate import SimulationParams, simulate
from battrace.services.stats import get_stats
from battrace.storage import reporting
from battrace.storage.store import Store

NOW = datetime.fromisoformat("2026-07-01T00:00:00+08:00")


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    out = tmp_path_factory.mktemp("world")
    simulate(SimulationParams(packs=40, seed=5, end=date(2026, 6, 30), life_scale_years=4.0), out)
    events = [json.loads(line) for line in (out / "events.jsonl").read_text(encoding="utf-8").splitlines() if line]
    orgs = json.loads((out / "orgs.json").read_text(encoding="utf-8"))
    return events, orgs


def recount(store: Store, level: str, prefix: str) -> dict[str, Any]:
    """The figures straight from the batteries and events tables (what the aggregates must equal)."""
    with store.reader() as conn:
        regions = {c: r for c, r in conn.execute(text("SELECT credit_code, region FROM orgs"))}
        rows = list(conn.execute(text("SELECT level, state, chemistry, coalesce(custodian, maker) FROM batteries")))
        retired = list(conn.execute(text(
            "SELECT occurred_at, reporter FROM events WHERE type IN ('battery.removed', 'battery.replaced')")))
    by_state: Counter[str] = Counter()
    by_chem: Counter[str] = Counter()
    by_region: Counter[str] = Counter()
    for lvl, state, chem, holder in rows:
        region = regions.get(holder) or ""
        if (level != "all" and lvl != level) or not region.startswith(prefix) or (prefix and not region):
            continue
        by_state[state] += 1
        by_chem[chem] += 1
        by_region[(region[:2] or "??") + "0000"] += 1
    months: Counter[str] = Counter()
    for at, reporter in retired:
        region = regions.get(reporter) or ""
        if prefix and not region.startswith(prefix):
            continue
        moment = at if isinstance(at, datetime) else datetime.fromisoformat(at.replace("Z", "+00:00"))
        months[moment.astimezone(ZoneInfo("Asia/Shanghai")).strftime("%Y-%m")] += 1
    return {"batteries_by_state": dict(by_state), "batteries_by_chemistry": dict(by_chem),
            "batteries_by_region": dict(sorted(by_region.items())),
            "retirements_per_month": dict(sorted(months.items()))}


def figures(stats: dict[str, Any]) -> dict[str, Any]:
    keys = ("batteries_by_state", "batteries_by_chemistry", "batteries_by_region", "retirements_per_month")
    return {k: dict(stats[k]) for k in keys}


def test_aggregates_equal_a_recount_and_follow_a_region_change(
    db_url: str, world: tuple[list[dict[str, Any]], list[dict[str, Any]]]
) -> None:
    events, orgs = world
    platform = Platform(Settings(database_url=db_url, rules=False), now=lambda: NOW)
    try:
        import_orgs(platform.store, orgs, NOW)
        half = len(events) // 2  # two ingests: the second moves batteries counted by the first
        for part in (events[:half], events[half:]):
            report = platform.ledger.ingest(enumerate(part, 1), import_history=True)
            assert report.rejected == 0
        store = platform.store
        assert sum(figures(get_stats(store))["retirements_per_month"].values()) > 0
        jurisdictions = sorted({o["region"][:2] + "0000" for o in orgs if o.get("region")})[:2]
        for jurisdiction in [None, *jurisdictions]:  # packs: from the aggregates
            prefix = region_prefix(jurisdiction) if jurisdiction else ""
            assert figures(get_stats(store, jurisdiction=jurisdiction)) == recount(store, "P", prefix)
        with store.reader() as conn:  # the aggregates count every level: cells and modules too, where
            counted = Counter({(lvl, st): int(n) for lvl, st, n in conn.execute(text(  # their pack puts them
                "SELECT level, state, sum(n) FROM battery_counts GROUP BY level, state")) if n})
            actual = Counter({(lvl, st): int(n) for lvl in ("P", "M", "C")
                              for st, n in reporting.statistics(conn, prefix="", level=lvl)["by_state"].items()})
        assert counted == actual and {lvl for lvl, _ in actual} >= {"P", "M", "C"}

        mover = next(o for o in orgs if o.get("region") and o["type"] == "battery_maker")
        moved = {**mover, "region": "650100" if not mover["region"].startswith("65") else "110000"}
        import_orgs(store, [moved], NOW)
        assert figures(get_stats(store)) == recount(store, "P", "")
        moved_prefix = region_prefix(moved["region"])
        assert figures(get_stats(store, jurisdiction=moved["region"])) == recount(store, "P", moved_prefix)
    finally:
        platform.close()
