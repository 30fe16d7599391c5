"""A swap operator's fleet: swap-model vehicles and the pool of packs its stations hold.

The vehicles of one operator share packs, so they are one unit, simulated in time order: each swap
takes the vehicle's pack into the station's stock (``swap_stock``) and installs the pack that has
been charged longest; when the stock is empty the operator buys new packs from the battery maker
(``battery.handed_over`` + ``battery.received`` while they are still ``produced``). A scrapped
swap vehicle goes to a dismantler with whatever pack it carries (swap models are exempt from R01,
so no R01 is injected here). Packs still in stock at the end stay ``swap_stock``.
"""

from __future__ import annotations

import heapq
import random

from battrace.services.simulate.lifecycle import Pack, Plan, Sim, Story, Vehicle
from battrace.services.simulate.timeline import DAY, HOUR, days

POOL_BASE = 2  # pool packs are numbered from (POOL_BASE + operator index) * packs


def swap_fleet(sim: Sim, unit: int, op_index: int, plans: list[tuple[Plan, random.Random]]) -> None:
    """Tell the story of every swap vehicle of one operator (``plans`` in vehicle order)."""
    rng = random.Random(f"{sim.params.seed}/swap/{op_index}")
    story = Story(sim, unit, rng)
    rate = sim.params.swaps_per_year
    heap: list[tuple[int, int, str, int]] = []
    vehicles: list[Vehicle] = []
    for plan, vrng in plans:
        story.rng = vrng  # the vehicle's own draws, as if it were a unit of its own
        story.rec.rng = vrng
        v = story.start_vehicle(plan)
        if v is None:
            continue
        k = len(vehicles)
        vehicles.append(v)
        scrap_t = story.life_end(v)
        t = v.sold
        horizon = min(scrap_t, sim.end)
        while rate > 0:
            t += int(vrng.expovariate(rate) * 365.25 * DAY)
            if t >= horizon:
                break
            heapq.heappush(heap, (t, k, "swap", 0))
        if scrap_t <= sim.end:
            heapq.heappush(heap, (scrap_t, k, "scrap", 0))
    story.rng = rng
    story.rec.rng = rng
    operator = plans[0][0].operator if plans else None
    pool: list[tuple[int, int, Pack]] = []  # (available from, pack number, pack)
    frozen: set[int] = set()
    scrapped: set[int] = set()
    bought = 0
    while heap:
        t, k, kind, _ = heapq.heappop(heap)
        if k in frozen:
            continue
        v = vehicles[k]
        if kind == "scrap":
            frozen.add(k)
            scrapped.add(k)
            story.scrap(v, t, swap_model=True)
            continue
        assert operator is not None
        if pool and pool[0][0] <= t:
            _, _, installed = heapq.heappop(pool)
            from_pool = True
        else:
            made = story.produce((POOL_BASE + op_index) * sim.params.packs + bought, v.pack.maker, v.pack.design,
                                 t - days(rng.uniform(20, 40)))
            bought += 1
            if made is None:
                frozen.add(k)
                continue
            installed, made_ev = made
            got = story.transfer_new(installed, installed.maker.org, operator,
                                     made_ev.after(rng, days(rng.uniform(1, 5))))
            if got is None:
                story.done("produced")
                frozen.add(k)
                continue
            t = max(t, got.after(rng, HOUR))
            from_pool = False
        removed = v.pack
        ev = story.rec.emit("battery.swapped", t, operator,
                            {"vin": v.vin, "removed": removed.code, "installed": installed.code},
                            keys=[v.vin, removed.code, installed.code], region=v.plan.region, may_be_late=False,
                            office_hours=False)
        if ev is None:
            frozen.add(k)
            if from_pool:
                heapq.heappush(pool, (t, installed.no, installed))
            else:
                story.done("produced")
            continue
        installed.vehicle_maker = v.plan.maker
        v.pack = installed
        heapq.heappush(pool, (ev.occurred + rng.randint(1 * HOUR, 8 * HOUR), removed.no, removed))
    for k in range(len(vehicles)):
        if k not in scrapped:
            story.done("in_service")  # the pack it carries at the end (or when its reports stop)
    story.done("swap_stock", len(pool))
