"""BMS telemetry: GB/T 32960-style frames → the early-warning monitor → stored alarms.

One :class:`TelemetryService` per platform (``platform.telemetry``) holds one
:class:`battrace.domain.alarms.Monitor`; the API, the MQTT subscriber and ``battrace telemetry
ingest`` all feed it through :meth:`TelemetryService.ingest`, which per batch

1. checks each frame (:func:`battrace.interop.bms_frames.normalise_frame`: a bad frame is rejected on
   its own, naming the field; the rest go on);
2. resolves a VIN to the pack bound to it (vehicles read model) and takes the chemistry from the
   battery's code; a caller other than the platform must be the battery's maker or the vehicle's maker;
3. feeds the frames to the monitor in time order;
4. stores the alarms raised (table ``alarms``) and moves ``last_at`` of alarms whose condition lasts,
   in one transaction.

Frames carry insulation resistance as ``insulation_kohm`` (what GB/T 32960 transmits, kΩ) or
``insulation_ohm``. The monitor's state lives in memory: after a restart, a lasting condition is
raised again as a new alarm and a late frame is not recognised as late.
"""

from __future__ import annotations

import json
import math
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection

from battrace import clock
from battrace.clock import CHINA
from battrace.domain.access import Caller
from battrace.domain.alarms import Alarm, AlarmConfig, Monitor
from battrace.domain.state import VehicleState
from battrace.errors import BattraceError, Conflict, Forbidden, UnknownBattery, UnknownVehicle
from battrace.interop.bms_frames import EARLIEST_YEAR, MAX_VALUES, bad_frame, normalise_frame
from battrace.storage import alarms as alarms_db
from battrace.storage.store import Store

#: Rejections listed in full in a report (the count is always complete).
MAX_LISTED_REJECTIONS = 100
RESPONSE_WINDOWS = {"within_7_days": timedelta(days=7), "within_1_day": timedelta(days=1),
                    "stop_at_once": timedelta(0)}
#: Frames more than this ahead of the platform's clock are refused (one would make every later real
#: frame of its battery look late); frames before EARLIEST_YEAR are refused by the frame parser.
FUTURE_TOLERANCE = timedelta(minutes=5)


# --------------------------------------------------------------------------- reports


@dataclass
class TelemetryReport:
    frames: int = 0
    accepted: int = 0
    rejected: int = 0
    late: int = 0
    extended: int = 0
    alarms: list[dict[str, Any]] = field(default_factory=list)
    rejections: list[dict[str, Any]] = field(default_factory=list)

    def reject(self, index: int, exc: BattraceError) -> None:
        self.rejected += 1
        if len(self.rejections) < MAX_LISTED_REJECTIONS:
            self.rejections.append({"frame": index, "code": exc.code, "message": exc.message})

    def merge(self, other: TelemetryReport) -> None:
        self.frames += other.frames
        self.accepted += other.accepted
        self.late += other.late
        self.extended += other.extended
        self.alarms.extend(other.alarms)
        self.rejected += other.rejected
        room = MAX_LISTED_REJECTIONS - len(self.rejections)
        self.rejections.extend(other.rejections[:max(room, 0)])

    def as_dict(self) -> dict[str, Any]:
        return {"frames": self.frames, "accepted": self.accepted, "rejected": self.rejected, "late": self.late,
                "extended": self.extended, "alarms": self.alarms, "rejections": self.rejections}


def respond_by(first_at: datetime, response: str) -> datetime:
    """The time by which a response is due: 7 days, 1 day, or at once after the first frame."""
    return first_at + RESPONSE_WINDOWS.get(response, timedelta(0))


# --------------------------------------------------------------------------- resolution


@dataclass(frozen=True, slots=True)
class _Vehicle:
    version: int
    packs: tuple[str, ...]
    maker: str
    region: str | None


@dataclass(frozen=True, slots=True)
class _Battery:
    code: str
    maker: str | None
    vin: str | None
    chemistry: str


#: (vin, battery maker, vehicle maker, vehicle region) of a battery, for the alarms it raises.
_Context = tuple[str | None, str | None, str | None, str | None]


