"""The dashboard's aggregates, kept in step with the log and the read models in the ingest transaction.

:func:`count_batch` runs from :func:`battrace.services.counts.count_batch` (the ledger's one hook),
over the batch's accepted events only (a duplicate or a rejected event changes nothing):

- ``reporter_counts``: one per accepted event, for its reporter (the reporting league);
- ``flow_counts``: each hand-over's batteries by sender and receiver, in all and those already
  waste when handed over (``waste_since`` at or before the hand-over, as the read model says
  *now*). A battery becomes waste once and for good, but a late report may make it waste before a
  hand-over that is already counted: then its earlier hand-overs are looked up (by its links) and
  recounted, before and after the batch, so the figures equal a recount at every moment;
- ``installation_counts``: the packs of each ``vehicle.certified`` event by the region where the
  vehicle is registered (its read model's, which a sale changes: then its packs move) and year.

So the dashboard's flows, league and forecast read a few thousand rows whatever the size of the log.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import Connection

from battrace.domain.state import BatteryState, VehicleState
from battrace.storage import dashboard
from battrace.storage.dashboard import CERTIFIED, HAND_OVER

if TYPE_CHECKING:
    from battrace.services.ledger import Accepted, BatchWorld


def _is_waste(state: BatteryState | None) -> bool:
    return state is not None and state.waste and bool(state.waste_since)


def _waste_at(state: BatteryState | None, at: datetime) -> bool:
    """Whether the battery (as ``state`` says) was waste when handed over at ``at``."""
    if state is None or not _is_waste(state):
        return False
    return datetime.fromisoformat(str(state.waste_since).replace("Z", "+00:00")) <= at


def _installation_key(v: VehicleState) -> dashboard.InstallationKey:
    return (v.region or "", "" if v.region else v.maker, (v.certified_at or "")[:4])


def _flows(conn: Connection, accepted: list[Accepted], world: BatchWorld) -> dict[dashboard.FlowKey, list[int]]:
    deltas: dict[dashboard.FlowKey, list[int]] = {}

    def add(key: dashboard.FlowKey, *values: int) -> None:
        row = deltas.setdefault(key, [0, 0, 0, 0])
        for i, v in enumerate(values):
            row[i] += v

    def after(code: str) -> BatteryState | None:
        return world.battery(code)

    def before(code: str) -> BatteryState | None:
        if code in world.before_batteries:
            entry = world.before_batteries[code]
            return entry[0] if entry else None
        return world.battery(code)  # not changed by this batch

    batch = {a.seq for a in accepted}
    # batteries that became waste in this batch: their earlier hand-overs may now count as waste flows
    became = [code for code, entry in world.before_batteries.items()
              if entry is not None and not _is_waste(entry[0]) and _is_waste(after(code))]
    for a in accepted:
        if a.event.type != HAND_OVER:
            continue
        e = a.event
        codes = list(e.fields.get("batteries") or ())
        world.prefetch_batteries(codes)
        known = [c for c in codes if after(c) is not None]
        waste = sum(_waste_at(after(c), e.occurred_at) for c in known)
        if known:
            add((e.reporter, e.fields.get("to") or ""), len(known), 1, waste, 1 if waste else 0)
    if became:
        earlier = [h for h in dashboard.handovers_of(conn, became) if h[0] not in batch]
        # Another writer may be recounting the same hand-over for another of its batteries: take the
        # hand-overs' locks, then read the batteries this batch did not change afresh (what that
        # writer committed), so that a hand-over is counted once.
        dashboard.lock_handovers(conn, (h[0] for h in earlier))
        others = {c for h in earlier for c in h[4] if c not in world.before_batteries}
        fresh = {c: entry[0] for c, entry in world.store.get_batteries(conn, sorted(others)).items()}

        def current(code: str) -> BatteryState | None:
            return after(code) if code in world.before_batteries else fresh.get(code)

        def previous(code: str) -> BatteryState | None:
            return before(code) if code in world.before_batteries else fresh.get(code)

        for _seq, sender, receiver, at, codes in earlier:
            was = sum(_waste_at(previous(c), at) for c in codes)
            now = sum(_waste_at(current(c), at) for c in codes)
            if now != was:
                add((sender, receiver), 0, 0, now - was, (1 if now else 0) - (1 if was else 0))
    return deltas


def _installations(conn: Connection, accepted: list[Accepted], world: BatchWorld) -> Counter[dashboard.InstallationKey]:
    deltas: Counter[dashboard.InstallationKey] = Counter()
    certified = {a.event.fields["vin"]: len(a.event.fields.get("batteries") or ())
                 for a in accepted if a.event.type == CERTIFIED}
    moved: list[tuple[VehicleState, VehicleState]] = []
    for vin, entry in world.before_vehicles.items():
        now = world.vehicles.get(vin)
        if now is None:
            continue
        if entry is None:
            if vin in certified:
                deltas[_installation_key(now[0])] += certified[vin]
        elif _installation_key(entry[0]) != _installation_key(now[0]):
            moved.append((entry[0], now[0]))
    if moved:
        packs = dashboard.certified_packs(conn, (v.vin for v, _ in moved))
        for was, now_state in moved:
            n = packs.get(was.vin, 0)
            deltas[_installation_key(was)] -= n
            deltas[_installation_key(now_state)] += n
    return deltas


def count_batch(conn: Connection, accepted: list[Accepted], world: BatchWorld) -> None:
    """Add the batch's changes to the dashboard's aggregates (in the caller's transaction)."""
    if not accepted:
        return
    flows = _flows(conn, accepted, world)  # first: it may wait for another writer's recount
    dashboard.add_reporters(conn, Counter(a.event.reporter for a in accepted))
    dashboard.add_flows(conn, {k: (v[0], v[1], v[2], v[3]) for k, v in flows.items()})
    dashboard.add_installations(conn, _installations(conn, accepted, world))

