"""What one reported event may hold, checked at the edge before anything else looks at it.

Every face (CLI file, ``POST /events``, web upload, EPCIS capture) decodes its text with
:func:`loads` and :func:`parse_event <battrace.domain.events.parse_event>` runs :func:`check_raw`
on the object, so a hostile event is refused with one stable code per cause and never reaches the
log, a read model or a serialiser that would choke on it later:

=========================  ======================  ============================================
cause                      code                    limit
=========================  ======================  ============================================
nesting                    ``nesting_too_deep``    :data:`MAX_DEPTH` levels (the event is 1)
size                       ``event_too_large``     :data:`MAX_EVENT_BYTES` of canonical JSON
integer magnitude          ``number_out_of_range`` ±:data:`MAX_INT` (a 4,300-digit or 10^400
                                                   integer never becomes a Python int)
float literal overflow     ``number_out_of_range`` ``1e400`` (would become infinity)
NaN / Infinity             ``non_finite_number``   finite numbers only
control / invisible chars  ``forbidden_character`` NUL, C0/C1 controls (tab, CR, LF allowed in
                                                   values, not in keys), zero-width and bidi
                                                   controls, BOM, non-characters
lone surrogate             ``lone_surrogate``      ``"\\ud800"``
not NFC                    ``not_nfc``             strings in Unicode normalisation form C
timestamps                 ``implausible_time``    not before :data:`EARLIEST`; not after the
                                                   platform's *now* plus :data:`FUTURE_TOLERANCE`
bad UTF-8                  ``invalid_utf8``        names the line
=========================  ======================  ============================================

Pure: no clock is read here; the ingest passes its *now* to :func:`check_moment`.
"""

from __future__ import annotations

import json
import math
import re
import unicodedata
from datetime import UTC, datetime, timedelta
from typing import Any

from battrace.errors import (
    EventTooLarge,
    ForbiddenCharacter,
    ImplausibleTime,
    InvalidEvent,
    InvalidUtf8,
    LoneSurrogate,
    NestingTooDeep,
    NonFiniteNumber,
    NotNormalized,
    NumberOutOfRange,
)

#: Levels of objects and arrays in one event, the event object itself being level 1.
MAX_DEPTH = 32
#: Bytes of one event's canonical JSON (UTF-8); a 20 MB ``data`` is refused, not served to everyone.
MAX_EVENT_BYTES = 64 * 1024
#: Integers beyond a signed 64-bit value are refused (no 10^400, no 4,300-digit integers).
MAX_INT = 2**63 - 1
_MAX_INT_DIGITS = len(str(MAX_INT))
#: The earliest plausible moment for anything an event reports (the traced industry is younger).
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
#: How far ahead of the platform's clock a reported moment may lie (clock skew).
FUTURE_TOLERANCE = timedelta(minutes=5)

#: Characters no reported string may hold: C0/C1 controls other than tab, LF and CR (and DEL),
#: soft hyphen, Arabic letter mark, Mongolian vowel separator, zero-width and bidi controls, word
#: joiners and invisible operators, BOM, interlinear annotation controls, non-characters, and
#: UTF-16 surrogates (a lone ``\\ud800`` escape decodes to one).
_FORBIDDEN = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u00ad\u061c\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064"
    "\u2066-\u206f\ufeff\ufff9-\ufffb\ufffe\uffff\ud800-\udfff]"
)
_KEY_FORBIDDEN = re.compile("[\t\n\r]")
#: Structural tokens of JSON text: a whole string (escapes included) or a bracket.
_TOKENS = re.compile(r'"(?:[^"\\]++|\\.)*+"|[\[\]{}]', re.DOTALL)
_ARRAY_TOKENS = re.compile(r'"(?:[^"\\]++|\\.)*+"|[\[\]{},]', re.DOTALL)


class Unusable:
    """Put by :func:`loads` where a number cannot be taken (so that one bad number in an array of
    events refuses only its own event); :func:`check_raw` raises its error with the field's path."""

    __slots__ = ("error", "text")

    def __init__(self, error: type[InvalidEvent], text: str) -> None:
        self.error = error
        self.text = text

    def __repr__(self) -> str:
        return self.text if len(self.text) <= 40 else f"{self.text[:20]}...({len(self.text)} characters)"


def _int(text: str) -> int | Unusable:
    digits = len(text) - (text[0] == "-")
    if digits > _MAX_INT_DIGITS:
        return Unusable(NumberOutOfRange, text)
    value = int(text)
    return value if -MAX_INT <= value <= MAX_INT else Unusable(NumberOutOfRange, text)


def _float(text: str) -> float | Unusable:
    value = float(text)
    return value if math.isfinite(value) else Unusable(NumberOutOfRange, text)


