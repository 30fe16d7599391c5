"""Benchmark: BMS frames evaluated per second on one core by ``battrace.domain.alarms.Monitor``.

Usage: .venv/bin/python bench/alarms.py [BATTERIES] [FRAMES_PER_BATTERY] [CELLS]
       (defaults 1,000 batteries × 200 frames × 96 cells, 16 temperature probes = 200,000 frames)

Frames are built first (not timed): 10-second GB/T 32960 reporting, alternating charge and
drive, with ~1 % of batteries carrying a hazard (hot probe, low insulation, a sampling fault or a
wide cell spread). Timed: ``Monitor.feed`` over all frames, fed in batches of 1,000 in time
order. Peak memory: Python allocations (tracemalloc) during a second, untimed pass, i.e. the
monitor's state plus one batch, and the process's peak RSS.
"""

from __future__ import annotations

import random
import resource
import sys
import time
import tracemalloc
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from battrace.domain.alarms import Monitor  # noqa: E402


def make_frames(batteries: int, per_battery: int, cells: int, seed: int = 7) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    start = datetime(2026, 5, 1, tzinfo=UTC)
    ids = [f"07HPE01{i:010d}G56{i % 10_000_000:07d}"[:24] for i in range(batteries)]
    faulty = {
        b: rng.choice(("hot", "insulation", "sampling", "spread")) for b in rng.sample(ids, max(1, batteries // 100))
    }
    frames = []
    for k in range(per_battery):
        charging = (k // 50) % 2 == 0
        t = start + timedelta(seconds=10 * k)
        for b in ids:
            base = 3.60 + rng.random() * 0.02
            cv = [base + rng.random() * 0.02 for _ in range(cells)]
            temps = [28.0 + rng.random() * 3 for _ in range(16)]
            ins = 5.0e6
            kind = faulty.get(b)
            if kind == "hot" and k > 100:
                temps[3] = min(66.0, 30.0 + 0.5 * (k - 100))  # slow rise: hazard, not runaway
            elif kind == "insulation" and k % 20 == 0:
                ins = 20_000.0
            elif kind == "sampling":
                cv[10], cv[11] = base + 0.31, base - 0.29
            elif kind == "spread" and charging:
                cv[5] = base - 0.6
            frames.append(
                {
                    "battery": b,
                    "time": t,
                    "soc": 50.0,
                    "voltage": sum(cv),
                    "current": -80.0 if charging else 40.0,
                    "cell_voltages": cv,
                    "temperatures": temps,
                    "insulation_ohm": ins,
                    "alarm_level": 0,
                    "alarm_flags": 0,
                    "chemistry": "NCM",
                }
            )
    return frames


def main() -> None:
    batteries = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000
    per_battery = int(sys.argv[2]) if len(sys.argv) > 2 else 200
    cells = int(sys.argv[3]) if len(sys.argv) > 3 else 96
    frames = make_frames(batteries, per_battery, cells)
    batches = [frames[i : i + 1000] for i in range(0, len(frames), 1000)]

    monitor = Monitor()
    alarms: Counter[str] = Counter()
    start = time.perf_counter()
    for batch in batches:
        alarms.update(a.hazard for a in monitor.feed(batch))
    elapsed = time.perf_counter() - start

    tracemalloc.start()
    again = Monitor()
    for batch in batches:
        again.feed(batch)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    rss_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    print(f"frames: {len(frames):,} ({batteries:,} batteries × {per_battery} frames, {cells} cells, 16 probes)")
    print(f"alarms raised: {sum(alarms.values()):,} {dict(sorted(alarms.items()))}")
    print(f"time: {elapsed:.2f} s  →  {len(frames) / elapsed:,.0f} frames/s on one core")
    print(f"peak Python allocations during feed (monitor state + one batch): {peak / 2**20:.1f} MiB")
    print(f"peak RSS of the process (includes the pre-built frames): {rss_mib:.0f} MiB")


if __name__ == "__main__":
    main()
