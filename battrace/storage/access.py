"""Storage of access: API keys, and the facts a read's tier is decided from (holdings for techinfo).

Statements only; :mod:`battrace.services.access` and :mod:`battrace.services.guard` decide.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import Connection, select, update

from battrace.storage import schema
from battrace.storage.store import Store

K = schema.api_keys


def insert_key(conn: Connection, row: dict[str, Any]) -> None:
    conn.execute(K.insert(), [row])


def revoke_key(conn: Connection, key_id: str, now: Any) -> bool:
    """Revoke an active key; whether there was one."""
    done = conn.execute(update(K).where(K.c.key_id == key_id, K.c.revoked_at.is_(None)).values(revoked_at=now))
    return bool(done.rowcount)


def list_keys(conn: Connection) -> list[dict[str, Any]]:
    rows = conn.execute(select(K.c.key_id, K.c.org, K.c.role, K.c.label, K.c.created_at, K.c.revoked_at)
                        .order_by(K.c.created_at))
    return [dict(r._mapping) for r in rows]


_KEY_AND_ORG = ("SELECT k.secret_hash, k.role, k.revoked_at, k.org, o.doc FROM api_keys k"
                " LEFT JOIN orgs o ON o.credit_code = k.org WHERE k.key_id = {mark}")


def get_key_and_org(store: Store, key_id: str) -> tuple[str, str, Any, str | None, str | None] | None:
    """Key ``key_id``'s ``(secret_hash, role, revoked_at, org, org_doc)``, ``org_doc`` being its
    organisation's stored document (None when there is none), in one statement through the driver
    (:meth:`Store.read_one`): every authenticated request runs it."""
    mark = "?" if store.dialect == "sqlite" else "%s"
    row = store.read_one(_KEY_AND_ORG.format(mark=mark), (key_id,))
    return None if row is None else (row[0], row[1], row[2], row[3], row[4])


def held_of_model(
    conn: Connection, org: str, model: str, *, maker: str | None = None, battery: str | None = None,
    ended_states: frozenset[str] = frozenset(), limit: int = 1000,
) -> list[tuple[str, str]]:
    """``(code, maker)`` of batteries of ``model`` (of ``maker``; only ``battery``) that ``org`` holds
    now, leaving out those in ``ended_states``."""
    b = schema.batteries
    stmt = (select(b.c.code, b.c.maker).where(b.c.custodian == org, b.c.model == model, b.c.maker.is_not(None))
            .order_by(b.c.code).limit(limit))
    if maker is not None:
        stmt = stmt.where(b.c.maker == maker)
    if battery is not None:
        stmt = stmt.where(b.c.code == battery)
    if ended_states:
        stmt = stmt.where(b.c.state.not_in(sorted(ended_states)))
    return [(r.code, r.maker) for r in conn.execute(stmt)]


def techinfo_docs(conn: Connection, model: str, makers: set[str] | None) -> list[dict[str, Any]]:
    """The dismantling documents filed for ``model`` by ``makers`` (every maker when ``None``)."""
    t = schema.techinfo
    stmt = select(t.c.doc).where(t.c.model == model).order_by(t.c.maker)
    if makers is not None:
        if not makers:
            return []
        stmt = stmt.where(t.c.maker.in_(sorted(makers)))
    return [json.loads(r.doc) for r in conn.execute(stmt)]
