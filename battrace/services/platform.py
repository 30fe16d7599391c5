"""The central application object that the CLI, the API, the web pages and the tests all build."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING

from battrace import clock
from battrace.config import Settings
from battrace.domain.rules.config import RulesConfig
from battrace.services.compliance import ComplianceEngine
from battrace.services.guard import Guard
from battrace.services.ledger import Ledger, Observer
from battrace.storage.store import Store

if TYPE_CHECKING:
    from battrace.services.telemetry import TelemetryService


class Platform:
    """One database (and perhaps a read replica), one ledger (with its observers), the guard, the
    telemetry service, the settings."""

    def __init__(self, settings: Settings, *, now: Callable[[], datetime] = clock.now) -> None:
        self.settings = settings
        self.now = now
        self.store = Store(settings.database_url)
        #: Where the read-only routes read: a replica when ``read_database_url`` is set, else the primary.
        self.read_store = Store(settings.read_database_url, migrate=False) if settings.read_database_url else self.store
        self.observers: list[Observer] = []
        self.ledger = Ledger(self.store, observers=self.observers, now=now)
        self.rules = RulesConfig.from_settings(settings)
        #: The one guarded read path (tier, audit, refusal) that routes and pages call.
        self.guard = Guard(self.store, now)
        self._telemetry: TelemetryService | None = None
        self._telemetry_lock = threading.Lock()
        if settings.rules:
            self.observers.append(ComplianceEngine(self.rules))
            from battrace.services.webhooks import FindingNotifier

            self.observers.append(FindingNotifier())  # webhooks for new findings (issue 15)

    @property
    def telemetry(self) -> TelemetryService:
        """The platform's one telemetry service (and so its one early-warning monitor), made on first use."""
        from battrace.services.telemetry import TelemetryService  # telemetry is optional for most callers

        with self._telemetry_lock:
            if self._telemetry is None:
                self._telemetry = TelemetryService(self.store, now=self.now)
            return self._telemetry

    @classmethod
    def open(cls, database_url: str | None = None) -> Platform:
        return cls(Settings.from_env(database_url))

    def close(self) -> None:
        self.store.close()
        if self.read_store is not self.store:
            self.read_store.close()
