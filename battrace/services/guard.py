"""The one guarded read path: every restricted read decides the tier, writes the audit row and refuses here.

Routes and pages never check a tier or write an audit row themselves; they ask the :class:`Guard`
(``platform.guard``) and get the record at the caller's tier, or an error:

* :meth:`Guard.battery` — a battery's digital ID (``battery.read``), its history, its exports
  (EPCIS, EU Battery Pass) and its health records (value); ``least`` is the lowest tier that may see
  what is asked for;
* :meth:`Guard.vehicle` — a vehicle's record;
* :meth:`Guard.techinfo` — dismantling information, keyed by (maker, model);
* :meth:`Guard.scope` — which findings, alarms or audit rows of a list the caller may see.

What is audited: every read above the public tier (allowed, with the tier), and every refusal —
anonymous callers, refused credentials (an unknown or revoked key), an unrelated organisation, a
restricted read of an unknown battery or vehicle. A row records the moment asked for (``?at=``),
and for techinfo the stated purpose and the battery that qualifies the caller. Public-tier reads
(anyone with the code) are not audited.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NoReturn

from battrace.domain.access import (
    PARTICIPANT,
    PUBLIC,
    TECHINFO_ENDED_STATES,
    TIER_ORDER,
    Caller,
    Scope,
    may_read_techinfo,
    scope_for,
)
from battrace.errors import BattraceError, Forbidden, NotFound, Unauthorized
from battrace.services.access import audit, battery_tier, vehicle_tier
from battrace.services.passport import get_passport, get_vehicle
from battrace.storage import access as access_db
from battrace.storage.store import Store

#: Why an unrelated organisation is refused.
NO_RELATION = "no relation to this item"
CREDENTIALS = "credentials required"


@dataclass(frozen=True)
class BatteryRead:
    """A battery at the caller's tier: the full passport (serve :func:`public_view` of it when public)."""

    passport: dict[str, Any]
    tier: str


@dataclass(frozen=True)
class VehicleRead:
    record: dict[str, Any]
    tier: str


