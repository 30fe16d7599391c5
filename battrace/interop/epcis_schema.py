"""Validation against the official GS1 EPCIS 2.0 JSON schema shipped in ``data/epcis/``.

The schema uses the ``uri`` and ``date-time`` formats. ``jsonschema`` checks them only with optional
packages we do not depend on, so this module registers two small checkers of its own: a URI must
start with an RFC 3986 scheme (``scheme:``) and contain no whitespace; a date-time must be RFC 3339
(``2026-05-06T09:30:00+08:00``, fractional seconds optional, ``Z`` or an offset).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from functools import lru_cache
from importlib import resources
from typing import Any

from jsonschema import Draft7Validator, FormatChecker
from jsonschema import ValidationError as SchemaError

_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*:[^\s]*$")
_RFC3339 = re.compile(
    r"^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$"
)


def is_uri(value: object) -> bool:
    return not isinstance(value, str) or bool(_SCHEME.match(value))


def is_datetime(value: object) -> bool:
    if not isinstance(value, str):
        return True
    if not _RFC3339.match(value):
        return False
    from datetime import datetime

    try:
        datetime.fromisoformat(value.replace("z", "Z").replace("t", "T"))
    except ValueError:
        return False
    return True


def _format_checker() -> FormatChecker:
    checker = FormatChecker(formats=())
    checker.checks("uri")(is_uri)
    checker.checks("date-time")(is_datetime)
    return checker


@lru_cache(maxsize=1)
def epcis_schema() -> dict[str, Any]:
    """The official EPCIS 2.0 JSON schema (inlined single file)."""
    text = resources.files("battrace.interop.data.epcis").joinpath("EPCIS-JSON-Schema.json").read_text("utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema


@lru_cache(maxsize=1)
def _validator() -> Draft7Validator:
    return Draft7Validator(epcis_schema(), format_checker=_format_checker())


def schema_errors(document: Any) -> Iterator[SchemaError]:
    """Every schema violation of an EPCIS document or stand-alone event, most specific first."""
    errors = sorted(_validator().iter_errors(document), key=lambda e: (-len(e.absolute_path), str(e.message)))
    yield from errors


def first_schema_error(document: Any) -> SchemaError | None:
    """The deepest schema violation (the most precise one to report), or ``None``."""
    best: SchemaError | None = None
    for error in _validator().iter_errors(document):
        for leaf in _leaves(error):
            if best is None or len(leaf.absolute_path) > len(best.absolute_path):
                best = leaf
    return best


def _leaves(error: SchemaError) -> Iterator[SchemaError]:
    if error.context:
        for sub in error.context:
            yield from _leaves(sub)
    else:
        yield error


def is_valid(document: Any) -> bool:
    return _validator().is_valid(document)
