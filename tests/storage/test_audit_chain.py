"""The audit log is append-only and hash-chained; ``verify`` names an edited or deleted row."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import text

from battrace.domain.access import Caller
from battrace.errors import StorageError
from battrace.services.access import audit
from battrace.services.verify import verify
from battrace.storage.store import Store

NOW = datetime(2026, 11, 21, 8, 0, tzinfo=UTC)
CALLER = Caller(org="91440300MA0000001X", org_type="recycler", key_id="abc")


def _store(db_url: str, rows: int = 3) -> Store:
    store = Store(db_url)
    for i in range(rows):
        audit(store, CALLER, "battery.read", f"code-{i}", i % 2 == 0, "participant", NOW, as_of=NOW,
              purpose="p" if i == 1 else None, battery=f"code-{i}")
    return store


def _tamper(store: Store, sql: str) -> None:
    """Run ``sql`` on the audit log with its append-only guard lifted (as an intruder with DDL rights could)."""
    with store.engine.begin() as conn:
        if store.dialect == "sqlite":
            conn.execute(text("DROP TRIGGER audit_log_no_update"))
            conn.execute(text("DROP TRIGGER audit_log_no_delete"))
            conn.execute(text(sql))
        else:
            conn.execute(text("ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only"))
            conn.execute(text(sql))
            conn.execute(text("ALTER TABLE audit_log ENABLE TRIGGER audit_log_append_only"))


def test_an_untouched_audit_log_verifies(db_url: str) -> None:
    store = _store(db_url)
    report = verify(store)
    assert report.ok, report.problems
    store.close()


@pytest.mark.parametrize("verb", ["UPDATE audit_log SET allowed = NOT allowed", "DELETE FROM audit_log"])
def test_the_database_refuses_changes_to_the_audit_log(db_url: str, verb: str) -> None:
    store = _store(db_url)
    with pytest.raises(StorageError, match="append-only"), store.writer() as conn:
        conn.execute(text(f"{verb} WHERE id = 2"))
    store.close()


@pytest.mark.parametrize(("sql", "kind", "row"), [
    ("UPDATE audit_log SET reason = 'nothing to see' WHERE id = 2", "audit_chain", 2),
    ("UPDATE audit_log SET allowed = NOT allowed WHERE id = 1", "audit_chain", 1),
    ("DELETE FROM audit_log WHERE id = 2", "audit_chain", 3),
    ("DELETE FROM audit_log WHERE id = 3", "audit_head", None),
])
def test_verify_names_an_edited_or_deleted_audit_row(db_url: str, sql: str, kind: str, row: int | None) -> None:
    store = _store(db_url)
    _tamper(store, sql)
    report = verify(store)
    assert not report.ok
    assert (report.problems[0]["kind"], report.problems[0]["audit_id"]) == (kind, row)
    store.close()


def test_audit_rows_chain_on_after_another(sqlite_url: str) -> None:
    store = _store(sqlite_url, rows=2)
    store.close()
    store = _store(sqlite_url, rows=2)  # reopened: the chain continues from the stored head
    assert verify(store).ok
    store.close()


def test_migration_chains_the_rows_already_there(sqlite_url: str) -> None:
    from alembic import command
    from sqlalchemy import create_engine

    from battrace.storage.migrate import alembic_config

    engine = create_engine(sqlite_url)
    cfg = alembic_config()
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0005")
        for i in range(3):
            conn.execute(text("INSERT INTO audit_log (at, actor_org, key_id, action, resource, allowed, reason) "
                              "VALUES ('2026-11-21T08:00:00.000000Z', 'x', 'k', 'battery.read', :r, 1, 'admin')"),
                         {"r": f"code-{i}"})
    engine.dispose()
    store = Store(sqlite_url)  # upgrades to head: the three rows are chained
    audit(store, CALLER, "battery.read", "code-3", True, "participant", NOW)
    report = verify(store)
    assert report.ok, report.problems
    with store.reader() as conn:
        assert conn.execute(text("SELECT length FROM audit_chain")).scalar_one() == 4
    store.close()
