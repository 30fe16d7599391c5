"""R11: a producer's collection outlets do not cover a province where its products went.

An aggregate, evaluated "as of" a date: the engine keeps, per (producer, province), the vehicles a
vehicle maker sold, the packs of a battery maker in vehicles sold there, and the re-made products a
re-use enterprise delivered there (the delivery's region, else the customer's). :func:`uncovered`
compares them with the outlets set up for each producer: registered ``collection_outlet``
organisations (``operated_for``) and the outlets directory (``battrace.services.outlets``). A
finding is resolved by a later evaluation once an outlet for that producer is listed in the province.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date

from battrace.domain.orgs import Org
from battrace.domain.rules.finding import NOTICE, Finding, province, start_of_day
from battrace.domain.rules.registry import Rule, register


@dataclass(frozen=True, slots=True)
class Sales:
    """Vehicles of one maker sold in one province, and the first such sale."""

    maker: str
    province: str
    vehicles: int
    first_seq: int | None = None
    first_event_id: str | None = None


def outlet_provinces(orgs: Mapping[str, Org]) -> dict[str, set[str]]:
    """Maker -> provinces where a collection outlet is operated for it."""
    out: dict[str, set[str]] = {}
    for org in orgs.values():
        p = province(org.region)
        if org.type == "collection_outlet" and org.operated_for and p:
            out.setdefault(org.operated_for, set()).add(p)
    return out


def dedupe_key(maker: str, prov: str) -> str:
    return f"R11:{maker}:{prov}"


_WHAT = {
    "vehicle_maker": ("已销售 {n} 辆新能源汽车", "sold {n} vehicles"),
    "battery_maker": ("已有 {n} 个动力电池包随车销售", "had {n} packs sold in vehicles"),
    "reuse_enterprise": ("已交付 {n} 个梯次利用产品", "delivered {n} re-made products"),
}


def uncovered(sales: Iterable[Sales], orgs: Mapping[str, Org], as_of: date,
              directory: Mapping[str, set[str]] | None = None) -> list[Finding]:
    """A notice for every (producer, province) with sales and no outlet set up for the producer,
    among the registered outlets and the outlets ``directory`` (producer -> provinces)."""
    covered = outlet_provinces(orgs)
    for producer, provinces in (directory or {}).items():
        covered.setdefault(producer, set()).update(provinces)
    out: list[Finding] = []
    for s in sales:
        if s.vehicles <= 0 or s.province in covered.get(s.maker, ()):
            continue
        maker = orgs.get(s.maker)
        name = maker.name if maker else s.maker
        what_zh, what_en = _WHAT.get(maker.type if maker else "", _WHAT["vehicle_maker"])
        out.append(Finding(
            rule="R11", severity=NOTICE, dedupe_key=dedupe_key(s.maker, s.province), batteries=(), vin=None,
            orgs=(s.maker,), responsible=s.maker, region=s.province, event_seq=s.first_seq,
            event_id=s.first_event_id, raised_at=start_of_day(as_of), due_at=None,
            message_zh=f"{name}（{s.maker}）在行政区 {s.province} {what_zh.format(n=s.vehicles)}，"
                       "但未设立回收服务网点",
            message_en=f"{name} ({s.maker}) {what_en.format(n=s.vehicles)} in province {s.province} but runs "
                       "no collection outlet there",
            detail={"province": s.province, "vehicles_sold": s.vehicles, "as_of": as_of.isoformat(),
                    "outlet_provinces": sorted(covered.get(s.maker, ()))},
        ))
    return out


RULE = register(Rule("R11", NOTICE, "collection outlets do not cover sales", "回收服务网点未覆盖销售区域",
                     as_of=True))
