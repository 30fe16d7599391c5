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

from battrace.domain.access import (
    ADMIN,
    PUBLIC,
    Caller,
    battery_parties,
    battery_regions,
    scope_for,
    tier_for,
)
from battrace.domain.orgs import Org, parse_org
from battrace.errors import Forbidden, NotFound, Unauthorized, UnknownOrg, ValidationError
from battrace.storage import access as keys_db
from battrace.storage import audit as audit_db
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
        keys_db.insert_key(conn, {
            "key_id": key_id, "org": org, "role": "admin" if admin else "org", "secret_hash": _digest(secret),
            "label": label, "created_at": now, "revoked_at": None,
        })
    return f"{KEY_PREFIX}{key_id}_{secret}"


def revoke_key(store: Store, key_id: str, now: datetime) -> None:
    with store.writer() as conn:
        if not keys_db.revoke_key(conn, key_id, now):
            raise NotFound(f"no active key {key_id}", key_id=key_id)


def list_keys(store: Store) -> list[dict[str, Any]]:
    with store.reader() as conn:
        return keys_db.list_keys(conn)


def authenticate(store: Store, authorization: str | None) -> Caller:
    """The caller behind an ``Authorization`` header (anonymous when absent).

    Every call reads the key and its organisation (one indexed statement through the driver, see
    :func:`battrace.storage.access.get_key_and_org`): nothing about a key's validity is cached, so a
    key revoked by any process (another server worker, ``battrace keys revoke``) is refused at its
    next request. Only the parsing of the organisation's stored document is remembered, keyed by
    that document's text (:func:`_org_of_doc`), so a changed organisation is seen at once too.
    """
    if not authorization:
        return Caller()
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.startswith(KEY_PREFIX):
        raise Unauthorized("Authorization must be 'Bearer bt_<key>'")
    key_id, _, secret = token[len(KEY_PREFIX):].partition("_")
    row = keys_db.get_key_and_org(store, key_id)
    if row is None or not hmac.compare_digest(row[0], _digest(secret)):
        raise Unauthorized("unknown API key")
    _, role, revoked_at, _, org_doc = row
    if revoked_at is not None:
        raise Unauthorized("this API key was revoked", key_id=key_id)
    if role == "admin":
        return Caller(admin=True, key_id=key_id)
    if org_doc is None:
        raise Unauthorized("the key's organisation no longer exists", key_id=key_id)
    org = _org_of_doc(org_doc)
    return Caller(org=org.credit_code, org_type=org.type, jurisdiction=org.jurisdiction, key_id=key_id)


#: Organisations parsed from their stored documents, by the document's text (a changed organisation
#: has another text); bounded: emptied when full.
_ORG_DOCS: dict[str, Org] = {}
_ORG_DOCS_MAX = 4096


def _org_of_doc(doc: str) -> Org:
    org = _ORG_DOCS.get(doc)
    if org is None:
        if len(_ORG_DOCS) >= _ORG_DOCS_MAX:
            _ORG_DOCS.clear()
        org = _ORG_DOCS[doc] = parse_org(json.loads(doc))
    return org


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


def audit(
    store: Store, caller: Caller, action: str, resource: str, allowed: bool, reason: str, now: datetime, *,
    as_of: datetime | None = None, purpose: str | None = None, battery: str | None = None,
) -> None:
    """Append one row to the audit log, in a transaction of its own (never the ledger's)."""
    audit_db.append(store.engine, {
        "at": now, "actor_org": caller.org or ("admin" if caller.admin else None), "key_id": caller.key_id,
        "action": action, "resource": resource, "allowed": allowed, "reason": reason, "as_of": as_of,
        "purpose": purpose, "battery": battery,
    })


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


def list_audit(
    store: Store, caller: Caller, *, actor: str | None = None, action: str | None = None, limit: int = 100,
    offset: int = 0,
) -> list[dict[str, Any]]:
    """The audit log; a regulator sees the reads of organisations within its jurisdiction."""
    require_regulator(caller)
    scope = scope_for(caller)
    if scope is None:
        raise Forbidden("this regulator has no jurisdiction on record")
    prefix = scope.region_prefix
    with store.reader() as conn:
        return audit_db.list_rows(conn, actor=actor, action=action, region_prefix=prefix or None, limit=limit,
                                  offset=offset)
