"""GS1 EPCIS 2.0 interoperability: export native events, capture EPCIS documents, event hashes.

The public face of the EPCIS mapping; the work is split by concept:

* :mod:`battrace.interop.epcis_common` — identifier URIs, the ``bt:`` vocabulary and context,
  :class:`EpcisNotUnderstood`;
* :mod:`battrace.interop.epcis_export` — native → EPCIS (:func:`to_epcis_event`,
  :func:`to_epcis_document`);
* :mod:`battrace.interop.epcis_capture` — EPCIS → native (:func:`from_epcis_document`);
* :mod:`battrace.interop.epcis_hash` — the CBV 2.0 event hash (:func:`event_hash`);
* :mod:`battrace.interop.epcis_schema` — validation against the official JSON schema.

All functions are pure: no storage, no network, no clock (``created_at`` is passed in).
"""

from __future__ import annotations

from battrace.interop.epcis_capture import from_epcis_document
from battrace.interop.epcis_common import (
    BT_NS,
    EPCIS_CONTEXT_URL,
    EpcisNotUnderstood,
    battery_uri,
    battrace_context,
    org_uri,
    parse_id_uri,
    vehicle_uri,
)
from battrace.interop.epcis_export import MAPPING, to_epcis_document, to_epcis_event
from battrace.interop.epcis_hash import event_hash, prehash_string
from battrace.interop.epcis_schema import epcis_schema, first_schema_error, is_valid

__all__ = [
    "BT_NS",
    "EPCIS_CONTEXT_URL",
    "MAPPING",
    "EpcisNotUnderstood",
    "battery_uri",
    "battrace_context",
    "epcis_schema",
    "event_hash",
    "first_schema_error",
    "from_epcis_document",
    "is_valid",
    "org_uri",
    "parse_id_uri",
    "prehash_string",
    "to_epcis_document",
    "to_epcis_event",
    "vehicle_uri",
]
