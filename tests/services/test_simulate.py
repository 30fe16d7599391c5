"""The world simulator: determinism, the event contract, ordering, custody, violation rates, ingest."""

from __future__ import annotations

import json
import math
from collections import Counter
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from battrace.cli import app
from battrace.domain.codes import parse_code
from battrace.domain.credit import is_valid_credit_code
from battrace.domain.events import parse_event
from battrace.domain.vin import is_valid_vin
from battrace.services.simulate import FILES, RULES, SimulationParams, simulate

# Required fields of each type, transcribed from shared/domain/events.md (not from the code).
REQUIRED = {
    "battery.produced": {"battery", "model", "rated_capacity_ah", "nominal_voltage_v", "rated_energy_kwh", "mass_kg"},
    "battery.assembled": {"battery", "components"},
    "techinfo.filed": {"model", "ccc_certified_at", "document"},
    "vehicle.certified": {"vin", "vehicle_model", "swap_model", "batteries", "certificate_no"},
    "vehicle.sold": {"vin"},
    "battery.swapped": {"vin", "removed", "installed"},
    "battery.replaced": {"vin", "removed", "reason"},
    "battery.repaired": {"battery"},
    "vehicle.scrapped": {"vin", "batteries_present", "certificate_no"},
    "battery.removed": {"battery", "vin"},
    "battery.handed_over": {"batteries", "to"},
    "battery.received": {"batteries", "from"},
    "battery.tested": {"battery", "soh"},
    "battery.remanufactured": {"product", "sources", "application"},
    "product.delivered": {"battery", "application", "customer"},
    "battery.dismantled": {"battery"},
    "battery.recycled": {"batteries", "process", "outputs"},
    "battery.reported_missing": {"battery", "reason"},
    "battery.discarded": {"battery", "reason"},
    "product.returned": {"battery", "reason"},
}
COMMON = {"event_id", "type", "occurred_at", "recorded_at", "reporter"}
CODE_FIELDS = ("battery", "removed", "installed", "product")
CODE_LISTS = ("batteries", "components", "sources", "batteries_present")

SMALL = SimulationParams(packs=150, seed=7, end=date(2026, 6, 30))
# Violation rates raised so that every class shows up in a few hundred packs.
BOOSTED = {rule: 0.15 for rule in RULES}


def _load(out: Path) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]], dict[str, Any]]:
    events = [json.loads(line) for line in (out / "events.jsonl").read_text(encoding="utf-8").splitlines()]
    orgs = json.loads((out / "orgs.json").read_text(encoding="utf-8"))
    findings = json.loads((out / "expected_findings.json").read_text(encoding="utf-8"))
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    return events, orgs, findings, summary


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("small")
    simulate(SMALL, out)
    return out


