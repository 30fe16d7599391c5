"""The organisations of a simulated China: who makes, drives, swaps, repairs, scraps and recycles.

:func:`build_world` draws every organisation from one seeded RNG: battery makers with their
manufacturer codes and pack designs (cell-to-pack or modular), vehicle makers with their models
(some swap models) and suppliers, swap operators, repair shops, dismantlers, collection outlets
(each operated for a maker), re-use enterprises with manufacturer codes of their own, recyclers
(two with a lapsed discharge permit) and regulators (national and provincial). Provinces are
weighted by NEV sales (``data/nev_sales_by_province.csv``).
"""

from __future__ import annotations

import csv
import random
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from importlib import resources
from typing import Any

from battrace.services.simulate.ids import B36, credit_code

NATIONAL = "000000"
#: Qualifications a utilisation company needs to take waste batteries (rules.md, R02).
REQUIRED_QUALIFICATIONS = ("investment_filing", "eia_approval", "discharge_permit")
FAR_FUTURE = date(2035, 12, 31)


@dataclass(frozen=True, slots=True)
class Qualification:
    kind: str
    number: str
    valid_from: date
    valid_to: date

    def valid_on(self, day: date) -> bool:
        return self.valid_from <= day <= self.valid_to

    def as_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "number": self.number, "valid_from": self.valid_from.isoformat(),
                "valid_to": self.valid_to.isoformat()}


@dataclass(slots=True)
class Org:
    credit_code: str
    name: str
    type: str
    region: str
    manufacturer_codes: tuple[str, ...] = ()
    operated_for: str | None = None
    jurisdiction: str | None = None
    qualifications: tuple[Qualification, ...] = ()

    def qualified_on(self, day: date) -> bool:
        """Holds every qualification a utilisation company needs on ``day``."""
        return all(any(q.kind == k and q.valid_on(day) for q in self.qualifications) for k in REQUIRED_QUALIFICATIONS)

    def as_dict(self) -> dict[str, Any]:
        return {
            "credit_code": self.credit_code,
            "name": self.name,
            "type": self.type,
            "region": self.region,
            "manufacturer_codes": list(self.manufacturer_codes),
            "operated_for": self.operated_for,
            "jurisdiction": self.jurisdiction,
            "qualifications": [q.as_dict() for q in self.qualifications],
        }


@dataclass(frozen=True, slots=True)
class Figures:
    """Rated figures of one battery level, and its ``battery.produced`` fields."""

    model: str
    capacity_ah: float
    voltage_v: float
    energy_kwh: float
    mass_kg: float

    def fields(self) -> dict[str, Any]:
        return {"model": self.model, "rated_capacity_ah": self.capacity_ah, "nominal_voltage_v": self.voltage_v,
                "rated_energy_kwh": self.energy_kwh, "mass_kg": self.mass_kg}


@dataclass(frozen=True, slots=True)
class Design:
    """A pack design (battery model) of one maker: cell-to-pack, or modules of cells."""

    maker_code: str
    spec: str
    battery_type: str  # GB/T 34014 type character: B (LFP) or E (NCM)
    chemistry: str  # row of materials.csv
    ctp: bool
    modules: int  # 0 for cell-to-pack
    cells_per_module: int
    cells: int
    introduced: date
    ccc_certified: date
    pack: Figures
    module: Figures | None
    cell: Figures


@dataclass(slots=True)
class BatteryMaker:
    org: Org
    code: str
    designs: list[Design]

    def designs_on(self, day: date) -> list[Design]:
        live = [d for d in self.designs if d.introduced <= day]
        return live or self.designs[:1]


@dataclass(frozen=True, slots=True)
class VehicleModel:
    name: str
    vds: str
    swap: bool


@dataclass(slots=True)
class VehicleMaker:
    org: Org
    wmi: str
    share: float
    swap_share: float
    models: list[VehicleModel]
    suppliers: list[tuple[BatteryMaker, float]]
    operators: list[tuple[Org, float]] = field(default_factory=list)


