"""Reads of the ``lineage`` read model beyond :class:`~battrace.storage.store.Store`'s (statements only)."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import Connection, select

from battrace.storage import schema


def products_recorded_in(conn: Connection, source: str, seqs: Iterable[int]) -> list[str]:
    """Products made from ``source`` by one of the events ``seqs`` (a past version's lineage), sorted."""
    lin = schema.lineage
    kept = conn.execute(select(lin.c.product).where(lin.c.source == source, lin.c.seq.in_(set(seqs)))).scalars()
    return sorted(kept)
