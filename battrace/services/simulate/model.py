"""The things a story is about: packs, vehicle plans and vehicles, and the shared simulation state."""

from __future__ import annotations

import json
import random
from collections import Counter
from dataclasses import dataclass, field
from datetime import date

from battrace.services.simulate.ids import CodeFactory
from battrace.services.simulate.params import SimulationParams
from battrace.services.simulate.timeline import DAY, at
from battrace.services.simulate.violations import Injector
from battrace.services.simulate.world import (
    BatteryMaker,
    Design,
    Figures,
    Org,
    VehicleMaker,
    VehicleModel,
    World,
    sales_by_year,
)
from battrace.services.simulate.writer import EventSink


@dataclass(slots=True)
class Pack:
    code: str
    no: int
    design: Design
    maker: BatteryMaker
    produced: int
    modules: list[str]
    vehicle_maker: VehicleMaker | None = None
    fault: bool = False
    level: str = "P"  # "M" for a module removed in a repair, travelling on its own

    @property
    def figures(self) -> Figures:
        return self.design.module if self.level == "M" and self.design.module else self.design.pack

    def producer(self) -> Org:
        """The party answerable for a lost trail (the vehicle maker for installed packs)."""
        return self.vehicle_maker.org if self.vehicle_maker else self.maker.org


@dataclass(slots=True)
class Plan:
    index: int
    sale: int
    region: str
    maker: VehicleMaker
    model: VehicleModel
    operator: Org | None


@dataclass(slots=True)
class Vehicle:
    vin: str
    plan: Plan
    pack: Pack
    sold: int


@dataclass
class Sim:
    """What every unit shares: the world, the parameters and the outputs."""

    params: SimulationParams
    world: World
    sink: EventSink
    injector: Injector
    counts: Counter[str] = field(default_factory=Counter)
    outcomes: Counter[str] = field(default_factory=Counter)
    module_outcomes: Counter[str] = field(default_factory=Counter)
    batteries: Counter[str] = field(default_factory=Counter)
    codes: CodeFactory = field(default_factory=CodeFactory)

    def __post_init__(self) -> None:
        p = self.params
        self.start = at(p.start)
        self.end = at(p.end) + DAY - 1
        first_sale = self.start + 90 * DAY  # production (20-80 days earlier) falls after the start
        self.years: list[int] = []
        self.year_weights: list[float] = []
        self.year_span: dict[int, tuple[int, int]] = {}
        sales = sales_by_year()
        for year in range(p.start.year, p.end.year + 1):
            lo = max(first_sale, at(date(year, 1, 1)))
            hi = min(self.end, at(date(year, 12, 31)) + DAY - 1)
            if hi <= lo:
                continue
            self.years.append(year)
            self.year_weights.append(sales.get(year, max(sales.values())) * (hi - lo) / (365 * DAY))
            self.year_span[year] = (lo, hi)
        self._tails: dict[str, str] = {}
        self.vm_weights = [vm.share for vm in self.world.vehicle_makers]

    def cell_tail(self, design: Design) -> str:
        key = design.maker_code + design.spec
        tail = self._tails.get(key)
        if tail is None:
            tail = self._tails[key] = json.dumps(design.cell.fields(), ensure_ascii=False, separators=(",", ":"))[1:-1]
        return tail

    def plan(self, index: int) -> tuple[Plan, random.Random]:
        """The first draws of vehicle ``index``: when, where and what (decides its unit)."""
        rng = random.Random(f"{self.params.seed}/vehicle/{index}")
        w = self.world
        year = rng.choices(self.years, self.year_weights)[0]
        lo, hi = self.year_span[year]
        sale = rng.randint(lo, hi)
        region = rng.choices(w.regions, w.region_weights)[0]
        vm = rng.choices(w.vehicle_makers, self.vm_weights)[0]
        swap = bool(vm.swap_share) and rng.random() < vm.swap_share
        model = rng.choice([m for m in vm.models if m.swap == swap])
        operator = rng.choices([o for o, _ in vm.operators], [x for _, x in vm.operators])[0] if swap else None
        return Plan(index, sale, region, vm, model, operator), rng
