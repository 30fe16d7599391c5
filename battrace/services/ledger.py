"""Ingest: the one path by which every event reaches the log (CLI, API, EPCIS capture, demo).

Events are processed in order, in transactions of ``batch_size``. Each event is on its own
``accepted``, ``duplicate`` or ``rejected``: a rejected event leaves nothing behind but its
rejection in the report. Per batch: take the writer lock, load what the batch touches, decide each
event against an in-memory overlay of the world, then append the accepted events, their hash-chain
links and the updated read models in the same transaction.

Hashes: an event's hash is ``sha256(seq | recorded_at | imported | canonical content)``; each
stream (a battery, ``vin:<VIN>``, ``techinfo:<maker>:<model>``) chains its events with
``link = sha256(previous link | event hash)``. A battery's history therefore verifies on its own and
the log can later be sharded by stream.
"""

from __future__ import annotations

import gc
import multiprocessing
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from hashlib import sha256
from operator import itemgetter
from typing import Any, Protocol

from sqlalchemy import Connection

from battrace import clock
from battrace.domain.events import EVENT_VERSIONS, Event, parse_event, parse_time
from battrace.domain.integrity import Decision, decide
from battrace.domain.limits import FUTURE_TOLERANCE, check_moment
from battrace.domain.orgs import Org
from battrace.domain.state import BatteryState, VehicleState
from battrace.errors import (
    BattraceError,
    EventIdConflict,
    InvalidEvent,
    StorageError,
    UnprocessableEvent,
    WriteConflict,
)
from battrace.interop.jsonl import decode_line
from battrace.services.counts import count_batch
from battrace.storage.documents import document_json
from battrace.storage.store import GENESIS, Store

DEFAULT_BATCH = 2000
_LINK_ORDER = itemgetter("stream", "version")
#: Attempts at a batch that lost to a concurrent writer; the last one excludes other writers.
MAX_ATTEMPTS = 4
#: An ingest that appends at least this many events refreshes the database's planner statistics,
#: again each time it has doubled that count, and at its end (autovacuum may be off or behind).
BULK_LOAD = 50_000


def time_text(moment: datetime) -> str:
    """The canonical UTC text of a platform timestamp (what the hash covers):
    ``YYYY-MM-DDTHH:MM:SS.ffffffZ`` (``isoformat``: the text ``strftime`` gave, at two thirds of its cost)."""
    return moment.astimezone(UTC).isoformat(timespec="microseconds")[:-6] + "Z"


def event_hash(seq: int, recorded_at: datetime, imported: bool, body: str) -> str:
    return sha256(f"{seq}|{time_text(recorded_at)}|{int(imported)}|{body}".encode()).hexdigest()


def link_hash(previous: str, event_digest: str) -> str:
    return sha256((previous + event_digest).encode()).hexdigest()


@dataclass(slots=True)
class Outcome:
    line: int | None
    event_id: str | None
    status: str  # accepted | duplicate | rejected
    code: str | None = None
    message: str | None = None
    seq: int | None = None
    hash: str | None = None
    context: dict[str, Any] | None = None

    def as_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"line": self.line, "event_id": self.event_id, "status": self.status}
        if self.status == "rejected":
            d.update(code=self.code, message=self.message, context=self.context or {})
        else:
            d.update(seq=self.seq, hash=self.hash)
        return d


@dataclass
class IngestReport:
    outcomes: list[Outcome] = field(default_factory=list)
    #: Outcomes counted but not kept (``ingest(..., keep_outcomes=False)``), by status.
    tally: dict[str, int] = field(default_factory=dict)

    def count(self, status: str) -> int:
        return self.tally.get(status, 0) + sum(1 for o in self.outcomes if o.status == status)

    @property
    def accepted(self) -> int:
        return self.count("accepted")

    @property
    def duplicate(self) -> int:
        return self.count("duplicate")

    @property
    def rejected(self) -> int:
        return self.count("rejected")

    def as_dict(self, *, outcomes: bool = False) -> dict[str, Any]:
        d: dict[str, Any] = {
            "accepted": self.accepted,
            "duplicate": self.duplicate,
            "rejected": self.rejected,
            "rejections": [
                {"line": o.line, "event_id": o.event_id, "code": o.code, "message": o.message}
                for o in self.outcomes
                if o.status == "rejected"
            ],
        }
        if outcomes:
            d["outcomes"] = [o.as_dict() for o in self.outcomes]
        return d


