"""GS1 identifiers → the constrained canonical GS1 Digital Link URI the CBV 2.0 event hash uses.

:func:`canonical_digital_link` accepts an EPC URI (``urn:epc:id:…``), an EPC class URI
(``urn:epc:class:lgtin:…``), an EPC ID pattern URI (``urn:epc:idpat:…:*``) or a GS1 Digital Link
URI on any domain, and returns ``https://id.gs1.org/{AI}/{key}[/{AI}/{qualifier}]`` holding only the
finest identification level (a serial wins over a lot; CPV, data attributes and the query string
are dropped), or ``None`` for anything that is not a GS1 key in one of those forms.

Keys (EPC scheme → AI): SGTIN → 01 + 21, SSCC → 00, SGLN → 414 (+ 254), GRAI → 8003,
GIAI → 8004, GSRN → 8018, GSRN-P → 8017, GDTI → 253, CPI → 8010 + 8011, SGCN → 255, GINC → 401,
GSIN → 402, ITIP → 8006 + 21, UPUI → 01 + 235, PGLN → 417, LGTIN (class) → 01 + 10; patterns of
SGTIN, GRAI, GDTI, SGCN, CPI, ITIP and UPUI give the class-level key.

Characters that GS1 Digital Link (table 7-1) wants percent-encoded and that EPC URIs allow raw
(``! ( ) * + , :``) are encoded; existing ``%xx`` escapes are kept.
"""

from __future__ import annotations

import re

DL = "https://id.gs1.org"

_EPC_CHAR = r"(?:%[0-9A-Fa-f]{2}|[!'()*+,\-.0-9:;=A-Z_a-z])"
_EPC_TEXT = re.compile(rf"^{_EPC_CHAR}+$")
_DIGITS = re.compile(r"^\d*$")
_ENCODE = {"!": "%21", "(": "%28", ")": "%29", "*": "%2A", "+": "%2B", ",": "%2C", ":": "%3A"}

# Digital Link short names (and the 22/10/21 qualifiers) → application identifiers
_SHORT_NAMES = {
    "gtin": "01", "itip": "8006", "cpid": "8010", "gln": "414", "party": "417", "gsrnp": "8017",
    "gsrn": "8018", "gcn": "255", "sscc": "00", "gdti": "253", "ginc": "401", "gsin": "402",
    "grai": "8003", "giai": "8004", "cpv": "22", "lot": "10", "ser": "21",
}
# primary key AI → (qualifier AIs it may carry, finest first among the kept ones)
_QUALIFIERS: dict[str, tuple[str, ...]] = {
    "01": ("22", "10", "21", "235"), "8006": ("22", "10", "21"), "8010": ("8011",), "414": ("254",),
    "00": (), "253": (), "255": (), "401": (), "402": (), "417": (), "8003": (), "8004": (),
    "8017": (), "8018": (),
}
_KEEP = {"01": ("21", "235", "10"), "8006": ("21", "10"), "8010": ("8011",), "414": ("254",)}
_GS1_TEXT = r"(?:%[0-9A-Fa-f]{2}|[\"'\-.0-9;<=>A-Z_a-z])"
_KEY_SYNTAX = {
    "00": re.compile(r"^\d{18}$"),
    "01": re.compile(r"^\d{14}$"),
    "253": re.compile(rf"^\d{{13}}{_GS1_TEXT}{{0,17}}$"),
    "255": re.compile(r"^\d{13}\d{0,12}$"),
    "401": re.compile(rf"^{_GS1_TEXT}{{1,30}}$"),
    "402": re.compile(r"^\d{17}$"),
    "414": re.compile(r"^\d{13}$"),
    "417": re.compile(r"^\d{13}$"),
    "8003": re.compile(rf"^\d{{14}}{_GS1_TEXT}{{0,16}}$"),
    "8004": re.compile(rf"^{_GS1_TEXT}{{1,30}}$"),
    "8006": re.compile(r"^\d{18}$"),
    "8010": re.compile(r"^(?:%[0-9A-Fa-f]{2}|[#\-/0-9A-Z]){1,30}$"),
    "8017": re.compile(r"^\d{18}$"),
    "8018": re.compile(r"^\d{18}$"),
}
_QUALIFIER_SYNTAX = {
    "21": re.compile(rf"^{_GS1_TEXT}{{1,20}}$"),
    "10": re.compile(rf"^{_GS1_TEXT}{{1,20}}$"),
    "235": re.compile(rf"^{_GS1_TEXT}{{1,28}}$"),
    "254": re.compile(rf"^{_GS1_TEXT}{{1,20}}$"),
    "8011": re.compile(r"^\d{1,12}$"),
    "22": re.compile(r"^.{1,20}$"),
}
_HTTP = re.compile(r"^https?://[^/?#]+(?P<path>/[^?#]*)?")


