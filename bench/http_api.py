"""Benchmark: the HTTP API on loopback, against a real uvicorn server in a subprocess.

(Not ``bench/http.py``: a script's folder comes first on ``sys.path``, so a ``bench/http.py`` would
shadow the standard library's ``http`` package for every script in ``bench/``.)

Usage::

    python bench/http_api.py [EVENTS] [--batch N] [--clients K] [--singles N] [--reads N]
                         [--workers W] [--max-seconds S] [--pg URL] [--json]

The server runs as ``battrace serve --workers W`` does (default 2 worker processes, the app built
from the environment in each, per-request logs off).

A simulated world (modules and cells, :mod:`battrace.services.simulate`) of at least ``EVENTS``
events (default 100,000) is reported through ``POST /api/v1/events`` with each reporter's own key:

1. **batches**: the first events, ``--batch`` per request (default 1,000). A request carries one
   reporter's events, so the stream is cut into per-reporter requests that keep every battery's
   and vehicle's order (:func:`requests_in_order`).
2. **single events**: the next ``--singles`` events (default 5,000), one per request, in order.
3. **reads**: ``GET /api/v1/batteries/{code}`` on ``--reads`` random batteries (default 1,000)
   with the maker's key (the full digital ID, audited), and ``GET /api/v1/public/batteries/{code}``.

Every phase is bounded by ``--max-seconds`` (default 120). ``--clients`` (default 1) runs the
reads and the single events from that many concurrent keep-alive clients (threads); events then
leave the stream's order, so some may be rejected: the report says how many.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from ingest import machine, prepare  # noqa: E402
from latency import percentiles  # noqa: E402

GOALS = {"batch_events_per_s": 20_000, "single_requests_per_s": 1_000}
NOW = datetime(2026, 11, 20, tzinfo=UTC)


def serve(url: str, port: int, workers: int) -> None:
    """Run the app (the server subprocess): as ``battrace serve --workers N`` does, N uvicorn workers
    building the app from the environment, metrics in a shared multiprocess folder."""
    import uvicorn

    os.environ["BATTRACE_LOG_LEVEL"] = "warning"  # no per-request log line in the measurement
    if workers == 1:
        from battrace.api import create_app
        from battrace.config import Settings
        from battrace.services.platform import Platform

        app = create_app(Platform(Settings(database_url=url, log_level="warning")), with_web=False)
        uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)
        return
    from battrace.cli.server import run_workers

    os.environ["BATTRACE_DATABASE_URL"] = url
    with tempfile.TemporaryDirectory(prefix="battrace-metrics-") as metrics_dir:
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = metrics_dir
        run_workers("127.0.0.1", port, workers)  # what ``battrace serve --workers N`` runs


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def setup(url: str, data: Path) -> dict[str, str]:
    """Import the world's organisations and create one key per organisation."""
    from battrace.services.access import create_key
    from battrace.services.orgs import import_orgs
    from battrace.storage.store import Store

    store = Store(url)
    orgs = json.loads((data / "orgs.json").read_text(encoding="utf-8"))
    import_orgs(store, orgs, NOW)
    keys = {o["credit_code"]: create_key(store, o["credit_code"], NOW) for o in orgs}
    store.close()
    return keys


def names(raw: dict[str, Any]) -> set[str]:
    out: set[str] = set()
    for key in ("battery", "product", "removed", "installed", "vin"):
        if isinstance(raw.get(key), str):
            out.add(raw[key])
    for key in ("batteries", "components", "sources", "batteries_present"):
        out.update(c for c in raw.get(key) or () if isinstance(c, str))
    for item in raw.get("components_replaced") or ():
        out.update((item.get("removed"), item.get("installed")))
    return out


def requests_in_order(events: list[dict[str, Any]], size: int) -> Iterator[tuple[str, list[dict[str, Any]]]]:
    """Cut an ordered stream into per-reporter requests of up to ``size`` events.

    An event that names a battery or vehicle held in another reporter's pending request only
    records that the other request must go first; a request is sent when full (after the ones it
    must follow), or at once when waiting would need a cycle. Every item keeps its events' order.
    """
    pending: dict[str, list[dict[str, Any]]] = {}
    before: dict[str, set[str]] = {}  # reporter -> reporters whose pending requests must be sent first
    held: dict[str, str] = {}  # battery code / VIN -> reporter whose pending request names it last

    def must_precede(a: str, b: str) -> bool:
        """Whether ``a``'s pending request must already be sent before ``b``'s."""
        stack, seen = [b], {b}
        while stack:
            for r in before.get(stack.pop(), ()):
                if r == a:
                    return True
                if r not in seen:
                    seen.add(r)
                    stack.append(r)
        return False

    def flush(reporter: str) -> Iterator[tuple[str, list[dict[str, Any]]]]:
        for other in sorted(before.pop(reporter, set())):
            if other in pending:
                yield from flush(other)
        batch = pending.pop(reporter)
        for deps in before.values():
            deps.discard(reporter)
        for raw in batch:
            for name in names(raw):
                if held.get(name) == reporter:
                    del held[name]
        yield reporter, batch

    for raw in events:
        reporter = raw["reporter"]
        touched = names(raw)
        for other in sorted({held[n] for n in touched if n in held} - {reporter}):
            if other not in pending:
                continue
            if must_precede(reporter, other):
                yield from flush(other)
            else:
                before.setdefault(reporter, set()).add(other)
        pending.setdefault(reporter, []).append(raw)
        for n in touched:
            held[n] = reporter
        if len(pending[reporter]) >= size:
            yield from flush(reporter)
    while pending:
        yield from flush(next(iter(pending)))


