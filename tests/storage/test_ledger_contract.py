"""The ledger contract: one suite, run against SQLite and PostgreSQL."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError

from battrace.config import Settings
from battrace.domain.events import parse_time
from battrace.services.ledger import IngestReport
from battrace.services.orgs import import_orgs
from battrace.services.passport import get_history, get_passport, get_vehicle
from battrace.services.platform import Platform
from battrace.services.verify import verify
from battrace.storage import schema
from tests import story as s

NOW = datetime(2026, 11, 21, 8, 0, tzinfo=UTC)


@pytest.fixture
def platform(db_url: str) -> Iterator[Platform]:
    p = Platform(Settings(database_url=db_url), now=lambda: NOW)
    import_orgs(p.store, s.orgs(), NOW)
    yield p
    p.close()


def ingest(p: Platform, events: list[dict[str, Any]], **kw: Any) -> IngestReport:
    return p.ledger.ingest(list(enumerate(events, 1)), **kw)


def count(p: Platform, table: Any) -> int:
    with p.store.reader() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


def rejected_code(p: Platform, event: dict[str, Any]) -> str | None:
    before = (count(p, schema.events), count(p, schema.event_links), count(p, schema.batteries))
    report = ingest(p, [event])
    after = (count(p, schema.events), count(p, schema.event_links), count(p, schema.batteries))
    if report.rejected:
        assert before == after, "a rejected event left a trace"
        return report.outcomes[0].code
    return None


def test_the_whole_story_is_accepted_and_verifies(platform: Platform) -> None:
    report = ingest(platform, s.story())
    assert (report.accepted, report.rejected) == (len(s.story()), 0), report.as_dict()
    assert verify(platform.store).ok


def test_passport_shows_state_custody_links_lineage_and_health(platform: Platform) -> None:
    ingest(platform, s.story())
    pack = get_passport(platform.store, s.PACK)
    assert pack["state"] == "remade" and pack["waste"]
    assert pack["custodian"]["credit_code"] == s.REUSER
    assert pack["children"] == sorted(s.MODULES)
    assert pack["products"] == [s.PRODUCT]
    assert pack["health"]["soh"] == 0.78
    assert [h["type"] for h in pack["history"]][0] == "battery.produced"
    assert all(len(h["hash"]) == 64 for h in pack["history"])
    module = get_passport(platform.store, s.MODULES[0])
    assert module["parent"] == s.PACK and module["children"] == s.CELLS[:2]
    product = get_passport(platform.store, s.PRODUCT)
    assert product["remade"] and product["sources"] == [s.PACK]
    assert product["state"] == "in_service" and product["application"] == "energy_storage"
    spare = get_passport(platform.store, s.SPARE)
    assert spare["state"] == "recycled"
    vehicle = get_vehicle(platform.store, s.VIN)
    assert vehicle["state"] == "scrapped" and vehicle["packs"] == []


def test_same_event_again_is_a_duplicate_and_stores_nothing(platform: Platform) -> None:
    ingest(platform, s.story())
    n = count(platform, schema.events)
    again = ingest(platform, s.story())
    assert (again.accepted, again.duplicate, again.rejected) == (0, len(s.story()), 0)
    assert count(platform, schema.events) == n


def test_same_id_with_other_content_is_an_event_id_conflict(platform: Platform) -> None:
    ingest(platform, s.story()[:1])
    changed = copy.deepcopy(s.story()[0])
    changed["model"] = "other"
    assert rejected_code(platform, changed) == "event_id_conflict"


def _base(p: Platform) -> list[dict[str, Any]]:
    events = s.story()
    ingest(p, events[:12])  # up to and including the replacement: PACK is waste at the repair shop
    return events


CASES: list[tuple[str, str, dict[str, Any]]] = [
    ("invalid_code", "battery.tested",
     {"reporter": s.REPAIR_SHOP, "battery": "07HPX01A000001E350000001", "soh": 0.8}),
    ("invalid_event", "battery.tested", {"reporter": s.REPAIR_SHOP, "battery": s.PACK}),
    ("invalid_event", "battery.tested", {"reporter": s.REPAIR_SHOP, "battery": s.PACK, "soh": 1.5}),
    ("duplicate_code", "battery.produced", {"reporter": s.BATTERY_MAKER, "battery": s.PACK, **s.FIG}),
    ("unknown_manufacturer", "battery.produced",
     {"reporter": s.BATTERY_MAKER, "battery": s.code("P", 9, maker="02L"), **s.FIG}),
    ("unknown_manufacturer", "battery.produced",
     {"reporter": s.BATTERY_MAKER, "battery": s.code("P", 9, maker="ZZZ"), **s.FIG}),
    ("forbidden_event", "battery.produced", {"reporter": s.REPAIR_SHOP, "battery": s.code("P", 9), **s.FIG}),
    ("already_assembled", "battery.assembled",
     {"reporter": s.BATTERY_MAKER, "battery": s.SPARE, "components": [s.MODULES[0]]}),
    ("not_custodian", "battery.handed_over", {"reporter": s.DISMANTLER, "batteries": [s.PACK], "to": s.OUTLET}),
    ("invalid_transition", "battery.received",
     {"reporter": s.OUTLET, "batteries": [s.PACK], "from": s.REPAIR_SHOP}),
    ("unknown_org", "battery.handed_over",
     {"reporter": s.REPAIR_SHOP, "batteries": [s.PACK], "to": s.credit(99)}),
    ("unknown_org", "battery.tested", {"reporter": s.credit(98), "battery": s.PACK, "soh": 0.9}),
    ("unknown_battery", "battery.tested", {"reporter": s.REPAIR_SHOP, "battery": s.code("P", 77), "soh": 0.9}),
    ("unknown_vehicle", "vehicle.sold", {"reporter": s.VEHICLE_MAKER, "vin": "LGXCE4CB1R0000009"}),
    ("invalid_transition", "vehicle.sold", {"reporter": s.VEHICLE_MAKER, "vin": s.VIN}),
    ("forbidden_event", "vehicle.sold", {"reporter": s.BATTERY_MAKER, "vin": s.VIN}),
    ("invalid_transition", "battery.removed", {"reporter": s.DISMANTLER, "battery": s.SPARE, "vin": s.VIN}),
]


@pytest.mark.parametrize(("code", "type_", "fields"), CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_integrity_rule_rejects_and_leaves_no_trace(
    platform: Platform, code: str, type_: str, fields: dict[str, Any]
) -> None:
    _base(platform)
    event = {"event_id": "bad-1", "type": type_, "occurred_at": "2026-06-01T10:00:00+08:00", **fields}
    assert rejected_code(platform, event) == code


def test_tested_after_recycling_is_an_invalid_transition(platform: Platform) -> None:
    ingest(platform, s.story())
    event = {"event_id": "late-test", "type": "battery.tested", "occurred_at": "2026-06-01T10:00:00+08:00",
             "reporter": s.RECYCLER, "battery": s.SPARE, "soh": 0.5}
    assert rejected_code(platform, event) == "invalid_transition"


def test_receipt_by_someone_else_than_the_named_receiver_is_refused(platform: Platform) -> None:
    events = _base(platform)
    ingest(platform, [events[12]])  # handed over to the outlet
    wrong = {"event_id": "r-x", "type": "battery.received", "occurred_at": "2025-06-03T10:00:00+08:00",
             "reporter": s.RECYCLER, "batteries": [s.PACK], "from": s.REPAIR_SHOP}
    assert rejected_code(platform, wrong) == "not_custodian"


def test_occurred_in_the_future_is_refused(platform: Platform) -> None:
    event = {**s.story()[0], "occurred_at": "2027-01-01T00:00:00+08:00"}
    assert rejected_code(platform, event) == "implausible_time"


def test_log_refuses_update_and_delete(platform: Platform) -> None:
    ingest(platform, s.story()[:3])
    for sql in ("UPDATE events SET body = 'x'", "DELETE FROM events", "DELETE FROM event_links"):
        with pytest.raises(DBAPIError), platform.store.engine.begin() as conn:
            conn.execute(text(sql))
    assert count(platform, schema.events) == 3


def _tamper(p: Platform, sql: str) -> None:
    with p.store.engine.begin() as conn:
        if p.store.dialect == "sqlite":
            conn.execute(text("DROP TRIGGER events_no_update"))
            conn.execute(text("DROP TRIGGER events_no_delete"))
        else:
            conn.execute(text("ALTER TABLE events DISABLE TRIGGER USER"))
        conn.execute(text(sql))


def test_verify_names_the_first_changed_event(platform: Platform) -> None:
    ingest(platform, s.story())
    _tamper(platform, "UPDATE events SET body = replace(body, '0.78', '0.98') WHERE type = 'battery.tested'")
    report = verify(platform.store)
    assert not report.ok
    assert report.problems[0]["kind"] == "event_hash"
    assert report.problems[0]["seq"] == 21


def test_verify_detects_a_removed_event(platform: Platform) -> None:
    ingest(platform, s.story())
    _tamper(platform, "DELETE FROM events WHERE seq = 5")
    report = verify(platform.store)
    assert not report.ok and report.problems[0]["kind"] == "missing_event"


def test_import_history_keeps_recorded_at_and_passport_rebuilds_past_versions(platform: Platform) -> None:
    events = []
    for e in s.story():
        recorded = parse_time(e["occurred_at"]) + timedelta(days=1)
        events.append({**e, "recorded_at": recorded.isoformat()})
    report = ingest(platform, events, import_history=True)
    assert report.rejected == 0, report.as_dict()
    history = get_history(platform.store, s.PACK)
    assert history[0]["imported"] is True
    assert parse_time(history[0]["recorded_at"]) == parse_time("2024-03-06T09:00:00+08:00")
    then = get_passport(platform.store, s.PACK, at=parse_time("2025-01-01T00:00:00+08:00"))
    assert then["state"] == "in_service" and then["vin"] == s.VIN
    assert then["children"] == s.MODULES and then["products"] == []
    assert get_passport(platform.store, s.PACK)["state"] == "remade"
    assert verify(platform.store).ok


def test_import_history_needs_recorded_at(platform: Platform) -> None:
    report = ingest(platform, s.story()[:1], import_history=True)
    assert report.outcomes[0].code == "invalid_event"


def test_events_of_one_batch_see_each_other_and_rejections_do_not_block_the_rest(platform: Platform) -> None:
    events = s.story()
    bad = {"event_id": "bad", "type": "battery.tested", "occurred_at": "2024-03-05T09:00:00+08:00",
           "reporter": s.BATTERY_MAKER, "battery": s.code("P", 55), "soh": 0.9}
    report = ingest(platform, [*events[:5], bad, *events[5:]])
    assert report.rejected == 1 and report.accepted == len(events)
    assert report.outcomes[5].code == "unknown_battery"


def test_a_swap_pack_handed_over_is_received_as_waste_and_can_be_recycled(platform: Platform) -> None:
    swap_vin = "LGXCE4CB2R0000003"
    from battrace.domain.vin import with_check_digit

    swap_vin = with_check_digit(swap_vin)
    a, b = s.code("P", 31), s.code("P", 32)
    t = "2025-01-01T10:00:00+08:00"
    events = [
        s.ev(1, "battery.produced", s.BATTERY_MAKER, t, battery=a, **s.FIG),
        s.ev(2, "battery.produced", s.BATTERY_MAKER, t, battery=b, **s.FIG),
        s.ev(3, "vehicle.certified", s.VEHICLE_MAKER, t, vin=swap_vin, vehicle_model="S1", swap_model=True,
             batteries=[a], certificate_no="C1"),
        s.ev(4, "vehicle.sold", s.VEHICLE_MAKER, t, vin=swap_vin),
        s.ev(5, "battery.handed_over", s.BATTERY_MAKER, t, batteries=[b], to=s.SWAPPER),
        s.ev(6, "battery.received", s.SWAPPER, t, batteries=[b], **{"from": s.BATTERY_MAKER}),
        s.ev(7, "battery.swapped", s.SWAPPER, t, vin=swap_vin, removed=a, installed=b),
        s.ev(8, "battery.handed_over", s.SWAPPER, t, batteries=[a], to=s.RECYCLER),
        s.ev(9, "battery.received", s.RECYCLER, t, batteries=[a], **{"from": s.SWAPPER}),
        s.ev(10, "battery.recycled", s.RECYCLER, t, batteries=[a], process="hydro", outputs={"black_mass": 100.0}),
    ]
    report = ingest(platform, events)
    assert report.rejected == 0, report.as_dict()
    assert get_passport(platform.store, b)["state"] == "in_service"
    retired = get_passport(platform.store, a)
    assert retired["state"] == "recycled" and retired["waste"]
    assert verify(platform.store).ok
