"""Interop use cases shared by the CLI and the API: a battery's history as an EPCIS 2.0 document,
its EU Battery Pass, its data carriers (QR code, label), and EPCIS capture through the ledger.

The mapping work is done by the pure functions of :mod:`battrace.interop`; this module only loads
what they need (a passport) and hands captured events to the one ingest path
(:meth:`battrace.services.ledger.Ledger.ingest`), so captured events pass exactly the checks that
JSON Lines and ``POST /events`` pass.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from battrace.domain.access import public_view
from battrace.errors import Forbidden, ValidationError
from battrace.interop.batterypass import to_eu_batterypass
from battrace.interop.carriers import label_svg, public_url, qr_png, qr_svg
from battrace.interop.epcis import from_epcis_document, to_epcis_document
from battrace.services.ledger import IngestReport, Ledger

#: Setting: the public base URL printed in QR codes and labels (``{base}/b/{code}``); read by
#: :class:`battrace.config.Settings` (``public_base_url``).
PUBLIC_BASE_URL_ENV = "BATTRACE_PUBLIC_BASE_URL"
PASSPORT_FORMATS = ("eu-batterypass", "native")
QR_FORMATS = ("png", "svg")
#: Fields of a stored history entry that are not part of the published event (the stream link is
#: specific to one battery's chain; ``bt:seq``, ``bt:ledger_hash`` and ``recordTime`` are kept).
_UNPUBLISHED = frozenset({"link"})


def epcis_document(passport: Mapping[str, Any], *, created_at: datetime) -> dict[str, Any]:
    """The battery's whole history (as stored, in ledger order) as an ``EPCISDocument``."""
    events = [{k: v for k, v in e.items() if k not in _UNPUBLISHED} for e in passport.get("history") or ()]
    return to_epcis_document(events, created_at=created_at)


def passport_export(passport: Mapping[str, Any], fmt: str) -> dict[str, Any]:
    """The passport as the EU Battery Pass aspects (``eu-batterypass``) or our own shape (``native``)."""
    if fmt == "eu-batterypass":
        return to_eu_batterypass(passport)
    if fmt == "native":
        return dict(passport)
    raise ValidationError(f"format must be one of {', '.join(PASSPORT_FORMATS)}, got {fmt!r}", field="format",
                          value=fmt)


def qr_code(code: str, base_url: str, fmt: str) -> bytes:
    """The QR code (PNG or SVG bytes) of the battery's public page ``{base_url}/b/{code}``."""
    content = public_url(code, base_url)
    if fmt == "png":
        return qr_png(content)
    if fmt == "svg":
        return qr_svg(content)
    raise ValidationError(f"format must be one of {', '.join(QR_FORMATS)}, got {fmt!r}", field="format", value=fmt)


def label_data(passport: Mapping[str, Any]) -> dict[str, Any]:
    """What a printed label may show: the public tier only (a label is read by anyone)."""
    pub = public_view(dict(passport))
    return {
        "code": pub["code"],
        "level": pub["level"],
        "chemistry": pub["chemistry"],
        "maker": {"name": pub["maker"]},
        "model": pub["model"],
        "rated_capacity_ah": pub["rated_capacity_ah"],
        "rated_energy_kwh": pub["rated_energy_kwh"],
        "nominal_voltage_v": pub["nominal_voltage_v"],
        "remade": pub["remade_product"],
        "application": pub["application"],
        "produced_at": pub["production_month"],
    }


def label(passport: Mapping[str, Any], base_url: str) -> str:
    """The printable SVG label (100 mm × 50 mm) with the QR code of the public page."""
    return label_svg(label_data(passport), base_url)


def read_epcis(doc: Any, *, reporter: str | None = None) -> list[dict[str, Any]]:
    """The native events of an EPCIS document, or :class:`~battrace.interop.epcis.EpcisNotUnderstood`
    (``reporter``: the capturing organisation, for events without ``bt:reporter``)."""
    return from_epcis_document(doc, reporter=reporter)


def capture(ledger: Ledger, events: Sequence[Mapping[str, Any]], *, reporter: str | None = None) -> IngestReport:
    """Store captured events through the ledger, in document order (``line`` = position from 1).

    With ``reporter`` (an API key's organisation) every event must name that reporter: a document
    holding anyone else's event is refused whole with :class:`Forbidden`, nothing stored.
    """
    if reporter is not None:
        for i, event in enumerate(events):
            if event.get("reporter") != reporter:
                raise Forbidden(
                    f"EPCIS event {i} names reporter {event.get('reporter')!r} (bt:reporter); the reporter is "
                    f"always the key's organisation ({reporter})",
                    event_index=i, reporter=event.get("reporter"),
                )
    return ledger.ingest([(i, dict(e)) for i, e in enumerate(events, 1)])