def clean(raw: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in raw.items() if k != "recorded_at"}


def post_batches(client: httpx.Client, keys: dict[str, str], events: list[dict[str, Any]], size: int,
                 limit: float) -> dict[str, Any]:
    counts = {"accepted": 0, "duplicate": 0, "rejected": 0}
    sent = requests = 0
    latencies: list[float] = []
    start = time.perf_counter()
    for reporter, batch in requests_in_order(events, size):
        body = "\n".join(json.dumps(clean(e), ensure_ascii=False) for e in batch).encode("utf-8")
        t = time.perf_counter()
        r = client.post("/api/v1/events", content=body,
                        headers={"Authorization": f"Bearer {keys[reporter]}", "Content-Type": "application/x-ndjson"})
        latencies.append(time.perf_counter() - t)
        r.raise_for_status()
        report = r.json()
        for k in counts:
            counts[k] += report[k]
        sent += len(batch)
        requests += 1
        if time.perf_counter() - start > limit:
            break
    seconds = time.perf_counter() - start
    return {"events": sent, "requests": requests, "mean_batch": round(sent / max(requests, 1), 1),
            "seconds": round(seconds, 2), "events_per_s": round(sent / seconds), **counts,
            "request_latency": percentiles(latencies)}


def post_singles(base: str, keys: dict[str, str], events: list[dict[str, Any]], clients: int,
                 limit: float) -> dict[str, Any]:
    counts = {"accepted": 0, "duplicate": 0, "rejected": 0}
    latencies: list[float] = []
    lock = threading.Lock()
    cursor = iter(events)
    deadline = time.perf_counter() + limit

    def run() -> None:
        with httpx.Client(base_url=base, timeout=30) as client:
            while time.perf_counter() < deadline:
                with lock:
                    raw = next(cursor, None)
                if raw is None:
                    return
                t = time.perf_counter()
                r = client.post("/api/v1/events", json=clean(raw),
                                headers={"Authorization": f"Bearer {keys[raw['reporter']]}"})
                elapsed = time.perf_counter() - t
                r.raise_for_status()
                report = r.json()
                with lock:
                    latencies.append(elapsed)
                    for k in counts:
                        counts[k] += report[k]

    start = time.perf_counter()
    threads = [threading.Thread(target=run) for _ in range(clients)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    seconds = time.perf_counter() - start
    return {"requests": len(latencies), "clients": clients, "seconds": round(seconds, 2),
            "requests_per_s": round(len(latencies) / seconds), **counts, "latency": percentiles(latencies)}


def reads(base: str, path: str, codes: list[str], headers: list[dict[str, str]], clients: int,
          limit: float) -> dict[str, Any]:
    latencies: list[float] = []
    errors = 0
    lock = threading.Lock()
    work = iter(list(zip(codes, headers, strict=True)))
    deadline = time.perf_counter() + limit

    def run() -> None:
        nonlocal errors
        with httpx.Client(base_url=base, timeout=30) as client:
            while time.perf_counter() < deadline:
                with lock:
                    item = next(work, None)
                if item is None:
                    return
                t = time.perf_counter()
                r = client.get(path.format(code=item[0]), headers=item[1])
                elapsed = time.perf_counter() - t
                with lock:
                    latencies.append(elapsed)
                    errors += r.status_code != 200

    start = time.perf_counter()
    threads = [threading.Thread(target=run) for _ in range(clients)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    seconds = time.perf_counter() - start
    return {**percentiles(latencies), "errors": errors, "requests_per_s": round(len(latencies) / seconds)}


def measure(args: argparse.Namespace, backend: str, pg: str | None) -> dict[str, Any]:
    from ingest import database  # the same fresh-database helper as bench/ingest.py

    data, packs = prepare(args.events + args.singles, args.seed, Path(args.data))
    with open(data / "events.jsonl", encoding="utf-8") as handle:
        events = [json.loads(line) for _, line in zip(range(args.events + args.singles), handle, strict=False)]
    with tempfile.TemporaryDirectory(prefix="battrace-http-") as tmp, database(backend, pg, Path(tmp)) as url:
        keys = setup(url, data)
        port = free_port()
        server = subprocess.Popen([sys.executable, __file__, "--serve", url, str(port), str(args.workers)])
        base = f"http://127.0.0.1:{port}"
        try:
            with httpx.Client(base_url=base, timeout=60) as client:
                for _ in range(1200):
                    try:
                        if client.get("/readyz").status_code == 200:
                            break
                    except httpx.TransportError:
                        time.sleep(0.1)
                else:
                    raise SystemExit("the server did not start")
                log(f"{backend}: batches of {args.batch}")
                batches = post_batches(client, keys, events[: args.events], args.batch, args.max_seconds)
            log(f"{backend}: single events")
            singles = post_singles(base, keys, events[args.events:], args.clients, args.max_seconds)
            codes, makers = sample_batteries(url, args.reads, args.seed)
            log(f"{backend}: reads")
            full = reads(base, "/api/v1/batteries/{code}", codes,
                         [{"Authorization": f"Bearer {keys[m]}"} for m in makers], args.clients, args.max_seconds)
            public = reads(base, "/api/v1/public/batteries/{code}", codes, [{} for _ in codes], args.clients,
                           args.max_seconds)
        finally:
            server.terminate()
            server.wait(10)
    return {"packs": packs, "batches": batches, "singles": singles, "get_battery": full, "get_public": public}


def sample_batteries(url: str, n: int, seed: int) -> tuple[list[str], list[str]]:
    from sqlalchemy import text

    from battrace.storage.store import Store

    store = Store(url, migrate=False)
    with store.reader() as conn:
        rows = list(conn.execute(text("SELECT code, maker FROM batteries ORDER BY code")))
    store.close()
    rng = random.Random(seed)
    picked = [rng.choice(rows) for _ in range(n)]
    return [r[0] for r in picked], [r[1] for r in picked]


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def table(results: dict[str, Any]) -> str:
    m = results["machine"]
    out = [f"machine: {m['nproc']} CPU, {m['cpu']}, Python {m['python']}, load {os.getloadavg()[0]:.2f} (1 min)",
           f"server: battrace serve --workers {results['workers']}; {results['clients']} client thread(s)", ""]
    for backend, r in results["backends"].items():
        b, s, g, p = r["batches"], r["singles"], r["get_battery"], r["get_public"]
        out += [
            f"{backend}:",
            f"  POST batches   {b['events']:>8,} events in {b['requests']:,} requests "
            f"(mean {b['mean_batch']}/request): "
            f"{b['events_per_s']:,} events/s  (rejected {b['rejected']}, request p50 "
            f"{b['request_latency'].get('p50_ms')} ms)",
            f"  POST single    {s['requests']:>8,} requests, {s['clients']} client(s): "
            f"{s['requests_per_s']:,} requests/s "
            f" p50 {s['latency'].get('p50_ms')} ms  p99 {s['latency'].get('p99_ms')} ms  (rejected {s['rejected']})",
            f"  GET battery    {g.get('n', 0):>8,} requests: p50 {g.get('p50_ms')} ms  p99 {g.get('p99_ms')} ms  "
            f"{g['requests_per_s']:,}/s  (errors {g['errors']})",
            f"  GET public     {p.get('n', 0):>8,} requests: p50 {p.get('p50_ms')} ms  p99 {p.get('p99_ms')} ms  "
            f"{p['requests_per_s']:,}/s  (errors {p['errors']})",
        ]
        ok = lambda c: "PASS" if c else "FAIL"  # noqa: E731
        out += [
            f"  goal >= {GOALS['batch_events_per_s']:,} events/s in batches: "
            f"{ok(b['events_per_s'] >= GOALS['batch_events_per_s'])}",
            f"  goal >= {GOALS['single_requests_per_s']:,} single-event requests/s: "
            f"{ok(s['requests_per_s'] >= GOALS['single_requests_per_s'])}",
        ]
    return "\n".join(out)


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("events", nargs="?", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--singles", type=int, default=5000)
    parser.add_argument("--reads", type=int, default=1000)
    parser.add_argument("--clients", type=int, default=1)
    parser.add_argument("--max-seconds", type=float, default=120.0)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--pg", help="also run on PostgreSQL (default: $BATTRACE_TEST_DATABASE_URL)")
    parser.add_argument("--data", default=str(Path(tempfile.gettempdir()) / "battrace-bench-data"))
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--workers", type=int, default=2, help="server worker processes (serve --workers N)")
    parser.add_argument("--serve", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve:
        serve(args.serve[0], int(args.serve[1]), int(args.serve[2]))
        return
    pg = args.pg or os.environ.get("BATTRACE_TEST_DATABASE_URL")
    results: dict[str, Any] = {"machine": machine(), "goals": GOALS, "events": args.events, "workers": args.workers,
                               "clients": args.clients, "backends": {}}
    for backend in ["sqlite"] + (["postgresql"] if pg else []):
        results["backends"][backend] = measure(args, backend, pg)
    print(json.dumps(results, indent=2) if args.json else table(results))


if __name__ == "__main__":
    main(sys.argv[1:])
