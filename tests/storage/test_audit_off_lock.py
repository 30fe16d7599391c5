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


def test_concurrent_audit_writers_keep_one_chain(db_url: str) -> None:
    """Writers in parallel (threads, own connections) serialise on the chain's head: no fork, no gap."""
    store = Store(db_url)

    def write(n: int) -> None:
        for i in range(10):
            audit(store, Caller(org=f"org-{n}"), "battery.read", f"{n}-{i}", True, "participant", NOW)

    threads = [threading.Thread(target=write, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    from battrace.services.verify import verify

    report = verify(store)
    with store.reader() as conn:
        from sqlalchemy import text

        rows = conn.execute(text("SELECT count(*) FROM audit_log")).scalar_one()
    store.close()
    assert report.ok, report.problems
    assert rows == 40
