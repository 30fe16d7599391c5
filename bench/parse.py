"""Benchmark: ``parse_event`` per event on a realistic mix (a ``battrace simulate`` events.jsonl).

Usage: python bench/parse.py EVENTS.jsonl [PASSES]   (default 9 passes; the best pass's CPU time)

CPU time (``time.process_time``) rather than wall time, so that a loaded machine disturbs the
figure less; the caches of valid battery codes and VINs are emptied before each pass, so only the
re-use within the mix counts.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from battrace.domain import checks
from battrace.domain.events import parse_event


def main(path: str, passes: int = 9) -> None:
    raws = []
    with Path(path).open(encoding="utf-8") as f:
        for line in f:
            event = json.loads(line)
            event.pop("recorded_at", None)
            raws.append(event)
    best = float("inf")
    for _ in range(passes):
        checks._VALID_CODES.clear()
        checks._VALID_VINS.clear()
        start = time.process_time()
        for raw in raws:
            parse_event(raw)
        best = min(best, time.process_time() - start)
    print(f"{len(raws):,} events: {best / len(raws) * 1e6:.2f} µs/event (best of {passes} passes, CPU time)")


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 9)
