"""The page-data memo: reused for the same data version, recomputed when the data change."""

from __future__ import annotations

from typing import Any

import pytest

from battrace.services.oversight import data_version
from battrace.storage.store import Store
from battrace.web.cache import VersionedCache
from tests import story as s
from tests.web.conftest import Web


def test_an_entry_is_reused_only_for_the_same_version_and_within_its_lifetime() -> None:
    now = [0.0]
    cache = VersionedCache(size=2, ttl=10, clock=lambda: now[0])
    calls: list[str] = []

    def compute(value: str) -> str:
        calls.append(value)
        return value

    assert cache.get("a", 1, lambda: compute("a1")) == "a1"
    assert cache.get("a", 1, lambda: compute("again")) == "a1"
    assert cache.get("a", 2, lambda: compute("a2")) == "a2"  # the data changed
    now[0] = 11
    assert cache.get("a", 2, lambda: compute("a2-late")) == "a2-late"  # lived too long
    cache.get("b", 1, lambda: compute("b"))
    cache.get("c", 1, lambda: compute("c"))  # evicts "a", the least recently used
    assert cache.get("a", 2, lambda: compute("a-again")) == "a-again"
    assert calls == ["a1", "a2", "a2-late", "b", "c", "a-again"]
    assert (cache.hits, cache.misses) == (1, 6)


def test_the_data_version_moves_with_every_stored_event(web: Web) -> None:
    store = web.world.platform.store
    before = data_version(store)
    assert data_version(store) == before
    event = s.ev(950, "battery.produced", s.BATTERY_MAKER, "2026-11-20T09:00:00+08:00", battery=s.code("P", 950),
                 **s.FIG)
    assert web.world.platform.ledger.ingest([(1, event)]).accepted == 1
    assert data_version(store) > before


def test_the_dashboard_shows_new_data_at_once(web: Web) -> None:
    web.login("national_regulator")
    first = web.client.get("/dashboard").text
    assert web.client.get("/dashboard").text.count("kpi-value") == first.count("kpi-value")
    cache = web.client.app.state.web_cache  # type: ignore[attr-defined]
    assert cache.hits >= 1
    event = s.ev(951, "battery.produced", s.BATTERY_MAKER, "2026-11-20T09:00:00+08:00", battery=s.code("P", 951),
                 **s.FIG)
    web.world.platform.ledger.ingest([(1, event)])
    misses = cache.misses
    web.client.get("/dashboard")
    assert cache.misses == misses + 1


def test_the_forecast_is_cached_with_the_other_dashboard_data(web: Web, monkeypatch: pytest.MonkeyPatch) -> None:
    from battrace.web.pages import dashboard

    calls: list[str] = []
    real = dashboard.retirement_forecast

    def counted(store: Store, *, region_prefix: str = "") -> dict[str, Any]:
        calls.append(region_prefix)
        return real(store, region_prefix=region_prefix)

    monkeypatch.setattr(dashboard, "retirement_forecast", counted)
    web.login("regulator")
    for _ in range(2):
        assert "chart-forecast-data" in web.client.get("/dashboard").text
    assert calls == ["44"]  # the regulator's jurisdiction, computed once for this data version
    event = s.ev(952, "battery.produced", s.BATTERY_MAKER, "2026-11-20T09:00:00+08:00", battery=s.code("P", 952),
                 **s.FIG)
    web.world.platform.ledger.ingest([(1, event)])
    web.client.get("/dashboard")
    assert calls == ["44", "44"]  # new data: computed again
