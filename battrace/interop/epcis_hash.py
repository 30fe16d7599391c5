"""The CBV 2.0 "EPCIS event hash ID": a syntax-independent fingerprint of an EPCIS event.

``event_hash(event)`` returns ``ni:///sha-256;<hex>?ver=CBV2.0`` (RFC 6920) over the *pre-hash
string*, built as the CBV 2.0 standard (section 8.9) and its reference implementation describe:

* fields in the canonical property order (``eventType``, ``eventTime``, ``eventTimeZoneOffset``,
  ``epcList``, ``parentID``, ``inputEPCList``, ``childEPCs``, the quantity lists, ``outputEPCList``,
  ``action``, ``transformationID``, ``bizStep``, ``disposition``, ``persistentDisposition``,
  ``readPoint``, ``bizLocation``, ``bizTransactionList``, ``sourceList``, ``destinationList``,
  ``sensorElementList``, ``ilmd``, then user extensions), concatenated without separators as
  ``key=value``; a list's name appears once, its items sorted (case-sensitive, code-point order);
* a typed item (business transaction, source, destination) puts ``type=…`` after its value;
* timestamps in UTC with millisecond precision and ``Z`` (digits beyond the millisecond are cut);
* numbers without trailing zeros, strings trimmed;
* bare CBV values (``shipping``) and CBV URNs (``urn:epcglobal:cbv:bizstep:shipping``) become CBV
  web URIs (``https://ref.gs1.org/cbv/BizStep-shipping``); CURIEs are expanded (``gs1:``, ``cbv:``,
  ``epcis:`` and every prefix the event's or document's ``@context`` defines);
* EPC URNs of the common schemes (SGTIN, SSCC, SGLN, PGLN, GDTI, GIAI, GRAI, LGTIN class, SGTIN
  pattern) become canonical GS1 Digital Link URIs on ``id.gs1.org``; GS1 Digital Link URIs on
  another domain are moved to ``id.gs1.org`` with the query string removed;
* user extensions (event level, and inside ``readPoint``/``bizLocation``/sensor elements) as
  ``{namespace}localName=value``, nested ones as the parent's key followed by its sorted children,
  sorted; ``eventID``, ``recordTime`` and ``@context`` are left out.

Not implemented (documented in ``docs/interop.md``): ``errorDeclaration`` and ``certificationInfo``
(an event carrying either raises ``ValueError`` rather than hashing wrongly), the full GS1 Digital
Link key-qualifier rules beyond the schemes above, and CBV 2.1's rounding of sub-millisecond digits.
A JSON-literal extension value (``"@type": "@json"`` in our context, e.g. ``bt:data``) is hashed as
its canonical JSON text (sorted keys, no whitespace) — our own convention, which the standard does
not cover.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from battrace.interop.epcis_common import BT_NS, BT_PREFIX

CBV = "https://ref.gs1.org/cbv/"
GS1_VOC = "https://gs1.org/voc/"
DEFAULT_PREFIXES: dict[str, str] = {
    "gs1": GS1_VOC,
    "cbv": CBV,
    "epcis": "https://ref.gs1.org/epcis/",
    BT_PREFIX: BT_NS,
}
JSON_LITERAL_TERMS = frozenset({"data", "features", "components_replaced"})

_VOCAB_PREFIX = {  # field -> web-URI prefix for bare CBV values
    "bizStep": CBV + "BizStep-",
    "disposition": CBV + "Disp-",
    "bizTransactionType": CBV + "BTT-",
    "sourceDestType": CBV + "SDT-",
    "errorReason": CBV + "ER-",
    "component": CBV + "Comp-",
    "measurementType": GS1_VOC,
    "sensorAlertType": GS1_VOC,
}
_URN_VOCAB = {
    "urn:epcglobal:cbv:bizstep:": CBV + "BizStep-",
    "urn:epcglobal:cbv:disp:": CBV + "Disp-",
    "urn:epcglobal:cbv:btt:": CBV + "BTT-",
    "urn:epcglobal:cbv:sdt:": CBV + "SDT-",
    "urn:epcglobal:cbv:er:": CBV + "ER-",
}
_EPC_LISTS = ("epcList", "parentID", "inputEPCList", "childEPCs")
_SENSOR_METADATA = ("time", "startTime", "endTime", "deviceID", "deviceMetadata", "rawData",
                    "dataProcessingMethod", "bizRules")
_SENSOR_REPORT = ("type", "exception", "deviceID", "deviceMetadata", "rawData", "dataProcessingMethod",
                  "time", "microorganism", "chemicalSubstance", "value", "component", "stringValue",
                  "booleanValue", "hexBinaryValue", "uriValue", "minValue", "maxValue", "meanValue",
                  "sDev", "percRank", "percValue", "uom", "coordinateReferenceSystem")
_STANDARD_KEYS = frozenset({
    "@context", "type", "eventID", "recordTime", "eventTime", "eventTimeZoneOffset", "epcList", "parentID",
    "inputEPCList", "childEPCs", "quantityList", "childQuantityList", "inputQuantityList", "outputEPCList",
    "outputQuantityList", "action", "transformationID", "bizStep", "disposition", "persistentDisposition",
    "readPoint", "bizLocation", "bizTransactionList", "sourceList", "destinationList", "sensorElementList",
    "ilmd", "certificationInfo", "errorDeclaration",
})
_VOCAB_TYPE = {"bizStep": "bizStep", "disposition": "disposition"}


# -- value normalisation -----------------------------------------------------------------------------

def canonical_time(value: str) -> str:
    """UTC, millisecond precision, ``Z``; digits beyond the millisecond are cut."""
    text = value.strip()
    moment = datetime.fromisoformat(text.replace("z", "Z"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def canonical_number(value: int | float) -> str:
    """A number without trailing zeros or exponent (``1.0`` → ``1``, ``0.34340`` → ``0.3434``)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    d = Decimal(repr(value)).normalize()
    text = format(d, "f")
    return "0" if text in ("-0", "") else text