@pytest.fixture(scope="module")
def boosted(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("boosted")
    simulate(SimulationParams(packs=600, seed=3, with_cells=False, rates=BOOSTED, life_scale_years=6.0), out)
    return out


def test_same_seed_gives_identical_bytes(small: Path, tmp_path: Path) -> None:
    simulate(SMALL, tmp_path)
    for name in FILES:
        assert (tmp_path / name).read_bytes() == (small / name).read_bytes(), name
    assert not (tmp_path / ".events.tmp").exists()


def test_another_seed_gives_another_world(small: Path, tmp_path: Path) -> None:
    simulate(SimulationParams(packs=SMALL.packs, seed=SMALL.seed + 1, end=SMALL.end), tmp_path)
    assert (tmp_path / "events.jsonl").read_bytes() != (small / "events.jsonl").read_bytes()


def test_events_follow_the_contract_with_valid_identifiers(small: Path) -> None:
    events, orgs, _, _ = _load(small)
    credit = {o["credit_code"] for o in orgs}
    seen_ids: set[tuple[str, str]] = set()
    for e in events:
        assert set(e) >= COMMON, e
        assert set(e) >= REQUIRED[e["type"]], e
        assert e["occurred_at"].endswith("+08:00") and e["recorded_at"].endswith("+08:00")
        assert datetime.fromisoformat(e["recorded_at"]) >= datetime.fromisoformat(e["occurred_at"])
        assert e["reporter"] in credit
        key = (e["reporter"], e["event_id"])
        assert key not in seen_ids
        seen_ids.add(key)
        for f in CODE_FIELDS:
            if f in e:
                parse_code(e[f])
        for f in CODE_LISTS:
            for code in e.get(f) or ():
                parse_code(code)
        if "vin" in e:
            assert is_valid_vin(e["vin"]), e["vin"]
        for f in ("to", "from"):
            if f in e:
                assert e[f] in credit
        parse_event(e)  # the platform's own validator: no unknown top-level fields, types right


def test_orgs_are_valid_and_complete(small: Path) -> None:
    _, orgs, _, _ = _load(small)
    types = Counter(o["type"] for o in orgs)
    assert set(types) == {"battery_maker", "vehicle_maker", "swap_operator", "repair_shop", "dismantler",
                          "collection_outlet", "reuse_enterprise", "recycler", "regulator"}
    codes = [c for o in orgs for c in o["manufacturer_codes"]]
    assert len(codes) == len(set(codes)) and all(len(c) == 3 for c in codes)
    by_code = {o["credit_code"]: o for o in orgs}
    assert len(by_code) == len(orgs)
    for o in orgs:
        assert is_valid_credit_code(o["credit_code"])
        if o["type"] == "collection_outlet":
            assert by_code[o["operated_for"]]["type"] in ("vehicle_maker", "battery_maker")
        if o["type"] == "regulator":
            assert o["jurisdiction"] is not None
    assert any(o["jurisdiction"] == "000000" for o in orgs)
    today = SMALL.end.isoformat()
    lapsed = [o for o in orgs if o["type"] == "recycler" and any(q["valid_to"] < today for q in o["qualifications"])]
    assert lapsed


def test_events_are_ordered_by_recorded_at(small: Path) -> None:
    events, _, _, _ = _load(small)
    times = [datetime.fromisoformat(e["recorded_at"]) for e in events]
    assert times == sorted(times)
    assert min(e["occurred_at"] for e in events) >= SMALL.start.isoformat()
    assert max(times) <= datetime.fromisoformat(f"{SMALL.end.isoformat()}T23:59:59+08:00")


def test_summary_counts_match_the_files(small: Path) -> None:
    events, _, findings, summary = _load(small)
    assert summary["events"] == len(events)
    assert summary["events_by_type"] == dict(sorted(Counter(e["type"] for e in events).items()))
    assert sum(summary["packs_by_final_state"].values()) == summary["batteries"]["pack"]
    assert summary["expected_findings"] == dict(sorted(Counter(f["rule"] for f in findings).items()))
    assert 30 <= summary["events_per_pack"] <= 220
    assert summary["packs_by_final_state"]["in_service"] > summary["batteries"]["pack"] / 2


def _replay(events: list[dict[str, Any]], orgs: list[dict[str, Any]], crossed: set[str],
            unreported: frozenset[str] | set[str] = frozenset()) -> dict[str, dict[str, Any]]:
    """An independent custody checker: the rules of the brief, replayed event by event.

    ``crossed`` are the swap reports of injected R10 pairs, the only ones allowed to name a pack
    bound to another vehicle; ``unreported`` the scrappings of injected R13s, the only ones allowed
    to find a pack bound to another vehicle.
    """
    org_type = {o["credit_code"]: o["type"] for o in orgs}
    makers = {c: o["credit_code"] for o in orgs for c in o["manufacturer_codes"]}
    b: dict[str, dict[str, Any]] = {}
    vehicles: dict[str, dict[str, Any]] = {}

    def new(code: str, who: str, **extra: Any) -> None:
        assert code not in b, f"duplicate code {code}"
        assert makers[code[:3]] == who, f"{code} coded by {who}, not its maker"
        b[code] = {"state": "produced", "custodian": who, "parent": None, "vin": None, **extra}

    for e in events:
        t, who = e["type"], e["reporter"]
        if t == "battery.produced":
            assert org_type[who] == "battery_maker"
            new(e["battery"], who)
            for c in e.get("components") or ():
                assert b[c]["parent"] is None and b[c]["state"] == "produced" and c[3] < e["battery"][3] or (
                    c[3] == "C" and e["battery"][3] in "MP")
                b[c]["parent"] = e["battery"]
        elif t == "vehicle.certified":
            assert e["vin"] not in vehicles
            vehicles[e["vin"]] = {"maker": who, "swap": e["swap_model"], "scrapped": False, "packs": set()}
            for p in e["batteries"]:
                assert b[p]["state"] == "produced" and b[p]["parent"] is None and b[p]["vin"] is None
                b[p].update(state="installed", vin=e["vin"], custodian=None)
                vehicles[e["vin"]]["packs"].add(p)
        elif t == "vehicle.sold":
            assert vehicles[e["vin"]]["maker"] == who
            for p in vehicles[e["vin"]]["packs"]:
                b[p]["state"] = "in_service"
        elif t in ("battery.swapped", "battery.replaced"):
            v = vehicles[e["vin"]]
            assert not v["scrapped"]
            old = b[e["removed"]]
            assert old["state"] in ("installed", "in_service")
            if old["vin"] != e["vin"]:  # R10: it leaves the vehicle it was really bound to
                assert e["event_id"] in crossed, e
                vehicles[old["vin"]]["packs"].discard(e["removed"])
            v["packs"].discard(e["removed"])
            old.update(vin=None, custodian=who, state="swap_stock" if t == "battery.swapped" else "waste")
            if e.get("installed"):
                new_p = b[e["installed"]]
                assert new_p["state"] in ("produced", "swap_stock") and new_p["parent"] is None
                assert new_p["state"] == "produced" or new_p["custodian"] == who
                new_p.update(state="in_service", vin=e["vin"], custodian=None)
                v["packs"].add(e["installed"])
            if t == "battery.swapped":
                assert v["swap"] and org_type[who] == "swap_operator"
        elif t == "battery.repaired":
            assert b[e["battery"]]["state"] in ("installed", "in_service")
            for item in e.get("components_replaced") or ():
                old, spare = b[item["removed"]], b[item["installed"]]
                assert old["parent"] == e["battery"]
                assert spare["parent"] is None and spare["state"] == "produced"
                old.update(state="waste", custodian=who, parent=None)
                spare["parent"] = e["battery"]
        elif t == "vehicle.scrapped":
            v = vehicles[e["vin"]]
            v["scrapped"] = True
            for p in e["batteries_present"]:
                if b[p]["vin"] != e["vin"]:  # R13: an unreported replacement; the record follows the report
                    assert e["event_id"] in unreported, e
                    vehicles[b[p]["vin"]]["packs"].discard(p)
                    v["packs"].add(p)
                b[p].update(custodian=who, vin=e["vin"])
        elif t == "battery.removed":
            assert vehicles[e["vin"]]["scrapped"] and b[e["battery"]]["vin"] == e["vin"]
            b[e["battery"]].update(state="waste", custodian=who, vin=None)
            vehicles[e["vin"]]["packs"].discard(e["battery"])
        elif t == "battery.handed_over":
            assert e["to"] in org_type and e["to"] != who
            for c in e["batteries"]:
                assert b[c]["custodian"] == who, f"{who} hands over {c} held by {b[c]['custodian']}"
                assert b[c]["state"] in ("waste", "swap_stock", "produced", "dismantled")
                b[c].update(prior=b[c]["state"], state="in_transit", to=e["to"])
        elif t == "battery.received":
            for c in e["batteries"]:
                assert b[c]["state"] == "in_transit" and b[c]["to"] == who and b[c]["custodian"] == e["from"]
                b[c].update(state=b[c]["prior"], custodian=who, to=None)
        elif t == "battery.tested":
            assert b[e["battery"]]["custodian"] == who
            assert b[e["battery"]]["state"] not in ("dismantled", "recycled", "remade", "missing")
        elif t == "battery.remanufactured":
            assert org_type[who] == "reuse_enterprise"
            for c in e["sources"]:
                assert b[c]["custodian"] == who and b[c]["state"] == "waste"
                b[c]["state"] = "remade"
            new(e["product"], who)
        elif t == "product.delivered":
            assert b[e["battery"]]["custodian"] == who and b[e["battery"]]["state"] == "produced"
            b[e["battery"]]["state"] = "in_service"
        elif t == "battery.dismantled":
            assert b[e["battery"]]["custodian"] == who and b[e["battery"]]["state"] == "waste"
            b[e["battery"]]["state"] = "dismantled"
            for c in e.get("components") or ():
                assert b[c]["parent"] == e["battery"]
                b[c].update(state="waste", custodian=who, parent=None)
        elif t == "battery.recycled":
            assert org_type[who] == "recycler"
            for c in e["batteries"]:
                assert b[c]["custodian"] == who and b[c]["state"] in ("waste", "dismantled")
                b[c]["state"] = "recycled"
        elif t == "battery.reported_missing":
            assert b[e["battery"]]["custodian"] == who
            b[e["battery"]]["state"] = "missing"
        elif t == "battery.discarded":
            assert org_type[who] in ("battery_maker", "vehicle_maker") and b[e["battery"]]["custodian"] == who
            assert b[e["battery"]]["state"] == "produced" and b[e["battery"]]["parent"] is None
            b[e["battery"]]["state"] = "waste"
        elif t == "product.returned":
            assert b[e["battery"]]["state"] == "in_service" and b[e["battery"]]["vin"] is None
            b[e["battery"]].update(state="waste", custodian=who)
    return b


def test_custody_is_consistent(small: Path, boosted: Path) -> None:
    for out in (small, boosted):
        events, orgs, findings, summary = _load(out)
        states = _replay(events, orgs, {f["event_id"] for f in findings if f["rule"] == "R10"},
                         {f["event_id"] for f in findings if f["rule"] == "R13"})
        packs = Counter(s["state"] for code, s in states.items() if code[3] == "P" and len(code) == 24)
        assert dict(sorted(packs.items())) == summary["packs_by_final_state"]


def test_each_violation_appears_at_roughly_its_rate(boosted: Path) -> None:
    events, orgs, findings, summary = _load(boosted)
    for rule, v in summary["violations"].items():
        n, k, p = v["opportunities"], v["injected"], v["configured"]
        assert n >= 20, f"{rule}: only {n} opportunities"
        sigma = math.sqrt(n * p * (1 - p))
        assert abs(k - n * p) <= 4 * sigma + 1, f"{rule}: {k} of {n} at rate {p}"
        assert any(f["rule"] == rule for f in findings), rule


def test_findings_point_at_real_violations(boosted: Path) -> None:
    events, orgs, findings, _ = _load(boosted)
    by_id = {e["event_id"]: e for e in events}
    position = {e["event_id"]: i for i, e in enumerate(events)}
    by_org = {o["credit_code"]: o for o in orgs}
    bound: dict[str, str | None] = {}
    removed_from: dict[str, str | None] = {}  # swap event id -> where its removed pack was bound
    for x in events:
        if x["type"] == "vehicle.certified":
            for p in x["batteries"]:
                bound[p] = x["vin"]
        elif x["type"] in ("battery.swapped", "battery.replaced"):
            removed_from[x["event_id"]] = bound.get(x["removed"])
            bound[x["removed"]] = None
            if x.get("installed"):
                bound[x["installed"]] = x["vin"]

    def bound_at(e: dict[str, Any]) -> str | None:
        return removed_from[e["event_id"]]
    for f in findings:
        e = by_id.get(f["event_id"]) if f["event_id"] else None
        if f["event_id"]:
            assert e is not None, f
        if f["rule"] == "R01":
            assert e is not None and e["type"] == "vehicle.scrapped" and f["batteries"][0] not in e["batteries_present"]
        elif f["rule"] == "R02":  # the hand-over (the sender's side) or the receipt (the receiver's)
            assert e is not None and e["type"] in ("battery.handed_over", "battery.received")
            receiver = by_org[e["to"] if e["type"] == "battery.handed_over" else e["reporter"]]
            day = e["occurred_at"][:10]
            lapsed = any(q["valid_to"] < day for q in receiver["qualifications"])
            assert receiver["type"] not in ("collection_outlet", "reuse_enterprise", "recycler") or lapsed
        elif f["rule"] == "R03":
            assert e is not None and e["application"] == "e_bike"
        elif f["rule"] == "R04":
            assert e is not None
            since = e["ccc_certified_at"] if e["type"] == "techinfo.filed" else e["occurred_at"]
            lag = datetime.fromisoformat(e["recorded_at"]) - datetime.fromisoformat(since)
            assert lag.days > (190 if e["type"] == "techinfo.filed" else 30)
        elif f["rule"] == "R04b":
            assert e is not None and e["type"] == "battery.handed_over"
            later = events[position[e["event_id"]] + 1:]
            assert not any(x["type"] == "battery.received" and x["batteries"] == e["batteries"] for x in later)
        elif f["rule"] == "R10":
            assert e is not None and e["type"] == "battery.swapped" and e["vin"] == f["vin"]
            assert bound_at(e) != e["vin"]
        elif f["rule"] == "R09":
            assert e is not None and e["type"] == "battery.remanufactured"
            untested = set(f["batteries"][1:])
            assert untested and not any(x["type"] == "battery.tested" and x["battery"] in untested for x in events)


def test_normal_reports_are_on_time(small: Path) -> None:
    events, _, findings, _ = _load(small)
    late = {f["event_id"] for f in findings if f["rule"] == "R04"}
    for e in events:
        if e["event_id"] in late or e["type"] == "techinfo.filed":
            continue
        lag = datetime.fromisoformat(e["recorded_at"]) - datetime.fromisoformat(e["occurred_at"])
        assert lag.days < 15, e


def test_packs_only_mode_has_no_cells(tmp_path: Path) -> None:
    result = simulate(SimulationParams(packs=50, seed=1, with_cells=False), tmp_path)
    assert result.summary["batteries"]["cell"] == 0 and result.summary["batteries"]["module"] == 0


def test_cli_writes_the_files_and_prints_json(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["simulate", "--packs", "40", "--seed", "2", "--out", str(tmp_path),
                                      "--no-cells", "--rate", "R01=0.5", "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["params"]["rates"]["R01"] == 0.5 and summary["vehicles"] == 40
    for name in FILES:
        assert (tmp_path / name).exists()


def test_cli_rejects_an_unknown_rule(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["simulate", "--packs", "5", "--out", str(tmp_path), "--rate", "R99=0.1"])
    assert result.exit_code != 0


def test_the_ledger_accepts_every_event_of_a_world(tmp_path: Path) -> None:
    """A small world with its modules and cells goes through the real ledger without a rejection."""
    from battrace.services.ledger import Ledger
    from battrace.services.orgs import import_orgs
    from battrace.storage.store import Store

    out = tmp_path / "world"
    params = SimulationParams(packs=60, seed=11, end=date(2026, 6, 30), rates=BOOSTED, life_scale_years=5.0)
    simulate(params, out)
    events, orgs, _, summary = _load(out)
    now = datetime.fromisoformat("2026-07-01T00:00:00+08:00")
    store = Store(f"sqlite:///{tmp_path / 'ledger.db'}")
    try:
        import_orgs(store, orgs, now)
        report = Ledger(store, now=lambda: now).ingest(enumerate(events, 1), import_history=True)
        rejected = [(o.line, o.code, o.message) for o in report.outcomes if o.status == "rejected"]
        assert rejected == []
        assert report.accepted == len(events)
        packs = [c for c in {e["battery"] for e in events if e["type"] == "battery.produced"} if c[3] == "P"]
        with store.reader() as conn:
            states = store.get_batteries(conn, packs)
        assert dict(sorted(Counter(s.state for s, _, _ in states.values()).items())) == \
            summary["packs_by_final_state"]
    finally:
        store.close()


def test_no_trail_is_lost_or_left_unconfirmed_unless_injected(boosted: Path) -> None:
    """Scoring needs no false positives: every stale waste battery and open hand-over is a finding."""
    events, orgs, findings, summary = _load(boosted)
    end = datetime.fromisoformat(f"{summary['params']['end']}T23:59:59+08:00")
    last: dict[str, datetime] = {}
    state: dict[str, str] = {}
    open_handover: dict[str, str] = {}
    for e in events:
        at = datetime.fromisoformat(e["occurred_at"])
        t = e["type"]
        if t == "battery.removed" or (t == "battery.replaced"):
            code = e.get("removed") or e["battery"]
            state[code], last[code] = "waste", at
        elif t == "battery.repaired":
            for item in e.get("components_replaced") or ():
                state[item["removed"]], last[item["removed"]] = "waste", at
        elif t == "battery.dismantled":
            for c in e.get("components") or ():
                state[c], last[c] = "waste", at
            state[e["battery"]], last[e["battery"]] = "dismantled", at
        elif t == "battery.handed_over":
            for c in e["batteries"]:
                if state.get(c) in ("waste", "dismantled"):
                    last[c] = at
                    open_handover[c] = e["event_id"]
        elif t == "battery.received":
            for c in e["batteries"]:
                if c in open_handover:
                    del open_handover[c]
                    last[c] = at
        elif t in ("battery.recycled", "battery.remanufactured", "battery.reported_missing"):
            for c in e.get("batteries") or e.get("sources") or [e.get("battery")]:
                state[c] = "done"
    stale = {c for c, s in state.items() if s in ("waste", "dismantled") and (end - last[c]).days > 90}
    lost = {c for f in findings if f["rule"] in ("R05", "R04b") for c in f["batteries"]}
    assert stale and stale <= lost  # (stale: the injected idle trails)
    unconfirmed = {h for c, h in open_handover.items() if (end - last[c]).days > 60}
    assert unconfirmed <= {f["event_id"] for f in findings if f["rule"] == "R04b"}


def test_output_does_not_depend_on_the_hash_seed(tmp_path: Path) -> None:
    """Two interpreters with different string-hash seeds write the same bytes (no set-order leaks)."""
    import os
    import subprocess
    import sys

    outs = []
    for hash_seed in ("1", "2"):
        out = tmp_path / hash_seed
        env = {**os.environ, "PYTHONHASHSEED": hash_seed}
        subprocess.run([sys.executable, "-m", "battrace", "simulate", "--packs", "120", "--seed", "5", "--out",
                        str(out), "--json"], check=True, env=env, capture_output=True)
        outs.append(out)
    for name in FILES:
        assert (outs[0] / name).read_bytes() == (outs[1] / name).read_bytes(), name


def test_progress_counts_every_vehicle(tmp_path: Path) -> None:
    seen: list[int] = []
    simulate(SimulationParams(packs=250, seed=2, with_cells=False), tmp_path, progress=seen.append)
    assert sum(seen) == 250


def test_the_compliance_engine_raises_exactly_the_expected_findings(tmp_path: Path) -> None:
    """End to end: ingest a world, evaluate as of its end, compare with expected_findings.json."""
    compliance = pytest.importorskip("battrace.services.compliance")
    from battrace.services.orgs import import_orgs
    from battrace.services.platform import Platform

    out = tmp_path / "world"
    params = SimulationParams(packs=300, seed=8, with_cells=False, rates={r: 0.1 for r in RULES},
                              life_scale_years=6.0)
    simulate(params, out)
    events, orgs, expected, _ = _load(out)
    now = datetime.fromisoformat("2026-11-20T00:00:00+08:00")
    platform = Platform.open(f"sqlite:///{tmp_path / 'db.sqlite'}")
    try:
        platform.ledger.now = lambda: now
        import_orgs(platform.store, orgs, now)
        report = platform.ledger.ingest(enumerate(events, 1), import_history=True)
        assert report.rejected == 0
        compliance.evaluate_as_of(platform.store, params.end)
        got: list[dict[str, Any]] = []
        while page := compliance.list_findings(platform.store, limit=1000, offset=len(got)):
            got.extend(page)
    finally:
        platform.close()

    def keys(f: dict[str, Any]) -> set[tuple[str, str]]:
        return {(f["rule"], f["event_id"])} if f.get("event_id") else {(f["rule"], b) for b in f["batteries"]}

    got_keys = set().union(*(keys(f) for f in got))
    expected_keys = set().union(*(keys(f) for f in expected))
    assert [f for f in expected if not keys(f) & got_keys] == []  # nothing missed
    assert [f for f in got if not keys(f) & expected_keys] == []  # no false positives


def test_the_world_has_whole_lives_production_scrap_and_unreported_replacements(boosted: Path) -> None:
    events, _, findings, summary = _load(boosted)
    types = Counter(e["type"] for e in events)
    assert types["battery.discarded"] > 0 and types["product.returned"] > 0
    returned = {e["battery"] for e in events if e["type"] == "product.returned"}
    recycled = {c for e in events if e["type"] == "battery.recycled" for c in e["batteries"]}
    assert returned and returned <= recycled  # returned products end their second life in recycling
    rules = Counter(f["rule"] for f in findings)
    assert rules["R13"] > 0 and rules["R14"] > 0
    assert summary["expected_findings"]["R13"] == rules["R13"]


def test_org_names_name_the_province_they_are_in(small: Path) -> None:
    """Issue 16, point 11: no "山东省…回收服务网点（贵州省）" — a name that starts with a province names
    the organisation's own, and no other province appears in it."""
    from battrace.services.simulate.world import region_table

    names = {code: zh for code, (zh, _en) in region_table()[2].items()}
    orgs = json.loads((small / "orgs.json").read_text(encoding="utf-8"))
    outlets = [o for o in orgs if o["type"] == "collection_outlet"]
    assert outlets
    for org in orgs:
        if org["type"] == "regulator" and org.get("jurisdiction") == "000000":
            continue
        own = names[org["region"]]
        assert org["name"].startswith(own), org
        others = [p for code, p in names.items() if p != own and p in org["name"]]
        assert others == [], org
