"""The EPCIS 2.0 query interface over the ledger: which events a caller may see, as exported.

Every event is served exactly as ``GET /batteries/{code}/epcis`` exports it (same ``eventID``,
same fields), so a partner querying one battery sees its life as the export shows it.

Access: the same tiers as the rest of the API. A battery's events need the participant tier or
above for that battery (refusals and reads audited, as for the export). A query that names no
battery (no ``MATCH_…`` parameter) and a lookup by ``eventID`` read the whole ledger in order;
they are open to the platform admin (whole ledger) and, for ``eventID``, to any caller with the
participant tier on a battery the event names. Both are linear scans (there is no index from
``eventID`` to the ledger): fine for thousands of events, slow for millions.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from battrace.domain.access import PUBLIC, Caller
from battrace.errors import Forbidden, NotFound, Unauthorized, UnknownBattery, ValidationError
from battrace.interop.epcis_common import parse_id_uri
from battrace.interop.epcis_export import to_epcis_event
from battrace.interop.epcis_query import EpcisQueryInvalid, EventQuery, epc_uri, select_events
from battrace.services.access import audit, battery_tier
from battrace.services.passport import get_passport, history_entry
from battrace.services.platform import Platform

_SCAN_CHUNK = 2000
_UNPUBLISHED = frozenset({"link"})


def participant_passport(platform: Platform, caller: Caller, code: str, action: str) -> dict[str, Any]:
    """The full passport of ``code`` when the caller's tier is participant or above; audited.

    The one access decision of this module (to be replaced by the guarded read call,
    ``platform.guard.battery(caller, code, action, least=PARTICIPANT).passport``, once it exists).
    """
    passport = get_passport(platform.store, code)
    tier = battery_tier(platform.store, caller, passport)
    if tier == PUBLIC:
        if caller.anonymous:
            raise Unauthorized(f"{code}: credentials required for this data")
        audit(platform.store, caller, action, code, False, "no relation to this item", platform.now())
        raise Forbidden(f"{code}: your organisation has no relation to it; only its public tier is open",
                        resource=code)
    audit(platform.store, caller, action, code, True, tier, platform.now())
    return passport


def battery_events(platform: Platform, caller: Caller, code: str, action: str) -> list[dict[str, Any]]:
    """The battery's history as EPCIS events, exactly as its export holds them (ledger order)."""
    passport = participant_passport(platform, caller, code, action)
    return [to_epcis_event({k: v for k, v in e.items() if k not in _UNPUBLISHED})
            for e in passport.get("history") or ()]


def _battery_code(uri: str, parameter: str) -> str:
    parsed = parse_id_uri(uri)
    if parsed is None or parsed[0] != "battery":
        raise EpcisQueryInvalid(parameter, "only battery EPCs (https://id.battrace.org/battery/{code}) can be "
                                "queried", uri)
    return parsed[1]


def _ledger_events(platform: Platform) -> Iterator[dict[str, Any]]:
    """Every stored event as an exported EPCIS event, in ledger order (read in chunks)."""
    seq = 0
    while True:
        with platform.store.reader() as conn:
            rows = platform.store.events_after(conn, seq, _SCAN_CHUNK)
        if not rows:
            return
        for row in rows:
            yield to_epcis_event(history_entry(row))
        seq = rows[-1]["seq"]


def query_events(platform: Platform, caller: Caller, query: EventQuery, *, battery: str | None = None
                 ) -> tuple[list[dict[str, Any]], str | None]:
    """One page of the events the query selects, and the next page's token.

    With ``battery`` (a URI or code, as in ``/epcs/{epc}/events``) the candidates are that battery's
    whole history as exported; otherwise the histories of the batteries the ``MATCH_`` parameters
    name (then narrowed by them, as the standard defines), or the whole ledger for the admin.
    """
    if caller.anonymous:
        raise Unauthorized("credentials required: send 'Authorization: Bearer <key>'")
    if battery is not None:
        codes = [_battery_code(epc_uri(battery), "epc")]
    else:
        codes = [_battery_code(uri, "MATCH_epc") for uri in query.epcs()]
    if not codes:
        if not caller.admin:
            raise EpcisQueryInvalid("MATCH_epc", "name at least one battery (MATCH_epc, MATCH_anyEPC, "
                                    "MATCH_parentID, MATCH_inputEPC or MATCH_outputEPC); only the platform admin "
                                    "may query the whole ledger")
        return select_events(query, list(_ledger_events(platform)))
    seen: dict[str, dict[str, Any]] = {}
    for code in codes:
        for event in battery_events(platform, caller, code, "epcis.query"):
            seen.setdefault(event["eventID"], event)
    events = sorted(seen.values(), key=lambda e: int(e.get("bt:seq", 0)))
    return select_events(query, events)


def find_event(platform: Platform, caller: Caller, event_id: str) -> dict[str, Any]:
    """The event whose CBV 2.0 hash is ``event_id``, if the caller may read a battery it names."""
    if caller.anonymous:
        raise Unauthorized("credentials required: send 'Authorization: Bearer <key>'")
    if not event_id.startswith("ni:///"):
        raise ValidationError("an eventID here is a CBV 2.0 event hash (ni:///sha-256;…?ver=CBV2.0)",
                              field="eventID", value=event_id)
    for event in _ledger_events(platform):
        if event["eventID"] != event_id:
            continue
        if caller.admin:
            return event
        for slot in ("epcList", "childEPCs", "parentID", "inputEPCList", "outputEPCList"):
            value = event.get(slot)
            for uri in [value] if isinstance(value, str) else value or []:
                parsed = parse_id_uri(uri)
                if parsed is None or parsed[0] != "battery":
                    continue
                try:
                    participant_passport(platform, caller, parsed[1], "epcis.event")
                except (Forbidden, UnknownBattery):
                    continue
                return event
        raise Forbidden("your organisation has no relation to a battery this event names", resource=event_id)
    raise NotFound(f"no event with eventID {event_id}", event_id=event_id)
