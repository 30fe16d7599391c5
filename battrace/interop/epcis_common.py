"""Shared vocabulary of the EPCIS 2.0 mapping: identifier URIs, the ``bt:`` extension namespace,
the shipped JSON-LD context and schema, and the one error the mapping raises.

Identifier scheme (see ``docs/interop.md``)::

    battery   https://id.battrace.org/battery/{GB/T 34014 code}
    vehicle   https://id.battrace.org/vehicle/{VIN}
    org       https://id.battrace.org/org/{unified social credit code}
    region    https://id.battrace.org/region/{GB/T 2260 code}
    model     https://id.battrace.org/model/{reporter credit code}/{percent-encoded model name}
    material  https://id.battrace.org/material/{material name}

HTTP URIs in the style of GS1 Digital Link rather than URNs: EPCIS 2.0 prefers web URIs, the same
URI can be printed in a QR code and resolved to the battery's public page, and GB/T 34014 codes are
not GS1 keys, so ``id.gs1.org`` is not ours to use.

Errors::

    ValidationError                 422 invalid_input
    └── EpcisNotUnderstood          422 epcis_not_understood
"""

from __future__ import annotations

import json
import re
from functools import lru_cache
from importlib import resources
from typing import Any
from urllib.parse import quote, unquote

from battrace.errors import ValidationError

ID_BASE = "https://id.battrace.org"
BT_NS = "https://battrace.org/epcis/"
BT_PREFIX = "bt"
EPCIS_CONTEXT_URL = "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"
SCHEMA_VERSION = "2.0"

# Identifier kinds and the characters each may hold (URIs stay valid and unambiguous).
_KINDS = {
    "battery": re.compile(r"^[0-9A-Z]{17}([0-9A-Z]{7})?$"),
    "vehicle": re.compile(r"^[0-9A-HJ-NPR-Z]{17}$"),
    "org": re.compile(r"^[0-9A-Z]{18}$"),
    "region": re.compile(r"^\d{6}$"),
}
_URI = re.compile(r"^https://id\.battrace\.org/(battery|vehicle|org|region)/([^/?#]+)$")


class EpcisNotUnderstood(ValidationError):
    """An EPCIS document (or one of its events) uses something the battrace mapping cannot import.

    ``context`` names where: ``event_index`` (0-based, ``None`` for the document), ``field`` (a
    JSON path inside the event) and ``value``.
    """

    code = "epcis_not_understood"

    def __init__(self, message: str, *, event_index: int | None, field: str, value: Any = None) -> None:
        where = f"event {event_index}" if event_index is not None else "document"
        shown = _short(value)
        super().__init__(
            f"EPCIS not understood: {where}, field {field!r}"
            + (f" = {shown!r}" if value is not None else "")
            + f": {message}",
            event_index=event_index,
            field=field,
            value=shown,
        )


def _short(value: Any) -> Any:
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value if not isinstance(value, str) or len(value) <= 120 else value[:117] + "..."
    text = json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= 120 else text[:117] + "..."


def id_uri(kind: str, value: str) -> str:
    """The URI of a battery, vehicle, org or region."""
    return f"{ID_BASE}/{kind}/{value}"


def battery_uri(code: str) -> str:
    return id_uri("battery", code)


def vehicle_uri(vin: str) -> str:
    return id_uri("vehicle", vin)


def org_uri(credit_code: str) -> str:
    return id_uri("org", credit_code)


def region_uri(region: str) -> str:
    return id_uri("region", region)


def model_uri(reporter: str, model: str) -> str:
    return f"{ID_BASE}/model/{reporter}/{quote(model, safe='')}"


def material_uri(material: str) -> str:
    return f"{ID_BASE}/material/{quote(material, safe='')}"


def material_from_uri(uri: str) -> str | None:
    prefix = f"{ID_BASE}/material/"
    return unquote(uri[len(prefix):]) if uri.startswith(prefix) and len(uri) > len(prefix) else None


def parse_id_uri(uri: Any) -> tuple[str, str] | None:
    """``(kind, value)`` for one of our identifier URIs, else ``None``."""
    if not isinstance(uri, str):
        return None
    m = _URI.match(uri)
    if m is None or not _KINDS[m.group(1)].match(m.group(2)):
        return None
    return m.group(1), m.group(2)


def bt(name: str) -> str:
    """The compact ``bt:`` term for a vocabulary name."""
    return f"{BT_PREFIX}:{name}"


@lru_cache(maxsize=1)
def battrace_context() -> dict[str, Any]:
    """The ``@context`` object of the shipped ``battrace-epcis-context.jsonld``."""
    text = resources.files("battrace.interop.data").joinpath("battrace-epcis-context.jsonld").read_text("utf-8")
    ctx: dict[str, Any] = json.loads(text)["@context"]
    return ctx


def document_context() -> list[Any]:
    """The ``@context`` every exported document and stand-alone event carries."""
    return [EPCIS_CONTEXT_URL, battrace_context()]
