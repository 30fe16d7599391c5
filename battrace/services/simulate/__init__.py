"""A deterministic generator of a China-like world of EV batteries (``battrace simulate``).

:func:`simulate` draws the organisations (:mod:`.world`), then tells each pack's story
(:mod:`.lifecycle`; swap-model vehicles per operator in :mod:`.swap`), injecting violations at the
configured rates (:mod:`.violations`), and writes four files (:mod:`.writer`):

- ``orgs.json`` — the organisations, in the shape ``battrace orgs import`` reads;
- ``events.jsonl`` — native events (``events.md``), each with ``recorded_at``, ordered by
  ``recorded_at`` and then by the order they must be applied (for ``--import-history``);
- ``expected_findings.json`` — the findings a compliance engine should raise;
- ``summary.json`` — counts.

The same parameters and seed give byte-identical files: every random draw comes from an RNG seeded
from the seed and the unit's name, and nothing reads the clock.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from battrace.services.simulate.lifecycle import Plan, Sim, Story
from battrace.services.simulate.params import DEFAULT_RATES, RULES, SimulationParams, parse_range
from battrace.services.simulate.swap import swap_fleet
from battrace.services.simulate.violations import Injector
from battrace.services.simulate.world import World, build_world
from battrace.services.simulate.writer import EventSink, write_json

__all__ = ["DEFAULT_RATES", "RULES", "SimulationParams", "SimulationResult", "parse_range", "simulate"]

FILES = ("orgs.json", "events.jsonl", "expected_findings.json", "summary.json")


@dataclass(frozen=True)
class SimulationResult:
    out_dir: Path
    summary: dict[str, Any]


def _techinfo(sim: Sim, world: World) -> None:
    """Unit 0: each battery maker files the dismantling information of each pack design."""
    rng = random.Random(f"{sim.params.seed}/techinfo")
    story = Story(sim, 0, rng)
    from battrace.services.simulate.timeline import at, days, rfc3339

    for bm in world.battery_makers:
        for d in bm.designs:
            ccc = at(d.ccc_certified, 10 * 3600)
            # a filing duty exists only under the regime in force at CCC (CN-2026: 6 months)
            duty = sim.injector.deadline("battery_maker", "techinfo.filed", d.ccc_certified) is not None
            late = duty and sim.injector.roll("R04", rng)
            delay = days(rng.uniform(200, 330) if late else rng.uniform(20, 150))
            t = ccc + delay
            ev = story.rec.emit("techinfo.filed", t, bm.org,
                                {"model": d.pack.model, "ccc_certified_at": rfc3339(ccc),
                                 "document": f"TI-{d.maker_code}-{d.spec}-v1.pdf"},
                                region=bm.org.region, delay=rng.randint(600, 7200))
            if ev is None:
                if duty:
                    sim.injector.uncount("R04")
                continue
            if late:
                sim.injector.add("R04", [], None, [bm.org.credit_code], ev.event_id,
                                 f"dismantling information filed {delay / 86400:.0f} days after CCC (limit 6 months)")


def simulate(
    params: SimulationParams, out_dir: Path, *, progress: Callable[[int], None] | None = None
) -> SimulationResult:
    """Generate a world into ``out_dir``; ``progress(n)`` is called as ``n`` more vehicles are done
    (non-swap vehicles in hundreds, then each swap operator's fleet at once)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    world = build_world(random.Random(f"{params.seed}/world"), start=params.start,
                        cells_per_module=params.cells_per_module, modules_per_pack=params.modules_per_pack,
                        ctp_cells=params.ctp_cells)
    sink = EventSink(out_dir)
    injector = Injector(params)
    sim = Sim(params, world, sink, injector)
    try:
        _techinfo(sim, world)
        fleets: dict[str, list[tuple[Plan, random.Random]]] = {o.credit_code: [] for o in world.swap_operators}
        told = 0
        for i in range(params.packs):
            plan, rng = sim.plan(i)
            if plan.operator is not None:
                fleets[plan.operator.credit_code].append((plan, rng))
                continue
            Story(sim, i + 1, rng).vehicle_story(plan)
            told += 1
            if progress is not None and told % 100 == 0:
                progress(100)
        if progress is not None:
            progress(told % 100)
        for k, op in enumerate(world.swap_operators):
            swap_fleet(sim, params.packs + 1 + k, k, op, fleets[op.credit_code])
            if progress is not None:
                progress(len(fleets[op.credit_code]))
        events_bytes = sink.finish(out_dir / "events.jsonl")
    except BaseException:
        sink.abort()
        raise
    orgs_bytes = write_json(out_dir / "orgs.json", [o.as_dict() for o in world.orgs])
    findings = [f.as_dict() for f in injector.findings]
    from battrace.services.simulate.coverage import expected_r11  # issue 15: R11 for every producer

    findings += expected_r11(out_dir / "events.jsonl", world)
    findings_bytes = write_json(out_dir / "expected_findings.json", findings)
    sizes = {"orgs.json": orgs_bytes, "events.jsonl": events_bytes, "expected_findings.json": findings_bytes}
    summary = _summary(params, sim, world, findings, sink.count, sizes)
    write_json(out_dir / "summary.json", summary)
    return SimulationResult(out_dir, summary)


def _summary(params: SimulationParams, sim: Sim, world: World, findings: list[dict[str, Any]], n_events: int,
             sizes: dict[str, int]) -> dict[str, Any]:
    org_types: dict[str, int] = {}
    for o in world.orgs:
        org_types[o.type] = org_types.get(o.type, 0) + 1
    by_rule: dict[str, int] = {}
    for f in findings:
        by_rule[f["rule"]] = by_rule.get(f["rule"], 0) + 1
    packs = sim.batteries["pack"]
    return {
        "params": {
            "packs": params.packs, "seed": params.seed, "start": params.start.isoformat(),
            "end": params.end.isoformat(), "cells_per_module": list(params.cells_per_module),
            "modules_per_pack": list(params.modules_per_pack), "ctp_cells": params.ctp_cells,
            "with_cells": params.with_cells, "swaps_per_year": params.swaps_per_year,
            "life_scale_years": params.life_scale_years, "life_shape": params.life_shape,
            "replacement_share": params.replacement_share, "repair_share": params.repair_share,
            "rates": {r: params.rate(r) for r in RULES},
        },
        "orgs": dict(sorted(org_types.items())),
        "vehicles": sim.counts["vehicle.certified"],
        "batteries": {k: sim.batteries[k] for k in ("pack", "module", "cell", "remade")},
        "packs_by_final_state": dict(sorted(sim.outcomes.items())),
        "repaired_out_modules_by_final_state": dict(sorted(sim.module_outcomes.items())),
        "events": n_events,
        "events_per_pack": round(n_events / packs, 1) if packs else None,
        "events_by_type": dict(sorted(sim.counts.items())),
        "expected_findings": dict(sorted(by_rule.items())),
        "violations": sim.injector.rates(),
        "bytes": sizes,
    }
