"""Benchmark: what the compliance engine costs at ingest, and an as-of sweep over a million batteries.

Usage::

    python bench/compliance.py [--events N] [--packs-only-events N] [--sweep N] [--overdue SHARE]
                               [--pg URL] [--repeat K] [--seed S] [--data DIR] [--json]

**Ingest, rules on vs off.** The world simulator (:mod:`battrace.services.simulate`, default
violation rates) draws a world; its first ``N`` events (``recorded_at`` order) are loaded into
memory once and ingested through :class:`~battrace.services.platform.Platform` with
``import_history=True`` into a fresh database, once with ``Settings(rules=False)`` and once with
the rules on (the compliance engine as a ledger observer: every rule, timers, sales, findings in
the same transaction). Runs alternate off/on ``--repeat`` times; the best time of each is kept.
Two worlds: with modules and cells (realistic: ~93 % of events are cell productions, which few
rules look at) and packs only (every event is one a rule looks at: the worst case).

**As-of sweep.** ``--sweep`` synthetic waste batteries are bulk-inserted *directly* into the
engine's read model of pending waits (``compliance_timers``: 95 % idle trails for R05, 5 %
unconfirmed hand-overs for R04b), their last custody progress spread over two years so that about
``--overdue`` of them are past their limit on the as-of day; no events are stored for them. Then
:func:`~battrace.services.compliance.evaluate_as_of` is timed: the first sweep raises a finding
per overdue wait; the second, the same day, finds nothing new (the cost of the indexed query alone);
a third, a week later, raises the waits that fell due in between.

PostgreSQL runs too when ``--pg URL`` or ``BATTRACE_TEST_DATABASE_URL`` is given (a fresh schema
per run, dropped afterwards).
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import random
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from battrace.clock import CHINA

GOAL_OVERHEAD = 0.25
NOW = datetime(2026, 12, 1, tzinfo=UTC)


@contextmanager
def database(backend: str, pg: str | None, tmp: Path) -> Iterator[str]:
    if backend == "sqlite":
        path = tmp / f"bench-{uuid.uuid4().hex[:8]}.db"
        try:
            yield f"sqlite:///{path}"
        finally:
            for suffix in ("", "-wal", "-shm"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)
        return
    assert pg
    from sqlalchemy import create_engine

    schema = f"bench_{uuid.uuid4().hex[:10]}"
    engine = create_engine(pg)
    with engine.begin() as conn:
        conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    try:
        sep = "&" if "?" in pg else "?"
        yield f"{pg}{sep}options=-csearch_path%3D{schema}"
    finally:
        with engine.begin() as conn:
            conn.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
        engine.dispose()


# -- ingest, rules on vs off ------------------------------------------------------------------


def world(n: int, seed: int, root: Path, *, cells: bool) -> tuple[Path, list[dict[str, Any]], list[Any]]:
    """The first ``n`` events of a simulated world (cached under ``root``) and its organisations."""
    from battrace.services.simulate import SimulationParams, simulate

    per_pack = 148 if cells else 5
    packs = max(20, int(n / per_pack * 1.05) + 1)
    while True:
        out = root / f"compliance-packs{packs}-seed{seed}-{'cells' if cells else 'packs'}"
        if not (out / "summary.json").exists():
            simulate(SimulationParams(packs=packs, seed=seed, with_cells=cells), out)
        total = json.loads((out / "summary.json").read_text())["events"]
        if total >= n:
            break
        packs = int(packs * n / total * 1.05) + 1
    with (out / "events.jsonl").open(encoding="utf-8") as handle:
        events = [json.loads(line) for line in itertools.islice(handle, n)]
    orgs = json.loads((out / "orgs.json").read_text(encoding="utf-8"))
    return out, events, orgs


def ingest_once(url: str, events: list[dict[str, Any]], orgs: list[Any], *, rules: bool) -> dict[str, Any]:
    from sqlalchemy import func, select

    from battrace.config import Settings
    from battrace.services.orgs import import_orgs
    from battrace.services.platform import Platform
    from battrace.storage import schema

    platform = Platform(Settings(database_url=url, rules=rules), now=lambda: NOW)
    import_orgs(platform.store, orgs, NOW)
    engine_s = [0.0]
    for observer in platform.observers:  # time spent inside the engine itself (robust to a busy host)
        inner = observer.after_append

        def timed(conn: Any, accepted: Any, world: Any, inner: Any = inner) -> None:
            t = time.perf_counter()
            inner(conn, accepted, world)
            engine_s[0] += time.perf_counter() - t

        observer.after_append = timed  # type: ignore[method-assign]
    start, cpu = time.perf_counter(), time.process_time()
    report = platform.ledger.ingest(enumerate(events, 1), import_history=True)
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    with platform.store.reader() as conn:
        findings = conn.execute(select(func.count()).select_from(schema.findings)).scalar_one()
        timers = conn.execute(select(func.count()).select_from(schema.compliance_timers)).scalar_one()
    platform.close()
    return {"seconds": seconds, "cpu": cpu, "engine_s": engine_s[0], "accepted": report.accepted,
            "rejected": report.rejected, "findings": int(findings), "timers": int(timers)}


def ingest_bench(backend: str, pg: str | None, tmp: Path, events: list[dict[str, Any]], orgs: list[Any],
                 repeat: int) -> dict[str, Any]:
    runs: dict[bool, list[dict[str, Any]]] = {False: [], True: []}
    for _ in range(repeat):
        for rules in (False, True):
            with database(backend, pg, tmp) as url:
                runs[rules].append(ingest_once(url, events, orgs, rules=rules))
    best = {rules: min(r, key=lambda x: x["seconds"]) for rules, r in runs.items()}
    cpu = {rules: min(x["cpu"] for x in r) for rules, r in runs.items()}
    off, on = best[False], best[True]
    n = len(events)
    return {
        "events": n, "accepted": on["accepted"], "rejected": on["rejected"],
        "off_s": round(off["seconds"], 2), "on_s": round(on["seconds"], 2),
        "off_events_per_s": round(n / off["seconds"]), "on_events_per_s": round(n / on["seconds"]),
        "overhead": round(on["seconds"] / off["seconds"] - 1, 3),
        "off_cpu_s": round(cpu[False], 2), "on_cpu_s": round(cpu[True], 2),
        "cpu_overhead": round(cpu[True] / cpu[False] - 1, 3),
        "engine_s": round(min(x["engine_s"] for x in runs[True]), 2),
        "engine_share": round(min(x["engine_s"] for x in runs[True]) / off["seconds"], 3),
        "findings": on["findings"], "timers": on["timers"],
        "all_off_s": [round(r["seconds"], 2) for r in runs[False]],
        "all_on_s": [round(r["seconds"], 2) for r in runs[True]],
    }


# -- the as-of sweep --------------------------------------------------------------------------


def sweep_bench(backend: str, pg: str | None, tmp: Path, n: int, overdue: float, seed: int) -> dict[str, Any]:
    from battrace.services.compliance import evaluate_as_of, findings_stats
    from battrace.services.orgs import import_orgs
    from battrace.storage import schema
    from battrace.storage.store import Store
    from tests import story as s

    as_of = date(2026, 11, 21)
    rng = random.Random(seed)
    # since spread uniformly over `span` days before as_of so that `overdue` of the idle ones are > 90 days old
    span = 90 / (1 - overdue) if overdue < 1 else 720
    with database(backend, pg, tmp) as url:
        store = Store(url)
        import_orgs(store, s.orgs(), NOW)
        makers = [s.VEHICLE_MAKER, s.BATTERY_MAKER]
        holders = [s.OUTLET, s.REPAIR_SHOP, s.DISMANTLER, s.RECYCLER, s.REUSER]
        regions = ["440300", "110105", "310104", "320500", "330100", "510100", "350900", "360500"]
        midnight = datetime.combine(as_of, datetime.min.time(), CHINA)
        t0 = time.perf_counter()
        T = schema.compliance_timers
        chunk: list[dict[str, Any]] = []
        with store.writer() as conn:
            for i in range(n):
                code = f"SYN{i:021d}"
                handover = i % 20 == 0
                since = midnight - timedelta(seconds=rng.uniform(0, span * 86400))
                seq = i + 1
                chunk.append({
                    "key": f"{'handover' if handover else 'idle'}:{code}",
                    "kind": "handover" if handover else "idle",
                    "deadline": "recycler|battery.received" if handover else "",
                    "raised": False, "since": since, "event_seq": seq, "event_id": f"syn-{seq}",
                    "battery": code, "vin": None, "org": rng.choice(holders),
                    "responsible": s.RECYCLER if handover else rng.choice(makers), "region": rng.choice(regions),
                })
                if len(chunk) == 50_000:
                    conn.execute(T.insert(), chunk)
                    chunk = []
            if chunk:
                conn.execute(T.insert(), chunk)
        load_s = time.perf_counter() - t0
        results: dict[str, Any] = {"batteries": n, "load_s": round(load_s, 1)}
        for label, day in (("first", as_of), ("again", as_of), ("week_later", as_of + timedelta(days=7))):
            t = time.perf_counter()
            summary = evaluate_as_of(store, day)
            results[label] = {"as_of": day.isoformat(), "seconds": round(time.perf_counter() - t, 2),
                              "raised": summary["raised"]}
        stats = findings_stats(store)
        results["findings"] = stats["total"]
        results["findings_per_s_first"] = round(sum(results["first"]["raised"].values())
                                                / max(results["first"]["seconds"], 1e-9))
        store.close()
    return results


# -- main -------------------------------------------------------------------------------------


def measure(args: argparse.Namespace) -> dict[str, Any]:
    pg = args.pg or os.environ.get("BATTRACE_TEST_DATABASE_URL")
    backends = ["sqlite"] + (["postgresql"] if pg else [])
    root = Path(args.data)
    root.mkdir(parents=True, exist_ok=True)
    out: dict[str, Any] = {"goal_overhead": GOAL_OVERHEAD, "ingest": {}, "sweep": {}}
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        worlds = []
        if args.events:
            worlds.append(("cells", world(args.events, args.seed, root, cells=True)))
        if args.packs_only_events:
            worlds.append(("packs_only", world(args.packs_only_events, args.seed, root, cells=False)))
        for backend in backends:
            for label, (_, events, orgs) in worlds:
                print(f"ingest {backend} {label} {len(events):,} events ...", file=sys.stderr)
                out["ingest"][f"{backend}/{label}"] = ingest_bench(backend, pg, tmp, events, orgs, args.repeat)
            if args.sweep:
                print(f"sweep {backend} {args.sweep:,} batteries ...", file=sys.stderr)
                out["sweep"][backend] = sweep_bench(backend, pg, tmp, args.sweep, args.overdue, args.seed)
    return out


def table(results: dict[str, Any]) -> str:
    lines = [f"compliance engine at ingest (goal: rules cost <= {GOAL_OVERHEAD:.0%})",
             f"{'store/world':<24}{'events':>10}{'off ev/s':>11}{'on ev/s':>11}{'overhead':>10}{'cpu ovh':>9}"
             f"{'engine':>8}{'findings':>10}{'timers':>9}"]
    for key, r in results["ingest"].items():
        lines.append(f"{key:<24}{r['events']:>10,}{r['off_events_per_s']:>11,}{r['on_events_per_s']:>11,}"
                     f"{r['overhead']:>10.1%}{r['cpu_overhead']:>9.1%}{r['engine_share']:>8.1%}{r['findings']:>10,}"
                     f"{r['timers']:>9,}")
    lines.append("(overhead: best wall time with rules on / off - 1; cpu ovh: the same on this process's CPU time;")
    lines.append(" engine: wall time inside the engine's after_append / best wall time with rules off)")
    for backend, r in results["sweep"].items():
        lines.append("")
        lines.append(f"as-of sweep, {backend}: {r['batteries']:,} waiting batteries (synthetic timer rows, "
                     f"bulk-loaded in {r['load_s']} s)")
        for label in ("first", "again", "week_later"):
            x = r[label]
            raised = sum(x["raised"].values())
            lines.append(f"  {label:<11} as of {x['as_of']}: {x['seconds']:>6.2f} s, {raised:,} findings raised")
        lines.append(f"  {r['findings_per_s_first']:,} findings/s on the first sweep; {r['findings']:,} in all")
    return "\n".join(lines)


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=200_000, help="events of the realistic world (0: skip)")
    parser.add_argument("--packs-only-events", type=int, default=50_000,
                        help="events of the packs-only world (0: skip)")
    parser.add_argument("--sweep", type=int, default=1_000_000, help="waiting batteries in the sweep (0: skip)")
    parser.add_argument("--overdue", type=float, default=0.02, help="share of them overdue on the as-of day")
    parser.add_argument("--repeat", type=int, default=2, help="off/on runs per world (best kept)")
    parser.add_argument("--pg", help="PostgreSQL URL (default: $BATTRACE_TEST_DATABASE_URL)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--data", default=str(Path(tempfile.gettempdir()) / "battrace-bench-data"),
                        help="where simulated worlds are cached")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    results = measure(args)
    print(json.dumps(results, indent=2) if args.json else table(results))


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    main(sys.argv[1:])
