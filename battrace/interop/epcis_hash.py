"""The CBV 2.0 "EPCIS event hash ID": a syntax-independent fingerprint of an EPCIS event.

``event_hash(event)`` returns ``ni:///sha-256;<hex>?ver=CBV2.0`` (RFC 6920) over the *pre-hash
string*; :func:`document_hashes` does the same for every event of an EPCIS 2.0 document in JSON-LD
or XML. The result equals that of the public reference implementation of the algorithm
(GS1 / RalphTro ``epcis-event-hash-generator``), whose test documents and expected hashes are
part of our tests (``tests/interop/data/epcis_hash_reference``).

How the pre-hash string is built (CBV 2.0 section 8.9, CBV 2.1 for the time rounding):

1. The event is read into one tree shape whatever its syntax: a node has a name, a text and
   children. JSON-LD: a key with a list value gives one node per item; the items of ``…List``
   keys are named after the list (``epcList`` → ``epc``, the quantity lists →
   ``quantityElement``, ``sensorElementList`` → ``sensorElement``); keys and values written as
   CURIEs are expanded with the prefixes of the document's ``@context`` (keys become
   ``{namespace}local``); bare CBV / GS1 vocabulary words (``shipping``, ``Temperature``) become
   their web URIs. XML: attributes and child elements are both children; ``<extension>`` wrappers
   are dropped; ``gs1:`` and ``cbv:`` value prefixes are expanded.
2. ``eventType=<type>``, then the standard fields in the canonical order (``PROPERTY_ORDER``), each
   as ``name=value``; a container's name is followed by its children in their own order;
   repeated items (EPCs, quantity elements, sensor reports …) are sorted after canonicalisation.
   User extensions inside a container (``readPoint``, a sensor report …) follow its standard
   children, sorted.
3. Everything not in the order — ``ilmd``, the typed lists (``bizTransactionList``, ``sourceList``,
   ``destinationList``: each item ``type=…`` then ``bizTransaction=…``), event-level user
   extensions — follows as ``name=value`` / ``name`` + children, sorted at every level.
   ``eventID``, ``recordTime``, ``errorDeclaration`` and ``@context`` are left out (an error
   declaration therefore keeps the hash of the event it corrects).
4. Values: JSON booleans are written ``True`` / ``False`` (as the reference implementation does for
   JSON-LD; XML documents carry the text as written); timestamps (fields whose name contains
   ``time``) become UTC with milliseconds and ``Z``, sub-millisecond digits rounded (CBV 2.1);
   numbers lose a leading ``+`` and trailing zeros (``26.0`` → ``26``); CBV URNs become CBV web
   URIs; GS1 keys become canonical GS1 Digital Link URIs
   (:mod:`battrace.interop.epcis_digital_link`).

A document may name fields its repository adds and that must not count (a document-level
``…:ignoreFields`` list, as the reference implementation supports); they are left out.

battrace convention (not covered by the standard): a JSON-literal extension value
(``"@type": "@json"`` in our context, e.g. ``bt:data``) is hashed as its canonical JSON text
(sorted keys, no whitespace).
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from functools import lru_cache
from importlib import resources
from typing import Any

from battrace.interop.epcis_common import BT_NS, BT_PREFIX
from battrace.interop.epcis_digital_link import canonical_digital_link

CBV = "https://ref.gs1.org/cbv/"
GS1_VOC = "https://gs1.org/voc/"
DEFAULT_PREFIXES: dict[str, str] = {"gs1": GS1_VOC, "cbv": CBV, BT_PREFIX: BT_NS}
JSON_LITERAL_TERMS = frozenset({"data", "features", "components_replaced"})

# -- the canonical property order ----------------------------------------------------------------

Order = tuple[tuple[str, "Order | None"], ...]
_QUANTITY: Order = (("quantityElement", (("epcClass", None), ("quantity", None), ("uom", None))),)
_EPCS: Order = (("epc", None),)
_SENSOR_METADATA: Order = tuple((k, None) for k in (
    "time", "startTime", "endTime", "deviceID", "deviceMetadata", "rawData", "dataProcessingMethod", "bizRules"))
_SENSOR_REPORT: Order = tuple((k, None) for k in (
    "type", "exception", "deviceID", "deviceMetadata", "rawData", "dataProcessingMethod", "time",
    "microorganism", "chemicalSubstance", "value", "component", "stringValue", "booleanValue",
    "hexBinaryValue", "uriValue", "minValue", "maxValue", "meanValue", "sDev", "percRank", "percValue",
    "uom", "coordinateReferenceSystem"))
PROPERTY_ORDER: Order = (
    ("eventTime", None), ("eventTimeZoneOffset", None), ("certificationInfo", None), ("parentID", None),
    ("epcList", _EPCS), ("inputEPCList", _EPCS), ("childEPCs", _EPCS), ("quantityList", _QUANTITY),
    ("childQuantityList", _QUANTITY), ("inputQuantityList", _QUANTITY), ("outputEPCList", _EPCS),
    ("outputQuantityList", _QUANTITY), ("action", None), ("transformationID", None), ("bizStep", None),
    ("disposition", None), ("persistentDisposition", (("set", None), ("unset", None))),
    ("readPoint", (("id", None),)), ("bizLocation", (("id", None),)),
    ("sensorElementList", (("sensorElement", (("sensorMetadata", _SENSOR_METADATA),
                                              ("sensorReport", _SENSOR_REPORT))),)),
)
_STANDARD_KEYS = frozenset({
    "@context", "type", "eventID", "recordTime", "eventTime", "eventTimeZoneOffset", "epcList", "parentID",
    "inputEPCList", "childEPCs", "quantityList", "childQuantityList", "inputQuantityList", "outputEPCList",
    "outputQuantityList", "action", "transformationID", "bizStep", "disposition", "persistentDisposition",
    "readPoint", "bizLocation", "bizTransactionList", "sourceList", "destinationList", "sensorElementList",
    "ilmd", "certificationInfo", "errorDeclaration",
})
_LEFT_OUT = frozenset({"recordTime", "eventID", "type", "errorDeclaration"})
_TYPED_LISTS = {"bizTransactionList": "bizTransaction", "sourceList": "source", "destinationList": "destination"}
_LIST_ITEM = {"epcList": "epc", "inputEPCList": "epc", "outputEPCList": "epc", "quantityList": "quantityElement",
              "childQuantityList": "quantityElement", "inputQuantityList": "quantityElement",
              "outputQuantityList": "quantityElement", "sensorElementList": "sensorElement"}
_CBV_URNS = (
    ("urn:epcglobal:cbv:bizstep:", CBV + "BizStep-"), ("urn:epcglobal:cbv:disp:", CBV + "Disp-"),
    ("urn:epcglobal:cbv:btt:", CBV + "BTT-"), ("urn:epcglobal:cbv:sdt:", CBV + "SDT-"),
    ("urn:epcglobal:cbv:er:", CBV + "ER-"),
)
_XML_VALUE_PREFIXES = (("gs1:", GS1_VOC), ("cbv:", CBV))
_NUMBER = re.compile(r"^\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*$")


@dataclass(slots=True)
class Node:
    """One element of an event in the syntax-independent tree (a typed item carries ``item_type``)."""

    name: str
    text: str = ""
    children: list[Node] = field(default_factory=list)
    item_type: str | None = None


# -- value canonicalisation --------------------------------------------------------------------------

def canonical_time(value: str) -> str:
    """UTC, millisecond precision, ``Z``; sub-millisecond digits rounded half-to-even (CBV 2.1)."""
    text = value.strip()
    m = re.match(r"^(.*?T\d{2}:\d{2}:\d{2})(?:[.,](\d+))?(.*)$", text)
    if m is None:
        raise ValueError(f"not an ISO 8601 date-time: {value!r}")
    head, fraction, zone = m.group(1), m.group(2) or "0", m.group(3)
    moment = datetime.fromisoformat(head + (zone.replace("z", "Z") or ""))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    millis = Decimal("0." + fraction).quantize(Decimal("0.001"), rounding=ROUND_HALF_EVEN)
    moment = moment.astimezone(UTC) + timedelta(milliseconds=int(millis * 1000))
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def canonical_number(value: int | float | str) -> str:
    """A number as the reference writes it: no leading ``+``, no trailing ``.0`` (``26.0`` → ``26``)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    number = float(value)
    if not math.isfinite(number):
        return str(value).strip()
    if number == int(number):
        return str(int(number))
    return str(number)


