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

from battrace.domain.codes import parse_code, tables
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


LEVEL_NAMES_ZH = {"P": "电池包", "M": "模块", "C": "单体"}
APPLICATION_NAMES = {"energy_storage": ("储能", "energy storage"), "backup_power": ("备用电源", "backup power"),
                     "charging_station": ("充换电站", "charging station"),
                     "low_speed_vehicle": ("低速车", "low-speed vehicle"), "e_bike": ("电动自行车", "e-bike"),
                     "other": ("其他", "other")}


def _chemistry_zh(chemistry: str) -> str | None:
    for bt in tables().battery_types.values():
        if bt.chemistry == chemistry:
            return bt.name_zh.removesuffix("电池")
    return None


def label_lines(passport: Mapping[str, Any]) -> list[tuple[str, str]]:
    """The label's text rows ``(caption, value)``, only for what the digital ID holds; captions and
    words in the values in Chinese and English (``NCM 三元材料 · 电池包 pack``)."""
    rows: list[tuple[str, str]] = []
    maker = passport.get("maker") or {}
    if maker.get("name"):
        rows.append(("生产企业 Maker", str(maker["name"])))
    level = str(passport.get("level"))
    chemistry = str(passport.get("chemistry") or "")
    parts = []
    if chemistry:
        parts.append(" ".join(x for x in (chemistry, _chemistry_zh(chemistry)) if x))
    if level in LEVEL_NAMES:
        parts.append(f"{LEVEL_NAMES_ZH[level]} {LEVEL_NAMES[level]}")
    if parts:
        rows.append(("类型 Type", " · ".join(parts)))
    rating = [x for x in (_fmt(passport.get("rated_capacity_ah"), "Ah"), _fmt(passport.get("rated_energy_kwh"), "kWh"),
                          _fmt(passport.get("nominal_voltage_v"), "V")) if x]
    if rating:
        rows.append(("额定 Rated", " / ".join(rating)))
    if passport.get("remade"):
        app = str(passport.get("application") or "")
        zh, en = APPLICATION_NAMES.get(app, ("", app.replace("_", " ")))
        rows.append(("再制造 Re-made", f"{zh} {en}".strip() or "是 yes"))
    if passport.get("model"):
        rows.append(("型号 Model", str(passport["model"])))
    produced = passport.get("produced_at") or (passport.get("parsed") or {}).get("production_date")
    if produced:
        rows.append(("生产 Produced", str(produced)[:7]))
    return rows


# Label geometry (mm). The label is 100 x 50; the QR code sits in a square on the right, the text
# column on the left stops LABEL_GAP before it, the URL runs along the bottom under both.
LABEL_W, LABEL_H = 100.0, 50.0
QR_MM = 40.0
QR_X, QR_Y = LABEL_W - 3.0 - QR_MM, 2.5
TEXT_X = 4.0
LABEL_GAP = 2.0
TEXT_RIGHT = QR_X - LABEL_GAP
URL_Y = LABEL_H - 3.0
VALUE_FONT, MIN_FONT = 3.1, 2.2


def text_width(text: str, font_size: float) -> float:
    """A generous estimate of a text's width in mm: CJK and full-width characters one em, others 0.62 em."""
    wide = sum(1 for ch in text if ord(ch) >= 0x2E80)
    return font_size * (wide + 0.62 * (len(text) - wide))


def _fitted(x: float, y: float, text: str, size: float, width: float, attrs: str = "") -> str:
    """A <text> that never runs past ``width``: the font shrinks to MIN_FONT, then the glyphs are
    squeezed to the width (``textLength``)."""
    natural = text_width(text, size)
    if natural > width:
        size = max(MIN_FONT, size * width / natural)
    squeeze = (f' textLength="{width:.2f}" lengthAdjust="spacingAndGlyphs"'
               if text_width(text, size) > width else "")
    return (f'<text x="{x:.2f}" y="{y:.2f}" font-size="{size:.2f}"{squeeze}{attrs}>{escape(text)}</text>')


def label_svg(passport: Mapping[str, Any], base_url: str, *, qr_content: str | None = None) -> str:
    """A printable label (SVG, 100 mm × 50 mm): the code in text, maker, chemistry and level, model,
    ratings, production month and the QR code of the public page (or ``qr_content``)."""
    code = str(passport.get("code") or "")
    content = qr_content if qr_content is not None else public_url(code, base_url)
    qr = _qr(content)
    modules = qr.symbol_size(scale=1, border=QUIET_ZONE)[0]
    module_mm = QR_MM / modules
    path = qr.svg_inline(scale=1, border=QUIET_ZONE, dark="#000", light=None, omitsize=True)
    # svg_inline gives a nested <svg> with a viewBox; place it in the label's right-hand square
    nested = path.replace("<svg ", f'<svg x="{QR_X}" y="{QR_Y}" width="{QR_MM}" height="{QR_MM}" ', 1)
    width = TEXT_RIGHT - TEXT_X
    mono = ' font-weight="bold" font-family="DejaVu Sans Mono, monospace"'
    text = [_fitted(TEXT_X, 9.0, code[:12], 5.0, width, mono), _fitted(TEXT_X, 15.0, code[12:], 5.0, width, mono)]
    for i, (caption, value) in enumerate(label_lines(passport)[:MAX_ROWS]):
        y = 20.5 + 6.4 * i
        text.append(_fitted(TEXT_X, y, caption, 2.3, width, ' fill="#555"'))
        text.append(_fitted(TEXT_X, y + 3.3, value, VALUE_FONT, width))
    url = _fitted(TEXT_X, URL_Y, content, 2.4, LABEL_W - 2 * TEXT_X,
                  ' class="url" font-family="DejaVu Sans Mono, monospace"')
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{LABEL_W:g}mm" height="{LABEL_H:g}mm" '
        f'viewBox="0 0 {LABEL_W:g} {LABEL_H:g}" '
        f'data-module-mm="{module_mm:.3f}" '
        'font-family="Noto Sans CJK SC, WenQuanYi Micro Hei, DejaVu Sans, sans-serif">'
        f"<title>Battery {escape(code)}</title>"
        f'<rect x="0.5" y="0.5" width="{LABEL_W - 1:g}" height="{LABEL_H - 1:g}" rx="2" fill="#fff" stroke="#000" '
        'stroke-width="0.4" class="border"/>'
        + "".join(text)
        + nested
        + url
        + "</svg>\n"
    )
