"""Supervision on a simulated world, after its events are ingested: outlets, cases, answers, public
reports — so the demo shows a living supervision picture.

Deterministic for a seed (one RNG seeded from it; findings and organisations are read in a fixed
order). Times run from the simulation's end date backwards, so cases have ages and some were closed
after some days (the dashboard's mean time to close).

- **Outlets**: every registered collection outlet gets a directory entry (with an address and what
  it accepts); each re-use enterprise sets up a take-back outlet in its own region.
- **Cases**: about ``case_rate`` of the open violations and warnings, each opened by the regulator of
  its province (or the national one), then moved on: rectification ordered, answered, closed,
  escalated with a fine or a warning, or transferred to the environment department (R02/R05).
- **Public reports**: ``reports`` reports on retired packs, some linked, some dismissed.
"""

from __future__ import annotations

import random
from datetime import date, datetime, time, timedelta
from typing import Any

from battrace.clock import CHINA
from battrace.domain.access import Caller
from battrace.errors import BattraceError
from battrace.services import cases as svc
from battrace.services import reports as report_svc
from battrace.services.compliance import list_findings
from battrace.services.outlets import add_outlets
from battrace.services.platform import Platform
from battrace.storage.supervision import waste_pack_codes

ACCEPTS = (["pack"], ["pack", "module"], ["pack", "module", "cell"])
WHAT = ("路边摊低价出售拆下的动力电池", "电动自行车店出售疑似退役动力电池改装的电池", "小作坊拆解废旧电池，无防护措施",
        "废旧电池堆放在露天场地")


def _at(day: date, rng: random.Random) -> datetime:
    return datetime.combine(day, time(9 + rng.randrange(8), rng.randrange(60)), CHINA)


def populate(platform: Platform, *, seed: int, end: date, case_rate: float = 0.02, max_cases: int = 300,
             reports: int = 30) -> dict[str, int]:
    """Outlets, cases and public reports on the ingested world; returns counts."""
    rng = random.Random(f"{seed}/supervision")
    store = platform.store
    counts = {"outlets": 0, "cases": 0, "steps": 0, "closed": 0, "reports": 0}
    with store.reader() as conn:
        orgs = store.load_orgs(conn)
    admin = Caller(admin=True)
    entries = []
    for o in sorted(orgs.values(), key=lambda o: o.credit_code):
        if o.type == "collection_outlet" and o.operated_for in orgs and o.region:
            entries.append({"name": o.name, "operated_for": o.operated_for, "operator": o.credit_code,
                            "region": o.region, "address": f"{o.region} 示例路 {rng.randrange(1, 300)} 号",
                            "accepts": rng.choice(ACCEPTS)})
        if o.type == "reuse_enterprise" and o.region:
            entries.append({"name": f"{o.name}回收点", "operated_for": o.credit_code, "region": o.region,
                            "address": f"{o.region} 梯次路 {rng.randrange(1, 300)} 号", "accepts": ["remade_product"]})
    if entries:
        counts["outlets"] = add_outlets(store, admin, entries, _at(end, rng))["added"]

    regulators = {o.jurisdiction: o for o in orgs.values() if o.type == "regulator" and o.jurisdiction}
    findings = [f for f in list_findings(store, state="open", limit=1000) if f["severity"] != "notice"]
    rng.shuffle(findings)
    picked = findings[: min(max_cases, max(1, int(len(findings) * case_rate)))] if findings else []
    for f in picked:
        province = f"{(f['region'] or '00')[:2]}0000"
        reg = regulators.get(province) or regulators.get("000000")
        if reg is None:
            break
        caller = Caller(org=reg.credit_code, org_type="regulator", jurisdiction=reg.jurisdiction)
        opened = end - timedelta(days=rng.randrange(20, 120))
        company = f["responsible"] or (f["orgs"][0] if f["orgs"] else None)
        if company is None:
            continue
        try:
            case = svc.open_case(store, caller, [f["id"]], reason="模拟：日常监督检查", now=_at(opened, rng))
        except BattraceError:
            continue
        counts["cases"] += 1
        counts["steps"] += 1 + _advance(store, caller, case, company, f, opened, end, rng)
        counts["closed"] += svc.get_case(store, admin, case["id"])["state"] == "closed"

    with store.reader() as conn:
        codes = waste_pack_codes(conn, reports)
    provinces = sorted(p for p in regulators if p != "000000")
    for i, code in enumerate(codes):
        region = (rng.choice(provinces) if provinces else "110000")[:2] + "0101"
        day = end - timedelta(days=rng.randrange(1, 60))
        try:
            out = report_svc.submit(store, {"code": code, "what": rng.choice(WHAT), "region": region},
                                    client=f"sim-{i}", now=_at(day, rng))
        except BattraceError:
            continue
        counts["reports"] += 1
        reg = regulators.get(region[:2] + "0000")
        if reg is None or i % 3 == 0:
            continue
        caller = Caller(org=reg.credit_code, org_type="regulator", jurisdiction=reg.jurisdiction)
        action = {"action": "link"} if i % 3 == 1 else {"action": "dismiss", "reason": "核查后未发现问题"}
        report_svc.triage(store, caller, out["receipt"], action, _at(day + timedelta(days=2), rng))
    return counts


def _advance(store: Any, regulator: Caller, case: dict[str, Any], company: str, finding: dict[str, Any],
             opened: date, end: date, rng: random.Random) -> int:
    """Move a case on from ``opened``; returns the steps added."""
    steps = 0
    roll = rng.random()
    day = opened + timedelta(days=rng.randrange(1, 5))
    if roll < 0.15:
        return steps  # still just opened
    try:
        if roll < 0.25:
            measure = "transfer" if finding["rule"] in ("R02", "R05") else "warning"
            body: dict[str, Any] = {"measure": measure, "reason": "模拟：情节较重"}
            if measure == "transfer":
                body["department"] = "environment"
            svc.act(store, regulator, case["id"], "escalate", body, _at(day, rng))
            return steps + 1
        due = day + timedelta(days=30)
        svc.act(store, regulator, case["id"], "order",
                {"due_date": due.isoformat(), "legal_basis": "《新能源汽车废旧动力电池回收和综合利用管理暂行办法》"},
                _at(day, rng))
        steps += 1
        if roll < 0.40 or day + timedelta(days=10) > end:
            return steps
        company_caller = Caller(org=company, org_type="company")
        answered = day + timedelta(days=rng.randrange(3, 25))
        cure = [finding["event_id"]] if finding.get("event_id") else []
        try:
            svc.act(store, company_caller, case["id"], "respond",
                    {"text": "模拟：已按要求整改并补报", "curing_events": cure}, _at(answered, rng))
        except BattraceError:  # the event was not the company's own
            svc.act(store, company_caller, case["id"], "respond", {"text": "模拟：已按要求整改"}, _at(answered, rng))
        steps += 1
        if roll < 0.55:
            return steps
        closed = answered + timedelta(days=rng.randrange(1, 10))
        if roll < 0.65:
            svc.act(store, regulator, case["id"], "escalate",
                    {"measure": "fine", "amount": rng.choice((10000, 20000, 50000)), "reason": "模拟：逾期未整改"},
                    _at(closed, rng))
            steps += 1
        svc.act(store, regulator, case["id"], "close", {"reason": "模拟：整改到位", "verified": True},
                _at(closed + timedelta(days=1), rng))
        return steps + 1
    except BattraceError:
        return steps
