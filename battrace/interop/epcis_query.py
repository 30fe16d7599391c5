"""The EPCIS 2.0 query interface (REST binding), the pure part: parameters, matching, pages, documents.

:func:`parse_query` reads the standard query-string parameters of ``GET /events`` (multi-valued ones
``|``-separated, as the REST binding's ``pipeDelimited`` style says) into an :class:`EventQuery`;
unknown or unsupported parameters and malformed values raise :class:`EpcisQueryInvalid` naming the
parameter. :func:`select_events` applies it to EPCIS events (as exported by
:func:`battrace.interop.epcis_export.to_epcis_event`) and cuts one page; :func:`query_document`
wraps a page in an ``EPCISQueryDocument``.

Supported: ``eventType``, ``GE_/LT_eventTime``, ``GE_/LT_recordTime``, ``EQ_action``,
``EQ_bizStep``, ``EQ_disposition``, ``EQ_readPoint``, ``EQ_bizLocation``, ``EQ_transformationID``,
``EQ_eventID``, ``MATCH_epc`` (``epcList``/``childEPCs``), ``MATCH_parentID``, ``MATCH_inputEPC``,
``MATCH_outputEPC``, ``MATCH_anyEPC`` (any of those), ``perPage`` (1 … :data:`MAX_PER_PAGE`,
default :data:`DEFAULT_PER_PAGE`), ``nextPageToken``. Vocabulary values may be bare CBV words,
CBV URNs, CURIEs or web URIs (compared in CBV 2.0 canonical form); EPCs may be our identifier URIs or
bare battery codes. Matching an EPC is exact (no EPC patterns).

A ``nextPageToken`` is opaque to clients: it holds the position reached and a digest of the
query, so a token cannot be replayed with other parameters.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from battrace.errors import ValidationError
from battrace.interop.epcis_common import SCHEMA_VERSION, document_context, parse_id_uri
from battrace.interop.epcis_hash import _JsonReader, _vocabularies, canonical_value, context_prefixes

DEFAULT_PER_PAGE = 30
MAX_PER_PAGE = 1000
EVENT_TYPES = ("ObjectEvent", "AggregationEvent", "TransactionEvent", "TransformationEvent", "AssociationEvent")
_MATCH_SLOTS = {
    "MATCH_epc": ("epcList", "childEPCs"),
    "MATCH_parentID": ("parentID",),
    "MATCH_inputEPC": ("inputEPCList",),
    "MATCH_outputEPC": ("outputEPCList",),
    "MATCH_anyEPC": ("epcList", "childEPCs", "parentID", "inputEPCList", "outputEPCList"),
}
_EQ_FIELDS = {
    "EQ_action": "action", "EQ_bizStep": "bizStep", "EQ_disposition": "disposition",
    "EQ_readPoint": "readPoint", "EQ_bizLocation": "bizLocation", "EQ_transformationID": "transformationID",
    "EQ_eventID": "eventID",
}
_TIMES = {"GE_eventTime": ("eventTime", True), "LT_eventTime": ("eventTime", False),
          "GE_recordTime": ("recordTime", True), "LT_recordTime": ("recordTime", False)}
PARAMETERS = frozenset({"eventType", "perPage", "nextPageToken", *_MATCH_SLOTS, *_EQ_FIELDS, *_TIMES})


class EpcisQueryInvalid(ValidationError):
    """A query parameter that is unknown, unsupported or malformed.

    ``400 epcis_query_invalid`` (the REST binding's ``QueryParameterException`` is a 400);
    ``context`` names the ``parameter`` and the ``value``.
    """

    status, code = 400, "epcis_query_invalid"

    def __init__(self, parameter: str, message: str, value: Any = None) -> None:
        super().__init__(f"query parameter {parameter!r}: {message}", parameter=parameter, value=value)


@dataclass(frozen=True)
class EventQuery:
    """One ``GET /events`` query: each set field narrows the result (values within a field: any of)."""

    event_types: tuple[str, ...] = ()
    times: tuple[tuple[str, bool, datetime], ...] = ()  # (field, greater-or-equal?, bound)
    equals: Mapping[str, frozenset[str]] = field(default_factory=dict)  # EPCIS field -> canonical values
    matches: Mapping[str, frozenset[str]] = field(default_factory=dict)  # MATCH_ parameter -> URIs
    per_page: int = DEFAULT_PER_PAGE
    offset: int = 0
    digest: str = ""

    def epcs(self) -> list[str]:
        """Every EPC the MATCH_ parameters name, in a stable order."""
        return sorted({uri for values in self.matches.values() for uri in values})


def _canon(text: str) -> str:
    reader = _JsonReader(context_prefixes())
    return canonical_value(reader.curie(text.strip()))


def _vocab(parameter: str, text: str) -> str:
    """A bizStep / disposition value in canonical web-URI form (bare words, URNs, CURIEs, URIs)."""
    vocab = {"EQ_bizStep": "bizstep", "EQ_disposition": "disposition"}.get(parameter)
    if vocab is not None and text in _vocabularies()[vocab]:
        return _vocabularies()[vocab][text]
    return _canon(text)


def epc_uri(value: str) -> str:
    """Our identifier URI for an EPC given as a URI or as a bare battery code."""
    text = value.strip()
    if parse_id_uri(text) is not None:
        return text
    candidate = f"https://id.battrace.org/battery/{text}"
    return candidate if parse_id_uri(candidate) is not None else text


def _time(parameter: str, text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text.strip().replace("z", "Z"))
    except ValueError:
        raise EpcisQueryInvalid(parameter, "is not an ISO 8601 date-time", text) from None
    if moment.tzinfo is None:
        raise EpcisQueryInvalid(parameter, "needs a time-zone offset (e.g. Z or +08:00)", text)
    return moment


def _digest(params: Sequence[tuple[str, str]]) -> str:
    kept = sorted((k, v) for k, v in params if k not in ("nextPageToken", "perPage"))
    return hashlib.sha256(json.dumps(kept).encode()).hexdigest()[:16]


def page_token(query: EventQuery, offset: int) -> str:
    raw = json.dumps({"o": offset, "q": query.digest}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _read_token(token: str, digest: str) -> int:
    try:
        data = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        offset, query = int(data["o"]), str(data["q"])
    except (ValueError, KeyError, TypeError, OverflowError):
        raise EpcisQueryInvalid("nextPageToken", "is not a token this server issued", token) from None
    if query != digest or offset < 0:
        raise EpcisQueryInvalid("nextPageToken", "belongs to a different query (repeat the same parameters)",
                                token)
    return offset


def parse_query(params: Sequence[tuple[str, str]]) -> EventQuery:
    """The query the parameters ``[(name, value), …]`` describe; anything unknown is refused."""
    event_types: list[str] = []
    times: list[tuple[str, bool, datetime]] = []
    equals: dict[str, set[str]] = {}
    matches: dict[str, set[str]] = {}
    per_page = DEFAULT_PER_PAGE
    token: str | None = None
    for name, raw in params:
        if name == "epc":  # the path's EPC (``/epcs/{epc}/events``): part of the token's digest only
            continue
        if name not in PARAMETERS:
            raise EpcisQueryInvalid(name, "is not supported by this repository (supported: "
                                    + ", ".join(sorted(PARAMETERS)) + ")", raw)
        values = [v for v in raw.split("|") if v.strip()]
        if not values:
            raise EpcisQueryInvalid(name, "is empty", raw)
        if name == "eventType":
            event_types.extend(v.strip() for v in values)
        elif name in _TIMES:
            fld, ge = _TIMES[name]
            times.append((fld, ge, _time(name, raw)))
        elif name in _EQ_FIELDS:
            canon = {_vocab(name, v) if name in ("EQ_bizStep", "EQ_disposition") else _canon(v) for v in values}
            equals.setdefault(_EQ_FIELDS[name], set()).update(canon)
        elif name in _MATCH_SLOTS:
            for v in values:
                if "*" in v:
                    raise EpcisQueryInvalid(name, "EPC patterns are not supported; give whole EPCs", v)
            matches.setdefault(name, set()).update(epc_uri(v) for v in values)
        elif name == "perPage":
            if not raw.strip().isdigit() or not 1 <= int(raw) <= MAX_PER_PAGE:
                raise EpcisQueryInvalid(name, f"must be a whole number from 1 to {MAX_PER_PAGE}", raw)
            per_page = int(raw)
        else:
            token = raw.strip()
    digest = _digest(params)
    return EventQuery(
        event_types=tuple(event_types), times=tuple(times),
        equals={k: frozenset(v) for k, v in equals.items()}, matches={k: frozenset(v) for k, v in matches.items()},
        per_page=per_page, offset=_read_token(token, digest) if token is not None else 0, digest=digest,
    )


def _field_values(event: Mapping[str, Any], name: str) -> set[str]:
    value = event.get(name)
    if value is None:
        return set()
    if name in ("readPoint", "bizLocation"):
        value = value.get("id") if isinstance(value, dict) else None
        if value is None:
            return set()
    if name in ("bizStep", "disposition"):
        return {_vocab("EQ_" + name, str(value))}
    return {_canon(str(value))}


def _epcs_in(event: Mapping[str, Any], slots: Sequence[str]) -> set[str]:
    out: set[str] = set()
    for slot in slots:
        value = event.get(slot)
        out.update([value] if isinstance(value, str) else value or [])
    return out


def _moment(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def matches(query: EventQuery, event: Mapping[str, Any]) -> bool:
    """Whether one EPCIS event satisfies every condition of the query."""
    if query.event_types and event.get("type") not in query.event_types:
        return False
    for fld, ge, bound in query.times:
        if fld not in event:
            return False
        moment = _moment(str(event[fld]))
        if (moment < bound) if ge else (moment >= bound):
            return False
    for fld, wanted in query.equals.items():
        if not _field_values(event, fld) & wanted:
            return False
    return all(_epcs_in(event, _MATCH_SLOTS[name]) & wanted for name, wanted in query.matches.items())


def select_events(query: EventQuery, events: Sequence[Mapping[str, Any]]) -> tuple[list[dict[str, Any]], str | None]:
    """The page of matching events the query asks for, and the token of the next page (``None`` at the end)."""
    hits = [dict(e) for e in events if matches(query, e)]
    page = hits[query.offset: query.offset + query.per_page]
    more = query.offset + query.per_page < len(hits)
    return page, page_token(query, query.offset + query.per_page) if more else None


def query_document(events: Sequence[Mapping[str, Any]], *, created_at: datetime,
                   query_name: str = "SimpleEventQuery") -> dict[str, Any]:
    """An ``EPCISQueryDocument`` holding the events (their own ``@context`` lifted to the document)."""
    body = [{k: v for k, v in e.items() if k != "@context"} for e in events]
    return {
        "@context": document_context(),
        "type": "EPCISQueryDocument",
        "schemaVersion": SCHEMA_VERSION,
        "creationDate": created_at.isoformat(),
        "epcisBody": {"queryResults": {"queryName": query_name, "resultsBody": {"eventList": body}}},
    }


def event_types_collection() -> dict[str, Any]:
    """The ``/eventTypes`` resource: the event types this repository holds (all five standard ones)."""
    return {"@context": document_context(), "type": "Collection", "member": list(EVENT_TYPES)}
