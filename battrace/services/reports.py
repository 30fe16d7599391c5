"""Public reports of suspicious batteries: submitted by anyone, triaged by the regulators of the region.

A report names the battery's code (GB/T 34014 syntax is checked), what the person saw, where (a
6-digit region code) and, optionally, how to reach them. It is rate-limited per client (a hash of
the address, never the address itself: :data:`RATE_LIMIT` reports per :data:`RATE_WINDOW`) and
answered with a receipt number. With the receipt anyone can check the status — and nothing else:
the content and the contact are for regulators only. A regulator whose jurisdiction covers the
region links the report to a battery, opens a case on it, or dismisses it with a reason.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from datetime import datetime, timedelta
from typing import Any

from battrace.domain.access import Caller
from battrace.domain.codes import parse_code
from battrace.errors import Forbidden, NotFound, RateLimited, UnknownBattery, ValidationError
from battrace.services.access import require_org
from battrace.services.cases import open_case, reach
from battrace.storage import supervision as db
from battrace.storage.store import Store

RECEIVED, LINKED, CASE_OPENED, DISMISSED = "received", "linked", "case_opened", "dismissed"
REPORT_STATES = (RECEIVED, LINKED, CASE_OPENED, DISMISSED)
RATE_LIMIT = 5
RATE_WINDOW = timedelta(hours=1)
_REGION = re.compile(r"^\d{6}$")
_RECEIPT = re.compile(r"^PR-[0-9A-F]{10}$")


def client_id(address: str | None) -> str:
    return hashlib.sha256(f"battrace-report:{address or 'unknown'}".encode()).hexdigest()[:32]


def _text(raw: dict[str, Any], name: str, lo: int, hi: int, *, required: bool) -> str | None:
    value = raw.get(name)
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise ValidationError(f"{name} is required", field=name)
        return None
    if not isinstance(value, str) or not lo <= len(value.strip()) <= hi:
        raise ValidationError(f"{name} must be text of {lo} to {hi} characters", field=name)
    return value.strip()


def submit(store: Store, raw: Any, *, client: str, now: datetime) -> dict[str, Any]:
    """Record a report; the answer is the receipt (and the state)."""
    if not isinstance(raw, dict):
        raise ValidationError("a report must be a JSON object")
    extra = sorted(set(raw) - {"code", "what", "region", "contact"})
    if extra:
        raise ValidationError(f"unknown field(s): {', '.join(extra)}", fields=extra)
    code = _text(raw, "code", 1, 64, required=True)
    assert code is not None
    code = code.upper().replace(" ", "")
    parse_code(code)
    what = _text(raw, "what", 5, 2000, required=True)
    region = raw.get("region")
    if not isinstance(region, str) or not _REGION.match(region):
        raise ValidationError(f"region must be a 6-digit region code, got {region!r}", field="region")
    contact = _text(raw, "contact", 3, 200, required=False)
    receipt = "PR-" + secrets.token_hex(5).upper()
    with store.writer() as conn:
        if db.reports_since(conn, client, now - RATE_WINDOW) >= RATE_LIMIT:
            raise RateLimited(f"at most {RATE_LIMIT} reports an hour from one address; please try later")
        db.insert_report(conn, {"receipt": receipt, "code": code, "what": what, "region": region,
                                "contact": contact, "client": client, "created_at": now, "updated_at": now,
                                "state": RECEIVED, "battery": None, "case_id": None, "reason": None,
                                "triaged_by": None})
    return {"receipt": receipt, "state": RECEIVED, "submitted_at": now.isoformat()}


def status(store: Store, receipt: str) -> dict[str, Any]:
    """What the public may know of a report: its state (and a dismissal's reason), by receipt."""
    if not _RECEIPT.match(receipt or ""):
        raise ValidationError(f"a receipt looks like PR-0123456789, got {receipt!r}", field="receipt")
    with store.reader() as conn:
        row = db.get_report(conn, receipt)
    if row is None:
        raise NotFound(f"unknown receipt {receipt}", receipt=receipt)
    return {"receipt": row.receipt, "state": row.state, "submitted_at": row.created_at.isoformat(),
            "updated_at": row.updated_at.isoformat(), "reason": row.reason if row.state == DISMISSED else None}


def _full(row: Any) -> dict[str, Any]:
    return {"receipt": row.receipt, "code": row.code, "what": row.what, "region": row.region,
            "contact": row.contact, "state": row.state, "submitted_at": row.created_at.isoformat(),
            "updated_at": row.updated_at.isoformat(), "battery": row.battery, "case": row.case_id,
            "reason": row.reason, "triaged_by": row.triaged_by}


def list_reports(store: Store, caller: Caller, *, state: str | None = None, limit: int = 100) -> list[dict[str, Any]]:
    """Reports in the caller's jurisdiction (regulators only)."""
    require_org(caller)
    if state is not None and state not in REPORT_STATES:
        raise ValidationError(f"state must be one of {', '.join(REPORT_STATES)}", field="state")
    with store.reader() as conn:
        who = reach(store, conn, caller)
        if who is None:
            raise Forbidden("only regulators see public reports")
        return [_full(r) for r in db.select_reports(conn, region_prefix=who.prefix or None, state=state,
                                                   limit=limit)]


def triage(store: Store, caller: Caller, receipt: str, raw: dict[str, Any], now: datetime) -> dict[str, Any]:
    """``{"action": "link", "battery": code}`` | ``{"action": "open_case", "org": credit, "findings": [...],
    "reason": ...}`` | ``{"action": "dismiss", "reason": ...}``."""
    require_org(caller)
    action = raw.get("action") if isinstance(raw, dict) else None
    with store.reader() as conn:
        who = reach(store, conn, caller)
        row = db.get_report(conn, receipt)
    if who is None:
        raise Forbidden("only regulators triage public reports")
    if row is None or not who.covers_region(row.region):
        raise NotFound(f"unknown receipt {receipt} in your jurisdiction", receipt=receipt)
    values: dict[str, Any] = {"updated_at": now, "triaged_by": caller.org or "admin"}
    if action == "link":
        code = str(raw.get("battery") or row.code)
        with store.reader() as conn:
            if not db.battery_exists(conn, code):
                raise UnknownBattery(f"unknown battery {code}", code=code)
        values.update(state=LINKED, battery=code)
    elif action == "dismiss":
        reason = raw.get("reason")
        if not isinstance(reason, str) or len(reason.strip()) < 3:
            raise ValidationError("a dismissal needs a reason", field="reason")
        values.update(state=DISMISSED, reason=reason.strip()[:2000])
    elif action == "open_case":
        findings = raw.get("findings") or []
        if not isinstance(findings, list) or not all(isinstance(f, int) for f in findings):
            raise ValidationError("findings must be a list of finding ids", field="findings")
        org = raw.get("org") if isinstance(raw.get("org"), str) else None
        case = open_case(store, caller, findings, reason=raw.get("reason") or row.what, now=now, report=receipt,
                         org=org, region=row.region)
        values.update(state=CASE_OPENED, case_id=case["id"])
    else:
        raise ValidationError(f"action must be link, open_case or dismiss, got {action!r}", field="action")
    with store.writer() as conn:
        db.update_report(conn, receipt, values)
        out = _full(db.get_report(conn, receipt))
    return out
