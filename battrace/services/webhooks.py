"""Webhook notifications: subscriptions, a durable outbox, signed deliveries retried with back-off.

- A company or a regulator subscribes a URL to event types (:data:`EVENT_TYPES`); the platform
  makes a per-subscription secret (``whsec_…``, shown once, at creation).
- What happens (a case step, a new finding, an obligation falling due) is written to the outbox
  (``webhook_outbox``) in the same transaction as the thing itself, one row per subscription that
  may see it — nothing is lost when a receiver, or the platform, is down.
- :func:`deliver_due` POSTs the pending rows whose time has come, signed as the Standard Webhooks
  specification says (the ``standardwebhooks`` package: ``webhook-id``, ``webhook-timestamp`` and
  ``webhook-signature: v1,<base64 HMAC-SHA256 of "id.timestamp.body">``; a receiver rejects stale
  timestamps, so a replayed delivery fails; delivery is at least once: a receiver dedupes by
  ``webhook-id``). A 2xx answer marks the row ``delivered``; anything
  else schedules a retry after 30 s, 1 min, 2 min, … (doubling, at most 6 h) until
  :data:`MAX_ATTEMPTS`, then ``failed``.
"""

from __future__ import annotations

import base64
import json
import secrets
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlparse

import httpx
from standardwebhooks.webhooks import Webhook

from battrace.domain.access import Caller, region_prefix
from battrace.domain.events import canonical_json
from battrace.domain.orgs import Org
from battrace.errors import NotFound, ValidationError
from battrace.services.access import require_org
from battrace.storage import supervision as db
from battrace.storage.store import Store

EVENT_TYPES = ("finding.new", "case.step", "obligation.due_soon")
MAX_ATTEMPTS = 8
FIRST_RETRY = timedelta(seconds=30)
MAX_RETRY = timedelta(hours=6)
TIMEOUT = 5.0
Sender = Callable[[str, bytes, dict[str, str]], int]


def new_secret() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode("ascii")


def _check_url(url: Any) -> str:
    if not isinstance(url, str) or len(url) > 2000:
        raise ValidationError("url must be an http(s) URL", field="url")
    parsed = urlparse(url)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise ValidationError(f"url must be an http(s) URL, got {url!r}", field="url")
    return url


def subscribe(store: Store, caller: Caller, url: Any, events: Any, now: datetime) -> dict[str, Any]:
    """A new subscription for the caller's organisation (or the admin); the secret is in the answer only."""
    require_org(caller)
    if not isinstance(events, list) or not events or not set(events) <= set(EVENT_TYPES):
        raise ValidationError(f"events must be a non-empty list of {', '.join(EVENT_TYPES)}, got {events!r}",
                              field="events")
    secret = new_secret()
    row = {"org": caller.org, "url": _check_url(url), "events": json.dumps(sorted(set(events))), "secret": secret,
           "created_at": now, "active": True}
    with store.writer() as conn:
        sub_id = db.insert_subscription(conn, row)
    return {"id": sub_id, "url": row["url"], "events": sorted(set(events)), "secret": secret,
            "created_at": now.isoformat()}


def list_subscriptions(store: Store, caller: Caller) -> list[dict[str, Any]]:
    require_org(caller)
    with store.reader() as conn:
        rows = db.subscriptions(conn, org=caller.org, active_only=False, admin_only=caller.admin)
    return [{"id": r.id, "url": r.url, "events": json.loads(r.events), "active": r.active,
             "created_at": r.created_at.isoformat()} for r in rows]


def unsubscribe(store: Store, caller: Caller, sub_id: int) -> None:
    require_org(caller)
    with store.writer() as conn:
        if not db.deactivate_subscription(conn, sub_id, caller.org):
            raise NotFound(f"no active subscription {sub_id} of yours", subscription=sub_id)


def list_deliveries(store: Store, caller: Caller, *, status: str | None = None, limit: int = 100
                    ) -> list[dict[str, Any]]:
    require_org(caller)
    with store.reader() as conn:
        rows = db.deliveries(conn, org=caller.org, status=status, limit=limit, admin_only=caller.admin)
    return [{"id": r.id, "subscription": r.subscription_id, "url": r.url, "msg_id": r.msg_id,
             "event_type": r.event_type, "status": r.status, "attempts": r.attempts,
             "next_attempt_at": r.next_attempt_at.isoformat(),
             "last_status": r.last_status, "last_error": r.last_error,
             "delivered_at": r.delivered_at.isoformat() if r.delivered_at else None} for r in rows]


# -- the outbox ---------------------------------------------------------------------------------


