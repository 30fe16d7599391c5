"""EPCIS 2.0 capture: an ``EPCISDocument`` written in the battrace vocabulary → native events.

An event is *understood* when the battrace mapping, applied to the native event read from it,
gives back the same event (compared in the CBV 2.0 canonical form, so key order, CURIE prefixes,
CBV URNs versus bare words, and time-stamp notation do not matter). Anything else — a foreign
identifier, a business step the type does not use, an extension outside our vocabulary, an error
declaration — is refused with :class:`EpcisNotUnderstood` naming the event index, the field and
the value. Steps:

1. the document must be an ``EPCISDocument`` valid against the official JSON schema;
2. every extension key must be in the battrace namespace (whatever prefix the document binds);
3. ``bt:event_type`` picks the mapping; identifier slots give the battery codes, VIN and orgs;
   the remaining ``bt:`` properties (event level and ILMD) give the other fields;
4. the native event must pass :func:`battrace.domain.events.parse_event`;
5. re-exporting it must reproduce the event field by field.

Events from partners' systems: an event without ``bt:event_type`` is read when its shape (type,
action, business step, disposition, and the identifier slots it fills) matches exactly one row of
the mapping; its ``eventID`` becomes ``event_id`` and the capturing organisation the reporter
(``from_epcis_document(doc, reporter=…)``). Standard fields the mapping leaves free (``readPoint``
other than one of our regions, ``bizLocation``, ``sensorElementList``, ``bizTransactionList`` …,
see ``PARTNER_FIELDS``) are kept verbatim in the native ``data["epcis"]``, and the export puts them
back in place. Identifiers that are not ours, foreign user extensions and error declarations are
still refused.

Platform extras (``bt:seq``, ``bt:ledger_hash``, ``bt:imported``, ``recordTime``) are ignored:
the importing ledger records the event anew. ``eventID`` is not checked (other systems may
compute it differently).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from battrace.domain.codes import parse_code
from battrace.domain.credit import validate_credit_code
from battrace.domain.vin import validate_vin
from battrace.errors import BattraceError
from battrace.interop.epcis_common import (
    BT_NS,
    EpcisNotUnderstood,
    material_from_uri,
    parse_id_uri,
)
from battrace.interop.epcis_export import (
    ILMD_FIELDS,
    MAPPING,
    PARTNER_FIELDS,
    PARTNER_KEY,
    PLATFORM_FIELDS,
    SENSOR_FIELDS,
    SLOTS,
    build_epcis_event,
)
from battrace.interop.epcis_hash import _STANDARD_KEYS, context_prefixes, prehash_string
from battrace.interop.epcis_schema import first_schema_error

_IGNORED = frozenset({"@context", "eventID", "recordTime"})
_ENVELOPE = frozenset({"event_id", "event_type", "reporter", "occurred_at"})
_PLATFORM_TERMS = frozenset(PLATFORM_FIELDS.values())
_CHECKS: dict[str, Callable[[str], object]] = {
    "battery": parse_code, "vehicle": validate_vin, "org": validate_credit_code,
}
_ID_SLOTS = ("epcList", "parentID", "childEPCs", "inputEPCList", "outputEPCList")


def _path(parts: Any) -> str:
    out = ""
    for p in parts:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else str(p))
    return out


def _check_document(doc: Any) -> list[Any]:
    if not isinstance(doc, dict):
        raise EpcisNotUnderstood("an EPCIS document must be a JSON object", event_index=None, field="$",
                                 value=type(doc).__name__)
    if doc.get("type") != "EPCISDocument":
        raise EpcisNotUnderstood("only EPCISDocument can be captured (not query results or bare events)",
                                 event_index=None, field="type", value=doc.get("type"))
    error = first_schema_error(doc)
    if error is not None:
        path = list(error.absolute_path)
        if path[:2] == ["epcisBody", "eventList"] and len(path) > 2 and isinstance(path[2], int):
            raise EpcisNotUnderstood(f"not valid EPCIS 2.0: {error.message}", event_index=path[2],
                                     field=_path(path[3:]) or "$", value=error.instance)
        raise EpcisNotUnderstood(f"not valid EPCIS 2.0: {error.message}", event_index=None,
                                 field=_path(path) or "$", value=error.instance)
    events = doc["epcisBody"]["eventList"]
    return list(events)


class _Reader:
    """Reads one EPCIS event; every failure names the event index and the field."""

    def __init__(self, index: int, event: Mapping[str, Any], prefixes: Mapping[str, str],
                 reporter: str | None = None) -> None:
        self.i = index
        self.event = event
        self.prefixes = prefixes
        self.ext: dict[str, Any] = {}
        self.reporter = reporter
        self.implied: set[str] = set()  # envelope terms the event did not carry (taken from elsewhere)

    def fail(self, field: str, message: str, value: Any = None) -> EpcisNotUnderstood:
        return EpcisNotUnderstood(message, event_index=self.i, field=field, value=value)

    def term(self, key: str) -> str | None:
        """The local name of a key in the battrace namespace (any prefix, or the full IRI)."""
        if key.startswith(BT_NS):
            return key[len(BT_NS):]
        prefix, sep, local = key.partition(":")
        if sep and self.prefixes.get(prefix) == BT_NS:
            return local
        return None

    def read_extensions(self) -> None:
        for key, value in self.event.items():
            if key in _STANDARD_KEYS:
                continue
            local = self.term(key)
            if local is None:
                raise self.fail(key, "extension is not in the battrace vocabulary (https://battrace.org/epcis/)",
                                value)
            self.ext[local] = value
        if "errorDeclaration" in self.event:
            raise self.fail("errorDeclaration", "is not part of the battrace mapping (the ledger is append-only; "
                            "corrections are new events)", self.event["errorDeclaration"])

    def foreign_identifier(self) -> None:
        """Refuse the first identifier that is not one of ours (for events without our vocabulary)."""
        for slot in _ID_SLOTS:
            values = self.event.get(slot)
            for j, v in enumerate([values] if isinstance(values, str) else values or []):
                if parse_id_uri(v) is None:
                    where = slot if isinstance(values, str) else f"{slot}[{j}]"
                    raise self.fail(where, "is not a battrace identifier (https://id.battrace.org/battery/"
                                           "{code}, /vehicle/{vin})", v)
        for slot in ("quantityList", "childQuantityList", "inputQuantityList", "outputQuantityList"):
            for j, q in enumerate(self.event.get(slot) or []):
                if material_from_uri(q.get("epcClass", "")) is None:
                    raise self.fail(f"{slot}[{j}].epcClass", "is not a battrace class identifier",
                                    q.get("epcClass"))

    def _same(self, name: str, a: Any, b: Any) -> bool:
        """Whether two values of a vocabulary field are the same in CBV canonical form."""
        if a is None or b is None:
            return a is b
        return prehash_string({"type": "-", name: a}, prefixes=self.prefixes) == prehash_string(
            {"type": "-", name: b}, prefixes=self.prefixes)

    def infer_type(self) -> str:
        """The battrace event type of an event without ``bt:event_type``, from its EPCIS shape.

        Type, action, business step and disposition must match one row of ``MAPPING``; when several
        do, the identifier slots the event fills decide; anything else is refused.
        """
        ev = self.event
        found = [t for t, m in MAPPING.items()
                 if m.epcis_type == ev.get("type") and (m.action is None or m.action == ev.get("action"))
                 and self._same("bizStep", m.biz_step, ev.get("bizStep"))
                 and self._same("disposition", m.disposition, ev.get("disposition"))]
        if len(found) > 1:
            found = [t for t in found if all(s.slot in ev for s in SLOTS[t]
                                             if not (s.many and s.slot == "outputEPCList"))]
        if len(found) != 1:
            shape = {k: ev.get(k) for k in ("type", "action", "bizStep", "disposition") if ev.get(k) is not None}
            which = f"could be any of {', '.join(found)}" if found else "matches no battrace event type"
            raise self.fail("bt:event_type", f"is missing and the event's shape {which}; name the type with "
                            "bt:event_type (see docs/interop.md)", shape)
        return found[0]

    def ident(self, slot: str, kind: str, many: bool) -> Any:
        raw = self.event.get(slot)
        if raw is None:
            raise self.fail(slot, f"is required for {self.ext.get('event_type')}")
        if slot in ("sourceList", "destinationList"):
            key = slot.removesuffix("List")
            raw = [item.get(key) for item in raw if item.get("type") in ("possessing_party", "owning_party",
                                                                         "https://ref.gs1.org/cbv/SDT-possessing_party",
                                                                         "https://ref.gs1.org/cbv/SDT-owning_party")]
            raw = raw[:1]
        values = [raw] if isinstance(raw, str) else list(raw)
        out = []
        for j, v in enumerate(values):
            parsed = parse_id_uri(v)
            where = slot if isinstance(raw, str) else f"{slot}[{j}]"
            if parsed is None or parsed[0] != kind:
                raise self.fail(where, f"is not a battrace {kind} identifier ({'https://id.battrace.org/'}"
                                       f"{kind}/...)", v)
            try:
                _CHECKS[kind](parsed[1])
            except BattraceError as exc:
                raise self.fail(where, exc.message, v) from exc
            out.append(parsed[1])
        if many:
            return out
        if len(out) != 1:
            raise self.fail(slot, f"must hold exactly one {kind} for {self.ext.get('event_type')}", raw)
        return out[0]

    def native(self) -> dict[str, Any]:
        self.read_extensions()
        etype = self.ext.get("event_type")
        if etype is None:
            self.foreign_identifier()
            etype = self.infer_type()
            self.implied.add("event_type")
        if etype not in MAPPING:
            raise self.fail("bt:event_type", "is not a battrace event type", etype)
        event_id, reporter = self.ext.get("event_id"), self.ext.get("reporter")
        if event_id is None and "event_type" in self.implied:
            event_id = self.event.get("eventID")
            if event_id is None:
                raise self.fail("eventID", "is required to import an event without bt:event_id")
            self.implied.add("event_id")
        if reporter is None and self.reporter is not None:
            reporter = self.reporter
            self.implied.add("reporter")
        out: dict[str, Any] = {
            "event_id": event_id,
            "type": etype,
            "occurred_at": self.ext.get("occurred_at", self.event.get("eventTime")),
            "reporter": reporter,
        }
        rp = self.event.get("readPoint")
        if isinstance(rp, dict) and set(rp) == {"id"}:
            parsed = parse_id_uri(rp.get("id"))
            if parsed is not None and parsed[0] == "region":
                out["region"] = parsed[1]
        for s in SLOTS[etype]:
            if s.slot == "outputEPCList" and s.many and s.slot not in self.event:
                continue
            out[s.field] = self.ident(s.slot, s.kind, s.many)
        self._special(etype, out)
        for key, value in (self.event.get("ilmd") or {}).items():
            local = self.term(key)
            if local is None or local not in ILMD_FIELDS.get(etype, ()):
                raise self.fail(f"ilmd.{key}", "is not part of the battrace mapping for " + etype, value)
            out[local] = value
        for local, value in self.ext.items():
            if local in _ENVELOPE or local in _PLATFORM_TERMS:
                continue
            out[local] = value
        self._keep_partner_fields(out)
        return out

    def _keep_partner_fields(self, out: dict[str, Any]) -> None:
        """Standard fields the mapping leaves free go verbatim into ``data["epcis"]``."""
        try:
            produced = build_epcis_event(out)
        except BattraceError:
            return  # the native event is incomplete: parse_event reports what is missing
        extras = {k: self.event[k] for k in PARTNER_FIELDS if k in self.event and k not in produced}
        if not extras:
            return
        data = out.get("data")
        if data is None:
            data = {}
        if not isinstance(data, dict):
            raise self.fail("bt:data", "must be a JSON object when the event carries other standard fields "
                            f"({', '.join(extras)}), which are kept in data.{PARTNER_KEY}", data)
        kept = data.get(PARTNER_KEY, {})
        if not isinstance(kept, dict) or set(kept) & set(extras):
            raise self.fail(f"bt:data.{PARTNER_KEY}", "clashes with the standard fields the event carries "
                            f"({', '.join(extras)})", kept)
        out["data"] = {**data, PARTNER_KEY: {**kept, **extras}}

    def _special(self, etype: str, out: dict[str, Any]) -> None:
        if etype == "battery.replaced":
            child = self.ident("childEPCs", "battery", False)
            out["installed" if self.event.get("action") == "ADD" else "removed"] = child
        elif etype == "battery.repaired":
            if self.event.get("type") == "AggregationEvent":
                out["battery"] = self.ident("parentID", "battery", False)
            else:
                out["battery"] = self.ident("epcList", "battery", False)
        elif etype == "battery.tested":
            by_type = {mtype: name for name, (mtype, _uom) in SENSOR_FIELDS.items()}
            for e, element in enumerate(self.event.get("sensorElementList") or []):
                for r, report in enumerate(element.get("sensorReport") or []):
                    mtype = report.get("type")
                    local = self.term(mtype) if isinstance(mtype, str) else None
                    name = by_type.get(f"bt:{local}" if local else str(mtype))
                    if name is None or "value" not in report:
                        raise self.fail(f"sensorElementList[{e}].sensorReport[{r}].type",
                                        "is not a battrace test measurement", mtype)
                    out[name] = report["value"]
        elif etype == "battery.recycled" and "outputQuantityList" in self.event:
            outputs: dict[str, Any] = {}
            for j, q in enumerate(self.event["outputQuantityList"]):
                material = material_from_uri(q.get("epcClass", ""))
                if material is None or "quantity" not in q:
                    raise self.fail(f"outputQuantityList[{j}]", "is not a battrace material output "
                                    "(https://id.battrace.org/material/{name} with a quantity in KGM)", q)
                outputs[material] = q["quantity"]
            out["outputs"] = outputs

    def compare(self, native: Mapping[str, Any]) -> None:
        """Re-export ``native`` and refuse the first field that does not come back the same."""
        again = build_epcis_event(native)
        mine = {k: v for k, v in self.event.items()
                if k not in _IGNORED and self.term(k) not in _PLATFORM_TERMS}
        implied = {f"bt:{name}" for name in self.implied}
        theirs = {k: v for k, v in again.items() if k not in _IGNORED and k not in implied}
        # compare in canonical form, one field at a time (keys normalised to full IRIs)
        def canon(d: Mapping[str, Any]) -> dict[str, str]:
            out = {}
            for k, v in d.items():
                if k == "type":
                    continue
                local = self.term(k)
                out[f"{BT_NS}{local}" if local is not None else k] = prehash_string(
                    {"type": "-", k: v}, prefixes=self.prefixes)
            return out
        a, b = canon(mine), canon(theirs)
        if self.event.get("type") != again["type"]:
            raise self.fail("type", f"a {native['type']} is exported as {again['type']}", self.event.get("type"))
        for key in list(a) + [k for k in b if k not in a]:
            if a.get(key) != b.get(key):
                shown = next((k for k in mine if k == key or (self.term(k) and f"{BT_NS}{self.term(k)}" == key)),
                             key)
                if key not in a:
                    raise self.fail(shown, f"is missing (the battrace mapping of {native['type']} needs it)",
                                    again.get(shown))
                expected = again.get(shown)
                hint = f" (expected {expected!r})" if expected is not None else ""
                raise self.fail(shown, f"is not part of the battrace mapping of {native['type']}{hint}",
                                mine.get(shown))


def from_epcis_document(doc: Any, *, reporter: str | None = None) -> list[dict[str, Any]]:
    """The native events (events.md shape, without platform extras) of an EPCIS document.

    ``reporter`` (the capturing organisation) stands in for a missing ``bt:reporter``. Raises
    :class:`EpcisNotUnderstood` for anything outside the battrace mapping; never returns a
    partial result.
    """
    from battrace.domain.events import parse_event  # domain is pure; imported here to keep startup light

    events = _check_document(doc)
    prefixes = context_prefixes(doc.get("@context"))
    out = []
    for i, event in enumerate(events):
        reader = _Reader(i, event, context_prefixes(doc.get("@context"), event.get("@context"))
                         if "@context" in event else prefixes, reporter)
        native = reader.native()
        try:
            parsed = parse_event(native)
        except BattraceError as exc:
            field = str(exc.context.get("field") or "$")
            raise EpcisNotUnderstood(f"the battrace event read from it is invalid: {exc.message}",
                                     event_index=i, field=f"bt:{field}" if field != "$" else field,
                                     value=exc.context.get("value")) from exc
        content = dict(parsed.content)
        try:
            reader.compare(content)
        except BattraceError:
            raise
        out.append(content)
    return out