@dataclass(slots=True)
class World:
    orgs: list[Org]
    regions: list[str]
    region_weights: list[float]
    region_names: dict[str, tuple[str, str]]
    battery_makers: list[BatteryMaker]
    vehicle_makers: list[VehicleMaker]
    swap_operators: list[Org]
    repair_shops: list[Org]
    dismantlers: list[Org]
    outlets: dict[str, dict[str, Org]]  # operated_for -> region -> outlet
    reuse: list[Org]
    recyclers: list[Org]
    regulators: list[Org]
    by_code: dict[str, Org]

    def local(self, orgs: list[Org], region: str, rng: random.Random) -> Org:
        """An organisation of ``orgs`` in ``region`` if there is one, else any."""
        here = [o for o in orgs if o.region == region]
        return rng.choice(here or orgs)

    def outlet_for(self, operated_for: str, region: str, rng: random.Random) -> Org:
        mine = self.outlets.get(operated_for)
        if not mine:
            mine = self.outlets[rng.choice(sorted(self.outlets))]
        return mine.get(region) or mine[sorted(mine)[0]]

    def recycler_on(self, day: date, region: str, rng: random.Random) -> Org:
        """A recycler qualified on ``day`` and a month later (the report may be dated a little later)."""
        later = date.fromordinal(day.toordinal() + 31)
        ok = [r for r in self.recyclers if r.qualified_on(day) and r.qualified_on(later)]
        return self.local(ok or self.recyclers, region, rng)

    def reuse_on(self, day: date, region: str, rng: random.Random) -> Org:
        ok = [r for r in self.reuse if r.qualified_on(day)]
        return self.local(ok or self.reuse, region, rng)


# -- tables ---------------------------------------------------------------------------------------


def read_table(name: str) -> list[dict[str, str]]:
    text = resources.files("battrace.services.simulate.data").joinpath(name).read_text(encoding="utf-8")
    return list(csv.DictReader(text.splitlines()))


@lru_cache(maxsize=1)
def region_table() -> tuple[list[str], list[float], dict[str, tuple[str, str]]]:
    names = {r["code"]: (r["name_zh"], r["name_en"]) for r in read_table("regions.csv")}
    rows = [(r["code"], float(r["weight"])) for r in read_table("nev_sales_by_province.csv")]
    return [c for c, _ in rows], [w for _, w in rows], names


@lru_cache(maxsize=1)
def sales_by_year() -> dict[int, float]:
    return {int(r["year"]): float(r["sales_million"]) for r in read_table("nev_sales_by_year.csv")}


@lru_cache(maxsize=1)
def materials() -> dict[str, dict[str, float]]:
    out: dict[str, dict[str, float]] = {}
    for r in read_table("materials.csv"):
        out[r["chemistry"]] = {k.removesuffix("_kg_per_kwh"): float(v) for k, v in r.items()
                               if k.endswith("_kg_per_kwh")}
    return out


# -- building -------------------------------------------------------------------------------------

_BRAND = "瑞泰恒嘉源博迅锐兴晟昊宸澜峰启明远达益川禾越鼎骏弘拓钧翔霖"
_SUFFIX = {
    "battery_maker": "动力电池有限公司",
    "vehicle_maker": "新能源汽车有限公司",
    "swap_operator": "换电科技有限公司",
    "repair_shop": "汽车维修服务有限公司",
    "dismantler": "报废机动车回收拆解有限公司",
    "reuse_enterprise": "储能科技有限公司",
    "recycler": "资源循环科技有限公司",
}
_MAKER_CHARS = "0123456789ABCDEFGHJKLMNPRSTUVWXYZ"


def _brand(org: Org, names: dict[str, tuple[str, str]]) -> str:
    """The two-character brand of a simulated company name (``山东省安达新能源汽车有限公司…`` → ``安达``)."""
    rest = org.name.removeprefix(names[org.region][0])
    for suffix in _SUFFIX.values():
        if suffix in rest:
            return rest.split(suffix)[0]
    return rest.split("（")[0]


def outlet_name(province: str, brand: str) -> str:
    """A collection outlet is named for where it is, then the maker it serves: ``贵州省安达回收服务网点（模拟）``
    for an outlet in Guizhou run for a Shandong maker (not ``山东省安达…（贵州省）``)."""
    return f"{province}{brand}回收服务网点（模拟）"