@dataclass(frozen=True, slots=True)
class Accepted:
    """An event that was appended, with what it changed (handed to observers)."""

    seq: int
    event: Event
    decision: Decision
    recorded_at: datetime
    imported: bool
    hash: str


class Observer(Protocol):
    """Runs inside the ingest transaction after a batch is appended (e.g. the compliance engine)."""

    def after_append(self, conn: Connection, accepted: list[Accepted], world: BatchWorld) -> None: ...


class BatchWorld:
    """The world as one batch sees it: the database plus the batch's own accepted changes."""

    def __init__(self, store: Store, conn: Connection, orgs: dict[str, Org]) -> None:
        self.store = store
        self.conn = conn
        self.orgs = orgs
        self.maker_codes = {code: o for o in orgs.values() for code in o.manufacturer_codes}
        self.batteries: dict[str, tuple[BatteryState, int, str] | None] = {}
        self.vehicles: dict[str, tuple[VehicleState, int, str] | None] = {}
        self.techinfo: dict[str, tuple[dict[str, Any], int, str] | None] = {}
        self.dirty_batteries: set[str] = set()
        self.dirty_vehicles: set[str] = set()
        self.dirty_techinfo: set[str] = set()
        self.last_seq: dict[str, int] = {}
        #: Each changed battery's entry before this batch (None: new), for the statistics' counts.
        self.before_batteries: dict[str, tuple[BatteryState, int, str] | None] = {}
        #: Each changed vehicle's entry before this batch (None: new), for the dashboard's counts.
        self.before_vehicles: dict[str, tuple[VehicleState, int, str] | None] = {}

    # World protocol
    def org(self, credit_code: str) -> Org | None:
        return self.orgs.get(credit_code)

    def maker_of_code(self, manufacturer_code: str) -> Org | None:
        return self.maker_codes.get(manufacturer_code)

    def battery(self, code: str) -> BatteryState | None:
        if code not in self.batteries:
            self.prefetch_batteries([code])
        entry = self.batteries[code]
        return entry[0] if entry else None

    def vehicle(self, vin: str) -> VehicleState | None:
        if vin not in self.vehicles:
            self.prefetch_vehicles([vin])
        entry = self.vehicles[vin]
        return entry[0] if entry else None

    def prefetch_batteries(self, codes: Iterable[str]) -> None:
        missing = [c for c in set(codes) if c not in self.batteries]
        if missing:
            found = self.store.get_batteries(self.conn, missing)
            for c in missing:
                self.batteries[c] = found.get(c)

    def prefetch_vehicles(self, vins: Iterable[str]) -> None:
        missing = [v for v in set(vins) if v not in self.vehicles]
        if missing:
            found = self.store.get_vehicles(self.conn, missing)
            for v in missing:
                self.vehicles[v] = found.get(v)
            self.prefetch_batteries(p for entry in found.values() for p in entry[0].packs)

    def head(self, stream: str) -> tuple[int, str]:
        if stream.startswith("vin:"):
            entry: Any = self.vehicles.get(stream[4:])
        elif stream.startswith("techinfo:"):
            if stream not in self.techinfo:
                self.techinfo[stream] = self.store.get_techinfo(self.conn, [stream]).get(stream)
            entry = self.techinfo[stream]
        else:
            entry = self.batteries.get(stream)
        return (entry[1], entry[2]) if entry else (0, GENESIS)

    def set_heads(self, heads: dict[str, str]) -> None:
        """Give the touched read models their final chain heads (known once positions are drawn)."""
        for stream, head in heads.items():
            if stream.startswith("vin:"):
                entry: Any = self.vehicles.get(stream[4:])
                if entry is not None:
                    self.vehicles[stream[4:]] = (entry[0], entry[1], head)
            elif stream.startswith("techinfo:"):
                entry = self.techinfo.get(stream)
                if entry is not None:
                    self.techinfo[stream] = (entry[0], entry[1], head)
            else:
                entry = self.batteries.get(stream)
                if entry is not None:
                    self.batteries[stream] = (entry[0], entry[1], head)

    def apply(self, decision: Decision, heads: dict[str, tuple[int, str]], seq: int) -> None:
        for stream in heads:
            self.last_seq[stream] = seq
        for code, state in decision.batteries.items():
            if code not in self.before_batteries:
                self.battery(code)  # loaded from the database if the decision did not look at it
                self.before_batteries[code] = self.batteries[code]
            version, head = heads[code]
            self.batteries[code] = (state, version, head)
            self.dirty_batteries.add(code)
        for vin, vstate in decision.vehicles.items():
            if vin not in self.before_vehicles:
                self.vehicle(vin)  # loaded from the database if the decision did not look at it
                self.before_vehicles[vin] = self.vehicles[vin]
            version, head = heads[f"vin:{vin}"]
            self.vehicles[vin] = (vstate, version, head)
            self.dirty_vehicles.add(vin)
        for stream in decision.extra_streams:
            version, head = heads[stream]
            self.techinfo[stream] = (decision.techinfo or {}, version, head)
            self.dirty_techinfo.add(stream)


