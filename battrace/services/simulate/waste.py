"""A waste battery's way: to a collection outlet, to a re-use enterprise or a recycler, to its end.

:class:`WasteSteps` is mixed into :class:`~battrace.services.simulate.lifecycle.Story`; it injects
R02 (unqualified receiver), R04b (hand-over never received), R05 (lost trail), R03 (e-bike
application), R09 (re-made without a test) and R14 (re-made below the grading policy) at their
opportunities. Some delivered products come back at the end of their second life
(``product.returned``) and are recycled.
"""

from __future__ import annotations

import random
from datetime import date

from battrace.domain.grading import DEFAULT_POLICY
from battrace.services.simulate.ids import base36, code_day
from battrace.services.simulate.model import Pack, Sim
from battrace.services.simulate.recorder import Ev, Recorder
from battrace.services.simulate.timeline import DAY, HOUR, day_of, days
from battrace.services.simulate.violations import LOST_AFTER_DAYS, Injector
from battrace.services.simulate.world import Figures, Org, World, materials

#: Holders that must pass a waste battery to a collection outlet first.
SOURCE_TYPES = frozenset({"dismantler", "repair_shop", "vehicle_maker", "swap_operator", "battery_maker"})
APPLICATIONS = ("energy_storage", "backup_power", "charging_station", "low_speed_vehicle", "other")
APPLICATION_WEIGHTS = (50, 25, 15, 7, 3)
REMAKE_MIN_SOH = 0.65
MISSING_REASONS = ("not_found_at_stocktake", "stolen_from_yard", "lost_in_transit")  # labels: domain/reasons.py
RECOVERY = {"li": (0.90, 0.95), "ni": (0.98, 0.995), "co": (0.98, 0.995), "mn": (0.98, 0.995),
            "cu": (0.95, 0.99), "al": (0.90, 0.97)}


