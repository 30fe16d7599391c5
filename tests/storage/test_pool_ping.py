"""The PostgreSQL pool pings only connections that sat idle, and replaces a dead one unseen."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from battrace.storage import store as store_module
from battrace.storage.store import make_engine


def _backend_pid(engine: object) -> int:
    with engine.connect() as conn:  # type: ignore[attr-defined]
        return int(conn.execute(text("SELECT pg_backend_pid()")).scalar_one())


def _terminate(url: str, pid: int) -> None:
    killer = make_engine(url)
    try:
        with killer.connect() as conn:
            assert conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid}).scalar_one()
    finally:
        killer.dispose()


def test_a_connection_closed_by_the_server_while_idle_is_replaced_at_checkout(
        pg_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    engine = make_engine(pg_url)
    try:
        first = _backend_pid(engine)
        _terminate(pg_url, first)
        monkeypatch.setattr(store_module, "PING_AFTER_IDLE_S", 0.0)  # every pooled connection counts as idle
        # the next checkout pings the dead connection, drops it and hands out a new one
        second = _backend_pid(engine)
        assert second != first
    finally:
        engine.dispose()


def test_a_connection_used_a_moment_ago_is_not_pinged(pg_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Within the idle window a checkout costs no round trip: a connection the server closed in the
    meantime is not noticed until its statement fails, after which the pool is emptied and the next
    checkout connects afresh."""
    monkeypatch.setattr(store_module, "PING_AFTER_IDLE_S", 3600.0)
    engine = make_engine(pg_url)
    try:
        first = _backend_pid(engine)
        _terminate(pg_url, first)
        with pytest.raises(Exception, match="terminat|closed|server"):
            _backend_pid(engine)
        assert _backend_pid(engine) != first
    finally:
        engine.dispose()
