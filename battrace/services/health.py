"""Health use cases: pulse-test estimates, grading, assessment recorded as ``battery.tested``, value.

* :func:`estimate_rows` / :func:`grade_request` — pure computations over request data (no storage).
* :func:`assess` — estimate (from a pulse test) or take a measured SOH, grade it with the policy and
  append a ``battery.tested`` event through the ledger, the one path every writer takes. The event's
  ``features`` keep the estimate's interval and the grading decision, so the digital ID can show
  why a battery was sent to re-use or to recycling.
* :func:`health_summary` — what the digital ID adds: the grading decision and residual value
  derived from the battery's latest recorded health.
* :func:`battery_value` — material vs re-use value of one battery.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

from battrace.clock import CHINA
from battrace.domain.grading import (
    DEFAULT_POLICY,
    METHODS,
    NO_REUSE_STATES,
    GradingDecision,
    GradingPolicy,
    grade,
    no_reuse,
)
from battrace.domain.health import (
    HealthEstimate,
    InvalidHealthInput,
    PulseTest,
    estimate_many,
    grade_for,
    load_model,
)
from battrace.domain.valuation import ResidualValue, ReuseTerms, residual_value
from battrace.errors import BattraceError, Conflict, ValidationError
from battrace.services.passport import get_passport
from battrace.services.platform import Platform

#: Largest pulse-test batch one request may carry.
MAX_ROWS = 10_000


# --------------------------------------------------------------------------- pure computations


def _row_error(n: int, exc: InvalidHealthInput) -> InvalidHealthInput:
    column = exc.context.get("field")
    where = f"row {n}" + (f", column {column}" if column else "")
    return InvalidHealthInput(f"{where}: {exc.message}", row=n, column=column)


def parse_pulse_rows(rows: Sequence[Any]) -> list[PulseTest]:
    """Pulse tests from JSON rows (the CSV's columns); an error names the row (1 = first) and column."""
    if not isinstance(rows, list) or not rows:
        raise InvalidHealthInput("the body must be a non-empty JSON array of pulse-test rows")
    if len(rows) > MAX_ROWS:
        raise InvalidHealthInput(f"at most {MAX_ROWS} rows per request, got {len(rows)}", limit=MAX_ROWS)
    model = load_model()
    tests = []
    for n, row in enumerate(rows, start=1):
        if not isinstance(row, Mapping):
            raise InvalidHealthInput(f"row {n}: must be an object with chemistry, rated_capacity_ah, U1…U21", row=n)
        try:
            test = PulseTest.from_mapping(row)
            model.choose(test.chemistry, test.rated_capacity_ah)
        except InvalidHealthInput as exc:
            raise _row_error(n, exc) from None
        tests.append(test)
    return tests


def estimate_rows(rows: Sequence[Any]) -> list[dict[str, Any]]:
    """Per row: ``{row, status, soh, soh_low, soh_high, grade, outside, model, matched, coverage, notes}``;
    ``soh`` … ``grade`` are null unless ``status`` is ``ok`` (docs/health.md, "Outside the model's domain")."""
    estimates = estimate_many(parse_pulse_rows(rows))
    return [{"row": n, **e.as_dict()} for n, e in enumerate(estimates, start=1)]


def policy_from(raw: Any) -> GradingPolicy:
    """A grading policy from a JSON object (missing keys take the defaults), or the default."""
    if raw is None:
        return DEFAULT_POLICY
    if not isinstance(raw, Mapping):
        raise InvalidHealthInput("policy must be an object", field="policy")
    try:
        return GradingPolicy.from_dict(raw)
    except InvalidHealthInput:
        raise
    except (TypeError, ValueError, AttributeError) as exc:
        raise InvalidHealthInput(f"policy is malformed: {exc}", field="policy") from None


def _fraction(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise InvalidHealthInput(f"{name} must be a number (a fraction such as 0.82)", field=name)
    return float(value)


def grade_request(
    soh: Any, method: Any, chemistry: Any, *, soh_low: Any = None, policy: Any = None
) -> GradingDecision:
    """Grade a SOH given as request data (validated here)."""
    if not isinstance(method, str) or method not in METHODS:
        raise InvalidHealthInput(f"method must be one of: {', '.join(METHODS)}", field="method")
    if not isinstance(chemistry, str) or not chemistry.strip():
        raise InvalidHealthInput("chemistry must be a non-empty string such as LFP or NCM", field="chemistry")
    low = None if soh_low is None else _fraction("soh_low", soh_low)
    return grade(_fraction("soh", soh), method, chemistry, soh_low=low, policy=policy_from(policy))


# --------------------------------------------------------------------------- digital ID


def _latest_test(passport: Mapping[str, Any]) -> dict[str, Any] | None:
    """The battery's latest ``battery.tested`` event as shown in its history (with ``features``)."""
    code = passport.get("code")
    for event in reversed(passport.get("history") or ()):
        if event.get("type") == "battery.tested" and event.get("battery") == code:
            return dict(event)
    return None


def _decision_and_value(
    chemistry: str,
    energy_kwh: float | None,
    soh: float,
    method: str,
    soh_low: float | None,
    *,
    policy: GradingPolicy = DEFAULT_POLICY,
    reuse: ReuseTerms | None = None,
    processing_cost_cny_per_kwh: float = 0.0,
    state: str | None = None,
) -> tuple[GradingDecision, ResidualValue | None]:
    decision = no_reuse(state, grade(soh, method, chemistry, soh_low=soh_low, policy=policy))
    if not energy_kwh:
        return decision, None
    value_policy = policy
    if method == "pulse" and soh_low is not None and 0.0 <= soh - soh_low < 0.5:
        # Value the pack on the same lower bound the decision used (the policy's margin is the fallback
        # for a pulse estimate without an interval).
        value_policy = replace(policy, pulse_margin=soh - soh_low)
    value = residual_value(
        chemistry,
        energy_kwh,
        soh,
        policy=value_policy,
        method=method,
        reuse=reuse,
        processing_cost_cny_per_kwh=processing_cost_cny_per_kwh,
    )
    if state is not None and state in NO_REUSE_STATES:  # never advise re-use
        if state == "recycled":  # nothing left to recover
            value = replace(value, material_value_cny=0.0, material_breakdown_cny={})
        value = replace(value, reuse_allowed=False, reuse_value_cny=0.0, better_path="recycle",
                        residual_value_cny=value.material_value_cny or 0.0,
                        notes=(*value.notes, NO_REUSE_STATES[state][1]))
    return decision, value


def _recorded_health(passport: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any] | None] | None:
    health = passport.get("health")
    if not health or health.get("soh") is None:
        return None
    latest = _latest_test(passport)
    features = (latest or {}).get("features") or {}
    estimate = features.get("estimate") if isinstance(features, Mapping) else None
    return dict(health), dict(estimate) if isinstance(estimate, Mapping) else None


def health_summary(passport: Mapping[str, Any], *, policy: GradingPolicy = DEFAULT_POLICY) -> dict[str, Any]:
    """The digital ID's health block: latest SOH, its grade, the grading decision and residual value.

    Derived from the latest recorded ``health`` (and, for a pulse estimate recorded by :func:`assess`,
    the interval in that event's ``features``). ``{"tested": false}`` when no test was recorded.
    """
    recorded = _recorded_health(passport)
    if recorded is None:
        return {"tested": False, "soh": None, "grade": None, "decision": None, "value": None}
    health, estimate = recorded
    soh = float(health["soh"])
    method = health.get("method") or "gbt34015"
    soh_low = estimate.get("soh_low") if estimate else None
    chemistry = str(passport.get("chemistry") or "")
    try:
        decision, value = _decision_and_value(chemistry, passport.get("rated_energy_kwh"), soh, method, soh_low,
                                              policy=policy, state=passport.get("state"))
    except InvalidHealthInput as exc:  # a recorded figure the domain refuses: show why, never fail the page
        return {"tested": True, "soh": soh, "method": method, "grade": grade_for(soh), "decision": None,
                "value": None, "error": exc.message}
    return {
        "tested": True,
        "soh": soh,
        "soh_low": soh_low,
        "soh_high": estimate.get("soh_high") if estimate else None,
        "method": method,
        "tested_at": health.get("tested_at"),
        "tested_by": health.get("tested_by"),
        "grade": grade_for(soh),
        "decision": decision.as_dict(),
        "value": value.as_dict() if value else None,
    }


def battery_value(
    passport: Mapping[str, Any],
    *,
    reuse_cny_per_kwh: float | None = None,
    processing_cost_cny_per_kwh: float = 0.0,
    policy: GradingPolicy = DEFAULT_POLICY,
) -> dict[str, Any]:
    """Residual value of one battery: material vs re-use, both figures and the better path.

    From its rated energy, chemistry and latest recorded SOH; raises :class:`Conflict` when the
    battery has no recorded SOH or no rated energy.
    """
    code = passport.get("code")
    recorded = _recorded_health(passport)
    if recorded is None:
        raise Conflict(
            f"battery {code} has no recorded state of health: report a battery.tested event or assess it first",
            battery=code,
        )
    energy = passport.get("rated_energy_kwh")
    if not energy:
        raise Conflict(f"battery {code} has no rated energy on record", battery=code)
    health, estimate = recorded
    soh = float(health["soh"])
    method = health.get("method") or "gbt34015"
    reuse = ReuseTerms() if reuse_cny_per_kwh is None else ReuseTerms(cny_per_kwh=reuse_cny_per_kwh)
    decision, value = _decision_and_value(
        str(passport.get("chemistry") or ""), energy, soh, method, estimate.get("soh_low") if estimate else None,
        policy=policy, reuse=reuse, processing_cost_cny_per_kwh=processing_cost_cny_per_kwh,
        state=passport.get("state"),
    )
    assert value is not None
    return {
        "battery": code,
        "soh_source": {"method": method, "tested_at": health.get("tested_at"), "tested_by": health.get("tested_by")},
        **value.as_dict(),
        "decision": decision.as_dict(),
    }


# --------------------------------------------------------------------------- assessment


def _error_classes() -> dict[str, type[BattraceError]]:
    out: dict[str, type[BattraceError]] = {}
    stack: list[type[BattraceError]] = [BattraceError]
    while stack:
        cls = stack.pop()
        out.setdefault(cls.code, cls)
        stack.extend(cls.__subclasses__())
    return out


def _rejection(code: str | None, message: str | None, context: dict[str, Any] | None) -> BattraceError:
    cls = _error_classes().get(code or "", ValidationError)
    return cls(message or "the test event was rejected", **(context or {}))


def _pulse_test(row: Mapping[str, Any], chemistry: str, rated_capacity_ah: float | None) -> PulseTest:
    """A pulse test from a row; chemistry and rated capacity default to the battery's own."""
    filled: dict[str, Any] = dict(row)
    filled.setdefault("chemistry", chemistry)
    if filled.get("rated_capacity_ah") is None and rated_capacity_ah is not None:
        filled["rated_capacity_ah"] = rated_capacity_ah
    test = PulseTest.from_mapping(filled)
    load_model().choose(test.chemistry, test.rated_capacity_ah)
    return test


def assess(
    platform: Platform,
    caller_org: str,
    code: str,
    pulse_row: Mapping[str, Any] | None = None,
    soh: float | None = None,
    method: str | None = None,
    occurred_at: datetime | None = None,
    *,
    policy: GradingPolicy = DEFAULT_POLICY,
    event_id: str | None = None,
    measured_capacity_ah: float | None = None,
    internal_resistance_mohm: float | None = None,
) -> dict[str, Any]:
    """Estimate (from ``pulse_row``) or take ``soh``, grade it, and append ``battery.tested``.

    The ledger checks custody (only the current custodian may test) like for any reported event;
    its rejection is raised as the matching error. Returns the estimate, the decision, the value and
    the event's outcome (``accepted`` or ``duplicate`` for a repeated ``event_id``).
    """
    if (pulse_row is None) == (soh is None):
        raise InvalidHealthInput("give either a pulse test (pulse) or a measured soh, not both", field="soh")
    passport = get_passport(platform.store, code)
    chemistry = str(passport["chemistry"])
    estimate: HealthEstimate | None = None
    if pulse_row is not None:
        if method not in (None, "pulse"):
            raise InvalidHealthInput("a pulse test is recorded with method 'pulse'", field="method")
        method = "pulse"
        try:
            test = _pulse_test(pulse_row, chemistry, passport.get("rated_capacity_ah"))
        except InvalidHealthInput as exc:
            raise InvalidHealthInput(f"pulse: {exc.message}", **exc.context) from None
        estimate = estimate_many([test])[0]
        if not estimate.ok:  # outside the model's domain, or not a possible SOH: nothing is recorded
            raise InvalidHealthInput(f"pulse: {'; '.join(estimate.notes)}", field="pulse", status=estimate.status,
                                     outside=list(estimate.outside))
        # Decide on the figures as recorded (rounded), so the digital ID derives the same decision later.
        value_soh, soh_low = round(estimate.soh, 4), round(estimate.soh_low, 4)
        features: dict[str, Any] = {
            "estimate": estimate.as_dict(),
            "pulse_test": {"voltages": list(test.voltages), "soc_percent": test.soc_percent,
                           "rated_capacity_ah": test.rated_capacity_ah, "chemistry": test.chemistry},
        }
    else:
        method = method or "gbt34015"
        if method not in METHODS:
            raise InvalidHealthInput(f"method must be one of: {', '.join(METHODS)}", field="method")
        value_soh, soh_low = round(_fraction("soh", soh), 4), None
        features = {}
    decision, value = _decision_and_value(chemistry, passport.get("rated_energy_kwh"), value_soh, method, soh_low,
                                          policy=policy, state=passport.get("state"))
    features["grading"] = decision.as_dict()
    features["policy"] = policy.as_dict()
    moment = occurred_at or platform.now()
    if moment.tzinfo is None:
        raise InvalidHealthInput("occurred_at needs a time-zone offset", field="occurred_at")
    event: dict[str, Any] = {
        "event_id": event_id or f"assess-{uuid.uuid4().hex}",
        "type": "battery.tested",
        "occurred_at": moment.astimezone(CHINA).isoformat(),
        "reporter": caller_org,
        "battery": code,
        "soh": value_soh,
        "method": method,
        "features": features,
    }
    if measured_capacity_ah is not None:
        event["measured_capacity_ah"] = measured_capacity_ah
    if internal_resistance_mohm is not None:
        event["internal_resistance_mohm"] = internal_resistance_mohm
    outcome = platform.ledger.ingest([(1, event)]).outcomes[0]
    if outcome.status == "rejected":
        raise _rejection(outcome.code, outcome.message, outcome.context)
    return {
        "battery": code,
        "soh": value_soh,
        "method": method,
        "estimate": estimate.as_dict() if estimate else None,
        "decision": decision.as_dict(),
        "value": value.as_dict() if value else None,
        "event": {**outcome.as_dict(), "type": "battery.tested"},
    }
