"""Benchmark: events generated per second by the world simulator (one core, files written).

Usage: python bench/simulate.py [PACKS] [--no-cells]   (default 20,000 packs with modules and cells)
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

from battrace.services.simulate import SimulationParams, simulate


def main(argv: list[str]) -> None:
    args = [a for a in argv if not a.startswith("--")]
    packs = int(args[0]) if args else 20_000
    params = SimulationParams(packs=packs, seed=1, with_cells="--no-cells" not in argv)
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        result = simulate(params, Path(tmp))
        elapsed = time.perf_counter() - start
    s = result.summary
    print(f"packs={packs:,} cells={params.with_cells} events={s['events']:,} ({s['events_per_pack']} per pack)")
    size = s["bytes"]["events.jsonl"] / 1e6
    print(f"{elapsed:.1f} s  {s['events'] / elapsed:,.0f} events/s  events.jsonl {size:.0f} MB")


if __name__ == "__main__":
    main(sys.argv[1:])
