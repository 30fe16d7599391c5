"""A tamper test per table: each change made behind the platform's back is detected by ``verify``,
which names the table (and the row). Run on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from battrace.config import Settings
from battrace.domain.events import canonical_json
from battrace.services.anchor import generate_key, load_private_key, make_anchor, read_anchor, write_anchor
from battrace.services.ledger import event_hash, link_hash
from battrace.services.orgs import import_orgs
from battrace.services.platform import Platform
from battrace.services.rebuild import rebuild
from battrace.services.verify import CHECKS, verify
from tests import story as s

NOW = datetime(2026, 11, 21, 8, 0, tzinfo=UTC)
GUARDED = ("events", "event_links", "finding_log")


@pytest.fixture
def platform(db_url: str) -> Iterator[Platform]:
    p = Platform(Settings(database_url=db_url), now=lambda: NOW)
    import_orgs(p.store, s.orgs(), NOW)
    report = p.ledger.ingest(list(enumerate(s.story(), 1)))
    assert report.rejected == 0
    yield p
    p.close()


def _unguard(p: Platform, conn: Any) -> None:
    for table in GUARDED:
        if p.store.dialect == "sqlite":
            for verb in ("update", "delete"):
                conn.execute(text(f"DROP TRIGGER IF EXISTS {table}_no_{verb}"))
        else:
            conn.execute(text(f"ALTER TABLE {table} DISABLE TRIGGER USER"))


def tamper(p: Platform, *statements: str, **params: Any) -> None:
    with p.store.engine.begin() as conn:
        _unguard(p, conn)
        for sql in statements:
            conn.execute(text(sql), params)


def scalar(p: Platform, sql: str) -> Any:
    with p.store.engine.begin() as conn:
        return conn.execute(text(sql)).scalar()


def named(p: Platform, table: str, kind: str | None = None) -> dict[str, Any]:
    report = verify(p.store)
    assert not report.ok, "verify missed the tampering"
    hits = [x for x in report.problems if x.get("table") == table and (kind is None or x["kind"] == kind)]
    assert hits, report.problems[:5]
    return hits[0]


def test_the_untouched_story_verifies_with_every_check(platform: Platform) -> None:
    report = verify(platform.store)
    assert report.ok, report.problems
    assert report.checks == [name for name, _ in CHECKS if name != "anchor"]
    assert scalar(platform, "SELECT count(*) FROM findings") > 0  # the story raises findings: chained below
    assert scalar(platform, "SELECT count(*) FROM lineage") > 0 and scalar(platform, "SELECT count(*) FROM techinfo")


def test_events_body_changed(platform: Platform) -> None:
    tamper(platform, "UPDATE events SET body = replace(body, '0.78', '0.98') WHERE type = 'battery.tested'")
    assert named(platform, "events", "event_hash")["seq"] == 21


def test_events_row_deleted(platform: Platform) -> None:
    tamper(platform, "DELETE FROM events WHERE seq = 5")
    named(platform, "events", "missing_event")


def test_events_forged_with_a_correct_hash_and_no_links(platform: Platform) -> None:
    seq = scalar(platform, "SELECT max(seq) FROM events") + 1
    body = canonical_json({**s.story()[-1], "event_id": "forged-1"})
    recorded = NOW + timedelta(minutes=1)
    tamper(platform, "INSERT INTO events (seq, reporter, event_id, type, occurred_at, recorded_at, imported, body, "
           "hash) SELECT :seq, reporter, 'forged-1', type, occurred_at, :rec, imported, :body, :hash FROM events "
           "WHERE seq = :last", seq=seq, last=seq - 1, body=body, hash=event_hash(seq, recorded, False, body),
           rec=recorded if platform.store.dialect == "postgresql" else recorded.strftime("%Y-%m-%dT%H:%M:%S.%fZ"))
    problem = named(platform, "events", "unlinked_event")
    assert problem["seq"] == seq


def test_event_links_hash_changed(platform: Platform) -> None:
    tamper(platform, "UPDATE event_links SET hash = :h WHERE stream = :code AND version = 2", h="0" * 64, code=s.PACK)
    assert named(platform, "event_links", "chain")["stream"] == s.PACK


def test_event_links_row_deleted(platform: Platform) -> None:
    tamper(platform, "DELETE FROM event_links WHERE stream = :code AND version = 1", code=s.PACK)
    named(platform, "event_links")


@pytest.mark.parametrize("column, value", [("state", "produced"), ("custodian", s.SWAPPER), ("vin", s.VIN),
                                           ("parent", s.PACK), ("waste", True)])
def test_batteries_column_changed(platform: Platform, column: str, value: Any) -> None:
    tamper(platform, f"UPDATE batteries SET {column} = :v WHERE code = :code", v=value, code=s.PRODUCT)
    problem = named(platform, "batteries", "read_model")
    assert (problem["key"], problem["column"]) == (s.PRODUCT, column)


def test_batteries_doc_changed(platform: Platform) -> None:
    tamper(platform, "UPDATE batteries SET doc = replace(doc, '0.78', '0.99') WHERE code = :code", code=s.PACK)
    assert named(platform, "batteries", "read_model")["column"] == "doc"


def test_batteries_row_added_and_deleted(platform: Platform) -> None:
    tamper(platform, "INSERT INTO batteries SELECT :new, level, chemistry, maker, model, state, custodian, vin, "
           "parent, remade, waste, version, head, last_seq, doc FROM batteries WHERE code = :code",
           new=s.code("P", 999), code=s.SPARE)
    assert named(platform, "batteries")["key"] == s.code("P", 999)


def test_batteries_row_deleted(platform: Platform) -> None:
    tamper(platform, "DELETE FROM batteries WHERE code = :code", code=s.SPARE)
    assert named(platform, "batteries", "read_model")["key"] == s.SPARE


@pytest.mark.parametrize("column, value", [("state", "certified"), ("maker", s.OTHER_MAKER)])
def test_vehicles_column_changed(platform: Platform, column: str, value: Any) -> None:
    tamper(platform, f"UPDATE vehicles SET {column} = :v WHERE vin = :vin", v=value, vin=s.VIN)
    problem = named(platform, "vehicles", "read_model")
    assert (problem["key"], problem["column"]) == (s.VIN, column)


def test_techinfo_document_replaced(platform: Platform) -> None:
    doc = json.loads(scalar(platform, "SELECT doc FROM techinfo"))
    doc["document"] = "https://evil.example/other-maker.pdf"
    tamper(platform, "UPDATE techinfo SET doc = :doc", doc=canonical_json(doc))
    assert named(platform, "techinfo", "read_model")["column"] == "doc"


def test_techinfo_maker_changed(platform: Platform) -> None:
    tamper(platform, "UPDATE techinfo SET maker = :m", m=s.OTHER_MAKER)
    assert named(platform, "techinfo", "read_model")["column"] == "maker"


def test_lineage_row_deleted(platform: Platform) -> None:
    tamper(platform, "DELETE FROM lineage")
    assert named(platform, "lineage")["key"] == f"{s.PRODUCT}/{s.PACK}"


def test_lineage_row_added(platform: Platform) -> None:
    tamper(platform, "INSERT INTO lineage (product, source, seq) VALUES (:prod, :src, 1)", prod=s.PRODUCT,
           src=s.SPARE)
    assert named(platform, "lineage")["key"] == f"{s.PRODUCT}/{s.SPARE}"


def test_components_follow_batteries_and_a_row_deleted_is_named(platform: Platform) -> None:
    """The story's pack holds two modules of two cells each: ``components`` has those six pairs, kept
    by the triggers on ``batteries``; a pair deleted behind their back is named, and rebuilt."""
    pairs = {(r[0], r[1]) for r in _rows(platform, "SELECT parent, code FROM components")}
    parents = _rows(platform, "SELECT parent, code FROM batteries WHERE parent IS NOT NULL")
    assert pairs == {(r[0], r[1]) for r in parents}
    assert {(s.PACK, m) for m in s.MODULES} <= pairs and len(pairs) >= 6
    tamper(platform, "DELETE FROM components WHERE code = :c", c=s.MODULES[0])
    assert named(platform, "components")["key"] == f"{s.PACK}/{s.MODULES[0]}"
    report = rebuild(platform.store)
    assert {"table": "components", "key": f"{s.PACK}/{s.MODULES[0]}", "difference": "added"} in report.differences
    assert verify(platform.store).ok


def test_components_row_added(platform: Platform) -> None:
    tamper(platform, "INSERT INTO components (parent, code) VALUES (:par, :c)", par=s.PACK, c=s.SPARE)
    assert named(platform, "components")["key"] == f"{s.PACK}/{s.SPARE}"
    rebuild(platform.store)
    assert verify(platform.store).ok


def _rows(p: Platform, sql: str) -> list[Any]:
    with p.store.engine.begin() as conn:
        return list(conn.execute(text(sql)))


def test_findings_state_changed(platform: Platform) -> None:
    first = scalar(platform, "SELECT min(id) FROM findings")
    tamper(platform, "UPDATE findings SET state = 'resolved' WHERE id = :id", id=first)
    assert named(platform, "findings")["key"] == str(first)


def test_findings_row_deleted(platform: Platform) -> None:
    first = scalar(platform, "SELECT min(id) FROM findings")
    tamper(platform, "DELETE FROM findings WHERE id = :id", id=first)
    problem = named(platform, "findings")
    assert problem["key"] == str(first) and "deleted" in problem["message"]


def test_finding_subjects_row_deleted(platform: Platform) -> None:
    first = scalar(platform, "SELECT min(finding_id) FROM finding_subjects")
    tamper(platform, "DELETE FROM finding_subjects WHERE finding_id = :id", id=first)
    assert named(platform, "findings")["key"] == str(first)


def test_finding_log_record_changed(platform: Platform) -> None:
    tamper(platform, "UPDATE finding_log SET body = replace(body, 'open', 'resolved') WHERE seq = 1")
    assert named(platform, "finding_log", "chain")["seq"] == 1


def test_finding_log_refuses_update_and_delete(platform: Platform) -> None:
    from sqlalchemy.exc import DBAPIError

    for sql in ("UPDATE finding_log SET body = 'x'", "DELETE FROM finding_log"):
        with pytest.raises(DBAPIError), platform.store.engine.begin() as conn:
            conn.execute(text(sql))


def test_a_consistent_rewrite_passes_verify_but_not_the_anchor(platform: Platform, tmp_path: Path) -> None:
    key = tmp_path / "platform.key"
    generate_key(key)
    anchor = tmp_path / "anchor.json"
    write_anchor(make_anchor(platform.store, load_private_key(key), NOW), anchor)
    # rewrite the last event and every hash after it, consistently (an attacker with database access)
    with platform.store.engine.begin() as conn:
        row = conn.execute(text("SELECT seq, recorded_at, imported, body FROM events ORDER BY seq DESC")).first()
        assert row is not None
        body = json.loads(row.body)
        body["data"] = {"note": "rewritten"}
        new_body = canonical_json(body)
        recorded = row.recorded_at if isinstance(row.recorded_at, datetime) else datetime.fromisoformat(
            row.recorded_at.replace("Z", "+00:00"))
        digest = event_hash(row.seq, recorded, bool(row.imported), new_body)
        _unguard(platform, conn)
        conn.execute(text("UPDATE events SET body = :b, hash = :h WHERE seq = :s"), {"b": new_body, "h": digest,
                                                                                     "s": row.seq})
        for stream, version, old in conn.execute(text("SELECT stream, version, hash FROM event_links WHERE seq = :s"),
                                                 {"s": row.seq}).all():
            previous = conn.execute(text("SELECT hash FROM event_links WHERE stream = :st AND version = :v"),
                                    {"st": stream, "v": version - 1}).scalar() or "0" * 64
            new = link_hash(previous, digest)
            conn.execute(text("UPDATE event_links SET hash = :h WHERE stream = :st AND version = :v"),
                         {"h": new, "st": stream, "v": version})
            for table in ("batteries", "vehicles", "techinfo"):
                conn.execute(text(f"UPDATE {table} SET head = :h WHERE head = :old"), {"h": new, "old": old})
    assert verify(platform.store).ok  # consistent: the log alone cannot tell
    payload, trusted = read_anchor(anchor, load_private_key(key).public_key())
    report = verify(platform.store, anchor=payload)
    assert trusted and not report.ok
    assert {p["kind"] for p in report.problems} == {"anchor"}
    assert any(p.get("table") == "events" for p in report.problems)


def test_an_altered_anchor_is_refused(platform: Platform, tmp_path: Path) -> None:
    from battrace.errors import InvalidAnchor

    key = tmp_path / "k"
    generate_key(key)
    doc = make_anchor(platform.store, load_private_key(key), NOW)
    doc["anchor"]["log"][0] += 1
    anchor = tmp_path / "a.json"
    write_anchor(doc, anchor)
    with pytest.raises(InvalidAnchor):
        read_anchor(anchor)
    other = tmp_path / "other"
    generate_key(other)
    write_anchor(make_anchor(platform.store, load_private_key(key), NOW), anchor)
    with pytest.raises(InvalidAnchor):
        read_anchor(anchor, load_private_key(other).public_key())
