"""Builds the lines of the hostile-input corpus (``corpus/events.json``) around valid neighbours."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests import story as s

CORPUS = Path(__file__).parent / "corpus" / "events.json"
WHEN = "2026-05-01T09:30:00+08:00"


@dataclass(frozen=True)
class Case:
    name: str
    expect: str  # "accepted" or the rejection code
    line: bytes  # the case as one line of JSON Lines
    http_expect: str


def produced(serial: int, event_id: str) -> dict[str, Any]:
    return {"event_id": event_id, "type": "battery.produced", "occurred_at": WHEN, "reporter": s.BATTERY_MAKER,
            "battery": s.code("P", serial), **s.FIG}


def _dump(obj: Any) -> str:
    return json.dumps(obj, ensure_ascii=False)


def _with_raw(event: dict[str, Any], raw: dict[str, str]) -> str:
    """The event's JSON text with some fields given as raw JSON text."""
    plain = {k: v for k, v in event.items() if k not in raw}
    text = _dump(plain)[:-1]
    return text + "".join(f', {_dump(k)}: {v}' for k, v in raw.items()) + "}"


def build(spec: dict[str, Any], serial: int, event_id: str) -> bytes:
    if "line" in spec:
        return str(spec["line"]).encode()
    event = produced(serial, event_id)
    for key, value in (spec.get("set") or {}).items():
        if value is None:
            event.pop(key, None)
        else:
            event[key] = value
    if "data" in spec:
        event["data"] = spec["data"]
    raw: dict[str, str] = dict(spec.get("set_text") or {})
    if "data_text" in spec:
        raw["data"] = spec["data_text"]
    if "nest" in spec:
        n = int(spec["nest"])
        raw["data"] = '{"a":' * n + "1" + "}" * n
    if "data_int_digits" in spec:
        raw["data"] = '{"x": 1' + "0" * (int(spec["data_int_digits"]) - 1) + "}"
    if "field_int_digits" in spec:
        field, digits = spec["field_int_digits"]
        raw[field] = "1" + "0" * (int(digits) - 1)
    if "big_data_kb" in spec or "big_data_mb" in spec:
        size = int(spec.get("big_data_kb", 0)) * 1024 + int(spec.get("big_data_mb", 0)) * 1024 * 1024
        event["data"] = {"blob": "x" * size}
    line = _with_raw(event, raw).encode()
    if spec.get("utf8_break"):
        line = line.replace(event_id.encode(), event_id.encode() + b"\xff", 1)
    return line


def cases() -> list[Case]:
    specs = json.loads(CORPUS.read_text(encoding="utf-8"))["cases"]
    out = []
    for i, spec in enumerate(specs):
        line = build(spec, 5000 + 3 * i, f"fuzz-{i:03d}")
        out.append(Case(spec["name"], spec["expect"], line, spec.get("http_expect", spec["expect"])))
    return out


def neighbours(i: int) -> tuple[bytes, bytes]:
    """Valid events reported just before and after case ``i``."""
    return (_dump(produced(5001 + 3 * i, f"fuzz-{i:03d}-before")).encode(),
            _dump(produced(5002 + 3 * i, f"fuzz-{i:03d}-after")).encode())


def jsonl() -> bytes:
    """Every case between its valid neighbours: case ``i`` is on line ``3 i + 2``."""
    lines: list[bytes] = []
    for i, case in enumerate(cases()):
        before, after = neighbours(i)
        lines += [before, case.line, after]
    return b"\n".join(lines) + b"\n"