def _gs1_check_digit(digits: str) -> str:
    total = sum(int(c) * (3 if i % 2 == 0 else 1) for i, c in enumerate(reversed(digits)))
    return str((10 - total % 10) % 10)


def _epc_to_digital_link(uri: str) -> str | None:
    """Canonical GS1 Digital Link for the EPC URN schemes we know, else ``None``."""
    parts = uri.split(":")
    if len(parts) < 5 or parts[0] != "urn" or parts[1] != "epc" or parts[2] not in ("id", "class", "idpat"):
        return None
    scheme, fields = parts[3], parts[4].split(".")
    dl = "https://id.gs1.org"
    try:
        if scheme in ("sgtin", "lgtin") and len(fields) == 3:
            cp, ir, last = fields
            body = ir[0] + cp + ir[1:]
            gtin = body + _gs1_check_digit(body)
            if parts[2] == "idpat" and last == "*":
                return f"{dl}/01/{gtin}"
            return f"{dl}/01/{gtin}/{'10' if scheme == 'lgtin' else '21'}/{last}"
        if scheme == "sscc" and len(fields) == 2:
            cp, sr = fields
            body = sr[0] + cp + sr[1:]
            return f"{dl}/00/{body}{_gs1_check_digit(body)}"
        if scheme == "sgln" and len(fields) == 3:
            cp, lr, ext = fields
            gln = cp + lr + _gs1_check_digit(cp + lr)
            return f"{dl}/414/{gln}" + ("" if ext == "0" else f"/254/{ext}")
        if scheme == "pgln" and len(fields) == 2:
            cp, pr = fields
            return f"{dl}/417/{cp}{pr}{_gs1_check_digit(cp + pr)}"
        if scheme == "gdti" and len(fields) == 3:
            cp, dt, serial = fields
            return f"{dl}/253/{cp}{dt}{_gs1_check_digit(cp + dt)}{serial}"
        if scheme == "giai" and len(fields) == 2:
            return f"{dl}/8004/{fields[0]}{fields[1]}"
        if scheme == "grai" and len(fields) == 3:
            cp, at, serial = fields
            return f"{dl}/8003/0{cp}{at}{_gs1_check_digit('0' + cp + at)}{serial}"
    except (IndexError, ValueError):
        return None
    return None


_DL_PRIMARY = {"00": (), "01": ("22", "10", "21", "235"), "253": (), "255": (), "401": (), "402": (),
               "414": ("254",), "417": (), "8003": (), "8004": (), "8006": ("10", "21"), "8010": ("8011",),
               "8017": (), "8018": ()}
_DL_KEEP = {"01": ("21", "10", "235"), "414": ("254",), "8006": ("21", "10"), "8010": ("8011",)}
_HTTP = re.compile(r"^https?://[^/?#]+(/[^?#]*)?(\?[^#]*)?(#.*)?$")


