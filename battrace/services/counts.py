"""The regulator statistics' aggregates, kept in step with the read models in the ingest transaction.

:func:`count_batch` is the ledger's one hook: for every battery a batch changed it moves one count
from the battery's bucket before the batch to its bucket after (level, state, chemistry, the
holder's region), and counts retirement events by month and reporter's region. A module or cell in
a pack is counted in the bucket the pack gives it (:mod:`battrace.domain.wholelife`), so when a batch
changes a pack's or module's fate, custodian, maker or parent, its components (read by parent,
unchanged themselves) move too (:func:`battery_moves`). So ``/api/v1/stats`` (every level) and the
dashboard read a few hundred rows whatever the size of the log.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol

from sqlalchemy import Connection

from battrace.domain.deadlines import china_date
from battrace.domain.orgs import Org
from battrace.domain.state import BatteryState
from battrace.domain.wholelife import followed_state
from battrace.services import dashboard_counts
from battrace.storage import counts, dashboard
from battrace.storage.store import Store

if TYPE_CHECKING:
    from battrace.services.ledger import Accepted, BatchWorld

RETIREMENT_TYPES = ("battery.removed", "battery.replaced")


class _Row(Protocol):
    """What a bucket reads of a battery: a :class:`BatteryState` or a :class:`_Component`."""

    @property
    def level(self) -> str: ...
    @property
    def state(self) -> str: ...
    @property
    def chemistry(self) -> str: ...
    @property
    def maker(self) -> str | None: ...
    @property
    def custodian(self) -> str | None: ...
    @property
    def parent(self) -> str | None: ...


class _Component(NamedTuple):
    code: str
    level: str
    chemistry: str
    state: str
    maker: str | None
    custodian: str | None
    parent: str | None


def bucket(own: _Row, orgs: Mapping[str, Org], get: Callable[[str], _Row | None] | None = None) -> counts.BatteryKey:
    """The bucket ``own`` is counted in: (level, state, chemistry, holder's region). A component in a
    parent shows its outermost ancestor's fate (:mod:`battrace.domain.wholelife`), read through
    ``get``: the same expressions as the live count (:func:`battrace.storage.reporting.statistics`)."""
    state, holder = own.state, own.custodian or own.maker
    if own.parent is not None and get is not None:
        p1 = get(own.parent)
        p2 = get(p1.parent) if p1 is not None and p1.parent is not None else None
        root = p2 or p1
        effect = followed_state(root.state) if root is not None else None
        state = effect or own.state
        holder = ((p2.custodian if p2 else None) or (p1.custodian if p1 else None) or (p2.maker if p2 else None)
                  or (p1.maker if p1 else None) or own.maker)
    org = orgs.get(holder or "")
    return (own.level, state, own.chemistry, (org.region if org else None) or "")


def _reach(s: _Row | None) -> tuple[str | None, str | None, str | None, str | None] | None:
    """What of a battery its components' buckets depend on."""
    return None if s is None else (followed_state(s.state), s.custodian, s.maker, s.parent)


def battery_moves(conn: Connection, world: BatchWorld) -> Counter[counts.BatteryKey]:
    """The batch's moves between buckets: each battery it changed, and each component (up to two
    levels down) of a pack or module whose fate, custodian, maker or parent it changed, from its
    bucket before the batch to its bucket after. The components are read from the table by parent
    (the rows written by this batch: a component the batch did not change has the same row before
    and after; one it did is in ``before_batteries``)."""
    before = world.before_batteries
    moves: Counter[counts.BatteryKey] = Counter()
    reaching = [code for code, entry in before.items()
                if entry is not None and entry[0].level != "C"
                and _reach(entry[0]) != _reach(_state(world.batteries.get(code)))]
    found: dict[str, _Component] = {}
    if reaching:
        for row in counts.components_of(conn, reaching):
            found[row[0]] = _Component(*row)
        modules = [c.code for c in found.values() if c.level == "M"]
        if modules:
            for row in counts.components_of(conn, modules):
                found[row[0]] = _Component(*row)

    def load(code: str) -> _Row | None:
        if code in found:
            return found[code]
        return world.battery(code)  # unchanged by the batch (or changed: then in world.batteries)

    def get_before(code: str) -> _Row | None:
        if code in before:
            return _state(before[code])
        return load(code)

    def get_after(code: str) -> _Row | None:
        if code in world.batteries:
            return _state(world.batteries[code])
        return load(code)

    orgs = world.orgs
    for code, entry in before.items():
        if entry is not None:
            moves[bucket(entry[0], orgs, get_before)] -= 1
        after = _state(world.batteries.get(code))
        if after is not None:
            moves[bucket(after, orgs, get_after)] += 1
    for code, component in found.items():
        if code not in before:  # a component the batch did not change moves with its ancestors
            moves[bucket(component, orgs, get_before)] -= 1
            moves[bucket(component, orgs, get_after)] += 1
    return moves


def _state(entry: tuple[BatteryState, int, str] | None) -> BatteryState | None:
    return entry[0] if entry is not None else None


def count_batch(conn: Connection, accepted: list[Accepted], world: BatchWorld) -> None:
    """Add the batch's changes to the aggregates (in the caller's transaction)."""
    if not accepted:
        return
    moves = battery_moves(conn, world)
    retired: Counter[counts.RetirementKey] = Counter()
    for a in accepted:
        if a.event.type in RETIREMENT_TYPES:
            reporter = world.orgs.get(a.event.reporter)
            region = (reporter.region if reporter else None) or ""
            retired[(china_date(a.event.occurred_at).strftime("%Y-%m"), region)] += 1
    counts.add_battery_counts(conn, moves)
    counts.add_retirement_counts(conn, retired)
    dashboard_counts.count_batch(conn, accepted, world)  # the dashboard's flows, league and forecast


def rebuild_counts(store: Store, conn: Connection | None = None, *, dashboard_too: bool = True) -> None:
    """Recount from the read models and the log (``battrace rebuild``; after organisations changed
    region, ``dashboard_too=False``: the dashboard's tables are keyed by organisation, not region)."""
    if conn is not None:
        counts.rebuild(conn, RETIREMENT_TYPES)
        if dashboard_too:
            dashboard.rebuild(conn)
        return
    with store.writer() as own:
        rebuild_counts(store, own, dashboard_too=dashboard_too)


def rebuild_counts_in_parts(store: Store) -> dict[str, float]:
    """What :func:`rebuild_counts` writes, read in parts: ``battery_counts`` one partition of
    ``batteries`` at a time, each recount in its own short read transaction (few locks: a
    transaction over every partition of a partitioned table holds a lock on each partition and each
    of its indexes, and PostgreSQL's shared lock table is sized by ``max_locks_per_transaction``), then
    every aggregate replaced in one transaction that touches the aggregate tables only. For a bulk
    load with no writer running (``bench/scale.py`` after its COPY): a batch committed between two
    parts could be counted in neither or in two. Returns the seconds each stage took."""
    from time import perf_counter

    seconds: dict[str, float] = {}
    t = perf_counter()
    with store.reader() as conn:
        parts = counts.partitions(conn, "batteries")
    figures: counts.Figures = {"battery_counts": {}}
    for part in parts:
        with store.reader() as conn:
            counts.add_figures(figures, {"battery_counts": counts.recount_batteries(conn, part)})
    seconds["battery_counts"] = perf_counter() - t
    t = perf_counter()
    with store.reader() as conn:
        figures["retirement_counts"] = counts.recount_retirements(conn, RETIREMENT_TYPES)
    seconds["retirement_counts"] = perf_counter() - t
    board: dict[str, dict[tuple[str, ...], tuple[int, ...]]] = {}
    for table in dashboard.TABLES:
        t = perf_counter()
        with store.reader() as conn:
            board[table] = dashboard.recount(conn, table)
        seconds[table] = perf_counter() - t
    t = perf_counter()
    with store.writer() as conn:
        counts.write(conn, figures)
        for table, rows in board.items():
            dashboard.write(conn, table, rows)
    seconds["write"] = perf_counter() - t
    return {k: round(v, 3) for k, v in seconds.items()}


__all__: list[Any] = ["count_batch", "rebuild_counts", "rebuild_counts_in_parts", "bucket", "RETIREMENT_TYPES"]