class TelemetryService:
    """Frames in, alarms stored. Thread-safe: one batch at a time."""

    def __init__(self, store: Store, *, config: AlarmConfig | None = None, now: Any = clock.now) -> None:
        self.store = store
        self.now = now
        self.monitor = Monitor(config, strict=False)
        self._lock = threading.Lock()
        self._vehicles: dict[str, _Vehicle] = {}
        self._stored: dict[tuple[str, str], tuple[datetime, datetime]] = {}

    # -- resolution ----------------------------------------------------------------------------

    def _vehicle_info(self, conn: Connection, vins: set[str]) -> dict[str, _Vehicle]:
        """Vehicles by VIN (cached per read-model version; only changed ones are re-read)."""
        if not vins:
            return {}
        versions = {vin: version for vin, version in alarms_db.lookup(conn, "vin, version", "vehicles", "vin", vins)}
        stale = [vin for vin, ver in versions.items() if (c := self._vehicles.get(vin)) is None or c.version != ver]
        if stale:
            for vin, (state, version, _head) in self.store.get_vehicles(conn, stale).items():
                self._vehicles[vin] = _vehicle(state, version)
        return {vin: self._vehicles[vin] for vin in versions if vin in self._vehicles}

    def _battery_info(self, conn: Connection, codes: set[str]) -> dict[str, _Battery]:
        rows = alarms_db.lookup(conn, "code, maker, vin, chemistry", "batteries", "code", codes) if codes else []
        return {code: _Battery(code, maker, vin, chemistry) for code, maker, vin, chemistry in rows}

    def _resolve(
        self, frames: list[tuple[int, dict[str, Any]]], caller: Caller | None, report: TelemetryReport,
        context: dict[str, _Context],
    ) -> list[dict[str, Any]]:
        with self.store.reader() as conn:
            vins = {f["vin"] for _, f in frames if "battery" not in f}
            vehicles = self._vehicle_info(conn, vins)
            codes = {f["battery"] for _, f in frames if "battery" in f}
            for vin in vins:
                veh = vehicles.get(vin)
                if veh is not None and len(veh.packs) == 1:
                    codes.add(veh.packs[0])
            batteries = self._battery_info(conn, codes)
            bound = {b.vin for b in batteries.values() if b.vin} - set(vehicles)
            vehicles.update(self._vehicle_info(conn, bound))
        out: list[dict[str, Any]] = []
        for index, f in frames:
            try:
                out.append(self._resolve_one(f, vehicles, batteries, caller, context))
            except BattraceError as exc:
                report.reject(index, exc)
        return out

    def _resolve_one(
        self, f: dict[str, Any], vehicles: dict[str, _Vehicle], batteries: dict[str, _Battery],
        caller: Caller | None, context: dict[str, _Context],
    ) -> dict[str, Any]:
        code = f.get("battery")
        if code is None:
            vin = f["vin"]
            veh = vehicles.get(vin)
            if veh is None:
                raise UnknownVehicle(f"unknown vehicle {vin}", vin=vin)
            if len(veh.packs) != 1:
                raise Conflict(
                    f"vehicle {vin} has {len(veh.packs)} packs bound: name the pack in 'battery'", vin=vin
                )
            code = veh.packs[0]
        bat = batteries.get(code)
        if bat is None:
            raise UnknownBattery(f"unknown battery {code}", battery=code)
        vin = bat.vin or f.get("vin")
        veh = vehicles.get(bat.vin) if bat.vin else None
        vehicle_maker = veh.maker if veh else None
        if caller is not None and not caller.admin and caller.org not in (bat.maker, vehicle_maker):
            raise Forbidden(
                f"{code}: only its battery maker or vehicle maker may report its BMS data", battery=code
            )
        context[code] = (vin, bat.maker, vehicle_maker, veh.region if veh else None)
        f["battery"] = code
        f["chemistry"] = bat.chemistry
        return f

    # -- ingest --------------------------------------------------------------------------------

    def ingest(self, frames: Iterable[Any], *, caller: Caller | None = None, source: str = "api") -> TelemetryReport:
        """Check, resolve, evaluate and store a batch of frames; ``caller=None`` is the platform itself."""
        report = TelemetryReport()
        checked: list[tuple[int, dict[str, Any]]] = []
        latest = self.now() + FUTURE_TOLERANCE
        for index, raw in enumerate(frames):
            report.frames += 1
            try:
                f = normalise_frame(raw, index)
                if f["time"] > latest:
                    raise bad_frame(index, f"'time' {f['time'].isoformat()} lies ahead of the platform's clock", "time")
                checked.append((index, f))
            except BattraceError as exc:
                report.reject(index, exc)
        if not checked:
            return report
        context: dict[str, _Context] = {}
        with self._lock:
            ready = self._resolve(checked, caller, report, context)
            ready.sort(key=lambda f: f["time"])
            before = self.monitor.stats["out_of_order"]
            alarms = self.monitor.feed(ready)
            report.accepted = len(ready)
            report.late = self.monitor.stats["out_of_order"] - before
            extended = self._extended({f["battery"] for f in ready}, alarms)
            report.extended = len(extended)
            self._store(alarms, extended, source, context)
        report.alarms = [alarm_view(a) for a in alarms]
        return report

    def check_offline(self, as_of: datetime, *, source: str = "check") -> list[dict[str, Any]]:
        """Raise and store ``long_offline`` alarms for batteries silent past their limit at ``as_of``."""
        with self._lock:
            alarms = self.monitor.check_offline(as_of)
            self._store(alarms, [], source, {})
        return [alarm_view(a) for a in alarms]

    def _extended(self, batteries: set[str], new: list[Alarm]) -> list[Alarm]:
        """Stored alarms whose condition lasted into this batch (their episode's ``last_at`` moved on).

        Alarms raised in this batch are brought up to their episode's latest ``last_at`` in place."""
        fresh = {(a.battery, a.hazard, a.first_at): i for i, a in enumerate(new)}
        out = []
        for code in batteries:
            for ep in self.monitor.episodes(code):
                i = fresh.get((ep.battery, ep.hazard, ep.first_at))
                if i is not None:
                    if ep.last_at > new[i].last_at:
                        new[i] = ep
                    continue
                stored = self._stored.get((ep.battery, ep.hazard))
                if stored is not None and stored[0] == ep.first_at and ep.last_at > stored[1]:
                    out.append(ep)
        return out

    def _store(self, new: list[Alarm], extended: list[Alarm], source: str, context: dict[str, _Context]) -> None:
        if not new and not extended:
            return
        now = self.now()
        with self.store.writer() as conn:
            if new:
                rows = []
                for al in new:
                    vin, maker, vehicle_maker, region = context.get(al.battery) or self._context_of(conn, al.battery)
                    rows.append({
                        "battery": al.battery, "vin": vin, "hazard": al.hazard, "level": al.level,
                        "response": al.response, "first_at": al.first_at, "last_at": al.last_at, "raised_at": now,
                        "evidence": json.dumps(_jsonable(dict(al.evidence)), ensure_ascii=False, sort_keys=True),
                        "maker": maker, "vehicle_maker": vehicle_maker,
                        "region": region or self._org_region(conn, vehicle_maker or maker), "source": source[:16],
                    })
                alarms_db.upsert(conn, rows)
            if extended:
                alarms_db.extend(conn, [(e.battery, e.hazard, e.first_at, e.last_at) for e in extended])
        for al in [*new, *extended]:
            self._stored[(al.battery, al.hazard)] = (al.first_at, al.last_at)

    def _context_of(self, conn: Connection, code: str) -> _Context:
        """(vin, maker, vehicle maker, vehicle region) of a battery not in the current batch."""
        bat = self._battery_info(conn, {code}).get(code)
        if bat is None:
            return (None, None, None, None)
        veh = self._vehicle_info(conn, {bat.vin}).get(bat.vin) if bat.vin else None
        return (bat.vin, bat.maker, veh.maker if veh else None, veh.region if veh else None)

    def _org_region(self, conn: Connection, org: str | None) -> str | None:
        if org is None:
            return None
        return alarms_db.org_region(conn, org)


