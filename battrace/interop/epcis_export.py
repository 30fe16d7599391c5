"""Native events → EPCIS 2.0 JSON-LD events and documents (lossless).

Each native event becomes exactly **one** EPCIS event, so that one ledger entry has one
``eventID`` (its CBV 2.0 event hash). The mapping table (``MAPPING``) gives the EPCIS event type,
action, business step and disposition; ``SLOTS`` says which native identifier fields fill which
EPCIS identifier slots (both generated from the event classes). Every native field without an EPCIS
slot travels as a ``bt:`` extension property named after the native field (``bt:model``,
``bt:reason`` …), the commissioning attributes of a new battery and of a re-made product as ``bt:``
ILMD, so that :func:`from_epcis_document` gives back exactly the native event. See ``docs/interop.md``
for the full table.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any
from urllib.parse import quote

from battrace.domain import event_types
from battrace.domain.event_types import EpcisMapping, Slot
from battrace.errors import InvalidEvent
from battrace.interop.epcis_common import (
    ID_BASE,
    SCHEMA_VERSION,
    battery_uri,
    bt,
    document_context,
    id_uri,
    material_uri,
    model_uri,
    org_uri,
    region_uri,
    vehicle_uri,
)
from battrace.interop.epcis_hash import context_prefixes, event_hash

_RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")

COMMON_FIELDS = ("event_id", "type", "occurred_at", "reporter", "region", "data")
PLATFORM_FIELDS = {"seq": "seq", "hash": "ledger_hash", "imported": "imported"}  # native -> bt: term
#: Standard EPCIS fields a partner may send that no native field maps to: capture keeps them
#: verbatim in ``data["epcis"]`` and export puts them back in place (where the mapping leaves it free).
PARTNER_FIELDS = ("readPoint", "bizLocation", "bizTransactionList", "sourceList", "destinationList",
                  "sensorElementList", "persistentDisposition", "certificationInfo")
PARTNER_KEY = "epcis"


#: The fixed EPCIS shape of each native event type, its identifier slots and its ILMD fields:
#: generated from the event classes (:mod:`battrace.domain.event_types`), which own them.
Mapping_ = EpcisMapping
MAPPING: dict[str, EpcisMapping] = event_types.epcis_mapping()
SLOTS: dict[str, tuple[Slot, ...]] = event_types.epcis_slots()
ILMD_FIELDS: dict[str, tuple[str, ...]] = event_types.epcis_ilmd()

# battery.tested: measurement -> (sensorReport type, UN/CEFACT unit or None)
SENSOR_FIELDS: dict[str, tuple[str, str | None]] = {
    "soh": (bt("state_of_health"), None),
    "measured_capacity_ah": ("ElectricCharge", "AMH"),  # ampere hour
    "internal_resistance_mohm": ("Resistance", "E45"),  # milliohm
}
PARTY_TYPE = "possessing_party"


def _uri(kind: str, value: str) -> str:
    return {"battery": battery_uri, "vehicle": vehicle_uri, "org": org_uri}.get(kind, lambda v: id_uri(kind, v))(
        value
    )


def timezone_offset(occurred_at: str) -> str:
    """``+08:00`` for ``2026-05-06T09:30:00+08:00`` (``Z`` gives ``+00:00``)."""
    offset = datetime.fromisoformat(occurred_at).utcoffset()
    if offset is None:
        raise InvalidEvent(f"occurred_at {occurred_at!r} has no time-zone offset", field="occurred_at")
    minutes = int(offset.total_seconds() // 60)
    sign = "+" if minutes >= 0 else "-"
    return f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def transformation_uri(reporter: str, event_id: str) -> str:
    return f"{ID_BASE}/transformation/{reporter}/{quote(event_id, safe='')}"


def sale_uri(reporter: str, event_id: str) -> str:
    return f"{ID_BASE}/sale/{reporter}/{quote(event_id, safe='')}"


def _require(event: Mapping[str, Any], name: str) -> Any:
    if name not in event or event[name] is None:
        raise InvalidEvent(f"{event.get('type')}: field {name!r} is required for EPCIS export", field=name)
    return event[name]


def build_epcis_event(event: Mapping[str, Any]) -> dict[str, Any]:
    """The EPCIS event of a native event, without ``eventID`` (the hash is computed over this)."""
    etype = _require(event, "type")
    spec = MAPPING.get(etype)
    if spec is None:
        raise InvalidEvent(f"field 'type' {etype!r} is not a known event type", field="type", value=etype)
    occurred_at = str(_require(event, "occurred_at"))
    try:
        offset = timezone_offset(occurred_at)
    except ValueError:
        raise InvalidEvent(f"occurred_at {occurred_at!r} is not an RFC 3339 timestamp",
                           field="occurred_at") from None
    strict = bool(_RFC3339.match(occurred_at))
    out: dict[str, Any] = {
        "@context": document_context(),
        "type": spec.epcis_type,
        "eventTime": occurred_at if strict else datetime.fromisoformat(occurred_at).isoformat(),
        "eventTimeZoneOffset": offset,
    }
    if event.get("recorded_at"):
        out["recordTime"] = str(event["recorded_at"])
    consumed: set[str] = set(COMMON_FIELDS) | {"recorded_at", *PLATFORM_FIELDS}
    reporter = str(_require(event, "reporter"))
    event_id = str(_require(event, "event_id"))

    # identifier slots
    for s in SLOTS[etype]:
        if s.field not in event or event[s.field] is None:
            if s.many and s.slot == "outputEPCList":  # battery.dismantled: components are optional
                continue
            _require(event, s.field)
        value = event[s.field]
        consumed.add(s.field)
        if s.slot in ("sourceList", "destinationList"):
            key = s.slot.removesuffix("List")
            out[s.slot] = [{"type": PARTY_TYPE, key: _uri(s.kind, value)}]
        elif s.slot == "parentID":
            out["parentID"] = _uri(s.kind, value)
        else:
            out[s.slot] = [_uri(s.kind, v) for v in (value if s.many else [value])]
    _special(etype, event, out, consumed, reporter, event_id)

    if spec.action is not None:
        out.setdefault("action", spec.action)
    if spec.biz_step is not None:
        out["bizStep"] = spec.biz_step
    if spec.disposition is not None:
        out["disposition"] = spec.disposition
    if event.get("region") is not None:
        out["readPoint"] = {"id": region_uri(str(event["region"]))}
    if etype in ("battery.handed_over",):
        out["sourceList"] = [{"type": PARTY_TYPE, "source": org_uri(reporter)}]
    if etype in ("battery.received",):
        out["destinationList"] = [{"type": PARTY_TYPE, "destination": org_uri(reporter)}]
    ilmd = {bt(f): event[f] for f in ILMD_FIELDS.get(etype, ()) if event.get(f) is not None}
    if ilmd:
        out["ilmd"] = ilmd
        consumed.update(ILMD_FIELDS[etype])

    # extensions: the envelope, then every native field without a slot
    out[bt("event_id")] = event_id
    out[bt("event_type")] = etype
    out[bt("reporter")] = reporter
    if not strict:
        out[bt("occurred_at")] = occurred_at
    data = _lift_partner_fields(event.get("data"), out)
    if data is not None:
        out[bt("data")] = data
    for name, value in event.items():
        if name not in consumed and value is not None:
            out[bt(name)] = value
    for native, term in PLATFORM_FIELDS.items():
        if event.get(native) is not None:
            out[bt(term)] = event[native]
    return out


def _lift_partner_fields(data: Any, out: dict[str, Any]) -> Any:
    """Put the standard fields a partner sent (kept in ``data["epcis"]``) back in their EPCIS place.

    Only fields the mapping leaves free are lifted (a ``readPoint`` that is one of our regions stays
    in ``data``, as capture would read it as ``region``); returns what stays in ``bt:data``.
    """
    if not isinstance(data, dict) or not isinstance(data.get(PARTNER_KEY), dict):
        return data
    kept = dict(data[PARTNER_KEY])
    for name in PARTNER_FIELDS:
        value = kept.get(name)
        if name not in kept or name in out or not _partner_shape(name, value):
            continue
        out[name] = kept.pop(name)
    rest = {k: v for k, v in data.items() if k != PARTNER_KEY}
    if kept:
        rest[PARTNER_KEY] = kept
    return rest or None


def _partner_shape(name: str, value: Any) -> bool:
    if name in ("readPoint", "bizLocation"):
        return isinstance(value, dict) and isinstance(value.get("id"), str) and not (
            name == "readPoint" and set(value) == {"id"} and value["id"].startswith(f"{ID_BASE}/region/"))
    if name == "certificationInfo":
        return isinstance(value, (str, list))
    return isinstance(value, list)


def _special(etype: str, event: Mapping[str, Any], out: dict[str, Any], consumed: set[str],
             reporter: str, event_id: str) -> None:
    """The slots that depend on the event's content."""
    if etype == "techinfo.filed":
        out["quantityList"] = [{"epcClass": model_uri(reporter, str(_require(event, "model")))}]
    elif etype == "vehicle.sold":
        out["bizTransactionList"] = [{"bizTransaction": sale_uri(reporter, event_id)}]
    elif etype == "battery.replaced":
        if event.get("installed") is not None:
            out["action"] = "ADD"
            out["childEPCs"] = [battery_uri(event["installed"])]
            consumed.add("installed")
        else:
            out["action"] = "DELETE"
            out["childEPCs"] = [battery_uri(_require(event, "removed"))]
            consumed.add("removed")
    elif etype == "battery.repaired":
        battery = str(_require(event, "battery"))
        consumed.add("battery")
        replaced = event.get("components_replaced")
        if replaced:
            out["parentID"] = battery_uri(battery)
            out["childEPCs"] = [battery_uri(item["installed"]) for item in replaced]
        else:
            out["type"] = "ObjectEvent"
            out["action"] = "OBSERVE"
            out["epcList"] = [battery_uri(battery)]
    elif etype == "battery.tested":
        reports = []
        for name, (mtype, uom) in SENSOR_FIELDS.items():
            if event.get(name) is not None:
                report: dict[str, Any] = {"type": mtype, "value": event[name]}
                if uom:
                    report["uom"] = uom
                reports.append(report)
                consumed.add(name)
        out["sensorElementList"] = [{"sensorReport": reports}]
    elif etype == "battery.recycled":
        outputs = _require(event, "outputs")
        consumed.add("outputs")
        if outputs:
            out["outputQuantityList"] = [
                {"epcClass": material_uri(k), "quantity": v, "uom": "KGM"} for k, v in outputs.items()
            ]
        else:
            out[bt("outputs")] = {}
    if MAPPING[etype].epcis_type == "TransformationEvent":
        out["transformationID"] = transformation_uri(reporter, event_id)


