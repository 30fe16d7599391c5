"""``Store.run`` (driver SQL on the transaction's own cursor) raises driver errors as SQLAlchemy does,
so the transaction boundaries still map them: a lost race is a write conflict, the rest a storage error."""

from __future__ import annotations

import pytest
from sqlalchemy.exc import IntegrityError

from battrace.errors import StorageError, WriteConflict
from battrace.storage.store import Store, run


def test_a_driver_error_is_raised_as_sqlalchemys_when_a_statement_fails(db_url: str) -> None:
    store = Store(db_url)
    mark = "?" if store.dialect == "sqlite" else "%s"
    insert = f"INSERT INTO api_keys (key_id, role, secret_hash, created_at) VALUES ({mark}, 'admin', 'x', {mark})"
    try:
        with store.writer() as conn:
            run(conn, insert, ("k1", "2026-01-01T00:00:00.000000Z"))
        with pytest.raises(IntegrityError) as caught, store.engine.connect() as conn, conn.begin():
            run(conn, insert, ("k1", "2026-01-01T00:00:00.000000Z"))
        assert caught.value.orig is not None
        expected = WriteConflict if store.dialect == "postgresql" else StorageError  # a unique violation
        with pytest.raises(expected), store.ledger_writer() as conn:
            run(conn, insert, [("k2", "2026-01-01T00:00:00.000000Z"), ("k2", "2026-01-01T00:00:00.000000Z")],
                many=True)
        with store.reader() as conn:  # the failed transactions left nothing
            assert [r[0] for r in run(conn, "SELECT key_id FROM api_keys ORDER BY key_id")] == ["k1"]
    finally:
        store.close()