def _is_number(text: str) -> bool:
    return _NUMBER.match(text) is not None


def canonical_value(text: str) -> str:
    """CBV URN → web URI, number → canonical number, GS1 key → canonical Digital Link."""
    for urn, web in _CBV_URNS:
        text = text.replace(urn, web)
    if _is_number(text):
        text = canonical_number(text)
    return canonical_digital_link(text) or text


def _is_time(name: str) -> bool:
    low = name.lower()
    return "time" in low and "offset" not in low


def _is_extension(name: str) -> bool:
    return "{" in name and "/}" in name


# -- the pre-hash string of one tree -----------------------------------------------------------------

def _element(node: Node, order: Order | None) -> tuple[str, list[Node]]:
    inner, rest = ("", node.children) if order is None else _ordered(node.children, order, top=False)
    text = node.text.strip()
    if text:
        text = canonical_time(text) if _is_time(node.name) else canonical_value(text)
    text = "=" + text if text else ""
    return (node.name + text + inner if text or inner else ""), rest


def _ordered(nodes: list[Node], order: Order, *, top: bool) -> tuple[str, list[Node]]:
    """The ordered part of ``nodes``; also returns the nodes (or parts of them) not used."""
    remaining = list(nodes)
    extensions: list[Node] = []
    if not top and len(remaining) > 1:
        extensions = [n for n in remaining if _is_extension(n.name)]
        remaining = [n for n in remaining if not _is_extension(n.name)]
    out = ""
    for name, sub in order:
        pieces = []
        for node in [n for n in remaining if n.name == name]:
            piece, rest = _element(node, sub)
            if piece:
                pieces.append(piece)
            index = next(i for i, n in enumerate(remaining) if n is node)
            if rest:
                remaining[index] = Node(node.name, node.text, rest, node.item_type)
            else:
                del remaining[index]
        out += "".join(sorted(pieces))
    if extensions:
        out += _generic(extensions)
    return out, remaining


