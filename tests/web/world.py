"""A world for the web tests: the scripted story (every lifecycle step, lineage pack ↔ modules ↔
cells, a re-made product) plus, for the charts, a few hundred simulated packs imported with their
history — on a real SQLite file, with a key per role."""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from pathlib import Path

from battrace.clock import CHINA
from battrace.config import Settings
from battrace.interop.jsonl import read_jsonl
from battrace.services.access import create_key
from battrace.services.compliance import evaluate_as_of
from battrace.services.orgs import import_orgs
from battrace.services.platform import Platform
from battrace.services.simulate import SimulationParams, simulate
from battrace.services.telemetry import telemetry_for
from tests import story as s
from tests.api.conftest import FAR_REGULATOR, NATIONAL_REGULATOR, NOW

#: Light packs, as the demo makes them (a few modules of a few cells).
LIGHT = {"cells_per_module": (2, 3), "modules_per_pack": (2, 4), "ctp_cells": 12}
SIM_END = date(2026, 11, 15)
ROLES = {
    "maker": s.BATTERY_MAKER, "vehicle_maker": s.VEHICLE_MAKER, "holder": s.REUSER, "repair_shop": s.REPAIR_SHOP,
    "unrelated": s.SWAPPER, "dismantler": s.DISMANTLER, "recycler": s.RECYCLER, "outlet": s.OUTLET,
    "regulator": s.REGULATOR, "far_regulator": FAR_REGULATOR, "national_regulator": NATIONAL_REGULATOR,
}


@dataclass
class World:
    platform: Platform
    keys: dict[str, str]
    sim_summary: dict[str, object] = field(default_factory=dict)


def build_world(db_url: str, *, packs: int = 0, work: Path | None = None) -> World:
    """The story's organisations and events (reported now, :data:`NOW`), then ``packs`` simulated
    packs ingested with ``--import-history``, then the time-based rules evaluated as of the end."""
    platform = Platform(Settings(database_url=db_url), now=lambda: NOW)
    orgs = s.orgs() + [
        {"credit_code": FAR_REGULATOR, "name": "北京市经信局", "type": "regulator", "jurisdiction": "110000"},
        {"credit_code": NATIONAL_REGULATOR, "name": "工业和信息化部", "type": "regulator", "jurisdiction": "000000"},
    ]
    summary: dict[str, object] = {}
    if packs:
        assert work is not None
        params = replace(SimulationParams(packs=packs, seed=7, end=SIM_END), **LIGHT)  # type: ignore[arg-type]
        result = simulate(params, work)
        summary = result.summary
        orgs += json.loads((work / "orgs.json").read_text(encoding="utf-8"))
    import_orgs(platform.store, orgs, NOW)
    keys = {role: create_key(platform.store, org, NOW) for role, org in ROLES.items()}
    keys["admin"] = create_key(platform.store, None, NOW, admin=True)
    if packs:
        assert work is not None
        report = platform.ledger.ingest(read_jsonl(work / "events.jsonl"), import_history=True)
        assert report.rejected == 0, report.as_dict()["rejections"][:3]
    report = platform.ledger.ingest(enumerate(s.story(), 1))
    assert report.accepted == len(s.story()), report.as_dict()["rejections"]
    evaluate_as_of(platform.store, SIM_END)
    return World(platform, keys, summary)


#: When the synthetic BMS frames of :func:`raise_alarms` start (before the world's clock, :data:`NOW`).
ALARM_T0 = datetime(2026, 11, 20, 10, 0, tzinfo=CHINA)


def _frame(code: str, sec: float, **fields: object) -> dict[str, object]:
    """A healthy pack frame ``sec`` seconds after :data:`ALARM_T0` (discharging at 20 A), with overrides."""
    f: dict[str, object] = {"battery": code, "time": (ALARM_T0 + timedelta(seconds=sec)).isoformat(), "soc": 60.0,
                            "voltage": 355.2, "current": 20.0, "cell_voltages": [3.7] * 96,
                            "temperatures": [30.0] * 16, "insulation_kohm": 5000.0}
    f.update(fields)
    return f


def raise_alarms(platform: Platform, code: str) -> list[dict[str, object]]:
    """Three alarm episodes on ``code`` through the platform's telemetry service, one of each level:
    over-temperature (level 1, repair within 7 days), a cell under-voltage a minute later (level 2: a
    second hazard within 24 h, within 1 day) and a thermal runaway (level 3, stop at once)."""
    frames = [_frame(code, 0, temperatures=[30.0] * 15 + [61.0]),
              _frame(code, 60, cell_voltages=[3.7] * 10 + [1.7] + [3.7] * 85)]
    frames += [_frame(code, 1000 + k, temperatures=[30.0] * 15 + [30.0 + 2 * k], voltage=v)
               for k, v in enumerate((355.2, 340.0, 320.0, 290.0, 250.0))]
    report = telemetry_for(platform).ingest(frames, source="test")
    assert report.rejected == 0, report.rejections
    assert [a["hazard"] for a in report.alarms] == ["over_temperature", "cell_under_voltage_discharging",
                                                    "thermal_runaway"], report.alarms
    return report.alarms
