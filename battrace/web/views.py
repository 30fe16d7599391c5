"""View models of the battery page and the lookup: plain data for the templates, in one language.

Nothing here decides who may see what; the pages pass in a passport already cut to the caller's
tier (:func:`battrace.domain.access.public_view` for the public).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from battrace.domain.codes import NEAR_LENGTHS, BatteryCode, find_code, nearest_codes, parse_code
from battrace.domain.orgs import Org
from battrace.errors import InvalidCode
from battrace.web.i18n import VOCABULARY, Translator
from battrace.web.templating import fmt_number, fmt_percent, fmt_time

STAGES = ("produced", "vehicle", "retired", "utilised")
_STAGE_OF_STATE = {
    "produced": 0, "assembled": 0, "installed": 1, "in_service": 1, "swap_stock": 1,
    "waste": 2, "remade": 3, "dismantled": 3, "recycled": 3,
}
_SEPARATORS = re.compile(r"[\s\-_./·]+")
_ALNUM_RUN = re.compile(r"[0-9A-Z]+")

# -- lookup -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Lookup:
    """The outcome of the lookup box: a code to open, or why there is none."""

    query: str
    code: str | None = None
    from_label: bool = False
    error: str | None = None
    #: For a code one character too long or short: the valid readings one character away, likeliest first.
    suggestions: tuple[str, ...] = ()


def explain_invalid_code(t: Translator, context: Mapping[str, Any]) -> str:
    """The reason an :class:`InvalidCode` gives, in the page's language, naming the position."""
    text = str(context.get("input") or "")
    position = context.get("position")
    char = context.get("character") or ""
    reason = str(context.get("reason") or "")
    if position is None:
        return t("code.length", n=len(text))
    values = {"position": position, "char": char}
    if not re.fullmatch(r"[0-9A-Z]", str(char)):
        return t("code.charset", **values)
    if position == 4:
        return t("code.level", **values)
    if position == 5:
        return t("code.type", **values)
    if reason.startswith("day ") and "does not exist" in reason:
        return t("code.no_such_day", **values)
    for kind in ("year", "month", "day"):
        if f"production-{kind}" in reason:
            return t(f"code.{kind}", **values)
    return t("code.other", **values) + (f": {reason}" if reason else "")


def lookup(t: Translator, query: str) -> Lookup:
    """Turn what a visitor typed (a code, a code with spaces, a whole label) into a code."""
    raw = query.strip()
    if not raw:
        return Lookup(query, error=t("lookup.empty"))
    upper = raw.upper()
    compact = _SEPARATORS.sub("", upper)
    first_error: InvalidCode | None = None
    for candidate in (upper, compact):
        try:
            return Lookup(query, parse_code(candidate).code)
        except InvalidCode as exc:
            first_error = first_error or exc
    if _ALNUM_RUN.fullmatch(compact) and len(compact) in NEAR_LENGTHS:  # a mistyped code, not a label
        readings = tuple(nearest_codes(compact, limit=None))
        return Lookup(query, error=t("lookup.invalid", input=raw[:64], reason=t("code.length", n=len(compact))),
                      suggestions=readings)
    for text in (upper, compact):
        found = find_code(text)
        if found is not None:
            return Lookup(query, found.code, from_label=True)
    # Name the position in the form most likely meant: the compacted text when it has a code's length.
    try:
        parse_code(compact if len(compact) in (17, 24) else upper)
    except InvalidCode as exc:
        first_error = exc
    assert first_error is not None
    reason = explain_invalid_code(t, first_error.context)
    return Lookup(query, error=t("lookup.invalid", input=raw[:64], reason=reason))


def decoded_code(t: Translator, parsed: BatteryCode) -> list[tuple[str, str]]:
    """The fields a code carries by itself (for a code the platform does not know)."""
    rows = [
        (t("code.field.manufacturer"), parsed.manufacturer),
        (t("code.field.level"), f"{parsed.level} · {t.vocab('level', parsed.level)}"),
        (t("code.field.battery_type"), f"{parsed.battery_type} · {t.vocab('chemistry', parsed.chemistry)}"),
        (t("code.field.spec"), parsed.spec),
    ]
    if parsed.trace:
        rows.append((t("code.field.trace"), parsed.trace))
    rows += [(t("code.field.production_date"), parsed.production_date.isoformat()),
             (t("code.field.serial"), parsed.serial)]
    if parsed.remade:
        rows.append((t("code.field.remade"), t("common.yes")))
    return rows


# -- the battery page -------------------------------------------------------------------------


@dataclass
class Verdict:
    """The answer to "is this a retired EV battery?"."""

    kind: str  # retired | remade | active
    title: str
    text: str


