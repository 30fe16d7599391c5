"""Retirement forecast: expected pack retirements per province and year.

Packs installed in year ``s`` retire after a service life ``L`` drawn from a Weibull distribution
(``shape`` k, ``scale`` λ in years). Installations are taken to happen mid-year, so the expected
share of a cohort retiring in calendar year ``t`` (age ``a = t − s``) is::

    F(a + ½) − F(max(a − ½, 0)),      F(x) = 1 − exp(−(x/λ)^k)

Default life: k = 3.5, λ = 10 years (mean ≈ 9 years) — a battrace assumption in the range used in
the EV-retirement literature; pass your own :class:`Weibull`.

:func:`check_national` converts the national total to tonnes with a kg-per-pack assumption and
compares it with the published figures in :data:`REFERENCE_FIGURES`.
"""

from __future__ import annotations

import csv
import math
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from battrace.domain.health import InvalidHealthInput


@dataclass(frozen=True, slots=True)
class Weibull:
    shape: float = 3.5
    scale: float = 10.0

    def __post_init__(self) -> None:
        if not (
            math.isfinite(self.shape) and self.shape > 0 and math.isfinite(self.scale) and self.scale > 0
        ):
            raise InvalidHealthInput(
                f"Weibull shape and scale must be positive, got {self.shape}, {self.scale}"
            )

    def cdf(self, years: float) -> float:
        return 0.0 if years <= 0 else 1.0 - math.exp(-((years / self.scale) ** self.shape))

    def retire_share(self, age: int) -> float:
        """Share of a mid-year cohort retiring in calendar year ``install year + age``."""
        if age < 0:
            return 0.0
        return self.cdf(age + 0.5) - self.cdf(max(age - 0.5, 0.0))

    @property
    def mean_years(self) -> float:
        return self.scale * math.gamma(1.0 + 1.0 / self.shape)


@dataclass(frozen=True, slots=True)
class Installation:
    province: str  # GB/T 2260 code, e.g. "110000"
    year: int
    count: float


@dataclass(frozen=True, slots=True)
class Retirement:
    province: str
    year: int
    expected: float

    def as_dict(self) -> dict[str, Any]:
        return {"province": self.province, "year": self.year, "expected": round(self.expected, 1)}


@dataclass(frozen=True, slots=True)
class ReferenceFigure:
    year: int
    kilotonnes: float
    bound: str  # "more than"
    what: str
    source: str


# Published national figures (shared/domain/README.md §1, "Scale" [C]).
REFERENCE_FIGURES: tuple[ReferenceFigure, ...] = (
    ReferenceFigure(
        2025,
        400.0,
        "more than",
        "waste power batteries utilised in 2025",
        "announcement of the 2026 Interim Measures, as summarised in shared/domain/README.md §1",
    ),
    ReferenceFigure(
        2030,
        1000.0,
        "more than",
        "waste power batteries expected a year by 2030",
        "announcement of the 2026 Interim Measures, as summarised in shared/domain/README.md §1",
    ),
)


def _check_installation(i: Installation) -> None:
    if not (i.province and 1900 <= i.year <= 2200 and math.isfinite(i.count) and i.count >= 0):
        raise InvalidHealthInput(f"bad installation row {i!r}", province=i.province, year=i.year)


def forecast(
    installations: Iterable[Installation],
    *,
    life: Weibull | None = None,
    first_year: int | None = None,
    last_year: int | None = None,
) -> list[Retirement]:
    """Expected retirements per (province, year), sorted; years default to first install … last + 15."""
    life = life or Weibull()
    rows = list(installations)
    for r in rows:
        _check_installation(r)
    if not rows:
        return []
    first = first_year if first_year is not None else min(r.year for r in rows)
    last = last_year if last_year is not None else max(r.year for r in rows) + 15
    cohorts: dict[str, dict[int, float]] = defaultdict(lambda: defaultdict(float))
    for r in rows:
        cohorts[r.province][r.year] += r.count
    shares = {a: life.retire_share(a) for a in range(0, last - min(r.year for r in rows) + 1)}
    out = []
    for province in sorted(cohorts):
        for t in range(first, last + 1):
            expected = sum(n * shares.get(t - s, 0.0) for s, n in cohorts[province].items() if s <= t)
            out.append(Retirement(province, t, expected))
    return out


def national_totals(retirements: Iterable[Retirement]) -> dict[int, float]:
    totals: dict[int, float] = defaultdict(float)
    for r in retirements:
        totals[r.year] += r.expected
    return dict(sorted(totals.items()))


@dataclass(frozen=True, slots=True)
class NationalCheck:
    year: int
    forecast_packs: float
    forecast_kilotonnes: float
    reference_kilotonnes: float
    ratio: float  # forecast / reference
    kg_per_pack: float
    reference: ReferenceFigure

    def as_dict(self) -> dict[str, Any]:
        return {
            "year": self.year,
            "forecast_packs": round(self.forecast_packs),
            "kg_per_pack": self.kg_per_pack,
            "forecast_kt": round(self.forecast_kilotonnes, 1),
            "reference_kt": self.reference_kilotonnes,
            "reference": f"{self.reference.bound} {self.reference.kilotonnes:g} kt: {self.reference.what}",
            "ratio": round(self.ratio, 3),
            "source": self.reference.source,
        }


def check_national(
    retirements: Iterable[Retirement],
    *,
    kg_per_pack: float = 400.0,
    references: Iterable[ReferenceFigure] = REFERENCE_FIGURES,
) -> list[NationalCheck]:
    """Compare national retirements (packs × ``kg_per_pack``) with the published figures.

    ``ratio`` < 1 means the forecast falls short of the published lower bound. The published
    figures count all waste batteries (production scrap and swap-station returns too), so a
    forecast of vehicle retirements alone is expected to fall somewhat short.
    """
    if not (math.isfinite(kg_per_pack) and kg_per_pack > 0):
        raise InvalidHealthInput(f"kg_per_pack = {kg_per_pack!r} must be positive", field="kg_per_pack")
    totals = national_totals(retirements)
    out = []
    for ref in references:
        if ref.year not in totals:
            continue
        kt = totals[ref.year] * kg_per_pack / 1e6
        out.append(
            NationalCheck(
                ref.year, totals[ref.year], kt, ref.kilotonnes, kt / ref.kilotonnes, kg_per_pack, ref
            )
        )
    return out


def read_installations(rows: Iterable[Mapping[str, str]]) -> list[Installation]:
    """Parse CSV rows with ``province``, ``year``, ``count``; errors name the row (1 = first data row)."""
    out = []
    for n, row in enumerate(rows, start=1):
        for col in ("province", "year", "count"):
            if not (row.get(col) or "").strip():
                raise InvalidHealthInput(f"row {n}: column {col!r} is missing or empty", row=n, column=col)
        try:
            year = int(row["year"])
        except ValueError:
            raise InvalidHealthInput(
                f"row {n}: year {row['year']!r} is not a whole year", row=n, column="year"
            ) from None
        try:
            count = float(row["count"])
        except ValueError:
            raise InvalidHealthInput(
                f"row {n}: count {row['count']!r} is not a number", row=n, column="count"
            ) from None
        inst = Installation(row["province"].strip(), year, count)
        try:
            _check_installation(inst)
        except InvalidHealthInput:
            raise InvalidHealthInput(f"row {n}: year must be 1900–2200 and count ≥ 0", row=n) from None
        out.append(inst)
    return out


def read_installations_csv(text: str) -> list[Installation]:
    return read_installations(csv.DictReader(text.splitlines()))
