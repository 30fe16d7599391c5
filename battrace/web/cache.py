"""A small memo for page data that is expensive to compute and changes only with the data.

Entries are keyed by what was asked (a scope) and stored with the data's version (see
:func:`battrace.services.oversight.data_version`): a new event or finding changes the version, so a
stale entry is never served; ``ttl`` bounds how long an entry lives anyway. Thread-safe (pages run
in the server's thread pool); two requests that miss at once may both compute, which is harmless.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

from fastapi import Request

T = TypeVar("T")


class VersionedCache:
    def __init__(self, *, size: int = 64, ttl: float = 600.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.size = size
        self.ttl = ttl
        self.clock = clock
        self._items: OrderedDict[Hashable, tuple[Hashable, float, Any]] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = self.misses = 0

    def get(self, key: Hashable, version: Hashable, compute: Callable[[], T]) -> T:
        now = self.clock()
        with self._lock:
            entry = self._items.get(key)
            if entry is not None and entry[0] == version and now - entry[1] < self.ttl:
                self._items.move_to_end(key)
                self.hits += 1
                value: T = entry[2]
                return value
            self.misses += 1
        value = compute()
        with self._lock:
            self._items[key] = (version, now, value)
            self._items.move_to_end(key)
            while len(self._items) > self.size:
                self._items.popitem(last=False)
        return value


def cache_of(request: Request) -> VersionedCache:
    """The application's page-data cache (made by :func:`battrace.web.app.mount_web`)."""
    cache: VersionedCache = request.app.state.web_cache
    return cache