class Ledger:
    """The ingest service."""

    def __init__(
        self,
        store: Store,
        *,
        observers: list[Observer] | None = None,
        now: Callable[[], datetime] = clock.now,
        batch_size: int = DEFAULT_BATCH,
    ) -> None:
        self.store = store
        self.observers = observers if observers is not None else []
        self.now = now
        self.batch_size = batch_size
        #: Batches decided again because a concurrent writer changed one of their streams first.
        self.retries = 0

    def ingest(
        self,
        items: Iterable[tuple[int | None, Any]],
        *,
        import_history: bool = False,
        progress: Callable[[int], None] | None = None,
        keep_outcomes: bool = True,
        parse_workers: int = 0,
    ) -> IngestReport:
        """Ingest ``(line, raw_event)`` pairs in order; ``raw_event`` may also be a parse error, or the
        undecoded bytes of a JSON Lines line (decoded, or refused, on that line).

        ``keep_outcomes=False`` keeps only the rejections and counts the rest, so that memory stays
        flat however long the stream (a file of millions of events).

        ``parse_workers=N`` decodes and validates the batches in ``N`` worker processes, a few batches
        ahead of this one, which decides and writes them in order (see :func:`_parse_ahead`).
        """
        report = IngestReport()
        next_refresh, appended = BULK_LOAD, 0
        batches = _batches(items, self.batch_size)
        prepared_batches = (_parse_ahead(batches, parse_workers, import_history, self.now) if parse_workers > 0
                            else (prepare(batch, import_history, self.now()) for batch in batches))
        for prepared in prepared_batches:
            with _cyclic_gc_paused():
                outcomes = self._ingest_isolated(prepared, import_history)
            if keep_outcomes:
                appended += sum(1 for o in outcomes if o.status == "accepted")
                report.outcomes.extend(outcomes)
            else:
                tally = report.tally
                for o in outcomes:
                    if o.status == "rejected":
                        report.outcomes.append(o)
                    else:
                        tally[o.status] = tally.get(o.status, 0) + 1
                        appended += o.status == "accepted"
            if progress:
                progress(len(prepared))
            if appended >= next_refresh:  # as the tables double, not only at the end
                self.store.refresh_statistics()
                next_refresh *= 2
        if appended >= BULK_LOAD:
            self.store.refresh_statistics()
        return report

    def _ingest_isolated(self, batch: list[Prepared], import_history: bool) -> list[Outcome]:
        """One batch, so that one event cannot sink its neighbours: when the batch's transaction
        fails (an observer or the database failing on some event), it is rolled back and retried in
        halves, down to the single event, which is then reported rejected on its line. A single
        event failing on storage (the database gone) still stops the ingest."""
        try:
            return self._ingest_batch(batch, import_history)
        except Exception as exc:
            if len(batch) > 1:
                half = len(batch) // 2
                return (self._ingest_isolated(batch[:half], import_history)
                        + self._ingest_isolated(batch[half:], import_history))
            if isinstance(exc, StorageError):
                raise
            line, event_id, _, _ = batch[0]
            err = exc if isinstance(exc, BattraceError) else _unprocessable(exc)
            return [Outcome(line, event_id, "rejected", err.code, err.message, context=err.context)]

    def _ingest_batch(self, batch: list[Prepared], import_history: bool) -> list[Outcome]:
        outcomes: list[Outcome] = []
        parsed: list[tuple[int, Event, datetime]] = []
        for line, event_id, event, recorded in batch:
            if type(event) is tuple:  # refused while parsing: (code, message, context)
                outcomes.append(Outcome(line, event_id, "rejected", event[0], event[1], context=event[2]))
                continue
            assert isinstance(event, Event) and recorded is not None
            parsed.append((len(outcomes), event, recorded))
            outcomes.append(Outcome(line, event_id, "pending"))
        if not parsed:
            return outcomes
        for attempt in range(1, MAX_ATTEMPTS + 1):
            if attempt > 1:  # a lost attempt's decisions are forgotten
                for index, event, _ in parsed:
                    outcomes[index] = Outcome(outcomes[index].line, event.event_id, "pending")
            try:
                with self.store.ledger_writer(exclusive=attempt == MAX_ATTEMPTS) as conn:
                    self._decide_and_append(conn, parsed, outcomes, import_history)
                return outcomes
            except WriteConflict:
                if attempt == MAX_ATTEMPTS:
                    raise
                self.retries += 1
        raise AssertionError("unreachable")  # pragma: no cover

    def _decide_and_append(self, conn: Connection, parsed: list[tuple[int, Event, datetime]],
                           outcomes: list[Outcome], import_history: bool) -> None:
        """Decide each event against the batch's view of the world, then give the accepted ones their
        log positions and hashes, and append them with their links and the read models.

        Positions are drawn after the decisions, for the accepted events only: on PostgreSQL from a
        sequence, without a lock (see :meth:`Store.ledger_writer`)."""
        orgs = self.store.load_orgs(conn)
        world = BatchWorld(self.store, conn, orgs)
        existing = self.store.find_events(conn, [(e.reporter, e.event_id) for _, e, _ in parsed])
        world.prefetch_batteries(c for _, e, _ in parsed for c in e.codes())
        world.prefetch_vehicles(e.fields["vin"] for _, e, _ in parsed if "vin" in e.fields)
        seen: dict[tuple[str, str], tuple[str, Outcome]] = {}
        repeats: list[tuple[Outcome, Outcome]] = []
        chosen: list[tuple[Outcome, Event, datetime, str, Decision, list[tuple[str, int]]]] = []
        base: dict[str, str] = {}  # each touched stream's head before this batch
        for index, event, recorded in parsed:
            out = outcomes[index]
            body = event.canonical
            key = (event.reporter, event.event_id)
            prior = seen.get(key)
            stored = prior[0] if prior else existing.get(key)
            if stored is not None:
                if stored == body:
                    out.status = "duplicate"
                    if prior:  # a repeat within the batch shows the first one's position (drawn below)
                        repeats.append((out, prior[1]))
                    continue
                err: BattraceError = EventIdConflict(
                    f"{event.type}: event_id {event.event_id!r} was already reported by {event.reporter} "
                    "with different content",
                    event_id=event.event_id, reporter=event.reporter,
                )
                out.status, out.code, out.message, out.context = "rejected", err.code, err.message, err.context
                continue
            try:
                decision = decide(event, world)
            except Exception as exc:
                refused = exc if isinstance(exc, BattraceError) else _unprocessable(exc)
                out.status, out.code, out.message = "rejected", refused.code, refused.message
                out.context = refused.context
                continue
            versions: list[tuple[str, int]] = []
            heads: dict[str, tuple[int, str]] = {}
            for stream in decision.streams:
                version, head = world.head(stream)
                base.setdefault(stream, head)
                versions.append((stream, version + 1))
                heads[stream] = (version + 1, "")  # the hash follows once the event has its position
            world.apply(decision, heads, 0)
            seen[key] = (body, out)
            out.status = "accepted"
            chosen.append((out, event, recorded, body, decision, versions))
        # positions, hashes and links, in decision order
        rows_events: list[dict[str, Any]] = []
        rows_links: list[dict[str, Any]] = []
        rows_lineage: list[dict[str, Any]] = []
        accepted: list[Accepted] = []
        heads_now = dict(base)
        for seq, (out, event, recorded, body, decision, versions) in zip(
                self.store.next_seqs(conn, len(chosen)), chosen, strict=True):
            digest = event_hash(seq, recorded, import_history, body)
            for stream, version in versions:
                heads_now[stream] = link = link_hash(heads_now[stream], digest)
                rows_links.append({"stream": stream, "version": version, "seq": seq, "hash": link})
                world.last_seq[stream] = seq
            rows_events.append({
                "seq": seq, "reporter": event.reporter, "event_id": event.event_id, "type": event.type,
                "occurred_at": event.occurred_at, "recorded_at": recorded, "imported": import_history,
                "body": body, "hash": digest, "schema_version": EVENT_VERSIONS[event.type],
            })
            if decision.lineage:
                rows_lineage.extend({"product": p, "source": s, "seq": seq} for p, s in decision.lineage)
            out.seq, out.hash = seq, digest
            accepted.append(Accepted(seq, event, decision, recorded, import_history, digest))
        world.set_heads(heads_now)
        for out, first in repeats:
            out.seq, out.hash = first.seq, first.hash
        rows_links.sort(key=_LINK_ORDER)  # one lock order for every writer
        batteries = [_battery_row(code, world) for code in sorted(world.dirty_batteries)]
        self.store.append(
            conn,
            rows_events,
            rows_links,
            batteries,
            [_vehicle_row(vin, world) for vin in sorted(world.dirty_vehicles)],
            rows_lineage,
            [_techinfo_row(stream, world) for stream in sorted(world.dirty_techinfo)],
            new_batteries={code for code in world.dirty_batteries if base.get(code) == GENESIS},
        )
        for observer in self.observers:
            observer.after_append(conn, accepted, world)
        count_batch(conn, accepted, world)  # the regulators' aggregates, in the same transaction