@dataclass
class TimelineEntry:
    when: str
    title: str
    by: str | None = None
    details: list[dict[str, str | None]] = field(default_factory=list)
    note: str | None = None
    kind: str = "event"  # event | fact | now
    seq: int | None = None
    hash: str | None = None


def verdict(t: Translator, view: Mapping[str, Any]) -> Verdict:
    state = t.vocab("state", view["state"])
    if view.get("remade_product") or view.get("remade"):
        application = t.vocab("application", view.get("application")) if view.get("application") else t("common.none")
        return Verdict("remade", t("battery.verdict.remade"),
                       t("battery.verdict.remade_help", application=application,
                         certification=view.get("certification") or t("common.none")))
    if view.get("retired_ev_battery"):
        return Verdict("retired", t("battery.verdict.retired"), t("battery.verdict.retired_help"))
    return Verdict("active", t("battery.verdict.active"), t("battery.verdict.active_help", state=state))


def stage_index(state: str, retired: bool) -> int:
    index = _STAGE_OF_STATE.get(state)
    if index is None:  # in transit, missing: where it stood before
        index = 2 if retired else 0
    if retired and index < 2:
        index = 2
    return index


#: A re-made product's own life: made from retired batteries, in its second use, returned, utilised.
STAGES_REMADE = ("remade", "second_life", "retired", "utilised")
_STAGE_OF_STATE_REMADE = {"produced": 0, "remade": 0, "installed": 1, "in_service": 1, "swap_stock": 1, "waste": 2,
                          "dismantled": 3, "recycled": 3}


def stages(t: Translator, state: str, retired: bool, remade_product: bool = False) -> list[dict[str, Any]]:
    """The stage bar. A re-made product never was in a vehicle: its bar is its own second life (its
    sources' retirement does not mark "装车使用" as done)."""
    if remade_product:
        reached = _STAGE_OF_STATE_REMADE.get(state, 0)
        names: tuple[str, ...] = STAGES_REMADE
    else:
        reached, names = stage_index(state, retired), STAGES
    return [{"label": t(f"battery.stage.{name}"), "done": i <= reached, "current": i == reached}
            for i, name in enumerate(names)]


def public_timeline(t: Translator, view: Mapping[str, Any]) -> list[TimelineEntry]:
    """A timeline from public facts only: the production month, retirement, the current state."""
    entries = [TimelineEntry(view["production_month"], t("timeline.produced", month=view["production_month"]),
                             by=view.get("maker"), kind="fact")]
    pack = view.get("pack")
    if pack:  # a module or cell: the pack it belongs to (code only) and when that pack retired
        entries.append(TimelineEntry("", t("timeline.in_pack", pack=pack["code"]), kind="fact"))
        if pack.get("retired") and pack.get("retired_at"):
            day = str(pack["retired_at"])[:10]
            entries.append(TimelineEntry(day, t("timeline.pack_retired", pack=pack["code"], date=day), kind="fact"))
    if view.get("remade_product"):
        entries.append(TimelineEntry("", t("timeline.remade"), kind="fact"))
    elif view.get("retired_ev_battery"):
        entries.append(TimelineEntry("", t("timeline.retired"), kind="fact"))
    entries.append(TimelineEntry("", t("timeline.current", state=t.vocab("state", view["state"])), kind="now"))
    return entries


def _org_name(orgs: Mapping[str, Org], credit: str | None) -> str:
    if not credit:
        return "—"
    org = orgs.get(credit)
    return org.name if org else credit


def _code_link(code: str, current: str) -> dict[str, str | None]:
    return {"text": code, "href": None if code == current else f"/b/{code}"}


def _details(t: Translator, e: Mapping[str, Any], orgs: Mapping[str, Org], code: str) -> list[dict[str, str | None]]:
    out: list[dict[str, str | None]] = []

    def text(s: str) -> None:
        out.append({"text": s, "href": None})

    kind = e["type"]
    if kind == "battery.handed_over":
        text(t("detail.to", org=_org_name(orgs, e.get("to"))))
    elif kind == "battery.received":
        text(t("detail.from", org=_org_name(orgs, e.get("from"))))
    if e.get("vin"):
        text(t("detail.vin", vin=e["vin"]))
    if kind in ("battery.swapped", "battery.replaced"):
        out.append({"text": t("detail.removed", code=e["removed"]), "href": _code_link(e["removed"], code)["href"]})
        if e.get("installed"):
            out.append({"text": t("detail.installed", code=e["installed"]),
                        "href": _code_link(e["installed"], code)["href"]})
    if e.get("reason"):
        text(t("detail.reason", reason=t.vocab("reason", e["reason"])))
    if kind == "battery.tested":
        text(t("detail.soh", soh=fmt_percent(e.get("soh"))))
    if kind == "battery.remanufactured":
        out.append({"text": t("detail.product", code=e["product"]), "href": _code_link(e["product"], code)["href"]})
        text(t("detail.sources", n=len(e.get("sources") or ())))
    if e.get("application"):
        text(t("detail.application", application=t.vocab("application", e["application"])))
    if e.get("customer"):
        text(t("detail.customer", customer=e["customer"]))
    if e.get("process"):
        text(t("detail.process", process=t.vocab("process", e["process"])))
    if e.get("components"):
        text(t("detail.components", n=len(e["components"])))
    if e.get("certificate_no"):
        text(t("detail.certificate", no=e["certificate_no"]))
    if kind == "vehicle.scrapped" and not e.get("batteries_present"):
        text(t("detail.missing"))
    batteries = e.get("batteries") or ()
    if len(batteries) > 1:
        text(t("detail.batteries", n=len(batteries)))
    return out


