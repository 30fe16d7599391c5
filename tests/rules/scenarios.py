"""Scenario helpers for the rule tests: a platform on the ``db_url`` store, extra organisations and
an event builder for short lifecycles, on top of :mod:`tests.story`.

Events are ingested as history (``import_history``) with ``recorded_at`` one hour after
``occurred_at`` unless a test says otherwise, so only the R04 tests see late reports.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

from battrace.config import Settings
from battrace.domain.events import parse_time
from battrace.domain.vin import with_check_digit
from battrace.services.compliance import evaluate_as_of, list_findings
from battrace.services.ledger import IngestReport
from battrace.services.orgs import import_orgs
from battrace.services.platform import Platform
from tests import story as s

NOW = datetime(2026, 11, 21, 8, 0, tzinfo=UTC)

UNQUALIFIED_RECYCLER = s.credit(11)
LAPSED_RECYCLER = s.credit(12)  # discharge permit valid until 2025-12-31
NO_HW_RECYCLER = s.credit(13)  # everything but a hazardous-waste licence
BJ_OUTLET = s.credit(14)  # registered later to cover Beijing (R11)
OTHER_VEHICLE_MAKER = s.credit(15)


def _quals(*, discharge_until: str = "2030-12-31", hazardous: bool = True) -> list[dict[str, Any]]:
    kinds = ["investment_filing", "eia_approval", "discharge_permit"] + (["hazardous_waste_license"] if hazardous
                                                                         else [])
    return [{"kind": k, "number": f"{k}-9", "valid_from": "2020-01-01",
             "valid_to": discharge_until if k == "discharge_permit" else "2030-12-31"} for k in kinds]


def orgs() -> list[dict[str, Any]]:
    return [
        *s.orgs(),
        {"credit_code": UNQUALIFIED_RECYCLER, "name": "无证回收", "type": "recycler", "region": "360500"},
        {"credit_code": LAPSED_RECYCLER, "name": "排污许可过期", "type": "recycler", "region": "360500",
         "qualifications": _quals(discharge_until="2025-12-31")},
        {"credit_code": NO_HW_RECYCLER, "name": "无危废许可", "type": "recycler", "region": "360500",
         "qualifications": _quals(hazardous=False)},
        {"credit_code": OTHER_VEHICLE_MAKER, "name": "另一汽车", "type": "vehicle_maker", "region": "310000"},
        # a collection outlet that no vehicle or battery maker set up (R02)
        {"credit_code": s.credit(16), "name": "自设网点", "type": "collection_outlet", "region": "440300"},
    ]


BJ_OUTLET_ORG = {"credit_code": BJ_OUTLET, "name": "北京网点", "type": "collection_outlet", "region": "110105",
                 "operated_for": s.VEHICLE_MAKER}

PACK2 = s.code("P", 3)
PACK3 = s.code("P", 4)
NEW_MODULE = s.code("M", 20)
PRODUCT2 = s.code("P", 2, maker="R01", trace=None, day=date(2026, 3, 1))
VIN2 = with_check_digit("LGXCE4CB0R0000002")
VIN3 = with_check_digit("LGXCE4CB0R0000003")


def at(day: str, hour: int = 10) -> str:
    """``2025-06-01`` -> ``2025-06-01T10:00:00+08:00``."""
    return f"{day}T{hour:02d}:00:00+08:00"


@dataclass
class Events:
    """Builds events with fresh ids; each method returns the event (a dict) and keeps it in order."""

    items: list[dict[str, Any]] = field(default_factory=list)

    def add(self, type_: str, reporter: str, day: str, *, recorded: str | None = None, **fields: Any) -> dict[str, Any]:
        event = {"event_id": f"x-{len(self.items):03d}", "type": type_, "occurred_at": at(day) if len(day) == 10
                 else day, "reporter": reporter, **fields}
        if recorded is not None:
            event["recorded_at"] = at(recorded, 18) if len(recorded) == 10 else recorded
        self.items.append(event)
        return event

    # -- makers ---------------------------------------------------------------------------------
    def produce(self, code: str, day: str = "2024-03-05", **kw: Any) -> dict[str, Any]:
        return self.add("battery.produced", s.BATTERY_MAKER, day, battery=code, **{**s.FIG, **kw})

    def certify(self, vin: str, packs: list[str], day: str = "2024-03-20", *, swap_model: bool = False,
                maker: str = s.VEHICLE_MAKER, **kw: Any) -> dict[str, Any]:
        return self.add("vehicle.certified", maker, day, vin=vin, vehicle_model="E1", swap_model=swap_model,
                        batteries=packs, certificate_no=f"WAB{len(self.items):07d}", **kw)

    def sell(self, vin: str, day: str = "2024-04-01", *, region: str = "440300",
             maker: str = s.VEHICLE_MAKER) -> dict[str, Any]:
        return self.add("vehicle.sold", maker, day, vin=vin, region=region)

    def techinfo(self, model: str, ccc: str, day: str, **kw: Any) -> dict[str, Any]:
        return self.add("techinfo.filed", s.BATTERY_MAKER, day, model=model, ccc_certified_at=at(ccc, 0),
                        document="https://example.org/x.pdf", **kw)

    # -- service life ---------------------------------------------------------------------------
    def replace(self, vin: str, removed: str, day: str, installed: str | None = None,
                reporter: str = s.REPAIR_SHOP, **kw: Any) -> dict[str, Any]:
        extra = {"installed": installed} if installed else {}
        return self.add("battery.replaced", reporter, day, vin=vin, removed=removed, reason="fault", **extra, **kw)

    def swap(self, vin: str, removed: str, installed: str, day: str) -> dict[str, Any]:
        return self.add("battery.swapped", s.SWAPPER, day, vin=vin, removed=removed, installed=installed)

    def repair(self, pack: str, removed: str, installed: str, day: str) -> dict[str, Any]:
        return self.add("battery.repaired", s.REPAIR_SHOP, day, battery=pack,
                        components_replaced=[{"removed": removed, "installed": installed}])

    def scrap(self, vin: str, present: list[str], day: str, **kw: Any) -> dict[str, Any]:
        return self.add("vehicle.scrapped", s.DISMANTLER, day, vin=vin, batteries_present=present,
                        certificate_no=f"BF{len(self.items):04d}", **kw)

    def remove(self, code: str, vin: str, day: str, **kw: Any) -> dict[str, Any]:
        return self.add("battery.removed", s.DISMANTLER, day, battery=code, vin=vin, **kw)

    # -- custody --------------------------------------------------------------------------------
    def hand_over(self, codes: list[str], sender: str, to: str, day: str, **kw: Any) -> dict[str, Any]:
        return self.add("battery.handed_over", sender, day, batteries=codes, to=to, **kw)

    def receive(self, codes: list[str], receiver: str, sender: str, day: str, **kw: Any) -> dict[str, Any]:
        return self.add("battery.received", receiver, day, batteries=codes, **{"from": sender}, **kw)

    def transfer(self, codes: list[str], sender: str, to: str, day: str) -> None:
        self.hand_over(codes, sender, to, day)
        self.receive(codes, to, sender, day)

    def test(self, code: str, holder: str, day: str, soh: float = 0.8) -> dict[str, Any]:
        return self.add("battery.tested", holder, day, battery=code, soh=soh, method="gbt34015")

    def remanufacture(self, product: str, sources: list[str], day: str, application: str = "energy_storage",
                      **kw: Any) -> dict[str, Any]:
        """Certified by default (R14); ``certification=None`` leaves it out."""
        kw.setdefault("certification", "CQC-2026-T01")
        if kw["certification"] is None:
            del kw["certification"]
        return self.add("battery.remanufactured", s.REUSER, day, product=product, sources=sources,
                        application=application, **kw)

    def deliver(self, product: str, day: str, application: str = "energy_storage") -> dict[str, Any]:
        return self.add("product.delivered", s.REUSER, day, battery=product, application=application,
                        customer="某项目")

    def missing(self, code: str, holder: str, day: str) -> dict[str, Any]:
        return self.add("battery.reported_missing", holder, day, battery=code, reason="stolen from the yard")

    # -- common openings ------------------------------------------------------------------------
    def in_service(self, pack: str = s.PACK, vin: str = s.VIN, *, swap_model: bool = False,
                   region: str = "440300") -> None:
        """A pack produced, certified in ``vin`` and sold (March-April 2024)."""
        self.produce(pack)
        self.certify(vin, [pack], swap_model=swap_model)
        self.sell(vin, region=region)

    def waste_at_repair_shop(self, pack: str = s.PACK, vin: str = s.VIN, day: str = "2025-06-01") -> None:
        """``pack`` in service, then replaced by a new ``s.SPARE``: waste held by the repair shop."""
        self.in_service(pack, vin)
        self.produce(s.SPARE)
        self.replace(vin, pack, day, installed=s.SPARE)


class Scenario:
    """A platform with the scenario organisations, and helpers to ingest and read findings."""

    def __init__(self, db_url: str, *, file_techinfo: bool = True, **settings: Any) -> None:
        """``file_techinfo``: file the dismantling information of pack model X1 first (so that only the
        R04b tests about it see a missing filing)."""
        self.now = NOW
        self.platform = Platform(Settings(database_url=db_url, **settings), now=lambda: self.now)
        import_orgs(self.platform.store, orgs(), NOW)
        if file_techinfo:
            setup = Events()
            setup.techinfo("X1", "2024-01-10", "2024-01-20")["event_id"] = "setup-techinfo-x1"
            self.ingest(setup)

    def close(self) -> None:
        self.platform.close()

    def ingest(self, events: list[dict[str, Any]] | Events, *, lag: timedelta = timedelta(hours=1)) -> IngestReport:
        """Ingest as history; ``recorded_at`` defaults to ``occurred_at + lag``. All must be accepted."""
        items = events.items if isinstance(events, Events) else events
        rows = []
        for e in items:
            e = dict(e)
            e.setdefault("recorded_at", (parse_time(e["occurred_at"]) + lag).isoformat())
            rows.append(e)
        report = self.platform.ledger.ingest(list(enumerate(rows, 1)), import_history=True)
        assert report.rejected == 0, report.as_dict()
        return report

    def as_of(self, day: str) -> dict[str, Any]:
        return evaluate_as_of(self.platform.store, date.fromisoformat(day), config=self.platform.rules)

    def findings(self, rule: str | None = None, **filters: Any) -> list[dict[str, Any]]:
        return list_findings(self.platform.store, rule=rule, limit=1000, **filters)

    def set_rules(self, **changes: Any) -> None:
        """Change the engine's configuration (e.g. a custom deadline table)."""
        self.platform.rules = self.platform.rules.with_(**changes)
        for observer in self.platform.observers:
            if hasattr(observer, "config"):
                observer.config = self.platform.rules


@dataclass(frozen=True)
class Case:
    """One row of a rule's table: a scenario and the findings it must (or must not) raise."""

    name: str
    build: Callable[[Events], None]
    #: Expected findings of the rule: each a dict of fields that must match (e.g. batteries, vin).
    expect: list[dict[str, Any]]
    as_of: str | None = None
    settings: dict[str, Any] = field(default_factory=dict)
    #: Only findings of this timer kind (R04b, R05: ``handover``, ``idle``, ...; ``event``: raised by events).
    kind: str | None = None
    file_techinfo: bool = True

    def with_(self, **kw: Any) -> Case:
        return replace(self, **kw)


def run_case(db_url: str, rule: str, case: Case) -> list[dict[str, Any]]:
    """Run the scenario and check the rule's findings against the expectations (order-insensitive)."""
    sc = Scenario(db_url, file_techinfo=case.file_techinfo, **case.settings)
    try:
        ev = Events()
        case.build(ev)
        sc.ingest(ev)
        if case.as_of:
            sc.as_of(case.as_of)
        found = sc.findings(rule)
    finally:
        sc.close()
    if case.kind is not None:
        found = [f for f in found if f["detail"].get("kind", "event") == case.kind]
    assert len(found) == len(case.expect), [f["message"]["en"] for f in found]
    remaining = list(found)
    for want in case.expect:
        match = next((f for f in remaining if all(f.get(k) == v for k, v in want.items())), None)
        assert match is not None, (want, [{k: f.get(k) for k in want} for f in remaining])
        remaining.remove(match)
    return found


def ids(cases: list[Case]) -> list[str]:
    return [c.name for c in cases]


def iter_rules(findings: list[dict[str, Any]]) -> Iterator[str]:
    for f in findings:
        yield f["rule"]
