"""Read-only routes on a real PostgreSQL streaming standby (``BATTRACE_READ_DATABASE_URL``).

What a reader sees while the replica lags: the replica's (older) answer, with the lag in
``X-Battrace-Replica-Lag``; a writer that sends back its write's ``X-Battrace-Commit-LSN`` as
``X-Battrace-Min-LSN`` is answered from the primary until the replica has replayed that far.
Lag is made deterministic by pausing the standby's replay (``pg_wal_replay_pause()``).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine

from battrace.api import create_app
from battrace.config import Settings
from battrace.services.access import create_key
from battrace.services.orgs import import_orgs
from battrace.services.platform import Platform
from battrace.storage.replica import has_replayed, lag_seconds
from tests import story as s
from tests.replica.pgpair import Pair, stop, streaming_pair, unavailable, wait_until

pytestmark = pytest.mark.postgres

NOW = datetime(2026, 11, 21, 8, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def pair() -> Iterator[Pair]:
    reason = unavailable()
    if reason:
        pytest.skip(f"no streaming standby can be made here: {reason}")
    with streaming_pair() as p:
        yield p


def _with_schema(url: str, schema: str) -> str:
    return f"{url}?options=-csearch_path%3D{schema}"


class Setup:
    def __init__(self, pair: Pair) -> None:
        self.schema = f"t_{uuid.uuid4().hex[:12]}"
        self.admin = create_engine(pair.primary_url)
        self.standby = create_engine(pair.standby_url, isolation_level="AUTOCOMMIT")
        with self.admin.begin() as conn:
            conn.exec_driver_sql(f'CREATE SCHEMA "{self.schema}"')
        settings = Settings(database_url=_with_schema(pair.primary_url, self.schema),
                            read_database_url=_with_schema(pair.standby_url, self.schema))
        self.platform = Platform(settings, now=lambda: NOW)
        import_orgs(self.platform.store, s.orgs(), NOW)
        self.maker = {"Authorization": f"Bearer {create_key(self.platform.store, s.BATTERY_MAKER, NOW)}"}
        self.admin_key = {"Authorization": f"Bearer {create_key(self.platform.store, None, NOW, admin=True)}"}
        self.client = TestClient(create_app(self.platform, with_web=False))

    def post(self, events: list[dict[str, Any]]) -> str:
        r = self.client.post("/api/v1/events", json=events, headers=self.maker)
        assert r.status_code == 200 and r.json()["rejected"] == 0, r.json()
        lsn = r.headers["X-Battrace-Commit-LSN"]
        return lsn

    def replay(self, *, paused: bool) -> None:
        with self.standby.connect() as conn:
            conn.exec_driver_sql("SELECT pg_wal_replay_pause()" if paused else "SELECT pg_wal_replay_resume()")

    def received(self, lsn: str) -> bool:
        with self.standby.connect() as conn:
            return bool(conn.exec_driver_sql("SELECT pg_last_wal_receive_lsn() >= %s::pg_lsn", (lsn,)).scalar())

    def close(self) -> None:
        self.client.close()
        self.replay(paused=False)
        self.platform.close()
        with self.admin.begin() as conn:
            conn.exec_driver_sql(f'DROP SCHEMA "{self.schema}" CASCADE')
        self.admin.dispose()
        self.standby.dispose()


@pytest.fixture
def setup(pair: Pair) -> Iterator[Setup]:
    st = Setup(pair)
    yield st
    st.close()


def produced(n: int) -> dict[str, Any]:
    return s.ev(n, "battery.produced", s.BATTERY_MAKER, "2024-03-05T09:00:00+08:00",
                battery=s.code("P", 500 + n), **s.FIG)


def test_read_routes_are_answered_by_the_standby(setup: Setup) -> None:
    lsn = setup.post([produced(1)])
    wait_until(lambda: has_replayed(setup.platform.read_store, lsn), "the standby to replay the write")
    with setup.platform.read_store.reader() as conn:  # the read store really is the standby
        assert conn.exec_driver_sql("SELECT pg_is_in_recovery()").scalar() is True
    code = s.code("P", 501)
    public = setup.client.get(f"/api/v1/public/batteries/{code}")
    assert public.status_code == 200 and public.json()["code"] == code
    assert public.headers["X-Battrace-Read-From"] == "replica"
    assert float(public.headers["X-Battrace-Replica-Lag"]) >= 0
    full = setup.client.get(f"/api/v1/batteries/{code}", headers=setup.maker)
    assert full.status_code == 200 and full.headers["X-Battrace-Read-From"] == "replica"
    assert full.json()["version"] == 1
    history = setup.client.get(f"/api/v1/batteries/{code}/history", headers=setup.maker)
    assert history.status_code == 200 and len(history.json()["events"]) == 1
    stats = setup.client.get("/api/v1/stats", headers=setup.admin_key)
    assert stats.status_code == 200 and stats.headers["X-Battrace-Read-From"] == "replica"
    assert stats.json()["batteries_by_state"] == {"produced": 1}
    ready = setup.client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["checks"] == {"database": "ok", "migrations": "ok", "replica": "ok"}


def test_during_lag_a_reader_sees_the_replica_and_the_writer_reads_its_writes(setup: Setup) -> None:
    first = setup.post([produced(1)])
    wait_until(lambda: has_replayed(setup.platform.read_store, first), "the standby to replay the first write")
    setup.replay(paused=True)
    lsn = setup.post([produced(2)])
    wait_until(lambda: setup.received(lsn), "the standby to receive (not replay) the second write")
    code = s.code("P", 502)

    stale = setup.client.get(f"/api/v1/public/batteries/{code}")
    assert stale.status_code == 404  # the replica has not replayed it: another reader does not see it yet
    assert stale.headers["X-Battrace-Read-From"] == "replica"
    assert float(stale.headers["X-Battrace-Replica-Lag"]) > 0
    assert not has_replayed(setup.platform.read_store, lsn)
    lag = lag_seconds(setup.platform.read_store)
    assert lag is not None and lag > 0

    mine = setup.client.get(f"/api/v1/public/batteries/{code}", headers={"X-Battrace-Min-LSN": lsn})
    assert mine.status_code == 200 and mine.headers["X-Battrace-Read-From"] == "primary"
    older = setup.client.get(f"/api/v1/public/batteries/{s.code('P', 501)}", headers={"X-Battrace-Min-LSN": first})
    assert older.status_code == 200 and older.headers["X-Battrace-Read-From"] == "replica"

    metrics = setup.client.get("/metrics").text
    line = next(x for x in metrics.splitlines() if x.startswith("battrace_replica_lag_seconds "))
    assert float(line.split()[1]) > 0

    setup.replay(paused=False)
    wait_until(lambda: has_replayed(setup.platform.read_store, lsn), "the standby to replay after resuming")
    caught_up = setup.client.get(f"/api/v1/public/batteries/{code}")
    assert caught_up.status_code == 200 and caught_up.headers["X-Battrace-Read-From"] == "replica"


def test_a_malformed_lsn_is_refused_by_name(setup: Setup) -> None:
    r = setup.client.get(f"/api/v1/public/batteries/{s.code('P', 501)}", headers={"X-Battrace-Min-LSN": "yesterday"})
    assert r.status_code == 422
    assert r.json()["code"] == "invalid_input" and "X-Battrace-Min-LSN" in r.json()["error"]


def test_an_unreachable_replica_falls_back_to_the_primary_and_is_not_ready() -> None:
    """Its own pair: the standby is stopped half-way."""
    reason = unavailable()
    if reason:
        pytest.skip(f"no streaming standby can be made here: {reason}")
    with streaming_pair() as pair:
        st = Setup(pair)
        try:
            st.post([produced(1)])
            stop(pair.standby_dir)
            r = st.client.get(f"/api/v1/public/batteries/{s.code('P', 501)}")
            assert r.status_code == 200 and r.headers["X-Battrace-Read-From"] == "primary"
            ready = st.client.get("/readyz")
            assert ready.status_code == 503 and ready.json()["code"] == "not_ready"
            assert ready.json()["context"]["checks"]["replica"] != "ok"
            assert st.client.get("/healthz").status_code == 200
        finally:
            st.client.close()
            st.platform.close()
            st.admin.dispose()
            st.standby.dispose()
