"""A swap operator's fleet: swap-model vehicles and the pool of packs its stations hold.

The vehicles of one operator share packs, so they are one unit, simulated in time order: each swap
takes the vehicle's pack into the station's stock (``swap_stock``) and installs the pack that has
been charged longest; when the stock is empty the operator buys new packs from the battery maker
(``battery.handed_over`` + ``battery.received`` while they are still ``produced``). A scrapped
swap vehicle goes to a dismantler with whatever pack it carries (swap models are exempt from R01,
so no R01 is injected here). Packs still in stock at the end stay ``swap_stock``.

R10 is injected in pairs: two vehicles swapped at the same station within minutes, the removed
codes crossed in the reports. Each report names a removed pack bound to the *other* vehicle (two
R10 findings), yet after both the platform's bindings match reality again, so every later event
stays acceptable.
"""

from __future__ import annotations

import heapq
import random

from battrace.services.simulate.lifecycle import Pack, Plan, Sim, Story, Vehicle
from battrace.services.simulate.recorder import Ev
from battrace.services.simulate.timeline import DAY, HOUR, MINUTE, days
from battrace.services.simulate.world import Org

POOL_BASE = 2  # pool packs are numbered from (POOL_BASE + operator index) * packs


class Fleet:
    def __init__(self, sim: Sim, unit: int, op_index: int, operator: Org,
                 plans: list[tuple[Plan, random.Random]]) -> None:
        self.sim = sim
        self.op_index = op_index
        self.operator = operator
        self.plans = plans
        self.rng = random.Random(f"{sim.params.seed}/swap/{op_index}")
        self.story = Story(sim, unit, self.rng)
        self.vehicles: list[Vehicle] = []
        self.heap: list[tuple[int, int, str]] = []
        self.pool: list[tuple[int, int, Pack]] = []  # (available from, pack number, pack)
        self.frozen: set[int] = set()
        self.scrapped: set[int] = set()
        self.bought = 0

    def _use(self, rng: random.Random) -> None:
        self.story.rng = rng
        self.story.rec.rng = rng

    def start(self) -> None:
        sim, rate = self.sim, self.sim.params.swaps_per_year
        for plan, vrng in self.plans:
            self._use(vrng)  # the vehicle's own draws, as if it were a unit of its own
            v = self.story.start_vehicle(plan)
            if v is None:
                continue
            k = len(self.vehicles)
            self.vehicles.append(v)
            scrap_t = self.story.life_end(v)
            t, horizon = v.sold, min(scrap_t, sim.end)
            while rate > 0:
                t += int(vrng.expovariate(rate) * 365.25 * DAY)
                if t >= horizon:
                    break
                heapq.heappush(self.heap, (t, k, "swap"))
            if scrap_t <= sim.end:
                heapq.heappush(self.heap, (scrap_t, k, "scrap"))
        self._use(self.rng)

    def run(self) -> None:
        self.start()
        story, inj = self.story, self.sim.injector
        while self.heap:
            t, k, kind = heapq.heappop(self.heap)
            if k in self.frozen:
                continue
            if kind == "scrap":
                self.frozen.add(k)
                self.scrapped.add(k)
                story.scrap(self.vehicles[k], t, swap_model=True)
            elif t < self.sim.end - 2 * DAY:
                j = self.partner(k, t) if inj.roll("R10", self.rng, scale=0.5) else None
                if j is None:
                    self.swap(k, t, counted=True)
                else:
                    self.crossed(k, j, t)
            else:
                self.swap(k, t, counted=False)
        for k in range(len(self.vehicles)):
            if k not in self.scrapped:
                story.done("in_service")  # the pack it carries at the end (or when its reports stop)
        story.done("swap_stock", len(self.pool))

    def stock(self, t: int, v: Vehicle) -> tuple[Pack, int, bool] | None:
        """The pack to install at ``t`` (and when): from the pool, or bought from the maker."""
        rng = self.rng
        if self.pool and self.pool[0][0] <= t:
            return heapq.heappop(self.pool)[2], t, True
        made = self.story.produce((POOL_BASE + self.op_index) * self.sim.params.packs + self.bought, v.pack.maker,
                                  v.pack.design, t - days(rng.uniform(20, 40)))
        self.bought += 1
        if made is None:
            return None
        pack, ev = made
        got = self.story.transfer_new(pack, pack.maker.org, self.operator, ev.after(rng, days(rng.uniform(1, 5))))
        if got is None:
            self.story.done("produced")
            return None
        return pack, max(t, got.after(rng, HOUR)), False

    def give_back(self, pack: Pack, t: int, from_pool: bool) -> None:
        if from_pool:
            heapq.heappush(self.pool, (t, pack.no, pack))
        else:
            self.story.done("produced")

    def report(self, v: Vehicle, removed: Pack, installed: Pack, t: int, keys: list[str],
               region: str | None = None) -> Ev | None:
        return self.story.rec.emit("battery.swapped", t, self.operator,
                                   {"vin": v.vin, "removed": removed.code, "installed": installed.code},
                                   keys=keys, region=region or v.plan.region, may_be_late=False, office_hours=False)

    def swap(self, k: int, t: int, *, counted: bool) -> None:
        v = self.vehicles[k]
        if not counted:
            self.sim.injector.opportunities["R10"] += 1
        got = self.stock(t, v)
        if got is None:
            self.frozen.add(k)
            return
        installed, t, from_pool = got
        removed = v.pack
        ev = self.report(v, removed, installed, t, [v.vin, removed.code, installed.code])
        if ev is None:
            self.frozen.add(k)
            self.give_back(installed, t, from_pool)
            return
        installed.vehicle_maker = v.plan.maker
        v.pack = installed
        heapq.heappush(self.pool, (ev.occurred + self.rng.randint(1 * HOUR, 8 * HOUR), removed.no, removed))

    def partner(self, k: int, t: int) -> int | None:
        """Another vehicle of the fleet in service at ``t``, from the same province if possible."""
        region = self.vehicles[k].plan.region
        anywhere = None
        for j, v in enumerate(self.vehicles):
            if j != k and j not in self.frozen and v.sold < t:
                if v.plan.region == region:
                    return j
                if anywhere is None:
                    anywhere = j
        return anywhere

    def crossed(self, k: int, j: int, t: int) -> None:
        """R10: vehicles k and j swapped together; each report names the other one's pack."""
        inj, rng = self.sim.injector, self.rng
        inj.opportunities["R10"] += 1  # the partner's swap is a second report
        v1, v2 = self.vehicles[k], self.vehicles[j]
        a = self.stock(t, v1)
        if a is None:
            self.frozen.add(k)
            inj.uncount("R10")
            inj.uncount("R10")
            return
        b = self.stock(a[1], v2)
        if b is None:
            self.give_back(a[0], a[1], a[2])
            self.frozen.add(j)
            inj.uncount("R10")
            inj.uncount("R10")
            return
        (pa, _, _), (pb, t2, _) = a, b
        p1, p2 = v1.pack, v2.pack
        keys = [v1.vin, v2.vin, p1.code, p2.code, pa.code, pb.code]
        station = v1.plan.region
        ev1 = self.report(v1, p2, pa, t2, keys, station)
        ev2 = self.report(v2, p1, pb, t2 + rng.randint(2 * MINUTE, 15 * MINUTE), keys, station) if ev1 else None
        assert ev1 is not None and ev2 is not None  # two days before the end: both are recorded
        for v, removed, ev in ((v1, p2, ev1), (v2, p1, ev2)):
            inj.injected["R10"] += 1
            inj.add("R10", [removed.code], v.vin, [self.operator.credit_code], ev.event_id,
                    "swap report names a removed pack bound to another vehicle (codes crossed at the station)",
                    counted=False)
        pa.vehicle_maker, pb.vehicle_maker = v1.plan.maker, v2.plan.maker
        v1.pack, v2.pack = pa, pb
        back = ev2.occurred + rng.randint(1 * HOUR, 8 * HOUR)
        heapq.heappush(self.pool, (back, p1.no, p1))
        heapq.heappush(self.pool, (back, p2.no, p2))


def swap_fleet(sim: Sim, unit: int, op_index: int, operator: Org, plans: list[tuple[Plan, random.Random]]) -> None:
    """Tell the story of every swap vehicle of one operator (``plans`` in vehicle order)."""
    Fleet(sim, unit, op_index, operator, plans).run()
