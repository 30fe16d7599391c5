"""A battery's digital ID → the EU Battery Pass (data model v1.2.0) aspects we can fill.

:func:`to_eu_batterypass` returns ``{"aspects": {...}, "not_provided": [...], "partial": {...}}``:

* ``aspects`` — every aspect we can fill *completely*: it validates against the official v1.2.0
  schema shipped in ``data/batterypass/`` (required fields included);
* ``not_provided`` — one entry per aspect left out, ``{"aspect", "missing": [required fields we do
  not hold]}``; nothing is invented to satisfy the schema;
* ``partial`` — for an aspect left out, the fields we *do* hold, each valid against its definition
  in the official schema (only ``required`` is relaxed), so a consumer still gets our data, clearly
  separated from the conformant aspects.

The v1.2.0 schemas require far more than a traceability record holds (the maker's postal address,
the manufacturing place, the economic operator, the warranty, dozens of performance figures,
circularity documents, labels), so for a digital ID as the ledger builds it today every aspect is
``not_provided`` and ``partial`` carries General product information, Performance (technical
properties and battery condition) and, when a dismantling document URL is on record, Circularity.
See ``docs/interop.md`` for the field table.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping
from functools import cache
from importlib import resources
from typing import Any

from jsonschema import Draft4Validator, FormatChecker

from battrace.domain.state import WASTE_STATES
from battrace.errors import ValidationError
from battrace.interop.epcis_schema import is_datetime, is_uri

ASPECTS: dict[str, str] = {  # aspect name -> schema file
    "GeneralProductInformation": "GeneralProductInformation-schema.json",
    "PerformanceAndDurability": "PerformanceAndDurability-schema.json",
    "Circularity": "Circularity-schema.json",
    "Labeling": "Labeling-schema.json",
}
CATEGORY_BY_APPLICATION = {
    "energy_storage": "stationary",
    "backup_power": "stationary",
    "charging_station": "stationary",
    "low_speed_vehicle": "lmt",
    "e_bike": "lmt",
}


@cache
def aspect_schema(aspect: str) -> dict[str, Any]:
    """The official v1.2.0 JSON schema of one aspect (UTF-8 copy shipped in the package)."""
    text = resources.files("battrace.interop.data.batterypass").joinpath(ASPECTS[aspect]).read_text("utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema


def _format_checker() -> FormatChecker:
    checker = FormatChecker(formats=())
    checker.checks("uri")(is_uri)
    checker.checks("date-time")(is_datetime)
    return checker


def _without_required(node: Any) -> Any:
    if isinstance(node, dict):
        return {k: _without_required(v) for k, v in node.items() if k != "required"}
    if isinstance(node, list):
        return [_without_required(v) for v in node]
    return node


@cache
def _validator(aspect: str, relaxed: bool) -> Draft4Validator:
    schema = aspect_schema(aspect)
    return Draft4Validator(_without_required(copy.deepcopy(schema)) if relaxed else schema,
                           format_checker=_format_checker())


def aspect_errors(aspect: str, payload: Any, *, relaxed: bool = False) -> list[str]:
    """Schema violations of an aspect payload (``relaxed``: ignore missing required fields)."""
    return [f"{'/'.join(map(str, e.absolute_path)) or '$'}: {e.message}"
            for e in _validator(aspect, relaxed).iter_errors(payload)]


def missing_required(aspect: str, payload: Mapping[str, Any]) -> list[str]:
    """The required fields (JSON paths such as ``manufacturerInformation/postalAddress``) absent from
    ``payload``."""
    out = set()
    for e in _validator(aspect, False).iter_errors(payload):
        if e.validator == "required":
            name = e.message.split("'")[1]
            out.add("/".join(map(str, [*e.absolute_path, name])))
    return sorted(out)


# -- building the aspects from the digital ID ----------------------------------------------------------

def _status(passport: Mapping[str, Any]) -> str:
    if passport.get("waste") or passport.get("state") in WASTE_STATES:
        return "Waste"
    if passport.get("remade"):
        return "Repurposed"
    return "Original"


def _category(passport: Mapping[str, Any]) -> str | None:
    if passport.get("remade"):
        return CATEGORY_BY_APPLICATION.get(str(passport.get("application")))
    return "ev"


def _first(history: list[Mapping[str, Any]], *types: str) -> Mapping[str, Any] | None:
    matches = [e for e in history if e.get("type") in types and e.get("occurred_at")]
    return min(matches, key=lambda e: (e.get("seq") or 0)) if matches else None


def _drop_none(d: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in d.items() if v is not None and v != {} and v != []}


def general_product_information(passport: Mapping[str, Any]) -> dict[str, Any]:
    maker = passport.get("maker") or {}
    history = list(passport.get("history") or [])
    service = _first(history, "vehicle.sold", "product.delivered")
    return _drop_none({
        "productIdentifier": passport.get("code"),
        "batteryPassportIdentifier": f"urn:battrace:{str(passport['code']).lower()}" if passport.get("code") else None,
        "batteryCategory": _category(passport),
        "manufacturerInformation": _drop_none({"contactName": maker.get("name"),
                                               "identifier": maker.get("credit_code")}),
        "manufacturingDate": passport.get("produced_at") if is_datetime(passport.get("produced_at")) else None,
        "batteryStatus": _status(passport),
        "batteryMass": passport.get("mass_kg"),
        "puttingIntoService": service["occurred_at"] if service else None,
    })


def performance(passport: Mapping[str, Any]) -> dict[str, Any]:
    technical = _drop_none({
        "ratedCapacity": passport.get("rated_capacity_ah"),
        "ratedEnergy": passport.get("rated_energy_kwh"),
        "nominalVoltage": passport.get("nominal_voltage_v"),
    })
    health = passport.get("health") or {}
    condition: dict[str, Any] = {}
    when = health.get("tested_at")
    if when and health.get("measured_capacity_ah") is not None:
        condition["remainingCapacity"] = {"remainingCapacityValue": health["measured_capacity_ah"],
                                          "lastUpdate": when}
    if when and health.get("soh") is not None:
        # capacity fade in % of the rated capacity; our SOH is capacity-based (GB/T 34015)
        condition["capacityFade"] = {"capacityFadeValue": round((1 - float(health["soh"])) * 100, 6),
                                     "lastUpdate": when}
    return _drop_none({"batteryTechicalProperties": technical, "batteryCondition": condition})


def circularity(passport: Mapping[str, Any]) -> dict[str, Any]:
    docs = [e.get("document") for e in passport.get("history") or []
            if e.get("type") == "techinfo.filed" and isinstance(e.get("document"), str)
            and e["document"].startswith(("http://", "https://"))]
    if not docs:
        return {}
    return {"dismantlingAndRemovalInformation": [{"documentType": "DismantlingManual", "documentURL": d}
                                                 for d in dict.fromkeys(docs)]}


def labeling(passport: Mapping[str, Any]) -> dict[str, Any]:
    return {}  # no label, declaration of conformity or test report URL is on record


_BUILDERS = {
    "GeneralProductInformation": general_product_information,
    "PerformanceAndDurability": performance,
    "Circularity": circularity,
    "Labeling": labeling,
}


def to_eu_batterypass(passport: Mapping[str, Any]) -> dict[str, Any]:
    """The EU Battery Pass v1.2.0 aspects a battrace digital ID can fill (see the module docs)."""
    out: dict[str, Any] = {"aspects": {}, "not_provided": [], "partial": {}}
    for aspect, build in _BUILDERS.items():
        payload = build(passport)
        invalid = aspect_errors(aspect, payload, relaxed=True)
        if invalid:  # a value we hold does not fit the official definition: never publish it
            raise ValidationError(f"battery pass {aspect}: {invalid[0]}", aspect=aspect, errors=invalid)
        missing = missing_required(aspect, payload)
        if not missing:
            out["aspects"][aspect] = payload
            continue
        out["not_provided"].append({"aspect": aspect, "missing": missing})
        if payload:
            out["partial"][aspect] = payload
    return out
