"""Supervision cases: the state machine that turns findings into outcomes, and its hash chain.

A regulator opens a case on one or more findings; every later move is a *step*::

    opened ──order──▶ rectification_ordered ──respond──▶ responded ──close──▶ closed
       │                    │    ▲                          │
       │                    │    └────────order─────────────┤ (not cured: order again)
       └────escalate────────┴──────────escalate─────────────┴──▶ escalated ──close──▶ closed
                                                                  │  └──order──▶ rectification_ordered

``escalate`` takes a measure: ``warning``, ``fine`` (with an amount in yuan) or ``transfer`` (to
another department, which then holds the case). Only the company concerned responds; only a
regulator acts otherwise. Steps are append-only and hash-chained per case, like the event log:
``hash = sha256(previous hash ‖ canonical JSON of the step)``.

This module is pure: it validates a requested step against the case as it stands and returns the
record to append; the service supplies the time and the caller.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from battrace.domain.events import canonical_json
from battrace.errors import Conflict, ValidationError

GENESIS = "0" * 64
OPENED, ORDERED, RESPONDED, ESCALATED, CLOSED = "opened", "rectification_ordered", "responded", "escalated", "closed"
STATES = (OPENED, ORDERED, RESPONDED, ESCALATED, CLOSED)
ACTIONS = ("open", "order", "respond", "escalate", "close")
MEASURES = ("warning", "fine", "transfer")
#: action -> (states it may start from, state it leads to; None: the state stays)
TRANSITIONS: dict[str, tuple[frozenset[str], str]] = {
    "order": (frozenset({OPENED, RESPONDED, ESCALATED}), ORDERED),
    "respond": (frozenset({ORDERED}), RESPONDED),
    "escalate": (frozenset({OPENED, ORDERED, RESPONDED, ESCALATED}), ESCALATED),
    "close": (frozenset({OPENED, RESPONDED, ESCALATED}), CLOSED),
}
COMPANY_ACTIONS = frozenset({"respond"})
MAX_TEXT = 4000
MAX_REFS = 50


class InvalidCaseStep(ValidationError):
    code = "invalid_case_step"


class CaseStateConflict(Conflict):
    code = "case_state"


@dataclass(frozen=True, slots=True)
class Step:
    """One appended record of a case."""

    case_id: int
    version: int
    at: datetime
    actor: str
    action: str
    state: str
    body: dict[str, Any]

    def content(self) -> dict[str, Any]:
        return {"case": self.case_id, "version": self.version, "at": self.at.astimezone(UTC).isoformat(),
                "actor": self.actor, "action": self.action, "state": self.state, "body": self.body}


def step_hash(previous: str, content: dict[str, Any]) -> str:
    return hashlib.sha256((previous + canonical_json(content)).encode("utf-8")).hexdigest()


def _text(raw: dict[str, Any], name: str, *, required: bool) -> str | None:
    value = raw.get(name)
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise InvalidCaseStep(f"{name} is required", field=name)
        return None
    if not isinstance(value, str):
        raise InvalidCaseStep(f"{name} must be text", field=name)
    if len(value) > MAX_TEXT:
        raise InvalidCaseStep(f"{name} is longer than {MAX_TEXT} characters", field=name)
    return value.strip()


def _refs(raw: dict[str, Any], name: str) -> list[str]:
    value = raw.get(name) or []
    if isinstance(value, str):
        value = [v.strip() for v in value.replace("\n", ",").split(",") if v.strip()]
    if not isinstance(value, list) or not all(isinstance(v, str) and 0 < len(v) <= 500 for v in value):
        raise InvalidCaseStep(f"{name} must be a list of references (text)", field=name)
    if len(value) > MAX_REFS:
        raise InvalidCaseStep(f"at most {MAX_REFS} {name}", field=name)
    return list(value)


def _check_keys(raw: dict[str, Any], allowed: set[str], action: str) -> None:
    extra = sorted(set(raw) - allowed - {"action"})
    if extra:
        raise InvalidCaseStep(f"unknown field(s) for {action}: {', '.join(extra)}", fields=extra)


def step_body(action: str, raw: dict[str, Any], *, departments: set[str], today: date) -> dict[str, Any]:
    """The validated body of a step ``action`` requested with ``raw`` fields (the why and the what)."""
    if action == "order":
        _check_keys(raw, {"due_date", "legal_basis", "reason"}, action)
        due_raw = raw.get("due_date")
        try:
            due = date.fromisoformat(str(due_raw)[:10]) if due_raw else None
        except ValueError:
            due = None
        if due is None:
            raise InvalidCaseStep(f"due_date must be a date YYYY-MM-DD, got {due_raw!r}", field="due_date")
        if due < today:
            raise InvalidCaseStep(f"due_date {due} is in the past", field="due_date")
        return {"due_date": due.isoformat(), "legal_basis": _text(raw, "legal_basis", required=True),
                "reason": _text(raw, "reason", required=False)}
    if action == "respond":
        _check_keys(raw, {"text", "attachments", "curing_events"}, action)
        return {"text": _text(raw, "text", required=True), "attachments": _refs(raw, "attachments"),
                "curing_events": _refs(raw, "curing_events")}
    if action == "escalate":
        _check_keys(raw, {"measure", "amount", "department", "reason", "legal_basis"}, action)
        measure = raw.get("measure")
        if measure not in MEASURES:
            raise InvalidCaseStep(f"measure must be one of {', '.join(MEASURES)}, got {measure!r}", field="measure")
        body: dict[str, Any] = {"measure": measure, "reason": _text(raw, "reason", required=True),
                                "legal_basis": _text(raw, "legal_basis", required=False)}
        if measure == "fine":
            amount = raw.get("amount")
            try:
                value = float(amount)  # type: ignore[arg-type]
            except (TypeError, ValueError):
                value = -1.0
            if not 0 < value <= 1e9:
                raise InvalidCaseStep(f"a fine needs an amount in yuan (0 < amount <= 1e9), got {amount!r}",
                                      field="amount")
            body["amount"] = round(value, 2)
        if measure == "transfer":
            dept = raw.get("department")
            if dept not in departments:
                raise InvalidCaseStep(f"department must be one of {', '.join(sorted(departments))}, got {dept!r}",
                                      field="department")
            body["department"] = dept
        return body
    if action == "close":
        _check_keys(raw, {"reason", "verified"}, action)
        return {"reason": _text(raw, "reason", required=True), "verified": bool(raw.get("verified", False))}
    raise InvalidCaseStep(f"action must be one of {', '.join(a for a in ACTIONS if a != 'open')}, got {action!r}",
                          field="action")


def next_state(current: str, action: str) -> str:
    """The state after ``action``; :class:`CaseStateConflict` when it cannot happen now."""
    allowed = TRANSITIONS.get(action)
    if allowed is None:
        raise InvalidCaseStep(f"unknown action {action!r}", field="action")
    sources, target = allowed
    if current not in sources:
        raise CaseStateConflict(f"cannot {action} a case that is {current}", state=current, action=action)
    return target


def is_company_action(action: str) -> bool:
    return action in COMPANY_ACTIONS
