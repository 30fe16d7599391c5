"""Benchmark: BMS frames per second through the telemetry service, in process and over HTTP.

Usage::

    python bench/telemetry.py [VEHICLES] [FRAMES_PER_VEHICLE] [--http-frames N] [--batch N] [--cells N]
                              [--pg URL] [--json]

Defaults: 1,000 vehicles × 100 frames = 100,000 frames in process, 20,000 over HTTP, batches of
1,000, 96 cells and 16 temperature probes a frame, ~1 % of vehicles with a hazard (a hot probe,
low insulation in kΩ, a sampling fault or a wide spread while charging). Every frame names its
vehicle by VIN, so the VIN → bound pack resolution (vehicles read model, one query per batch)
is part of what is timed.

Set-up (not timed): a fresh SQLite database (or ``--pg``) with one battery maker, one vehicle maker
and VEHICLES packs certified in vehicles and sold, through the ledger; frames built in memory.

1. **in process**: ``TelemetryService.ingest`` over all frames in batches (checking, resolution,
   the monitor, storing alarms).
2. **HTTP**: the app under uvicorn in a subprocess on 127.0.0.1 (a fresh monitor, the same
   database), ``POST /api/v1/telemetry`` with the vehicle maker's key, one batch per request,
   bodies encoded before timing. Client and server share the machine's cores.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from battrace.config import Settings  # noqa: E402
from battrace.domain.codes import build_code  # noqa: E402
from battrace.domain.credit import with_check_char  # noqa: E402
from battrace.domain.vin import with_check_digit  # noqa: E402
from battrace.services.access import create_key  # noqa: E402
from battrace.services.orgs import import_orgs  # noqa: E402
from battrace.services.platform import Platform  # noqa: E402
from battrace.services.telemetry import TelemetryReport, TelemetryService  # noqa: E402

NOW = datetime(2026, 11, 20, tzinfo=UTC)
BATTERY_MAKER = with_check_char("91440300MA0000001")
VEHICLE_MAKER = with_check_char("91440300MA0000002")
ORGS = [
    {"credit_code": BATTERY_MAKER, "name": "Bench Cells", "type": "battery_maker", "region": "350900",
     "manufacturer_codes": ["07H"]},
    {"credit_code": VEHICLE_MAKER, "name": "Bench Motors", "type": "vehicle_maker", "region": "440300"},
]


def vin(i: int) -> str:
    return with_check_digit(f"LGXCE4CB0R{i:07d}")


def pack(i: int) -> str:
    return build_code("07H", "P", "E", "01", date(2024, 3, 5), i, trace="A000001")


def world(platform: Platform, vehicles: int) -> None:
    """Packs produced, certified in vehicles and sold (through the ledger)."""
    import_orgs(platform.store, ORGS, NOW)
    fig = {"model": "X1", "rated_capacity_ah": 150.0, "nominal_voltage_v": 355.2, "rated_energy_kwh": 53.3,
           "mass_kg": 360.0}
    events: list[dict[str, Any]] = []
    for i in range(vehicles):
        events.append({"event_id": f"p-{i}", "type": "battery.produced", "occurred_at": "2024-03-05T09:00:00+08:00",
                       "reporter": BATTERY_MAKER, "battery": pack(i), **fig})
    for i in range(vehicles):
        events.append({"event_id": f"c-{i}", "type": "vehicle.certified", "occurred_at": "2024-03-20T10:00:00+08:00",
                       "reporter": VEHICLE_MAKER, "region": "440300", "vin": vin(i), "vehicle_model": "E1",
                       "swap_model": False, "batteries": [pack(i)], "certificate_no": f"WAB{i:07d}"})
        events.append({"event_id": f"s-{i}", "type": "vehicle.sold", "occurred_at": "2024-04-01T10:00:00+08:00",
                       "reporter": VEHICLE_MAKER, "region": "440300", "vin": vin(i)})
    report = platform.ledger.ingest(enumerate(events, 1))
    assert report.rejected == 0, report.as_dict()["rejections"][:3]


def make_frames(vehicles: int, per_vehicle: int, cells: int, *, start: datetime, seed: int = 7) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    faulty = {v: rng.choice(("hot", "insulation", "sampling", "spread")) for v in rng.sample(range(vehicles),
                                                                                             max(1, vehicles // 100))}
    frames = []
    for k in range(per_vehicle):
        charging = (k // 40) % 2 == 0
        t = (start + timedelta(seconds=10 * k)).isoformat()
        for v in range(vehicles):
            base = 3.60 + rng.random() * 0.02
            cv = [round(base + rng.random() * 0.02, 3) for _ in range(cells)]
            temps = [round(28.0 + rng.random() * 3, 1) for _ in range(16)]
            kohm = 5000.0
            kind = faulty.get(v)
            if kind == "hot" and k > per_vehicle // 2:
                temps[3] = min(64.0, 50.0 + 0.5 * (k - per_vehicle // 2))  # slow rise: a hazard, not runaway
            elif kind == "insulation" and k % 5 == 0:
                kohm = 20.0
            elif kind == "sampling":
                cv[10], cv[11] = base + 0.31, base - 0.29
            elif kind == "spread" and charging:
                cv[5] = base - 0.6
            frames.append({"vin": vin(v), "time": t, "soc": 50.0, "voltage": round(sum(cv), 2),
                           "current": -80.0 if charging else 40.0, "cell_voltages": cv, "temperatures": temps,
                           "insulation_kohm": kohm, "alarm_level": 0, "alarm_flags": 0})
    return frames


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def serve(url: str, port: int) -> None:
    """The server subprocess."""
    import uvicorn

    from battrace.api import create_app

    app = create_app(Platform(Settings(database_url=url)), with_web=False)
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


def in_process(url: str, frames: list[dict[str, Any]], batch: int) -> tuple[float, TelemetryReport]:
    platform = Platform(Settings(database_url=url), now=lambda: NOW)
    service = TelemetryService(platform.store, now=platform.now)
    total = TelemetryReport()
    start = time.perf_counter()
    for i in range(0, len(frames), batch):
        total.merge(service.ingest(frames[i:i + batch], source="bench"))
    elapsed = time.perf_counter() - start
    platform.close()
    return elapsed, total


def over_http(url: str, key: str, frames: list[dict[str, Any]], batch: int) -> tuple[float, Counter[str], int]:
    port = free_port()
    code = f"import sys; sys.path.insert(0, {str(Path(__file__).resolve().parent)!r}); " \
           f"from telemetry import serve; serve({url!r}, {port})"
    server = subprocess.Popen([sys.executable, "-c", code], env={**os.environ, "PYTHONUNBUFFERED": "1"})
    bodies = [json.dumps(frames[i:i + batch]).encode() for i in range(0, len(frames), batch)]
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=120) as client:
            for _ in range(100):
                try:
                    if client.get("/healthz").status_code == 200:
                        break
                except httpx.TransportError:
                    time.sleep(0.1)
            else:
                raise SystemExit("the server did not start")
            alarms: Counter[str] = Counter()
            accepted = 0
            start = time.perf_counter()
            for body in bodies:
                r = client.post("/api/v1/telemetry", content=body, headers=headers)
                r.raise_for_status()
                out = r.json()
                accepted += out["accepted"]
                alarms.update(a["hazard"] for a in out["alarms"])
            elapsed = time.perf_counter() - start
    finally:
        server.terminate()
        server.wait(10)
    return elapsed, alarms, accepted


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("vehicles", nargs="?", type=int, default=1_000)
    ap.add_argument("frames_per_vehicle", nargs="?", type=int, default=100)
    ap.add_argument("--http-frames", type=int, default=20_000, help="frames sent over HTTP (0: skip)")
    ap.add_argument("--batch", type=int, default=1_000)
    ap.add_argument("--cells", type=int, default=96)
    ap.add_argument("--pg", help="a PostgreSQL URL instead of a temporary SQLite file")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        url = args.pg or f"sqlite:///{Path(tmp) / 'bench.db'}"
        platform = Platform(Settings(database_url=url), now=lambda: NOW)
        world(platform, args.vehicles)
        key = create_key(platform.store, VEHICLE_MAKER, NOW)
        platform.close()

        frames = make_frames(args.vehicles, args.frames_per_vehicle, args.cells,
                             start=datetime(2026, 11, 1, tzinfo=UTC))
        elapsed, report = in_process(url, frames, args.batch)
        result: dict[str, Any] = {
            "sizes": {"vehicles": args.vehicles, "frames_per_vehicle": args.frames_per_vehicle,
                      "cells": args.cells, "probes": 16, "batch": args.batch,
                      "database": "postgresql" if args.pg else "sqlite"},
            "in_process": {"frames": report.frames, "accepted": report.accepted, "rejected": report.rejected,
                           "seconds": round(elapsed, 2), "frames_per_s": round(report.frames / elapsed),
                           "alarms": dict(Counter(a["hazard"] for a in report.alarms))},
        }
        if args.http_frames:
            # later frames of the same vehicles: a fresh monitor in the server, nothing late
            http_frames = make_frames(args.vehicles, max(1, args.http_frames // args.vehicles), args.cells,
                                      start=datetime(2026, 11, 10, tzinfo=UTC))
            h_elapsed, h_alarms, accepted = over_http(url, key, http_frames, args.batch)
            result["http"] = {"frames": len(http_frames), "accepted": accepted, "seconds": round(h_elapsed, 2),
                              "frames_per_s": round(len(http_frames) / h_elapsed),
                              "requests_per_s": round(-(-len(http_frames) // args.batch) / h_elapsed, 1),
                              "alarms": dict(h_alarms)}

    if args.json:
        print(json.dumps(result, indent=2))
        return
    s = result["sizes"]
    print(f"sizes: {s['vehicles']:,} vehicles × {s['frames_per_vehicle']} frames, {s['cells']} cells, 16 probes, "
          f"batches of {s['batch']:,}, {s['database']}")
    ip = result["in_process"]
    print(f"in process: {ip['frames']:,} frames in {ip['seconds']} s → {ip['frames_per_s']:,} frames/s "
          f"(rejected {ip['rejected']}); alarms {ip['alarms']}")
    if "http" in result:
        h = result["http"]
        print(f"HTTP:       {h['frames']:,} frames in {h['seconds']} s → {h['frames_per_s']:,} frames/s "
              f"({h['requests_per_s']} requests/s); alarms {h['alarms']}")


if __name__ == "__main__":
    main()
