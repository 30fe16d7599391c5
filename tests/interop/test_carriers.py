"""QR codes and labels: the bytes really hold the intended QR symbol."""

from __future__ import annotations

import re
import struct
import xml.etree.ElementTree as ET
import zlib
from typing import Any

import pytest
import segno

from battrace.errors import InvalidCode, ValidationError
from battrace.interop.carriers import digital_link, label_lines, label_svg, public_url, qr_png, qr_svg

CODE = "07HPE010000000G560000001"
BASE = "https://trace.example.org/"
PASSPORT: dict[str, Any] = {
    "code": CODE, "level": "P", "chemistry": "NCM", "remade": False,
    "maker": {"credit_code": "91350900MA2XN5AB1T", "name": "示例电池 & Co. <Ltd>"},
    "model": "P-100", "rated_capacity_ah": 150.0, "rated_energy_kwh": 52.6, "nominal_voltage_v": 350.4,
    "produced_at": "2026-05-06T09:30:00+08:00",
}
SVG = "{http://www.w3.org/2000/svg}"


def _png_matrix(png: bytes, scale: int, border: int) -> list[list[int]]:
    """Decode a 1-bit greyscale PNG (as segno writes it) into QR modules (1 = dark)."""
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    pos, chunks, idat = 8, {}, b""
    while pos < len(png):
        (length,) = struct.unpack(">I", png[pos:pos + 4])
        kind, data = png[pos + 4:pos + 8], png[pos + 8:pos + 8 + length]
        assert zlib.crc32(kind + data) == struct.unpack(">I", png[pos + 8 + length:pos + 12 + length])[0]
        if kind == b"IDAT":
            idat += data
        chunks[kind] = data
        pos += 12 + length
    width, height, depth, colour = struct.unpack(">IIBB", chunks[b"IHDR"][:10])
    assert (depth, colour) in ((1, 0), (1, 3))
    raw, stride = zlib.decompress(idat), (width + 7) // 8
    rows, prev = [], bytearray(stride)
    for y in range(height):
        ftype, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        if ftype == 2:
            line = bytearray((a + b) & 0xFF for a, b in zip(line, prev, strict=True))
        elif ftype == 1:
            for i in range(1, stride):
                line[i] = (line[i] + line[i - 1]) & 0xFF
        else:
            assert ftype == 0
        rows.append([(line[x // 8] >> (7 - x % 8)) & 1 for x in range(width)])
        prev = line
    dark = 0  # black in greyscale; segno puts its dark colour first in a palette
    n = width // scale - 2 * border
    return [[1 if rows[(border + r) * scale][(border + c) * scale] == dark else 0 for c in range(n)]
            for r in range(n)]


def _expected(content: str) -> list[list[int]]:
    return [list(map(int, row)) for row in segno.make(content, error="m", micro=False, boost_error=False).matrix]


def test_public_url_and_digital_link() -> None:
    assert public_url(CODE, BASE) == f"https://trace.example.org/b/{CODE}"
    assert digital_link(CODE) == f"https://id.battrace.org/battery/{CODE}"


def test_invalid_codes_and_base_urls_are_refused() -> None:
    with pytest.raises(InvalidCode):
        public_url("07HXE010000000G560000001", BASE)
    with pytest.raises(ValidationError):
        public_url(CODE, "javascript:alert(1)")


def test_png_holds_the_qr_of_the_public_url() -> None:
    content = public_url(CODE, BASE)
    assert _png_matrix(qr_png(content, scale=3, border=4), 3, 4) == _expected(content)


def test_png_of_other_content_differs() -> None:
    assert _png_matrix(qr_png(digital_link(CODE), scale=3, border=4), 3, 4) != _expected(public_url(CODE, BASE))


def test_svg_is_a_standalone_document_titled_with_its_content() -> None:
    content = digital_link(CODE)
    root = ET.fromstring(qr_svg(content))
    assert root.tag == f"{SVG}svg"
    assert root.find(f"{SVG}title").text == content  # type: ignore[union-attr]
    path = root.find(f"{SVG}path")
    assert path is not None and path.get("d")


def test_empty_content_is_refused() -> None:
    with pytest.raises(ValidationError):
        qr_png("")


def test_label_is_well_formed_svg_with_the_facts_escaped() -> None:
    svg = label_svg(PASSPORT, BASE)
    root = ET.fromstring(svg.encode("utf-8"))
    texts = [t.text or "" for t in root.iter(f"{SVG}text")]
    assert "".join(texts[:2]) == CODE
    assert "示例电池 & Co. <Ltd>" in texts
    assert "NCM 三元材料 · 电池包 pack" in texts  # bilingual values (issue 16)
    assert "150 Ah / 52.6 kWh / 350.4 V" in texts
    assert public_url(CODE, BASE) in texts
    assert root.get("width") == "100mm" and root.get("height") == "50mm"


def test_label_embeds_the_qr_symbol_of_its_url() -> None:
    svg = label_svg(PASSPORT, BASE)
    expected = segno.make(public_url(CODE, BASE), error="m", micro=False, boost_error=False)
    inline = expected.svg_inline(scale=1, border=4, dark="#000", light=None, omitsize=True)
    d = re.search(r' d="([^"]+)"', inline)
    assert d is not None and f'd="{d.group(1)}"' in svg


def test_label_can_carry_the_digital_link_instead() -> None:
    svg = label_svg(PASSPORT, BASE, qr_content=digital_link(CODE))
    assert digital_link(CODE) in svg and "/b/" not in svg


def test_label_rows_show_only_what_is_known() -> None:
    rows = dict(label_lines({"code": CODE, "level": "M", "chemistry": None, "maker": None}))
    assert rows == {"类型 Type": "模块 module"}
    remade = dict(label_lines({**PASSPORT, "remade": True, "application": "energy_storage"}))
    assert remade["再制造 Re-made"] == "储能 energy storage"