def audience_sees(sub_org: str | None, orgs: dict[str, Org], parties: Iterable[str], region: str | None,
                  department: str | None = None) -> bool:
    """Whether a subscription's owner may see a notice about ``parties`` in ``region`` (for a case:
    held by ``department``, which a regulator below the national level must be)."""
    if sub_org is None:
        return True
    if sub_org in set(parties):
        return True
    org = orgs.get(sub_org)
    if org is None or org.type != "regulator" or org.jurisdiction is None:
        return False
    prefix = region_prefix(org.jurisdiction)
    if prefix == "":
        return True
    if department is not None and (org.department or "industry") != department:
        return False
    return region is not None and region.startswith(prefix)


def notify(store: Store, conn: Any, event_type: str, msg_id: str, data: dict[str, Any], *,
           parties: Sequence[str], region: str | None, now: datetime, department: str | None = None) -> int:
    """Queue ``data`` for every active subscription to ``event_type`` whose owner may see it."""
    subs = [s for s in db.subscriptions(conn) if event_type in json.loads(s.events)]
    if not subs:
        return 0
    orgs = store.load_orgs(conn)
    payload = canonical_json({"type": event_type, "timestamp": now.isoformat(), "data": data})
    rows = [{"subscription_id": s.id, "msg_id": msg_id, "event_type": event_type, "payload": payload,
             "created_at": now, "status": "pending", "attempts": 0, "next_attempt_at": now,
             "last_attempt_at": None, "last_status": None, "last_error": None, "delivered_at": None}
            for s in subs if audience_sees(s.org, orgs, parties, region, department)]
    return db.enqueue(conn, rows)


def http_sender(url: str, body: bytes, headers: dict[str, str]) -> int:
    """POST ``body`` to ``url``; the status code (a transport error raises ``httpx.HTTPError``)."""
    with httpx.Client(timeout=TIMEOUT, follow_redirects=False, trust_env=False) as client:
        return client.post(url, content=body, headers=headers).status_code


def sign(secret: str, msg_id: str, at: datetime, body: str) -> dict[str, str]:
    """The Standard Webhooks headers for one delivery."""
    from datetime import UTC

    stamp = at.astimezone(UTC).replace(microsecond=0)
    return {"webhook-id": msg_id, "webhook-timestamp": str(int(stamp.timestamp())),
            "webhook-signature": Webhook(secret).sign(msg_id, stamp, body), "content-type": "application/json"}


def retry_delay(attempts: int) -> timedelta:
    return min(FIRST_RETRY * (2 ** max(attempts - 1, 0)), MAX_RETRY)


def deliver_due(store: Store, now: datetime, *, signed_at: datetime | None = None, send: Sender = http_sender,
                limit: int = 100) -> dict[str, int]:
    """Deliver the pending outbox rows due at ``now`` (``signed_at``: the wall-clock time put in the
    signature, default ``now``). Returns ``{"delivered", "retrying", "failed"}`` counts."""
    counts = {"delivered": 0, "retrying": 0, "failed": 0}
    with store.reader() as conn:
        due = db.due_deliveries(conn, now, limit)
    for row in due:
        headers = sign(row.secret, row.msg_id, signed_at or now, row.payload)
        status: int | None = None
        error: str | None = None
        try:
            status = send(row.url, row.payload.encode("utf-8"), headers)
        except (httpx.HTTPError, httpx.InvalidURL, ValueError) as exc:  # unreachable, refused, malformed
            error = f"{type(exc).__name__}: {exc}"[:500]
        attempts = row.attempts + 1
        values: dict[str, Any] = {"attempts": attempts, "last_attempt_at": now, "last_status": status,
                                  "last_error": error}
        if status is not None and 200 <= status < 300:
            values.update(status="delivered", delivered_at=now)
            counts["delivered"] += 1
        else:
            if error is None:
                values["last_error"] = f"HTTP {status}"
            if attempts >= MAX_ATTEMPTS:
                values["status"] = "failed"
                counts["failed"] += 1
            else:
                values["next_attempt_at"] = now + retry_delay(attempts)
                counts["retrying"] += 1
        with store.writer() as conn:
            db.record_attempt(conn, row.id, values)
    return counts


class FindingNotifier:
    """A ledger observer (after the compliance engine): queues ``finding.new`` for the findings the
    batch raised, in the batch's transaction. Costs one cheap query per batch when nobody subscribes."""

    def after_append(self, conn: Any, accepted: Sequence[Any], world: Any) -> None:
        if not accepted:
            return
        if not any("finding.new" in json.loads(events) for events in db.subscribed_event_types(conn)):
            return
        from battrace.storage import compliance as fdb

        lo, hi = min(a.seq for a in accepted), max(a.seq for a in accepted)
        now = max(a.recorded_at for a in accepted)
        for row in fdb.findings_raised_between(conn, lo, hi):
            data = fdb.finding_dict(row)
            notify(world.store, conn, "finding.new", f"finding-{row.id}", data, parties=data["orgs"],
                   region=row.region, now=now)
