"""POST /events runs its decoding and ingest in a worker thread: while an ingest waits for (or holds)
the writer, the event loop still answers /healthz. Checked by behaviour: the test holds the writer
lock itself, so the ingest is stuck until /healthz has answered."""

from __future__ import annotations

import json
import threading
from typing import Any

from fastapi.testclient import TestClient

from tests.api.conftest import NOW, build
from tests.fuzz.corpus import produced


def test_healthz_answers_while_an_ingest_waits_for_the_writer(sqlite_url: str) -> None:
    api = build(sqlite_url)
    started = threading.Event()

    def now() -> Any:  # the ledger reads its clock as it starts a batch, just before taking the writer lock
        started.set()
        return NOW

    api.platform.ledger.now = now
    body = "\n".join(json.dumps(produced(7000 + i, f"loop-{i}")) for i in range(300)).encode()
    results: dict[str, Any] = {}
    with TestClient(api.client.app) as client:  # one event loop serves every request below
        post = threading.Thread(target=lambda: results.update(post=client.post(
            "/api/v1/events", content=body,
            headers={**api.headers("maker"), "Content-Type": "application/x-ndjson"})))
        health = threading.Thread(target=lambda: results.update(health=client.get("/healthz")))
        writer = api.platform.store.writer()
        writer.__enter__()  # hold the single-writer lock: the ingest must wait for it
        try:
            post.start()
            assert started.wait(timeout=30), "the ingest never started"
            health.start()
            health.join(timeout=20)  # a guard against a deadlock when the loop is blocked, not a timing
            answered_while_ingest_waits = "health" in results and post.is_alive()
        finally:
            writer.__exit__(None, None, None)
        post.join(timeout=60)
        health.join(timeout=60)
    api.platform.close()
    assert answered_while_ingest_waits, "the event loop was blocked by the ingest"
    assert results["health"].status_code == 200
    assert results["post"].status_code == 200 and results["post"].json()["accepted"] == 300
