"""Benchmark: web console page renders at the demo size, against a real uvicorn server.

Usage::

    python bench/pages.py [--packs N] [--data DIR] [--requests N] [--json]

The demo world (``battrace demo``'s: ``--packs`` simulated packs, default 20,000, with light packs of
a few modules and cells, ingested with their history, findings evaluated as of the end date) is made
in ``--data`` (default ``demo-data``, so an existing demo database is reused), then served by uvicorn
in a subprocess on a free loopback port. One keep-alive client renders each page ``--requests``
times (default 200; battery pages on a different random pack each time) and reports p50, p95 and
max latency per page. A 303 (the lookup's redirect) is not followed: it is the lookup's answer.
The dashboard and the console memoise their aggregations per data version (``battrace.web.cache``),
so repeated renders measure the warm path; the aggregations themselves are timed in process too,
uncached, as the cost of the first render after new data.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]


def serve(url: str, port: int) -> None:
    """Run the app with its web pages (the server subprocess)."""
    import uvicorn

    from battrace.api import create_app
    from battrace.config import Settings
    from battrace.services.platform import Platform

    app = create_app(Platform(Settings(database_url=url)))
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def pack_codes(url: str, n: int, seed: int = 7) -> list[str]:
    from sqlalchemy import select

    from battrace.storage import schema
    from battrace.storage.store import Store

    store = Store(url)
    try:
        with store.reader() as conn:
            codes = list(conn.execute(select(schema.batteries.c.code).where(schema.batteries.c.level == "P")).scalars())
    finally:
        store.close()
    rng = random.Random(seed)
    return [rng.choice(codes) for _ in range(n)]


def stats(samples: list[float]) -> dict[str, float]:
    s = sorted(samples)

    def pick(q: float) -> float:
        return round(s[min(len(s) - 1, int(q * len(s)))] * 1000, 1)

    return {"n": len(s), "p50_ms": pick(0.5), "p95_ms": pick(0.95), "max_ms": round(s[-1] * 1000, 1)}


def measure(client: httpx.Client, paths: list[str], key: str | None) -> dict[str, float]:
    cookies = {"bt_key": key} if key else {}
    samples = []
    for path in paths:
        start = time.perf_counter()
        r = client.get(path, cookies=cookies)
        samples.append(time.perf_counter() - start)
        if r.status_code not in (200, 303):
            raise SystemExit(f"GET {path}: {r.status_code} {r.text[:300]}")
    return stats(samples)


def uncached(url: str, keys: dict[str, dict[str, str]], rounds: int) -> dict[str, dict[str, float]]:
    """The aggregations behind the dashboard and the console, computed in process without the memo:
    what the first render after new data costs."""
    from battrace.config import Settings
    from battrace.services.holdings import list_holdings
    from battrace.services.orgs import get_org
    from battrace.services.platform import Platform
    from battrace.web.pages.dashboard import gather

    platform = Platform(Settings(database_url=url))
    store = platform.store
    try:
        province = get_org(store, keys["regulator_province"]["org"]).jurisdiction
        jobs = {
            "dashboard data, national": lambda: gather(store, None, worst_first=True),
            "dashboard data, one province": lambda: gather(store, province, worst_first=True),
            "console holdings, battery maker": lambda: list_holdings(store, keys["battery_maker"]["org"]),
        }
        out = {}
        for name, job in jobs.items():
            samples = []
            for _ in range(rounds):
                start = time.perf_counter()
                job()
                samples.append(time.perf_counter() - start)
            out[name] = stats(samples)
        return out
    finally:
        platform.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--packs", type=int, default=20_000)
    parser.add_argument("--data", type=Path, default=ROOT / "demo-data")
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--serve", nargs=2, metavar=("URL", "PORT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve[0], int(args.serve[1]))
        return

    from battrace import clock
    from battrace.services.demo import prepare_demo

    t0 = time.perf_counter()
    world = prepare_demo(args.data, packs=args.packs, now=clock.now())
    prepared = time.perf_counter() - t0
    keys = {role: k["key"] for role, k in world.keys.items()}
    n = args.requests
    codes = pack_codes(world.database_url, 2 * n)

    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    server = subprocess.Popen([sys.executable, __file__, "--serve", world.database_url, str(port)], env=env)
    base = f"http://127.0.0.1:{port}"
    try:
        with httpx.Client(base_url=base, timeout=60, follow_redirects=False) as client:
            deadline = time.monotonic() + 60
            while True:
                try:
                    client.get("/healthz")
                    break
                except httpx.TransportError:
                    if time.monotonic() > deadline or server.poll() is not None:
                        raise SystemExit("the server did not start") from None
                    time.sleep(0.2)
            for path in ("/", "/dashboard", f"/b/{codes[0]}"):  # warm up templates and caches
                client.get(path, cookies={"bt_key": keys["admin"]})
            pages: dict[str, dict[str, Any]] = {
                "home /": measure(client, ["/"] * n, None),
                "lookup /?q=code (303)": measure(client, [f"/?q={c}" for c in codes[:n]], None),
                "battery /b/{code}, public": measure(client, [f"/b/{c}" for c in codes[:n]], None),
                "battery /b/{code}, full tier": measure(client, [f"/b/{c}" for c in codes[n:]], keys["admin"]),
                "dashboard, national": measure(client, ["/dashboard"] * max(n // 4, 10), keys["regulator_national"]),
                "dashboard, one province": measure(client, ["/dashboard"] * max(n // 4, 10),
                                                   keys["regulator_province"]),
                "console, battery maker": measure(client, ["/console"] * max(n // 4, 10), keys["battery_maker"]),
                "console, recycler": measure(client, ["/console"] * max(n // 4, 10), keys["recycler"]),
            }
    finally:
        server.terminate()
        server.wait(timeout=10)
    cold = uncached(world.database_url, world.keys, max(n // 20, 5))
    result = {"packs": args.packs, "batteries": world.summary.get("batteries"), "events": world.summary.get("events"),
              "world_reused": world.reused, "prepare_seconds": round(prepared, 1), "pages": pages,
              "uncached": cold}
    if args.json:
        print(json.dumps(result, ensure_ascii=False, indent=2))
        return
    print(f"demo world: {args.packs} packs, {result['events']} events"
          f" ({'reused' if world.reused else f'built in {prepared:.0f} s'})")
    print(f"{'page':34} {'n':>5} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8}")
    for name, s in pages.items():
        print(f"{name:34} {s['n']:>5} {s['p50_ms']:>8} {s['p95_ms']:>8} {s['max_ms']:>8}")
    print("uncached aggregations (the first render after new data; in process):")
    for name, s in cold.items():
        print(f"{name:34} {s['n']:>5} {s['p50_ms']:>8} {s['p95_ms']:>8} {s['max_ms']:>8}")


if __name__ == "__main__":
    main()
