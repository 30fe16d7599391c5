"""Identifiers of the simulated world: credit codes, VINs and GB/T 34014 battery codes.

Battery codes are made unique without shared counters: the 7-character traceability field holds
the pack number in base 36 (every pack, spare and swap-stock pack has its own number), and the
serial holds the index of the module or cell within that pack. A re-made product's 17-character
code has no traceability field, so its serial carries the source pack number and product index.
"""

from __future__ import annotations

import random
from datetime import date, timedelta

from battrace.domain.codes import tables
from battrace.domain.credit import ALPHABET, with_check_char
from battrace.domain.vin import with_check_digit

B36 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
#: ISO 3779 model-year characters.
VIN_YEAR = {2016: "G", 2017: "H", 2018: "J", 2019: "K", 2020: "L", 2021: "M", 2022: "N", 2023: "P",
            2024: "R", 2025: "S", 2026: "T", 2027: "V", 2028: "W", 2029: "X", 2030: "Y"}
_VIN_CHARS = "0123456789ABCDEFGHJKLMNPRSTUVWXYZ"


def base36(n: int, width: int) -> str:
    out = []
    for _ in range(width):
        n, r = divmod(n, 36)
        out.append(B36[r])
    if n:
        raise ValueError(f"number too large for {width} base-36 characters")
    return "".join(reversed(out))


def credit_code(rng: random.Random, region: str, used: set[str]) -> str:
    """A fresh unified social credit code registered in ``region`` (enterprise, ``91`` prefix)."""
    while True:
        first = "91" + region[:2] + f"{rng.randint(1, 30):02d}00" + "".join(rng.choice(ALPHABET) for _ in range(9))
        code = with_check_char(first)
        if code not in used:
            used.add(code)
            return code


def vin(wmi: str, vds: str, year: int, index: int) -> str:
    """A VIN with a valid check digit; ``index`` (< 33 million) makes it unique for the maker."""
    plant = _VIN_CHARS[(index // 1_000_000) % len(_VIN_CHARS)]
    raw = wmi + vds + "0" + VIN_YEAR[year] + plant + f"{index % 1_000_000:06d}"
    return with_check_digit(raw)


def code_day(day: date) -> date:
    """The production day as a code can carry it: day 31 has no character, so it becomes the 30th."""
    return day - timedelta(days=1) if day.day == 31 else day


class CodeFactory:
    """Fast GB/T 34014 code building (``build_code`` validates each code; this one is for millions)."""

    def __init__(self) -> None:
        t = tables()
        self._year = {v: k for k, v in t.years.items()}
        self._month = {v: k for k, v in t.months.items()}
        self._day = {v: k for k, v in t.days.items()}
        self._dates: dict[date, str] = {}

    def date_chars(self, day: date) -> str:
        text = self._dates.get(day)
        if text is None:
            year_base = (day.year - 2011) % 30 + 2011
            text = self._dates[day] = self._year[year_base] + self._month[day.month] + self._day[day.day]
        return text

    def code(self, maker: str, level: str, btype: str, spec: str, pack_no: int, day: date, serial: int) -> str:
        return maker + level + btype + spec + base36(pack_no, 7) + self.date_chars(day) + f"{serial:07d}"

    def remade(self, maker: str, btype: str, spec: str, day: date, serial: int) -> str:
        """A 17-character re-made product code."""
        return maker + "P" + btype + spec + self.date_chars(day) + base36(serial, 7)
