"""Which of some candidate codes the platform has a record of (for "did you mean" on the lookup)."""

from __future__ import annotations

from collections.abc import Sequence

from battrace.storage.store import Store


def codes_on_record(store: Store, codes: Sequence[str]) -> set[str]:
    """The subset of ``codes`` that name batteries on record; nothing else about them is read."""
    if not codes:
        return set()
    with store.reader() as conn:
        return set(store.get_batteries(conn, codes))
