"""Operating the HTTP face: readiness, request ids, JSON logs, Prometheus metrics (in process), and
``battrace serve --workers 2`` as a real server: metrics summed over workers, a request in flight
finished after SIGTERM."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine

from battrace.config import Settings
from battrace.services.access import create_key
from battrace.services.orgs import import_orgs
from battrace.services.platform import Platform
from tests import story as s
from tests.api.conftest import NOW, Api, build


def _samples(text: str, name: str) -> dict[str, float]:
    out: dict[str, float] = {}
    for line in text.splitlines():
        if line.startswith(name) and not line.startswith("#"):
            key, value = line.rsplit(" ", 1)
            out[key] = float(value)
    return out


def test_readyz_answers_ready_and_names_a_schema_behind_the_code(api: Api, sqlite_url: str) -> None:
    r = api.client.get("/readyz")
    assert r.status_code == 200 and r.json()["checks"] == {"database": "ok", "migrations": "ok"}
    engine = create_engine(sqlite_url)
    with engine.begin() as conn:
        conn.exec_driver_sql("UPDATE alembic_version SET version_num = '0001'")
    engine.dispose()
    r = api.client.get("/readyz")
    assert r.status_code == 503
    body = r.json()
    assert body["ok"] is False and body["code"] == "not_ready" and body["status"] == 503
    assert body["context"]["checks"]["migrations"].startswith("database at 0001")
    assert api.client.get("/healthz").status_code == 200  # liveness does not depend on the database


def test_readyz_warns_of_server_settings_that_make_a_large_database_decay(pg_url: str) -> None:
    """On PostgreSQL readiness names autovacuum when it is off (this suite's server has it off, so the
    warning is checked against the server's own answer, whichever it is); it never makes it unready."""
    api = build(pg_url)
    try:
        with api.platform.store.reader() as conn:
            autovacuum = conn.exec_driver_sql("SHOW autovacuum").scalar_one()
        r = api.client.get("/readyz")
        assert r.status_code == 200 and r.json()["checks"] == {"database": "ok", "migrations": "ok"}
        warnings = r.json()["warnings"]
        assert any(w.startswith("autovacuum is off:") for w in warnings) == (autovacuum == "off")
        assert all("turn it on" in w for w in warnings)
    finally:
        api.platform.close()


def test_readyz_has_no_setting_warnings_on_sqlite(api: Api) -> None:
    assert api.client.get("/readyz").json()["warnings"] == []


def test_request_ids_are_echoed_and_logged_as_json(api: Api, capsys: pytest.CaptureFixture[str]) -> None:
    mine = api.client.get("/healthz", headers={"X-Request-ID": "lb-42.a"})
    assert mine.headers["X-Request-ID"] == "lb-42.a"
    fresh = api.client.get("/healthz", headers={"X-Request-ID": "not a sane id; x" * 5})
    assert fresh.headers["X-Request-ID"] != "not a sane id" and len(fresh.headers["X-Request-ID"]) == 32
    missing = api.client.get("/api/v1/public/batteries/nonsense")
    lines = [json.loads(x) for x in capsys.readouterr().err.splitlines() if x.startswith("{")]
    by_id = {x["request_id"]: x for x in lines if x.get("event") == "request"}
    assert by_id["lb-42.a"]["route"] == "/healthz" and by_id["lb-42.a"]["status"] == 200
    err = by_id[missing.headers["X-Request-ID"]]
    assert err["status"] == missing.status_code and err["route"] == "/api/v1/public/batteries/{code}"
    assert err["level"] == "info" and "timestamp" in err and err["duration_ms"] >= 0


def test_metrics_count_ingest_outcomes_rejections_and_latency(story_api: Api) -> None:
    api = story_api
    before = _samples(api.client.get("/metrics").text, "battrace_event")
    bad = [{"event_id": "x-1", "type": "battery.produced"}, {"event_id": "x-2", "type": "no.such.type"}]
    r = api.client.post("/api/v1/events", json=bad, headers=api.headers("maker"))
    assert r.json()["rejected"] == 2
    codes = {o["code"] for o in r.json()["outcomes"]}
    text = api.client.get("/metrics").text
    after = _samples(text, "battrace_event")
    accepted = 'battrace_events_total{outcome="accepted"}'
    assert after[accepted] >= len(s.story()) and after.get(accepted) == before.get(accepted)
    rejected = 'battrace_events_total{outcome="rejected"}'
    assert after[rejected] - before.get(rejected, 0) == 2
    for code in codes:
        key = f'battrace_event_rejections_total{{code="{code}"}}'
        assert after[key] - before.get(key, 0) >= 1
    latency = _samples(text, "battrace_http_request_duration_seconds_count")
    assert latency['battrace_http_request_duration_seconds_count{method="POST",route="/api/v1/events",status="200"}'] \
        >= len(s.story()) + 1
    assert "battrace_http_requests_in_flight" in text
    assert "battrace_replica_lag_seconds" not in text  # no replica configured


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_ready(base: str, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert proc.poll() is None, "the server exited"
        try:
            if httpx.get(f"{base}/readyz", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise AssertionError("the server did not become ready")


def test_serve_with_two_workers_sums_metrics_and_drains_on_sigterm(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'serve.db'}"
    platform = Platform(Settings(database_url=url), now=lambda: NOW)
    import_orgs(platform.store, s.orgs(), NOW)
    key = create_key(platform.store, s.BATTERY_MAKER, NOW)
    platform.close()
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    env = {k: v for k, v in os.environ.items() if k not in ("BATTRACE_DATABASE_URL", "PROMETHEUS_MULTIPROC_DIR")}
    proc = subprocess.Popen([sys.executable, "-m", "battrace", "--db", url, "serve", "--port", str(port),
                             "--workers", "2", "--graceful-timeout", "20"], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        _wait_ready(base, proc)
        with httpx.Client(base_url=base) as client:  # new connections: the workers share them
            for _ in range(20):
                with httpx.Client(base_url=base) as one:
                    assert one.get("/healthz").status_code == 200
            text = client.get("/metrics").text
        count = _samples(text, "battrace_http_request_duration_seconds_count")
        assert count['battrace_http_request_duration_seconds_count{method="GET",route="/healthz",status="200"}'] >= 20
        # a request in flight: headers and half the body sent, then SIGTERM, then the rest
        event = s.ev(1, "battery.produced", s.BATTERY_MAKER, "2024-03-05T09:00:00+08:00", battery=s.PACK, **s.FIG)
        body = json.dumps(event).encode()
        head = (f"POST /api/v1/events HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {key}\r\n"
                f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n")
        sock = socket.create_connection(("127.0.0.1", port))
        sock.sendall(head.encode() + body[:20])
        time.sleep(0.5)  # let a worker take the request before the signal (not an assertion on time)
        proc.send_signal(signal.SIGTERM)
        time.sleep(1.0)  # let the signal reach the workers: they are shutting down from here on
        assert proc.poll() is None  # still draining the request in flight
        sock.sendall(body[20:])
        reply = b""
        while chunk := sock.recv(65536):
            reply += chunk
        sock.close()
        status, _, rest = reply.partition(b"\r\n")
        assert status.startswith(b"HTTP/1.1 200"), reply[:300]
        assert json.loads(rest.split(b"\r\n\r\n", 1)[1])["accepted"] == 1
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    check = Platform(Settings(database_url=url))
    try:
        with check.store.reader() as conn:
            assert conn.exec_driver_sql("SELECT count(*) FROM events").scalar() == 1
    finally:
        check.close()


def test_settings_read_the_replica_and_logging_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    from battrace.errors import ValidationError

    monkeypatch.setenv("BATTRACE_READ_DATABASE_URL", "postgresql+psycopg://reader@replica/battrace")
    monkeypatch.setenv("BATTRACE_LOG_FORMAT", "Console")
    settings = Settings.from_env("sqlite:///x.db")
    assert settings.read_database_url == "postgresql+psycopg://reader@replica/battrace"
    assert settings.log_format == "console" and settings.log_level == "info"
    monkeypatch.setenv("BATTRACE_LOG_LEVEL", "loud")
    with pytest.raises(ValidationError, match="BATTRACE_LOG_LEVEL must be one of debug, info, warning, error"):
        Settings.from_env()