#: One item of a batch once parsed: ``(line, event_id, event, recorded_at)``, or for an item refused
#: on its own ``(line, event_id, (code, message, context), None)`` (plain values: a worker process
#: sends them back through a pipe).
Prepared = tuple[int | None, str | None, Event | tuple[str, str, dict[str, Any]], datetime | None]


def prepare(batch: Sequence[tuple[int | None, Any]], import_history: bool, now: datetime) -> list[Prepared]:
    """Decode and validate each item of a batch on its own (what needs no database): in this process,
    or in a worker process of :func:`_parse_ahead`."""
    out: list[Prepared] = []
    for line, raw in batch:
        if type(raw) is bytes:
            raw = decode_line(line or 0, raw)
        event_id = raw.get("event_id") if isinstance(raw, dict) else None
        try:
            event, recorded = _parse(raw, import_history, now)
        except Exception as exc:  # a refusal, or a failure on this event alone: reported on its line
            refusal = exc if isinstance(exc, BattraceError) else _unprocessable(exc)
            out.append((line, event_id if isinstance(event_id, str) else None,
                        (refusal.code, refusal.message, refusal.context), None))
            continue
        out.append((line, event.event_id, event, recorded))
    return out


def _parse(raw: Any, import_history: bool, now: datetime) -> tuple[Event, datetime]:
    if isinstance(raw, BattraceError):
        raise raw
    event = parse_event(raw)
    check_moment(event.occurred_at, "occurred_at", now=now, event_type=event.type,
                 text=event.content["occurred_at"])
    if import_history:
        if "recorded_at" not in raw:
            raise InvalidEvent(
                f"{event.type}: field 'recorded_at' is required with --import-history", field="recorded_at"
            )
        recorded = parse_time(raw["recorded_at"], "recorded_at", event.type)
        check_moment(recorded, "recorded_at", now=now, event_type=event.type, text=raw["recorded_at"])
        if recorded < event.occurred_at:
            raise InvalidEvent(
                f"{event.type}: recorded_at {raw['recorded_at']} is before occurred_at", field="recorded_at"
            )
        if recorded > now + FUTURE_TOLERANCE:
            raise InvalidEvent(f"{event.type}: recorded_at is in the future", field="recorded_at")
    else:
        recorded = now
    if event.occurred_at > recorded + FUTURE_TOLERANCE:
        raise InvalidEvent(
            f"{event.type}: occurred_at {event.content['occurred_at']} lies after the time it was recorded",
            field="occurred_at",
        )
    return event, recorded