def _generic(nodes: Sequence[Node]) -> str:
    parts = []
    for node in nodes:
        text = node.text.strip()
        value = f"{node.name}={canonical_value(text)}" if text else node.name
        if node.item_type is not None:
            kind = node.item_type.strip()
            parts.append((f"type={canonical_value(kind)}" if kind else "") + value)
        else:
            parts.append(value + _generic(node.children))
    return "".join(sorted(parts))


def tree_prehash(event: Node) -> str:
    """The pre-hash string of one event tree."""
    ordered, rest = _ordered(event.children, PROPERTY_ORDER, top=True)
    return f"eventType={event.name}" + ordered + _generic([n for n in rest if n.name not in _LEFT_OUT])


# -- JSON-LD → tree ----------------------------------------------------------------------------------

@lru_cache(maxsize=1)
def _vocabularies() -> dict[str, dict[str, str]]:
    """Bare word → web URI, per vocabulary, from the shipped GS1 context files."""
    out: dict[str, dict[str, str]] = {}
    folder = resources.files("battrace.interop.data.epcis.vocab")
    for name in ("cbv-context-bizstep", "cbv-context-disposition", "cbv-context-biztransaction-type",
                 "cbv-context-sourcedest-type", "cbv-context-error-reason", "cbv-context-component",
                 "gs1-context-measurement-type", "gs1-context-sensor-alert-type"):
        ctx = json.loads(folder.joinpath(f"{name}.jsonld").read_text("utf-8"))["@context"]
        prefixes = {k: v for k, v in ctx.items() if isinstance(v, str) and v.endswith("/") and "-" not in k}
        words = {}
        for k, v in ctx.items():
            if k.startswith("@") or not isinstance(v, str) or k in prefixes:
                continue
            p, _, local = v.partition(":")
            words[k] = prefixes[p] + local if p in prefixes else v
        out[name.split("-context-")[1]] = words
    return out


def _vocabulary_of(path: tuple[str, ...]) -> str | None:
    """The vocabulary a JSON-LD value at ``path`` (keys from the event) is typed with, if any."""
    last = path[-1]
    parent = path[-2] if len(path) > 1 else ""
    if last in ("bizStep", "disposition") and len(path) == 1:
        return "bizstep" if last == "bizStep" else "disposition"
    if last in ("set", "unset") and parent == "persistentDisposition":
        return "disposition"
    if last == "type" and parent in ("sourceList", "destinationList"):
        return "sourcedest-type"
    if last == "type" and parent == "bizTransactionList":
        return "biztransaction-type"
    if parent == "sensorReport":
        return {"type": "measurement-type", "exception": "sensor-alert-type", "component": "component"}.get(last)
    if last == "reason" and parent == "errorDeclaration":
        return "error-reason"
    return None


def _namespaces(*contexts: Any) -> dict[str, str]:
    out: dict[str, str] = {}
    for ctx in contexts:
        for item in ctx if isinstance(ctx, list) else [ctx]:
            if isinstance(item, dict):
                out.update({k: v for k, v in item.items() if isinstance(v, str) and not k.startswith("@")})
    return out