def to_epcis_event(event: Mapping[str, Any]) -> dict[str, Any]:
    """One native event (as reported or as stored, with ``seq``/``recorded_at``/``hash``/``imported``)
    → a stand-alone EPCIS 2.0 JSON-LD event whose ``eventID`` is its CBV 2.0 event hash."""
    out = build_epcis_event(event)
    eid = event_hash(out, prefixes=context_prefixes(out["@context"]))
    ordered = {"@context": out.pop("@context"), "type": out.pop("type"), "eventID": eid}
    ordered.update(out)
    return ordered


def to_epcis_document(events: Sequence[Mapping[str, Any]], *, sender: str | None = None,
                      created_at: datetime) -> dict[str, Any]:
    """An ``EPCISDocument`` holding the events in the given order.

    ``created_at`` (time-zone aware) becomes ``creationDate``; ``sender`` (e.g. the exporting
    platform's or organisation's URI or credit code) is copied into the document header field.
    """
    if created_at.tzinfo is None:
        raise InvalidEvent("created_at must be time-zone aware", field="created_at")
    body = []
    for event in events:
        ev = to_epcis_event(event)
        ev.pop("@context")
        body.append(ev)
    doc: dict[str, Any] = {
        "@context": document_context(),
        "type": "EPCISDocument",
        "schemaVersion": SCHEMA_VERSION,
        "creationDate": created_at.isoformat(),
    }
    if sender is not None:
        doc["sender"] = sender
    doc["epcisBody"] = {"eventList": body}
    return doc
