"""JSON Lines, the bulk reporting format: one event object a line; and JSON arrays of events.

Every reader here hands the ledger ``(line, object)`` pairs in which an object that cannot be had
(bad UTF-8, not JSON, nested too deep, too large) is replaced by its error, so that the ledger
reports it on its line and the rest of the file goes on. Decoding goes through
:func:`battrace.domain.limits.loads` (numbers out of range and ``NaN`` become markers that the
event's own validation refuses, naming the field).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from battrace.domain.limits import MAX_DEPTH, MAX_EVENT_BYTES, decode_utf8, loads, split_array
from battrace.errors import BattraceError, EventTooLarge, ValidationError

#: Bytes of one line of text beyond which it is refused unread (its canonical JSON can be up to
#: about six times smaller: ``\\u4e2d`` escapes, spaces).
MAX_LINE_BYTES = 8 * MAX_EVENT_BYTES


def decode_line(number: int, data: bytes) -> Any:
    """One line of JSON Lines: the object, or the error that stands in for it."""
    if len(data) > MAX_LINE_BYTES:
        return EventTooLarge(f"line {number} is {len(data)} bytes; an event may have at most {MAX_EVENT_BYTES}",
                             line=number, size=len(data), limit=MAX_EVENT_BYTES)
    try:
        return loads(decode_utf8(data, line=number), line=number)
    except BattraceError as exc:
        return exc


def decode_lines(lines: Iterable[bytes]) -> Iterator[tuple[int, Any]]:
    """``(line number, object or error)`` for each non-blank line."""
    for number, raw in enumerate(lines, 1):
        if number == 1 and raw.startswith(b"\xef\xbb\xbf"):
            raw = raw[3:]
        if not raw.strip():
            continue
        yield number, decode_line(number, raw)


def read_jsonl(path: Path) -> Iterator[tuple[int, Any]]:
    """``(line number, object)`` pairs; a line that cannot be read yields its error in its place.

    Streams the file, so memory stays flat whatever its size; blank lines are skipped.
    """
    with path.open("rb") as handle:
        yield from decode_lines(handle)


def split_lines(data: bytes) -> list[bytes]:
    """Lines of JSON Lines text (only ``\\n`` ends a line, as in the format; a ``\\r`` before it goes)."""
    return [line[:-1] if line.endswith(b"\r") else line for line in data.split(b"\n")]


def decode_document(data: bytes) -> list[tuple[int, Any]]:
    """A JSON body: one event object, or an array of events each decoded on its own (so that one
    element nested too deep or out of range is refused alone; ``line`` is its index from 1).
    A body that is not JSON at all, or not UTF-8, is refused as a whole, naming the line."""
    text = decode_utf8(data)
    elements = split_array(text)
    if elements is not None:
        items: list[tuple[int, Any]] = []
        for index, piece in elements:
            if len(piece) > MAX_LINE_BYTES:
                items.append((index, EventTooLarge(f"event {index} is larger than {MAX_EVENT_BYTES} bytes",
                                                   line=index, limit=MAX_EVENT_BYTES)))
                continue
            try:
                items.append((index, loads(piece, line=index)))
            except BattraceError as exc:
                items.append((index, exc))
        return items
    try:
        parsed = loads(text, max_depth=1_000_000 if text.lstrip().startswith("[") else MAX_DEPTH)
    except BattraceError as exc:
        if exc.code != "invalid_event":  # one event, refused for what it holds: reported on its line
            return [(1, exc)]
        raise ValidationError(f"the body is not valid JSON: {exc.message}", **exc.context) from None
    if isinstance(parsed, dict):
        return [(1, parsed)]
    raise ValidationError("the body must be an event object, an array of events, or JSON Lines")