def context_prefixes(*contexts: Any) -> dict[str, str]:
    """The default prefixes plus every ``prefix: IRI`` pair in the given ``@context`` values."""
    return {**DEFAULT_PREFIXES, **_namespaces(*contexts)}


class _JsonReader:
    """Reads JSON-LD events of one document into trees."""

    def __init__(self, prefixes: Mapping[str, str], ignored: Iterable[str] = ()) -> None:
        self.prefixes = dict(prefixes)
        self.ignored = {self.key(k) for k in ignored}
        self.expanded: set[str] = set()

    def key(self, name: str) -> str:
        if name.startswith(("http://", "https://")):
            cut = max(name.rfind("/"), name.rfind("#"))
            return "{" + name[: cut + 1] + "}" + name[cut + 1:]
        prefix, sep, local = name.partition(":")
        if sep and prefix in self.prefixes and not local.startswith("//"):
            return "{" + self.prefixes[prefix] + "}" + local
        return name

    def curie(self, text: str) -> str:
        prefix, sep, local = text.partition(":")
        if sep and prefix in self.prefixes and not local.startswith("//"):
            return self.prefixes[prefix] + local
        return text

    def collect(self, event: Mapping[str, Any]) -> None:
        """Note the vocabulary IRIs JSON-LD expansion gives in this event (bare words, CURIEs)."""
        def walk(value: Any, path: tuple[str, ...]) -> None:
            if isinstance(value, dict):
                for k, v in value.items():
                    walk(v, (*path, k))
            elif isinstance(value, list):
                for v in value:
                    walk(v, path)
            elif isinstance(value, str) and path:
                vocab = _vocabulary_of(path)
                full = _vocabularies()[vocab].get(value) if vocab else None
                full = full or self.curie(value)
                if full.startswith((CBV, GS1_VOC)):
                    self.expanded.add(full)
        walk(event, ())

    def bare_word(self, text: str) -> str:
        """A bare vocabulary word → the one expanded IRI it abbreviates (as the reference does: any
        value that ends exactly one vocabulary IRI used in the document, ``-word`` or ``/word``)."""
        matches = [e for e in self.expanded if e.endswith("-" + text) or e.endswith("/" + text)]
        return matches[0] if len(matches) == 1 else text

    def scalar(self, value: Any) -> str:
        if isinstance(value, bool):  # as the reference implementation writes a JSON boolean
            return "True" if value else "False"
        if isinstance(value, (int, float)):
            return canonical_number(value)
        if value is None:
            return ""
        return self.curie(self.bare_word(str(value)))

    def nodes(self, name: str, value: Any) -> list[Node]:
        key = self.key(name)
        if key.startswith("{" + BT_NS + "}") and key.rpartition("}")[2] in JSON_LITERAL_TERMS:
            return [Node(key, json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False))]
        if isinstance(value, list):
            if name in _TYPED_LISTS:
                item = _TYPED_LISTS[name]
                return [Node(name, "", [Node(item, self.scalar(v.get(item, "")), [],
                                             self.scalar(v["type"]) if "type" in v else "")
                                        for v in value if isinstance(v, dict)])]
            if name in _LIST_ITEM or name == "childEPCs" or key.endswith("List"):
                item = _LIST_ITEM.get(name, "epc" if name == "childEPCs" else key[:-4])
                return [Node(key, "", [n for v in value for n in self.nodes(item, v)])]
            return [n for v in value for n in self.nodes(name, v)]
        if isinstance(value, dict):
            return [self.tree(key, value)]
        return [Node(key, self.scalar(value))]

    def tree(self, name: str, obj: Mapping[str, Any]) -> Node:
        node = Node(name, str(obj.get("#text", "")))
        for k, v in obj.items():
            if k in ("#text", "@context", "rdfs:comment", "comment") or k.startswith("@xmlns"):
                continue
            if self.key(k) in self.ignored:
                continue
            node.children.extend(self.nodes(k, v))
        return node

    def event(self, event: Mapping[str, Any]) -> Node:
        self.collect(event)
        return self.tree(str(event.get("type", "")), event)


def prehash_string(event: Mapping[str, Any], *, prefixes: Mapping[str, str] | None = None) -> str:
    """The CBV 2.0 pre-hash string of one EPCIS event (JSON-LD form)."""
    reader = _JsonReader(prefixes if prefixes is not None else context_prefixes(event.get("@context")))
    return tree_prehash(reader.event(event))


