"""Retirement forecast from the ledger: packs installed per province and year → expected retirements.

Installations are counted as events arrive (``installation_counts``,
:mod:`battrace.services.dashboard_counts`): every ``vehicle.certified`` event installs the packs
it lists, in the year of its ``occurred_at`` (as reported, China time) and the province where the
vehicle is registered and used — the region of its sale (``vehicle.sold``), else the certification's
``region``, else the vehicle maker's registered region — so that a provincial regulator sees the
packs that will retire in its province, not those made there. The service-life distribution
is a configurable :class:`~battrace.domain.forecast.Weibull`; :func:`retirement_forecast` returns
the expected retirements per province and year, the national totals and — at national scope — the
check against the published 2025 / 2030 figures.
"""

from __future__ import annotations

from typing import Any

from battrace.domain.forecast import (
    Installation,
    Weibull,
    check_national,
    forecast,
    national_totals,
)
from battrace.domain.health import InvalidHealthInput
from battrace.storage import reporting
from battrace.storage.store import Store

#: Longest forecast span (years) one request may ask for.
MAX_SPAN = 200
UNKNOWN_PROVINCE = "unknown"


def installations(store: Store, *, region_prefix: str = "") -> list[Installation]:
    """Packs installed per province (GB/T 2260 ``xx0000``) and year, from ``vehicle.certified`` events.

    ``region_prefix`` (``"44"``, ``"4403"``) keeps the installations within a jurisdiction.
    """
    with store.reader() as conn:
        rows = reporting.installations(conn, prefix=region_prefix)
    out = []
    for prov, yr, n in rows:
        province_code = f"{prov}0000" if prov else UNKNOWN_PROVINCE
        out.append(Installation(province_code, int(yr), float(n or 0)))
    return sorted(out, key=lambda i: (i.province, i.year))


def retirement_forecast(
    store: Store,
    *,
    life: Weibull | None = None,
    first_year: int | None = None,
    last_year: int | None = None,
    kg_per_pack: float = 400.0,
    region_prefix: str = "",
) -> dict[str, Any]:
    """Installations, expected retirements per province and year, national totals and the check.

    The national check (published figures for 2025 and 2030) is made only at national scope
    (``region_prefix == ""``): a province's share of a national figure is not published.
    """
    life = life or Weibull()
    if kg_per_pack <= 0:
        raise InvalidHealthInput("kg_per_pack must be positive", field="kg_per_pack")
    insts = installations(store, region_prefix=region_prefix)
    first = first_year if first_year is not None else (min(i.year for i in insts) if insts else None)
    last = last_year if last_year is not None else (max(i.year for i in insts) + 15 if insts else None)
    if first is not None and last is not None:
        if last < first:
            raise InvalidHealthInput(f"last_year {last} is before first_year {first}", field="last_year")
        if last - first > MAX_SPAN or (insts and last - min(i.year for i in insts) > MAX_SPAN):
            raise InvalidHealthInput(f"a forecast may span at most {MAX_SPAN} years", field="last_year")
    retirements = forecast(insts, life=life, first_year=first, last_year=last)
    years = list(range(first, last + 1)) if insts and first is not None and last is not None else []
    series: dict[str, list[float]] = {}
    for r in retirements:
        series.setdefault(r.province, []).append(round(r.expected, 1))
    totals = national_totals(retirements)
    national = region_prefix == ""
    checks = check_national(retirements, kg_per_pack=kg_per_pack) if national else []
    return {
        "scope": {"region_prefix": region_prefix, "national": national},
        "life": {"shape": life.shape, "scale": life.scale, "mean_years": round(life.mean_years, 2)},
        "kg_per_pack": kg_per_pack,
        "years": years,
        "installations": [{"province": i.province, "year": i.year, "packs": i.count} for i in insts],
        "retirements": [r.as_dict() for r in retirements],
        "series": series,
        "national": [{"year": y, "expected": round(v, 1)} for y, v in totals.items()],
        "checks": [c.as_dict() for c in checks],
    }
