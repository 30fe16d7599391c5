"""One pack's story: production, a vehicle's life, and a waste battery's way to re-use or recycling.

A :class:`Story` is one *unit* of the world (see :mod:`.recorder`): it owns an RNG and a recorder and
tells the life of the packs given to it. Each pack ends in exactly one final state (the ledger's
state names), counted in :attr:`Sim.outcomes`.
"""

from __future__ import annotations

import json
import random
from collections import Counter
from dataclasses import dataclass, field
from datetime import date

from battrace.services.simulate.ids import CodeFactory, base36, code_day, vin
from battrace.services.simulate.params import SimulationParams
from battrace.services.simulate.recorder import WORK_START, Ev, Recorder
from battrace.services.simulate.timeline import DAY, HOUR, at, day_of, days
from battrace.services.simulate.violations import LOST_AFTER_DAYS, Injector
from battrace.services.simulate.world import (
    BatteryMaker,
    Design,
    Figures,
    Org,
    VehicleMaker,
    VehicleModel,
    World,
    materials,
    sales_by_year,
)
from battrace.services.simulate.writer import EventSink

#: Holders that must pass a waste battery to a collection outlet first.
SOURCE_TYPES = frozenset({"dismantler", "repair_shop", "vehicle_maker", "swap_operator"})
APPLICATIONS = ("energy_storage", "backup_power", "charging_station", "low_speed_vehicle", "other")
APPLICATION_WEIGHTS = (50, 25, 15, 7, 3)
REMAKE_MIN_SOH = 0.65
REPLACE_REASONS = ("capacity_fade", "thermal_fault", "bms_fault", "collision_damage", "cell_imbalance")
MISSING_REASONS = ("not found at stock-take", "stolen from storage yard", "lost in transit records")
RECOVERY = {"li": (0.90, 0.95), "ni": (0.98, 0.995), "co": (0.98, 0.995), "mn": (0.98, 0.995),
            "cu": (0.95, 0.99), "al": (0.90, 0.97)}


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
        first_sale = self.start + 60 * DAY
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


