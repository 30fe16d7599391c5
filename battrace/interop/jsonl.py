"""JSON Lines, the bulk reporting format: one event object a line."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from battrace.errors import InvalidEvent


def read_jsonl(path: Path) -> Iterator[tuple[int, Any]]:
    """``(line number, object)`` pairs; a line that is not JSON yields an error in its place.

    Streams the file, so memory stays flat whatever its size; blank lines are skipped.
    """
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            if not line.strip():
                continue
            try:
                yield number, json.loads(line)
            except json.JSONDecodeError as exc:
                yield number, InvalidEvent(f"line {number} is not valid JSON: {exc.msg} (column {exc.colno})",
                                           line=number)
