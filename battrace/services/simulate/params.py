"""The knobs of the world simulator, with their defaults and what each rate means."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date

from battrace.errors import ValidationError

#: Injected violations: rule id -> (default rate, what the rate is a share of).
RULES: dict[str, tuple[float, str]] = {
    "R01": (0.03, "scrappings of non-swap vehicles whose bound pack is missing from batteries_present"),
    "R02": (0.02, "waste-battery hand-overs to a receiver that may not take them"),
    "R03": (0.02, "re-made products made for and delivered to e-bikes"),
    "R04": (0.01, "deadline-bearing reports recorded well after their CN-2026 deadline"),
    "R04b": (0.01, "waste-battery hand-overs never confirmed by the receiver"),
    "R05": (0.02, "waste batteries at their first outlet whose trail is lost (idle > 90 days, or reported missing)"),
    "R09": (0.03, "re-manufactures with at least one source never tested"),
    "R10": (0.01, "swap reports naming a removed pack bound to another vehicle (injected in crossed pairs)"),
    "R13": (0.01, "scrappings of non-swap vehicles in which the dismantler finds another vehicle's pack "
                  "(an unreported replacement)"),
    "R14": (0.03, "re-manufactures for an application whose SOH floor a tested source misses, or uncertified "
                  "for storage"),
}
DEFAULT_RATES: dict[str, float] = {rule: rate for rule, (rate, _) in RULES.items()}


def parse_range(text: str, what: str) -> tuple[int, int]:
    """``"8-12"`` -> ``(8, 12)``; ``"10"`` -> ``(10, 10)``."""
    lo_s, _, hi_s = text.partition("-")
    try:
        lo = int(lo_s)
        hi = int(hi_s) if hi_s else lo
    except ValueError:
        raise ValidationError(f"{what} must be N or LO-HI, got {text!r}", field=what) from None
    if lo < 1 or hi < lo:
        raise ValidationError(f"{what} must be a positive range, got {text!r}", field=what)
    return lo, hi


@dataclass(frozen=True)
class SimulationParams:
    """Everything that shapes a simulated world. The same params and seed give the same bytes."""

    packs: int = 20_000
    seed: int = 1
    start: date = date(2018, 1, 1)
    end: date = date(2026, 11, 15)
    #: Cells per module of a modular pack (uniform range); the module count is ``modules_per_pack``.
    cells_per_module: tuple[int, int] = (8, 12)
    modules_per_pack: tuple[int, int] = (8, 12)
    #: Cells of a cell-to-pack design (no modules), BYD-Blade-like.
    ctp_cells: int = 170
    #: Emit module and cell events at all (False: packs only, for quick demos).
    with_cells: bool = True
    #: Battery swaps per year of a swap-model vehicle in service.
    swaps_per_year: float = 4.0
    #: Weibull service life of a vehicle (years): scale and shape.
    life_scale_years: float = 9.0
    life_shape: float = 2.2
    #: Share of vehicles whose pack is replaced by a repair shop (fault) during their life.
    replacement_share: float = 0.05
    #: Share of vehicles with a battery repair (no pack replacement) during their life.
    repair_share: float = 0.08
    #: Share of vehicle packs preceded by a pack that failed end-of-line testing (production scrap).
    scrap_share: float = 0.01
    #: Share of delivered re-made products returned at the end of their second life (before the end).
    return_share: float = 0.5
    rates: Mapping[str, float] = field(default_factory=lambda: dict(DEFAULT_RATES))

    def __post_init__(self) -> None:
        if self.packs < 1:
            raise ValidationError("packs must be at least 1", field="packs")
        if self.end <= self.start:
            raise ValidationError("end must be after start", field="end")
        unknown = sorted(set(self.rates) - set(RULES))
        if unknown:
            raise ValidationError(f"unknown rule(s) {', '.join(unknown)}; known: {', '.join(RULES)}", field="rates")
        for rule, rate in self.rates.items():
            if not 0.0 <= rate <= 1.0:
                raise ValidationError(f"rate of {rule} must be within 0..1, got {rate}", field="rates")
        if self.ctp_cells < 1:
            raise ValidationError("ctp_cells must be positive", field="ctp_cells")

    def rate(self, rule: str) -> float:
        return float(self.rates.get(rule, DEFAULT_RATES[rule]))
