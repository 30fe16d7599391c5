"""Folding the log into read models: the one code ``verify`` compares with and ``rebuild`` writes.

The log is walked link by link in ``(stream, version)`` order
(:func:`battrace.storage.verification.links_with_events`). Each stream's links are checked (versions
contiguous, each link recomputed from the previous one), each stored event is loaded as stored
(:func:`battrace.domain.upcasting.stored_event`: upcast from its schema version, trusted rather
than validated again) and folded (:func:`battrace.domain.lifecycle.evolve_battery`,
:func:`~battrace.domain.lifecycle.evolve_vehicle`, :func:`~battrace.domain.integrity.techinfo_document`).
:func:`expected_row` is the read-model row the ledger writes for a fold.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any, Protocol

from battrace.domain.events import Event
from battrace.domain.integrity import techinfo_document
from battrace.domain.lifecycle import evolve_battery, evolve_vehicle
from battrace.domain.state import BatteryState, VehicleState
from battrace.domain.upcasting import stored_event
from battrace.errors import BattraceError
from battrace.services.ledger import link_hash
from battrace.storage.documents import document_json
from battrace.storage.store import GENESIS

#: Read-model columns the fold decides, per table (besides the key, version, head, last_seq and doc).
BATTERY_COLUMNS = ("level", "chemistry", "maker", "model", "state", "custodian", "vin", "parent", "remade", "waste")
VEHICLE_COLUMNS = ("maker", "state", "swap_model")
#: Each read model's key column.
KEYS = {"batteries": "code", "vehicles": "vin", "techinfo": "stream"}


class Problem(Protocol):
    def __call__(self, kind: str, message: str, **context: Any) -> None: ...


@dataclass
class StreamFold:
    """One stream folded from the log."""

    stream: str
    version: int = 0
    head: str = GENESIS
    last_seq: int = 0
    links: int = 0
    state: Any = None
    broken: bool = False


def step(stream: str, state: Any, event: Event) -> Any:
    """One event folded into the state of ``stream``."""
    if stream.startswith("vin:"):
        return evolve_vehicle(state, event)
    if stream.startswith("techinfo:"):
        return techinfo_document(event)
    return evolve_battery(state, event, stream)


def fold_streams(rows: Iterable[Any], problem: Problem,
                 on_event: Callable[[int, Event], None] | None = None) -> Iterator[StreamFold]:
    """Fold every stream of ``rows`` (links with their events, in ``(stream, version)`` order), yielding
    each stream when its last link is read. A missing event or link, a broken chain or an event
    that cannot be loaded or folded is reported through ``problem`` and marks the stream broken
    (its later links are counted, not folded). ``on_event(seq, event)`` sees every folded event
    (once per stream it is in)."""
    fold: StreamFold | None = None
    for row in rows:
        if fold is None or row.stream != fold.stream:
            if fold is not None:
                yield fold
            fold = StreamFold(row.stream)
        fold.links += 1
        if fold.broken:
            continue
        if row.event_hash is None:
            problem("missing_event", f"stream {fold.stream}: event {row.seq} is missing", table="events",
                    stream=fold.stream, seq=row.seq)
            fold.broken = True
            continue
        if row.version != fold.version + 1:
            problem("missing_link", f"stream {fold.stream}: versions {fold.version + 1}..{row.version - 1} "
                    "are missing", table="event_links", stream=fold.stream, seq=row.seq)
            fold.broken = True
            continue
        if link_hash(fold.head, row.event_hash) != row.hash:
            problem("chain", f"stream {fold.stream}: the chain breaks at event {row.seq}", table="event_links",
                    stream=fold.stream, seq=row.seq)
            fold.broken = True
            continue
        fold.version, fold.head, fold.last_seq = row.version, row.hash, row.seq
        try:
            event = stored_event(row.type, row.schema_version, row.body)
            fold.state = step(fold.stream, fold.state, event)
        except (BattraceError, ValueError, TypeError, KeyError, RecursionError) as exc:
            problem("fold", f"stream {fold.stream}: event {row.seq} cannot be folded ({exc})",
                    table="events", stream=fold.stream, seq=row.seq)
            fold.broken = True
            continue
        if on_event is not None:
            on_event(row.seq, event)
    if fold is not None:
        yield fold


def table_of(stream: str) -> tuple[str, str]:
    """The read model of a stream and its key there."""
    if stream.startswith("vin:"):
        return "vehicles", stream[4:]
    if stream.startswith("techinfo:"):
        return "techinfo", stream
    return "batteries", stream


def expected_row(table: str, fold: StreamFold) -> dict[str, Any]:
    """The read-model row (without its key) the ledger writes for the fold of a stream."""
    row: dict[str, Any] = {"version": fold.version, "head": fold.head, "last_seq": fold.last_seq}
    state = fold.state
    if table == "batteries" and isinstance(state, BatteryState):
        row.update({c: getattr(state, c) for c in BATTERY_COLUMNS}, doc=document_json(state))
    elif table == "vehicles" and isinstance(state, VehicleState):
        row.update({c: getattr(state, c) for c in VEHICLE_COLUMNS}, doc=document_json(state))
    elif table == "techinfo" and isinstance(state, dict):
        row.update(maker=state.get("maker", ""), model=state.get("model", ""), doc=document_json(state))
    return row


def lineage_of(seq: int, event: Event) -> list[tuple[str, str, int]]:
    """The lineage rows ``(product, source, seq)`` an event adds (a remanufacturing's sources)."""
    if event.type != "battery.remanufactured":
        return []
    return [(event.fields["product"], source, seq) for source in event.fields["sources"]]