def check_digit(digits: str) -> str:
    """The GS1 mod-10 check digit of ``digits`` (weights 3, 1, 3 … from the right)."""
    total = sum(int(c) * (3 if i % 2 == 0 else 1) for i, c in enumerate(reversed(digits)))
    return str((10 - total % 10) % 10)


def _encode(text: str) -> str:
    return "".join(_ENCODE.get(c, c) for c in text)


def _split_prefix(cp: str, ref: str, width: int) -> bool:
    """A GS1 company prefix (6-12 digits) and a reference that together have ``width`` digits."""
    return 6 <= len(cp) <= 12 and cp.isdigit() and _DIGITS.match(ref) is not None and len(cp) + len(ref) == width


def _gtin(cp: str, ir: str) -> str:
    body = ir[:1] + cp + ir[1:]
    return body + check_digit(body)


def _with_cd(body: str) -> str:
    return body + check_digit(body)


def _text(value: str, longest: int) -> bool:
    return len(value) >= 1 and _EPC_TEXT.match(value) is not None and len(re.sub(r"%..", "x", value)) <= longest


def _epc_id(scheme: str, body: str) -> str | None:  # noqa: PLR0911, PLR0912 - one branch per scheme
    f = body.split(".")
    if scheme == "sgtin" and len(f) >= 3:
        cp, ir, serial = f[0], f[1], ".".join(f[2:])
        if _split_prefix(cp, ir, 13) and _text(serial, 20):
            return f"{DL}/01/{_gtin(cp, ir)}/21/{_encode(serial)}"
    elif scheme == "upui" and len(f) >= 3:
        cp, ir, serial = f[0], f[1], ".".join(f[2:])
        if _split_prefix(cp, ir, 13) and _text(serial, 28):
            return f"{DL}/01/{_gtin(cp, ir)}/235/{_encode(serial)}"
    elif scheme == "sscc" and len(f) == 2 and _split_prefix(f[0], f[1], 17):
        return f"{DL}/00/{_with_cd(f[1][:1] + f[0] + f[1][1:])}"
    elif scheme == "sgln" and len(f) >= 3:
        cp, lr, ext = f[0], f[1], ".".join(f[2:])
        if _split_prefix(cp, lr, 12) and _text(ext, 20):
            gln = _with_cd(cp + lr)
            return f"{DL}/414/{gln}" if ext == "0" else f"{DL}/414/{gln}/254/{_encode(ext)}"
    elif scheme == "grai" and len(f) >= 3:
        cp, at, serial = f[0], f[1], ".".join(f[2:])
        if _split_prefix(cp, at, 12) and _text(serial, 16):
            return f"{DL}/8003/{_with_cd('0' + cp + at)}{_encode(serial)}"
    elif scheme in ("giai", "ginc") and len(f) >= 2:
        cp, ref = f[0], ".".join(f[1:])
        if 6 <= len(cp) <= 12 and cp.isdigit() and _text(ref, 30 - len(cp)):
            return f"{DL}/{'8004' if scheme == 'giai' else '401'}/{cp}{_encode(ref)}"
    elif scheme in ("gsrn", "gsrnp") and len(f) == 2 and _split_prefix(f[0], f[1], 17):
        return f"{DL}/{'8018' if scheme == 'gsrn' else '8017'}/{_with_cd(f[0] + f[1])}"
    elif scheme == "gsin" and len(f) == 2 and _split_prefix(f[0], f[1], 16):
        return f"{DL}/402/{_with_cd(f[0] + f[1])}"
    elif scheme == "pgln" and len(f) == 2 and _split_prefix(f[0], f[1], 12):
        return f"{DL}/417/{_with_cd(f[0] + f[1])}"
    elif scheme == "gdti" and len(f) >= 3:
        cp, dt, serial = f[0], f[1], ".".join(f[2:])
        if _split_prefix(cp, dt, 12) and _text(serial, 17):
            return f"{DL}/253/{_with_cd(cp + dt)}{_encode(serial)}"
    elif scheme == "sgcn" and len(f) == 3 and _split_prefix(f[0], f[1], 12) and re.match(r"^\d{1,12}$", f[2]):
        return f"{DL}/255/{_with_cd(f[0] + f[1])}{f[2]}"
    elif scheme == "cpi" and len(f) == 3:
        cp, ref, serial = f
        if (6 <= len(cp) <= 12 and cp.isdigit() and re.match(r"^(?:%[0-9A-Fa-f]{2}|[0-9A-Z\-])+$", ref)
                and re.match(r"^\d{1,12}$", serial)):
            return f"{DL}/8010/{cp}{ref}/8011/{serial}"
    elif scheme == "itip" and len(f) >= 5:
        cp, ir, piece, total, serial = f[0], f[1], f[2], f[3], ".".join(f[4:])
        if (_split_prefix(cp, ir, 13) and re.match(r"^\d\d$", piece) and re.match(r"^\d\d$", total)
                and _text(serial, 20)):
            return f"{DL}/8006/{_gtin(cp, ir)}{piece}{total}/21/{_encode(serial)}"
    return None


