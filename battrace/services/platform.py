"""The central application object that the CLI, the API, the web pages and the tests all build."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from battrace import clock
from battrace.config import Settings
from battrace.domain.rules.config import RulesConfig
from battrace.services.compliance import ComplianceEngine
from battrace.services.ledger import Ledger, Observer
from battrace.storage.store import Store


class Platform:
    """One database, one ledger (with its observers), the settings."""

    def __init__(self, settings: Settings, *, now: Callable[[], datetime] = clock.now) -> None:
        self.settings = settings
        self.now = now
        self.store = Store(settings.database_url)
        self.observers: list[Observer] = []
        self.ledger = Ledger(self.store, observers=self.observers, now=now)
        self.rules = RulesConfig.from_settings(settings)
        if settings.rules:
            self.observers.append(ComplianceEngine(self.rules))
            from battrace.services.webhooks import FindingNotifier

            self.observers.append(FindingNotifier())  # webhooks for new findings (issue 15)

    @classmethod
    def open(cls, database_url: str | None = None) -> Platform:
        return cls(Settings.from_env(database_url))

    def close(self) -> None:
        self.store.close()