def _vehicle(state: VehicleState, version: int) -> _Vehicle:
    return _Vehicle(version, state.packs, state.maker, state.region)


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, datetime):
        return value.isoformat()
    return value


def alarm_view(a: Alarm) -> dict[str, Any]:
    """An alarm as the API shows one just raised (with the required response time)."""
    d = a.as_dict()
    d["evidence"] = _jsonable(d["evidence"])
    d["respond_by"] = respond_by(a.first_at, a.response).astimezone(CHINA).isoformat()
    return d


def telemetry_for(platform: Any) -> TelemetryService:
    """The platform's one telemetry service (``platform.telemetry``; kept for callers of this name)."""
    service: TelemetryService = platform.telemetry
    return service


__all__ = ["EARLIEST_YEAR", "FUTURE_TOLERANCE", "MAX_VALUES", "TelemetryReport", "TelemetryService",
           "list_alarms", "normalise_frame", "respond_by", "telemetry_for"]


# --------------------------------------------------------------------------- queries


def _row_view(r: Any) -> dict[str, Any]:
    first: datetime = r.first_at
    return {
        "id": r.id, "battery": r.battery, "vin": r.vin, "hazard": r.hazard, "level": r.level,
        "response": r.response, "respond_by": respond_by(first, r.response).astimezone(CHINA).isoformat(),
        "first_at": first.astimezone(CHINA).isoformat(), "last_at": r.last_at.astimezone(CHINA).isoformat(),
        "raised_at": r.raised_at.astimezone(CHINA).isoformat(), "evidence": json.loads(r.evidence),
        "region": r.region, "source": r.source,
    }


def list_alarms(
    store: Store,
    *,
    battery: str | None = None,
    org: str | None = None,
    region_prefix: str | None = None,
    hazard: str | None = None,
    min_level: int | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int = 100,
    offset: int = 0,
) -> list[dict[str, Any]]:
    """Stored alarms, newest first. ``org`` keeps those of batteries it made or whose vehicle it made;
    ``region_prefix`` those within a jurisdiction; ``until`` those raised by then (digital ID ``at=``)."""
    with store.reader() as conn:
        rows = alarms_db.select_alarms(conn, battery=battery, org=org, region_prefix=region_prefix, hazard=hazard,
                                       min_level=min_level, since=since, until=until, limit=limit, offset=offset)
    return [_row_view(r) for r in rows]
