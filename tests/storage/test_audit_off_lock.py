"""An audit row never waits for the ledger's writer lock on PostgreSQL (a read during a bulk upload)."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

from battrace.domain.access import Caller
from battrace.services.access import audit
from battrace.storage.store import Store
from tests.conftest import postgres_url

NOW = datetime(2026, 11, 21, 8, 0, tzinfo=UTC)


def test_audit_row_is_written_while_a_ledger_writer_holds_the_lock(pg_url: str) -> None:
    postgres_url()
    store = Store(pg_url)
    done = threading.Event()

    def read_and_audit() -> None:
        audit(store, Caller(admin=True), "battery.read", "x", True, "admin", NOW)
        done.set()

    with store.writer():  # holds the ledger's advisory lock, as an ingest batch does
        worker = threading.Thread(target=read_and_audit, daemon=True)
        worker.start()
        finished = done.wait(timeout=60)  # a liveness bound, not a timing measure
    worker.join()
    store.close()
    assert finished, "the audit write waited for the ledger's writer lock"