def _constrain_digital_link(uri: str) -> str | None:
    """A GS1 Digital Link URI on any domain → the constrained canonical form, else ``None``."""
    m = _HTTP.match(uri)
    if m is None or not m.group(1):
        return None
    segs = [s for s in m.group(1).split("/") if s]
    for i, seg in enumerate(segs):
        if seg in _DL_PRIMARY and i + 1 < len(segs) and (seg != "01" or segs[i + 1].isdigit()):
            key = segs[i + 1]
            if seg == "01":
                key = key.zfill(14)
            out = f"https://id.gs1.org/{seg}/{key}"
            rest = segs[i + 2:]
            pairs = dict(zip(rest[::2], rest[1::2], strict=False))
            # the most fine-grained level only: serial beats lot (01 21 / 01 10 / 01 235)
            for q in _DL_KEEP.get(seg, ()):
                if q in pairs:
                    out += f"/{q}/{pairs[q]}"
                    break
            return out
    return None


class _Normaliser:
    def __init__(self, prefixes: Mapping[str, str]) -> None:
        self.prefixes = dict(prefixes)

    def expand(self, text: str) -> str:
        """Expand a CURIE whose prefix we know; leave anything else alone."""
        if ":" in text and not text.startswith(("http://", "https://", "urn:")):
            prefix, _, rest = text.partition(":")
            if prefix in self.prefixes and not rest.startswith("//"):
                return self.prefixes[prefix] + rest
        return text

    def value(self, raw: Any, vocab: str | None = None) -> str:
        if isinstance(raw, (bool, int, float)):
            return canonical_number(raw)
        text = str(raw).strip()
        for urn, web in _URN_VOCAB.items():
            if text.startswith(urn):
                return web + text[len(urn):]
        if vocab is not None and re.match(r"^[A-Za-z_][A-Za-z0-9_]*$", text):
            return _VOCAB_PREFIX[vocab] + text
        text = self.expand(text)
        converted = _epc_to_digital_link(text) or _constrain_digital_link(text)
        return converted or text

    def key(self, name: str) -> str | None:
        """``{namespace}local`` for an extension key (CURIE or full IRI), ``None`` if not one."""
        if name.startswith(("http://", "https://")):
            cut = max(name.rfind("/"), name.rfind("#"))
            return "{" + name[: cut + 1] + "}" + name[cut + 1:]
        prefix, sep, local = name.partition(":")
        if sep and prefix in self.prefixes:
            return "{" + self.prefixes[prefix] + "}" + local
        return None

    def extension(self, name: str, raw: Any) -> list[str]:
        """The pre-hash pieces of one extension element (a list yields one piece per item)."""
        key = self.key(name) or name
        local = key.rpartition("}")[2]
        if local in JSON_LITERAL_TERMS and key.startswith("{" + BT_NS):
            return [f"{key}={_json_literal(raw)}"]
        if isinstance(raw, list):
            return sorted(p for item in raw for p in self.extension(name, item))
        if isinstance(raw, dict):
            children = sorted(p for k, v in raw.items() for p in self.extension(k, v))
            return [key + "".join(children)]
        if raw is None:
            return [key]
        return [f"{key}={self.value(raw)}"]


