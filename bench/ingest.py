"""Benchmark: bulk ingest of simulated lifecycles, against a bare insert and the ``eventsourcing`` library.

Usage::

    python bench/ingest.py [SIZE ...] [--pg URL] [--json] [--lookups N] [--batch N] [--seed S]
                           [--runs battrace,rules,tracemalloc,bare,eventsourcing] [--data DIR] [--log FILE]
                           [--parse-workers N]

``SIZE`` is a number of events (default ``100000 1000000``). For each size the world simulator
(:mod:`battrace.services.simulate`, modules and cells included) draws enough packs that its
``events.jsonl`` reaches the size, and the first ``SIZE`` events (in ``recorded_at`` order, so a
consistent prefix of the world) are ingested:

- **battrace**: :meth:`Ledger.ingest` with ``import_history=True`` (``--import-history``): every
  check, the hash chain, the read models, transactions of the ledger's batch size. The file is
  streamed (``read_jsonl``), exactly as ``battrace ingest`` does. No observer (compliance engine).
- **bare**: the same event rows, ``executemany`` into a plain table through the raw driver, one
  transaction per batch: no checks, no hashing, no read models. The ceiling for this I/O.
- **battrace with rules** (SQLite only): the same through the platform's ledger, with the
  compliance engine observing every batch (what ``battrace ingest`` does unless ``BATTRACE_RULES=0``).
- **eventsourcing** (SQLite only): an ``eventsourcing`` Application with one aggregate per stream
  (battery, vehicle, tech-info filing); each event is recorded as one aggregate event on its first
  stream and the touched aggregates are saved once per batch. No checks.

All three read the same file with ``json.loads`` per line. Each run is a fresh interpreter (a
subprocess), so its peak resident set (``VmHWM``) is the run's own; a second battrace run with
``tracemalloc`` on gives the Python heap peak (throughput is always from the run without it). After
the timed battrace run, ``get_passport`` is called on ``--lookups`` random batteries (and as many random packs),
drawn as the events stream by (a reservoir of the produced batteries, so finding them costs no scan
of ``batteries``, which at 10^7 rows would read the table from the disk just before the reads): each
picked battery is read once (its first read: pages the load may have left on the disk) and then
again (repeat reads). On PostgreSQL a second set of batteries is read the same way after ``ANALYZE``.

PostgreSQL runs when ``--pg URL`` or ``BATTRACE_TEST_DATABASE_URL`` is given, each run in a fresh
schema that is dropped afterwards.
"""

from __future__ import annotations

import argparse
import inspect
import itertools
import json
import os
import random
import resource
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
import tracemalloc
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from latency import percentiles  # noqa: E402

GOALS = {"sqlite_events_per_s": 50_000, "bare_ratio": 0.5, "passport_p99_ms": 5.0}
EVENTS_PER_PACK = 150  # with modules and cells (bench/simulate.py); only the first guess
NOW = datetime(2026, 12, 1, tzinfo=UTC)  # after the simulator's default end: no recorded_at is in the future


# -- data -------------------------------------------------------------------------------------


def prepare(n: int, seed: int, root: Path) -> tuple[Path, int]:
    """A simulated world with at least ``n`` events (cached under ``root``); returns (dir, packs)."""
    from battrace.services.simulate import SimulationParams, simulate

    packs = max(10, int(n / EVENTS_PER_PACK * 1.03) + 1)
    while True:
        out = root / f"packs{packs}-seed{seed}"
        summary = out / "summary.json"
        if not summary.exists():
            simulate(SimulationParams(packs=packs, seed=seed), out)
        events = json.loads(summary.read_text())["events"]
        if events >= n:
            return out, packs
        packs = int(packs * n / events * 1.02) + 1


def read_lines(path: Path, n: int) -> Iterator[tuple[str, dict[str, Any]]]:
    with path.open(encoding="utf-8") as handle:
        for line in itertools.islice(handle, n):
            yield line.rstrip("\n"), json.loads(line)


def _raw_lines(path: Path) -> Iterator[tuple[int, bytes]]:
    with path.open("rb") as handle:
        yield from ((number, line) for number, line in enumerate(handle, 1) if line.strip())


