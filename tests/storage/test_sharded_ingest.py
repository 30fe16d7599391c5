"""``battrace ingest --workers N``: a simulated world ingested by several writer processes at once
ends in the same place as one writer (PostgreSQL), and the shares never split a battery's events."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from sqlalchemy import text

from battrace.interop.jsonl import read_jsonl
from battrace.services.ledger import Ledger
from battrace.services.orgs import import_orgs
from battrace.services.sharded_ingest import ingest_sharded, plan_shares, streams_named
from battrace.services.simulate import SimulationParams, simulate
from battrace.services.verify import verify
from battrace.storage.store import Store

NOW = datetime(2026, 12, 1, tzinfo=UTC)


def test_lines_that_share_a_stream_share_a_writer(tmp_path: Path) -> None:
    lines = [
        {"type": "battery.produced", "battery": "C1"},
        {"type": "battery.produced", "battery": "C2"},
        {"type": "battery.produced", "battery": "X9"},
        {"type": "battery.produced", "battery": "M1", "components": ["C1", "C2"]},
        {"type": "vehicle.certified", "vin": "V1", "batteries": ["M1"]},
        {"type": "vehicle.sold", "vin": "V1"},
        {"type": "battery.tested", "battery": "X9"},
    ]
    path = tmp_path / "events.jsonl"
    path.write_text("".join(json.dumps(x) + "\n" for x in lines) + "not json\n", encoding="utf-8")
    plan = plan_shares(path, 2)
    assert len({plan[i] for i in (0, 1, 3, 4, 5)}) == 1  # C1, C2, M1 and V1 are one family
    assert plan[2] == plan[6] != plan[0]  # X9 is another, dealt to the other writer
    assert plan[7] == 0  # unreadable: share 0, where the ledger reports it
    assert streams_named({"type": "techinfo.filed", "reporter": "R", "model": "X1"}) == ["techinfo:R:X1"]


@pytest.mark.parametrize(("writers", "packs"), [(2, 20), pytest.param(4, 60, marks=pytest.mark.slow)])
def test_writers_end_where_one_writer_ends(tmp_path: Path, pg_url: str, sqlite_url: str, writers: int,
                                           packs: int) -> None:
    """N writer processes on PostgreSQL end with the same events and read models as one writer on
    SQLite. The default run: 2 writers, 20 packs; ``-m slow``: 4 writers, 60 packs."""
    world = tmp_path / "world"
    simulate(SimulationParams(packs=packs, seed=11, end=date(2026, 6, 30)), world)
    orgs = json.loads((world / "orgs.json").read_text(encoding="utf-8"))
    events = world / "events.jsonl"

    one = Store(sqlite_url)
    import_orgs(one, orgs, NOW)
    single = Ledger(one, now=lambda: NOW).ingest(read_jsonl(events), import_history=True)
    assert single.rejected == 0 and single.accepted > 15 * packs

    many = Store(pg_url)
    import_orgs(many, orgs, NOW)
    report = ingest_sharded(pg_url, events, writers, import_history=True, now=NOW)
    assert (report.accepted, report.duplicate, report.rejected) == (single.accepted, single.duplicate, 0)
    assert len(report.writers) == writers and all(w["accepted"] > 0 for w in report.writers)
    assert verify(many).ok

    query = text("SELECT code, state, custodian, version, doc FROM batteries ORDER BY code")
    with one.reader() as a, many.reader() as b:
        assert a.execute(query).all() == b.execute(query).all()  # the same read models, heads aside
    one.close()
    many.close()