def _json_literal(raw: Any) -> str:
    return json.dumps(raw, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def context_prefixes(*contexts: Any) -> dict[str, str]:
    """The default prefixes plus every ``prefix: IRI`` pair in the given ``@context`` values."""
    out = dict(DEFAULT_PREFIXES)
    for ctx in contexts:
        items = ctx if isinstance(ctx, list) else [ctx]
        for item in items:
            if isinstance(item, dict):
                for k, v in item.items():
                    if isinstance(v, str) and ":" not in k and not k.startswith("@") and v.endswith(("/", "#")):
                        out[k] = v
    return out


# -- the pre-hash string -----------------------------------------------------------------------------

def prehash_string(event: Mapping[str, Any], *, prefixes: Mapping[str, str] | None = None) -> str:
    """The CBV 2.0 pre-hash string of one EPCIS event (JSON-LD form)."""
    for unsupported in ("errorDeclaration", "certificationInfo"):
        if unsupported in event:
            raise ValueError(f"event hash: {unsupported!r} is not implemented by battrace's hash")
    n = _Normaliser(prefixes if prefixes is not None else context_prefixes(event.get("@context")))
    out: list[str] = [f"eventType={event['type']}"]

    def add(key: str, text: str) -> None:
        out.append(f"{key}={text}")

    if "eventTime" in event:
        add("eventTime", canonical_time(event["eventTime"]))
    if "eventTimeZoneOffset" in event:
        add("eventTimeZoneOffset", str(event["eventTimeZoneOffset"]).strip())

    def epcs(name: str) -> None:
        values = event.get(name)
        if values:
            out.append(name + "".join(sorted(f"epc={n.value(v)}" for v in values)))

    def quantities(name: str) -> None:
        values = event.get(name)
        if values:
            items = []
            for q in values:
                s = "quantityElement" + f"epcClass={n.value(q['epcClass'])}"
                if "quantity" in q:
                    s += f"quantity={canonical_number(q['quantity'])}"
                if "uom" in q:
                    s += f"uom={str(q['uom']).strip()}"
                items.append(s)
            out.append(name + "".join(sorted(items)))

    epcs("epcList")
    if "parentID" in event:
        add("parentID", n.value(event["parentID"]))
    epcs("inputEPCList")
    epcs("childEPCs")
    quantities("quantityList")
    quantities("childQuantityList")
    quantities("inputQuantityList")
    epcs("outputEPCList")
    quantities("outputQuantityList")
    if "action" in event:
        add("action", str(event["action"]).strip())
    if "transformationID" in event:
        add("transformationID", n.value(event["transformationID"]))
    if "bizStep" in event:
        add("bizStep", n.value(event["bizStep"], "bizStep"))
    if "disposition" in event:
        add("disposition", n.value(event["disposition"], "disposition"))
    pd = event.get("persistentDisposition")
    if pd:
        s = "persistentDisposition"
        for part in ("set", "unset"):
            if pd.get(part):
                s += "".join(sorted(f"{part}={n.value(v, 'disposition')}" for v in pd[part]))
        out.append(s)
    for loc in ("readPoint", "bizLocation"):
        if loc in event:
            body = dict(event[loc])
            s = f"{loc}id={n.value(body.pop('id'))}" if "id" in body else loc
            s += "".join(sorted(p for k, v in body.items() for p in n.extension(k, v)))
            out.append(s)
    bts = event.get("bizTransactionList")
    if bts:
        items = []
        for b in bts:
            s = f"bizTransaction={n.value(b['bizTransaction'])}"
            if "type" in b:
                s += f"type={n.value(b['type'], 'bizTransactionType')}"
            items.append(s)
        out.append("bizTransactionList" + "".join(sorted(items)))
    for lst, item in (("sourceList", "source"), ("destinationList", "destination")):
        values = event.get(lst)
        if values:
            items = [f"{item}={n.value(v[item])}" + (f"type={n.value(v['type'], 'sourceDestType')}"
                                                      if "type" in v else "") for v in values]
            out.append(lst + "".join(sorted(items)))
    sensors = event.get("sensorElementList")
    if sensors:
        out.append("sensorElementList" + "".join(sorted(_sensor_element(n, e) for e in sensors)))
    ilmd = event.get("ilmd")
    if ilmd:
        out.append("ilmd" + "".join(sorted(p for k, v in ilmd.items() for p in n.extension(k, v))))
    extensions = sorted(
        p for k, v in event.items() if k not in _STANDARD_KEYS for p in n.extension(k, v)
    )
    out.extend(extensions)
    return "".join(out)


def _sensor_fields(n: _Normaliser, body: Mapping[str, Any], order: tuple[str, ...]) -> str:
    s = ""
    for key in order:
        if key not in body:
            continue
        v = body[key]
        if key in ("time", "startTime", "endTime"):
            s += f"{key}={canonical_time(v)}"
        elif key == "type":
            s += f"{key}={n.value(v, 'measurementType')}"
        elif key == "exception":
            s += f"{key}={n.value(v, 'sensorAlertType')}"
        elif key == "component":
            s += f"{key}={n.value(v, 'component')}"
        else:
            s += f"{key}={n.value(v)}"
    s += "".join(sorted(p for k, v in body.items() if k not in order for p in n.extension(k, v)))
    return s


def _sensor_element(n: _Normaliser, element: Mapping[str, Any]) -> str:
    s = "sensorElement"
    if "sensorMetadata" in element:
        s += "sensorMetadata" + _sensor_fields(n, element["sensorMetadata"], _SENSOR_METADATA)
    reports = element.get("sensorReport") or []
    s += "".join(sorted("sensorReport" + _sensor_fields(n, r, _SENSOR_REPORT) for r in reports))
    s += "".join(sorted(p for k, v in element.items() if k not in ("sensorMetadata", "sensorReport")
                        for p in n.extension(k, v)))
    return s


def event_hash(event: Mapping[str, Any], *, prefixes: Mapping[str, str] | None = None,
               algorithm: str = "sha-256") -> str:
    """The event hash ID ``ni:///sha-256;<hex>?ver=CBV2.0`` of one EPCIS event."""
    algorithms = {"sha-256": hashlib.sha256, "sha-384": hashlib.sha384, "sha-512": hashlib.sha512}
    if algorithm not in algorithms:
        raise ValueError(f"unsupported digest {algorithm!r}; use one of {', '.join(algorithms)}")
    digest = algorithms[algorithm](prehash_string(event, prefixes=prefixes).encode("utf-8")).hexdigest()
    return f"ni:///{algorithm};{digest}?ver=CBV2.0"