def rss_mb() -> float:
    """This process's peak resident set (MB): ``VmHWM``, which starts afresh with the process's own
    memory, where ``ru_maxrss`` keeps the high-water mark of the process that started it across
    ``exec`` (the driver, which may just have simulated a large world)."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024  # kB
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


@contextmanager
def database(backend: str, pg: str | None, tmp: Path, keep: bool = False) -> Iterator[str]:
    """A SQLAlchemy URL of a fresh database: a SQLite file, or a PostgreSQL schema (dropped after,
    unless ``keep``: then its name is printed on stderr, for ``bench/scale.py --schema``)."""
    if backend == "sqlite":
        yield f"sqlite:///{tmp / 'bench.db'}"
        return
    assert pg
    from sqlalchemy import create_engine

    schema = f"bench_{uuid.uuid4().hex[:10]}"
    engine = create_engine(pg)
    with engine.begin() as conn:
        conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    try:
        sep = "&" if "?" in pg else "?"
        # application_name lets the run find its own server processes (their CPU time per tenth)
        yield f"{pg}{sep}options=-csearch_path%3D{schema}&application_name={schema}"
    finally:
        if keep:
            print(f"kept PostgreSQL schema {schema}", file=sys.stderr, flush=True)
        else:
            with engine.begin() as conn:
                conn.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
        engine.dispose()


# -- workers (each in its own interpreter) ------------------------------------------------------


def run_battrace(spec: dict[str, Any], url: str) -> dict[str, Any]:
    from battrace.cli.ledger import read_jsonl
    from battrace.services.ledger import Ledger
    from battrace.services.orgs import import_orgs
    from battrace.storage.store import Store

    data = Path(spec["data"])
    if spec.get("rules"):  # the platform's ledger, with its observers (the compliance engine)
        from battrace.config import Settings
        from battrace.services.platform import Platform

        platform = Platform(Settings(database_url=url), now=lambda: NOW)
        store, ledger = platform.store, platform.ledger
        if spec["batch"]:
            ledger.batch_size = spec["batch"]
    else:
        store = Store(url)
        ledger = Ledger(store, now=lambda: NOW, **({"batch_size": spec["batch"]} if spec["batch"] else {}))
    import_orgs(store, json.loads((data / "orgs.json").read_text(encoding="utf-8")), NOW)
    # Counts and rejections only, where the ledger offers it (a report of every outcome grows with N).
    flat = {"keep_outcomes": False} if "keep_outcomes" in inspect.signature(ledger.ingest).parameters else {}
    parse_workers = spec.get("parse_workers") or 0
    if parse_workers:  # the lines go undecoded to the parse workers (battrace ingest --parse-workers)
        flat["parse_workers"] = parse_workers
    n = spec["n"]
    checkpoints: list[tuple[int, float]] = []
    tenths: list[dict[str, Any]] = []
    profiler = Profiler(store, url) if spec.get("profile") and store.dialect == "postgresql" else None
    done = 0
    marks = iter(sorted({n // 10, n // 2, n}))
    mark = next(marks)
    tenth_marks = iter([n * k // 10 for k in range(1, 11)])
    tenth_mark = next(tenth_marks)
    server = ServerCpu(url) if store.dialect == "postgresql" else None
    last = (0, time.perf_counter(), time.process_time(), server.seconds() if server else 0.0)

    def progress(k: int) -> None:
        nonlocal done, mark, tenth_mark, last
        done += k
        if done >= mark:
            checkpoints.append((done, round(rss_mb(), 1)))
            mark = next(marks, n + 1)
        if done >= tenth_mark:  # the rate over each tenth of the run: a decay with size shows in one run
            now, cpu_now = time.perf_counter(), time.process_time()
            events, wall, cpu = done - last[0], now - last[1], cpu_now - last[2]
            row = {"upto": done, "events_per_s": round(events / wall), "client_cpu_share": round(cpu / wall, 2),
                   "load": round(os.getloadavg()[0], 2)}
            if server is not None:  # CPU per event, client and server: what a busy machine does not inflate
                server_now = server.seconds()
                row["server_cpu_s"] = round(server_now - last[3], 2)
                row["events_per_cpu_s"] = round(events / (cpu + server_now - last[3]))
                row["cpu_us_per_event"] = round((cpu + server_now - last[3]) / events * 1e6, 1)
            if profiler is not None:
                row.update(profiler.tenth(events))
            tenths.append(row)
            tenth_mark = next(tenth_marks, n + 1)
            last = (done, time.perf_counter(), time.process_time(), server.seconds() if server else 0.0)

    rss_start = rss_mb()
    if spec["tracemalloc"]:
        tracemalloc.start()
    start, cpu = time.perf_counter(), time.process_time()
    items = (_raw_lines(data / "events.jsonl") if parse_workers else read_jsonl(data / "events.jsonl"))
    picks = ProducedSample(spec["lookups"], spec["seed"])
    if spec["lookups"]:
        items = picks.watch(items)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    report = ledger.ingest(itertools.islice(items, n), import_history=True, progress=progress, **flat)
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    after = resource.getrusage(resource.RUSAGE_CHILDREN)  # the parse workers, once they have exited
    workers_cpu = (after.ru_utime + after.ru_stime) - (children.ru_utime + children.ru_stime)
    n = done  # what was read (the file holds at least the size asked for)
    out: dict[str, Any] = {"seconds": round(seconds, 2), "events_per_s": round(n / seconds),
                           "cpu_seconds": round(cpu, 2), "events_per_cpu_s": round(n / cpu), "events": n,
                           "accepted": report.accepted, "duplicate": report.duplicate,
                           "rejected": report.rejected, "rss_start_mb": round(rss_start, 1),
                           "rss_peak_mb": round(rss_mb(), 1), "rss_checkpoints": checkpoints,
                           "batch": ledger.batch_size, "tenths": tenths}
    if parse_workers:
        out.update(parse_workers=parse_workers, workers_cpu_seconds=round(workers_cpu, 2),
                   events_per_total_cpu_s=round(n / (cpu + workers_cpu)))
    if tenths:
        out["last_over_first_tenth"] = round(tenths[-1]["events_per_s"] / tenths[0]["events_per_s"], 3)
        if "events_per_cpu_s" in tenths[0]:
            out["cpu_last_over_first_tenth"] = round(tenths[-1]["events_per_cpu_s"] / tenths[0]["events_per_cpu_s"], 3)
    if server is not None:
        server.close()
    if profiler is not None:
        out["profile_end"] = profiler.finish()
    if report.rejected:
        out["first_rejections"] = report.as_dict()["rejections"][:3]
    del report
    if spec["tracemalloc"]:
        out["tracemalloc_peak_mb"] = round(tracemalloc.get_traced_memory()[1] / 2**20, 1)
        tracemalloc.stop()
    if spec["lookups"]:
        out["memory_at_reads"] = meminfo()
        out["passport"] = passport_latency(store, picks.take(0))
        if store.dialect == "postgresql":  # right after a bulk load autovacuum may not have analysed yet
            with store.writer() as conn:
                conn.exec_driver_sql("ANALYZE")
            out["passport_after_analyze"] = passport_latency(store, picks.take(1))
    store.close()
    return out


class ServerCpu:
    """The CPU seconds the PostgreSQL server processes of this run have used (``/proc/PID/stat``,
    user + system), found by the run's ``application_name``. Only on a server on this machine (the
    benchmark's case); elsewhere it reads 0."""

    def __init__(self, url: str) -> None:
        from sqlalchemy import create_engine
        from sqlalchemy.engine import make_url

        u = make_url(url)
        self.name = str(u.query.get("application_name", ""))
        self.engine = create_engine(u.set(query={}))
        self.tick = os.sysconf("SC_CLK_TCK")
        self.seen: dict[int, float] = {}  # pid -> the last CPU seconds read (a closed connection keeps its share)

    def seconds(self) -> float:
        with self.engine.connect() as conn:
            pids = [int(r[0]) for r in conn.exec_driver_sql(
                "SELECT pid FROM pg_stat_activity WHERE application_name = %(n)s", {"n": self.name})]
        for pid in pids:
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            self.seen[pid] = (int(fields[11]) + int(fields[12])) / self.tick  # utime, stime
        return sum(self.seen.values())

    def close(self) -> None:
        self.engine.dispose()