class Story:
    """One unit of the world: its RNG, its recorder, and the steps of a pack's life."""

    def __init__(self, sim: Sim, unit: int, rng: random.Random) -> None:
        self.sim = sim
        self.world = sim.world
        self.inj = sim.injector
        self.rng = rng
        self.rec = Recorder(sim.sink, sim.injector, sim.counts, sim.end, unit, rng)
        self._tally = sim.outcomes

    def done(self, state: str, n: int = 1) -> None:
        """Count the final state of the pack being told (or of a module travelling on its own)."""
        self._tally[state] += n

    # -- production ---------------------------------------------------------------------------

    def produce(self, no: int, maker: BatteryMaker, design: Design, t: int) -> tuple[Pack, Ev] | None:
        """Cells, then modules (with their cells), then the pack (with its modules or cells)."""
        sim, rng, rec = self.sim, self.rng, self.rec
        day = code_day(day_of(max(t, sim.start - 90 * DAY)))
        t = at(day, WORK_START + rng.randint(0, 8 * HOUR))
        delay = rng.randint(HOUR, DAY)
        if t + delay + design.cells * 5 + 2 * HOUR > sim.end:
            return None
        org, region = maker.org, maker.org.region
        mc, bt, spec = design.maker_code, design.battery_type, design.spec
        code = sim.codes.code
        modules: list[str] = []
        components: list[str] = []
        t_next = t
        if sim.params.with_cells:
            cells = [code(mc, "C", bt, spec, no, day, j + 1) for j in range(design.cells)]
            rec.produced_batch(cells, t, org, region, sim.cell_tail(design), delay, 5)
            sim.batteries["cell"] += len(cells)
            t_next = t + len(cells) * 5 + 60
            components = cells
            if design.module is not None:
                k = design.cells_per_module
                mfields = design.module.fields()
                for m in range(design.modules):
                    mcode = code(mc, "M", bt, spec, no, day, m + 1)
                    rec.emit("battery.produced", t_next + m * 30, org,
                             {"battery": mcode, **mfields, "components": cells[m * k:(m + 1) * k]},
                             region=region, delay=delay, office_hours=False)
                    modules.append(mcode)
                sim.batteries["module"] += len(modules)
                components = modules
                t_next += design.modules * 30
        pack_code = code(mc, "P", bt, spec, no, day, 1)
        fields = {"battery": pack_code, **design.pack.fields()}
        if components:
            fields["components"] = components
        ev = rec.emit("battery.produced", t_next + 600, org, fields, keys=[pack_code], region=region, delay=delay,
                      office_hours=False)
        assert ev is not None  # checked against the end above
        sim.batteries["pack"] += 1
        return Pack(pack_code, no, design, maker, ev.occurred, modules), ev

    def produce_module(self, no: int, maker: BatteryMaker, design: Design, t: int) -> tuple[Pack, Ev] | None:
        """A spare module with its cells (serials from 5,000,000 keep them apart from packs' own)."""
        sim, rng, rec = self.sim, self.rng, self.rec
        assert design.module is not None
        day = code_day(day_of(t))
        t = at(day, WORK_START + rng.randint(0, 8 * HOUR))
        delay = rng.randint(HOUR, DAY)
        if t + delay + 2 * HOUR > sim.end:
            return None
        org, region = maker.org, maker.org.region
        mc, bt, spec = design.maker_code, design.battery_type, design.spec
        cells = [sim.codes.code(mc, "C", bt, spec, no, day, 5_000_001 + j) for j in range(design.cells_per_module)]
        rec.produced_batch(cells, t, org, region, sim.cell_tail(design), delay, 5)
        sim.batteries["cell"] += len(cells)
        code = sim.codes.code(mc, "M", bt, spec, no, day, 5_000_000)
        ev = rec.emit("battery.produced", t + len(cells) * 5 + 60, org,
                      {"battery": code, **design.module.fields(), "components": cells}, keys=[code], region=region,
                      delay=delay, office_hours=False)
        assert ev is not None
        sim.batteries["module"] += 1
        return Pack(code, no, design, maker, ev.occurred, [], level="M"), ev

    def transfer_new(self, pack: Pack, sender: Org, receiver: Org, t: int) -> Ev | None:
        """A new pack shipped (state produced) — a spare or swap stock; not a waste hand-over."""
        ev = self.rec.emit("battery.handed_over", t, sender, {"batteries": [pack.code], "to": receiver.credit_code},
                           keys=[pack.code], region=sender.region)
        if ev is None:
            return None
        return self.rec.emit("battery.received", ev.after(self.rng, days(self.rng.uniform(1, 5))), receiver,
                             {"batteries": [pack.code], "from": sender.credit_code}, keys=[pack.code],
                             region=receiver.region)

    # -- a vehicle's life ---------------------------------------------------------------------

    def start_vehicle(self, plan: Plan) -> Vehicle | None:
        rng, rec = self.rng, self.rec
        vm = plan.maker
        bm = rng.choices([b for b, _ in vm.suppliers], [w for _, w in vm.suppliers])[0]
        t_prod = plan.sale - days(rng.uniform(20, 80))
        live = bm.designs_on(day_of(t_prod))
        design = rng.choices(live, list(range(1, len(live) + 1)))[0]
        made = self.produce(plan.index, bm, design, t_prod)
        if made is None:
            return None
        pack, ev = made
        pack.vehicle_maker = vm
        t_cert = ev.after(rng, days(rng.uniform(2, 15)))
        year = min(max(day_of(t_cert).year, 2016), 2030)
        v = vin(vm.wmi, plan.model.vds, year, plan.index)
        cert = rec.emit("vehicle.certified", t_cert, vm.org,
                        {"vin": v, "vehicle_model": plan.model.name, "swap_model": plan.model.swap,
                         "batteries": [pack.code], "certificate_no": f"WA{plan.index:09d}"},
                        keys=[pack.code, v], region=vm.org.region)
        if cert is None:
            self.done("produced")
            return None
        sold = rec.emit("vehicle.sold", max(plan.sale, cert.after(rng, DAY)), vm.org, {"vin": v},
                        keys=[pack.code, v], region=plan.region, data={"buyer_region": plan.region})
        if sold is None:
            self.done("installed")
            return None
        return Vehicle(v, plan, pack, sold.occurred)

    def life_end(self, v: Vehicle) -> int:
        p = self.sim.params
        years = self.rng.weibullvariate(p.life_scale_years, p.life_shape)
        return v.sold + int(years * 365.25 * DAY)

    def vehicle_story(self, plan: Plan) -> None:
        """A non-swap vehicle: production, certification, sale, repairs, replacement, scrapping."""
        rng, p = self.rng, self.sim.params
        v = self.start_vehicle(plan)
        if v is None:
            return
        scrap_t = self.life_end(v)
        horizon = min(scrap_t, self.sim.end)
        steps: list[tuple[int, str]] = []
        if rng.random() < p.repair_share:
            steps.append((rng.randint(v.sold, max(v.sold, horizon)), "repair"))
        if rng.random() < p.replacement_share:
            steps.append((rng.randint(v.sold, max(v.sold, horizon)), "replace"))
        steps.sort()
        for t, kind in steps:
            ok = self.repair(v, t) if kind == "repair" else self.replace(v, t)
            if not ok:
                self.done("in_service")
                return
        if scrap_t > self.sim.end:
            self.done("in_service")
            return
        self.scrap(v, scrap_t)

    def workshop(self, v: Vehicle) -> Org:
        if self.rng.random() < 0.2:
            return v.plan.maker.org
        return self.world.local(self.world.repair_shops, v.plan.region, self.rng)

    def repair(self, v: Vehicle, t: int) -> bool:
        shop = self.workshop(v)
        if v.pack.modules and self.rng.random() < 0.5:
            return self.repair_module(v, shop, t)
        ev = self.rec.emit("battery.repaired", t, shop, {"battery": v.pack.code}, keys=[v.pack.code, v.vin],
                           region=v.plan.region, data={"vin": v.vin, "work": self.rng.choice(
                               ["bms_update", "contactor", "cooling_leak", "connector", "balancing"])})
        return ev is not None

    def repair_module(self, v: Vehicle, shop: Org, t: int) -> bool:
        """A faulty module swapped for a spare; the old module goes its own way as waste."""
        rng, rec = self.rng, self.rec
        pack = v.pack
        made = self.produce_module(self.sim.params.packs + v.plan.index, pack.maker, pack.design,
                                   t - days(rng.uniform(10, 30)))
        if made is None:
            return False
        spare, made_ev = made
        got = self.transfer_new(spare, pack.maker.org, shop, made_ev.after(rng, days(rng.uniform(1, 5))))
        if got is None:
            return False
        k = rng.randrange(len(pack.modules))
        old = pack.modules[k]
        ev = rec.emit("battery.repaired", max(t, got.after(rng, HOUR)), shop,
                      {"battery": pack.code, "components_replaced": [{"removed": old, "installed": spare.code}]},
                      keys=[pack.code, v.vin, old, spare.code], region=v.plan.region,
                      data={"vin": v.vin, "work": "module_replacement"})
        if ev is None:
            return False
        pack.modules[k] = spare.code
        module = Pack(old, pack.no, pack.design, pack.maker, pack.produced, [], v.plan.maker, fault=True, level="M")
        saved, self._tally = self._tally, self.sim.module_outcomes
        try:
            self.waste_chain(module, shop, ev.after(rng, days(rng.uniform(1, 20))))
        finally:
            self._tally = saved
        return True

    def replace(self, v: Vehicle, t: int) -> bool:
        """A faulty pack replaced by a new spare; the old one starts its way as a waste battery."""
        rng, rec = self.rng, self.rec
        shop = self.workshop(v)
        old = v.pack
        made = self.produce(self.sim.params.packs + v.plan.index, old.maker, old.design,
                            t - days(rng.uniform(15, 40)))
        if made is None:
            return False
        spare, made_ev = made
        spare.vehicle_maker = v.plan.maker
        got = self.transfer_new(spare, old.maker.org, shop, made_ev.after(rng, days(rng.uniform(1, 5))))
        if got is None:
            self.done("produced")  # the spare, never installed
            return False
        ev = rec.emit("battery.replaced", max(t, got.after(rng, HOUR)), shop,
                      {"vin": v.vin, "removed": old.code, "installed": spare.code,
                       "reason": rng.choice(REPLACE_REASONS)},
                      keys=[v.vin, old.code, spare.code], region=v.plan.region)
        if ev is None:
            self.done("produced")
            return False
        old.fault = True
        v.pack = spare
        self.waste_chain(old, shop, ev.after(rng, days(rng.uniform(1, 20))))
        return True

    def scrap(self, v: Vehicle, t: int, *, swap_model: bool = False) -> None:
        """车电一体 scrapping: the dismantler reports the vehicle, removes the pack, hands it on."""
        rng, rec, inj = self.rng, self.rec, self.inj
        dismantler = self.world.local(self.world.dismantlers, v.plan.region, rng)
        r01 = not swap_model and inj.roll("R01", rng)
        present = [] if r01 else [v.pack.code]
        ev = rec.emit("vehicle.scrapped", t, dismantler,
                      {"vin": v.vin, "batteries_present": present, "certificate_no": f"BF{v.plan.index:09d}"},
                      keys=[v.vin, v.pack.code], region=v.plan.region)
        if ev is None:
            if r01:
                inj.uncount("R01")
            self.done("in_service")
            return
        if r01:
            inj.add("R01", [v.pack.code], v.vin, [dismantler.credit_code, v.plan.maker.org.credit_code],
                    ev.event_id, "vehicle scrapped without its bound pack")
            self.done("in_service")  # still bound to the scrapped vehicle: gone to an informal channel
            return
        ev = rec.emit("battery.removed", ev.after(rng, days(rng.uniform(0.2, 5))), dismantler,
                      {"battery": v.pack.code, "vin": v.vin}, keys=[v.vin, v.pack.code], region=v.plan.region)
        if ev is None:
            self.done("in_service")
            return
        self.waste_chain(v.pack, dismantler, ev.after(rng, days(rng.uniform(1, 20))))

    # -- a waste battery's way ----------------------------------------------------------------

    def waste_chain(self, pack: Pack, holder: Org, t: int) -> None:
        """From its first holder to an outlet, to a re-use enterprise or recycler, to its end."""
        rng, w, inj = self.rng, self.world, self.inj
        lost = inj.roll("R05", rng)
        reuse_route = rng.random() < (0.55 if pack.design.battery_type == "B" else 0.3)
        items = [pack.code]
        dismantled = False
        while True:
            day = day_of(t)
            if holder.type in SOURCE_TYPES:
                receiver = w.outlet_for(pack.producer().credit_code, holder.region, rng)
            elif holder.type == "collection_outlet":
                pick = w.reuse_on if reuse_route else w.recycler_on
                receiver = pick(day, holder.region, rng)
            elif holder.type == "reuse_enterprise":
                nxt = self.reuse(pack, holder, t)
                if nxt is None:
                    return
                items, t, dismantled = nxt
                reuse_route = False
                receiver = w.recycler_on(day_of(t), holder.region, rng)
            else:
                self.recycle(pack, items, holder, t, dismantled)
                return
            got = self.hand_over_waste(pack, items, holder, receiver, t, "dismantled" if dismantled else "waste")
            if got is None:
                return
            ev, holder = got
            if lost and holder.type in ("collection_outlet", "reuse_enterprise", "recycler"):
                self.lose(pack, items, holder, ev)
                return
            hold = rng.uniform(5, 50) if holder.type == "collection_outlet" else rng.uniform(1, 20)
            t = ev.after(rng, days(hold))

    def bad_receiver(self, sender: Org, day: date) -> Org:
        """A receiver that may not take waste batteries (R02)."""
        rng, w = self.rng, self.world
        lapsed = [r for r in w.recyclers if not r.qualified_on(day)]
        if lapsed and sender.type in ("collection_outlet", "reuse_enterprise") and rng.random() < 0.7:
            return rng.choice(lapsed)
        shops = [s for s in w.repair_shops if s is not sender]
        return w.local(shops, sender.region, rng)

    def hand_over_waste(self, pack: Pack, items: list[str], sender: Org, receiver: Org,
                        t: int, state: str) -> tuple[Ev, Org] | None:
        """Hand-over and receipt of waste batteries, with R02 and R04b injected. Returns the receipt."""
        rng, rec, inj, sim = self.rng, self.rec, self.inj, self.sim
        r02 = inj.roll("R02", rng)
        if r02:
            receiver = self.bad_receiver(sender, day_of(t))
        ev = rec.emit("battery.handed_over", t, sender, {"batteries": items, "to": receiver.credit_code},
                      keys=items, region=sender.region)
        if ev is None:
            if r02:
                inj.uncount("R02")
            self.done(state)
            return None
        orgs = [sender.credit_code, receiver.credit_code]
        if r02:
            why = "permit lapsed" if receiver.type == "recycler" else f"a {receiver.type} may not take them"
            inj.add("R02", items, None, orgs, ev.event_id, f"waste batteries handed to an unqualified receiver ({why})")
        if ev.occurred < sim.end - 60 * DAY and inj.roll("R04b", rng):
            inj.add("R04b", items, None, orgs, ev.event_id, "hand-over never confirmed by the receiver")
            if ev.occurred < sim.end - LOST_AFTER_DAYS * DAY:
                inj.add("R05", items, None, [sender.credit_code, pack.producer().credit_code], None,
                        "implied by R04b: in transit, no custody progress for over 90 days", counted=False)
            self.done("in_transit")
            return None
        got = rec.emit("battery.received", ev.after(rng, days(rng.uniform(0.5, 4))), receiver,
                       {"batteries": items, "from": sender.credit_code}, keys=items, region=receiver.region)
        if got is None:
            self.done("in_transit")
            return None
        return got, receiver

    def lose(self, pack: Pack, items: list[str], holder: Org, received: Ev) -> None:
        """R05: the trail goes cold at ``holder`` (left idle), or the holder reports it missing."""
        rng, inj, sim = self.rng, self.inj, self.sim
        orgs = [holder.credit_code, pack.producer().credit_code]
        if rng.random() < 0.5 and received.occurred < sim.end - (LOST_AFTER_DAYS + 10) * DAY:
            inj.add("R05", items, None, orgs, None, "waste battery idle for over 90 days")
            self.done("waste")
            return
        ev = self.rec.emit("battery.reported_missing", received.after(rng, days(rng.uniform(3, 40))), holder,
                           {"battery": pack.code, "reason": rng.choice(MISSING_REASONS)}, keys=[pack.code],
                           region=holder.region)
        if ev is None:
            self.done("waste")
            return
        inj.add("R05", [pack.code], None, orgs, ev.event_id, "waste battery reported missing")
        self.done("missing")

    def soh(self, pack: Pack, t: int, spread: float = 0.0) -> float:
        rng = self.rng
        if pack.fault:
            value = rng.uniform(0.45, 0.8)
        else:
            years = max(0.0, (t - pack.produced) / (365.25 * DAY))
            value = 1.0 - years * rng.uniform(0.015, 0.035) - rng.uniform(0.0, 0.05)
        if spread:
            value += rng.gauss(0.0, spread)
        return round(min(1.0, max(0.3, value)), 3)

    def test(self, code: str, holder: Org, t: int, soh: float, fig: Figures) -> Ev | None:
        rng = self.rng
        method = "gbt34015" if rng.random() < 0.6 else "pulse"
        fields: dict[str, object] = {
            "battery": code, "soh": soh, "measured_capacity_ah": round(fig.capacity_ah * soh, 1),
            "internal_resistance_mohm": round(rng.uniform(0.5, 1.5) * (2.0 - soh) * (100 if code[3] == "P" else 10), 2),
            "method": method,
        }
        if method == "pulse":
            fields["features"] = {"pulse_current_a": 50, "pulse_s": 5,
                                  "delta_v_mv": round((1.6 - soh) * rng.uniform(40, 60), 1)}
        return self.rec.emit("battery.tested", t, holder, fields, keys=[code], region=holder.region)

    def reuse(self, pack: Pack, holder: Org, t: int) -> tuple[list[str], int, bool] | None:
        """At a re-use enterprise: test, then re-make the pack (or its good modules) into products.

        Returns what is left for a recycler (codes, when, whether the pack was dismantled), or None
        when the story ends here.
        """
        rng, inj, rec = self.rng, self.inj, self.rec
        d = pack.design
        soh = self.soh(pack, t)
        if not (pack.modules and rng.random() < 0.5):
            remake = soh >= REMAKE_MIN_SOH
            skip = remake and inj.roll("R09", rng)  # one roll per re-manufacture
            if not skip:
                ev = self.test(pack.code, holder, t, soh, pack.figures)
                if ev is None:
                    self.done("waste")
                    return None
                t = ev.after(rng, days(rng.uniform(1, 10)))
            if not remake:
                return [pack.code], t + days(rng.uniform(3, 30)), False
            index = 63 if pack.level == "M" else 0  # keeps a module's product code apart from its pack's
            made = self.remake(pack, [pack.code], holder, t, pack.figures, soh, index, [pack.code] if skip else [])
            self.done("remade" if made else "waste")
            return None
        # Module-level re-use: dismantle the pack, test the modules, re-make the good ones.
        assert d.module is not None
        ev = rec.emit("battery.dismantled", t, holder, {"battery": pack.code, "components": pack.modules},
                      keys=[pack.code, *pack.modules], region=holder.region)
        if ev is None:
            self.done("waste")
            return None
        t = ev.after(rng, days(rng.uniform(1, 7)))
        sohs = {m: self.soh(pack, t, 0.04) for m in pack.modules}
        good = [m for m in pack.modules if sohs[m] >= REMAKE_MIN_SOH]
        bad = [m for m in pack.modules if sohs[m] < REMAKE_MIN_SOH]
        groups: list[list[str]] = []
        while good:
            n = rng.randint(2, 4)
            groups.append(good[:n])
            good = good[n:]
        skipped = [rng.choice(g) if inj.roll("R09", rng) else None for g in groups]
        for m in pack.modules:
            if m in skipped:
                continue
            ev = self.test(m, holder, t, sohs[m], d.module)
            if ev is None:
                self.done("dismantled")
                return None
            t = ev.after(rng, HOUR)
        for g, (group, skip_m) in enumerate(zip(groups, skipped, strict=True)):
            fig = Figures(d.module.model, d.module.capacity_ah, round(d.module.voltage_v * len(group), 1),
                          round(d.module.energy_kwh * len(group), 2), round(d.module.mass_kg * len(group) * 1.2, 1))
            soh_g = min(sohs[m] for m in group)
            if not self.remake(pack, group, holder, t, fig, soh_g, g + 1, [skip_m] if skip_m else []):
                self.done("dismantled")
                return None
        return [pack.code, *bad], t + days(rng.uniform(3, 30)), True

    def remake(self, pack: Pack, sources: list[str], holder: Org, t: int, fig: Figures, soh: float, index: int,
               untested: list[str]) -> bool:
        rng, inj, rec, sim = self.rng, self.inj, self.rec, self.sim
        r03 = inj.roll("R03", rng)
        app = "e_bike" if r03 else rng.choices(APPLICATIONS, APPLICATION_WEIGHTS)[0]
        maker_code = holder.manufacturer_codes[0]
        day = code_day(day_of(t))
        product = sim.codes.remade(maker_code, pack.design.battery_type, "R" + base36(index % 36, 1), day,
                                   pack.no * 64 + index)
        data = {"model": f"R{maker_code}-{app[:3].upper()}", "rated_capacity_ah": round(fig.capacity_ah * soh, 1),
                "nominal_voltage_v": fig.voltage_v, "rated_energy_kwh": round(fig.energy_kwh * soh, 2),
                "mass_kg": round(fig.mass_kg * 1.05, 1)}
        fields: dict[str, object] = {"product": product, "sources": sources, "application": app}
        if not r03:
            fields["certification"] = f"CQC-{app[:3].upper()}-{day.year}-{pack.no % 100000:05d}{index}"
        ev = rec.emit("battery.remanufactured", t, holder, fields, keys=[*sources, product], region=holder.region,
                      data=data)
        if ev is None:  # never reported: neither opportunity existed
            inj.uncount("R03")
            inj.uncount("R09")
            return False
        sim.batteries["remade"] += 1
        orgs = [holder.credit_code]
        if untested:
            inj.add("R09", [product, *untested], None, orgs, ev.event_id, "re-made without a test on a source")
        site = rng.choice(["储能电站", "通信基站", "充电站", "园区"])
        customer = f"{self.world.region_names[holder.region][0]}{site}项目（模拟客户）"
        delivered = rec.emit("product.delivered", ev.after(rng, days(rng.uniform(3, 30))), holder,
                             {"battery": product, "application": app, "customer": customer}, keys=[product],
                             region=holder.region)
        if r03:
            inj.add("R03", [product], None, orgs, ev.event_id,
                    "re-made for e-bikes" + (f"; delivered in {delivered.event_id}" if delivered else ""))
        return True

    def recycle(self, pack: Pack, items: list[str], holder: Org, t: int, dismantled: bool) -> None:
        rng, rec = self.rng, self.rec
        if not dismantled:
            if rng.random() < 0.3:
                ev = self.test(pack.code, holder, t, self.soh(pack, t), pack.figures)
                if ev is None:
                    self.done("waste")
                    return
                t = ev.after(rng, days(rng.uniform(1, 5)))
            ev = rec.emit("battery.dismantled", t, holder, {"battery": pack.code}, keys=[pack.code],
                          region=holder.region)
            if ev is None:
                self.done("waste")
                return
            t = ev.after(rng, days(rng.uniform(2, 30)))
        d = pack.design
        module_kwh = d.module.energy_kwh if d.module else 0.0
        kwh = pack.figures.energy_kwh if not dismantled else module_kwh * (len(items) - 1)
        dismantled = True
        content = materials()[d.chemistry]
        outputs: dict[str, float] = {}
        for metal, (lo, hi) in RECOVERY.items():
            kg = content.get(metal, 0.0) * kwh * rng.uniform(lo, hi)
            if metal == "al":
                kg += pack.figures.mass_kg * 0.12 * rng.uniform(0.9, 0.97)  # housing and busbars
            if kg > 0:
                outputs[metal] = round(kg, 2)
        black_mass = round(content.get("cathode", 0.0) * kwh * 1.6 * rng.uniform(0.95, 0.99), 2)
        if black_mass > 0:
            outputs["black_mass"] = black_mass
        if d.battery_type == "B":
            process = "hydro" if rng.random() < 0.6 else "direct"
        else:
            process = "hydro" if rng.random() < 0.8 else "pyro"
        ev = rec.emit("battery.recycled", t, holder, {"batteries": items, "process": process, "outputs": outputs},
                      keys=items, region=holder.region)
        self.done("recycled" if ev else "dismantled")