class WasteSteps:
    sim: Sim
    world: World
    inj: Injector
    rng: random.Random
    rec: Recorder

    def done(self, state: str, n: int = 1) -> None:
        raise NotImplementedError

    def waste_chain(self, pack: Pack, holder: Org, t: int) -> None:
        """From its first holder to an outlet, to a re-use enterprise or recycler, to its end.

        The trail may be lost (R05) once, at the first receipt by an outlet or a utilisation
        company: that receipt is the rule's opportunity.
        """
        rng, w = self.rng, self.world
        may_lose = True
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
            if may_lose and holder.type in ("collection_outlet", "reuse_enterprise", "recycler"):
                may_lose = False
                if self.inj.roll("R05", rng):
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
        if r02:  # the receiver that may not take them booked them in: its own side of R02
            inj.add("R02", items, None, orgs, got.event_id, "waste batteries received by an unqualified receiver",
                    counted=False)
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
        if ev is None:  # the report would fall after the end: nothing to find yet
            inj.uncount("R05")
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
            made = self.remake(pack, [pack.code], holder, t, pack.figures, soh, index, [pack.code] if skip else [],
                               {} if skip else {pack.code: soh})
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
            tested = {m: sohs[m] for m in group if m != skip_m}
            if not self.remake(pack, group, holder, t, fig, soh_g, g + 1, [skip_m] if skip_m else [], tested):
                self.done("dismantled")
                return None
        return [pack.code, *bad], t + days(rng.uniform(3, 30)), True

    def application(self, tested: dict[str, float], r14: bool) -> tuple[str, bool]:
        """``(application, certified)``: one the tested sources qualify for (by the grading policy's
        floors), or, for R14, one whose floor they miss (else storage without a certification)."""
        rng = self.rng
        floors = DEFAULT_POLICY.min_soh
        lowest = min(tested.values()) if tested else None
        if r14:
            missed = [a for a in APPLICATIONS if lowest is not None and lowest < floors[a]]
            return (rng.choice(missed), True) if missed else ("energy_storage", False)
        fit = [(a, w) for a, w in zip(APPLICATIONS, APPLICATION_WEIGHTS, strict=True)
               if lowest is None or lowest >= floors[a]]
        return rng.choices([a for a, _ in fit], [w for _, w in fit])[0], True

    def remake(self, pack: Pack, sources: list[str], holder: Org, t: int, fig: Figures, soh: float, index: int,
               untested: list[str], tested: dict[str, float]) -> bool:
        rng, inj, rec, sim = self.rng, self.inj, self.rec, self.sim
        r03 = inj.roll("R03", rng)
        r14 = not r03 and inj.roll("R14", rng)
        app, certified = ("e_bike", False) if r03 else self.application(tested, r14)
        maker_code = holder.manufacturer_codes[0]
        day = code_day(day_of(t))
        product = sim.codes.remade(maker_code, pack.design.battery_type, "R" + base36(index % 36, 1), day,
                                   pack.no * 64 + index)
        data = {"model": f"R{maker_code}-{app[:3].upper()}", "rated_capacity_ah": round(fig.capacity_ah * soh, 1),
                "nominal_voltage_v": fig.voltage_v, "rated_energy_kwh": round(fig.energy_kwh * soh, 2),
                "mass_kg": round(fig.mass_kg * 1.05, 1)}
        fields: dict[str, object] = {"product": product, "sources": sources, "application": app}
        if certified:
            fields["certification"] = f"CQC-{app[:3].upper()}-{day.year}-{pack.no % 100000:05d}{index}"
        ev = rec.emit("battery.remanufactured", t, holder, fields, keys=[*sources, product], region=holder.region,
                      data=data)
        if ev is None:  # never reported: neither opportunity existed
            inj.uncount("R03")
            inj.uncount("R09")
            if not r03:
                inj.uncount("R14")
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
        if r14:
            low = [c for c, x in tested.items() if x < DEFAULT_POLICY.min_soh[app]]
            inj.add("R14", [product, *low], None, orgs, ev.event_id,
                    f"re-made for {app} below its SOH floor" if certified else "re-made for storage uncertified")
        if delivered is not None and not r03:
            self.second_life_end(product, holder, delivered, fig)
        return True

    def second_life_end(self, product: str, holder: Org, delivered: Ev, fig: Figures) -> None:
        """Some products come back from their application, go to a recycler and are recycled."""
        rng, rec, sim, w = self.rng, self.rec, self.sim, self.world
        if rng.random() >= sim.params.return_share:
            return
        t = delivered.after(rng, days(rng.uniform(180, 3 * 365)))
        if t > sim.end - 150 * DAY:  # the whole way back fits before the end (no trail left idle)
            return
        ev = rec.emit("product.returned", t, holder, {"battery": product, "reason": "end of second life",
                                                      "from_customer": "模拟客户"}, keys=[product],
                      region=holder.region, may_be_late=False)
        if ev is None:
            return
        recycler = w.recycler_on(day_of(ev.occurred), holder.region, rng)
        sent = rec.emit("battery.handed_over", ev.after(rng, days(rng.uniform(3, 20))), holder,
                        {"batteries": [product], "to": recycler.credit_code}, keys=[product], region=holder.region,
                        may_be_late=False)
        if sent is None:
            return
        got = rec.emit("battery.received", sent.after(rng, days(rng.uniform(0.5, 3))), recycler,
                       {"batteries": [product], "from": holder.credit_code}, keys=[product], region=recycler.region,
                       may_be_late=False)
        if got is None:
            return
        rec.emit("battery.recycled", got.after(rng, days(rng.uniform(5, 30))), recycler,
                 {"batteries": [product], "process": "hydro",
                  "outputs": {"black_mass": round(fig.mass_kg * 0.35, 2), "al": round(fig.mass_kg * 0.1, 2)}},
                 keys=[product], region=recycler.region, may_be_late=False)

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