# a table and its partitions, summed (a partitioned table has no storage of its own)
_TABLE_SQL = (
    "SELECT max(c.reltuples) FILTER (WHERE c.oid = to_regclass(%(t)s))::bigint,"
    " sum(pg_relation_size(c.oid))::bigint, sum(coalesce(pg_total_relation_size(c.reltoastrelid), 0))::bigint,"
    " sum(pg_indexes_size(c.oid))::bigint, sum(s.n_live_tup)::bigint, sum(s.n_dead_tup)::bigint,"
    " sum(s.n_tup_upd)::bigint, sum(s.n_tup_hot_upd)::bigint, sum(s.autovacuum_count)::bigint,"
    " sum(s.autoanalyze_count)::bigint, count(*) FILTER (WHERE c.relispartition)"
    " FROM pg_class c LEFT JOIN pg_stat_user_tables s ON s.relid = c.oid WHERE c.oid = to_regclass(%(t)s)"
    " OR c.oid IN (SELECT relid FROM pg_partition_tree(to_regclass(%(t)s)))")


class Profiler:
    """Where an ingest's time goes on PostgreSQL, per tenth of the run (``--profile``).

    ``pg_stat_statements`` needs ``shared_preload_libraries`` (a server restart), so the ingest's
    own statements are timed here, client side, by wrapping the store's lookups and bulk writes;
    at each tenth a second connection records the server side: the plans of the lookups
    (``EXPLAIN ANALYZE`` with keys drawn from the tables, as a custom and as a generic plan, the
    latter being what a prepared statement runs after five executions), the planner's idea of the
    table sizes (``reltuples``), heap/TOAST/index sizes, HOT and dead tuples, autovacuum and
    autoanalyze counts and the WAL written per event.
    """

    WRAPPED = ("find_events", "get_batteries", "get_vehicles", "get_techinfo", "max_seq", "next_seqs", "bulk")

    def __init__(self, store: Any, url: str) -> None:
        import psycopg
        from sqlalchemy.engine import make_url

        u = make_url(url)
        options = str(u.query.get("options", "")).replace("%3D", "=")
        conninfo = u.set(drivername="postgresql", query={}).render_as_string(hide_password=False)
        self.conn = psycopg.connect(conninfo, autocommit=True, options=options, prepare_threshold=None)
        self.store = store
        self.times: dict[str, float] = {}
        self.wal = self._wal()
        for name in self.WRAPPED:
            if hasattr(store, name):
                setattr(store, name, self._timed(name, getattr(store, name)))

    def _timed(self, name: str, fn: Any) -> Any:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            t = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                key = f"bulk:{args[1].name}" if name == "bulk" else name
                self.times[key] = self.times.get(key, 0.0) + time.perf_counter() - t
        return wrapper

    def _wal(self) -> int:
        return int(self.conn.execute("SELECT pg_current_wal_lsn() - '0/0'::pg_lsn").fetchone()[0])

    def _explain(self, sql: str, params: tuple[Any, ...], generic: bool) -> str:
        with self.conn.transaction():
            self.conn.execute(f"SET LOCAL plan_cache_mode = {'force_generic_plan' if generic else 'auto'}")
            n = len(params)
            types = ", ".join("text[]" if isinstance(p, list) else "text" for p in params)
            self.conn.execute(f"PREPARE probe({types}) AS {sql.replace('%s', '$%d') % tuple(range(1, n + 1))}"
                              .replace("::text[]", ""))
            import psycopg

            with psycopg.ClientCursor(self.conn) as cur:  # EXECUTE's arguments are rendered client side
                cur.execute(f"EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY ON) "
                            f"EXECUTE probe({', '.join(['%s'] * n)})", params)
                rows = [r[0] for r in cur.fetchall()]
            self.conn.execute("DEALLOCATE probe")
        nodes = [r.strip().lstrip("-> ").split("  ")[0] for r in rows if "Scan" in r or "Join" in r or "Loop" in r]
        ms = next((r.split(":")[1].strip() for r in rows if r.startswith("Execution Time")), "?")
        return f"{' / '.join(nodes[:3])} ({ms})"

    def tenth(self, events: int) -> dict[str, Any]:
        times, self.times = self.times, {}
        wal, self.wal = self.wal, self._wal()
        return {"ms_per_1000_events": {k: round(v * 1e6 / events, 1) for k, v in sorted(times.items())},
                "wal_bytes_per_event": round((self.wal - wal) / events),
                "tables": self._tables(), "plans": self._plans()}

    def _tables(self) -> dict[str, Any]:
        """Sizes and counters of the big tables, each summed over its partitions (a partitioned
        table has no storage of its own: its leaves hold the rows and the indexes)."""
        out: dict[str, Any] = {}
        for name in ("events", "event_links", "batteries", "components", "vehicles"):
            r = self.conn.execute(_TABLE_SQL, {"t": name}).fetchone()
            if r is None or r[1] is None:
                continue
            out[name] = {"reltuples": r[0], "heap_mb": round(r[1] / 2**20, 1), "toast_mb": round(r[2] / 2**20, 1),
                         "index_mb": round(r[3] / 2**20, 1), "live": r[4], "dead": r[5], "upd": r[6], "hot_upd": r[7],
                         "autovacuum": r[8], "autoanalyze": r[9], "partitions": r[10]}
        return out

    def _plans(self) -> dict[str, Any]:
        codes = [r[0] for r in self.conn.execute("SELECT code FROM batteries TABLESAMPLE SYSTEM (5) LIMIT 500")]
        keys = self.conn.execute("SELECT reporter, array_agg(event_id) FROM (SELECT reporter, event_id FROM events "
                                 "TABLESAMPLE SYSTEM (2) LIMIT 500) s GROUP BY reporter ORDER BY count(*) DESC "
                                 "LIMIT 1").fetchone()
        vins = [r[0] for r in self.conn.execute("SELECT vin FROM vehicles TABLESAMPLE SYSTEM (5) LIMIT 200")]
        out: dict[str, Any] = {}
        store = self.store
        if codes:
            sql, params = store._lookup("batteries", "code", "code, doc, version, head", codes)
            out["batteries"] = {g: self._explain(sql, params, g == "generic") for g in ("custom", "generic")}
        if keys:
            sql, params = store._lookup("events", "event_id", "event_id, body", list(keys[1]), reporter=keys[0])
            out["events"] = {g: self._explain(sql, params, g == "generic") for g in ("custom", "generic")}
        if vins:
            sql = "SELECT vin, doc, version, head FROM vehicles WHERE vin = ANY(%s::text[])"
            out["vehicles"] = {g: self._explain(sql, (vins,), g == "generic") for g in ("custom", "generic")}
        return out

    def finish(self) -> dict[str, Any]:
        out = {"tables": self._tables()}
        self.conn.close()
        return out


