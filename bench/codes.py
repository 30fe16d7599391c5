"""Benchmark: GB/T 34014 codes parsed and validated per second on one core.

Usage: python bench/codes.py [N]   (default N = 1,000,000)
"""

from __future__ import annotations

import random
import sys
import time
from datetime import date, timedelta

from battrace.domain.codes import build_code, parse_code
from battrace.domain.credit import is_valid_credit_code, with_check_char
from battrace.domain.vin import is_valid_vin, with_check_digit


def make_codes(n: int, seed: int = 7) -> list[str]:
    rng = random.Random(seed)
    alnum = "0123456789ABCDEFGHJKLMNPRSTVWXY"
    base = date(2018, 1, 1)
    distinct = [
        build_code(
            "".join(rng.choices(alnum, k=3)), rng.choice("PMC"), rng.choice("BE"), "01",
            base + timedelta(days=rng.randrange(3000)), rng.randrange(10**7),
            trace="".join(rng.choices(alnum, k=7)),
        )
        for _ in range(min(n, 50_000))
    ]
    return [distinct[i % len(distinct)] for i in range(n)]


def rate(label: str, fn, items: list[str]) -> None:  # type: ignore[no-untyped-def]
    start = time.perf_counter()
    for item in items:
        fn(item)
    elapsed = time.perf_counter() - start
    print(f"{label:<34} n={len(items):>9,}  {len(items) / elapsed:>12,.0f} /s  ({elapsed:.2f} s)")


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    codes = make_codes(n)
    rng = random.Random(3)
    vins = [with_check_digit("".join(rng.choices("0123456789ABCDEFGHJKLMNPRSTUVWXYZ", k=17))) for _ in range(n // 10)]
    credits = [
        with_check_char("91" + "".join(rng.choices("0123456789", k=6))
                        + "".join(rng.choices("0123456789ABCDEFGH", k=9)))
        for _ in range(n // 10)
    ]
    print(f"python {sys.version.split()[0]}, one core")
    rate("GB/T 34014 parse + validate", parse_code, codes)
    rate("VIN validate", is_valid_vin, vins)
    rate("credit code validate", is_valid_credit_code, credits)


if __name__ == "__main__":
    main()