def _unprocessable(exc: BaseException) -> BattraceError:
    """A failure on one event as its rejection (the type and message, never a traceback)."""
    return UnprocessableEvent(f"the platform could not process this event ({type(exc).__name__}: {exc})"[:300],
                              error=type(exc).__name__)


def _battery_row(code: str, world: BatchWorld) -> dict[str, Any]:
    entry = world.batteries[code]
    assert entry is not None
    s, version, head = entry
    return {
        "code": code, "level": s.level, "chemistry": s.chemistry, "maker": s.maker, "model": s.model,
        "state": s.state, "custodian": s.custodian, "vin": s.vin, "parent": s.parent, "remade": s.remade,
        "waste": s.waste, "version": version, "head": head, "last_seq": world.last_seq[code], "doc": document_json(s),
    }


def _vehicle_row(vin: str, world: BatchWorld) -> dict[str, Any]:
    entry = world.vehicles[vin]
    assert entry is not None
    v, version, head = entry
    return {"vin": vin, "maker": v.maker, "state": v.state, "swap_model": v.swap_model, "version": version,
            "head": head, "last_seq": world.last_seq[f"vin:{vin}"], "doc": document_json(v)}


def _techinfo_row(stream: str, world: BatchWorld) -> dict[str, Any]:
    entry = world.techinfo[stream]
    assert entry is not None
    doc, version, head = entry
    return {"stream": stream, "maker": doc.get("maker", ""), "model": doc.get("model", ""), "version": version,
            "head": head, "last_seq": world.last_seq[stream], "doc": document_json(doc)}


