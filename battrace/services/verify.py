"""Verify the platform's records against the log: every hash, every chain, every read model.

``verify`` runs the named checks of :data:`CHECKS` in order over one read transaction, each adding
problems (``kind``, ``table``, a message naming the row) to one :class:`VerifyReport`. The walks
stream rows from the database, so memory stays flat in the size of the log:

``events``
    positions contiguous from 1; each hash recomputed from the stored content; each schema version
    (metadata, not hashed) one an upcaster chain leads from to today's
    (:mod:`battrace.domain.upcasting`); the indexed columns equal to the content; every event linked
    to each stream it names (a battery it names, its vehicle, its techinfo filing) — a forged event
    appended with a correct hash but no links is named here; the lineage table re-derived from the
    ``battery.remanufactured`` events.
``streams``
    links in ``(stream, version)`` order: versions contiguous, each link recomputed from the
    previous one; each stream folded (:mod:`battrace.services.replay`, as ``battrace rebuild``
    does) and its read-model row (``batteries``, ``vehicles``, ``techinfo``) compared column by
    column with the fold; read-model rows without a stream.
``chains``
    each hash-chained side table (:data:`battrace.storage.chain.CHAINS`: ``finding_log``) walked,
    and its table's rows (``findings`` with their subjects) compared with the last record of each.
``audit``
    the audit log's hash chain and head (:func:`battrace.storage.audit.check_chain`): an edited,
    inserted or deleted audit row is named.
``aggregates``
    the counters kept as events arrive (the statistics' ``battery_counts`` and
    ``retirement_counts``, the dashboard's ``reporter_counts``, ``flow_counts`` and
    ``installation_counts``) summed over their slots and compared key by key with a recount from the
    log and the read models (a few grouped scans).
``anchor`` (only with ``anchor=``)
    a signed anchor (:mod:`battrace.services.anchor`): every stream's head and chain head it
    recorded must still be in the log, so that even a consistent rewrite is detected.

Other checks are added by appending ``(name, function)`` to :data:`CHECKS`; a check takes a
:class:`Context` and reports through ``ctx.report``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from battrace.domain.events import Event
from battrace.domain.integrity import techinfo_stream, vehicle_stream
from battrace.domain.upcasting import check_version, stored_event
from battrace.errors import BattraceError
from battrace.services.ledger import event_hash
from battrace.services.replay import (  # noqa: F401 - the columns are part of this module's interface
    BATTERY_COLUMNS,
    VEHICLE_COLUMNS,
    StreamFold,
    expected_row,
    fold_streams,
    lineage_of,
    table_of,
)
from battrace.storage import audit as audit_db
from battrace.storage import chain, verification
from battrace.storage import counts as counts_db
from battrace.storage import dashboard as dashboard_db
from battrace.storage.compliance import finding_bodies
from battrace.storage.store import Store

_BUFFER = 2000
_EVENT_CHUNK = 2000


@dataclass
class VerifyReport:
    events: int = 0
    streams: int = 0
    links: int = 0
    checks: list[str] = field(default_factory=list)
    problems: list[dict[str, Any]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def add(self, kind: str, message: str, **context: Any) -> None:
        if len(self.problems) < 100:
            self.problems.append({"kind": kind, "message": message, **context})

    def as_dict(self) -> dict[str, Any]:
        first = self.problems[0] if self.problems else None
        return {"ok": self.ok, "events": self.events, "streams": self.streams, "links": self.links,
                "checks": self.checks, "first_broken": first, "problems": self.problems}


@dataclass
class Context:
    """What a check reads and where it reports."""

    store: Store
    conn: Connection
    report: VerifyReport
    progress: Callable[[int], None] | None = None
    anchor: dict[str, Any] | None = None


Check = Callable[[Context], None]


def verify(store: Store, progress: Callable[[int], None] | None = None, *,
           anchor: dict[str, Any] | None = None) -> VerifyReport:
    """Run every check of :data:`CHECKS` (and the anchor's, given a verified anchor payload)."""
    report = VerifyReport()
    with store.reader() as conn:
        ctx = Context(store, conn, report, progress, anchor)
        for name, check in CHECKS:
            if name == "anchor" and anchor is None:
                continue
            report.checks.append(name)
            check(ctx)
            if name == "events" and progress and report.events % 5000:
                progress(report.events % 5000)  # the remainder, so that a bar ends full
    return report


# -- events ---------------------------------------------------------------------------------------


def _own_streams(event: Event) -> set[str]:
    """Streams an event must be linked to, whatever the world was (the ledger may link more)."""
    streams = set(event.codes())
    if "vin" in event.fields:
        streams.add(vehicle_stream(event.fields["vin"]))
    if event.type == "techinfo.filed":
        streams.add(techinfo_stream(event.reporter, event.fields["model"]))
    return streams


def check_events(ctx: Context) -> None:
    report = ctx.report
    expected = 1
    derived_lineage: set[tuple[str, str, int]] = set()
    pending: list[tuple[int, Event | None]] = []

    def flush() -> None:
        if not pending:
            return
        linked: dict[int, set[str]] = {}
        for seq, stream in verification.links_between(ctx.conn, pending[0][0], pending[-1][0]):
            linked.setdefault(seq, set()).add(stream)
        for seq, event in pending:
            streams = linked.get(seq, set())
            if not streams:
                report.add("unlinked_event", f"event {seq} is in no stream: appended outside the ledger",
                           table="events", seq=seq)
                continue
            if event is not None:
                missing = sorted(_own_streams(event) - streams)
                if missing:
                    report.add("unlinked_event", f"event {seq} is not linked to {', '.join(missing[:3])}",
                               table="event_links", seq=seq, stream=missing[0])
        pending.clear()

    # PostgreSQL draws positions from a sequence (concurrent writers): a rolled-back batch leaves a
    # gap there, so a missing event is found through its stream's links instead.
    gapless = ctx.conn.dialect.name != "postgresql"
    for row in verification.events(ctx.conn):
        report.events += 1
        if ctx.progress and report.events % 5000 == 0:
            ctx.progress(5000)
        if gapless and row.seq != expected:
            report.add("missing_event", f"events {expected}..{row.seq - 1} are missing from the log",
                       table="events", seq=expected)
            expected = row.seq
        expected += 1
        digest = event_hash(row.seq, row.recorded_at, row.imported, row.body)
        if digest != row.hash:
            report.add("event_hash", f"event {row.seq} was changed after it was stored (hash mismatch)",
                       table="events", seq=row.seq, event_id=row.event_id)
            pending.append((row.seq, None))
            continue
        try:
            check_version(row.type, row.schema_version)
        except BattraceError as exc:
            report.add("event_version", f"event {row.seq}: {exc.message}", table="events", seq=row.seq,
                       event_id=row.event_id)
            pending.append((row.seq, None))
            continue
        event = _event(row.type, row.schema_version, row.body)
        same = event is not None and (event.type, event.reporter, event.event_id) == (
            row.type, row.reporter, row.event_id)
        same = same and event is not None and event.occurred_at == row.occurred_at
        if not same:
            report.add("event_columns", f"event {row.seq}: stored columns differ from its content",
                       table="events", seq=row.seq, event_id=row.event_id)
        if event is not None:
            derived_lineage.update(lineage_of(row.seq, event))
        pending.append((row.seq, event))
        if len(pending) >= _EVENT_CHUNK:
            flush()
    flush()
    _compare_lineage(ctx, derived_lineage)


def _event(event_type: str, version: int, body: str) -> Event | None:
    try:
        return stored_event(event_type, version, body)
    except (BattraceError, ValueError, TypeError, KeyError, RecursionError):
        return None


def _compare_lineage(ctx: Context, derived: set[tuple[str, str, int]]) -> None:
    stored = verification.lineage(ctx.conn)
    for product, source, seq in sorted(stored - derived)[:20]:
        ctx.report.add("read_model", f"lineage row {product} <- {source} (event {seq}) is not in the log",
                       table="lineage", key=f"{product}/{source}")
    for product, source, seq in sorted(derived - stored)[:20]:
        ctx.report.add("read_model", f"lineage row {product} <- {source} of event {seq} is missing",
                       table="lineage", key=f"{product}/{source}")


# -- streams and read models -------------------------------------------------------------------------


def check_streams(ctx: Context) -> None:
    """Fold every stream of the log (:func:`battrace.services.replay.fold_streams`, the code
    ``battrace rebuild`` writes with) and compare each read-model row with its fold."""
    report = ctx.report
    pending: list[StreamFold] = []
    for fold in fold_streams(verification.links_with_events(ctx.conn), report.add):
        report.streams += 1
        report.links += fold.links
        pending.append(fold)
        if len(pending) >= _BUFFER:
            _compare(ctx, pending)
            pending = []
    _compare(ctx, pending)
    for table, key in verification.rows_without_stream(ctx.conn):
        report.add("read_model", f"{table} row {key} has no stream in the log (added outside the ledger)",
                   table=table, key=key)
    extra, missing = verification.components_apart(ctx.conn)
    for parent, code in extra:
        report.add("read_model", f"components row {parent} > {code}: no battery row has that parent",
                   table="components", key=f"{parent}/{code}")
    for parent, code in missing:
        report.add("read_model", f"components row {parent} > {code} is missing (batteries.parent has it)",
                   table="components", key=f"{parent}/{code}")


def _compare(ctx: Context, pending: list[StreamFold]) -> None:
    by_table: dict[str, list[tuple[str, StreamFold]]] = {}
    for fold in pending:
        table, key = table_of(fold.stream)
        by_table.setdefault(table, []).append((key, fold))
    for table, entries in by_table.items():
        stored = verification.read_model_rows(ctx.conn, table, [k for k, _ in entries])
        for key, fold in entries:
            row = stored.get(key)
            if row is None:
                ctx.report.add("read_model", f"{table} row {key} is missing for a stream in the log",
                               table=table, key=key, stream=fold.stream)
                continue
            if fold.broken:
                continue
            if (row["version"], row["head"]) != (fold.version, fold.head):
                ctx.report.add("head", f"{table} row {key} is at version {row['version']}, the log at "
                               f"{fold.version} (an event was removed or added outside the ledger)",
                               table=table, key=key, column="head", stream=fold.stream)
                continue
            expected = expected_row(table, fold)
            for column, value in expected.items():
                if row[column] != value:
                    ctx.report.add("read_model", f"{table} row {key}: column {column} is {_short(row[column])}, "
                                   f"the log says {_short(value)}", table=table, key=key, column=column,
                                   stream=fold.stream)
                    break


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


# -- hash-chained side tables ------------------------------------------------------------------------


def check_chains(ctx: Context) -> None:
    for name, table in chain.CHAINS.items():
        latest = _walk_chain(ctx, name, table)
        if name == "finding_log":
            _compare_bodies(ctx, "findings", latest, finding_bodies(ctx.conn))


def _walk_chain(ctx: Context, name: str, table: Any) -> dict[str, str]:
    """Walk one chain; return the digest of each subject's last body (empty when broken)."""
    previous, expected = chain.GENESIS, 1
    latest: dict[str, str] = {}
    for row in chain.walk(ctx.conn, table):
        if row.seq != expected:
            ctx.report.add("chain", f"{name}: records {expected}..{row.seq - 1} are missing", table=name,
                           seq=expected)
            return {}
        if chain.record_hash(previous, row.seq, row.subject, row.action, row.body) != row.hash:
            ctx.report.add("chain", f"{name}: record {row.seq} was changed after it was written", table=name,
                           seq=row.seq)
            return {}
        previous, expected = row.hash, expected + 1
        latest[row.subject] = _digest(row.body)
    return latest


def _compare_bodies(ctx: Context, table: str, latest: dict[str, str], rows: Iterator[tuple[int, str]]) -> None:
    if not latest and chain.count(ctx.conn, chain.CHAINS["finding_log"]) and not ctx.report.ok:
        return  # the chain itself is broken: already reported
    seen: set[str] = set()
    for key, body in rows:
        subject = str(key)
        seen.add(subject)
        recorded = latest.get(subject)
        if recorded is None:
            ctx.report.add("chain", f"{table} row {key} is not in its chain (written outside the platform)",
                           table=table, key=subject)
        elif recorded != _digest(body):
            ctx.report.add("chain", f"{table} row {key} differs from its last recorded change", table=table,
                           key=subject)
    for subject in sorted(set(latest) - seen, key=lambda s: (len(s), s))[:20]:
        ctx.report.add("chain", f"{table} row {subject} was deleted (its chain has it)", table=table, key=subject)


def _digest(body: str) -> str:
    return hashlib.sha256(body.encode()).hexdigest()


# -- external anchor ---------------------------------------------------------------------------------


def check_anchor(ctx: Context) -> None:
    anchor = ctx.anchor or {}
    heads = anchor.get("heads", {})
    found = verification.links_at(ctx.conn, [(s, int(v)) for s, (v, _) in heads.items()])
    for stream, (version, digest) in sorted(heads.items()):
        now = found.get((stream, int(version)))
        if now != digest:
            what = "is gone" if now is None else "has another hash"
            ctx.report.add("anchor", f"stream {stream}: version {version} anchored at {anchor.get('signed_at')} "
                           f"{what} (the log was rewritten)", table="event_links", stream=stream)
    for name, (seq, digest) in sorted(anchor.get("chains", {}).items()):
        table = chain.CHAINS.get(name)
        now = chain.record_at(ctx.conn, table, int(seq)) if table is not None else None
        if now != digest:
            ctx.report.add("anchor", f"{name}: record {seq} anchored at {anchor.get('signed_at')} was rewritten",
                           table=name, seq=seq)
    seq, digest = anchor.get("log", [0, None])
    if seq and verification.event_hash_at(ctx.conn, int(seq)) != digest:
        ctx.report.add("anchor", f"event {seq} anchored at {anchor.get('signed_at')} was rewritten",
                       table="events", seq=seq)


#: The named checks ``verify`` runs, in order. Add a check by appending ``(name, function)``.
def check_audit(ctx: Context) -> None:
    """The audit log's hash chain and head (:func:`battrace.storage.audit.check_chain`): an edited,
    inserted or deleted audit row is reported as ``audit_chain`` / ``audit_head``."""
    found = audit_db.check_chain(ctx.conn)
    for problem in found.problems:
        ctx.report.add(problem["kind"], problem["message"], table="audit_log", audit_id=problem["id"])


def check_cases(ctx: Context) -> None:
    """Supervision cases: each case's hash-chained steps (:func:`battrace.services.cases.check_case_chains`)."""
    from battrace.services.cases import check_case_chains

    check_case_chains(ctx.conn, ctx.report.add)


def check_aggregates(ctx: Context) -> None:
    """The aggregates kept as events arrive (:data:`battrace.storage.schema.AGGREGATES`: the
    statistics' and the dashboard's) against a recount from the log and the read models: every key
    whose sum over the slots differs is named (``aggregate``), with both figures."""
    from battrace.services.counts import RETIREMENT_TYPES

    pairs: list[tuple[str, dict[tuple[str, ...], Any], dict[tuple[str, ...], Any]]] = []
    expected, found = counts_db.recount(ctx.conn, RETIREMENT_TYPES), counts_db.stored(ctx.conn)
    pairs += [(t, expected[t], found[t]) for t in expected]
    pairs += [(t, dashboard_db.recount(ctx.conn, t), dashboard_db.stored(ctx.conn, t)) for t in dashboard_db.TABLES]
    for table, want, have in pairs:
        for key in sorted(set(want) | set(have)):
            if want.get(key) != have.get(key):
                ctx.report.add("aggregate", f"{table} {'/'.join(key)}: counted {have.get(key, 0)}, "
                               f"recounted from the log {want.get(key, 0)}", table=table, key=list(key))


CHECKS: list[tuple[str, Check]] = [
    ("events", check_events),
    ("streams", check_streams),
    ("chains", check_chains),
    ("audit", check_audit),
    ("cases", check_cases),
    ("aggregates", check_aggregates),
    ("anchor", check_anchor),
]


def verified_at(report: VerifyReport, now: datetime) -> dict[str, Any]:
    d = report.as_dict()
    d["verified_at"] = now.isoformat()
    return d

