"""The versioned log and ``battrace rebuild``, on SQLite and PostgreSQL.

A stored event of an older schema version (written here directly, with an upcaster registered for
the test) still loads, folds and verifies; ``rebuild`` replays the log into the read models with
the fold ``verify`` compares with, and restores a tampered read model."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, insert, select, text

from battrace.config import Settings
from battrace.domain import events as events_module
from battrace.domain import upcasting
from battrace.domain.events import EVENT_VERSIONS, canonical_json
from battrace.errors import BattraceError, InvalidEvent, LogTampered
from battrace.services.ledger import event_hash, link_hash
from battrace.services.orgs import import_orgs
from battrace.services.passport import get_passport
from battrace.services.platform import Platform
from battrace.services.rebuild import rebuild
from battrace.services.verify import verify
from battrace.storage import schema
from tests import story as s
from tests.storage.test_verify_tamper import scalar, tamper

NOW = datetime(2026, 11, 21, 8, 0, tzinfo=UTC)


@pytest.fixture
def platform(db_url: str) -> Iterator[Platform]:
    p = Platform(Settings(database_url=db_url), now=lambda: NOW)
    import_orgs(p.store, s.orgs(), NOW)
    assert p.ledger.ingest(list(enumerate(s.story(), 1))).rejected == 0
    yield p
    p.close()


@pytest.fixture
def tested_v2(monkeypatch: pytest.MonkeyPatch) -> None:
    """``battery.tested`` at schema version 2 for this test: version 1 reported ``soh_percent``."""

    def soh_as_fraction(content: dict[str, Any]) -> dict[str, Any]:
        out = {k: v for k, v in content.items() if k != "soh_percent"}
        return out | {"soh": content["soh_percent"] / 100}

    monkeypatch.setitem(EVENT_VERSIONS, "battery.tested", 2)
    monkeypatch.setitem(upcasting.UPCASTERS, ("battery.tested", 1), soh_as_fraction)


def append_directly(p: Platform, content: dict[str, Any], stream: str, version: int) -> int:
    """Append an event and its stream link as an older platform did, bypassing today's ledger."""
    body = canonical_json(content)
    recorded = NOW + timedelta(minutes=5)
    with p.store.engine.begin() as conn:
        seq = int(conn.execute(select(func.max(schema.events.c.seq))).scalar_one()) + 1
        stream_version, head = conn.execute(
            select(schema.event_links.c.version, schema.event_links.c.hash)
            .where(schema.event_links.c.stream == stream)
            .order_by(schema.event_links.c.version.desc()).limit(1)).one()
        digest = event_hash(seq, recorded, False, body)
        conn.execute(insert(schema.events).values(
            seq=seq, reporter=content["reporter"], event_id=content["event_id"], type=content["type"],
            occurred_at=datetime.fromisoformat(content["occurred_at"]), recorded_at=recorded, imported=False,
            body=body, hash=digest, schema_version=version))
        conn.execute(insert(schema.event_links).values(stream=stream, version=stream_version + 1, seq=seq,
                                                       hash=link_hash(head, digest)))
    return seq


def old_test_of_spare() -> dict[str, Any]:
    return {"event_id": "old-format-1", "type": "battery.tested", "occurred_at": "2026-11-21T15:30:00+08:00",
            "reporter": s.OUTLET, "battery": s.SPARE, "soh_percent": 91.0}


def test_the_ledger_stores_each_events_schema_version(platform: Platform) -> None:
    with platform.store.reader() as conn:
        rows = conn.execute(select(schema.events.c.type, schema.events.c.schema_version)).all()
    assert rows and all(version == EVENT_VERSIONS[t] == 1 for t, version in rows)


@pytest.mark.usefixtures("tested_v2")
def test_an_older_version_loads_folds_and_verifies(platform: Platform) -> None:
    append_directly(platform, old_test_of_spare(), s.SPARE, version=1)
    stale = verify(platform.store)
    # the read model lags behind the log, and so does the events-per-reporter aggregate (appended
    # around the ledger); rebuild recounts both
    assert [p["kind"] for p in stale.problems] == ["head", "aggregate"]
    assert stale.problems[1]["table"] == "reporter_counts"
    report = rebuild(platform.store)
    assert report.tables["batteries"]["changed"] == 1
    assert report.differences == [{"table": "batteries", "key": s.SPARE, "difference": "changed", "column": "version"}]
    after = verify(platform.store)
    assert after.ok, after.problems
    passport = get_passport(platform.store, s.SPARE)
    assert passport["health"]["soh"] == pytest.approx(0.91)
    as_of = get_passport(platform.store, s.SPARE, at=NOW + timedelta(hours=1))
    assert as_of["health"]["soh"] == pytest.approx(0.91)