def _epc_pattern(scheme: str, body: str) -> str | None:
    f = body.split(".")
    if not f or f[-1] != "*":
        return None
    f = f[:-1]
    if scheme in ("sgtin", "upui") and len(f) == 2 and _split_prefix(f[0], f[1], 13):
        return f"{DL}/01/{_gtin(f[0], f[1])}"
    if scheme == "grai" and len(f) == 2 and _split_prefix(f[0], f[1], 12):
        return f"{DL}/8003/{_with_cd('0' + f[0] + f[1])}"
    if scheme in ("gdti", "sgcn") and len(f) == 2 and _split_prefix(f[0], f[1], 12):
        return f"{DL}/{'253' if scheme == 'gdti' else '255'}/{_with_cd(f[0] + f[1])}"
    if scheme == "cpi" and len(f) == 2 and f[0].isdigit() and re.match(r"^(?:%[0-9A-Fa-f]{2}|[0-9A-Z\-])+$", f[1]):
        return f"{DL}/8010/{f[0]}{f[1]}"
    if (scheme == "itip" and len(f) == 4 and _split_prefix(f[0], f[1], 13) and re.match(r"^\d\d$", f[2])
            and re.match(r"^\d\d$", f[3])):
        return f"{DL}/8006/{_gtin(f[0], f[1])}{f[2]}{f[3]}"
    return None


def _from_epc_uri(uri: str) -> str | None:
    parts = uri.split(":", 4)
    if len(parts) != 5 or parts[0] != "urn" or parts[1] != "epc":
        return None
    kind, scheme, body = parts[2], parts[3], parts[4]
    if kind == "id":
        return _epc_id(scheme, body)
    if kind == "idpat":
        return _epc_pattern(scheme, body)
    if kind == "class" and scheme == "lgtin":
        f = body.split(".")
        if len(f) >= 3 and _split_prefix(f[0], f[1], 13) and _text(".".join(f[2:]), 20):
            return f"{DL}/01/{_gtin(f[0], f[1])}/10/{_encode('.'.join(f[2:]))}"
    return None


def _from_web_uri(uri: str) -> str | None:
    m = _HTTP.match(uri)
    if m is None or not m.group("path"):
        return None
    segs = [_SHORT_NAMES.get(s, s) for s in m.group("path").split("/")[1:]]
    if segs and segs[-1] == "":
        segs = segs[:-1]
    for i, seg in enumerate(segs):
        if seg not in _QUALIFIERS or i + 1 >= len(segs) or not re.match(r"^\d{4}", segs[i + 1]):
            continue
        key = segs[i + 1]
        if seg == "01" and key.isdigit() and len(key) in (8, 12, 13):
            key = key.zfill(14)
        rest = segs[i + 2:]
        if len(rest) % 2 or not _KEY_SYNTAX[seg].match(key):
            return None
        pairs = dict(zip(rest[::2], rest[1::2], strict=True))
        allowed = _QUALIFIERS[seg]
        if any(q not in allowed or not _QUALIFIER_SYNTAX[q].match(v) for q, v in pairs.items()):
            return None
        out = f"{DL}/{seg}/{key}"
        for q in _KEEP.get(seg, ()):
            if q in pairs:
                return f"{out}/{q}/{pairs[q]}"
        return out
    return None


def canonical_digital_link(uri: object) -> str | None:
    """The constrained canonical GS1 Digital Link URI of a GS1 identifier, else ``None``."""
    if not isinstance(uri, str):
        return None
    if uri.startswith("urn:epc:"):
        return _from_epc_uri(uri)
    if uri.startswith(("http://", "https://")):
        return _from_web_uri(uri)
    return None
