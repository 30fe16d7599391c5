"""The one module that talks to the database: connections, the writer lock, reads and bulk writes.

SQLite (default, one file, WAL) and PostgreSQL share every statement through SQLAlchemy Core; the
few differences (writer concurrency, log positions, upserts, COPY) are chosen here by dialect.
Driver errors are mapped to :class:`~battrace.errors.StorageError` (a lost race between ledger
writers to :class:`~battrace.errors.WriteConflict`) at the transaction boundaries.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from operator import itemgetter
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, Table, create_engine, event, literal, select, union_all
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import DBAPIError, DisconnectionError, OperationalError
from sqlalchemy.pool import NullPool, QueuePool

from battrace.domain.events import canonical_json
from battrace.domain.orgs import Org, parse_org
from battrace.domain.state import BatteryState, VehicleState
from battrace.errors import StorageError, WriteConflict
from battrace.storage import schema
from battrace.storage.documents import document_loads
from battrace.storage.migrate import WRITER_LOCK_ARGS, upgrade

#: The schema's writer lock (advisory, PostgreSQL): ``"batt"`` (0x62617474) and the schema's name
#: hashed, so that two platforms in two schemas of one database (or two tests) do not queue behind
#: each other's writers or migrations.
_LOCK_ARGS = WRITER_LOCK_ARGS
#: SQLSTATEs that mean "a concurrent writer got there first": unique violation (the same
#: ``(stream, version)`` or ``(reporter, event_id)``), deadlock, serialization failure.
_CONFLICTS = {"23505", "40P01", "40001"}
GENESIS = "0" * 64
_SQLITE_TIME = "%Y-%m-%dT%H:%M:%S.%fZ"  # the text UTCTime stores on SQLite


def sqlite_time(moment: datetime) -> str:
    """The text of :data:`_SQLITE_TIME` (through ``isoformat``: the same text at two thirds of the cost)."""
    return moment.astimezone(UTC).isoformat(timespec="microseconds")[:-6] + "Z"


def _dumps(obj: Any) -> str:
    return canonical_json(obj)


def run(conn: Connection, sql: str, params: Any = (), *, many: bool = False) -> list[Any]:
    """Driver SQL in ``conn``'s transaction through the driver's own cursor; the rows (none for a write).

    The ingest's statements and the per-batch checks go this way: SQLAlchemy's statement machinery
    (events, execution context, result set-up) cost ~45 µs of CPU a statement, ten times a small
    SQLite statement, and a single-event request runs a dozen (docs/performance.md). A driver error
    is raised as SQLAlchemy raises it from ``exec_driver_sql`` (``DBAPIError.instance``: an
    ``IntegrityError``, ``OperationalError``… with the driver's error as ``orig``), so the transaction
    boundaries map it as before (a write conflict, a storage error)."""
    dbapi = conn.dialect.loaded_dbapi
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        if many:
            cursor.executemany(sql, params)
        else:
            cursor.execute(sql, params)
        return list(cursor.fetchall()) if cursor.description is not None else []
    except dbapi.Error as exc:
        raise DBAPIError.instance(sql, params, exc, dbapi.Error, dialect=conn.dialect) from None
    finally:
        cursor.close()


#: Seconds a pooled PostgreSQL connection may sit idle before it is pinged at checkout.
PING_AFTER_IDLE_S = 10.0


def make_engine(url: str) -> Engine:
    """An engine for ``url``; SQLite gets WAL, a busy timeout and explicit BEGIN handling.

    A SQLite file keeps a small pool of open connections: opening one costs a file open, three
    PRAGMAs and a parse of the whole schema on its first statement, which used to be most of a
    passport lookup or an API request.
    """
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
            engine = create_engine(url, poolclass=QueuePool, pool_size=5, max_overflow=10,
                                   connect_args={"timeout": 30, "check_same_thread": False})
        else:
            engine = create_engine(url, poolclass=NullPool, connect_args={"timeout": 30})

        @event.listens_for(engine, "connect")
        def _connect(dbapi_conn: Any, _record: Any) -> None:
            dbapi_conn.isolation_level = None  # we issue BEGIN ourselves
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        @event.listens_for(engine, "begin")
        def _begin(conn: Connection) -> None:
            immediate = conn.get_execution_options().get("battrace_writer", False)
            conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

        return engine
    engine = create_engine(url, pool_size=5, max_overflow=10)

    # A ping at every checkout (``pool_pre_ping``) was one of the two round trips of a passport
    # lookup. A connection handed back a moment ago is used as it is; one idle for longer than
    # PING_AFTER_IDLE_S (when a server restart or an idle timeout may have closed it) is pinged, and
    # a dead one is replaced before anyone sees it. A connection that died within the window fails
    # its statement once; SQLAlchemy then empties the pool.
    @event.listens_for(engine, "checkin")
    def _checkin(_dbapi_conn: Any, record: Any) -> None:
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _checkout(dbapi_conn: Any, record: Any, _proxy: Any) -> None:
        since = record.info.get("idle_since")
        if since is None or time.monotonic() - since < PING_AFTER_IDLE_S:
            return
        try:
            engine.dialect.do_ping(dbapi_conn)
        except Exception as exc:  # whatever the driver raises for a dead connection
            raise DisconnectionError(f"pooled connection idle {time.monotonic() - since:.0f} s is closed") from exc

    return engine


class Store:
    """Database access for the whole platform."""

    def __init__(self, url: str, *, migrate: bool = True) -> None:
        self.url = url
        self._orgs: tuple[tuple[Any, ...], dict[str, Org]] | None = None
        self._sql_cache: dict[tuple[str, tuple[str, ...]], tuple[str, Callable[[Any], Any], list[int]]] = {}
        try:
            self.engine = make_engine(url)
            if migrate:
                upgrade(self.engine)
        except (OperationalError, DBAPIError) as exc:
            raise StorageError(f"cannot open the database {self.safe_url}: {exc.orig}", url=self.safe_url) from None

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @property
    def safe_url(self) -> str:
        return self.engine.url.render_as_string(hide_password=True) if hasattr(self, "engine") else self.url

    def close(self) -> None:
        self.engine.dispose()

    # -- transactions -------------------------------------------------------------------------

    @contextmanager
    def writer(self) -> Iterator[Connection]:
        """A write transaction holding the writer lock exclusively; commits on success.

        For the few whole-platform writers (organisation import, compliance sweeps, access
        administration): no ledger writer (:meth:`ledger_writer`, which holds the lock shared) runs
        meanwhile. SQLite has one writer at a time anyway."""
        try:
            with self.engine.connect().execution_options(battrace_writer=True) as conn, conn.begin():
                if self.dialect == "postgresql":
                    conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_LOCK_ARGS})")
                yield conn
        except (OperationalError, DBAPIError) as exc:
            raise StorageError(f"database write failed: {exc.orig}") from None

    @contextmanager
    def ledger_writer(self, *, exclusive: bool = False) -> Iterator[Connection]:
        """A write transaction for the ledger's appends.

        SQLite has one writer at a time (``BEGIN IMMEDIATE``), as before. On PostgreSQL ledger
        writers no longer exclude each other: each takes the writer lock in *shared* mode (so the
        few whole-platform writers that take it exclusively, :meth:`writer`, still see a quiet
        log), and concurrency is optimistic per stream: the primary key ``(stream, version)`` of
        ``event_links`` and the unique ``(reporter, event_id)`` of ``events`` refuse the second of
        two writers that decided on the same view. That refusal (or a deadlock between two such
        writers) is raised as :class:`WriteConflict` for the ledger to decide the batch again;
        ``exclusive=True`` (its last retry) takes the lock exclusively, so that retry cannot lose.
        """
        try:
            with self.engine.connect().execution_options(battrace_writer=True) as conn, conn.begin():
                if self.dialect == "postgresql":
                    fn = "pg_advisory_xact_lock" if exclusive else "pg_advisory_xact_lock_shared"
                    conn.exec_driver_sql(f"SELECT {fn}({_LOCK_ARGS})")
                yield conn
        except (OperationalError, DBAPIError) as exc:
            state = getattr(exc.orig, "sqlstate", None)
            if state in _CONFLICTS:
                raise WriteConflict(f"a concurrent writer changed the same stream: {exc.orig}") from None
            raise StorageError(f"database write failed: {exc.orig}") from None

    @contextmanager
    def reader(self, *, single_statement: bool = False) -> Iterator[Connection]:
        """A read transaction. ``single_statement=True``: for a read of one statement, which sees one
        snapshot by itself; on PostgreSQL it then runs without ``BEGIN``/``COMMIT`` (autocommit),
        two round trips fewer (see battrace.storage.passport_reads)."""
        try:
            if single_statement and self.dialect == "postgresql":
                with self.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                    yield conn
                return
            with self.engine.connect() as conn, conn.begin():
                yield conn
        except (OperationalError, DBAPIError) as exc:
            raise StorageError(f"database read failed: {exc.orig}") from None

    def read_one(self, sql: str, params: tuple[Any, ...]) -> tuple[Any, ...] | None:
        """The first row of one read statement (driver SQL), or None: on a pooled connection through
        the driver, outside any explicit transaction (one statement sees one snapshot by itself;
        PostgreSQL runs it in autocommit, one round trip). For the read that every authenticated
        request makes, where SQLAlchemy's connection and statement machinery cost five times the
        query itself."""
        try:
            fairy = self.engine.raw_connection()
        except (OperationalError, DBAPIError) as exc:
            raise StorageError(f"database read failed: {exc.orig}") from None
        dbapi = self.engine.dialect.loaded_dbapi
        try:
            raw: Any = fairy.driver_connection
            autocommit = self.dialect == "postgresql"
            if autocommit:
                raw.autocommit = True
            try:
                cursor = raw.cursor()
                try:
                    cursor.execute(sql, params)
                    row = cursor.fetchone()
                finally:
                    cursor.close()
            finally:
                if autocommit:
                    raw.autocommit = False
        except dbapi.Error as exc:
            fairy.invalidate()  # whatever went wrong, this connection is not handed out again
            raise StorageError(f"database read failed: {exc}") from None
        finally:
            fairy.close()
        return None if row is None else tuple(row)

    def _insert(self, table: Table) -> Any:
        return (pg_insert if self.dialect == "postgresql" else sqlite_insert)(table)

    def upsert(self, conn: Connection, table: Table, rows: Sequence[dict[str, Any]], key: Sequence[str]) -> None:
        if not rows:
            return
        stmt = self._insert(table)
        stmt = stmt.on_conflict_do_update(
            index_elements=list(key),
            set_={c.name: stmt.excluded[c.name] for c in table.columns if c.name not in key},
        )
        conn.execute(stmt, list(rows))

    def bulk(self, conn: Connection, table: Table, rows: Sequence[dict[str, Any]], key: Sequence[str] = ()) -> None:
        """The hot-path insert (or upsert on ``key``): one prepared statement, driver-level executemany.

        Used for the log and the read models during ingest, where SQLAlchemy's per-row parameter
        processing would cost more than the database itself. Rows become tuples through one
        ``itemgetter`` (C speed); on SQLite the time columns are then rendered as UTCTime text.
        """
        if not rows:
            return
        sql, values, times = self._bulk_sql(table, tuple(key))
        params: list[Any] = list(map(values, rows))
        if times:
            for k, row in enumerate(params):
                row = list(row)
                for i in times:
                    if row[i] is not None:
                        row[i] = sqlite_time(row[i])
                params[k] = tuple(row)
        if not key and self.dialect == "postgresql":
            self._copy(conn, table, params)
            return
        run(conn, sql, params, many=True)

    def _copy(self, conn: Connection, table: Table, params: list[Any]) -> None:
        """PostgreSQL's COPY for plain appends (the log): several times cheaper for the server than
        INSERT per row, in the same transaction; driver errors are mapped as for any statement."""
        sql = f"COPY {table.name} ({', '.join(c.name for c in table.columns)}) FROM STDIN"
        raw: Any = conn.connection.driver_connection
        try:
            with raw.cursor() as cursor, cursor.copy(sql) as copy:
                for row in params:
                    copy.write_row(row)
        except Exception as exc:
            if type(exc).__module__.split(".")[0] != "psycopg":
                raise
            raise DBAPIError(sql, None, exc) from None

    @property
    def _mark(self) -> str:
        """The driver's parameter marker."""
        return "?" if self.dialect == "sqlite" else "%s"

    def _marks(self, n: int) -> str:
        return ", ".join([self._mark] * n)

    def _lookup(self, table: str, key: str, columns: str, values: list[str], *, reporter: str | None = None
                ) -> tuple[str, tuple[Any, ...]]:
        """Driver SQL selecting ``columns`` of the rows of ``table`` whose ``key`` is in ``values``
        (and, for the log, whose reporter is ``reporter``), by index lookups. The keys are unique.

        PostgreSQL looks each value up in a LATERAL subquery over an unnested array parameter, with
        ``LIMIT 1``: a subquery with a LIMIT is never flattened into a join, so the plan is one
        unique-index probe per value whatever the statistics say. (Without it PostgreSQL pulled
        the subquery up into a join and, on a log that had not been analysed, hashed a bitmap scan
        of *all* the reporter's events against the keys: 10 ms per 1,000 ingested events at 3×10^4
        events, 560 ms at 2.7×10^5, the main cause of the decay in issue 18; see
        docs/performance.md.)
        """
        where = "" if reporter is None else " AND t.reporter = {mark}"
        if self.dialect == "postgresql":
            sql = (f"SELECT l.* FROM unnest(%s::text[]) AS k(v) CROSS JOIN LATERAL "
                   f"(SELECT {columns} FROM {table} t WHERE t.{key} = k.v" + where.format(mark="%s")
                   + " LIMIT 1) l")
            return sql, (values,) if reporter is None else (values, reporter)
        sql = (f"SELECT {columns} FROM {table} t WHERE t.{key} IN ({self._marks(len(values))})"
               + where.format(mark="?"))
        return sql, (*values,) if reporter is None else (*values, reporter)

    def _bulk_sql(self, table: Table, key: tuple[str, ...]) -> tuple[str, Callable[[Any], Any], list[int]]:
        cache_key = (table.name, key)
        cached = self._sql_cache.get(cache_key)
        if cached:
            return cached
        columns = [c.name for c in table.columns]
        mark = "?" if self.dialect == "sqlite" else "%s"
        sql = f"INSERT INTO {table.name} ({', '.join(columns)}) VALUES ({', '.join(mark for _ in columns)})"
        if key:
            updates = ", ".join(f"{c} = excluded.{c}" for c in columns if c not in key)
            sql += f" ON CONFLICT ({', '.join(key)}) DO UPDATE SET {updates}"
        getter = itemgetter(*columns)
        values = getter if len(columns) > 1 else lambda row: (getter(row),)
        times = [i for i, c in enumerate(table.columns)
                 if isinstance(c.type, schema.UTCTime) and self.dialect == "sqlite"]
        self._sql_cache[cache_key] = (sql, values, times)
        return sql, values, times

    # -- organisations ------------------------------------------------------------------------

    def load_orgs(self, conn: Connection, stamp: tuple[Any, ...] | None = None) -> dict[str, Org]:
        """Every organisation by credit code (a fresh dict; the parsed orgs are cached).

        The registry is read by every ingest batch and every API request, and changes rarely: the
        parsed organisations are kept with the registry's stamp (``orgs_stamp.version``, which a
        trigger on ``orgs`` raises on every change: migration 0015), checked by reading that one row
        in the caller's transaction (or given as ``stamp``, read by the caller's own statement), and
        dropped by :meth:`save_orgs`. So another process's import is seen at the next read, and the
        check costs the same however large the registry is.
        """
        o = schema.orgs
        if stamp is None:
            stamp = tuple(run(conn, "SELECT version FROM orgs_stamp")[0])
        cached = self._orgs
        if cached is None or cached[0] != stamp:
            orgs = {row.credit_code: parse_org(json.loads(row.doc))
                    for row in conn.execute(select(o.c.credit_code, o.c.doc))}
            cached = self._orgs = (stamp, orgs)
        return dict(cached[1])

    def save_orgs(self, conn: Connection, orgs: Iterable[Org], now: datetime) -> None:
        self._orgs = None
        rows = [
            {"credit_code": o.credit_code, "name": o.name, "type": o.type, "region": o.region,
             "doc": _dumps(o.as_dict()), "updated_at": now}
            for o in orgs
        ]
        self.upsert(conn, schema.orgs, rows, ["credit_code"])

    # -- the log ------------------------------------------------------------------------------

    def max_seq(self, conn: Connection) -> int:
        return int(run(conn, "SELECT coalesce(max(seq), 0) FROM events")[0][0])

    def next_seqs(self, conn: Connection, n: int) -> list[int]:
        """``n`` new log positions. SQLite (one writer): the next ``n`` after the largest. PostgreSQL:
        from the ``events_seq`` sequence, which needs no lock: positions are unique and increase
        in the order writers draw them, but a rolled-back batch leaves a gap (the chain that proves
        completeness is each stream's, see docs/ledger.md)."""
        if n <= 0:
            return []
        if self.dialect != "postgresql":
            first = self.max_seq(conn) + 1
            return list(range(first, first + n))
        rows = run(conn, "SELECT nextval('events_seq') FROM generate_series(1, %s)", (n,))
        return sorted(int(r[0]) for r in rows)

    def find_events(self, conn: Connection, keys: Sequence[tuple[str, str]]) -> dict[tuple[str, str], str]:
        """Stored bodies of the given ``(reporter, event_id)`` pairs."""
        out: dict[tuple[str, str], str] = {}
        by_reporter: dict[str, list[str]] = {}
        for reporter, event_id in keys:
            by_reporter.setdefault(reporter, []).append(event_id)
        for reporter, ids in by_reporter.items():
            for chunk in _chunks(ids, 900):
                sql, params = self._lookup("events", "event_id", "event_id, body", chunk, reporter=reporter)
                for event_id, body in run(conn, sql, params):
                    out[(reporter, event_id)] = body
        return out

    def append(
        self,
        conn: Connection,
        events: list[dict[str, Any]],
        links: list[dict[str, Any]],
        batteries: list[dict[str, Any]],
        vehicles: list[dict[str, Any]],
        lineage: list[dict[str, Any]],
        techinfo: list[dict[str, Any]],
        *,
        new_batteries: set[str] | frozenset[str] = frozenset(),
    ) -> None:
        """Append events and their links, and update the read models, in the caller's transaction.

        ``new_batteries`` names the batteries that had no row before this batch: on PostgreSQL they
        are appended with COPY, the others upserted (a concurrent writer that created one of them
        first makes the COPY fail with a unique violation, i.e. a write conflict, as for links)."""
        self.bulk(conn, schema.events, events)
        self.bulk(conn, schema.event_links, links)
        if new_batteries and self.dialect == "postgresql":
            self.bulk(conn, schema.batteries, [r for r in batteries if r["code"] in new_batteries])
            batteries = [r for r in batteries if r["code"] not in new_batteries]
        self.bulk(conn, schema.batteries, batteries, ["code"])
        self.bulk(conn, schema.vehicles, vehicles, ["vin"])
        self.bulk(conn, schema.lineage, lineage)
        self.bulk(conn, schema.techinfo, techinfo, ["stream"])

    def refresh_statistics(self) -> None:
        """After a bulk load, let PostgreSQL's planner see the new size of the log and the read
        models at once (``ANALYZE``) rather than when autovacuum gets to it. Until then the fresh
        tables' default estimates made a passport lookup start parallel workers: 25 ms instead of
        2 ms at 10^6 events. SQLite plans without statistics: nothing to do."""
        if self.dialect != "postgresql":
            return
        try:  # no writer lock: ANALYZE blocks no reader or writer
            with self.engine.connect() as conn, conn.begin():
                conn.exec_driver_sql(f"ANALYZE {', '.join((*schema.LOG_TABLES, *schema.READ_MODELS))}")
        except (OperationalError, DBAPIError) as exc:
            raise StorageError(f"database write failed: {exc.orig}") from None

    # -- read models --------------------------------------------------------------------------

    def get_batteries(self, conn: Connection, codes: Iterable[str]) -> dict[str, tuple[BatteryState, int, str]]:
        out: dict[str, tuple[BatteryState, int, str]] = {}
        for chunk in _chunks(list(codes), 500):  # driver SQL: the ingest hot path (no expanding-IN rendering)
            sql, params = self._lookup("batteries", "code", "code, doc, version, head", chunk)
            for code, doc, version, head in run(conn, sql, params):
                out[code] = (BatteryState.from_dict(document_loads(doc)), version, head)
        return out

    def get_battery_line(self, conn: Connection, code: str) -> tuple[tuple[BatteryState, int, str] | None,
                                                                     list[BatteryState]]:
        """Battery ``code`` (state, version, head) and its ancestors (parent first), in one query: a
        component's digital ID is derived from its pack (battrace.domain.wholelife)."""
        # driver SQL (a Core select with aliases costs a millisecond to build, twenty times the query)
        sql = ("SELECT b.doc, b.version, b.head, p1.doc, p2.doc, p3.doc FROM batteries b"
               " LEFT JOIN batteries p1 ON p1.code = b.parent LEFT JOIN batteries p2 ON p2.code = p1.parent"
               f" LEFT JOIN batteries p3 ON p3.code = p2.parent WHERE b.code = {self._mark}")
        row = conn.exec_driver_sql(sql, (code,)).first()
        if row is None:
            return None, []
        own = (BatteryState.from_dict(json.loads(row[0])), row[1], row[2])
        return own, [BatteryState.from_dict(json.loads(doc)) for doc in row[3:] if doc is not None]

    def get_vehicles(self, conn: Connection, vins: Iterable[str]) -> dict[str, tuple[VehicleState, int, str]]:
        out: dict[str, tuple[VehicleState, int, str]] = {}
        for chunk in _chunks(list(vins), 500):  # driver SQL, as for batteries (read for every component too)
            sql, params = self._lookup("vehicles", "vin", "vin, doc, version, head", chunk)
            for vin, doc, version, head in run(conn, sql, params):
                out[vin] = (VehicleState.from_dict(document_loads(doc)), version, head)
        return out

    def get_techinfo(self, conn: Connection, streams: Iterable[str]) -> dict[str, tuple[dict[str, Any], int, str]]:
        out: dict[str, tuple[dict[str, Any], int, str]] = {}
        for chunk in _chunks(list(streams), 500):
            sql, params = self._lookup("techinfo", "stream", "stream, doc, version, head", chunk)
            for stream, doc, version, head in run(conn, sql, params):
                out[stream] = (document_loads(doc), version, head)
        return out

    def children_of(self, conn: Connection, code: str) -> list[str]:
        """The components of battery ``code`` (``components``, which triggers keep from ``batteries.parent``)."""
        c = schema.components
        return list(conn.execute(select(c.c.code).where(c.c.parent == code).order_by(c.c.code)).scalars())

    def lineage_of(self, conn: Connection, code: str) -> tuple[list[str], list[str]]:
        """(sources of product ``code``, products made from ``code``)."""
        lin = schema.lineage
        both = union_all(  # one round trip (the passport's latency is mostly round trips)
            select(literal(0).label("side"), lin.c.source.label("other")).where(lin.c.product == code),
            select(literal(1).label("side"), lin.c.product.label("other")).where(lin.c.source == code),
        )
        rows = conn.execute(both).all()
        return (sorted(r.other for r in rows if r.side == 0), sorted(r.other for r in rows if r.side == 1))

    def stream_events(
        self, conn: Connection, stream: str, *, until: datetime | None = None, by: str = "recorded"
    ) -> list[dict[str, Any]]:
        """The events of one stream in order, with their link hashes; ``until`` bounds the time they
        were recorded (``by="recorded"``) or happened (``by="occurred"``)."""
        e, lk = schema.events, schema.event_links
        stmt = (
            select(lk.c.version, lk.c.hash.label("link"), e.c.seq, e.c.recorded_at, e.c.imported, e.c.body,
                   e.c.hash, e.c.type, e.c.schema_version)
            .join(e, e.c.seq == lk.c.seq)
            .where(lk.c.stream == stream)
            .order_by(lk.c.version)
        )
        if until is not None:
            stmt = stmt.where((e.c.occurred_at if by == "occurred" else e.c.recorded_at) <= until)
        return [dict(row._mapping) for row in conn.execute(stmt)]

    def events_after(self, conn: Connection, seq: int, limit: int) -> list[dict[str, Any]]:
        """Up to ``limit`` events with a sequence number above ``seq``, in ledger order."""
        e = schema.events
        stmt = (select(e.c.seq, e.c.recorded_at, e.c.imported, e.c.body, e.c.hash)
                .where(e.c.seq > seq).order_by(e.c.seq).limit(limit))
        return [dict(row._mapping) for row in conn.execute(stmt)]


def _chunks(items: list[Any], size: int) -> Iterator[list[Any]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]
