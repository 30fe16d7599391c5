"""Data carriers for a battery: QR codes (PNG, SVG) and a printable SVG label.

A QR code holds either the battery's public page, ``{base_url}/b/{code}``, or its identifier URI
in the GS1 Digital Link style, ``https://id.battrace.org/battery/{code}`` (the same URI the EPCIS
export uses as the battery's EPC, so a scan and a data exchange name the battery identically).
Pure functions: bytes and strings out, nothing written anywhere. QR codes use error-correction
level M (15 %), enough for a label that gets scuffed, and never a Micro QR.
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from typing import Any
from xml.sax.saxutils import escape

import segno

from battrace.domain.codes import parse_code
from battrace.errors import ValidationError
from battrace.interop.epcis_common import battery_uri

ERROR_LEVEL = "m"
LEVEL_NAMES = {"P": "pack", "M": "module", "C": "cell"}
MAX_ROWS = 4
QUIET_ZONE = 4  # modules of white around a QR code (ISO/IEC 18004)


def public_url(code: str, base_url: str) -> str:
    """The battery's public page, ``{base_url}/b/{code}`` (the code is validated first)."""
    parse_code(code)
    if not base_url.startswith(("http://", "https://")):
        raise ValidationError(f"base_url must be an http(s) URL, got {base_url!r}", field="base_url",
                              value=base_url)
    return f"{base_url.rstrip('/')}/b/{code}"


def digital_link(code: str) -> str:
    """The battery's identifier URI (GS1 Digital Link style), as used for its EPCIS EPC."""
    parse_code(code)
    return battery_uri(code)


def _qr(content: str) -> segno.QRCode:
    if not content:
        raise ValidationError("a QR code needs content", field="content")
    return segno.make(content, error=ERROR_LEVEL, micro=False, boost_error=False)


def qr_png(content: str, *, scale: int = 8, border: int = 4) -> bytes:
    """A PNG image of the QR code holding ``content`` (``scale`` pixels per module)."""
    buf = io.BytesIO()
    _qr(content).save(buf, kind="png", scale=scale, border=border)
    return buf.getvalue()


def qr_svg(content: str, *, scale: int = 8, border: int = 4) -> bytes:
    """A stand-alone SVG document (UTF-8 bytes) of the QR code holding ``content``."""
    buf = io.BytesIO()
    _qr(content).save(buf, kind="svg", scale=scale, border=border, xmldecl=True, svgns=True,
                      title=content, encoding="utf-8")
    return buf.getvalue()


def _fmt(value: Any, unit: str) -> str | None:
    if value is None:
        return None
    number = float(value)
    text = f"{number:.1f}".rstrip("0").rstrip(".") if number != int(number) else str(int(number))
    return f"{text} {unit}"


def label_lines(passport: Mapping[str, Any]) -> list[tuple[str, str]]:
    """The label's text rows ``(caption, value)``, only for what the digital ID holds."""
    rows: list[tuple[str, str]] = []
    maker = passport.get("maker") or {}
    if maker.get("name"):
        rows.append(("Maker 生产企业", str(maker["name"])))
    level = LEVEL_NAMES.get(str(passport.get("level")), "")
    kind = " ".join(x for x in (str(passport.get("chemistry") or ""), level) if x)
    if kind:
        rows.append(("Type 类型", kind))
    rating = [x for x in (_fmt(passport.get("rated_capacity_ah"), "Ah"), _fmt(passport.get("rated_energy_kwh"), "kWh"),
                          _fmt(passport.get("nominal_voltage_v"), "V")) if x]
    if rating:
        rows.append(("Rated 额定", " / ".join(rating)))
    if passport.get("remade"):
        rows.append(("Re-made 再制造", str(passport.get("application") or "").replace("_", " ") or "yes"))
    if passport.get("model"):
        rows.append(("Model 型号", str(passport["model"])))
    produced = passport.get("produced_at") or (passport.get("parsed") or {}).get("production_date")
    if produced:
        rows.append(("Produced 生产", str(produced)[:7]))
    return rows


def label_svg(passport: Mapping[str, Any], base_url: str, *, qr_content: str | None = None) -> str:
    """A printable label (SVG, 100 mm × 50 mm): the code in text, maker, chemistry and level, model,
    ratings, production month and the QR code of the public page (or ``qr_content``)."""
    code = str(passport.get("code") or "")
    content = qr_content if qr_content is not None else public_url(code, base_url)
    qr = _qr(content)
    modules = qr.symbol_size(scale=1, border=QUIET_ZONE)[0]
    qr_mm = 44.0
    module_mm = qr_mm / modules
    path = qr.svg_inline(scale=1, border=QUIET_ZONE, dark="#000", light=None, omitsize=True)
    # svg_inline gives a nested <svg> with a viewBox; place it in the label's right-hand square
    nested = path.replace("<svg ", f'<svg x="53" y="3" width="{qr_mm}" height="{qr_mm}" ', 1)
    rows = label_lines(passport)
    text = [
        f'<text x="4" y="10" font-size="5" font-weight="bold" font-family="DejaVu Sans Mono, monospace">'
        f"{escape(code[:12])}</text>",
        f'<text x="4" y="16" font-size="5" font-weight="bold" font-family="DejaVu Sans Mono, monospace">'
        f"{escape(code[12:])}</text>",
    ]
    for i, (caption, value) in enumerate(rows[:MAX_ROWS]):
        y = 22.0 + 6.5 * i
        text.append(f'<text x="4" y="{y:.1f}" font-size="2.4" fill="#555">{escape(caption)}</text>')
        text.append(f'<text x="4" y="{y + 3.2:.1f}" font-size="3.1">{escape(value[:30])}</text>')
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<svg xmlns="http://www.w3.org/2000/svg" width="100mm" height="50mm" viewBox="0 0 100 50" '
        f'data-module-mm="{module_mm:.3f}" font-family="Noto Sans CJK SC, DejaVu Sans, sans-serif">'
        f"<title>Battery {escape(code)}</title>"
        '<rect x="0.5" y="0.5" width="99" height="49" rx="2" fill="#fff" stroke="#000" stroke-width="0.4"/>'
        + "".join(text)
        + nested
        + f'<text x="75" y="48.5" font-size="2.2" text-anchor="middle">{escape(content[:60])}</text>'
        "</svg>\n"
    )
