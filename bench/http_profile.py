"""Profile: where the server's CPU time goes per ``POST /api/v1/events`` request (single events, batches).

Usage::

    python bench/http_profile.py [--singles N] [--batches M] [--batch-size K] [--top T] [--data DIR]

The app runs in this process under a real uvicorn server (the event loop in the main thread, the
thread pool as in production), configured as ``battrace serve --workers N`` configures each worker
(per-request logs off, Prometheus metrics in a multiprocess folder), on a SQLite file. A client in a
subprocess sends, in the stream's order: a few warm-up single events, ``M`` batches of ``K`` events
(per-reporter requests, as ``bench/http_api.py`` cuts them) twice, then ``N`` single events twice.
Each phase runs once unprofiled, for the server's process CPU time per request (``getrusage``:
every thread, uvicorn included), and once under ``cProfile`` with a CPU clock (``thread_time``) in
the event-loop thread and in each worker thread, for the breakdown. CPU time, not wall time: the
figures do not depend on what else the machine runs (the client included). cProfile's own cost
inflates functions with many small calls; the unprofiled CPU time per request is the true total.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import json
import os
import pstats
import resource
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from http_api import clean, free_port, requests_in_order, setup  # noqa: E402
from ingest import prepare  # noqa: E402

WARMUP = 50


# -- the client (a subprocess) ---------------------------------------------------------------------


def client(base: str, keys_file: str, events_file: str, mode: str, size: int) -> None:
    """Send the events of ``events_file``: one per request (``single``) or in per-reporter batches of
    ``size`` (``batch``); print the outcome counts and the number of requests."""
    import httpx

    keys = json.loads(Path(keys_file).read_text())
    events = json.loads(Path(events_file).read_text())
    counts = {"accepted": 0, "duplicate": 0, "rejected": 0, "requests": 0}
    with httpx.Client(base_url=base, timeout=60) as http:
        work = [(e["reporter"], [e]) for e in events] if mode == "single" else list(requests_in_order(events, size))
        for reporter, batch in work:
            headers = {"Authorization": f"Bearer {keys[reporter]}"}
            if mode == "single":
                r = http.post("/api/v1/events", json=clean(batch[0]), headers=headers)
            else:
                body = "\n".join(json.dumps(clean(e), ensure_ascii=False) for e in batch).encode("utf-8")
                r = http.post("/api/v1/events", content=body,
                              headers={**headers, "Content-Type": "application/x-ndjson"})
            r.raise_for_status()
            report = r.json()
            for k in ("accepted", "duplicate", "rejected"):
                counts[k] += report[k]
            counts["requests"] += 1
    print(json.dumps(counts))


# -- the server and the profiler (this process) ----------------------------------------------------


class ThreadProfiles:
    """One ``cProfile.Profile`` (CPU clock of its own thread) per thread, switched on together."""

    def __init__(self, clock: Callable[[], float] = time.thread_time) -> None:
        self.clock = clock
        self.active = False
        self.profiles: list[cProfile.Profile] = []
        self._local = threading.local()
        self._lock = threading.Lock()

    def profile(self) -> cProfile.Profile:
        prof: cProfile.Profile | None = getattr(self._local, "prof", None)
        if prof is None:
            prof = cProfile.Profile(self.clock)
            self._local.prof = prof
            with self._lock:
                self.profiles.append(prof)
        return prof

    def wrap(self, func: Callable[..., Any]) -> Callable[..., Any]:
        def run(*args: Any) -> Any:
            if not self.active:
                return func(*args)
            prof = self.profile()
            prof.enable()
            try:
                return func(*args)
            finally:
                prof.disable()
        return run

    def stats(self) -> pstats.Stats:
        first, *rest = self.profiles
        stats = pstats.Stats(first)
        for prof in rest:
            stats.add(prof)
        return stats


def install_thread_hook(profiles: ThreadProfiles) -> None:
    """Profile what runs in the thread pool (``run_in_threadpool``, sync dependencies) as well."""
    import anyio.to_thread

    original = anyio.to_thread.run_sync

    async def run_sync(func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        return await original(profiles.wrap(func), *args, **kwargs)

    anyio.to_thread.run_sync = run_sync  # type: ignore[assignment]


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def run_client(base: str, keys_file: str, events: list[dict[str, Any]], mode: str, size: int,
                     tmp: Path) -> dict[str, int]:
    events_file = tmp / f"events-{mode}-{time.monotonic_ns()}.json"
    events_file.write_text(json.dumps(events))
    proc = await asyncio.create_subprocess_exec(
        sys.executable, __file__, "--client", base, keys_file, str(events_file), mode, str(size),
        stdout=asyncio.subprocess.PIPE)
    out, _ = await proc.communicate()
    if proc.returncode != 0:
        raise SystemExit(f"the client failed ({proc.returncode})")
    counts: dict[str, int] = json.loads(out)
    return counts


async def profile_server(args: argparse.Namespace, url: str, keys: dict[str, str], events: list[dict[str, Any]],
                         tmp: Path) -> dict[str, Any]:
    import uvicorn

    from battrace.api import create_app
    from battrace.config import Settings
    from battrace.services.platform import Platform

    app = create_app(Platform(Settings(database_url=url, log_level="warning")), with_web=False)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning",
                                           access_log=False))
    task = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.02)
    base = f"http://127.0.0.1:{port}"
    keys_file = tmp / "keys.json"
    keys_file.write_text(json.dumps(keys))
    profiles = ThreadProfiles(time.perf_counter if args.clock == "wall" else time.thread_time)
    install_thread_hook(profiles)
    results: dict[str, Any] = {}
    cursor = 0

    def take(n: int) -> list[dict[str, Any]]:
        nonlocal cursor
        out = events[cursor: cursor + n]
        cursor += n
        return out

    await run_client(base, str(keys_file), take(WARMUP), "single", 1, tmp)
    phases = [("batch", args.batches * args.batch_size), ("single", args.singles)]
    for mode, n in phases:
        plain_events, profiled_events = take(n), take(n)
        start = cpu_seconds()
        plain = await run_client(base, str(keys_file), plain_events, mode, args.batch_size, tmp)
        plain_cpu = cpu_seconds() - start
        profiles.active = True
        main = profiles.profile()
        main.enable()
        profiled = await run_client(base, str(keys_file), profiled_events, mode, args.batch_size, tmp)
        main.disable()
        profiles.active = False
        stats = profiles.stats()
        profiles.profiles.clear()
        profiles._local = threading.local()  # the next phase starts afresh
        results[mode] = {
            "unprofiled": {**plain, "cpu_us_per_request": round(plain_cpu / plain["requests"] * 1e6),
                           "cpu_us_per_event": round(plain_cpu / max(plain["accepted"], 1) * 1e6, 1)},
            "profiled": profiled,
            "stats": stats,
            "clock": args.clock,
        }
    server.should_exit = True
    await task
    return results


def report(mode: str, result: dict[str, Any], top: int) -> str:
    plain, profiled, stats = result["unprofiled"], result["profiled"], result["stats"]
    n = profiled["requests"]
    lines = [f"== {mode}: {plain['requests']} requests, {plain['accepted']} accepted, {plain['rejected']} rejected "
             f"(unprofiled): server CPU {plain['cpu_us_per_request']} µs/request, "
             f"{plain['cpu_us_per_event']} µs/accepted event",
             f"   profiled run: {n} requests ({profiled['rejected']} rejected); "
             f"µs per request ({result['clock']} clock)"]
    entries = stats.stats  # type: ignore[attr-defined]
    total = sum(tt for (_cc, _nc, tt, _ct, _callers) in entries.values())
    lines.append(f"   total profiled CPU: {total / n * 1e6:.0f} µs/request")
    rows = sorted(entries.items(), key=lambda kv: kv[1][3], reverse=True)
    lines.append("   by cumulative time:")
    for (file, line, func), (_cc, nc, _tt, ct, _callers) in rows[:top]:
        lines.append(f"   {ct / n * 1e6:9.1f} µs  {nc / n:7.1f} calls  {_where(file, line, func)}")
    rows = sorted(entries.items(), key=lambda kv: kv[1][2], reverse=True)
    lines.append("   by own time:")
    for (file, line, func), (_cc, nc, tt, _ct, _callers) in rows[:top]:
        lines.append(f"   {tt / n * 1e6:9.1f} µs  {nc / n:7.1f} calls  {_where(file, line, func)}")
    return "\n".join(lines)


def _where(file: str, line: int, func: str) -> str:
    for marker in ("site-packages/", "battrace/", "lib/python3"):
        if marker in file:
            file = file.split(marker, 1)[1]
            break
    return f"{func} ({file}:{line})"


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--singles", type=int, default=2000)
    parser.add_argument("--batches", type=int, default=20)
    parser.add_argument("--batch-size", type=int, default=100)
    parser.add_argument("--top", type=int, default=40)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--data", default=str(Path(tempfile.gettempdir()) / "battrace-bench-data"))
    parser.add_argument("--clock", choices=("cpu", "wall"), default="cpu",
                        help="the profiler's clock: each thread's CPU time (default), or wall time (cheaper to "
                        "read, so less inflated by the profiler, but counting waits)")
    parser.add_argument("--dump", help="write each phase's pstats to DUMP.<mode>.pstats")
    parser.add_argument("--client", nargs=5, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.client:
        base, keys_file, events_file, mode, size = args.client
        client(base, keys_file, events_file, mode, int(size))
        return
    need = WARMUP + 2 * (args.batches * args.batch_size + args.singles)
    data, _ = prepare(need, args.seed, Path(args.data))
    with open(data / "events.jsonl", encoding="utf-8") as handle:
        events = [json.loads(line) for _, line in zip(range(need), handle, strict=False)]
    with tempfile.TemporaryDirectory(prefix="battrace-profile-") as tmp_name:
        tmp = Path(tmp_name)
        metrics = tmp / "metrics"
        metrics.mkdir()
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(metrics)  # as in each worker of ``serve --workers N``
        url = f"sqlite:///{tmp / 'profile.db'}"
        keys = setup(url, data)
        results = asyncio.run(profile_server(args, url, keys, events, tmp))
    for mode, result in results.items():
        print(report(mode, result, args.top))
        if args.dump:
            result["stats"].dump_stats(f"{args.dump}.{mode}.pstats")


if __name__ == "__main__":
    main(sys.argv[1:])