def full_timeline(t: Translator, history: list[dict[str, Any]], orgs: Mapping[str, Org],
                  code: str) -> list[TimelineEntry]:
    """Every event of the battery's stream, oldest first, as reported (platform fields aside)."""
    entries = []
    for e in history:
        occurred = datetime.fromisoformat(e["occurred_at"])
        recorded = datetime.fromisoformat(e["recorded_at"])
        lag = (recorded - occurred).days
        note = t("timeline.imported") if e.get("imported") else None
        if lag >= 1:
            late = t("timeline.late", days=lag)
            note = f"{note} · {late}" if note else late
        entries.append(TimelineEntry(
            fmt_time(occurred), t.vocab("event", e["type"]),
            by=t("timeline.reported_by", org=_org_name(orgs, e.get("reporter"))),
            details=_details(t, e, orgs, code), note=note, seq=e.get("seq"), hash=e.get("hash"),
        ))
    return entries


def identity_rows(t: Translator, p: Mapping[str, Any], *, full: bool, orgs: Mapping[str, Org]) -> list[tuple[str, str]]:
    """The identity table; ``p`` is the public view, or the full passport when ``full``."""
    maker = (p.get("maker") or {}).get("name") if full else p.get("maker")
    rows = [
        (t("field.maker"), maker or t("common.unknown")),
        (t("field.level"), t.vocab("level", p["level"])),
        (t("field.chemistry"), t.vocab("chemistry", p["chemistry"])),
        (t("field.model"), p.get("model") or "—"),
        (t("field.rated_capacity"), _unit(p.get("rated_capacity_ah"), "Ah")),
        (t("field.rated_energy"), _unit(p.get("rated_energy_kwh"), "kWh")),
        (t("field.nominal_voltage"), _unit(p.get("nominal_voltage_v"), "V")),
    ]
    if full:
        rows.append((t("field.mass"), _unit(p.get("mass_kg"), "kg")))
        produced = p.get("produced_at") or p["parsed"]["production_date"]
        rows.append((t("field.production_month"), str(produced)[:7]))
        rows.append((t("field.custodian"), _org_name(orgs, (p.get("custodian") or {}).get("credit_code"))))
        if p.get("pending_to"):
            rows.append((t("field.pending_to"), _org_name(orgs, p["pending_to"]["credit_code"])))
        if p.get("waste_since"):
            rows.append((t("field.waste_since"), fmt_time(p["waste_since"], date_only=True)))
    else:
        rows.append((t("field.production_month"), p["production_month"]))
    if p.get("remade") or p.get("remade_product"):
        rows.append((t("field.application"), t.vocab("application", p.get("application"))))
        rows.append((t("field.certification"), p.get("certification") or "—"))
    return rows


def _unit(value: Any, unit: str) -> str:
    return "—" if value is None else f"{fmt_number(value)} {unit}"


def lineage(p: Mapping[str, Any]) -> dict[str, list[dict[str, str]]]:
    """Parent, components, sources and products, each a list of ``{code, level}`` links."""
    def items(codes: Any) -> list[dict[str, str]]:
        return [{"code": c, "level": c[3] if len(c) > 3 else "?"} for c in codes or ()]

    return {
        "parent": items([p["parent"]] if p.get("parent") else []),
        "children": items(p.get("children")),
        "sources": items(p.get("sources")),
        "products": items(p.get("products")),
    }


def money(t: Translator, value: Any) -> str:
    """An amount in CNY, whole yuan."""
    return "—" if value is None else t("money.cny", amount=f"{round(float(value)):,}")


