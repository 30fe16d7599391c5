"""Concurrent ledger writers on PostgreSQL: no global lock, and still no lost, doubled or twice-decided event.

Several writer *processes* ingest at once into one database, in small batches so that their
transactions interleave, over batteries that only one of them touches (disjoint), batteries that
all of them test (overlapping streams: each writer's events must land on the chain, none lost),
the very same ``(reporter, event_id)`` sent by every writer (one ``accepted``, the rest
``duplicate``) and packs that every writer tries to install into its own vehicle (one wins, the
others are refused: the conflict is decided once, on a fresh view).
"""

from __future__ import annotations

import multiprocessing
from collections import Counter
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import text

from battrace.config import Settings
from battrace.domain.vin import with_check_digit
from battrace.services.orgs import import_orgs
from battrace.services.platform import Platform
from battrace.services.verify import verify
from tests import story as s

NOW = datetime(2026, 11, 21, 8, 0, tzinfo=UTC)
WRITERS = 4
SHARED = [s.code("P", 700 + i) for i in range(6)]  # tested by every writer
CONTESTED = [s.code("P", 800 + i) for i in range(4)]  # every writer tries to install each one
T0 = "2024-03-05T09:00:00+08:00"


def _tested(event_id: str, code: str, soh: float, day: int) -> dict[str, Any]:
    return {"event_id": event_id, "type": "battery.tested", "reporter": s.BATTERY_MAKER,
            "occurred_at": f"2024-04-{day:02d}T09:00:00+08:00", "battery": code, "soh": soh, "method": "gbt34015",
            "measured_capacity_ah": 140.0}


def _produced(event_id: str, code: str) -> dict[str, Any]:
    return {"event_id": event_id, "type": "battery.produced", "reporter": s.BATTERY_MAKER, "occurred_at": T0,
            "battery": code, **s.FIG}


def _vin(writer: int, j: int) -> str:
    return with_check_digit(f"LGXCE4CB0R{writer:03d}{j:03d}1")


def writer_events(k: int) -> list[dict[str, Any]]:
    own = [s.code("P", 1000 + 100 * k + i) for i in range(8)]
    events: list[dict[str, Any]] = [_produced(f"w{k}-p{i}", code) for i, code in enumerate(own)]
    for round_ in range(3):
        for i, code in enumerate(SHARED):
            events.append(_tested(f"w{k}-t{round_}-{i}", code, 0.9, 1 + round_))
            events.append(_tested(f"same-{round_}-{i}", code, 0.95, 10 + round_))  # sent by every writer
        for i, code in enumerate(own):
            events.append(_tested(f"w{k}-o{round_}-{i}", code, 0.9, 1 + round_))
    for j, code in enumerate(CONTESTED):
        events.append({"event_id": f"w{k}-cert-{j}", "type": "vehicle.certified", "reporter": s.VEHICLE_MAKER,
                       "occurred_at": "2024-05-01T10:00:00+08:00", "vin": _vin(k, j), "vehicle_model": "E1",
                       "swap_model": False, "batteries": [code], "certificate_no": f"WAB{k:03d}{j:04d}",
                       "region": "440300"})
    return events


def run_writer(url: str, k: int, start: Any, results: Any) -> None:
    platform = Platform(Settings(database_url=url), now=lambda: NOW)
    platform.ledger.batch_size = 3  # many small transactions: the writers interleave
    events = writer_events(k)
    start.wait()
    report = platform.ledger.ingest(list(enumerate(events, 1)))
    results.put(([(o.event_id, o.status, o.code) for o in report.outcomes], platform.ledger.retries))
    platform.close()


@pytest.mark.parametrize("writers", [WRITERS])
def test_concurrent_writers_lose_nothing_double_nothing_and_decide_each_conflict_once(
        pg_url: str, writers: int) -> None:
    platform = Platform(Settings(database_url=pg_url), now=lambda: NOW)
    import_orgs(platform.store, s.orgs(), NOW)
    base = platform.ledger.ingest(list(enumerate(
        [_produced(f"base-{i}", c) for i, c in enumerate(SHARED + CONTESTED)], 1)))
    assert base.accepted == len(SHARED + CONTESTED)

    ctx = multiprocessing.get_context("spawn")
    start, results = ctx.Barrier(writers), ctx.Queue()
    procs = [ctx.Process(target=run_writer, args=(pg_url, k, start, results)) for k in range(writers)]
    for p in procs:
        p.start()
    returned = [results.get(timeout=300) for _ in procs]
    outcomes = [per for per, _ in returned]
    for p in procs:
        p.join(timeout=60)
        assert p.exitcode == 0

    accepted = Counter(eid for per in outcomes for eid, status, _ in per if status == "accepted")
    statuses = Counter((eid, status) for per in outcomes for eid, status, _ in per)
    # every writer's own and overlapping events landed once
    for k in range(writers):
        own = [e["event_id"] for e in writer_events(k) if not e["event_id"].startswith(("same-", f"w{k}-cert"))]
        assert all(accepted[eid] == 1 for eid in own), [eid for eid in own if accepted[eid] != 1]
    # the same (reporter, event_id) from every writer at once: one accepted, the others duplicate
    same = {e["event_id"] for e in writer_events(0) if e["event_id"].startswith("same-")}
    for eid in same:
        assert statuses[(eid, "accepted")] == 1 and statuses[(eid, "duplicate")] == writers - 1, eid
    # each contested pack went into exactly one vehicle; the other writers were refused
    certs = [(k, j) for k in range(writers) for j in range(len(CONTESTED)) if accepted[f"w{k}-cert-{j}"]]
    assert sorted(j for _, j in certs) == list(range(len(CONTESTED)))
    refused = [code for per in outcomes for eid, status, code in per if "-cert-" in eid and status == "rejected"]
    assert len(refused) == (writers - 1) * len(CONTESTED) and set(refused) == {"invalid_transition"}

    with platform.store.reader() as conn:
        stored = conn.execute(text("SELECT event_id, count(*) FROM events GROUP BY event_id")).all()
        shared_versions = dict(conn.execute(
            text("SELECT code, version FROM batteries WHERE code = ANY(:codes)"), {"codes": SHARED}).all())
    assert all(n == 1 for _, n in stored)  # nothing doubled
    assert len(stored) == sum(accepted.values()) + base.accepted  # nothing lost
    per_shared = 1 + 3 * (writers + 1)  # produced, then each round: one test per writer and the shared one
    assert shared_versions == {code: per_shared for code in SHARED}
    # the writers did overlap (with one global lock no batch would ever have had to be decided again)
    assert sum(retries for _, retries in returned) > 0
    report = verify(platform.store)
    assert report.ok, report.as_dict()
    platform.close()
