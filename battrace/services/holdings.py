"""The batteries an organisation holds (it is their custodian), for its console."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from battrace.errors import ValidationError
from battrace.storage import reporting
from battrace.storage.store import Store

MAX_PAGE = 500


@dataclass(frozen=True)
class Holdings:
    rows: list[dict[str, Any]]
    total: int
    by_state: dict[str, int]


def list_holdings(store: Store, org: str, *, state: str | None = None, limit: int = 50, offset: int = 0) -> Holdings:
    """Batteries on their own (not inside a pack) whose custodian is ``org`` (most recent activity
    first), with the last event's time, how many there are, and how many per state."""
    if not 1 <= limit <= MAX_PAGE:
        raise ValidationError(f"limit must be between 1 and {MAX_PAGE}", field="limit")
    if offset < 0:
        raise ValidationError("offset must be >= 0", field="offset")
    with store.reader() as conn:
        by_state, rows = reporting.holdings(conn, org, state=state, limit=limit, offset=offset)
    total = by_state.get(state, 0) if state is not None else sum(by_state.values())
    return Holdings(rows, total, dict(sorted(by_state.items(), key=lambda kv: -kv[1])))