class ProducedSample:
    """Two uniform samples (reservoirs) of the batteries the ingested stream produces: ``2 * size`` of
    all levels and ``2 * size`` packs, drawn as the events go by, split into two disjoint halves (read
    before and after ``ANALYZE``). A line the parse workers get undecoded is decoded here only when it
    names ``battery.produced``."""

    def __init__(self, size: int, seed: int) -> None:
        self.size = 2 * size
        self.rng = random.Random(seed)
        self.seen = {"all": 0, "packs": 0}
        self.kept: dict[str, list[str]] = {"all": [], "packs": []}

    def watch(self, items: Iterator[tuple[int, Any]]) -> Iterator[tuple[int, Any]]:
        from battrace.domain.codes import code_fields

        for item in items:
            obj = item[1]
            if isinstance(obj, bytes):
                obj = json.loads(obj) if b"battery.produced" in obj else None
            if isinstance(obj, dict) and obj.get("type") == "battery.produced" and isinstance(obj.get("battery"), str):
                code = obj["battery"]
                self._offer("all", code)
                if code_fields(code)[1] == "P":
                    self._offer("packs", code)
            yield item

    def _offer(self, label: str, code: str) -> None:
        self.seen[label] += 1
        kept = self.kept[label]
        if len(kept) < self.size:
            kept.append(code)
        else:
            j = self.rng.randrange(self.seen[label])
            if j < self.size:
                kept[j] = code

    def take(self, half: int) -> dict[str, list[str]]:
        """Half ``half`` (0 or 1) of each sample: distinct batteries, none in the other half."""
        return {label: kept[half::2] for label, kept in self.kept.items()}


def meminfo() -> dict[str, float]:
    """The kernel's dirty and written-back page cache and what is cached, in MB (``/proc/meminfo``): a
    load that has just ended may leave gigabytes to write, which the reads then queue behind."""
    wanted = {"Dirty", "Writeback", "Cached", "MemAvailable"}
    try:
        lines = Path("/proc/meminfo").read_text().splitlines()
    except OSError:
        return {}
    out = {}
    for line in lines:
        name, _, rest = line.partition(":")
        if name in wanted:
            out[name.lower() + "_mb"] = round(int(rest.split()[0]) / 1024, 1)
    return out


def passport_latency(store: Any, picks: dict[str, list[str]]) -> dict[str, Any]:
    """``get_passport`` on each picked battery twice: its first read (pages the load may have left
    only on the disk), then, after the first 20 again as a warm-up, every one again (repeat reads).
    The entry's own percentiles are the first reads; ``repeat`` holds the second pass."""
    from battrace.services.passport import get_passport

    out: dict[str, Any] = {}
    for label, codes in picks.items():
        if not codes:
            continue
        first, history = [], 0
        for code in codes:
            t = time.perf_counter()
            p = get_passport(store, code)
            first.append(time.perf_counter() - t)
            history += len(p["history"])
        for code in codes[:20]:
            get_passport(store, code)
        repeat = []
        for code in codes:
            t = time.perf_counter()
            get_passport(store, code)
            repeat.append(time.perf_counter() - t)
        out[label] = {**percentiles(first), "repeat": percentiles(repeat),
                      "mean_history": round(history / len(codes), 1)}
    return out


