"""Access tiers: who may see what of a battery's digital ID.

Modelled on the EU Battery Passport's public / legitimate-interest / authority tiers::

    public       anyone with the code: identity, maker, chemistry, capacity, production month,
                 lifecycle state, whether it is a retired EV battery, re-made product certification
    participant  its maker, the vehicle maker, every organisation that has held or reported it:
                 the full digital ID and history
    regulator    within its jurisdiction (an administrative region code): everything, plus
                 findings and statistics
    admin        the platform operator: everything

This module is pure: the services gather the facts (the caller, the battery's parties and regions)
and ask :func:`tier_for`. Dismantling technical information has its own rule
(:func:`may_read_techinfo`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from battrace.domain.state import RETIRED, Status

PUBLIC, PARTICIPANT, REGULATOR, ADMIN = "public", "participant", "regulator", "admin"
TIER_ORDER = {PUBLIC: 0, PARTICIPANT: 1, REGULATOR: 2, ADMIN: 3}
#: Organisation types that may read dismantling information of a model they currently hold.
TECHINFO_READERS = frozenset({"repair_shop", "dismantler", "collection_outlet", "reuse_enterprise", "recycler"})
#: States meaning the battery left EV service for good (a "retired EV battery").
RETIRED_STATES = RETIRED
#: States after which a holder no longer qualifies for the dismantling information of its model.
TECHINFO_ENDED_STATES = frozenset({Status.RECYCLED})


@dataclass(frozen=True, slots=True)
class Caller:
    """Who is asking: nobody (public), an organisation, or the platform admin."""

    org: str | None = None
    org_type: str | None = None
    jurisdiction: str | None = None
    admin: bool = False
    key_id: str | None = None
    #: Why the credentials sent were refused (unknown or revoked key); the caller is then anonymous,
    #: and a guarded read answers 401 after auditing the attempt.
    refused: str | None = None

    @property
    def anonymous(self) -> bool:
        return self.org is None and not self.admin


def region_prefix(code: str) -> str:
    """The prefix a 6-digit division code stands for: ``440000`` → ``44``, ``440300`` → ``4403``."""
    if code == "000000":
        return ""
    if code.endswith("0000"):
        return code[:2]
    if code.endswith("00"):
        return code[:4]
    return code


def in_jurisdiction(jurisdiction: str | None, regions: Iterable[str | None]) -> bool:
    if jurisdiction is None:
        return False
    prefix = region_prefix(jurisdiction)
    return any(r is not None and r.startswith(prefix) for r in regions)


def tier_for(caller: Caller, parties: Iterable[str], regions: Iterable[str | None]) -> str:
    """The caller's tier for one battery (or vehicle) given its parties and the regions it touched."""
    if caller.admin:
        return ADMIN
    if caller.org is None:
        return PUBLIC
    if caller.org_type == "regulator" and in_jurisdiction(caller.jurisdiction, regions):
        return REGULATOR
    if caller.org in set(parties):
        return PARTICIPANT
    return PUBLIC


def may_read_techinfo(caller: Caller, holds_model: bool) -> tuple[bool, str]:
    """(allowed, reason) for reading a model's dismantling information."""
    if caller.admin:
        return True, "platform admin"
    if caller.org is None:
        return False, "credentials required"
    if caller.org_type not in TECHINFO_READERS:
        return False, f"a {caller.org_type} may not read dismantling information"
    if not holds_model:
        return False, "the organisation holds no battery of this maker and model that is not yet recycled"
    return True, f"{caller.org_type} holding a battery of this maker and model"


def is_retired_ev_battery(passport: dict[str, Any]) -> bool:
    """Whether the battery has left EV service (or is a product re-made from such batteries)."""
    return bool(passport.get("waste") or passport.get("remade") or passport.get("state") in RETIRED_STATES)


def _public_pack(pack: dict[str, Any] | None) -> dict[str, Any] | None:
    if not pack:
        return None
    return {"code": pack["code"], "retired": bool(pack.get("retired")), "retired_at": pack.get("retired_at")}


def public_view(passport: dict[str, Any]) -> dict[str, Any]:
    """The public tier of a digital ID."""
    produced = passport.get("produced_at") or passport["parsed"]["production_date"]
    maker = passport.get("maker") or {}
    return {
        "code": passport["code"],
        "level": passport["level"],
        "battery_type": passport["parsed"]["battery_type"],
        "chemistry": passport["chemistry"],
        "maker": maker.get("name"),
        "model": passport.get("model"),
        "rated_capacity_ah": passport.get("rated_capacity_ah"),
        "rated_energy_kwh": passport.get("rated_energy_kwh"),
        "nominal_voltage_v": passport.get("nominal_voltage_v"),
        "production_month": str(produced)[:7],
        "state": passport["state"],
        "retired_ev_battery": is_retired_ev_battery(passport),
        # a module or cell: the pack it belongs (belonged) to, by code only, and when that pack retired
        "pack": _public_pack(passport.get("pack")),
        "remade_product": bool(passport.get("remade")),
        "application": passport.get("application") if passport.get("remade") else None,
        "certification": passport.get("certification") if passport.get("remade") else None,
        "tier": PUBLIC,
    }


def battery_parties(passport: dict[str, Any], vehicle_makers: Iterable[str]) -> set[str]:
    """The maker, the vehicle makers, and every organisation that reported on or received it."""
    parties = set(vehicle_makers)
    if passport.get("maker"):
        parties.add(passport["maker"]["credit_code"])
    for event in passport.get("history", ()):
        parties.add(event["reporter"])
        if event["type"] == "battery.handed_over":
            parties.add(event["to"])
    return parties


def battery_regions(passport: dict[str, Any], org_regions: dict[str, str | None]) -> set[str | None]:
    regions: set[str | None] = {e.get("region") for e in passport.get("history", ())}
    regions.update(org_regions.get(e["reporter"]) for e in passport.get("history", ()))
    for ref in (passport.get("maker"), passport.get("custodian")):
        if ref:
            regions.add(org_regions.get(ref["credit_code"]))
    return regions


@dataclass(frozen=True, slots=True)
class Scope:
    """Which records of a list (findings, alarms, audit rows) a caller may see: everything (admin),
    those within a jurisdiction (``region_prefix``, regulators), or the organisation's own (``org``)."""

    org: str | None = None
    region_prefix: str | None = None
    everything: bool = False

    def as_filters(self) -> dict[str, Any]:
        """Keyword filters for the listing functions (``org=`` or ``region_prefix=``)."""
        if self.everything:
            return {}
        if self.region_prefix is not None:
            return {"region_prefix": self.region_prefix} if self.region_prefix else {}
        return {"org": self.org or ""}


def scope_for(caller: Caller) -> Scope | None:
    """The caller's :class:`Scope`; ``None`` for an anonymous caller or a regulator without a jurisdiction."""
    if caller.admin:
        return Scope(everything=True)
    if caller.org is None:
        return None
    if caller.org_type == "regulator":
        return Scope(region_prefix=region_prefix(caller.jurisdiction)) if caller.jurisdiction else None
    return Scope(org=caller.org)
