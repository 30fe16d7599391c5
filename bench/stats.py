"""Benchmark: ``/api/v1/stats`` (packs) read from the aggregates, at the size a national log gives them.

Usage::

    python bench/stats.py [--regions N] [--pg URL] [--runs N] [--json]

The statistics no longer read the log or the batteries: their cost is the size of the aggregate
tables, which grows with the number of distinct (level, state, chemistry, holder's region) buckets,
not with the number of events. This fills ``battery_counts`` with every bucket of 3 levels x 12
states x 5 chemistries x ``--regions`` regions (default 350, about every prefecture-level city)
in all writer slots (the worst case: every bucket touched by every slot), and
``retirement_counts`` with 120 months x the regions (one slot), then times ``get_stats`` for the
nation and for one province, SQLite and (with ``--pg`` or ``$BATTRACE_TEST_DATABASE_URL``)
PostgreSQL. A log of 10^7 events fills at most these buckets, so these are its figures.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from ingest import database, machine  # noqa: E402

LEVELS = ("P", "M", "C")
STATES = ("produced", "installed", "in_service", "removed", "collected", "stored", "tested", "reused",
          "dismantled", "recycled", "scrapped", "waste")
CHEMISTRIES = ("LFP", "NCM", "NCA", "LMO", "OTHER")
from battrace.storage.counts import SLOTS  # noqa: E402


def regions(n: int) -> list[str]:
    provinces = ["11", "12", "13", "14", "15", "21", "22", "23", "31", "32", "33", "34", "35", "36", "37", "41",
                 "42", "43", "44", "45", "46", "50", "51", "52", "53", "54", "61", "62", "63", "64", "65"]
    return [f"{provinces[i % len(provinces)]}{(i // len(provinces)) + 1:02d}00" for i in range(n)]


def fill(url: str, n_regions: int) -> int:
    from battrace.storage import schema
    from battrace.storage.store import Store

    store = Store(url)
    rs = regions(n_regions)
    rows = [{"level": lv, "state": st, "chemistry": ch, "region": r, "slot": sl, "n": 3}
            for lv in LEVELS for st in STATES for ch in CHEMISTRIES for r in rs for sl in range(SLOTS)]
    months = [f"{2017 + m // 12}-{m % 12 + 1:02d}" for m in range(120)]
    retired = [{"month": m, "region": r, "slot": 0, "n": 2} for m in months for r in rs]
    with store.writer() as conn:
        for i in range(0, len(rows), 50_000):
            conn.execute(schema.battery_counts.insert(), rows[i:i + 50_000])
        for i in range(0, len(retired), 50_000):
            conn.execute(schema.retirement_counts.insert(), retired[i:i + 50_000])
    if store.dialect == "postgresql":
        with store.writer() as conn:
            conn.exec_driver_sql("ANALYZE battery_counts, retirement_counts")
    store.close()
    return len(rows) + len(retired)


def measure(url: str, runs: int) -> dict[str, Any]:
    from battrace.services.stats import get_stats
    from battrace.storage.store import Store

    store = Store(url)
    out: dict[str, Any] = {}
    for label, jurisdiction in (("nation", None), ("province 440000", "440000")):
        samples = []
        for _ in range(runs):
            t = time.perf_counter()
            get_stats(store, jurisdiction=jurisdiction)
            samples.append(time.perf_counter() - t)
        s = sorted(samples)
        out[label] = {"p50_ms": round(s[len(s) // 2] * 1000, 1), "max_ms": round(s[-1] * 1000, 1),
                      "mean_ms": round(statistics.fmean(s) * 1000, 1), "runs": runs}
    store.close()
    return out


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--regions", type=int, default=350)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--pg")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    pg = args.pg or os.environ.get("BATTRACE_TEST_DATABASE_URL")
    results: dict[str, Any] = {"machine": machine(), "regions": args.regions, "backends": {}}
    for backend in ["sqlite"] + (["postgresql"] if pg else []):
        with tempfile.TemporaryDirectory(prefix="battrace-stats-") as tmp, database(backend, pg, Path(tmp)) as url:
            rows = fill(url, args.regions)
            results["backends"][backend] = {"aggregate_rows": rows, **measure(url, args.runs)}
    results["load_after"] = os.getloadavg()
    if args.json:
        print(json.dumps(results, indent=2))
        return
    m = results["machine"]
    print(f"machine: {m['nproc']} CPU, {m['cpu']}; load {m['loadavg_at_start'][0]:.2f} at start, "
          f"{results['load_after'][0]:.2f} after")
    for backend, r in results["backends"].items():
        print(f"{backend}: {r['aggregate_rows']:,} aggregate rows ({args.regions} regions, {SLOTS} slots)")
        for label in ("nation", "province 440000"):
            x = r[label]
            ok = "met" if x["max_ms"] <= 1000 else "NOT met"
            print(f"  get_stats {label:<16} p50 {x['p50_ms']} ms  max {x['max_ms']} ms  (goal <= 1 s: {ok})")


if __name__ == "__main__":
    main(sys.argv[1:])