class _Builder:
    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.used_credit: set[str] = set()
        self.used_names: set[str] = set()
        self.used_maker_codes: set[str] = set()
        self.orgs: list[Org] = []
        self.regions, self.weights, self.names = region_table()

    def region(self) -> str:
        return self.rng.choices(self.regions, self.weights)[0]

    def name(self, org_type: str, region: str) -> str:
        province = self.names[region][0]
        while True:
            brand = "".join(self.rng.choice(_BRAND) for _ in range(2))
            name = f"{province}{brand}{_SUFFIX[org_type]}（模拟）"
            if name not in self.used_names:
                self.used_names.add(name)
                return name

    def org(self, org_type: str, region: str, *, name: str | None = None, **extra: Any) -> Org:
        org = Org(credit_code(self.rng, region, self.used_credit), name or self.name(org_type, region), org_type,
                  region, **extra)
        self.orgs.append(org)
        return org

    def maker_code(self) -> str:
        while True:
            code = self.rng.choice("0123456789") + "".join(self.rng.choice(_MAKER_CHARS) for _ in range(2))
            if code not in self.used_maker_codes:
                self.used_maker_codes.add(code)
                return code

    def quals(
        self, region: str, kinds: tuple[str, ...], lapse: dict[str, date] | None = None
    ) -> tuple[Qualification, ...]:
        out = []
        for kind in kinds:
            start = date(self.rng.randint(2014, 2017), self.rng.randint(1, 12), 1)
            end = (lapse or {}).get(kind, FAR_FUTURE)
            number = f"{kind[:3].upper()}-{region}-{start.year}-{self.rng.randint(0, 99999):05d}"
            out.append(Qualification(kind, number, start, end))
        return tuple(out)


def _design(b: _Builder, maker_code: str, index: int, btype: str, ctp: bool, introduced: date,
            cells_per_module: tuple[int, int], modules_per_pack: tuple[int, int], ctp_cells: int) -> Design:
    rng = b.rng
    lfp = btype == "B"
    cell_v = 3.2 if lfp else 3.65
    wh_per_kg = rng.uniform(150, 175) if lfp else rng.uniform(220, 260)
    if ctp:
        modules, per_module, cells = 0, 0, ctp_cells
        cell_ah = float(rng.choice([120, 138, 150, 202]))
    else:
        modules = rng.randint(*modules_per_pack)
        per_module = rng.randint(*cells_per_module)
        cells = modules * per_module
        cell_ah = float(rng.choice([50, 60, 75, 100, 117, 150]))
    parallel = 1 if cells <= 120 else 2 if cells <= 240 else 3
    series = cells / parallel
    spec = B36[index % 36] + rng.choice(B36)
    cell = Figures(f"C{maker_code}-{spec}", cell_ah, cell_v, round(cell_ah * cell_v / 1000, 3),
                   round(cell_ah * cell_v / wh_per_kg, 2))
    module = None
    if modules:
        module = Figures(f"M{maker_code}-{spec}", cell_ah, round(cell_v * per_module, 1),
                         round(cell.energy_kwh * per_module, 2), round(cell.mass_kg * per_module * 1.12, 1))
    pack_energy = round(cell.energy_kwh * cells, 1)
    pack_mass = round(cell.mass_kg * cells / (0.85 if ctp else 0.72), 1)
    pack = Figures(f"P{maker_code}-{spec}", cell_ah * parallel, round(cell_v * series, 1), pack_energy, pack_mass)
    ccc = date.fromordinal(introduced.toordinal() - rng.randint(30, 120))
    return Design(maker_code, spec, btype, "LFP" if lfp else rng.choice(["NMC523", "NMC622", "NMC811"]), ctp,
                  modules, per_module, cells, introduced, ccc, pack, module, cell)