@contextmanager
def _cyclic_gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector for one batch.

    A batch allocates tens of thousands of short-lived, acyclic objects (rows, states, documents),
    all freed by reference counting; the collector would otherwise run hundreds of times per batch
    and, once a report holds many outcomes, walk all of them (a fifth of the ingest CPU time).
    Cycles made meanwhile (an exception's traceback) are collected after the batch.
    """
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def _parse_ahead(batches: Iterator[list[tuple[int | None, Any]]], workers: int, import_history: bool,
                 now: Callable[[], datetime]) -> Iterator[list[Prepared]]:
    """The batches run through :func:`prepare` in ``workers`` processes, in order, at most ``2 × workers + 1``
    batches ahead of the caller (memory stays flat).

    Each batch is sent with ``now`` as read when it is sent (a few batches before it is decided;
    only the "not in the future" checks and, outside ``import_history``, ``recorded_at`` use it,
    and it still increases from batch to batch). The workers run the pure validation only: the
    events come back as values, and every decision against the database is taken here, in order.
    Items are best given as undecoded JSON Lines bytes: a line pickles for the pipe at a tenth of
    the cost of its decoded object.
    """
    ctx = multiprocessing.get_context("spawn")  # no copy of this process's connections in the workers
    with ProcessPoolExecutor(max_workers=workers, mp_context=ctx) as pool:
        ahead: deque[Future[list[Prepared]]] = deque()
        try:
            for batch in batches:
                ahead.append(pool.submit(prepare, batch, import_history, now()))
                if len(ahead) > 2 * workers:
                    yield ahead.popleft().result()
            while ahead:
                yield ahead.popleft().result()
        finally:
            for future in ahead:
                future.cancel()


def _batches(items: Iterable[tuple[int | None, Any]], size: int) -> Iterator[list[tuple[int | None, Any]]]:
    batch: list[tuple[int | None, Any]] = []
    for item in items:
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch

