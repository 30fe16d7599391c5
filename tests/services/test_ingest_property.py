"""The ingest property (issue 13): random valid and invalid event sequences, driven through the one
ingest path (:meth:`Ledger.ingest` with raw event objects, in mixed batches, in both
``import_history`` modes), on SQLite and on PostgreSQL.

After every batch:

* the outcome counts add up (accepted + duplicate + rejected = sent, one outcome per line, in order);
* a rejected event left nothing: a batch in which nothing was accepted leaves every table of the
  schema exactly as it was (events, links, read models, lineage, aggregates, findings, timers …), and
  in a mixed batch no row names a rejected event (a conflicting re-send leaves the first one as it was);
* the fold of the log equals the stored read models: ``verify`` (which folds every stream of the log
  with the code ``battrace rebuild`` writes with) reports nothing;
* an independent oracle, written from the contract (``docs/events.md``) rather than from the fold:
  after the last accepted event that changed a battery, its state, custodian, vehicle and parent are
  what that event says (a recycled battery is ``recycled``, a received one is in the receiver's custody …).

After every example: ``battrace rebuild`` finds every read-model row already equal to its fold and
recounts the regulators' aggregates to what they were; and the whole sequence ingested again one
event per transaction into a fresh SQLite store gives the same outcome for every event and the same
read models (so deciding a batch against its in-memory overlay is the same as deciding event by event).

The generator builds plausible lifecycles from the stored read models (production of cells, modules
and packs, assembly, technical information, certification, sale, swaps, replacements, repairs,
scrapping, removal, hand-over and receipt, tests, re-making, delivery, return, dismantling,
recycling, missing, production scrap) and mixes in invalid events: malformed or missing fields,
unknown fields, a reporter of the wrong role or unknown, an impossible transition (a recycled or
waste battery installed …), a time ahead of the clock, a missing ``recorded_at`` in an import, an
exact re-send and a re-send with other content. Examples share one database per store (a fresh one
after a failing example, so that hypothesis shrinks against a clean store); each example's codes,
VINs and event ids carry its own number.

The default run is small and derandomized (30 examples on SQLite, 10 on PostgreSQL, whose commits
cost more); the ``slow`` twin (``make test-slow``) runs ten times as many, with
longer sequences. What the property found is pinned by the tests at the end of this file.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from battrace.config import Settings
from battrace.domain.vin import with_check_digit
from battrace.services.ledger import IngestReport, Ledger
from battrace.services.orgs import import_orgs
from battrace.services.platform import Platform
from battrace.services.rebuild import rebuild
from battrace.services.replay import BATTERY_COLUMNS, VEHICLE_COLUMNS
from battrace.services.verify import verify
from battrace.storage import schema
from tests import story as s
from tests.conftest import pg_schema, postgres_url

NOW = datetime(2026, 11, 21, 8, 0, tzinfo=UTC)
CN = timezone(timedelta(hours=8))

BM, OM, VM, RS, DM, OUTLET, RU, RC, REG, SW = (s.BATTERY_MAKER, s.OTHER_MAKER, s.VEHICLE_MAKER, s.REPAIR_SHOP,
                                               s.DISMANTLER, s.OUTLET, s.REUSER, s.RECYCLER, s.REGULATOR, s.SWAPPER)
MAKER_CODE = {BM: "07H", OM: "02L"}
ROLE = {o["credit_code"]: o["type"] for o in s.orgs()}
ALL_ORGS = sorted(ROLE)
UNKNOWN_ORG = s.credit(99)
VIN_PLANTS = "ABCDEFGHJKLMNPRSTUVWXYZ"
#: Who may report each type (None: any organisation; custody decides), from docs/events.md.
REPORTERS: dict[str, tuple[str, ...] | None] = {
    "battery.produced": ("battery_maker",), "battery.assembled": ("battery_maker", "vehicle_maker"),
    "techinfo.filed": ("battery_maker",), "vehicle.certified": ("vehicle_maker",),
    "vehicle.sold": ("vehicle_maker",), "battery.swapped": ("swap_operator",),
    "battery.replaced": ("repair_shop", "vehicle_maker"), "battery.repaired": ("repair_shop", "vehicle_maker"),
    "vehicle.scrapped": ("dismantler",), "battery.removed": ("dismantler",), "battery.handed_over": None,
    "battery.received": None, "battery.tested": None, "battery.remanufactured": ("reuse_enterprise",),
    "product.delivered": ("reuse_enterprise",), "battery.dismantled": ("recycler", "reuse_enterprise"),
    "battery.recycled": ("recycler",), "battery.reported_missing": None,
    "battery.discarded": ("battery_maker", "vehicle_maker"),
    "product.returned": ("reuse_enterprise", "collection_outlet", "recycler"),
}
IN_VEHICLE = {"installed", "in_service"}
HANDOVER = {"waste", "swap_stock", "produced", "dismantled"}
HELD = {"produced", "swap_stock", "waste", "in_transit", "dismantled"}
FINISHED = {"remade", "dismantled", "recycled", "missing"}
BAD_VALUES: list[Any] = ["", "  ", "nope", 12, -1, -0.5, None, [], {}, ["x"], True,
                         "07HPE01A000001E35000000", "LGXCE4CB0R000000I", "2024-13-01T00:00:00+08:00",
                         "2024-01-01T00:00:00", 2.5]


# -- the stores ---------------------------------------------------------------------------------------


class Stores:
    """One primary platform per test (a fresh one after a failing example) and one SQLite reference."""

    def __init__(self, kind: str, tmp: Path) -> None:
        self.kind, self.tmp = kind, tmp
        self.schemas = ExitStack()  # the PostgreSQL schemas opened, dropped at close
        self.platform = self._open()
        self.reference = Platform(Settings(database_url=f"sqlite:///{tmp / 'reference.db'}", rules=False),
                                  now=lambda: NOW)
        import_orgs(self.reference.store, s.orgs(), NOW)
        self.dirty = False
        self.examples = 0

    def _open(self) -> Platform:
        if self.kind == "sqlite":
            url = f"sqlite:///{self.tmp / f'primary-{uuid.uuid4().hex[:8]}.db'}"
        else:
            url = self.schemas.enter_context(pg_schema())
        p = Platform(Settings(database_url=url), now=lambda: NOW)
        import_orgs(p.store, s.orgs(), NOW)
        return p

    def fresh_if_dirty(self) -> None:
        if self.dirty:
            self.platform.close()
            self.platform = self._open()
            self.dirty = False

    def close(self) -> None:
        self.platform.close()
        self.reference.close()
        self.schemas.close()


@pytest.fixture(params=["sqlite", "postgresql"])
def stores(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Stores]:
    if request.param == "postgresql":
        postgres_url()  # skips when unset
    st_ = Stores(request.param, tmp_path)
    yield st_
    st_.close()


# -- reading the stores ---------------------------------------------------------------------------------


def dump(p: Platform) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table of the schema (sorted), to compare before and after a batch."""
    out: dict[str, list[tuple[Any, ...]]] = {}
    with p.store.reader() as conn:
        for table in schema.metadata.sorted_tables:
            rows = conn.execute(select(table)).all()
            out[table.name] = sorted((tuple(r) for r in rows), key=repr)
    return out


def aggregates(p: Platform) -> dict[str, dict[tuple[Any, ...], tuple[int, ...]]]:
    """The regulators' aggregates, summed over their slots (all-zero buckets left out): the key
    columns of each table (its primary key but the slot) and its counts (every other column)."""
    out: dict[str, dict[tuple[Any, ...], tuple[int, ...]]] = {}
    with p.store.reader() as conn:
        for name in schema.AGGREGATES:
            table = schema.metadata.tables[name]
            primary = {c.name for c in table.primary_key.columns}
            keys = [c for c in table.c if c.name in primary and c.name != "slot"]
            counts = [c for c in table.c if c.name not in primary]
            sums: dict[tuple[Any, ...], list[int]] = {}
            for row in conn.execute(select(*keys, *counts)):
                acc = sums.setdefault(tuple(row[:len(keys)]), [0] * len(counts))
                for i, n in enumerate(row[len(keys):]):
                    acc[i] += int(n)
            out[name] = {k: tuple(v) for k, v in sums.items() if any(v)}
    return out


def battery_rows(p: Platform, codes: list[str]) -> dict[str, dict[str, Any]]:
    if not codes:
        return {}
    with p.store.reader() as conn:
        rows = conn.execute(select(schema.batteries).where(schema.batteries.c.code.in_(codes))).mappings().all()
    return {r["code"]: dict(r) for r in rows}


def vehicle_rows(p: Platform, vins: list[str]) -> dict[str, dict[str, Any]]:
    if not vins:
        return {}
    with p.store.reader() as conn:
        rows = conn.execute(select(schema.vehicles).where(schema.vehicles.c.vin.in_(vins))).mappings().all()
    return {r["vin"]: dict(r) for r in rows}


def techinfo_rows(p: Platform, streams: list[str]) -> dict[str, dict[str, Any]]:
    if not streams:
        return {}
    with p.store.reader() as conn:
        rows = conn.execute(select(schema.techinfo).where(schema.techinfo.c.stream.in_(streams))).mappings().all()
    return {r["stream"]: dict(r) for r in rows}


# -- the generator ---------------------------------------------------------------------------------------


@dataclass
class Gen:
    """Draws plausible batches from what the store holds now (its read models), plus invalid events."""

    ns: int
    draw: Callable[[Any], Any]
    n: int = 0
    serial: int = 0
    codes: list[str] = field(default_factory=list)
    vins: list[str] = field(default_factory=list)
    models: list[str] = field(default_factory=list)
    sent: list[dict[str, Any]] = field(default_factory=list)
    b: dict[str, dict[str, Any]] = field(default_factory=dict)
    v: dict[str, dict[str, Any]] = field(default_factory=dict)
    busy: set[str] = field(default_factory=set)
    rank: dict[str, int] = field(default_factory=dict)

    # helpers
    def order(self, item: Any) -> Any:
        """A sort key that is the same in every example: codes and VINs by when this example made them
        (a VIN's check digit, which depends on the example's number, must not decide the order)."""
        if isinstance(item, tuple):
            return tuple(self.order(i) for i in item)
        if item in self.rank:
            return (0, self.rank[item], "")
        return (1, 0, repr(item))

    def sort(self, items: Any) -> list[Any]:
        return sorted(items, key=self.order)

    def pick(self, items: Any) -> Any:
        return self.draw(st.sampled_from(self.sort(items)))

    def flag(self, p: float = 0.5) -> bool:
        return bool(self.draw(st.integers(0, 99)) < p * 100)

    def when(self) -> datetime:
        return (datetime(2024, 1, 1, tzinfo=CN) + timedelta(minutes=self.n))

    def ev(self, type_: str, reporter: str, **fields: Any) -> dict[str, Any]:
        self.n += 1
        return {"event_id": f"x{self.ns}-{self.n}", "type": type_, "occurred_at": self.when().isoformat(),
                "reporter": reporter, **fields}

    def new_code(self, level: str, maker: str = "07H", *, product: bool = False) -> str:
        """A code of this example's own: its number in the production date and the serial's first digits."""
        self.serial += 1
        day = date(2020, 1, 1) + timedelta(days=self.ns // 50)
        number = (self.ns % 50) * 200_000 + self.serial
        code = s.code(level, number, maker=maker, day=day, trace=None if product else "A000001")
        self.codes.append(code)
        self.rank[code] = len(self.rank)
        return code

    def new_vin(self) -> str:
        """A VIN of this example's own (its number in the plant character and the serial)."""
        self.serial += 1
        plant = VIN_PLANTS[(self.ns // 50) % len(VIN_PLANTS)]
        vin = with_check_digit(f"LGXCE4CB0R{plant}{(self.ns % 50) * 20_000 + self.serial:06d}")
        self.vins.append(vin)
        self.rank[vin] = len(self.rank)
        return vin

    def refresh(self, p: Platform) -> None:
        self.b = {}
        for code, row in battery_rows(p, self.codes).items():
            doc = json.loads(row["doc"])
            self.b[code] = {**row, "pending_to": doc.get("pending_to")}
        self.v = {}
        for vin, row in vehicle_rows(p, self.vins).items():
            self.v[vin] = {**row, "packs": json.loads(row["doc"]).get("packs", [])}
        self.busy = set()

    def free(self, pred: Callable[[dict[str, Any]], bool]) -> list[str]:
        return [c for c, r in self.b.items() if c not in self.busy and pred(r)]

    def take(self, *codes: str) -> None:
        self.busy.update(codes)

    def children(self, code: str) -> list[str]:
        return self.sort(c for c, r in self.b.items() if r["parent"] == code)

    # valid lifecycle steps: each returns the events of one step (perhaps several, in order)
    def produce(self) -> list[dict[str, Any]]:
        maker = self.pick([BM, OM])
        mc = MAKER_CODE[maker]
        shape = self.draw(st.sampled_from(["pack", "pack", "modules", "module", "cell"]))
        out: list[dict[str, Any]] = []
        if shape in ("module", "cell"):
            code = self.new_code("M" if shape == "module" else "C", mc)
            out.append(self.ev("battery.produced", maker, battery=code, **{**s.CELL, "model": "M1"}))
            return out
        modules: list[str] = []
        if shape == "modules":
            for _ in range(self.draw(st.integers(1, 2))):
                cells = [self.new_code("C", mc) for _ in range(self.draw(st.integers(0, 2)))]
                for c in cells:
                    out.append(self.ev("battery.produced", maker, battery=c, **s.CELL))
                m = self.new_code("M", mc)
                out.append(self.ev("battery.produced", maker, battery=m, **{**s.CELL, "model": "M1"},
                                   **({"components": cells} if cells else {})))
                modules.append(m)
        pack = self.new_code("P", mc)
        out.append(self.ev("battery.produced", maker, battery=pack, **s.FIG,
                           **({"components": modules} if modules else {})))
        return out

    def assemble(self) -> list[dict[str, Any]]:
        packs = self.free(lambda r: r["level"] == "P" and r["state"] == "produced" and not r["parent"]
                          and not r["remade"])
        parts = self.free(lambda r: r["level"] in "MC" and r["state"] == "produced" and not r["parent"])
        if not packs or not parts:
            return self.produce()
        pack = self.pick(packs)
        part = self.pick(parts)
        self.take(pack, part)
        return [self.ev("battery.assembled", self.pick([BM, OM, VM]), battery=pack, components=[part])]

    def techinfo(self) -> list[dict[str, Any]]:
        model = f"X{self.ns}-{self.draw(st.integers(0, 2))}"
        self.models.append(model)
        return [self.ev("techinfo.filed", self.pick([BM, OM]), model=model,
                        ccc_certified_at="2023-12-01T00:00:00+08:00", document=f"https://example.org/{model}.pdf")]

    def installable(self) -> list[str]:
        return self.free(lambda r: r["state"] == "produced" and not r["parent"] and not r["remade"]
                         and not r["waste"] and r["level"] == "P")

    def certify(self) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        packs = self.installable()
        if not packs:
            out += self.produce()
            packs = [out[-1]["battery"]]
        chosen = self.sort(set(self.draw(st.lists(st.sampled_from(self.sort(packs)), min_size=1, max_size=2))))
        self.take(*chosen)
        swap = self.flag(0.4)
        out.append(self.ev("vehicle.certified", VM, vin=self.new_vin(), vehicle_model="E1", swap_model=swap,
                           batteries=chosen, certificate_no=f"WAB{self.ns}", region="440300"))
        if self.flag(0.6):
            out.append(self.ev("vehicle.sold", VM, vin=out[-1]["vin"], region="440300"))
        return out

    def live_vehicles(self, pred: Callable[[dict[str, Any]], bool]) -> list[str]:
        return [vin for vin, r in self.v.items() if vin not in self.busy and r["state"] != "scrapped" and pred(r)]

    def packs_in(self, vin: str) -> list[str]:
        return [c for c in self.v[vin]["packs"] if c in self.b and c not in self.busy
                and self.b[c]["state"] in IN_VEHICLE and self.b[c]["vin"] == vin]

    def sell(self) -> list[dict[str, Any]]:
        vins = self.live_vehicles(lambda r: r["state"] == "certified")
        if not vins:
            return self.certify()
        vin = self.pick(vins)
        self.take(vin)
        return [self.ev("vehicle.sold", VM, vin=vin)]

    def swap(self) -> list[dict[str, Any]]:
        vins = [v for v in self.live_vehicles(lambda r: r["swap_model"]) if self.packs_in(v)]
        stock = self.free(lambda r: r["state"] == "swap_stock" and r["custodian"] == SW and not r["parent"])
        fresh = self.installable()
        if not vins or not (stock or fresh):
            return self.certify()
        vin = self.pick(vins)
        removed = self.pick(self.packs_in(vin))
        installed = self.pick(stock or fresh) if self.flag(0.5) else self.pick(fresh or stock)
        self.take(vin, removed, installed)
        return [self.ev("battery.swapped", SW, vin=vin, removed=removed, installed=installed)]

    def replace(self) -> list[dict[str, Any]]:
        vins = [v for v in self.live_vehicles(lambda r: True) if self.packs_in(v)]
        if not vins:
            return self.certify()
        vin = self.pick(vins)
        removed = self.pick(self.packs_in(vin))
        fresh = self.installable()
        installed = self.pick(fresh) if fresh and self.flag(0.6) else None
        self.take(vin, removed, *([installed] if installed else []))
        return [self.ev("battery.replaced", self.pick([RS, VM]), vin=vin, removed=removed, reason="capacity fade",
                        **({"installed": installed} if installed else {}))]

    def repair(self) -> list[dict[str, Any]]:
        packs = self.free(lambda r: r["state"] in IN_VEHICLE | {"swap_stock", "produced", "waste"}
                          and not r["remade"])
        if not packs:
            return self.produce()
        pack = self.pick(packs)
        self.take(pack)
        out: list[dict[str, Any]] = []
        extra: dict[str, Any] = {}
        kids = [c for c in self.children(pack) if c not in self.busy]
        if kids and self.flag(0.6):
            old = self.pick(kids)
            maker = self.pick([BM, OM])
            new = self.new_code(self.b[old]["level"], MAKER_CODE[maker])
            out.append(self.ev("battery.produced", maker, battery=new, **s.CELL))
            self.take(old, new)
            extra = {"components_replaced": [{"removed": old, "installed": new}]}
        out.append(self.ev("battery.repaired", self.pick([RS, VM]), battery=pack, **extra))
        return out

    def scrap(self) -> list[dict[str, Any]]:
        vins = self.live_vehicles(lambda r: True)
        if not vins:
            return self.certify()
        vin = self.pick(vins)
        inside = self.packs_in(vin)
        present = self.sort(set(self.draw(st.lists(st.sampled_from(inside), max_size=len(inside))))) if inside else []
        self.take(vin, *present)
        return [self.ev("vehicle.scrapped", DM, vin=vin, batteries_present=present, certificate_no=f"BF{self.ns}")]

    def remove(self) -> list[dict[str, Any]]:
        pairs = [(c, vin) for vin, r in self.v.items() if r["state"] == "scrapped" and vin not in self.busy
                 for c in r["packs"] if c in self.b and c not in self.busy and self.b[c]["vin"] == vin]
        if not pairs:
            return self.scrap()
        code, vin = self.draw(st.sampled_from(self.sort(pairs)))
        self.take(code, vin)
        return [self.ev("battery.removed", DM, battery=code, vin=vin)]

    def handable(self) -> list[str]:
        return self.free(lambda r: r["custodian"] is not None and not r["parent"] and (
            r["state"] in HANDOVER or (r["remade"] and r["state"] == "in_service")))

    def hand_over(self) -> list[dict[str, Any]]:
        codes = self.handable()
        if not codes:
            return self.discard()
        code = self.pick(codes)
        sender = self.b[code]["custodian"]
        # a recycler takes no produced battery (an impossible event below; see
        # test_a_recycler_takes_no_produced_battery)
        avoid = {sender} | ({RC} if self.b[code]["state"] == "produced" else set())
        receivers = [o for o in (RC, RU, OUTLET, DM, RS, SW, BM) if o not in avoid]
        to = self.pick(receivers)
        self.take(code)
        out = [self.ev("battery.handed_over", sender, batteries=[code], to=to)]
        if self.flag(0.6):
            out.append(self.ev("battery.received", to, batteries=[code], **{"from": sender}))
        return out

    def receive(self) -> list[dict[str, Any]]:
        codes = self.free(lambda r: r["state"] == "in_transit" and r["pending_to"])
        if not codes:
            return self.hand_over()
        code = self.pick(codes)
        self.take(code)
        r = self.b[code]
        return [self.ev("battery.received", r["pending_to"], batteries=[code], **{"from": r["custodian"]})]

    def test(self) -> list[dict[str, Any]]:
        codes = self.free(lambda r: r["custodian"] is not None and r["state"] not in FINISHED)
        if not codes:
            return self.produce()
        code = self.pick(codes)
        self.take(code)
        soh = self.draw(st.integers(0, 120)) / 100
        return [self.ev("battery.tested", self.b[code]["custodian"], battery=code, soh=soh,
                        method=self.pick(["gbt34015", "pulse"]))]

    def remanufacture(self) -> list[dict[str, Any]]:
        codes = self.free(lambda r: r["state"] == "waste" and r["custodian"] == RU)
        if not codes:
            return self.hand_over()
        sources = self.sort(set(self.draw(st.lists(st.sampled_from(self.sort(codes)), min_size=1, max_size=2))))
        self.take(*sources)
        product = self.new_code("P", "R01", product=True)
        self.take(product)
        return [self.ev("battery.remanufactured", RU, product=product, sources=sources,
                        application=self.pick(["energy_storage", "backup_power", "e_bike"]))]

    def deliver(self) -> list[dict[str, Any]]:
        codes = self.free(lambda r: r["remade"] and r["state"] == "produced" and r["custodian"] == RU)
        if not codes:
            return self.remanufacture()
        code = self.pick(codes)
        self.take(code)
        return [self.ev("product.delivered", RU, battery=code, application="energy_storage", customer="某储能电站")]

    def returned(self) -> list[dict[str, Any]]:
        codes = self.free(lambda r: r["remade"] and r["state"] == "in_service")
        if not codes:
            return self.deliver()
        code = self.pick(codes)
        self.take(code)
        return [self.ev("product.returned", self.pick([RU, OUTLET, RC]), battery=code, reason="end of life")]

    def dismantle(self) -> list[dict[str, Any]]:
        codes = self.free(lambda r: r["state"] == "waste" and r["custodian"] in (RC, RU) and not r["parent"])
        if not codes:
            return self.hand_over()
        code = self.pick(codes)
        kids = [c for c in self.children(code) if c not in self.busy]
        freed = self.sort(set(self.draw(st.lists(st.sampled_from(kids), max_size=len(kids))))) if kids else []
        self.take(code, *freed)
        return [self.ev("battery.dismantled", self.b[code]["custodian"], battery=code,
                        **({"components": freed} if freed else {}))]

    def recycle(self) -> list[dict[str, Any]]:
        codes = self.free(lambda r: r["state"] in ("waste", "dismantled") and r["custodian"] == RC
                          and not r["parent"])
        if not codes:
            return self.dismantle()
        chosen = self.sort(set(self.draw(st.lists(st.sampled_from(self.sort(codes)), min_size=1, max_size=2))))
        self.take(*chosen)
        return [self.ev("battery.recycled", RC, batteries=chosen, process=self.pick(["hydro", "pyro", "direct"]),
                        outputs={"li": 1.5, "black_mass": 20.0})]

    def missing(self) -> list[dict[str, Any]]:
        codes = self.free(lambda r: r["custodian"] is not None and (
            r["state"] in HELD or (r["remade"] and r["state"] == "in_service")))
        if not codes:
            return self.produce()
        code = self.pick(codes)
        self.take(code)
        return [self.ev("battery.reported_missing", self.b[code]["custodian"], battery=code, reason="stolen")]

    def discard(self) -> list[dict[str, Any]]:
        codes = self.free(lambda r: r["state"] == "produced" and not r["parent"] and not r["remade"]
                          and r["custodian"] in (BM, OM))
        if not codes:
            return self.produce()
        code = self.pick(codes)
        self.take(code)
        return [self.ev("battery.discarded", self.b[code]["custodian"], battery=code, reason="end-of-line failure")]

    def second_life(self) -> list[dict[str, Any]]:
        """A whole retirement in one step: a new pack discarded, handed over to a re-use enterprise or a
        recycler and received; then re-made (and delivered), or dismantled (and recycled)."""
        out = self.produce()
        pack, maker, kids = out[-1]["battery"], out[-1]["reporter"], out[-1].get("components") or []
        to = self.pick([RU, RC])
        out.append(self.ev("battery.discarded", maker, battery=pack, reason="end-of-line failure"))
        out.append(self.ev("battery.handed_over", maker, batteries=[pack], to=to))
        out.append(self.ev("battery.received", to, batteries=[pack], **{"from": maker}))
        if to == RU and self.flag(0.7):
            product = self.new_code("P", "R01", product=True)
            out.append(self.ev("battery.remanufactured", RU, product=product, sources=[pack],
                               application="energy_storage"))
            if self.flag(0.6):
                out.append(self.ev("product.delivered", RU, battery=product, application="energy_storage",
                                   customer="某储能电站"))
        elif self.flag(0.7):
            out.append(self.ev("battery.dismantled", to, battery=pack, **({"components": kids} if kids else {})))
            if to == RC and self.flag(0.6):
                out.append(self.ev("battery.recycled", RC, batteries=[pack], process="hydro", outputs={"li": 2.0}))
        self.take(pack)
        return out

    # invalid events
    def impossible(self) -> list[dict[str, Any]]:
        """An event the lifecycle forbids (most of the time): a finished, waste or re-made battery
        installed, a battery received that nobody handed over, a produced battery recycled …"""
        kind = self.draw(st.sampled_from(["install_finished", "receive_unsent", "recycle_produced", "sell_unknown",
                                          "remove_live", "hand_over_foreign", "hand_produced_to_recycler"]))
        if kind == "install_finished":
            codes = self.free(lambda r: r["state"] in FINISHED | {"waste", "in_transit"} or r["remade"])
            if codes:
                return [self.ev("vehicle.certified", VM, vin=self.new_vin(), vehicle_model="E1", swap_model=False,
                                batteries=[self.pick(codes)], certificate_no="WAB0")]
        if kind == "receive_unsent":
            codes = self.free(lambda r: r["state"] != "in_transit")
            if codes:
                code = self.pick(codes)
                return [self.ev("battery.received", RC, batteries=[code], **{"from": self.b[code]["custodian"] or BM})]
        if kind == "recycle_produced":
            codes = self.free(lambda r: r["state"] not in ("waste", "dismantled"))
            if codes:
                return [self.ev("battery.recycled", RC, batteries=[self.pick(codes)], process="hydro",
                                outputs={"li": 1.0})]
        if kind == "remove_live":
            pairs = [(c, r["vin"]) for c, r in self.b.items() if r["vin"] and r["vin"] in self.v
                     and self.v[r["vin"]]["state"] != "scrapped"]
            if pairs:
                code, vin = self.draw(st.sampled_from(self.sort(pairs)))
                return [self.ev("battery.removed", DM, battery=code, vin=vin)]
        if kind == "hand_over_foreign":
            codes = self.free(lambda r: r["custodian"] not in (None, REG))
            if codes:
                return [self.ev("battery.handed_over", REG, batteries=[self.pick(codes)], to=RC)]
        if kind == "hand_produced_to_recycler":
            codes = self.free(lambda r: r["state"] == "produced" and r["custodian"] not in (None, RC)
                              and not r["parent"])
            if codes:
                code = self.pick(codes)
                return [self.ev("battery.handed_over", self.b[code]["custodian"], batteries=[code], to=RC)]
        return [self.ev("vehicle.sold", VM, vin=with_check_digit("LGXCE4CB0R0999999"))]  # never certified

    def corrupt(self, e: dict[str, Any]) -> dict[str, Any]:
        """``e`` made invalid (most of the time) in one of several ways."""
        e = dict(e)
        how = self.draw(st.sampled_from(["malformed", "missing", "unknown_field", "role", "unknown_reporter",
                                         "future", "event_id"]))
        if how == "malformed":
            name = self.pick([k for k in e if k not in ("event_id", "reporter")])
            e[name] = self.draw(st.sampled_from(BAD_VALUES))
        elif how == "missing":
            del e[self.pick([k for k in e if k != "event_id"])]
        elif how == "unknown_field":
            e[self.pick(["colour", "batery", "seq_no"])] = "red"
        elif how == "role":
            allowed = REPORTERS[e["type"]]
            wrong = [o for o in ALL_ORGS if allowed is not None and ROLE[o] not in allowed]
            e["reporter"] = self.pick(wrong or [REG])
        elif how == "unknown_reporter":
            e["reporter"] = UNKNOWN_ORG
        elif how == "future":
            e["occurred_at"] = (NOW + timedelta(days=self.draw(st.integers(1, 400)))).astimezone(CN).isoformat()
        else:
            e["event_id"] = self.pick(["", " padded ", "x" * 129, 42])
        return e

    def resend(self, changed: bool) -> list[dict[str, Any]]:
        if not self.sent:
            return self.produce()
        e = dict(self.pick_sent())
        if changed:
            e["data"] = {"resent": self.n}
        return [e]

    def pick_sent(self) -> dict[str, Any]:
        i = self.draw(st.integers(0, len(self.sent) - 1))
        return self.sent[i]


VALID = ["produce", "produce", "assemble", "techinfo", "certify", "sell", "swap", "replace", "repair", "scrap",
         "remove", "hand_over", "hand_over", "receive", "test", "remanufacture", "deliver", "returned",
         "dismantle", "recycle", "missing", "discard", "second_life", "second_life"]
INVALID = ["corrupt", "corrupt", "impossible", "impossible", "duplicate", "conflict"]


def draw_batch(g: Gen, invalid_only: bool) -> list[dict[str, Any]]:
    batch: list[dict[str, Any]] = []
    for _ in range(g.draw(st.integers(1, 6))):
        kind = g.draw(st.sampled_from(INVALID if invalid_only else VALID + INVALID))
        if kind == "corrupt":
            events = getattr(g, g.draw(st.sampled_from(VALID)))()
            events[-1] = g.corrupt(events[-1])
            if invalid_only:
                events = events[-1:]
        elif kind in ("duplicate", "conflict"):
            events = g.resend(kind == "conflict")
            if invalid_only and not g.sent:
                events = [g.corrupt(events[-1])]
        elif kind == "impossible":
            events = g.impossible()
        else:
            events = getattr(g, kind)()
        at = g.draw(st.integers(0, len(batch)))
        batch[at:at] = events  # steps interleave; each step's own events stay in order
    return batch


def with_recorded_at(g: Gen, batch: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The batch as an import of history: ``recorded_at`` an hour after ``occurred_at`` (sometimes
    missing, or before ``occurred_at``: both refused)."""
    out = []
    for e in batch:
        e = dict(e)
        try:
            occurred = datetime.fromisoformat(str(e.get("occurred_at")))
        except ValueError:
            occurred = g.when()
        if occurred.tzinfo is None:
            occurred = occurred.replace(tzinfo=CN)
        fault = g.draw(st.integers(0, 19))
        if fault == 0:
            e.pop("recorded_at", None)
        else:
            e["recorded_at"] = (occurred + timedelta(hours=-1 if fault == 1 else 1)).isoformat()
        out.append(e)
    return out


# -- the oracle: what the last accepted event says about a battery ---------------------------------------


def expected_after(e: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Columns of the batteries an accepted event names, as ``docs/events.md`` says the event leaves them
    (only what that event alone decides). ``custodian``'s value "reporter" stands for the reporter."""
    t, f, who = e["type"], e, e["reporter"]
    out: dict[str, dict[str, Any]] = {}
    if t == "battery.produced":
        out[f["battery"]] = {"state": "produced", "custodian": who, "parent": None, "maker": who}
        for c in f.get("components") or ():
            out[c] = {"state": "assembled", "parent": f["battery"]}
    elif t == "battery.assembled":
        out[f["battery"]] = {"state": "produced"}
        for c in f["components"]:
            out[c] = {"state": "assembled", "parent": f["battery"]}
    elif t == "vehicle.certified":
        for c in f["batteries"]:
            out[c] = {"state": "installed", "vin": f["vin"]}
    elif t == "battery.swapped":
        out[f["removed"]] = {"state": "swap_stock", "custodian": who, "vin": None}
        out[f["installed"]] = {"state": "in_service", "vin": f["vin"], "custodian": who}
    elif t == "battery.replaced":
        out[f["removed"]] = {"state": "waste", "waste": True, "custodian": who, "vin": None}
        if f.get("installed"):
            out[f["installed"]] = {"state": "in_service", "vin": f["vin"]}
    elif t == "battery.repaired":
        for item in f.get("components_replaced") or ():
            out[item["removed"]] = {"state": "waste", "waste": True, "parent": None}
            out[item["installed"]] = {"state": "assembled", "parent": f["battery"]}
    elif t == "vehicle.scrapped":
        for c in f["batteries_present"]:
            out[c] = {"vin": f["vin"], "custodian": who}
    elif t == "battery.removed":
        out[f["battery"]] = {"state": "waste", "waste": True, "custodian": who, "vin": None}
    elif t == "battery.handed_over":
        for c in f["batteries"]:
            out[c] = {"state": "in_transit"}
    elif t == "battery.received":
        for c in f["batteries"]:
            out[c] = {"custodian": who, "state": lambda v: v != "in_transit"}
    elif t == "battery.tested":
        out[f["battery"]] = {"health.soh": f["soh"]}
    elif t == "battery.remanufactured":
        for c in f["sources"]:
            out[c] = {"state": "remade"}
        out[f["product"]] = {"state": "produced", "remade": True, "custodian": who, "waste": False}
    elif t == "product.delivered":
        out[f["battery"]] = {"state": "in_service"}
    elif t == "battery.dismantled":
        out[f["battery"]] = {"state": "dismantled"}
        for c in f.get("components") or ():
            out[c] = {"state": "waste", "waste": True, "parent": None, "custodian": who}
    elif t == "battery.recycled":
        for c in f["batteries"]:
            out[c] = {"state": "recycled"}
    elif t == "battery.reported_missing":
        out[f["battery"]] = {"state": "missing"}
    elif t in ("battery.discarded", "product.returned"):
        out[f["battery"]] = {"state": "waste", "waste": True, "custodian": who}
    return out


# -- the property ----------------------------------------------------------------------------------------


def rows_naming(p: Platform, event_ids: set[str]) -> list[tuple[str, Any]]:
    """Rows of the compliance tables that name one of ``event_ids`` (the ledger's own tables are
    checked through the events' keys)."""
    found: list[tuple[str, Any]] = []
    if not event_ids:
        return found
    ids = sorted(event_ids)
    with p.store.reader() as conn:
        for table, columns in (("findings", ("event_id", "resolved_event_id")), ("compliance_timers", ("event_id",)),
                               ("compliance_sales", ("first_event_id",))):
            t = schema.metadata.tables[table]
            for column in columns:
                for row in conn.execute(select(t).where(t.c[column].in_(ids))):
                    found.append((table, tuple(row)))
    return found


def stored_events(p: Platform, keys: list[tuple[str, str]]) -> dict[tuple[str, str], tuple[int, str]]:
    if not keys:
        return {}
    ids = sorted({k[1] for k in keys})
    with p.store.reader() as conn:
        rows = conn.execute(select(schema.events.c.reporter, schema.events.c.event_id, schema.events.c.seq,
                                   schema.events.c.body).where(schema.events.c.event_id.in_(ids))).all()
    return {(r[0], r[1]): (int(r[2]), r[3]) for r in rows}


def key_of(e: Any) -> tuple[str, str] | None:
    if isinstance(e, dict) and isinstance(e.get("reporter"), str) and isinstance(e.get("event_id"), str):
        return (e["reporter"], e["event_id"])
    return None


def check_batch(p: Platform, g: Gen, batch: list[dict[str, Any]], report: IngestReport,
                before: dict[str, list[tuple[Any, ...]]] | None, accepted: dict[tuple[str, str], tuple[int, str]],
                ) -> None:
    # (c) the outcome counts add up, one outcome per line, in order
    assert len(report.outcomes) == len(batch)
    assert [o.line for o in report.outcomes] == list(range(1, len(batch) + 1))
    assert report.accepted + report.duplicate + report.rejected == len(batch)
    assert all(o.status in ("accepted", "duplicate", "rejected") for o in report.outcomes)
    # (a) nothing accepted: nothing changed, anywhere
    if before is not None and report.accepted == 0:
        after = dump(p)
        changed = [t for t in after if after[t] != before[t]]
        assert not changed, f"a batch with nothing accepted changed {changed}: {report.as_dict()}"
    keys = [key_of(e) for e in batch]
    stored = stored_events(p, [k for k in keys if k])
    new_accepted: dict[tuple[str, str], tuple[int, str]] = {}
    rejected_ids: set[str] = set()
    for e, key, out in zip(batch, keys, report.outcomes, strict=True):
        if out.status == "accepted":
            assert key is not None and key not in accepted and key not in new_accepted, out
            assert key in stored and stored[key][0] == out.seq, (out, stored.get(key))
            new_accepted[key] = stored[key]
        elif out.status == "duplicate":
            assert key is not None and (key in accepted or key in new_accepted), out
        else:
            first = (accepted.get(key) or new_accepted.get(key)) if key is not None else None
            if key is not None and first is not None:  # a conflicting re-send: the first one stays as it was
                assert stored[key] == first, (out, e)
            else:  # nothing in the log under its key
                if key is not None:
                    assert key not in stored, (out, e)
                if isinstance(e.get("event_id"), str):
                    rejected_ids.add(e["event_id"])
    accepted.update(new_accepted)
    # and no compliance row names a rejected event
    assert not rows_naming(p, {i for i in rejected_ids if all(i != k[1] for k in accepted)})
    # the oracle: each battery as its last accepted event leaves it
    if new_accepted:
        check_oracle(p, batch, report)
    # (b) the fold of the log equals the stored read models
    found = verify(p.store)
    assert found.ok, found.problems[:5]


def check_oracle(p: Platform, batch: list[dict[str, Any]], report: IngestReport) -> None:
    seqs = [o.seq for o in report.outcomes if o.status == "accepted"]
    linked: dict[int, set[str]] = {}
    with p.store.reader() as conn:
        for stream, seq in conn.execute(select(schema.event_links.c.stream, schema.event_links.c.seq)
                                        .where(schema.event_links.c.seq.in_(seqs))):
            linked.setdefault(int(seq), set()).add(stream)
    expect: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {}
    for e, out in zip(batch, report.outcomes, strict=True):
        if out.status != "accepted":
            continue
        assert out.seq is not None
        streams = linked.get(out.seq, set())
        for stream in streams:  # whatever the event changed is now decided by it (or unknown)
            expect.pop(stream, None)
        for code, cols in expected_after(e).items():
            assert code in streams, f"{e['type']} {e['event_id']} accepted but not linked to {code}"
            expect[code] = (cols, e)
    rows = battery_rows(p, sorted(expect))
    for code, (cols, e) in expect.items():
        row = rows[code]
        doc = json.loads(row["doc"])
        for column, want in cols.items():
            have = doc.get("health", {}).get("soh") if column == "health.soh" else row[column]
            ok = want(have) if callable(want) else have == want
            assert ok, f"after {e['type']} {e['event_id']} ({json.dumps(e)}), {code}.{column} is {have!r}"


def check_example(stores: Stores, g: Gen, calls: list[tuple[bool, list[dict[str, Any]], IngestReport]]) -> None:
    p = stores.platform
    # battrace rebuild: every row already equals its fold; the aggregates are recounted to what they were
    counted = aggregates(p)
    rebuilt = rebuild(p.store)
    assert rebuilt.identical, rebuilt.differences[:5]
    assert aggregates(p) == counted
    assert verify(p.store).ok
    # the same sequence, event by event, into a fresh store: the same outcomes and read models
    ref = stores.reference
    single = Ledger(ref.store, now=lambda: NOW, batch_size=1)
    for import_history, batch, report in calls:
        again = single.ingest(list(enumerate(batch, 1)), import_history=import_history)
        assert [(o.status, o.code) for o in again.outcomes] == [(o.status, o.code) for o in report.outcomes], (
            batch)
    for read, columns in ((battery_rows, (*BATTERY_COLUMNS, "version", "doc")),
                          (vehicle_rows, (*VEHICLE_COLUMNS, "version", "doc"))):
        keys = g.codes if read is battery_rows else g.vins
        mine, theirs = read(p, keys), read(ref, keys)
        assert set(mine) == set(theirs)
        for key in mine:
            assert {c: mine[key][c] for c in columns} == {c: theirs[key][c] for c in columns}, key
    streams = [f"techinfo:{m}:{model}" for m in (BM, OM) for model in g.models]
    mine_t, theirs_t = techinfo_rows(p, streams), techinfo_rows(ref, streams)
    assert {k: (r["doc"], r["version"]) for k, r in mine_t.items()} == {
        k: (r["doc"], r["version"]) for k, r in theirs_t.items()}


def run_example(stores: Stores, data: st.DataObject, batches: int) -> None:
    stores.fresh_if_dirty()
    stores.examples += 1
    try:
        p = stores.platform
        g = Gen(stores.examples, data.draw)
        accepted: dict[tuple[str, str], tuple[int, str]] = {}
        calls: list[tuple[bool, list[dict[str, Any]], IngestReport]] = []
        for _ in range(data.draw(st.integers(2, batches))):
            g.refresh(p)
            invalid_only = g.flag(0.25)
            batch = draw_batch(g, invalid_only)
            import_history = g.flag(0.25)
            if import_history:
                batch = with_recorded_at(g, batch)
            before = dump(p) if invalid_only or g.flag(0.1) else None
            report = p.ledger.ingest(list(enumerate(batch, 1)), import_history=import_history)
            check_batch(p, g, batch, report, before, accepted)
            for e, o in zip(batch, report.outcomes, strict=True):
                event(f"{e.get('type')}: {o.status}")  # --hypothesis-show-statistics shows the coverage
            g.sent.extend(e for e, o in zip(batch, report.outcomes, strict=True) if o.status == "accepted")
            calls.append((import_history, batch, report))
        check_example(stores, g, calls)
    except BaseException:
        stores.dirty = True  # the next example (hypothesis shrinking) starts from a clean store
        raise


def run_property(stores: Stores, examples: int, batches: int, **options: Any) -> None:
    @given(data=st.data())
    @settings(max_examples=examples, deadline=None, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large], **options)
    def ingest_property(data: st.DataObject) -> None:
        run_example(stores, data, batches)

    ingest_property()


#: Examples per store in the default run: PostgreSQL commits cost more (fsync), so it runs fewer.
EXAMPLES = {"sqlite": 30, "postgresql": 10}


def test_fold_of_the_log_equals_the_read_models_and_rejections_leave_nothing(stores: Stores) -> None:
    run_property(stores, EXAMPLES[stores.kind], 6, derandomize=True)


@pytest.mark.slow
def test_fold_of_the_log_equals_the_read_models_and_rejections_leave_nothing_long(stores: Stores) -> None:
    run_property(stores, 10 * EXAMPLES[stores.kind], 15)


# -- what the property found --------------------------------------------------------------------------


def test_a_recycler_takes_no_produced_battery(db_url: str) -> None:
    """The example the property found: a produced battery handed to a recycler and received was
    stored as waste while the fold (which does not know the receiver's role) kept it produced, so
    ``verify`` flagged an honest ingest. Now the hand-over is refused, and the battery reaches the
    recycler once its maker has discarded it; the log's fold equals the stored rows either way."""
    p = Platform(Settings(database_url=db_url), now=lambda: NOW)
    try:
        import_orgs(p.store, s.orgs(), NOW)
        t = "2024-03-05T09:00:00+08:00"
        produced = p.ledger.ingest([(1, s.ev(1, "battery.produced", BM, t, battery=s.SPARE, **s.FIG))])
        assert produced.accepted == 1
        refused = p.ledger.ingest([(1, s.ev(2, "battery.handed_over", BM, t, batteries=[s.SPARE], to=RC))])
        [out] = refused.outcomes
        assert (out.status, out.code) == ("rejected", "invalid_transition")
        assert "a recycler takes only waste batteries" in out.message and "battery.discarded" in out.message
        assert battery_rows(p, [s.SPARE])[s.SPARE]["state"] == "produced"
        report = p.ledger.ingest(list(enumerate([
            s.ev(3, "battery.discarded", BM, t, battery=s.SPARE, reason="end-of-line failure"),
            s.ev(4, "battery.handed_over", BM, t, batteries=[s.SPARE], to=RC),
            s.ev(5, "battery.received", RC, t, batteries=[s.SPARE], **{"from": BM}),
        ], 1)))
        assert report.accepted == 3, [o.message for o in report.outcomes]
        row = battery_rows(p, [s.SPARE])[s.SPARE]
        assert (row["state"], row["custodian"], bool(row["waste"])) == ("waste", RC, True)
        found = verify(p.store)
        assert found.ok, found.problems
    finally:
        p.close()
