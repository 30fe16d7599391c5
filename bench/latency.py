"""Latency percentiles as the benchmarks print them: nearest rank, in milliseconds.

One definition for every bench (``python bench/NAME.py`` puts this folder first on ``sys.path``),
so that a p99 in one bench's table means what it means in another's.
"""

from __future__ import annotations

import statistics


def quantile(ordered: list[float], q: float) -> float:
    """The ``q`` quantile of sorted values (nearest rank)."""
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def percentiles(samples: list[float], *, digits: int = 3, with_max: bool = False) -> dict[str, float]:
    """p50, p95, p99 and mean of ``samples`` (seconds) in milliseconds, and their number (``{}``
    when there are none); ``with_max`` adds the largest."""
    if not samples:
        return {}
    ordered = sorted(samples)
    out = {f"p{round(q * 100)}_ms": round(quantile(ordered, q) * 1000, digits) for q in (0.50, 0.95, 0.99)}
    if with_max:
        out["max_ms"] = round(ordered[-1] * 1000, digits)
    return {**out, "mean_ms": round(statistics.fmean(ordered) * 1000, digits), "n": len(ordered)}
