"""One pack's story: production, a vehicle's life (sale, repairs, replacement, scrapping).

A :class:`Story` is one *unit* of the world (see :mod:`.recorder`): it owns an RNG and a recorder and
tells the life of the packs given to it; what happens once a pack is waste is in :mod:`.waste`.
Each pack ends in exactly one final state (the ledger's state names), counted in
:attr:`Sim.outcomes <battrace.services.simulate.model.Sim>`.
"""

from __future__ import annotations

import random
from dataclasses import replace

from battrace.services.simulate.ids import code_day, vin
from battrace.services.simulate.model import Pack, Plan, Sim, Vehicle
from battrace.services.simulate.recorder import WORK_START, Ev, Recorder
from battrace.services.simulate.timeline import DAY, HOUR, at, day_of, days
from battrace.services.simulate.waste import WasteSteps
from battrace.services.simulate.world import BatteryMaker, Design, Org

SCRAP_REASONS = ("end-of-line insulation test failed", "cell voltage spread out of tolerance",
                 "housing damaged in the plant")
REPLACE_REASONS = ("capacity_fade", "thermal_fault", "bms_fault", "collision_damage", "cell_imbalance")

__all__ = ["Pack", "Plan", "Sim", "Story", "Vehicle"]



class Story(WasteSteps):
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
        day = code_day(day_of(max(t, sim.start)))
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
        if rng.random() < self.sim.params.scrap_share:
            self.production_scrap(plan, bm, design, t_prod - days(rng.uniform(1, 5)))
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

    def production_scrap(self, plan: Plan, bm: BatteryMaker, design: Design, t: int) -> None:
        """A pack that fails end-of-line testing: discarded, then on its way as a waste battery."""
        rng = self.rng
        made = self.produce(3 * self.sim.params.packs + plan.index, bm, design, t)
        if made is None:
            return
        pack, ev = made
        got = self.rec.emit("battery.discarded", ev.after(rng, days(rng.uniform(0.1, 2))), bm.org,
                            {"battery": pack.code, "reason": rng.choice(SCRAP_REASONS)}, keys=[pack.code],
                            region=bm.org.region)
        if got is None:
            self.done("produced")
            return
        pack.fault = True
        self.waste_chain(pack, bm.org, got.after(rng, days(rng.uniform(1, 20))))

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
        r13 = not swap_model and not r01 and inj.roll("R13", rng)
        donor = self.donor(v, t) if r13 else None
        if r13 and donor is None:
            inj.uncount("R13")
        if donor is not None:  # the pack of another vehicle was put in this one, never reported
            return self.scrap_with_another_pack(v, donor, dismantler, t)
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

    def donor(self, v: Vehicle, t: int) -> Vehicle | None:
        """A second vehicle of the same maker, sold after ``v`` and before its scrapping, whose pack
        ends up in ``v`` by an unreported replacement (R13)."""
        rng = self.rng
        last_sale = t - 90 * DAY
        if last_sale <= v.sold + 30 * DAY:
            return None
        plan = replace(v.plan, index=2 * self.sim.params.packs + v.plan.index,
                       sale=rng.randint(v.sold + 30 * DAY, last_sale))
        return self.start_vehicle(plan)

    def scrap_with_another_pack(self, v: Vehicle, donor: Vehicle, dismantler: Org, t: int) -> None:
        """R13: the dismantler finds ``donor``'s pack in ``v`` (``v``'s own pack, bound to it, is not
        there: R01 follows); the found pack is removed and goes its way as waste."""
        rng, rec, inj = self.rng, self.rec, self.inj
        found = donor.pack
        ev = rec.emit("vehicle.scrapped", max(t, donor.sold + DAY), dismantler,
                      {"vin": v.vin, "batteries_present": [found.code], "certificate_no": f"BF{v.plan.index:09d}"},
                      keys=[v.vin, v.pack.code, found.code, donor.vin], region=v.plan.region)
        if ev is None:
            inj.uncount("R13")
            self.done("in_service", 2)  # both packs, each in the other's vehicle
            return
        inj.add("R13", [found.code], v.vin, [dismantler.credit_code, donor.plan.maker.org.credit_code],
                ev.event_id, f"pack of {donor.vin} found in scrapped {v.vin} (unreported replacement)")
        inj.add("R01", [v.pack.code], v.vin, [dismantler.credit_code, v.plan.maker.org.credit_code], ev.event_id,
                "implied by R13: the vehicle's own pack was not in it", counted=False)
        self.done("in_service")  # v's own pack: in the donor vehicle, unreported
        removed = rec.emit("battery.removed", ev.after(rng, days(rng.uniform(0.2, 5))), dismantler,
                           {"battery": found.code, "vin": v.vin}, keys=[v.vin, found.code], region=v.plan.region)
        if removed is None:
            self.done("in_service")
            return
        self.waste_chain(found, dismantler, removed.after(rng, days(rng.uniform(1, 20))))
