"""The JSON text of read-model documents (``batteries.doc``, ``vehicles.doc``, ``techinfo.doc``).

A document is the canonical JSON of a state (sorted keys, no spaces, UTF-8 text), exactly the text
:func:`battrace.domain.events.canonical_json` gives, so that ``verify`` can compare it with the
fold of the log byte for byte, whichever wrote it. The ingest writes one document per changed
battery per batch, so it is encoded here with ``msgspec`` (a state dataclass directly, its fields in
sorted order: about six times faster than ``json`` with ``sort_keys`` on a dict made from it).

``msgspec`` and ``json`` write the same text for every JSON value except floats in exponent form
(``1e-07`` against ``1e-7``, ``1e+16`` against ``1e16``), below 10^-4 (``1e-05`` against
``0.00001``) and not finite (``NaN`` against ``null``): a document holding such a float, or
anything msgspec cannot encode, is encoded with ``json`` instead. The check looks only at the
fields whose type can hold a float (a state's numbers and its ``health`` object).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict, fields, is_dataclass
from operator import attrgetter
from typing import Any

import msgspec

from battrace.domain.events import canonical_json

_ENCODER = msgspec.json.Encoder(order="sorted")
_DECODER = msgspec.json.Decoder()
#: Per dataclass, a getter of the fields whose type can hold a float (directly or nested).
_NUMERIC: dict[type, Callable[[Any], tuple[Any, ...]] | None] = {}


def document_json(obj: Any) -> str:
    """Canonical JSON of a read-model document: a dict, or a state dataclass (as its fields)."""
    if not _plain(obj):
        return canonical_json(_as_dict(obj))
    try:
        return _ENCODER.encode(obj).decode("utf-8")
    except (TypeError, ValueError, OverflowError):  # what msgspec cannot encode: json says why
        return canonical_json(_as_dict(obj))


def _plain(obj: Any) -> bool:
    """Whether every float in ``obj`` has the same text in msgspec and json."""
    kind = type(obj)
    if kind is dict:
        return _plain_value(obj)
    getter = _NUMERIC.get(kind, _NUMERIC)
    if getter is _NUMERIC:
        getter = _NUMERIC[kind] = _numeric_getter(kind)
    if getter is None:
        return True
    for v in getter(obj):  # type: ignore[operator]
        if v is None:
            continue
        if type(v) is float:
            if not (v == 0.0 or 1e-4 <= abs(v) < 1e16):
                return False
        elif not _plain_value(v):
            return False
    return True


def _plain_value(v: Any) -> bool:
    kind = type(v)
    if kind is float:
        return v == 0.0 or 1e-4 <= abs(v) < 1e16
    if kind is dict:
        v = v.values()
    elif kind is not list and kind is not tuple:
        return True
    for x in v:
        if type(x) is float:
            if not (x == 0.0 or 1e-4 <= abs(x) < 1e16):
                return False
        elif x is not None and type(x) is not str and not _plain_value(x):
            return False
    return True


def _numeric_getter(kind: type) -> Callable[[Any], tuple[Any, ...]] | None:
    if not is_dataclass(kind):
        return lambda obj: (obj,)  # anything else: looked at whole
    names = [f.name for f in fields(kind)
             if not isinstance(f.type, str) or any(t in f.type for t in ("float", "dict", "list", "Any", "object"))]
    if not names:
        return None
    getter = attrgetter(*names)
    return (lambda obj: (getter(obj),)) if len(names) == 1 else getter
def _as_dict(obj: Any) -> Any:
    if is_dataclass(obj) and not isinstance(obj, type):
        as_dict = getattr(obj, "as_dict", None)
        return as_dict() if as_dict is not None else asdict(obj)
    return obj


def document_loads(text: str | bytes) -> Any:
    """A stored document as Python values (what ``json.loads`` gives: ints stay ints)."""
    try:
        return _DECODER.decode(text)
    except msgspec.DecodeError:  # text msgspec refuses (``NaN``, an integer beyond 64 bits): json's reading
        return json.loads(text)
