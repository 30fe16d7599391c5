"""Organisations registry: import (idempotent, by credit code) and list."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from battrace.domain.orgs import InvalidOrg, Org, parse_org
from battrace.errors import BattraceError, UnknownOrg
from battrace.services.counts import rebuild_counts
from battrace.storage.store import Store


def import_orgs(store: Store, raw: Any, now: datetime) -> dict[str, int]:
    """Validate every organisation first, then write them all in one transaction (or none).

    Returns counts ``{created, updated, unchanged}``.
    """
    if not isinstance(raw, list):
        raise InvalidOrg("an organisations file must hold a JSON list of organisation objects")
    parsed: list[Org] = []
    seen: dict[str, int] = {}
    for i, item in enumerate(raw):
        try:
            org = parse_org(item)
        except BattraceError as exc:
            raise type(exc)(f"organisation #{i + 1}: {exc.message}", index=i, **exc.context) from None
        if org.credit_code in seen:
            raise InvalidOrg(
                f"organisation #{i + 1}: credit code {org.credit_code} appears twice "
                f"(also #{seen[org.credit_code] + 1})",
                index=i,
            )
        seen[org.credit_code] = i
        parsed.append(org)
    with store.writer() as conn:
        current = store.load_orgs(conn)
        merged = dict(current)
        merged.update({o.credit_code: o for o in parsed})
        owners: dict[str, str] = {}
        for org in merged.values():
            for code in org.manufacturer_codes:
                other = owners.setdefault(code, org.credit_code)
                if other != org.credit_code:
                    raise InvalidOrg(
                        f"manufacturer code {code} is claimed by both {other} and {org.credit_code}",
                        manufacturer_code=code,
                    )
        for org in merged.values():
            if org.operated_for is not None and org.operated_for not in merged:
                raise UnknownOrg(
                    f"{org.credit_code}: operated_for names unknown organisation {org.operated_for}",
                    org=org.operated_for,
                )
        changed = [o for o in parsed if current.get(o.credit_code) != o]
        store.save_orgs(conn, changed, now)
        if any(o.credit_code in current and current[o.credit_code].region != o.region for o in changed):
            rebuild_counts(store, conn, dashboard_too=False)  # the statistics count by the holder's region
    created = sum(1 for o in parsed if o.credit_code not in current)
    updated = len(changed) - created
    return {"created": created, "updated": updated, "unchanged": len(parsed) - len(changed)}


def list_orgs(store: Store) -> list[Org]:
    with store.reader() as conn:
        return sorted(store.load_orgs(conn).values(), key=lambda o: (o.type, o.credit_code))


def get_org(store: Store, credit_code: str) -> Org:
    with store.reader() as conn:
        org = store.load_orgs(conn).get(credit_code)
    if org is None:
        raise UnknownOrg(f"unknown organisation {credit_code}", org=credit_code)
    return org
