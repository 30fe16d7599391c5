"""Benchmark: every query behind the regulator dashboard and ``/api/v1/stats``, and both through HTTP.

Usage::

    python bench/dashboard.py --pg URL [--runs N] [--log-runs N] [--http-runs N] [--json]

Runs against an existing database (e.g. a simulated world ingested with ``battrace ingest``; see
docs/performance.md), at the migrations' head. Three parts:

1. each query the dashboard page makes, in process, ``--runs`` times (p50, max): the statistics,
   the data version, the flows, the league, the forecast, the findings matrix, the overdue list and
   the counts, the organisations; and for comparison the log scans they replaced
   (``*_from_log``: the statements the dashboard ran before migration 0013), ``--log-runs`` times;
2. ``GET /api/v1/stats`` (an admin key) and ``GET /dashboard`` (signed in as the admin) through
   real HTTP: uvicorn on a free local port in this process, httpx as the client. The page memoises
   its figures per data version (``battrace.web.cache``); at national scale events arrive every
   moment, so the version changes between two views: ``dashboard (cold)`` empties the memo before
   each request (every request computes everything), ``dashboard (warm)`` leaves it.

Prints p50/p99 in ms, the machine (CPUs, load average) and the sizes of the log.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import sys
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from latency import percentiles  # noqa: E402


def pct(samples: list[float]) -> dict[str, float]:
    return percentiles(samples, digits=1, with_max=True)


def timed(fn: Callable[[], Any], runs: int) -> dict[str, float]:
    samples = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - t)
    return pct(samples)


def queries(url: str, runs: int, log_runs: int) -> dict[str, Any]:
    from battrace.services.compliance import count_findings, list_findings
    from battrace.services.flows import list_flows
    from battrace.services.forecast import retirement_forecast
    from battrace.services.orgs import list_orgs
    from battrace.services.oversight import data_version, findings_matrix, reporting_league
    from battrace.services.stats import get_stats
    from battrace.storage import reporting
    from battrace.storage.store import Store
    from battrace.web.pages.dashboard import gather

    store = Store(url)
    out: dict[str, Any] = {}
    for name, fn in {
        "stats (packs)": lambda: get_stats(store),
        "data_version": lambda: data_version(store),
        "flows": lambda: list_flows(store),
        "league": lambda: reporting_league(store, min_events=10, limit=15),
        "forecast": lambda: retirement_forecast(store),
        "findings_matrix": lambda: findings_matrix(store),
        "overdue list": lambda: list_findings(store, rule="R04b", state="open", limit=1000),
        "overdue count": lambda: count_findings(store, rule="R04b", state="open"),
        "open count": lambda: count_findings(store, state="open"),
        "orgs": lambda: list_orgs(store),
        "gather (whole page, national)": lambda: gather(store, None, worst_first=True),
        "gather (whole page, 440000)": lambda: gather(store, "440000", worst_first=True),
    }.items():
        out[name] = timed(fn, runs)

    def from_log(fn: Callable[[Any], Any]) -> Callable[[], Any]:
        def run() -> Any:
            with store.reader() as conn:
                return fn(conn)
        return run

    if hasattr(reporting, "handover_flows_from_log"):  # absent before migration 0013's code
        for name, fn in {
            "flows from the log (before)": from_log(lambda c: reporting.handover_flows_from_log(
                c, prefix="", waste_only=True, since=None, until=None)),
            "events per reporter from the log (league before)": from_log(reporting.events_per_reporter_from_log),
            "installations from the log (forecast before)": from_log(reporting.installations_from_log),
        }.items():
            out[name] = timed(fn, log_runs)
    store.close()
    return out


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def http(url: str, runs: int) -> dict[str, Any]:
    import httpx
    import uvicorn

    from battrace.api.app import create_app
    from battrace.config import Settings
    from battrace.services.access import create_key
    from battrace.services.platform import Platform

    platform = Platform(Settings(database_url=url))
    key = create_key(platform.store, None, datetime.now(UTC), admin=True, label="bench/dashboard.py")
    app = create_app(platform)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", access_log=False))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    out: dict[str, Any] = {}
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=120) as client:
            api = {"Authorization": f"Bearer {key}"}

            def get(path: str, **kw: Any) -> Callable[[], Any]:
                def run() -> None:
                    r = client.get(path, **kw)
                    assert r.status_code == 200, (path, r.status_code, r.text[:300])
                return run

            get("/api/v1/stats", headers=api)()  # warm the pool
            out["GET /api/v1/stats"] = timed(get("/api/v1/stats", headers=api), runs)
            r = client.post("/login", data={"key": key, "next": "/dashboard"}, follow_redirects=False)
            assert r.status_code in (302, 303), r.text[:300]
            cache = app.state.web_cache

            def cold() -> None:
                cache._items.clear()
                get("/dashboard")()

            get("/dashboard")()
            out["GET /dashboard (cold: computed)"] = timed(cold, runs)
            out["GET /dashboard (warm: memo)"] = timed(get("/dashboard"), runs)
    finally:
        server.should_exit = True
        thread.join(10)
        platform.close()
    return out


def sizes(url: str) -> dict[str, int]:
    from battrace.storage.store import Store

    store = Store(url)
    with store.reader() as conn:
        present = set(conn.dialect.get_table_names(conn))
        out = {t: int(conn.exec_driver_sql(f"SELECT count(*) FROM {t}").scalar_one())
               for t in ("events", "batteries", "vehicles", "findings", "orgs", "reporter_counts", "flow_counts",
                         "installation_counts", "battery_counts") if t in present}
    store.close()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pg", default=os.environ.get("BATTRACE_TEST_DATABASE_URL"))
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--log-runs", type=int, default=3)
    parser.add_argument("--http-runs", type=int, default=50)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if not args.pg:
        sys.exit("give --pg URL (or set BATTRACE_TEST_DATABASE_URL)")
    result = {"cpus": os.cpu_count(), "load_before": os.getloadavg(), "sizes": sizes(args.pg),
              "queries": queries(args.pg, args.runs, args.log_runs), "http": http(args.pg, args.http_runs),
              "load_after": os.getloadavg()}
    if args.json:
        print(json.dumps(result, indent=2))
        return
    print(f"CPUs {result['cpus']}, load {result['load_before']} -> {result['load_after']}")
    print("sizes:", ", ".join(f"{k} {v:,}" for k, v in result["sizes"].items()))
    for part in ("queries", "http"):
        for name, r in result[part].items():
            print(f"{name:52s} p50 {r['p50_ms']:9.1f} ms  p99 {r['p99_ms']:9.1f} ms  "
                  f"max {r['max_ms']:9.1f} ms  n={r['n']}")


if __name__ == "__main__":
    main()
