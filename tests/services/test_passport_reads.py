"""The one-statement passport and history reads (PostgreSQL) give exactly the documents of the
separate statements they replace, for every battery of a simulated world: packs, modules and
cells (derived from their pack), vehicles, re-made products, open and resolved findings."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date, datetime

import pytest
from sqlalchemy import select

from battrace.services import compliance
from battrace.services.orgs import import_orgs
from battrace.services.passport import get_history, get_passport
from battrace.services.platform import Platform
from battrace.services.simulate import RULES, SimulationParams, simulate
from battrace.storage import passport_reads, schema
from tests.conftest import pg_schema

NOW = datetime.fromisoformat("2026-11-20T00:00:00+08:00")


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory, pg_url_module: str) -> Iterator[Platform]:
    out = tmp_path_factory.mktemp("world")
    params = SimulationParams(packs=12, seed=5, rates={r: 0.2 for r in RULES}, life_scale_years=6.0)
    simulate(params, out)
    events = [json.loads(line) for line in (out / "events.jsonl").read_text(encoding="utf-8").splitlines()]
    platform = Platform.open(pg_url_module)
    platform.ledger.now = lambda: NOW
    import_orgs(platform.store, json.loads((out / "orgs.json").read_text(encoding="utf-8")), NOW)
    assert platform.ledger.ingest(enumerate(events, 1), import_history=True).rejected == 0
    compliance.evaluate_as_of(platform.store, date(2026, 6, 30))
    yield platform
    platform.close()


@pytest.fixture(scope="module")
def pg_url_module() -> Iterator[str]:
    """A PostgreSQL schema for this module's world (the per-test ``pg_url`` would rebuild it per test)."""
    with pg_schema() as url:
        yield url


def test_every_passport_and_history_is_the_same_as_by_separate_statements(
        world: Platform, monkeypatch: pytest.MonkeyPatch) -> None:
    store = world.store
    with store.reader() as conn:
        codes = list(conn.execute(select(schema.batteries.c.code).order_by(schema.batteries.c.code)).scalars())
    one = {code: (get_passport(store, code), get_history(store, code)) for code in codes}
    monkeypatch.setattr(passport_reads, "DIALECTS", frozenset())  # the separate statements SQLite uses
    separate = {code: (get_passport(store, code), get_history(store, code)) for code in codes}
    assert one == separate
    # the world exercises what the statement joins: components, vehicles, lineage, findings of both kinds
    passports = [p for p, _ in one.values()]
    assert any(p["pack"] for p in passports) and any(p["children"] for p in passports)
    assert any(p["vehicle"] for p in passports) and any(p["sources"] for p in passports)
    assert any(p["pack"] and p["findings"] and any(p["pack"]["code"] in f["batteries"] for f in p["findings"])
               for p in passports)
    assert any(f["raised_at"] and f["due_at"] for p in passports for f in p["findings"])


def test_an_unknown_battery_is_still_unknown(world: Platform) -> None:
    from battrace.errors import UnknownBattery

    with pytest.raises(UnknownBattery):
        get_passport(world.store, "07HPE01A000001E350999999")
