"""Upcasters: stored events of an older schema version brought to today's shape when the log is read.

Each stored event carries the schema version its content was written in (``events.schema_version``,
from :data:`battrace.domain.events.EVENT_VERSIONS` at the time). When an event type's content
changes shape, its version in ``EVENT_VERSIONS`` is raised and an upcaster is registered from the
old version: a pure function from the old content (a dict) to the content of the next version::

    @upcaster("battery.tested", 1)
    def _soh_as_fraction(content):
        return {**{k: v for k, v in content.items() if k != "soh_percent"}, "soh": content["soh_percent"] / 100}

Reading the log (:func:`stored_event`) applies the chain ``v -> v+1 -> ... -> current``; the stored
body (which the hash covers) is never rewritten. Today every type is at version 1 and no upcaster
is registered.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

from battrace.domain.events import EVENT_VERSIONS, Event, load_event
from battrace.errors import InvalidEvent

Upcaster = Callable[[dict[str, Any]], dict[str, Any]]
#: ``(event type, from version) -> function(content) -> content of version + 1``.
UPCASTERS: dict[tuple[str, int], Upcaster] = {}


def upcaster(event_type: str, from_version: int) -> Callable[[Upcaster], Upcaster]:
    """Register ``function`` as the upcaster of ``event_type`` from ``from_version`` to the next."""

    def register(function: Upcaster) -> Upcaster:
        key = (event_type, from_version)
        if key in UPCASTERS:
            raise ValueError(f"an upcaster of {event_type} from version {from_version} is already registered")
        UPCASTERS[key] = function
        return function

    return register


def check_version(event_type: str, version: int, *, versions: Mapping[str, int] | None = None,
                  upcasters: Mapping[tuple[str, int], Upcaster] | None = None) -> None:
    """Refuse a stored version that no upcaster chain brings to today's (newer than today's, below 1,
    or with a step missing), naming it."""
    current = (versions or EVENT_VERSIONS).get(event_type)
    chain = UPCASTERS if upcasters is None else upcasters
    if current is None:
        raise InvalidEvent(f"stored event of unknown type {event_type!r}", field="type", value=event_type)
    if not 1 <= version <= current:
        raise InvalidEvent(f"{event_type}: stored schema version {version} is not between 1 and today's {current}",
                           field="schema_version", value=version)
    missing = [v for v in range(version, current) if (event_type, v) not in chain]
    if missing:
        raise InvalidEvent(f"{event_type}: no upcaster from schema version {missing[0]} "
                           f"(stored at {version}, today {current})", field="schema_version", value=version)


def upcast(event_type: str, version: int, content: dict[str, Any]) -> dict[str, Any]:
    """``content`` stored at ``version``, brought to today's version of its type."""
    check_version(event_type, version)
    for step in range(version, EVENT_VERSIONS[event_type]):
        content = UPCASTERS[(event_type, step)](content)
    return content


def stored_event(event_type: str, version: int, body: str) -> Event:
    """The event of a stored row (its ``type``, ``schema_version`` and ``body``), upcast and trusted."""
    try:
        content = json.loads(body)
    except (ValueError, RecursionError) as exc:
        raise InvalidEvent(f"a stored event body is not JSON ({exc})") from None
    if not isinstance(content, dict):
        raise InvalidEvent("a stored event body is not a JSON object")
    current = EVENT_VERSIONS.get(event_type)
    if version == current:
        return load_event(content, body)
    return load_event(upcast(event_type, version, content))
