"""Append-only, hash-chained records beside a mutable table (findings today; cases and the audit log
may use the same shape): the table holds the current state, the chain every change to it.

A chain table has ``seq`` (1, 2, ...), ``subject`` (the row it is about), ``action``, ``body``
(canonical JSON of the whole row after the change) and ``hash`` =
``sha256(previous hash | seq | subject | action | body)``, the first record chaining from
:data:`GENESIS`. The database refuses UPDATE and DELETE on it (migration 0007); ``battrace verify``
walks the chain and compares the table's rows with the last body of each subject, so an edit or a
deletion in either is named. Appends happen inside the writer's transaction, so the chain is
serialised like the log.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Table, func, select

from battrace.domain.events import canonical_json
from battrace.storage import schema

GENESIS = "0" * 64
#: Every chain ``verify`` walks and ``anchor`` signs, by name.
CHAINS: dict[str, Table] = {"finding_log": schema.finding_log}


def record_hash(previous: str, seq: int, subject: str, action: str, body: str) -> str:
    return hashlib.sha256(f"{previous}|{seq}|{subject}|{action}|{body}".encode()).hexdigest()


def row_body(row: dict[str, Any]) -> str:
    """Canonical JSON of a row (times as UTC ISO text): what a record's ``body`` holds."""
    return canonical_json({k: (v.astimezone(UTC).isoformat() if isinstance(v, datetime) else v)
                           for k, v in row.items()})


def head(conn: Connection, table: Table) -> tuple[int, str]:
    """``(seq, hash)`` of the chain's last record, ``(0, GENESIS)`` when empty."""
    row = conn.execute(select(table.c.seq, table.c.hash).order_by(table.c.seq.desc()).limit(1)).first()
    return (int(row.seq), str(row.hash)) if row else (0, GENESIS)


def append(conn: Connection, table: Table, entries: Sequence[tuple[str, str, str]]) -> None:
    """Append ``(subject, action, body)`` records in the caller's (writer's) transaction."""
    if not entries:
        return
    seq, previous = head(conn, table)
    rows = []
    for subject, action, body in entries:
        seq += 1
        previous = record_hash(previous, seq, subject, action, body)
        rows.append({"seq": seq, "subject": subject, "action": action, "body": body, "hash": previous})
    conn.execute(table.insert(), rows)


def walk(conn: Connection, table: Table) -> Iterator[Any]:
    """The chain's records in order (streamed)."""
    yield from conn.execute(select(table).order_by(table.c.seq).execution_options(yield_per=5000))


def count(conn: Connection, table: Table) -> int:
    return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


def heads(conn: Connection, names: Iterable[str] | None = None) -> dict[str, tuple[int, str]]:
    return {name: head(conn, CHAINS[name]) for name in (names or CHAINS)}


def record_at(conn: Connection, table: Table, seq: int) -> str | None:
    return conn.execute(select(table.c.hash).where(table.c.seq == seq)).scalar_one_or_none()
