"""Benchmark: read latency on a PostgreSQL log of national size, loaded quickly with COPY.

Usage::

    python bench/scale.py [EVENTS] [--pg URL] [--lookups N] [--chunk N] [--keep] [--schema NAME] [--json]
                          [--seed N] [--cold-pages N] [--drop-os-cache] [--no-dashboard]

``EVENTS`` (default 1,000,000; the goal is stated at 10^7) events are written straight into a fresh
schema with ``COPY``: one pack battery per five events (produced, then tested four times), with real
bodies, positions, event hashes, per-stream chain links and read-model documents (cloned from one
battery folded by the domain code, so ``verify`` and the passport read them as they read ingested
ones). The ledger's checks are not run: this measures the read side at a size the ingest would take
hours to reach on a development machine. Then ``ANALYZE``, and ``--lookups`` random batteries are
read three ways, each timed: the passport (``get_passport``), the history (``get_history``) and the
public check (``public_view`` of the passport, what ``GET /api/v1/public/batteries/{code}`` returns).

Before those reads, ``--cold-pages`` other batteries' passport statements are explained with
``BUFFERS`` on their first read: how many pages one passport touches, how many were not in
PostgreSQL's shared buffers, and how long fetching them took (``--drop-os-cache`` first empties the
kernel's page cache, so they come from the disk). Page counts say what a cold read costs whatever
the machine's load.

The schema is dropped afterwards unless ``--keep``. The goal is p99 ≤ 5 ms at 10^7 events.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from latency import percentiles, quantile  # noqa: E402

GOAL_P99_MS = 5.0
GOAL_DASHBOARD_MS = 1000.0  # the dashboard and /api/v1/stats within 1 s at 10^7 events
EVENTS_PER_BATTERY = 5
T0 = datetime(2024, 1, 1, tzinfo=UTC)


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def templates() -> tuple[str, list[str], str, str]:
    """(the template battery's code, its event bodies and read-model document with the code as a
    placeholder, the maker's credit code): one battery produced and tested, folded by the domain."""
    from battrace.domain.codes import build_code
    from battrace.domain.credit import with_check_char
    from battrace.domain.events import canonical_json, parse_event
    from battrace.domain.lifecycle import evolve_battery

    maker = with_check_char("91440300MA0000001")
    code = build_code("07H", "P", "E", "01", date(2024, 3, 5), 1, trace="A000001")
    fig = {"model": "X1", "rated_capacity_ah": 150.0, "nominal_voltage_v": 350.4, "rated_energy_kwh": 52.6,
           "mass_kg": 360.0}
    raws = [{"event_id": "@ID", "type": "battery.produced", "reporter": maker,
             "occurred_at": "2024-03-05T09:00:00+08:00", "battery": code, **fig}]
    for k in range(1, EVENTS_PER_BATTERY):
        raws.append({"event_id": "@ID", "type": "battery.tested", "reporter": maker,
                     "occurred_at": f"2024-04-{k:02d}T09:00:00+08:00", "battery": code, "soh": 0.99 - k / 100,
                     "method": "gbt34015", "measured_capacity_ah": 148.0 - k})
    state = None
    for raw in raws:
        state = evolve_battery(state, parse_event({**raw, "event_id": "x"}), code)
    assert state is not None
    bodies = [canonical_json(raw).replace(code, "@CODE") for raw in raws]
    return code, bodies, canonical_json(state.as_dict()).replace(code, "@CODE"), maker


def codes(n: int) -> list[str]:
    """``n`` distinct valid pack codes (serials over production days)."""
    from battrace.domain.codes import build_code

    out = []
    day = date(2024, 1, 1)
    for i in range(n):
        d, serial = divmod(i, 9_000_000)
        out.append(build_code("07H", "P", "E", "01", day + timedelta(days=d), serial + 1, trace="A000001"))
    return out


def load(url: str, events: int, chunk: int) -> dict[str, Any]:
    import psycopg
    from sqlalchemy.engine import make_url

    from battrace.services.ledger import event_hash, link_hash
    from battrace.services.orgs import import_orgs
    from battrace.storage.store import GENESIS, Store

    store = Store(url)  # the schema, by the migrations
    _, bodies, doc, maker = templates()
    import_orgs(store, [{"credit_code": maker, "name": "Bench Cells", "type": "battery_maker", "region": "350900",
                         "manufacturer_codes": ["07H"]}], T0)
    store.close()
    u = make_url(url)
    options = str(u.query.get("options", "")).replace("%3D", "=")
    conn = psycopg.connect(u.set(drivername="postgresql", query={}).render_as_string(hide_password=False),
                           options=options)
    batteries = events // EVENTS_PER_BATTERY
    all_codes = codes(batteries)
    start = time.perf_counter()
    seq = 0
    for first in range(0, batteries, chunk):
        ev_rows, link_rows, bat_rows = [], [], []
        for code in all_codes[first:first + chunk]:
            head = GENESIS
            for version, body_t in enumerate(bodies, 1):
                seq += 1
                body = body_t.replace("@CODE", code).replace("@ID", f"s{seq}")
                recorded = T0 + timedelta(seconds=seq)
                digest = event_hash(seq, recorded, True, body)
                head = link_hash(head, digest)
                ev_rows.append((seq, maker, f"s{seq}", "battery.produced" if version == 1 else "battery.tested",
                                recorded - timedelta(hours=1), recorded, True, body, digest))
                link_rows.append((code, version, seq, head))
            bat_rows.append((code, "P", "LFP", maker, "X1", "in_stock", maker, None, None, False, False,
                             len(bodies), head, seq, doc.replace("@CODE", code)))
        for table, columns, rows in (
            ("events", "seq, reporter, event_id, type, occurred_at, recorded_at, imported, body, hash", ev_rows),
            ("event_links", "stream, version, seq, hash", link_rows),
            ("batteries", "code, level, chemistry, maker, model, state, custodian, vin, parent, remade, waste, "
                          "version, head, last_seq, doc", bat_rows),
        ):
            copy_rows(conn, table, columns, rows)
        log(f"  {seq:,} events loaded ({seq / (time.perf_counter() - start):,.0f}/s)")
    with conn.cursor() as cur:
        cur.execute("SELECT setval('events_seq', %s)", (seq,))
        conn.commit()
    conn.autocommit = True
    t = time.perf_counter()
    conn.execute("VACUUM ANALYZE events, event_links, batteries")
    analyse = time.perf_counter() - t
    sizes = {name: conn.execute(  # a partitioned table's size is its partitions'
        "SELECT pg_size_pretty(pg_total_relation_size(to_regclass(%s)) + coalesce((SELECT "
        "sum(pg_total_relation_size(inhrelid)) FROM pg_inherits WHERE inhparent = to_regclass(%s)), 0))",
        (name, name)).fetchone()[0] for name in ("events", "event_links", "batteries")}
    conn.close()
    seconds = time.perf_counter() - start
    return {"events": seq, "batteries": batteries, "load_seconds": round(seconds, 1),
            "rows_per_s": round(seq / seconds), "vacuum_analyze_seconds": round(analyse, 1), "sizes": sizes,
            "codes_sample": random.Random(1).sample(all_codes, min(len(all_codes), 5000))}


def copy_rows(conn: Any, table: str, columns: str, rows: list[tuple[Any, ...]]) -> None:
    """One table's rows of a chunk, COPYed in a transaction of their own: a COPY into a partitioned
    table locks every partition and each of its indexes, and PostgreSQL's lock table is shared by
    every session (``max_locks_per_transaction`` x connections); one table per transaction keeps the
    locks held at once to one table's. A COPY refused with ``out of shared memory`` (other sessions
    holding the lock table full) is retried after a pause, up to five times."""
    import psycopg

    for attempt in range(1, 6):
        try:
            with conn.transaction(), conn.cursor() as cur, cur.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
            return
        except psycopg.errors.OutOfMemory as exc:
            if attempt == 5:
                raise
            log(f"  COPY {table}: {str(exc).strip()}; again in {attempt * 5} s")
            time.sleep(attempt * 5)


def recount(url: str) -> dict[str, float]:
    """The aggregates the COPY skipped, recounted as ``battrace rebuild`` recounts them, in parts
    (:func:`battrace.services.counts.rebuild_counts_in_parts`): seconds per table."""
    from battrace.services.counts import rebuild_counts_in_parts
    from battrace.storage.store import Store

    store = Store(url)
    try:
        t = time.perf_counter()
        seconds = rebuild_counts_in_parts(store)
        seconds["total"] = round(time.perf_counter() - t, 3)
        return seconds
    finally:
        store.close()


def aggregates_empty(url: str) -> bool:
    from battrace.storage.store import Store

    store = Store(url)
    try:
        with store.reader() as conn:
            return conn.exec_driver_sql("SELECT count(*) FROM battery_counts").scalar_one() == 0
    finally:
        store.close()


def dashboard_reads(url: str, runs: int, live_runs: int) -> dict[str, Any]:
    """The regulator dashboard's figures computed in process as ``GET /dashboard`` computes them when
    its memo is cold (``gather`` and ``data_version``; national and one province), and ``get_stats``
    (``GET /api/v1/stats``) for each level, ``runs`` times each after two warm-up calls; the live count
    of every level from the read models (what ``level=M|C|all`` ran before it read the aggregates),
    ``live_runs`` times, for comparison."""
    from battrace.services.oversight import data_version
    from battrace.services.stats import get_stats
    from battrace.storage import reporting
    from battrace.storage.store import Store
    from battrace.web.pages.dashboard import gather

    store = Store(url)
    out: dict[str, Any] = {}

    def live() -> Any:
        with store.reader() as conn:
            return reporting.statistics(conn, prefix="", level="all")

    calls: list[tuple[str, Any, int]] = [
        ("dashboard (national)", lambda: (data_version(store), gather(store, None, worst_first=True)), runs),
        ("dashboard (350000)", lambda: (data_version(store), gather(store, "350000", worst_first=True)), runs),
        *((f"stats level={lvl}", lambda lvl=lvl: get_stats(store, level=lvl), runs) for lvl in ("P", "M", "C", "all")),
        ("stats level=all, 350000", lambda: get_stats(store, jurisdiction="350000", level="all"), runs),
        ("live count level=all", live, live_runs),
    ]
    try:
        counted = sum(get_stats(store, level="all")["batteries_by_state"].values())
        with store.reader() as conn:
            rows = int(conn.exec_driver_sql("SELECT count(*) FROM batteries").scalar_one())
        out["stats level=all counts"] = {"counted": counted, "batteries": rows}
        for label, fn, n in calls:
            if n <= 0:
                continue
            for _ in range(min(2, n)):
                fn()
            samples = []
            for _ in range(n):
                t = time.perf_counter()
                fn()
                samples.append(time.perf_counter() - t)
            out[label] = {**percentiles(samples), "load": round(os.getloadavg()[0], 2)}
    finally:
        store.close()
    return out


def drop_os_cache() -> str:
    """Write back and drop the kernel's clean page cache, so the next reads come from disk (root
    only; machine-wide). Returns what was done, for the report."""
    os.sync()
    try:
        with open("/proc/sys/vm/drop_caches", "w", encoding="ascii") as knob:
            knob.write("1\n")
    except OSError as exc:
        return f"not dropped ({exc.strerror})"
    return "dropped"


def cold_pages(url: str, codes: list[str]) -> dict[str, Any]:
    """What a passport's one statement touches on batteries read for the first time:
    ``EXPLAIN (ANALYZE, BUFFERS)`` of it with ``track_io_timing`` on, per battery: pages found in
    PostgreSQL's shared buffers (``hit``), pages it had to fetch from the OS cache or the disk
    (``read``) and the time those fetches took. Page counts do not depend on the machine's load."""
    from battrace.domain.codes import parse_code
    from battrace.storage.passport_reads import _PASSPORT_PG
    from battrace.storage.store import Store

    store = Store(url)
    hits: list[float] = []
    reads_: list[float] = []
    io_ms: list[float] = []
    execution: list[float] = []
    by_level: dict[str, list[int]] = {}
    with store.reader() as conn:
        raw = conn.connection.driver_connection
        with raw.cursor() as cur:
            cur.execute("SET track_io_timing = on")
            for code in codes:
                cur.execute("EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) " + _PASSPORT_PG, {"code": code})
                plan = cur.fetchone()[0]
                top = (plan if isinstance(plan, list) else json.loads(plan))[0]
                node = top["Plan"]
                hit, read = node["Shared Hit Blocks"], node["Shared Read Blocks"]
                hits.append(hit)
                reads_.append(read)
                io_ms.append(node.get("I/O Read Time", 0.0))
                execution.append(top["Execution Time"])
                by_level.setdefault(parse_code(code).level, []).append(hit + read)
        conn.rollback()
    store.close()

    def spread(values: list[float]) -> dict[str, float]:
        ordered = sorted(values)
        return {"p50": round(quantile(ordered, 0.5), 3), "p99": round(quantile(ordered, 0.99), 3),
                "mean": round(statistics.fmean(ordered), 3)}

    return {"n": len(codes), "pages_hit": spread(hits), "pages_read": spread(reads_), "io_read_ms": spread(io_ms),
            "execution_ms": spread(execution),
            "pages_by_kind": {k: round(statistics.fmean(v), 1) for k, v in sorted(by_level.items())},
            "load": round(os.getloadavg()[0], 2)}


def reads(url: str, sample: list[str], lookups: int, seed: int = 2) -> dict[str, Any]:
    """Each read ``lookups`` times on random batteries: wall time percentiles, the client process's
    CPU time per read (what a loaded machine stretches), the round trips per read (statements,
    BEGIN/COMMIT and the pool's ping, counted on the client), and the database's own execution time
    of those statements (``EXPLAIN ANALYZE`` of what the first 200 reads sent). A first pass reads
    each picked battery's passport once and is reported apart (``passport_first_read``: pages not
    yet in PostgreSQL's buffers); the timed runs then read the same batteries again."""
    from battrace.domain.access import public_view
    from battrace.services.passport import get_history, get_passport
    from battrace.storage.store import Store

    store = Store(url)
    tracer = Tracer(store)
    rng = random.Random(seed)
    picks = rng.sample(sample, min(lookups, len(sample)))  # distinct: the first pass reads each once
    out: dict[str, Any] = {}
    first = []  # the first read of each battery (pages not yet in PostgreSQL's buffers or the OS cache)
    for code in picks:
        t = time.perf_counter()
        get_passport(store, code)
        first.append(time.perf_counter() - t)
    out["passport_first_read"] = {**percentiles(first), "load": round(os.getloadavg()[0], 2)}
    for label, fn in (("passport", lambda c: get_passport(store, c)), ("history", lambda c: get_history(store, c)),
                      ("public_check", lambda c: public_view(get_passport(store, c)))):
        for code in picks[:20]:
            fn(code)
        samples = []
        cpu = time.process_time()
        for code in picks:
            t = time.perf_counter()
            fn(code)
            samples.append(time.perf_counter() - t)
        cpu = time.process_time() - cpu
        per_read = []
        tracer.start()
        for code in picks[:200]:
            tracer.statements = []
            fn(code)
            per_read.append(tracer.statements)
        trips = tracer.stop()
        out[label] = {**percentiles(samples), "client_cpu_ms": round(cpu / len(picks) * 1000, 3),
                      "round_trips": round(trips / 200, 2),
                      "statements": round(sum(map(len, per_read)) / 200, 2),
                      "server": server_time(store, per_read), "load": round(os.getloadavg()[0], 2)}
    store.close()
    return out


class Tracer:
    """Counts what a read sends to PostgreSQL: each statement (kept, to be explained), each BEGIN and
    COMMIT/ROLLBACK psycopg sends on its own, and the pool's ping at each checkout (``pool_pre_ping``)."""

    def __init__(self, store: Any) -> None:
        from sqlalchemy import event

        self.on = False
        self.statements: list[tuple[str, Any]] = []
        self.trips = 0
        engine = store.engine

        @event.listens_for(engine, "before_cursor_execute")
        def _stmt(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, many: bool) -> None:
            if self.on:
                self.trips += 1
                self.statements.append((statement, parameters))
                if not conn.connection.dbapi_connection.autocommit and \
                        conn.connection.dbapi_connection.info.transaction_status == 0:  # idle: BEGIN first
                    self.trips += 1

        @event.listens_for(engine, "commit")
        def _commit(conn: Any) -> None:
            if self.on and conn.connection.dbapi_connection.info.transaction_status != 0:
                self.trips += 1

        @event.listens_for(engine, "rollback")
        def _rollback(conn: Any) -> None:
            if self.on and conn.connection.dbapi_connection.info.transaction_status != 0:
                self.trips += 1

        @event.listens_for(engine.pool, "checkout")
        def _checkout(*_: Any) -> None:
            if self.on and engine.pool._pre_ping:
                self.trips += 1

    def start(self) -> None:
        self.statements, self.trips, self.on = [], 0, True

    def stop(self) -> int:
        self.on = False
        return self.trips


def server_time(store: Any, per_read: list[list[tuple[str, Any]]]) -> dict[str, Any]:
    """The database's own time per read for the statements each read sent, from ``EXPLAIN ANALYZE``
    (execution plus planning): what a loaded client machine cannot blur."""
    samples: list[float] = []
    planning: list[float] = []
    with store.reader() as conn:
        raw = conn.connection.driver_connection
        for statements in per_read:
            total = plan_ms = 0.0
            for statement, parameters in statements:
                if not statement.lstrip().upper().startswith(("SELECT", "WITH")):
                    continue
                with raw.cursor() as cur:
                    cur.execute("EXPLAIN (ANALYZE, FORMAT JSON) " + statement, parameters or None)
                    plan = cur.fetchone()[0]
                doc = plan if isinstance(plan, list) else json.loads(plan)
                total += doc[0]["Execution Time"]
                plan_ms += doc[0].get("Planning Time", 0)
            samples.append(total / 1000)
            planning.append(plan_ms / 1000)
    return {**percentiles(samples), "planning_p50_ms": percentiles(planning)["p50_ms"],
            "load": round(os.getloadavg()[0], 2)}


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("events", nargs="?", type=int, default=1_000_000)
    parser.add_argument("--pg", help="PostgreSQL URL (default: $BATTRACE_TEST_DATABASE_URL)")
    parser.add_argument("--lookups", type=int, default=2000)
    parser.add_argument("--chunk", type=int, default=20_000, help="batteries per COPY transaction")
    parser.add_argument("--keep", action="store_true", help="keep the schema (its name is printed)")
    parser.add_argument("--schema", help="measure the reads again on a schema kept by an earlier --keep run")
    parser.add_argument("--stats-runs", type=int, default=50,
                        help="repeats of each dashboard and get_stats call (default 50)")
    parser.add_argument("--live-runs", type=int, default=2,
                        help="repeats of the live count from the read models, for comparison (default 2)")
    parser.add_argument("--recount", action="store_true",
                        help="with --schema: recount the aggregates first (done anyway when they are empty)")
    parser.add_argument("--seed", type=int, default=2,
                        help="which random batteries are read (with --schema: another seed reads batteries "
                             "not read before, so their first reads are cold again)")
    parser.add_argument("--cold-pages", type=int, default=200,
                        help="batteries (not among those read) whose passport statement is explained with "
                             "BUFFERS on their first read: pages and I/O time per passport (default 200; 0: skip)")
    parser.add_argument("--drop-os-cache", action="store_true",
                        help="drop the kernel's page cache before the first reads (root only; machine-wide), "
                             "so they come from disk")
    parser.add_argument("--no-dashboard", action="store_true", help="skip the dashboard and statistics reads")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    pg = args.pg or os.environ.get("BATTRACE_TEST_DATABASE_URL")
    if not pg:
        parser.error("give --pg URL or set BATTRACE_TEST_DATABASE_URL")
    from sqlalchemy import create_engine

    schema = args.schema or f"scale_{uuid.uuid4().hex[:10]}"
    engine = create_engine(pg)
    if not args.schema:
        with engine.begin() as c:
            c.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    url = f"{pg}{'&' if '?' in pg else '?'}options=-csearch_path%3D{schema}"
    result: dict[str, Any] = {"nproc": os.cpu_count(), "load_at_start": os.getloadavg()[0], "schema": schema}
    try:
        if args.schema:  # a random sample of its batteries (a COPY load's, or a real ingest's: bench/ingest.py --keep)
            with engine.begin() as c:
                batteries = int(c.exec_driver_sql(f'SELECT count(*) FROM "{schema}".batteries').scalar_one())
                events = int(c.exec_driver_sql(f'SELECT count(*) FROM "{schema}".events').scalar_one())
                c.exec_driver_sql(f"SELECT setseed({(args.seed % 1000) / 1000})")
                sample = [r[0] for r in c.exec_driver_sql(
                    f'SELECT code FROM "{schema}".batteries ORDER BY random() LIMIT {5000 + args.cold_pages}')]
            result.update(events=events, batteries=batteries)
        else:
            log(f"loading {args.events:,} events into {schema}")
            loaded = load(url, args.events, args.chunk)
            sample = loaded.pop("codes_sample")
            result.update(loaded)
        if not args.schema or args.recount or aggregates_empty(url):
            log("recounting the aggregates (the COPY skipped them)")
            result["recount_seconds"] = recount(url)
        cold, sample = sample[:args.cold_pages], sample[args.cold_pages:]
        if args.drop_os_cache:
            result["os_cache"] = drop_os_cache()
            log(f"OS page cache {result['os_cache']}")
        if cold:
            log(f"explaining {len(cold)} first reads")
            result["cold_pages"] = cold_pages(url, cold)
        log("reading")
        result["reads"] = reads(url, sample, args.lookups, args.seed)
        if not args.no_dashboard:
            log("dashboard and statistics")
            result["dashboard"] = dashboard_reads(url, args.stats_runs, args.live_runs)
    finally:
        if not args.keep and not args.schema:
            with engine.begin() as c:
                c.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
        engine.dispose()
    if args.json:
        print(json.dumps(result, indent=2))
        return
    if "load_seconds" in result:
        print(f"{result['events']:,} events, {result['batteries']:,} batteries, loaded in {result['load_seconds']} s "
              f"({result['rows_per_s']:,} events/s with their links and read models; VACUUM ANALYZE "
              f"{result['vacuum_analyze_seconds']} s); sizes {result['sizes']}; {result['nproc']} CPU")
    else:
        print(f"{result['events']:,} events, {result['batteries']:,} batteries (schema {schema}, loaded before); "
              f"{result['nproc']} CPU")
    if "recount_seconds" in result:
        print(f"  aggregates recounted in parts (battrace rebuild's recount): {result['recount_seconds']} s")
    if "cold_pages" in result:
        c = result["cold_pages"]
        print(f"  passport statement, first read of {c['n']} other batteries (EXPLAIN ANALYZE, BUFFERS; OS cache "
              f"{result.get('os_cache', 'as found')}): pages p50/p99 hit {c['pages_hit']['p50']:g}/"
              f"{c['pages_hit']['p99']:g}, read {c['pages_read']['p50']:g}/{c['pages_read']['p99']:g}; "
              f"I/O read p50 {c['io_read_ms']['p50']:.3f} ms p99 {c['io_read_ms']['p99']:.3f} ms; execution "
              f"p50 {c['execution_ms']['p50']:.3f} ms p99 {c['execution_ms']['p99']:.3f} ms; mean pages by level "
              f"{c['pages_by_kind']} (load {c['load']})")
    for label, r in result["reads"].items():
        verdict = "met" if r["p99_ms"] <= GOAL_P99_MS else "not met"
        if "server" not in r:
            print(f"  {label:<13} p50 {r['p50_ms']:.2f} ms  p95 {r['p95_ms']:.2f} ms  p99 {r['p99_ms']:.2f} ms  "
                  f"(n={r['n']}, load {r['load']}; each battery's first read)")
            continue
        server = r["server"]
        print(f"  {label:<13} p50 {r['p50_ms']:.2f} ms  p95 {r['p95_ms']:.2f} ms  p99 {r['p99_ms']:.2f} ms  "
              f"(n={r['n']}, load {r['load']}; goal p99 <= {GOAL_P99_MS} ms: {verdict})")
        print(f"  {'':<13} client CPU {r['client_cpu_ms']:.2f} ms/read, {r['round_trips']:g} round trips "
              f"({r['statements']:g} statements); database time (EXPLAIN ANALYZE): execution "
              f"p50 {server['p50_ms']:.3f} ms  p99 {server['p99_ms']:.3f} ms, planning p50 "
              f"{server['planning_p50_ms']:.3f} ms (skipped when psycopg has prepared the statement)")

    if "dashboard" not in result:
        return
    check = result["dashboard"].pop("stats level=all counts")
    print(f"  get_stats(level=all) counts {check['counted']:,} batteries; the table holds {check['batteries']:,}")
    for label, r in result["dashboard"].items():
        goal = "" if label.startswith("live") else \
            f"; goal <= 1 s: {'met' if r['p99_ms'] <= GOAL_DASHBOARD_MS else 'not met'}"
        print(f"  {label:<24} p50 {r['p50_ms']:.2f} ms  p99 {r['p99_ms']:.2f} ms  (n={r['n']}, load {r['load']}{goal})")


if __name__ == "__main__":
    main(sys.argv[1:])