def build_world(rng: random.Random, *, start: date, cells_per_module: tuple[int, int] = (8, 12),
                modules_per_pack: tuple[int, int] = (8, 12), ctp_cells: int = 170) -> World:
    """Draw the organisations of the world (deterministic for a given RNG state)."""
    b = _Builder(rng)
    regions, weights, names = b.regions, b.weights, b.names

    # Battery makers: (battery type, cell-to-pack, relative size).
    profiles = [("B", True, 30), ("E", False, 25), ("B", False, 15), ("E", False, 12), ("B", True, 10),
                ("E", False, 8)]
    battery_makers: list[BatteryMaker] = []
    for btype, ctp, _ in profiles:
        region = b.region()
        codes = (b.maker_code(),) if rng.random() < 0.6 else (b.maker_code(), b.maker_code())
        org = b.org("battery_maker", region, manufacturer_codes=codes)
        designs = []
        # The first design is certified after the start (nothing happens before it); packs made
        # before its introduction date use it all the same (``designs_on`` falls back to it).
        first = date.fromordinal(start.toordinal() + 121)
        for i, year in enumerate((start.year, start.year + 2, start.year + 5)):
            intro = date(year, rng.randint(1, 12), 1) if i else first
            designs.append(_design(b, codes[i % len(codes)], i, btype, ctp, intro, cells_per_module,
                                   modules_per_pack, ctp_cells))
        battery_makers.append(BatteryMaker(org, codes[0], designs))
    battery_weights = [p[2] for p in profiles]

    # Vehicle makers: share of sales, share of swap models among their sales.
    vm_profiles = [(30, 0.0), (15, 0.0), (12, 0.0), (10, 0.6), (10, 0.0), (8, 0.15), (8, 0.0), (7, 0.0)]
    vehicle_makers: list[VehicleMaker] = []
    used_wmi: set[str] = set()
    for k, (share, swap_share) in enumerate(vm_profiles):
        region = b.region()
        org = b.org("vehicle_maker", region)
        while True:
            wmi = "L" + "".join(rng.choice("ABCDEFGHJKLMNPRSTUVWXYZ") for _ in range(2))
            if wmi not in used_wmi:
                used_wmi.add(wmi)
                break
        models = [VehicleModel(f"{'EVSQ'[j % 4]}{j + 1}", "".join(rng.choice("ABCDEFGHJKLMNPRSTUVWXYZ0123456789")
                                                              for _ in range(5)), False)
                  for j in range(rng.randint(2, 4))]
        if swap_share:
            models.append(VehicleModel(f"ES{len(models) + 1}", "SW" + "".join(rng.choice("0123456789")
                                                                         for _ in range(3)), True))
        n_sup = 1 if k == 0 else rng.randint(1, 3)
        idx = [0] if k == 0 else sorted(rng.sample(range(len(battery_makers)), n_sup))
        suppliers = [(battery_makers[i], float(battery_weights[i])) for i in idx]
        vehicle_makers.append(VehicleMaker(org, wmi, float(share), swap_share, models, suppliers))

    # Swap operators: one affiliated with each swap maker, one independent serving all of them.
    swap_makers = [vm for vm in vehicle_makers if vm.swap_share]
    independent = None
    swap_operators = []
    for vm in swap_makers:
        op = b.org("swap_operator", vm.org.region)
        swap_operators.append(op)
        vm.operators.append((op, 0.7))
    independent = b.org("swap_operator", b.region())
    swap_operators.append(independent)
    for vm in swap_makers:
        vm.operators.append((independent, 0.3))

    repair_shops = [b.org("repair_shop", b.region()) for _ in range(40)]
    dismantlers = [b.org("dismantler", b.region()) for _ in range(30)]

    outlets: dict[str, dict[str, Org]] = {}
    for vm in vehicle_makers:
        brand = _brand(vm.org, names)
        outlets[vm.org.credit_code] = {
            r: b.org("collection_outlet", r, name=outlet_name(names[r][0], brand),
                     operated_for=vm.org.credit_code)
            for r in regions
        }
    for bm in battery_makers:
        brand = _brand(bm.org, names)
        chosen = sorted(set(rng.choices(regions, weights, k=3)))
        outlets[bm.org.credit_code] = {
            r: b.org("collection_outlet", r, name=outlet_name(names[r][0], brand),
                     operated_for=bm.org.credit_code)
            for r in chosen
        }

    all_quals = (*REQUIRED_QUALIFICATIONS, "hazardous_waste_license")
    reuse = []
    for _ in range(6):
        region = b.region()
        org = b.org("reuse_enterprise", region, manufacturer_codes=(b.maker_code(),))
        org.qualifications = b.quals(region, all_quals)
        reuse.append(org)
    recyclers = []
    lapses = [date(2024, 6, 30), date(2025, 3, 31)]
    for i in range(10):
        region = b.region()
        org = b.org("recycler", region)
        lapse = {"discharge_permit": lapses[i]} if i < len(lapses) else None
        kinds = all_quals + (("industry_norm_listed",) if rng.random() < 0.5 else ())
        org.qualifications = b.quals(region, kinds, lapse)
        recyclers.append(org)

    regulators = [b.org("regulator", "110000", name="工业和信息化主管部门（国家，模拟）", jurisdiction=NATIONAL)]
    for r in regions:
        regulators.append(b.org("regulator", r, name=f"{names[r][0]}工业和信息化主管部门（模拟）", jurisdiction=r))

    return World(
        orgs=b.orgs, regions=regions, region_weights=weights, region_names=names,
        battery_makers=battery_makers, vehicle_makers=vehicle_makers, swap_operators=swap_operators,
        repair_shops=repair_shops, dismantlers=dismantlers, outlets=outlets, reuse=reuse, recyclers=recyclers,
        regulators=regulators, by_code={o.credit_code: o for o in b.orgs},
    )