def _constant(text: str) -> Unusable:
    return Unusable(NonFiniteNumber, text)


_DECODER = json.JSONDecoder(parse_int=_int, parse_float=_float, parse_constant=_constant)


def depth_of(text: str) -> int:
    """The deepest nesting of arrays and objects in JSON ``text`` (strings skipped), without
    recursion: what :func:`loads` checks before ``json`` would recurse into it."""
    depth = deepest = 0
    for match in _TOKENS.finditer(text):
        token = match.group()
        if token in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif token in "]}":
            depth -= 1
    return deepest


def loads(text: str, *, line: int | None = None, max_depth: int = MAX_DEPTH) -> Any:
    """Decode one JSON text within the limits; raise only :class:`~battrace.errors.BattraceError`.

    Numbers out of range and ``NaN``/``Infinity`` decode to :class:`Unusable` markers (refused by
    :func:`check_raw` with the field's path), so a JSON array of events keeps its other events.
    """
    where = f"line {line}: " if line is not None else ""
    if text.count("[") + text.count("{") > max_depth and depth_of(text) > max_depth:
        raise NestingTooDeep(f"{where}JSON nested deeper than {max_depth} levels", line=line, limit=max_depth)
    try:
        return _DECODER.decode(text)
    except json.JSONDecodeError as exc:
        position = f"column {exc.colno}" if line is not None else f"line {exc.lineno}, column {exc.colno}"
        raise InvalidEvent(f"{where}not valid JSON: {exc.msg} ({position})", line=line if line is not None
                           else exc.lineno, json_error=exc.msg, column=exc.colno) from None
    except RecursionError:  # pragma: no cover - the depth check above comes first
        raise NestingTooDeep(f"{where}JSON nested too deep", line=line, limit=max_depth) from None


def split_array(text: str) -> list[tuple[int, str]] | None:
    """The elements of a top-level JSON array as ``(index from 1, text)``, found by a scan that
    does not recurse (so each element is decoded, and refused, on its own); None when ``text`` is
    not a well-formed array at the top level."""
    stripped = text.strip()
    if not stripped.startswith("[") or not stripped.endswith("]"):
        return None
    elements: list[tuple[int, str]] = []
    depth = 0
    start = 1
    for match in _ARRAY_TOKENS.finditer(stripped):
        token = match.group()
        if token in "[{":
            depth += 1
        elif token in "]}":
            depth -= 1
            if depth == 0:
                if match.end() != len(stripped):
                    return None
                piece = stripped[start : match.start()]
                if piece.strip() or elements:
                    elements.append((len(elements) + 1, piece))
                return elements
            if depth < 0:
                return None
        elif token == "," and depth == 1:
            elements.append((len(elements) + 1, stripped[start : match.start()]))
            start = match.end()
    return None


