"""Reporter stamping: one behaviour for every face that takes events from an organisation's key.

The reporter of an event is always the key's organisation. An event that names another reporter is
refused **on its own line** (``forbidden``, 403 as its code; the rest of the batch or file goes on),
an event without a reporter gets the key's organisation, and ``recorded_at`` is dropped (the platform
records it). Used by ``POST /api/v1/events`` and the web console's upload alike.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from battrace.errors import BattraceError, Forbidden


def refusal_message(line: int | None, named: Any, org: str) -> str:
    """The English refusal of an event naming ``named`` instead of ``org``."""
    return (f"event on line {line} names reporter {named!r}; the reporter is always the key's organisation "
            f"({org})")


def stamp_reporter(
    items: Iterable[tuple[int | None, Any]], org: str,
    message: Callable[[int | None, Any, str], str] = refusal_message,
) -> list[tuple[int | None, Any]]:
    """``(line, event)`` pairs with ``org`` as the reporter; a line naming another reporter becomes a
    :class:`Forbidden` for the ledger to report on that line (``message`` words it)."""
    out: list[tuple[int | None, Any]] = []
    for line, raw in items:
        if isinstance(raw, dict) and not isinstance(raw, BattraceError):
            named = raw.get("reporter")
            if named not in (None, "", org):
                raw = Forbidden(message(line, named, org), line=line, reporter=named)
            else:
                raw = {k: v for k, v in raw.items() if k != "recorded_at"} | {"reporter": org}
        out.append((line, raw))
    return out
