"""Residual value: the better of re-use value and material (recycling) value.

* **Material value** (CNY) = Σ over metals of kg/kWh (``data/materials.csv``) × rated energy (kWh)
  × price (CNY/kg, a dated :class:`PriceSheet`) × recovery rate. It is a GROSS figure: no
  collection, transport or processing cost is deducted unless ``processing_cost_cny_per_kwh`` is set.
* **Re-use value** (CNY) = SOH × rated energy (kWh) × CNY per kWh of remaining capacity
  (:class:`ReuseTerms`), counted only when grading allows re-use at all.

Code chemistries (``NCM``, ``LFP``, ``LMO`` … from :mod:`battrace.domain.codes`) map to rows of
``materials.csv`` through a configurable table (``NCM`` → ``NMC622`` by default). LMO has no row
in the shipped table, so its material value is unavailable until a row is supplied.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from importlib import resources
from types import MappingProxyType
from typing import Any

from battrace.domain.grading import DEFAULT_POLICY, REUSE, GradingPolicy, grade
from battrace.domain.health import InvalidHealthInput

METALS: tuple[str, ...] = ("li", "ni", "co", "mn", "fe", "cu", "al")


@dataclass(frozen=True, slots=True)
class Composition:
    """Metal content in kg per kWh for one materials row."""

    name: str
    kg_per_kwh: Mapping[str, float]
    status: str


def _parse_materials(text: str) -> dict[str, Composition]:
    lines = [ln for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]
    out: dict[str, Composition] = {}
    for r in csv.DictReader(lines):
        kg = {m: float(r[f"{m}_kg_per_kwh"]) for m in METALS if m != "al"}
        kg["al"] = float(r["al_kg_per_kwh"]) + float(r["al_cathode_kg_per_kwh"])
        out[r["chemistry"]] = Composition(r["chemistry"], MappingProxyType(kg), r["status"])
    return out


@lru_cache(maxsize=1)
def materials() -> Mapping[str, Composition]:
    """The shipped ``materials.csv`` rows by name (``NMC622``, ``LFP`` …)."""
    text = resources.files("battrace.domain.data").joinpath("materials.csv").read_text(encoding="utf-8")
    return MappingProxyType(_parse_materials(text))


@dataclass(frozen=True, slots=True)
class PriceSheet:
    """Metal prices in CNY per kg of contained metal, with the date they describe.

    The defaults are INDICATIVE round figures for China spot markets around mid-2025 (battery-grade
    lithium carbonate ≈ 75 000 CNY/t → ≈ 400 CNY per kg of contained Li; nickel ≈ 120 000 CNY/t;
    cobalt ≈ 240 000 CNY/t; electrolytic manganese ≈ 8 500 CNY/t; copper ≈ 78 000 CNY/t;
    aluminium ≈ 20 000 CNY/t; iron as scrap ≈ 2 CNY/kg). Replace them with current quotes.
    """

    as_of: date = date(2025, 6, 30)
    cny_per_kg: Mapping[str, float] = field(
        default_factory=lambda: MappingProxyType(
            {
                "li": 400.0,
                "ni": 120.0,
                "co": 240.0,
                "mn": 8.5,
                "fe": 2.0,
                "cu": 78.0,
                "al": 20.0,
            }
        )
    )
    source: str = "indicative mid-2025 China spot levels (battrace defaults; not a quotation)"

    def __post_init__(self) -> None:
        for metal, price in self.cny_per_kg.items():
            if metal not in METALS:
                raise InvalidHealthInput(f"unknown metal {metal!r} in price sheet", field=metal)
            if not (math.isfinite(price) and price >= 0):
                raise InvalidHealthInput(f"price of {metal} = {price!r} must be ≥ 0", field=metal)


@dataclass(frozen=True, slots=True)
class RecoveryRates:
    """Fraction of each metal recovered by recycling.

    Ni/Co/Mn 98 % and Li 90 % follow the 2024 industry norms for waste power-battery utilisation
    (MIIT 《新能源汽车废旧动力电池综合利用行业规范条件（2024年本）》); Fe, Cu and Al defaults are
    battrace assumptions.
    """

    rates: Mapping[str, float] = field(
        default_factory=lambda: MappingProxyType(
            {
                "li": 0.90,
                "ni": 0.98,
                "co": 0.98,
                "mn": 0.98,
                "fe": 0.90,
                "cu": 0.95,
                "al": 0.90,
            }
        )
    )

    def __post_init__(self) -> None:
        for metal, rate in self.rates.items():
            if metal not in METALS or not 0.0 <= rate <= 1.0:
                raise InvalidHealthInput(f"recovery rate {metal} = {rate!r} must be a known metal in [0, 1]")


@dataclass(frozen=True, slots=True)
class ReuseTerms:
    """CNY paid per kWh of remaining capacity (SOH × rated energy) of a re-usable pack.

    Default 300 CNY/kWh, an indicative mid-2025 level for second-life packs; per-chemistry
    overrides in ``by_chemistry``.
    """

    cny_per_kwh: float = 300.0
    by_chemistry: Mapping[str, float] = field(default_factory=lambda: MappingProxyType({}))

    def price(self, chemistry: str) -> float:
        return self.by_chemistry.get(chemistry, self.cny_per_kwh)


DEFAULT_CHEMISTRY_MAP: Mapping[str, str] = MappingProxyType(
    {
        "NCM": "NMC622",
        "NMC": "NMC622",
        "NCA": "NCA",
        "LFP": "LFP",
        "NMC523": "NMC523",
        "NMC622": "NMC622",
        "NMC811": "NMC811",
    }
)


@dataclass(frozen=True, slots=True)
class ResidualValue:
    chemistry: str
    materials_row: str | None
    energy_kwh: float
    soh: float
    material_value_cny: float | None
    material_breakdown_cny: Mapping[str, float]
    reuse_value_cny: float
    reuse_allowed: bool
    better_path: str  # "reuse" or "recycle"
    residual_value_cny: float
    prices_as_of: date
    notes: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        return {
            "chemistry": self.chemistry,
            "materials_row": self.materials_row,
            "energy_kwh": self.energy_kwh,
            "soh": self.soh,
            "material_value_cny": None
            if self.material_value_cny is None
            else round(self.material_value_cny, 2),
            "material_breakdown_cny": {k: round(v, 2) for k, v in self.material_breakdown_cny.items()},
            "reuse_value_cny": round(self.reuse_value_cny, 2),
            "reuse_allowed": self.reuse_allowed,
            "better_path": self.better_path,
            "residual_value_cny": round(self.residual_value_cny, 2),
            "prices_as_of": self.prices_as_of.isoformat(),
            "notes": list(self.notes),
        }


def material_value(
    composition: Composition,
    energy_kwh: float,
    *,
    prices: PriceSheet | None = None,
    recovery: RecoveryRates | None = None,
) -> dict[str, float]:
    """Recovered metal value in CNY per metal for a pack of ``energy_kwh``."""
    prices = prices or PriceSheet()
    recovery = recovery or RecoveryRates()
    return {
        m: composition.kg_per_kwh.get(m, 0.0)
        * energy_kwh
        * prices.cny_per_kg.get(m, 0.0)
        * recovery.rates.get(m, 0.0)
        for m in METALS
    }


def residual_value(
    chemistry: str,
    energy_kwh: float,
    soh: float,
    *,
    prices: PriceSheet | None = None,
    recovery: RecoveryRates | None = None,
    reuse: ReuseTerms | None = None,
    chemistry_map: Mapping[str, str] = DEFAULT_CHEMISTRY_MAP,
    table: Mapping[str, Composition] | None = None,
    policy: GradingPolicy = DEFAULT_POLICY,
    method: str = "gbt34015",
    processing_cost_cny_per_kwh: float = 0.0,
) -> ResidualValue:
    """Material value, re-use value and the better path for one pack.

    ``energy_kwh`` is the rated (nameplate) energy; ``soh`` a fraction. Re-use counts only when
    :func:`battrace.domain.grading.grade` (with ``policy`` and ``method``) allows it.
    """
    if not (math.isfinite(energy_kwh) and energy_kwh > 0):
        raise InvalidHealthInput(f"energy_kwh = {energy_kwh!r} must be a positive number", field="energy_kwh")
    if not (math.isfinite(soh) and 0.0 <= soh <= 1.5):
        raise InvalidHealthInput(f"soh = {soh!r} must be a fraction between 0 and 1.5", field="soh")
    prices = prices or PriceSheet()
    reuse = reuse or ReuseTerms()
    table = table if table is not None else materials()
    chem = chemistry.strip().upper()
    notes: list[str] = []

    row_name = chemistry_map.get(chem)
    breakdown: dict[str, float] = {}
    material: float | None = None
    if row_name is None or row_name not in table:
        notes.append(f"no materials row for chemistry {chem!r}: material value unavailable")
        row_name = None
    else:
        breakdown = material_value(table[row_name], energy_kwh, prices=prices, recovery=recovery)
        material = max(sum(breakdown.values()) - processing_cost_cny_per_kwh * energy_kwh, 0.0)
        if table[row_name].status != "C":
            notes.append(f"metal content of {row_name} is an uncertain estimate")

    decision = grade(min(soh, 1.5), method, chem, policy=policy)
    allowed = decision.path == REUSE
    reuse_value = soh * energy_kwh * reuse.price(chem)
    if not allowed:
        notes.append(decision.reason_en)
    candidates = {"recycle": material if material is not None else 0.0}
    if allowed:
        candidates["reuse"] = reuse_value
    better = max(candidates, key=lambda k: candidates[k])
    notes.append(f"metal prices as of {prices.as_of.isoformat()}: {prices.source}")
    return ResidualValue(
        chemistry=chem,
        materials_row=row_name,
        energy_kwh=energy_kwh,
        soh=soh,
        material_value_cny=material,
        material_breakdown_cny=MappingProxyType(breakdown),
        reuse_value_cny=reuse_value,
        reuse_allowed=allowed,
        better_path=better,
        residual_value_cny=candidates[better],
        prices_as_of=prices.as_of,
        notes=tuple(notes),
    )