def run_bare(spec: dict[str, Any], url: str) -> dict[str, Any]:
    """The same event rows through the raw driver into a plain table: the I/O ceiling."""
    data, n, batch = Path(spec["data"]), spec["n"], spec["batch"] or 2000
    ddl = ("CREATE TABLE bare_events (seq BIGINT PRIMARY KEY, reporter TEXT NOT NULL, event_id TEXT NOT NULL, "
           "type TEXT NOT NULL, occurred_at TEXT NOT NULL, recorded_at TEXT NOT NULL, imported BOOLEAN NOT NULL, "
           "body TEXT NOT NULL)")
    if url.startswith("sqlite"):
        conn: Any = sqlite3.connect(url.split("///", 1)[1], isolation_level=None)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        mark = "?"
    else:
        import psycopg
        from sqlalchemy.engine import make_url

        u = make_url(url)
        options = u.query.get("options")
        conninfo = u.set(drivername="postgresql", query={}).render_as_string(hide_password=False)
        conn = psycopg.connect(conninfo, autocommit=True, options=str(options).replace("%3D", "="))
        mark = "%s"
    conn.execute(ddl)
    sql = f"INSERT INTO bare_events VALUES ({', '.join([mark] * 8)})"
    rss_start = rss_mb()
    start, cpu = time.perf_counter(), time.process_time()
    seq = 0
    lines = read_lines(data / "events.jsonl", n)
    while True:
        chunk = list(itertools.islice(lines, batch))
        if not chunk:
            break
        rows = []
        for line, raw in chunk:
            seq += 1
            rows.append((seq, raw["reporter"], raw["event_id"], raw["type"], raw["occurred_at"], raw["recorded_at"],
                         True, line))
        if mark == "?":
            conn.execute("BEGIN")
            conn.executemany(sql, rows)
            conn.execute("COMMIT")
        else:
            with conn.transaction(), conn.cursor() as cur:
                cur.executemany(sql, rows)
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    conn.close()
    return {"seconds": round(seconds, 2), "events_per_s": round(n / seconds), "rows": seq,
            "cpu_seconds": round(cpu, 2), "events_per_cpu_s": round(n / cpu),
            "rss_start_mb": round(rss_start, 1), "rss_peak_mb": round(rss_mb(), 1)}


def _stream_of(raw: dict[str, Any]) -> str:
    for key in ("battery", "product", "removed"):
        if key in raw:
            return str(raw[key])
    if "vin" in raw:
        return f"vin:{raw['vin']}"
    if raw.get("batteries"):
        return str(raw["batteries"][0])
    return f"techinfo:{raw['reporter']}:{raw.get('model')}"


def run_eventsourcing(spec: dict[str, Any], url: str) -> dict[str, Any]:
    """The same events as aggregate events of an ``eventsourcing`` application (no checks)."""
    from uuid import NAMESPACE_URL, UUID, uuid5

    from eventsourcing.application import AggregateNotFoundError, Application
    from eventsourcing.domain import Aggregate, event

    class Stream(Aggregate):
        @event("Started")
        def __init__(self, name: str) -> None:
            self.name = name
            self.last_seq = 0

        @staticmethod
        def create_id(name: str) -> UUID:
            return uuid5(NAMESPACE_URL, name)

        @event("Recorded")
        def record(self, seq: int, data: dict[str, Any]) -> None:
            self.last_seq = seq

    class EventLog(Application[UUID]):
        pass

    data, n, batch = Path(spec["data"]), spec["n"], spec["batch"] or 2000
    app = EventLog(env={
        "PERSISTENCE_MODULE": "eventsourcing.sqlite",
        "SQLITE_DBNAME": url.split("///", 1)[1],
        "AGGREGATE_CACHE_MAXSIZE": "20000",
        "DEEPCOPY_FROM_AGGREGATE_CACHE": "n",
    })
    creates = {"battery.produced", "battery.remanufactured", "vehicle.certified"}
    rss_start = rss_mb()
    start, cpu = time.perf_counter(), time.process_time()
    seq = 0
    lines = read_lines(data / "events.jsonl", n)
    while True:
        chunk = list(itertools.islice(lines, batch))
        if not chunk:
            break
        touched: dict[UUID, Stream] = {}
        for _line, raw in chunk:
            seq += 1
            name = _stream_of(raw)
            agg_id = Stream.create_id(name)
            agg = touched.get(agg_id)
            if agg is None:
                if raw["type"] in creates:
                    agg = Stream(name)
                else:
                    try:
                        agg = app.repository.get(agg_id)
                    except AggregateNotFoundError:
                        agg = Stream(name)
                touched[agg_id] = agg
            agg.record(seq, raw)
        app.save(*touched.values())
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    app.close()
    return {"seconds": round(seconds, 2), "events_per_s": round(n / seconds), "events": seq,
            "cpu_seconds": round(cpu, 2), "events_per_cpu_s": round(n / cpu),
            "rss_start_mb": round(rss_start, 1), "rss_peak_mb": round(rss_mb(), 1)}