def _digest(prehash: str, algorithm: str) -> str:
    algorithms = {"sha-256": hashlib.sha256, "sha-384": hashlib.sha384, "sha-512": hashlib.sha512,
                  "sha3-256": hashlib.sha3_256}
    if algorithm not in algorithms:
        raise ValueError(f"unsupported digest {algorithm!r}; use one of {', '.join(algorithms)}")
    return f"ni:///{algorithm};{algorithms[algorithm](prehash.encode('utf-8')).hexdigest()}?ver=CBV2.0"


def event_hash(event: Mapping[str, Any], *, prefixes: Mapping[str, str] | None = None,
               algorithm: str = "sha-256") -> str:
    """The event hash ID ``ni:///sha-256;<hex>?ver=CBV2.0`` of one EPCIS event (JSON-LD form)."""
    return _digest(prehash_string(event, prefixes=prefixes), algorithm)


# -- whole documents (JSON-LD and XML) ---------------------------------------------------------------

def _ignore_list(container: Mapping[str, Any]) -> list[str]:
    for k, v in container.items():
        if k.rpartition(":")[2] == "ignoreFields" and isinstance(v, list):
            return [str(x) for x in v]
    return []


def json_document_prehashes(doc: Mapping[str, Any]) -> list[str]:
    """The pre-hash strings of every event of an EPCIS 2.0 JSON-LD document (or query document)."""
    prefixes = context_prefixes(doc.get("@context"))
    body = doc.get("epcisBody") or {}
    ignored = _ignore_list(doc)
    if "eventList" in body:
        events = body["eventList"]
    elif "queryResults" in body:
        results = body["queryResults"]
        events = results["resultsBody"]["eventList"]
        ignored = ignored or _ignore_list(results)
    elif "event" in body:
        events = [body["event"]]
    else:
        raise ValueError("no eventList, queryResults or event in the epcisBody")
    readers = [_JsonReader(context_prefixes(doc.get("@context"), event.get("@context")) if "@context" in event
                           else prefixes, ignored) for event in events]
    for reader, event in zip(readers, events, strict=True):
        reader.collect(event)
    expanded = {iri for reader in readers for iri in reader.expanded}  # the whole document's, as the reference
    out = []
    for reader, event in zip(readers, events, strict=True):
        reader.expanded = expanded
        out.append(tree_prehash(reader.tree(str(event.get("type", "")), event)))
    return out


def _local(tag: str) -> str:
    return tag.rpartition("}")[2]


def _xml_tree(element: ET.Element) -> Node:
    def value(text: str) -> str:
        for prefix, iri in _XML_VALUE_PREFIXES:
            if text.startswith(prefix):
                return iri + text[len(prefix):]
        return text

    node = Node(element.tag, value((element.text or "").strip()))
    for name, text in element.items():
        node.children.append(Node(name, value(text)))
    for child in element:
        if child.tag in ("bizTransaction", "source", "destination"):
            node.children.append(Node(child.tag, (child.text or "").strip(), [],
                                      value(child.get("type", ""))))
        else:
            node.children.append(_xml_tree(child))
    return node


def xml_document_prehashes(text: str) -> list[str]:
    """The pre-hash strings of every event of an EPCIS 1.x/2.0 XML document (or query document)."""
    cleaned = re.sub(r"</?(extension|baseExtension)\s*>", "", text)
    root = ET.fromstring(cleaned.encode("utf-8") if cleaned.lstrip().startswith("<?xml") else cleaned)
    ignored = {child.tag for el in root.iter() if _local(el.tag) == "ignoreFields" for child in el}
    event_list = next((el for el in root.iter() if _local(el.tag) == "EventList"), None)
    if event_list is None:
        raise ValueError("no EventList in the XML document")
    out = []
    for element in event_list:
        if not isinstance(element.tag, str):
            continue
        tree = _xml_tree(element)
        tree.children = [c for c in tree.children if c.name not in ignored]
        out.append(tree_prehash(tree))
    return out


def document_prehashes(text: str) -> list[str]:
    """The pre-hash strings of every event of an EPCIS document given as JSON-LD or XML text."""
    stripped = text.lstrip()
    if stripped.startswith("<"):
        return xml_document_prehashes(text)
    return json_document_prehashes(json.loads(text))


def document_hashes(text: str, *, algorithm: str = "sha-256") -> list[str]:
    """The event hash IDs of every event of an EPCIS document (JSON-LD or XML text), in order."""
    return [_digest(p, algorithm) for p in document_prehashes(text)]