def test_a_version_without_its_upcaster_is_named_by_verify(platform: Platform,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(EVENT_VERSIONS, "battery.tested", 2)  # no upcaster from 1 registered
    seq = append_directly(platform, old_test_of_spare(), s.SPARE, version=1)
    problems = verify(platform.store).problems
    hits = {p["seq"]: p["message"] for p in problems if p["kind"] == "event_version"}
    assert seq in hits and "no upcaster from schema version 1" in hits[seq]  # the story's own test too
    with pytest.raises(LogTampered, match="cannot be folded"):
        rebuild(platform.store)


def test_a_version_newer_than_today_is_named_by_verify(platform: Platform) -> None:
    tamper(platform, "UPDATE events SET schema_version = 7 WHERE seq = 3")
    hit = next(p for p in verify(platform.store).problems if p["kind"] == "event_version")
    assert hit["seq"] == 3 and "not between 1 and today's 1" in hit["message"]


def test_upcast_applies_the_chain_in_order(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(EVENT_VERSIONS, "battery.tested", 3)
    monkeypatch.setitem(upcasting.UPCASTERS, ("battery.tested", 1), lambda c: c | {"steps": ["1->2"]})
    monkeypatch.setitem(upcasting.UPCASTERS, ("battery.tested", 2),
                        lambda c: c | {"steps": [*c.get("steps", []), "2->3"]})
    assert upcasting.upcast("battery.tested", 1, {})["steps"] == ["1->2", "2->3"]
    assert upcasting.upcast("battery.tested", 2, {})["steps"] == ["2->3"]
    with pytest.raises(InvalidEvent, match="not between 1"):
        upcasting.upcast("battery.tested", 0, {})
    with pytest.raises(InvalidEvent, match="unknown type"):
        upcasting.upcast("battery.teleported", 1, {})


def test_a_stored_event_is_trusted_not_validated_again(monkeypatch: pytest.MonkeyPatch) -> None:
    """Today's parser may refuse what was once accepted; the log still loads."""
    content = {"event_id": "e1", "type": "battery.tested", "occurred_at": "2026-05-01T09:30:00.123456789+08:00",
               "reporter": "not-a-credit-code", "battery": "not-a-code", "soh": 5}
    with pytest.raises(BattraceError):
        events_module.parse_event(content)
    event = upcasting.stored_event("battery.tested", 1, canonical_json(content))
    assert (event.reporter, event.fields) == ("not-a-credit-code", {"battery": "not-a-code", "soh": 5})
    assert event.occurred_at.microsecond == 123456
    with pytest.raises(InvalidEvent, match="cannot be read"):
        upcasting.stored_event("battery.tested", 1, json.dumps({"type": "battery.tested"}))


def test_rebuild_of_an_intact_log_changes_nothing(platform: Platform) -> None:
    report = rebuild(platform.store)
    assert report.identical and report.streams > 0 and report.links >= scalar(platform, "SELECT count(*) FROM events")


def test_rebuild_restores_tampered_read_models(platform: Platform) -> None:
    before = {t: scalar(platform, f"SELECT count(*) FROM {t}") for t in ("batteries", "vehicles", "lineage")}
    tamper(platform,
           "UPDATE batteries SET state = 'produced', doc = '{}' WHERE code = :product",
           "DELETE FROM batteries WHERE code = :spare",
           "UPDATE vehicles SET maker = :other",
           "DELETE FROM lineage",
           "INSERT INTO batteries SELECT :new, level, chemistry, maker, model, state, custodian, vin, parent, "
           "remade, waste, version, head, last_seq, doc FROM batteries WHERE code = :pack",
           product=s.PRODUCT, spare=s.SPARE, other=s.OTHER_MAKER, new=s.code("P", 999), pack=s.PACK)
    assert not verify(platform.store).ok
    progressed: list[int] = []
    report = rebuild(platform.store, progress=progressed.append)
    assert report.tables["batteries"] == {"added": 1, "changed": 1, "removed": 1}
    assert report.tables["vehicles"]["changed"] == 1
    assert report.tables["lineage"]["added"] == before["lineage"] > 0
    assert {(d["table"], d["key"], d["difference"]) for d in report.differences} >= {
        ("batteries", s.PRODUCT, "changed"), ("batteries", s.SPARE, "added"),
        ("batteries", s.code("P", 999), "removed")}
    assert sum(progressed) == report.links
    after = verify(platform.store)
    assert after.ok, after.problems
    assert {t: scalar(platform, f"SELECT count(*) FROM {t}") for t in before} == before
    assert rebuild(platform.store).identical


def test_rebuild_refuses_a_broken_log_and_writes_nothing(platform: Platform) -> None:
    tamper(platform, "UPDATE event_links SET hash = :h WHERE stream = :code AND version = 2", h="0" * 64, code=s.PACK)
    tamper(platform, "UPDATE vehicles SET maker = :other", other=s.OTHER_MAKER)
    with pytest.raises(LogTampered, match="chain breaks"):
        rebuild(platform.store)
    assert scalar(platform, "SELECT maker FROM vehicles") == s.OTHER_MAKER


def test_rebuild_through_the_cli(platform: Platform, tmp_path: Path) -> None:
    if platform.store.dialect != "sqlite":
        pytest.skip("the CLI run covers SQLite; the service above runs on both stores")
    import subprocess
    import sys

    tamper(platform, "UPDATE vehicles SET state = 'certified'")
    url = str(platform.store.url)
    run = subprocess.run([sys.executable, "-m", "battrace", "--db", url, "rebuild", "--json"],
                         capture_output=True, text=True, check=False)
    assert run.returncode == 0, run.stderr
    out = json.loads(run.stdout)
    assert out["tables"]["vehicles"]["changed"] == 1 and not out["identical"]
    plain = subprocess.run([sys.executable, "-m", "battrace", "--db", url, "rebuild"], capture_output=True, text=True,
                           check=False)
    assert plain.returncode == 0 and "identical" in plain.stdout
    with platform.store.engine.connect() as conn:
        assert conn.execute(text("SELECT state FROM vehicles")).scalar() != "certified"
