"""Verify the log: every event's hash, every stream's chain, and the read models against the log.

The walk streams rows from the database (memory stays flat in the size of the log):
1. events in ``seq`` order: positions contiguous from 1, each hash recomputed from the stored
   content, the indexed columns equal to the content;
2. links in ``(stream, version)`` order joined to their events: versions contiguous, each link
   recomputed from the previous one, the stream's last link equal to the read model's head, and the
   read model equal to the fold of the stream.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, func, select

from battrace.domain.events import parse_event, parse_time
from battrace.domain.lifecycle import evolve_battery, evolve_vehicle
from battrace.domain.state import BatteryState, VehicleState
from battrace.services.ledger import event_hash, link_hash
from battrace.storage import schema
from battrace.storage.store import GENESIS, Store

_BUFFER = 2000


@dataclass
class VerifyReport:
    events: int = 0
    streams: int = 0
    links: int = 0
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
                "first_broken": first, "problems": self.problems}


def verify(store: Store, progress: Callable[[int], None] | None = None) -> VerifyReport:
    report = VerifyReport()
    with store.reader() as conn:
        _verify_events(conn, report, progress)
        if progress and report.events % 5000:
            progress(report.events % 5000)
        _verify_streams(store, conn, report)
    return report


def _verify_events(conn: Connection, report: VerifyReport, progress: Callable[[int], None] | None) -> None:
    e = schema.events
    expected = 1
    stmt = select(e).order_by(e.c.seq).execution_options(yield_per=5000)
    for row in conn.execute(stmt):
        report.events += 1
        if progress and report.events % 5000 == 0:
            progress(5000)
        if row.seq != expected:
            report.add("missing_event", f"events {expected}..{row.seq - 1} are missing from the log",
                       seq=expected)
            expected = row.seq
        expected += 1
        digest = event_hash(row.seq, row.recorded_at, row.imported, row.body)
        if digest != row.hash:
            report.add("event_hash", f"event {row.seq} was changed after it was stored (hash mismatch)",
                       seq=row.seq, event_id=row.event_id)
            continue
        try:
            body = json.loads(row.body)
            same = (body["type"], body["reporter"], body["event_id"]) == (row.type, row.reporter, row.event_id)
            same = same and parse_time(body["occurred_at"]) == row.occurred_at
        except (ValueError, KeyError):
            same = False
        if not same:
            report.add("event_columns", f"event {row.seq}: stored columns differ from its content",
                       seq=row.seq, event_id=row.event_id)


def _links(conn: Connection) -> Iterator[Any]:
    lk, e = schema.event_links, schema.events
    stmt = (
        select(lk.c.stream, lk.c.version, lk.c.hash, lk.c.seq, e.c.hash.label("event_hash"), e.c.body)
        .join(e, e.c.seq == lk.c.seq, isouter=True)
        .order_by(lk.c.stream, lk.c.version)
        .execution_options(yield_per=5000)
    )
    yield from conn.execute(stmt)


def _verify_streams(store: Store, conn: Connection, report: VerifyReport) -> None:
    pending: list[tuple[str, int, str, Any]] = []
    stream: str | None = None
    version = 0
    head = GENESIS
    state: Any = None
    broken = False
    for row in _links(conn):
        if row.stream != stream:
            if stream is not None:
                pending.append((stream, version, head, None if broken else state))
                if len(pending) >= _BUFFER:
                    _compare(store, conn, pending, report)
                    pending = []
            stream, version, head, state, broken = row.stream, 0, GENESIS, None, False
            report.streams += 1
        report.links += 1
        if broken:
            continue
        if row.event_hash is None:
            report.add("missing_event", f"stream {stream}: event {row.seq} is missing", stream=stream, seq=row.seq)
            broken = True
            continue
        if row.version != version + 1:
            report.add("missing_link", f"stream {stream}: versions {version + 1}..{row.version - 1} are missing",
                       stream=stream, seq=row.seq)
            broken = True
            continue
        expected = link_hash(head, row.event_hash)
        if expected != row.hash:
            report.add("chain", f"stream {stream}: the chain breaks at event {row.seq}", stream=stream, seq=row.seq)
            broken = True
            continue
        version, head = row.version, row.hash
        state = _step(row.stream, state, row.body)
    if stream is not None:
        pending.append((stream, version, head, None if broken else state))
    _compare(store, conn, pending, report)
    _count_read_models(conn, report)


def _step(stream: str, state: Any, body: str) -> Any:
    event = parse_event(json.loads(body))
    if stream.startswith("vin:"):
        return evolve_vehicle(state, event)
    if stream.startswith("techinfo:"):
        return event.fields
    return evolve_battery(state, event, stream)


def _compare(store: Store, conn: Connection, pending: list[tuple[str, int, str, Any]], report: VerifyReport) -> None:
    codes = [s for s, *_ in pending if ":" not in s]
    vins = [s[4:] for s, *_ in pending if s.startswith("vin:")]
    tech = [s for s, *_ in pending if s.startswith("techinfo:")]
    stored: dict[str, tuple[Any, int, str]] = dict(store.get_batteries(conn, codes))
    stored.update({f"vin:{k}": v for k, v in store.get_vehicles(conn, vins).items()})
    stored.update(store.get_techinfo(conn, tech))
    for stream, version, head, state in pending:
        entry = stored.get(stream)
        if entry is None:
            report.add("read_model", f"{stream}: no read model for a stream in the log", stream=stream)
            continue
        model, model_version, model_head = entry
        if (model_version, model_head) != (version, head):
            report.add("head", f"{stream}: read model is at version {model_version}, the log at {version} "
                       "(an event was removed or added outside the ledger)", stream=stream)
        elif isinstance(state, (BatteryState, VehicleState)) and state != model:
            report.add("read_model", f"{stream}: read model differs from the fold of its events", stream=stream)


def _count_read_models(conn: Connection, report: VerifyReport) -> None:
    b, v, lk = schema.batteries, schema.vehicles, schema.event_links
    models = conn.execute(select(func.count()).select_from(b)).scalar_one()
    models += conn.execute(select(func.count()).select_from(v)).scalar_one()
    streams = conn.execute(
        select(func.count(func.distinct(lk.c.stream))).where(~lk.c.stream.like("techinfo:%"))
    ).scalar_one()
    if models != streams:
        report.add("read_model", f"{models} battery/vehicle read models but {streams} streams in the log")


def verified_at(report: VerifyReport, now: datetime) -> dict[str, Any]:
    d = report.as_dict()
    d["verified_at"] = now.isoformat()
    return d