def run_sharded(spec: dict[str, Any], url: str) -> dict[str, Any]:
    """``battrace ingest --workers N`` on the first ``n`` events: N writer processes, each on its own
    families of streams (no battery, vehicle or filing is shared between two writers)."""
    from battrace.services.orgs import import_orgs
    from battrace.services.sharded_ingest import ingest_sharded
    from battrace.storage.store import Store

    data, n = Path(spec["data"]), spec["n"]
    os.environ["BATTRACE_RULES"] = "0"  # as the battrace run: no compliance engine (the writers inherit it)
    store = Store(url)
    import_orgs(store, json.loads((data / "orgs.json").read_text(encoding="utf-8")), NOW)
    store.close()
    with tempfile.TemporaryDirectory(prefix="battrace-shard-") as tmp:
        path = Path(tmp) / "events.jsonl"
        with (data / "events.jsonl").open(encoding="utf-8") as src, path.open("w", encoding="utf-8") as dst:
            dst.writelines(itertools.islice(src, n))
        start = time.perf_counter()
        report = ingest_sharded(url, path, spec["writers"], import_history=True, now=NOW)
        seconds = time.perf_counter() - start
    return {"writers": spec["writers"], "seconds": round(seconds, 2), "events_per_s": round(n / seconds),
            "accepted": report.accepted, "rejected": report.rejected,
            "retries": sum(w["retries"] for w in report.writers), "per_writer": report.writers,
            "nproc": os.cpu_count(), "load": round(os.getloadavg()[0], 2)}


WORKERS = {"battrace": run_battrace, "bare": run_bare, "eventsourcing": run_eventsourcing, "sharded": run_sharded}


def worker(spec: dict[str, Any]) -> dict[str, Any]:
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # still drop the PostgreSQL schema
    with tempfile.TemporaryDirectory(prefix="battrace-bench-") as tmp, \
            database(spec["backend"], spec.get("pg"), Path(tmp), bool(spec.get("keep"))) as url:
        result = WORKERS[spec["kind"]](spec, url)
        if spec.get("keep") and "search_path" in url:
            result["schema"] = url.rsplit("application_name=", 1)[-1]
        return result


RESULTS_LOG: Path | None = None


def spawn(spec: dict[str, Any]) -> dict[str, Any]:
    proc = subprocess.run([sys.executable, __file__, "--worker", json.dumps(spec)], capture_output=True, text=True,
                          check=False)
    if proc.returncode != 0:
        result = {"error": proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else f"exit {proc.returncode}"}
    else:
        result = dict(json.loads(proc.stdout.strip().splitlines()[-1]))
    if RESULTS_LOG is not None:  # each run as it ends, so an interrupted bench keeps what it measured
        with RESULTS_LOG.open("a", encoding="utf-8") as log_file:
            log_file.write(json.dumps({"spec": {k: v for k, v in spec.items() if k != "pg"}, "result": result}) + "\n")
    return result


# -- driver -----------------------------------------------------------------------------------


def measure(args: argparse.Namespace) -> dict[str, Any]:
    pg = args.pg or os.environ.get("BATTRACE_TEST_DATABASE_URL")
    backends = [b for b in ["sqlite"] + (["postgresql"] if pg else []) if b in args.backends.split(",")]
    root = Path(args.data)
    results: dict[str, Any] = {"machine": machine(), "goals": GOALS, "sizes": []}
    if pg and "postgresql" in backends:
        results["server"] = server(pg)
    for n in args.sizes:
        data, packs = prepare(n, args.seed, root)
        entry: dict[str, Any] = {"events": n, "packs": packs, "data": str(data)}
        for backend in backends:
            base = {"data": str(data), "n": n, "backend": backend, "pg": pg, "batch": args.batch, "seed": args.seed}
            runs = set(args.runs.split(","))
            r: dict[str, Any] = {}
            if "battrace" in runs:
                log(f"{n:,} events, {backend}: battrace")
                r["battrace"] = spawn({**base, "kind": "battrace", "tracemalloc": False, "lookups": args.lookups,
                                       "profile": args.profile, "keep": args.keep})
            if args.parse_workers:
                log(f"{n:,} events, {backend}: battrace with {args.parse_workers} parse worker(s)")
                r["battrace_parse_workers"] = spawn({**base, "kind": "battrace", "tracemalloc": False, "lookups": 0,
                                                     "parse_workers": args.parse_workers})
            if "rules" in runs and backend == "sqlite":
                log(f"{n:,} events, {backend}: battrace with the compliance engine")
                r["battrace_rules"] = spawn({**base, "kind": "battrace", "tracemalloc": False, "lookups": 0,
                                             "rules": True})
            if "tracemalloc" in runs and "battrace" in r:
                log(f"{n:,} events, {backend}: battrace with tracemalloc")
                traced = spawn({**base, "kind": "battrace", "tracemalloc": True, "lookups": 0})
                r["battrace"]["tracemalloc_peak_mb"] = traced.get("tracemalloc_peak_mb", traced.get("error"))
            if "bare" in runs:
                log(f"{n:,} events, {backend}: bare executemany")
                r["bare"] = spawn({**base, "kind": "bare"})
            if backend == "sqlite" and "eventsourcing" in runs:
                log(f"{n:,} events, {backend}: eventsourcing")
                r["eventsourcing"] = spawn({**base, "kind": "eventsourcing"})
            if backend == "postgresql" and args.writers:
                for w in [int(x) for x in args.writers.split(",")]:
                    log(f"{n:,} events, {backend}: ingest --workers {w}")
                    r[f"writers_{w}"] = spawn({**base, "kind": "sharded", "writers": w})
            ours = r.get("battrace", {}).get("events_per_s")
            for other in ("bare", "eventsourcing"):
                theirs = r.get(other, {}).get("events_per_s")
                if ours and theirs:
                    r[f"ratio_vs_{other}"] = round(ours / theirs, 3)
            entry[backend] = r
        results["sizes"].append(entry)
    return results


def machine() -> dict[str, Any]:
    model = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"nproc": os.cpu_count(), "cpu": model, "python": sys.version.split()[0], "sqlite": sqlite3.sqlite_version,
            "loadavg_at_start": os.getloadavg()}


#: The server's settings a figure depends on, printed with the results: autovacuum off (as on a
#: test server) leaves vacuum and statistics to the ingest's own ANALYZE (docs/scale.md).
SERVER_SETTINGS = ("server_version", "autovacuum", "shared_buffers", "max_wal_size", "checkpoint_timeout",
                   "wal_compression")


def server(pg: str) -> dict[str, str]:
    """The PostgreSQL server's version and :data:`SERVER_SETTINGS`."""
    from sqlalchemy import create_engine

    engine = create_engine(pg)
    try:
        with engine.connect() as conn:
            rows = conn.exec_driver_sql("SELECT name, current_setting(name) FROM pg_settings "
                                        "WHERE name = ANY(%(names)s)", {"names": list(SERVER_SETTINGS)})
            return {name: value for name, value in rows}
    finally:
        engine.dispose()


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def table(results: dict[str, Any]) -> str:
    m = results["machine"]
    lines = [f"machine: {m['nproc']} CPU, {m['cpu']}, Python {m['python']}, SQLite {m['sqlite']}"]
    if "server" in results:
        lines.append("postgresql: " + ", ".join(f"{k} {results['server'].get(k, '?')}" for k in SERVER_SETTINGS))
    lines.append("")
    head = (f"{'events':>9} {'db':<10} {'battrace/s':>10} {'bare/s':>9} {'ratio':>6} {'evsrc/s':>8} {'ratio':>6} "
            f"{'rules/s':>8} {'pp p50':>7} {'pp p99':>7} {'pack p99':>8} {'rss MB':>7} {'heap MB':>7} {'rejected':>8}")
    lines += [head, "-" * len(head)]
    for entry in results["sizes"]:
        for backend in ("sqlite", "postgresql"):
            r = entry.get(backend)
            if not r:
                continue
            sharded = [r[k] for k in sorted(r, key=lambda k: int(k.split("_")[1]) if k.startswith("writers_") else 0)
                       if k.startswith("writers_")]
            if sharded:
                lines.append(f"{entry['events']:>9,} {backend:<10} ingest --workers, {sharded[0].get('nproc')} CPU: "
                             + ", ".join(f"{x['writers']} writer(s) {x['events_per_s']:,} ev/s (load {x['load']}, "
                                         f"{x['retries']} retries)" if "events_per_s" in x
                                         else f"error {x.get('error')}" for x in sharded))
            if "battrace" not in r:
                continue
            b, bare, es = r["battrace"], r.get("bare", {}), r.get("eventsourcing", {})
            if "error" in b:
                lines.append(f"{entry['events']:>9,} {backend:<10} error: {b['error']}")
                continue
            pp = b.get("passport", {})
            fmt = lambda v, spec: "-" if v is None else format(v, spec)  # noqa: E731
            lines.append(
                f"{entry['events']:>9,} {backend:<10} {b['events_per_s']:>10,} "
                f"{fmt(bare.get('events_per_s'), ',d'):>9} "
                f"{fmt(r.get('ratio_vs_bare'), '.2f'):>6} {fmt(es.get('events_per_s'), ',d'):>8} "
                f"{fmt(r.get('ratio_vs_eventsourcing'), '.2f'):>6} "
                f"{fmt(r.get('battrace_rules', {}).get('events_per_s'), ',d'):>8} "
                f"{fmt(pp.get('all', {}).get('p50_ms'), '.2f'):>7} {fmt(pp.get('all', {}).get('p99_ms'), '.2f'):>7} "
                f"{fmt(pp.get('packs', {}).get('p99_ms'), '.2f'):>8} {b['rss_peak_mb']:>7.0f} "
                f"{fmt(b.get('tracemalloc_peak_mb'), '.0f'):>7} {b['rejected']:>8}"
            )
            pw = r.get("battrace_parse_workers", {})
            if "events_per_s" in pw:
                lines.append(f"{'':>9} {'':<10} with {pw['parse_workers']} parse worker(s): {pw['events_per_s']:,} "
                             f"events/s, {pw['events_per_cpu_s']:,} per CPU-second of the writer, "
                             f"{pw['events_per_total_cpu_s']:,} per CPU-second in all (writer {b['cpu_seconds']} s "
                             f"alone, {pw['cpu_seconds']} s + workers {pw['workers_cpu_seconds']} s)")
            if b.get("tenths"):
                lines.append(f"{'':>9} {'':<10} per tenth (events/s): "
                             + " ".join(f"{t['events_per_s']:,}" for t in b["tenths"])
                             + f"; last/first {b['last_over_first_tenth']:.2f}")
            if b.get("tenths") and "events_per_cpu_s" in b["tenths"][0]:
                lines.append(f"{'':>9} {'':<10} per tenth (events per CPU-s, client + server): "
                             + " ".join(f"{t['events_per_cpu_s']:,}" for t in b["tenths"])
                             + f"; last/first {b['cpu_last_over_first_tenth']:.2f}")
            if "repeat" in pp.get("all", {}):
                lines.append(f"{'':>9} {'':<10} passport repeat reads: p50 {pp['all']['repeat']['p50_ms']:.2f} ms, "
                             f"p99 {pp['all']['repeat']['p99_ms']:.2f} ms (packs p99 "
                             f"{pp.get('packs', {}).get('repeat', {}).get('p99_ms', float('nan')):.2f} ms)")
            analysed = b.get("passport_after_analyze", {})
            if analysed:
                lines.append(f"{'':>9} {'':<10} passport after ANALYZE, first reads of other batteries: p50 "
                             f"{analysed['all']['p50_ms']:.2f} ms, p99 {analysed['all']['p99_ms']:.2f} ms (packs p99 "
                             f"{analysed['packs']['p99_ms']:.2f} ms); "
                             f"repeat p99 {analysed['all']['repeat']['p99_ms']:.2f} ms")
    lines += ["", "rules = battrace with the compliance engine as observer; pp = get_passport latency (ms), first read "
              "of each of --lookups random batteries; pack = random packs; "
              "rss = peak resident set (VmHWM) of the ingest process; heap = tracemalloc peak during ingest"]
    lines += goals(results)
    return "\n".join(lines)


def goals(results: dict[str, Any]) -> list[str]:
    out = ["", "goals:"]
    for entry in results["sizes"]:
        r = entry.get("sqlite", {})
        b = r.get("battrace", {})
        if "events_per_s" not in b:
            continue
        n = entry["events"]
        ok = lambda cond: "PASS" if cond else "FAIL"  # noqa: E731
        out.append(f"  {n:>9,} sqlite >= {GOALS['sqlite_events_per_s']:,} events/s: "
                   f"{ok(b['events_per_s'] >= GOALS['sqlite_events_per_s'])} ({b['events_per_s']:,})")
        if "ratio_vs_bare" in r:
            out.append(f"  {n:>9,} >= {GOALS['bare_ratio']} of bare insert: "
                       f"{ok(r['ratio_vs_bare'] >= GOALS['bare_ratio'])} ({r['ratio_vs_bare']:.2f})")
        if "ratio_vs_eventsourcing" in r:
            out.append(f"  {n:>9,} faster than eventsourcing: "
                       f"{ok(r['ratio_vs_eventsourcing'] > 1)} ({r['ratio_vs_eventsourcing']:.2f}x)")
        p99 = b.get("passport", {}).get("all", {}).get("p99_ms")
        if p99 is not None:
            out.append(f"  {n:>9,} passport p99 <= {GOALS['passport_p99_ms']} ms: "
                       f"{ok(p99 <= GOALS['passport_p99_ms'])} ({p99:.2f} ms)")
    sizes = [e for e in results["sizes"] if "rss_peak_mb" in e.get("sqlite", {}).get("battrace", {})]
    if len(sizes) > 1:
        lo, hi = sizes[0]["sqlite"]["battrace"], sizes[-1]["sqlite"]["battrace"]
        growth = hi["rss_peak_mb"] / lo["rss_peak_mb"]
        heap = ""
        if isinstance(lo.get("tracemalloc_peak_mb"), float) and isinstance(hi.get("tracemalloc_peak_mb"), float):
            heap = f", heap peak {lo['tracemalloc_peak_mb']:.0f} -> {hi['tracemalloc_peak_mb']:.0f} MB"
        out.append(f"  memory flat in N ({sizes[0]['events']:,} -> {sizes[-1]['events']:,} events): "
                   f"{'PASS' if growth < 1.25 else 'FAIL'} (peak RSS {lo['rss_peak_mb']:.0f} -> "
                   f"{hi['rss_peak_mb']:.0f} MB{heap})")
    return out


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("sizes", nargs="*", type=int, default=[100_000, 1_000_000])
    parser.add_argument("--pg", help="PostgreSQL URL (default: $BATTRACE_TEST_DATABASE_URL)")
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    parser.add_argument("--lookups", type=int, default=1000, help="get_passport calls per size (default 1000)")
    parser.add_argument("--batch", type=int, default=0, help="override the ledger's batch size")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--data", default=str(Path(tempfile.gettempdir()) / "battrace-bench-data"),
                        help="where simulated worlds are cached")
    parser.add_argument("--runs", default="battrace,rules,tracemalloc,bare,eventsourcing",
                        help="which runs, comma-separated (default: all of "
                        "battrace,rules,tracemalloc,bare,eventsourcing); rules and eventsourcing on SQLite only")
    parser.add_argument("--log", help="append each run's result to this JSON Lines file as it ends")
    parser.add_argument("--writers", default="",
                        help="PostgreSQL: also ingest with these numbers of writer processes (e.g. 1,2,4), "
                        "each on its own families of streams (battrace ingest --workers N)")
    parser.add_argument("--parse-workers", type=int, default=0,
                        help="also ingest with this many parse worker processes (battrace ingest --parse-workers)")
    parser.add_argument("--keep", action="store_true",
                        help="keep the PostgreSQL schema of the battrace run (its name is printed), e.g. to time the "
                        "dashboard and statistics on it with bench/scale.py --schema NAME")
    parser.add_argument("--backends", default="sqlite,postgresql", help="which stores (default: both)")
    parser.add_argument("--profile", action="store_true",
                        help="PostgreSQL: per tenth, time the store's statements and record plans, sizes, "
                        "HOT updates, autovacuum and WAL (slows the run a little)")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        print(json.dumps(worker(json.loads(args.worker))))
        return
    global RESULTS_LOG
    RESULTS_LOG = Path(args.log) if args.log else None
    results = measure(args)
    print(json.dumps(results, indent=2) if args.json else table(results))


if __name__ == "__main__":
    main(sys.argv[1:])
