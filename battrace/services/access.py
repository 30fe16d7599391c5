"""Credentials (API keys), the caller's tier for a battery, and the audit log of restricted reads.

A key is ``bt_<key_id>_<secret>``; only ``sha256(secret)`` is stored, so a key is shown once, at
creation. Keys belong to an organisation, or carry the platform ``admin`` role.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, select, update

from battrace.domain.access import (
    ADMIN,
    PUBLIC,
    Caller,
    battery_parties,
    battery_regions,
    may_read_techinfo,
    region_prefix,
    tier_for,
)
from battrace.errors import Forbidden, NotFound, Unauthorized, UnknownOrg, ValidationError
from battrace.storage import schema
from battrace.storage.store import Store

KEY_PREFIX = "bt_"


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def create_key(store: Store, org: str | None, now: datetime, *, admin: bool = False, label: str | None = None) -> str:
    """Create a key for ``org`` (or an admin key) and return it; it is never shown again."""
    if admin == (org is not None):
        raise ValidationError("a key belongs to an organisation or is an admin key, not both")
    key_id = secrets.token_hex(6)
    secret = secrets.token_urlsafe(24)
    with store.writer() as conn:
        if org is not None and org not in store.load_orgs(conn):
            raise UnknownOrg(f"unknown organisation {org}", org=org)
        conn.execute(schema.api_keys.insert(), [{
            "key_id": key_id, "org": org, "role": "admin" if admin else "org", "secret_hash": _digest(secret),
            "label": label, "created_at": now, "revoked_at": None,
        }])
    return f"{KEY_PREFIX}{key_id}_{secret}"


def revoke_key(store: Store, key_id: str, now: datetime) -> None:
    k = schema.api_keys
    with store.writer() as conn:
        done = conn.execute(update(k).where(k.c.key_id == key_id, k.c.revoked_at.is_(None)).values(revoked_at=now))
        if done.rowcount == 0:
            raise NotFound(f"no active key {key_id}", key_id=key_id)


def list_keys(store: Store) -> list[dict[str, Any]]:
    k = schema.api_keys
    with store.reader() as conn:
        rows = conn.execute(select(k.c.key_id, k.c.org, k.c.role, k.c.label, k.c.created_at, k.c.revoked_at)
                            .order_by(k.c.created_at))
        return [dict(r._mapping) for r in rows]


def authenticate(store: Store, authorization: str | None) -> Caller:
    """The caller behind an ``Authorization`` header (anonymous when absent)."""
    if not authorization:
        return Caller()
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.startswith(KEY_PREFIX):
        raise Unauthorized("Authorization must be 'Bearer bt_<key>'")
    key_id, _, secret = token[len(KEY_PREFIX):].partition("_")
    k = schema.api_keys
    with store.reader() as conn:
        row = conn.execute(select(k).where(k.c.key_id == key_id)).first()
        org = store.load_orgs(conn).get(row.org) if row is not None and row.org else None
    if row is None or not hmac.compare_digest(row.secret_hash, _digest(secret)):
        raise Unauthorized("unknown API key")
    if row.revoked_at is not None:
        raise Unauthorized("this API key was revoked", key_id=key_id)
    if row.role == "admin":
        return Caller(admin=True, key_id=key_id)
    if org is None:
        raise Unauthorized("the key's organisation no longer exists", key_id=key_id)
    return Caller(org=org.credit_code, org_type=org.type, jurisdiction=org.jurisdiction, key_id=key_id)


def require_org(caller: Caller) -> Caller:
    if caller.anonymous:
        raise Unauthorized("credentials required: send 'Authorization: Bearer <key>'")
    return caller


def require_admin(caller: Caller) -> None:
    require_org(caller)
    if not caller.admin:
        raise Forbidden("only the platform admin may do this")


def require_regulator(caller: Caller) -> None:
    require_org(caller)
    if not (caller.admin or caller.org_type == "regulator"):
        raise Forbidden("only regulators may do this")


def audit(store: Store, caller: Caller, action: str, resource: str, allowed: bool, reason: str, now: datetime) -> None:
    with store.writer() as conn:
        conn.execute(schema.audit_log.insert(), [{
            "at": now, "actor_org": caller.org or ("admin" if caller.admin else None), "key_id": caller.key_id,
            "action": action, "resource": resource, "allowed": allowed, "reason": reason,
        }])


def battery_tier(store: Store, caller: Caller, passport: dict[str, Any]) -> str:
    """The caller's tier for a battery whose full passport is ``passport``."""
    if caller.admin or caller.anonymous:
        return ADMIN if caller.admin else PUBLIC
    with store.reader() as conn:
        orgs = store.load_orgs(conn)
        vins = {e["vin"] for e in passport.get("history", ()) if "vin" in e}
        makers = [v[0].maker for v in store.get_vehicles(conn, vins).values()]
    regions = battery_regions(passport, {c: o.region for c, o in orgs.items()})
    return tier_for(caller, battery_parties(passport, makers), regions)


def vehicle_tier(store: Store, caller: Caller, vehicle: dict[str, Any]) -> str:
    if caller.admin or caller.anonymous:
        return ADMIN if caller.admin else PUBLIC
    with store.reader() as conn:
        orgs = store.load_orgs(conn)
    parties = {e["reporter"] for e in vehicle["history"]}
    regions = {e.get("region") for e in vehicle["history"]} | {orgs[p].region for p in parties if p in orgs}
    return tier_for(caller, parties, regions)


def techinfo_read(store: Store, caller: Caller, model: str, now: datetime) -> list[dict[str, Any]]:
    """Dismantling information of ``model``, for a qualified current holder; every attempt is audited."""
    b, t = schema.batteries, schema.techinfo
    with store.reader() as conn:
        holds = caller.org is not None and conn.execute(
            select(func.count()).select_from(b).where(and_(b.c.model == model, b.c.custodian == caller.org))
        ).scalar_one() > 0
        docs = [json.loads(r.doc) for r in conn.execute(select(t.c.doc).where(t.c.model == model))]
    allowed, reason = may_read_techinfo(caller, holds)
    if allowed and not docs:
        audit(store, caller, "techinfo.read", model, False, "no dismantling information filed", now)
        raise NotFound(f"no dismantling information filed for model {model}", model=model)
    audit(store, caller, "techinfo.read", model, allowed, reason, now)
    if not allowed:
        if caller.anonymous:
            raise Unauthorized(f"dismantling information is restricted: {reason}")
        raise Forbidden(f"dismantling information of {model} is restricted: {reason}", model=model)
    return docs


def list_audit(
    store: Store, caller: Caller, *, actor: str | None = None, action: str | None = None, limit: int = 100,
    offset: int = 0,
) -> list[dict[str, Any]]:
    """The audit log; a regulator sees the reads of organisations within its jurisdiction."""
    require_regulator(caller)
    a, o = schema.audit_log, schema.orgs
    stmt = select(a).order_by(a.c.id.desc()).limit(limit).offset(offset)
    if actor:
        stmt = stmt.where(a.c.actor_org == actor)
    if action:
        stmt = stmt.where(a.c.action == action)
    if not caller.admin and caller.jurisdiction:
        prefix = region_prefix(caller.jurisdiction)
        if prefix:
            stmt = stmt.where(a.c.actor_org.in_(select(o.c.credit_code).where(o.c.region.like(f"{prefix}%"))))
    with store.reader() as conn:
        return [dict(r._mapping) for r in conn.execute(stmt)]