def decode_utf8(data: bytes, *, line: int | None = None) -> str:
    """UTF-8 text (a BOM at the start is dropped); :class:`~battrace.errors.InvalidUtf8` names the
    line (counted in ``data`` when ``line`` is not given) and the byte."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        at = line if line is not None else data.count(b"\n", 0, exc.start) + 1
        raise InvalidUtf8(f"line {at} is not UTF-8 (byte 0x{data[exc.start]:02x})", line=at) from None


def _path(path: tuple[Any, ...]) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(event)"


def check_text(value: str, path: tuple[Any, ...] = (), *, key: bool = False) -> None:
    """Refuse control, invisible and surrogate characters and text that is not NFC."""
    bad = _FORBIDDEN.search(value) or (_KEY_FORBIDDEN.search(value) if key else None)
    if bad is not None:
        char = bad.group()
        where = _path(path) + (" (a key)" if key else "")
        if "\ud800" <= char <= "\udfff":
            raise LoneSurrogate(f"field {where!s} holds a lone surrogate U+{ord(char):04X}", field=_path(path),
                                character=f"U+{ord(char):04X}")
        raise ForbiddenCharacter(
            f"field {where!s} holds the control or invisible character U+{ord(char):04X} at position {bad.start()}",
            field=_path(path), character=f"U+{ord(char):04X}", position=bad.start(),
        )
    if not value.isascii() and not unicodedata.is_normalized("NFC", value):
        raise NotNormalized(f"field {_path(path)!s} is not in Unicode normalisation form C (NFC)", field=_path(path))


def check_raw(raw: Any) -> None:
    """Walk a decoded event (without recursion) and refuse what no field may hold: nesting deeper than
    :data:`MAX_DEPTH`, numbers out of range or not finite, forbidden characters, text not in NFC.

    A quick pass (no paths kept: it runs for every event ingested) finds whether anything is wrong;
    only then does the thorough pass find the first offending field and name it."""
    if not _quick_ok(raw):
        _thorough(raw)


def _quick_ok(raw: Any) -> bool:
    """Whether ``raw`` is within every limit. The texts (keys, values) are checked joined by spaces, in
    two regular-expression searches and one NFC test: a space matches no forbidden character and, a
    starter, blocks composition across the joins, so the joined text passes exactly when each does."""
    stack: list[tuple[Any, int]] = [(raw, 1)]
    keys: list[Any] = []
    texts: list[str] = []
    while stack:
        node, depth = stack.pop()
        if depth > MAX_DEPTH:
            return False
        if type(node) is dict:
            keys.extend(node)
            children: Any = node.values()
        else:
            children = node
        for v in children:
            kind = type(v)
            if kind is str:
                texts.append(v)
            elif kind is int:
                if not -MAX_INT <= v <= MAX_INT:
                    return False
            elif kind is float:
                if not math.isfinite(v):
                    return False
            elif kind is dict or kind is list:
                stack.append((v, depth + 1))
            elif v is not None and kind is not bool:
                return False
    try:
        key_text = " ".join(keys)
    except TypeError:  # a key that is not a string
        return False
    if _KEY_FORBIDDEN.search(key_text) is not None:
        return False
    text = key_text + " " + " ".join(texts)
    if _FORBIDDEN.search(text) is not None:
        return False
    return text.isascii() or unicodedata.is_normalized("NFC", text)


def _thorough(raw: Any) -> None:
    stack: list[tuple[Any, tuple[Any, ...], int]] = [(raw, (), 1)]
    while stack:
        value, path, depth = stack.pop()
        kind = type(value)
        if kind is str:
            check_text(value, path)
        elif kind is dict:
            if depth > MAX_DEPTH:
                raise NestingTooDeep(f"field {_path(path)} is nested deeper than {MAX_DEPTH} levels",
                                     field=_path(path), limit=MAX_DEPTH)
            for k, v in value.items():
                if type(k) is not str:
                    raise InvalidEvent(f"field {_path(path)} has a key that is not a string", field=_path(path))
                check_text(k, (*path, k), key=True)
                stack.append((v, (*path, k), depth + 1))
        elif kind is list:
            if depth > MAX_DEPTH:
                raise NestingTooDeep(f"field {_path(path)} is nested deeper than {MAX_DEPTH} levels",
                                     field=_path(path), limit=MAX_DEPTH)
            stack.extend((v, (*path, i), depth + 1) for i, v in enumerate(value))
        elif kind is int:
            if not -MAX_INT <= value <= MAX_INT:
                raise NumberOutOfRange(f"field {_path(path)} is beyond ±(2^63-1)", field=_path(path))
        elif kind is float:
            if not math.isfinite(value):
                raise NonFiniteNumber(f"field {_path(path)} is {value}; numbers must be finite", field=_path(path))
        elif kind is Unusable:
            what = "is not a finite number" if value.error is NonFiniteNumber else "is a number out of range"
            raise value.error(f"field {_path(path)} {what} ({value!r})", field=_path(path), value=repr(value))
        elif value is None or kind is bool:
            pass
        else:
            raise InvalidEvent(f"field {_path(path)} is not a JSON value ({kind.__name__})", field=_path(path))


def check_size(canonical: str, event_type: str | None = None) -> None:
    """Refuse an event whose canonical JSON exceeds :data:`MAX_EVENT_BYTES`."""
    if len(canonical) * 4 <= MAX_EVENT_BYTES:  # fast path: even all 4-byte characters would fit
        return
    size = len(canonical.encode("utf-8", "surrogatepass"))
    if size > MAX_EVENT_BYTES:
        prefix = f"{event_type}: " if event_type else ""
        raise EventTooLarge(f"{prefix}event is {size} bytes; at most {MAX_EVENT_BYTES} bytes of JSON",
                            size=size, limit=MAX_EVENT_BYTES)


def check_moment(moment: datetime, field: str, *, now: datetime | None = None, event_type: str | None = None,
                 text: str | None = None) -> None:
    """Refuse a moment before :data:`EARLIEST` or (given the platform's ``now``) after
    ``now`` + :data:`FUTURE_TOLERANCE`."""
    prefix = f"{event_type}: " if event_type else ""
    shown = text if text is not None else moment.isoformat()
    if moment < EARLIEST:
        raise ImplausibleTime(f"{prefix}field {field!r} is {shown}, before {EARLIEST.year}", field=field,
                              value=shown)
    if now is not None and moment > now + FUTURE_TOLERANCE:
        raise ImplausibleTime(f"{prefix}field {field!r} is {shown}, ahead of the platform's clock", field=field,
                              value=shown)