def health(t: Translator, p: Mapping[str, Any], summary: Mapping[str, Any],
           orgs: Mapping[str, Org]) -> dict[str, Any] | None:
    """The health card: the latest SOH (interval for a pulse estimate), grade, grading decision and
    residual value, from :func:`battrace.services.health.health_summary` of the full passport."""
    h = p.get("health") or {}
    if not summary.get("tested") or summary.get("soh") is None:
        return None
    soh = float(summary["soh"])
    method = summary.get("method") or h.get("method")
    rows = [(t("health.method"), t.vocab("method", method)),
            (t("health.tested_at"), fmt_time(summary.get("tested_at") or h.get("tested_at"), date_only=True)),
            (t("health.tested_by"), _org_name(orgs, summary.get("tested_by") or h.get("tested_by"))),
            (t("health.measured_capacity"), _unit(h.get("measured_capacity_ah"), "Ah")),
            (t("health.resistance"), _unit(h.get("internal_resistance_mohm"), "mΩ"))]
    low, high = summary.get("soh_low"), summary.get("soh_high")
    interval = (t("health.interval", low=fmt_percent(low), high=fmt_percent(high))
                if method == "pulse" and low is not None and high is not None else None)
    return {
        "soh": soh, "soh_text": fmt_percent(soh), "bar": max(0.0, min(soh, 1.0)) * 100, "ok": soh >= 0.8,
        "interval": interval, "grade": summary.get("grade"), "rows": rows,
        "decision": _decision(t, summary.get("decision")),
        "value": _value(t, summary.get("value")),
        "error": t("health.summary_error") if summary.get("error") else None,
    }


def _decision(t: Translator, d: Mapping[str, Any] | None) -> dict[str, Any] | None:
    if not d:
        return None
    used = fmt_percent(d.get("soh_used"))
    lower_bound = d.get("method") == "pulse"
    return {
        "path": d["path"], "label": t.vocab("path", d["path"]),
        "applications": [t.vocab("application", a) for a in d.get("applications") or ()],
        "judged_on": t("health.judged_on_low" if lower_bound else "health.judged_on", soh=used),
        "reason": t.pick(d.get("reason_zh"), d.get("reason_en")),
    }


def _value(t: Translator, v: Mapping[str, Any] | None) -> dict[str, Any] | None:
    if not v:
        return None
    material = v.get("material_value_cny")
    reuse = money(t, v.get("reuse_value_cny"))
    return {
        "material": money(t, material) if material is not None else t("health.no_materials"),
        "reuse": reuse if v.get("reuse_allowed") else t("health.reuse_not_allowed", amount=reuse),
        "better": v.get("better_path"), "better_label": t.vocab("path", v.get("better_path")),
        "residual": money(t, v.get("residual_value_cny")),
        "note": t("health.value_note", date=v.get("prices_as_of") or "—"),
    }


# -- alarms -----------------------------------------------------------------------------------


def _evidence_value(t: Translator, key: str, value: Any) -> str:
    sep = "、" if t.lang == "zh" else ", "
    if key == "flags":
        return sep.join(t.vocab("alarm_flag", f) for f in value or ())
    if key == "other_hazards_24h":
        return sep.join(t.vocab("hazard", h) for h in value or ())
    if key == "last_frame_at":
        return fmt_time(value)
    if key == "voltage_drop" and isinstance(value, int | float):
        return fmt_percent(value)
    if isinstance(value, list | tuple):
        return ", ".join(_evidence_value(t, "", v) for v in value)
    if isinstance(value, float):
        return f"{value:g}"
    return "—" if value is None else str(value)


#: Evidence fields the alarm's own columns already show.
_EVIDENCE_SHOWN = {"alarm_level", "alarm_flags"}
#: Evidence in the catalogue's order (the measured figure before its limit); unknown fields last.
_EVIDENCE_ORDER = {key: n for n, key in enumerate(VOCABULARY["evidence"])}


def _evidence_rank(key: str) -> tuple[int, str]:
    return _EVIDENCE_ORDER.get(key, len(_EVIDENCE_ORDER)), key


def alarm_rows(t: Translator, alarms: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Stored alarms (:func:`battrace.services.telemetry.list_alarms`, newest first) for the page."""
    rows = []
    for a in alarms:
        evidence = a.get("evidence") or {}
        rows.append({
            "level": a["level"], "level_label": t("alarms.level_n", n=a["level"]),
            "hazard": t.vocab("hazard", a["hazard"]),
            "first_at": fmt_time(a["first_at"]), "last_at": fmt_time(a["last_at"]),
            "response": a["response"], "response_label": t.vocab("response", a["response"]),
            "respond_by": fmt_time(a["respond_by"]),
            "evidence": [f"{t.vocab('evidence', k)} {_evidence_value(t, k, v)}"
                         for k, v in sorted(evidence.items(), key=lambda kv: _evidence_rank(kv[0]))
                         if k not in _EVIDENCE_SHOWN and v not in (None, [], "")],
        })
    return rows
