"""The demo: a simulated national world, ingested, with keys for every kind of user.

``battrace demo`` (and ``make demo``) runs :func:`prepare_demo` and then serves the app. The
world is made once per data folder: a second run reuses the database it finds there.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any

from battrace.domain.state import Status
from battrace.interop.jsonl import read_jsonl
from battrace.services.access import create_key
from battrace.services.orgs import import_orgs
from battrace.services.platform import Platform
from battrace.services.simulate import simulate
from battrace.services.simulate.params import SimulationParams

#: Lighter packs than the simulator's realistic default (8-12 modules of 8-12 cells, 170-cell CTP),
#: so that the default demo world (20,000 packs) is generated and ingested in about a minute.
LIGHT = {"cells_per_module": (2, 3), "modules_per_pack": (2, 4), "ctp_cells": 12}
KEY_ROLES = ("admin", "regulator_national", "regulator_province", "battery_maker", "vehicle_maker", "recycler",
             "reuse_enterprise", "dismantler")


@dataclass
class DemoWorld:
    database_url: str
    data_dir: Path
    summary: dict[str, Any]
    keys: dict[str, dict[str, str]] = field(default_factory=dict)
    reused: bool = False
    sample_codes: list[str] = field(default_factory=list)


def demo_params(packs: int, seed: int, full_cells: bool) -> SimulationParams:
    params = SimulationParams(packs=packs, seed=seed)
    return params if full_cells else replace(params, **LIGHT)  # type: ignore[arg-type]


def prepare_demo(
    data_dir: Path,
    *,
    packs: int = 20_000,
    seed: int = 1,
    full_cells: bool = False,
    fresh: bool = False,
    now: datetime,
    on_stage: Callable[[str, int | None], Callable[[int], None]] | None = None,
) -> DemoWorld:
    """Simulate, ingest and key a demo world in ``data_dir`` (reused unless ``fresh``)."""
    data_dir.mkdir(parents=True, exist_ok=True)
    db = data_dir / "battrace.db"
    url = f"sqlite:///{db}"
    marker = data_dir / "demo.json"
    params = demo_params(packs, seed, full_cells)
    stage = on_stage or (lambda _name, _total: (lambda _n: None))
    if fresh or not marker.exists() or json.loads(marker.read_text())["params"] != _params_key(params):
        for path in (db, db.with_name(db.name + "-wal"), db.with_name(db.name + "-shm"), marker):
            path.unlink(missing_ok=True)
        result = simulate(params, data_dir / "world", progress=stage("simulate", packs))
        summary = result.summary
        platform = Platform.open(url)
        try:
            orgs = json.loads((data_dir / "world" / "orgs.json").read_text(encoding="utf-8"))
            import_orgs(platform.store, orgs, now)
            total = int(summary.get("events", 0)) or None
            report = platform.ledger.ingest(read_jsonl(data_dir / "world" / "events.jsonl"), import_history=True,
                                            progress=stage("ingest", total))
            summary = {**summary, "ingest": report.as_dict()}
            _evaluate_as_of(platform, params, stage)
            from battrace.services.simulate.supervision import populate  # issue 15: cases, outlets, reports

            summary = {**summary, "supervision": populate(platform, seed=params.seed, end=params.end)}
            keys = _make_keys(platform, orgs, now)
        finally:
            platform.close()
        marker.write_text(json.dumps({"params": _params_key(params), "keys": keys, "summary": summary},
                                     ensure_ascii=False, indent=2, default=str), encoding="utf-8")
        reused = False
    else:
        saved = json.loads(marker.read_text(encoding="utf-8"))
        keys, summary, reused = saved["keys"], saved["summary"], True
    world = DemoWorld(url, data_dir, summary, keys, reused)
    world.sample_codes = _sample_codes(url)
    return world


def _params_key(params: SimulationParams) -> dict[str, Any]:
    return json.loads(json.dumps(params.__dict__, default=str))


def _evaluate_as_of(platform: Platform, params: SimulationParams,
                    stage: Callable[[str, int | None], Callable[[int], None]]) -> None:
    try:
        from battrace.services.compliance import evaluate_as_of
    except ImportError:  # the compliance engine is optional
        return
    step = stage("findings as of the end date", None)
    evaluate_as_of(platform.store, params.end)
    step(1)


def _make_keys(platform: Platform, orgs: list[dict[str, Any]], now: datetime) -> dict[str, dict[str, str]]:
    def first(pred: Callable[[dict[str, Any]], bool]) -> dict[str, Any] | None:
        return next((o for o in orgs if pred(o)), None)

    picks = {
        "regulator_national": first(lambda o: o["type"] == "regulator" and o.get("jurisdiction") == "000000"),
        "regulator_province": first(lambda o: o["type"] == "regulator" and o.get("jurisdiction") != "000000"),
        "battery_maker": first(lambda o: o["type"] == "battery_maker"),
        "vehicle_maker": first(lambda o: o["type"] == "vehicle_maker"),
        "recycler": first(lambda o: o["type"] == "recycler"),
        "reuse_enterprise": first(lambda o: o["type"] == "reuse_enterprise"),
        "dismantler": first(lambda o: o["type"] == "dismantler"),
    }
    keys = {"admin": {"org": "", "name": "platform admin", "key": create_key(platform.store, None, now, admin=True,
                                                                             label="demo")}}
    for role, org in picks.items():
        if org is not None:
            keys[role] = {"org": org["credit_code"], "name": org["name"],
                          "key": create_key(platform.store, org["credit_code"], now, label="demo")}
    return keys


def _sample_codes(url: str) -> list[str]:
    from battrace.storage import reporting

    platform = Platform.open(url)
    try:
        with platform.store.reader() as conn:
            return reporting.sample_codes(conn, (Status.IN_SERVICE, Status.WASTE, Status.RECYCLED))
    finally:
        platform.close()
