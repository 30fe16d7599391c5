"""The collection outlets directory: where to hand in a battery, by province and city.

Each outlet is set up for a producer (``operated_for``: a vehicle maker, a battery maker, or a
re-use enterprise taking its products back), has an address and says what it accepts. Registered
``collection_outlet`` organisations with ``operated_for`` are listed too (at their region, without
an address). Rule R11 reads the same directory (:func:`coverage`).
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from typing import Any

from battrace.domain.access import Caller, region_prefix
from battrace.errors import Forbidden, UnknownOrg, ValidationError
from battrace.services.access import require_org
from battrace.storage import supervision as db
from battrace.storage.store import Store

PRODUCER_TYPES = ("vehicle_maker", "battery_maker", "reuse_enterprise")
ACCEPTS = ("pack", "module", "cell", "remade_product")
_REGION = re.compile(r"^\d{6}$")
MAX_ITEMS = 1000


def _validate(item: Any, i: int, orgs: dict[str, Any], caller: Caller, now: datetime) -> dict[str, Any]:
    where = f"outlets[{i}]"
    if not isinstance(item, dict):
        raise ValidationError(f"{where} must be an object", field=where)
    extra = sorted(set(item) - {"name", "operated_for", "operator", "region", "address", "accepts"})
    if extra:
        raise ValidationError(f"{where}: unknown field(s) {', '.join(extra)}", field=where)
    name, address = item.get("name"), item.get("address")
    for label, value in (("name", name), ("address", address)):
        if not isinstance(value, str) or not 2 <= len(value.strip()) <= 300:
            raise ValidationError(f"{where}.{label} must be text (2-300 characters)", field=f"{where}.{label}")
    region = item.get("region")
    if not isinstance(region, str) or not _REGION.match(region):
        raise ValidationError(f"{where}.region must be a 6-digit region code, got {region!r}", field=where)
    producer = item.get("operated_for")
    org = orgs.get(producer) if isinstance(producer, str) else None
    if org is None:
        raise UnknownOrg(f"{where}.operated_for: unknown organisation {producer!r}", org=producer)
    if org.type not in PRODUCER_TYPES:
        raise ValidationError(f"{where}.operated_for must be a {', '.join(PRODUCER_TYPES)}", field=where)
    if not caller.admin and caller.org != producer:
        raise Forbidden(f"{where}: a company registers only outlets set up for itself")
    operator = item.get("operator")
    if operator is not None and operator not in orgs:
        raise UnknownOrg(f"{where}.operator: unknown organisation {operator!r}", org=operator)
    accepts = item.get("accepts") or ["pack"]
    if not isinstance(accepts, list) or not accepts or not set(accepts) <= set(ACCEPTS):
        raise ValidationError(f"{where}.accepts must be a list of {', '.join(ACCEPTS)}", field=where)
    return {"name": str(name).strip(), "operated_for": producer, "operator": operator, "region": region,
            "address": str(address).strip(), "accepts": json.dumps(sorted(set(accepts))), "created_at": now}


def add_outlets(store: Store, caller: Caller, items: Any, now: datetime) -> dict[str, int]:
    require_org(caller)
    items = items if isinstance(items, list) else [items]
    if len(items) > MAX_ITEMS:
        raise ValidationError(f"at most {MAX_ITEMS} outlets a request", field="outlets")
    with store.writer() as conn:
        orgs = store.load_orgs(conn)
        rows = [_validate(item, i, orgs, caller, now) for i, item in enumerate(items)]
        db.insert_outlets(conn, rows)
    return {"added": len(rows)}


def list_outlets(store: Store, *, region: str | None = None, operated_for: str | None = None,
                 limit: int = 500) -> list[dict[str, Any]]:
    """Outlets in ``region`` (a province ``440000``, a city ``440300`` or a county), oldest first."""
    prefix = region_prefix(region) if region else None
    if region is not None and not _REGION.match(region):
        raise ValidationError(f"region must be a 6-digit region code, got {region!r}", field="region")
    with store.reader() as conn:
        orgs = store.load_orgs(conn)
        rows = db.select_outlets(conn, region_prefix=prefix, operated_for=operated_for, limit=limit)
    out = [{"id": r.id, "name": r.name, "operated_for": r.operated_for,
            "operated_for_name": orgs[r.operated_for].name if r.operated_for in orgs else None,
            "operator": r.operator, "region": r.region, "province": r.region[:2] + "0000",
            "city": r.region[:4] + "00", "address": r.address, "accepts": json.loads(r.accepts)} for r in rows]
    for org in orgs.values():  # registered outlets without a directory entry of their own
        if org.type != "collection_outlet" or not org.operated_for or not org.region:
            continue
        if (prefix and not org.region.startswith(prefix)) or (operated_for and org.operated_for != operated_for):
            continue
        if any(o["operator"] == org.credit_code for o in out):
            continue
        out.append({"id": None, "name": org.name, "operated_for": org.operated_for,
                    "operated_for_name": orgs[org.operated_for].name if org.operated_for in orgs else None,
                    "operator": org.credit_code, "region": org.region, "province": org.region[:2] + "0000",
                    "city": org.region[:4] + "00", "address": None, "accepts": ["pack"]})
    return out[:limit]


def outlets_for_battery(store: Store, passport: dict[str, Any], producers: list[str]) -> list[dict[str, Any]]:
    """Outlets of the battery's producers in the province of its current holder (or anywhere, when the
    holder's region is unknown)."""
    holder = passport.get("custodian") or {}
    with store.reader() as conn:
        org = store.load_orgs(conn).get(str(holder.get("credit_code"))) if holder else None
    region = org.region if org is not None and org.region else None
    province = region[:2] + "0000" if region else None
    out: list[dict[str, Any]] = []
    for producer in producers:
        out.extend(list_outlets(store, region=province, operated_for=producer, limit=20))
    return out


def coverage(store: Store, conn: Any) -> dict[str, set[str]]:
    """Producer -> provinces (``440000``) where the directory lists an outlet set up for it."""
    out: dict[str, set[str]] = {}
    for producer, region in db.outlet_regions(conn):
        out.setdefault(producer, set()).add(region[:2] + "0000")
    return out
