"""Settings, read from the environment (``BATTRACE_*``) with documented defaults."""

from __future__ import annotations

import os
from dataclasses import dataclass

DEFAULT_DATABASE_URL = "sqlite:///battrace.db"
#: Every setting: its environment variable → the :class:`Settings` field it sets. Every setting is
#: read here and nowhere else, and documented in the README (tests/test_settings.py checks both).
ENVIRONMENT = {
    "BATTRACE_DATABASE_URL": "database_url",
    "BATTRACE_REGIME": "regime",
    "BATTRACE_IDLE_LIMIT_DAYS": "idle_limit_days",
    "BATTRACE_BATCH_LIMIT": "batch_limit",
    "BATTRACE_RULES": "rules",
    "BATTRACE_REQUIRE_HAZARDOUS_WASTE_LICENSE": "require_hazardous_waste_license",
    "BATTRACE_PUBLIC_BASE_URL": "public_base_url",
    "BATTRACE_READ_DATABASE_URL": "read_database_url",
    "BATTRACE_LOG_FORMAT": "log_format",
    "BATTRACE_LOG_LEVEL": "log_level",
    "BATTRACE_ANCHOR_KEY": "anchor_key",
    "BATTRACE_ANCHOR_PUBLIC_KEY": "anchor_public_key",
    "BATTRACE_PROGRESS_INTERVAL": "progress_interval",
}


def database_url(explicit: str | None = None) -> str:
    """The database URL: an explicit value, else ``BATTRACE_DATABASE_URL``, else a local SQLite file."""
    return explicit or os.environ.get("BATTRACE_DATABASE_URL") or DEFAULT_DATABASE_URL


@dataclass(frozen=True)
class Settings:
    database_url: str = DEFAULT_DATABASE_URL
    #: None: the regime in force when each duty arose (CN-2018 before 2026-04-01, CN-2026 after);
    #: ``BATTRACE_REGIME`` forces one.
    regime: str | None = None
    idle_limit_days: int = 90
    batch_limit: int = 10_000
    #: Run the compliance engine as events are stored (off only for benchmarks and bulk loads).
    rules: bool = True
    #: Whether utilisation companies also need a hazardous-waste licence to take waste batteries (R02).
    require_hazardous_waste_license: bool = False
    #: The public base URL printed in QR codes and labels (``{base}/b/{code}``); ``None``: the API and
    #: pages use the URL the request came to, the CLI asks for ``--base-url``.
    public_base_url: str | None = None
    #: A read-only replica (a PostgreSQL streaming standby) for the read-only routes; None: the primary.
    read_database_url: str | None = None
    #: Log lines: ``json`` (one JSON object a line, with a request id) or ``console`` (for people).
    log_format: str = "json"
    log_level: str = "info"
    #: The platform's Ed25519 private key (PEM file) that ``battrace anchor`` signs with.
    anchor_key: str | None = None
    #: The platform's public key (PEM file) that ``battrace verify --anchor`` checks signatures against.
    anchor_public_key: str | None = None
    #: Seconds between plain progress lines when the output is not a terminal.
    progress_interval: float = 5.0

    @classmethod
    def from_env(cls, db: str | None = None) -> Settings:
        return cls(
            database_url=database_url(db),
            regime=os.environ.get("BATTRACE_REGIME") or None,
            idle_limit_days=_int("BATTRACE_IDLE_LIMIT_DAYS", 90),
            batch_limit=_int("BATTRACE_BATCH_LIMIT", 10_000),
            rules=_flag(os.environ.get("BATTRACE_RULES", "1")),
            require_hazardous_waste_license=_flag(os.environ.get("BATTRACE_REQUIRE_HAZARDOUS_WASTE_LICENSE", "0")),
            public_base_url=os.environ.get("BATTRACE_PUBLIC_BASE_URL", "").strip() or None,
            read_database_url=os.environ.get("BATTRACE_READ_DATABASE_URL") or None,
            log_format=_choice("BATTRACE_LOG_FORMAT", ("json", "console"), "json"),
            log_level=_choice("BATTRACE_LOG_LEVEL", ("debug", "info", "warning", "error"), "info"),
            anchor_key=os.environ.get("BATTRACE_ANCHOR_KEY") or None,
            anchor_public_key=os.environ.get("BATTRACE_ANCHOR_PUBLIC_KEY") or None,
            progress_interval=progress_interval(),
        )


def progress_interval() -> float:
    """``BATTRACE_PROGRESS_INTERVAL``: seconds between plain progress lines (5; a bad value: 5)."""
    try:
        return max(0.0, float(os.environ.get("BATTRACE_PROGRESS_INTERVAL", "5")))
    except ValueError:
        return 5.0


def _int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if value < 1:
        from battrace.errors import ValidationError

        raise ValidationError(f"setting {name} must be a positive whole number, got {raw!r}", setting=name)
    return value


def _flag(value: str) -> bool:
    return value.strip().lower() not in ("0", "false", "no", "off", "")


def _choice(name: str, allowed: tuple[str, ...], default: str) -> str:
    raw = (os.environ.get(name) or default).strip().lower()
    if raw not in allowed:
        from battrace.errors import ValidationError

        raise ValidationError(f"setting {name} must be one of {', '.join(allowed)}, got {raw!r}", setting=name)
    return raw
