"""Where the CPU time of a SQLite ingest goes, phase by phase (issue 13 item 7).

Usage::

    python bench/ingest_phases.py [SIZE] [--data DIR] [--seed S] [--batch N]

The world of ``bench/ingest.py`` (cached under ``--data``) is ingested with ``import_history`` into
a fresh SQLite file, every check, the hash chain and the read models, no observer. The phases are
timed in CPU seconds (``time.process_time``) rather than with cProfile, whose per-call cost
inflates the parts made of many small Python calls (validation) against those in C (SQLite):

- decoding the JSON Lines (``read_jsonl``) and parsing + validating (``Ledger``'s ``prepare``)
  are timed on their own, over all the lines, before the ingest;
- the ingest of the parsed batches is timed with thin wrappers around the integrity decision and
  fold (``decide``), the hashes, the read-model rows (documents), the store's statements
  (``append``, lookups) and the commit; what is left is the ledger's own loops, outcomes and overlay.

A wrapper costs about half a microsecond per call; the shares are what matters.
"""

from __future__ import annotations

import argparse
import collections
import itertools
import json
import os
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

NOW = datetime(2026, 12, 1, tzinfo=UTC)


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("size", nargs="?", type=int, default=100_000)
    parser.add_argument("--data", default=str(Path(tempfile.gettempdir()) / "battrace-bench-data"))
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--batch", type=int, default=0)
    args = parser.parse_args(argv)

    from ingest import prepare as world  # bench/ingest.py: the same cached world

    import battrace.services.ledger as ledger_module
    from battrace.interop.jsonl import read_jsonl
    from battrace.services.orgs import import_orgs
    from battrace.storage.store import Store

    n = args.size
    data, _ = world(n, args.seed, Path(args.data))
    store = Store(f"sqlite:///{Path(tempfile.mkdtemp()) / 'phases.db'}")
    ledger = ledger_module.Ledger(store, now=lambda: NOW, **({"batch_size": args.batch} if args.batch else {}))
    import_orgs(store, json.loads((data / "orgs.json").read_text(encoding="utf-8")), NOW)
    cpu = time.process_time

    start = cpu()
    items = list(itertools.islice(read_jsonl(data / "events.jsonl"), n))
    decode = cpu() - start
    start = cpu()
    size = ledger.batch_size
    batches = [ledger_module.prepare(items[i : i + size], True, NOW) for i in range(0, len(items), size)]
    parse = cpu() - start
    del items

    spent: collections.defaultdict[str, float] = collections.defaultdict(float)

    def wrap(owner: Any, name: str, phase: str) -> None:
        inner = getattr(owner, name)

        def timed(*a: Any, **k: Any) -> Any:
            began = cpu()
            try:
                return inner(*a, **k)
            finally:
                spent[phase] += cpu() - began

        setattr(owner, name, timed)

    from sqlalchemy.engine import Connection

    wrap(ledger_module, "decide", "decide (integrity rules + fold)")
    wrap(ledger_module, "event_hash", "hashes (event + links)")
    wrap(ledger_module, "link_hash", "hashes (event + links)")
    for name in ("_battery_row", "_vehicle_row", "_techinfo_row"):
        wrap(ledger_module, name, "read-model rows (documents)")
    wrap(ledger_module, "count_batch", "statistics counts")
    wrap(Store, "append", "SQL: append (events, links, read models)")
    for name in ("find_events", "get_batteries", "get_vehicles", "load_orgs", "next_seqs"):
        wrap(Store, name, "SQL: lookups")
    wrap(Connection, "_commit_impl", "SQL: commit")

    start = cpu()
    rejected = 0
    for batch in batches:
        with ledger_module._cyclic_gc_paused():
            rejected += sum(1 for o in ledger._ingest_isolated(batch, True) if o.status == "rejected")
    ingest = cpu() - start
    total = decode + parse + ingest
    rows = [("decode JSON lines", decode), ("parse + validate (parse_event, times)", parse),
            *sorted(spent.items(), key=lambda kv: -kv[1]),
            ("rest of the ledger (loops, outcomes, overlay)", ingest - sum(spent.values()))]
    print(f"{n:,} events ({rejected} rejected), load average {os.getloadavg()[0]:.2f}: {total:.2f} CPU seconds, "
          f"{n / total:,.0f} events per CPU-second")
    for phase, seconds in rows:
        print(f"  {phase:48s} {seconds:6.2f} s {100 * seconds / total:5.1f} % {seconds / n * 1e6:6.1f} µs/event")
    store.close()


if __name__ == "__main__":
    main(sys.argv[1:])