class Guard:
    """Decides, audits and refuses restricted reads for one store."""

    def __init__(self, store: Store, now: Callable[[], datetime]) -> None:
        self.store = store
        self.now = now

    # -- audit and refusal --------------------------------------------------------------------

    def _audit(self, caller: Caller, action: str, resource: str, allowed: bool, reason: str, **extra: Any) -> None:
        audit(self.store, caller, action, resource, allowed, reason, self.now(), **extra)

    def _refuse(self, caller: Caller, action: str, resource: str, reason: str, **extra: Any) -> NoReturn:
        """Audit the refusal, then raise 401 (no usable credentials) or 403."""
        self._audit(caller, action, resource, False, caller.refused or reason, **extra)
        if caller.refused:
            raise Unauthorized(caller.refused, resource=resource)
        if caller.anonymous:
            raise Unauthorized(f"{resource}: {CREDENTIALS} for this data", resource=resource)
        raise Forbidden(f"{resource}: your organisation has no relation to it; only its public tier is open",
                        resource=resource)

    def _not_found(self, caller: Caller, action: str, resource: str, exc: BattraceError, **extra: Any) -> NoReturn:
        self._audit(caller, action, resource, False, f"not on record: {exc.message}", **extra)
        raise exc

    # -- batteries and vehicles ---------------------------------------------------------------

    def battery(
        self, caller: Caller, code: str, action: str = "battery.read", *, least: str = PUBLIC,
        at: datetime | None = None, by: str = "recorded", reads: Store | None = None,
    ) -> BatteryRead:
        """``code``'s digital ID (as it was ``at``, by when events were ``recorded`` or ``occurred``; read
        from ``reads``, a replica, when given) if the caller's tier is ``least`` or above.

        ``least=PUBLIC`` (the digital ID itself) never refuses an organisation: its tier decides what
        is shown; credentials that were sent but refused are still refused (401)."""
        extra = {"as_of": at, "battery": code}
        restricted = TIER_ORDER[least] > TIER_ORDER[PUBLIC]
        if caller.refused or (restricted and caller.anonymous):
            self._refuse(caller, action, code, CREDENTIALS, **extra)
        try:
            source = reads if reads is not None else self.store  # a read replica, when given
            passport = get_passport(source, code, at=at, by=by)
        except NotFound as exc:
            if restricted:
                self._not_found(caller, action, code, exc, **extra)
            raise
        tier = battery_tier(reads if reads is not None else self.store, caller, passport)
        if TIER_ORDER[tier] < TIER_ORDER[least]:
            self._refuse(caller, action, code, NO_RELATION, **extra)
        if tier != PUBLIC:
            self._audit(caller, action, code, True, tier, **extra)
        return BatteryRead(passport, tier)

    def vehicle(self, caller: Caller, vin: str, action: str = "vehicle.read") -> VehicleRead:
        """A vehicle's record, for its participants, regulators within its regions and the admin."""
        if caller.refused or caller.anonymous:
            self._refuse(caller, action, vin, CREDENTIALS)
        try:
            record = get_vehicle(self.store, vin)
        except NotFound as exc:
            self._not_found(caller, action, vin, exc)
        tier = vehicle_tier(self.store, caller, record)
        if TIER_ORDER[tier] < TIER_ORDER[PARTICIPANT]:
            self._refuse(caller, action, vin, NO_RELATION)
        self._audit(caller, action, vin, True, tier)
        return VehicleRead(record, tier)

    # -- dismantling information --------------------------------------------------------------

    def techinfo(
        self, caller: Caller, model: str, *, maker: str | None = None, battery: str | None = None,
        purpose: str | None = None,
    ) -> list[dict[str, Any]]:
        """The dismantling documents of ``model`` that the caller qualifies for.

        An organisation of a reading type (:data:`~battrace.domain.access.TECHINFO_READERS`) gets the
        documents of the makers whose ``model`` it holds now in a battery not yet recycled — never a
        same-named model of another maker. ``maker`` narrows to one maker; ``battery`` names the held
        battery the read is for. Every attempt is audited with the purpose and the battery."""
        action, resource = "techinfo.read", model if maker is None else f"{maker}:{model}"
        extra: dict[str, Any] = {"purpose": purpose, "battery": battery}
        if caller.refused:
            self._refuse(caller, action, resource, CREDENTIALS, **extra)
        held: list[tuple[str, str]] = []
        if caller.org is not None and not caller.admin:
            with self.store.reader() as conn:
                held = access_db.held_of_model(conn, caller.org, model, maker=maker, battery=battery,
                                               ended_states=TECHINFO_ENDED_STATES)
        allowed, reason = may_read_techinfo(caller, bool(held))
        if held and battery is None:
            extra["battery"] = held[0][0]
        if not allowed:
            self._audit(caller, action, resource, False, reason, **extra)
            if caller.anonymous:
                raise Unauthorized(f"dismantling information is restricted: {reason}")
            raise Forbidden(f"dismantling information of {model} is restricted: {reason}", model=model)
        makers = None if caller.admin else {m for _, m in held}
        if caller.admin and maker is not None:
            makers = {maker}
        with self.store.reader() as conn:
            docs = access_db.techinfo_docs(conn, model, makers)
        if not docs:
            self._audit(caller, action, resource, False, "no dismantling information filed", **extra)
            raise NotFound(f"no dismantling information filed for model {model}", model=model)
        self._audit(caller, action, resource, True, reason, **extra)
        return docs

    # -- lists --------------------------------------------------------------------------------

    def scope(self, caller: Caller, action: str) -> Scope:
        """Which records of a list the caller may see; refusals (no credentials, a regulator without
        a jurisdiction) are audited. Allowed list reads are not: they are scoped, not granted."""
        if caller.refused or caller.anonymous:
            self._refuse(caller, action, action, CREDENTIALS)
        scope = scope_for(caller)
        if scope is None:
            self._audit(caller, action, action, False, "this regulator has no jurisdiction on record")
            raise Forbidden("this regulator has no jurisdiction on record")
        return scope
