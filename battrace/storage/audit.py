"""The audit log of restricted reads: an append-only, hash-chained record, written off the ledger's path.

Each row's ``hash`` is ``sha256(previous hash + canonical content)`` (:func:`row_hash`); the table
``audit_chain`` holds the chain's length and head, so that an edited, inserted or deleted row — the
last one included — breaks the chain that :func:`check_chain` walks. The database also refuses
UPDATE and DELETE on ``audit_log`` (migration 0010), as on the event log.

Audit rows are written in their own short transaction (:func:`append`), never inside the ledger's
write transaction and never under its writer lock: on PostgreSQL audit writers serialise only on the
``audit_chain`` row (``SELECT … FOR UPDATE``), so a read that leaves a row does not wait for a bulk
upload. SQLite has one writer for the whole file; an audit row there waits at most for the running
ingest batch to commit (the busy timeout), as any write does.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, select
from sqlalchemy.exc import DBAPIError, OperationalError

from battrace.errors import StorageError
from battrace.storage import schema

GENESIS = "0" * 64
CHAIN = "audit"
#: The content a link covers, in this order.
CONTENT = ("id", "at", "actor_org", "key_id", "action", "resource", "allowed", "reason", "as_of", "purpose",
           "battery")


def _instant(value: datetime | None) -> str | None:
    return None if value is None else value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def row_hash(previous: str, row: dict[str, Any]) -> str:
    """The link of ``row`` after the link ``previous``."""
    content = {k: row.get(k) for k in CONTENT}
    content["at"], content["as_of"] = _instant(content["at"]), _instant(content["as_of"])
    content["allowed"] = bool(content["allowed"])
    text = json.dumps(content, ensure_ascii=False, separators=(",", ":"), sort_keys=True)
    return hashlib.sha256(f"{previous}{text}".encode()).hexdigest()


@contextmanager
def side_transaction(engine: Any) -> Iterator[Connection]:
    """A short write transaction of its own (no ledger writer lock); commits on success."""
    try:
        with engine.connect().execution_options(battrace_writer=True) as conn, conn.begin():
            yield conn
    except (OperationalError, DBAPIError) as exc:
        raise StorageError(f"database write failed: {exc.orig}") from None


def append(engine: Any, entry: dict[str, Any]) -> dict[str, Any]:
    """Append one audit row (``at``, ``actor_org``, ``key_id``, ``action``, ``resource``, ``allowed``,
    ``reason`` and optionally ``as_of``, ``purpose``, ``battery``) to the chain; returns the stored row."""
    a, c = schema.audit_log, schema.audit_chain
    with side_transaction(engine) as conn:
        head = conn.execute(select(c.c.length, c.c.head).where(c.c.name == CHAIN).with_for_update()).first()
        if head is None:  # a database created without migration 0010's seed row
            conn.execute(c.insert(), [{"name": CHAIN, "length": 0, "head": GENESIS}])
            length, previous = 0, GENESIS
        else:
            length, previous = int(head.length), str(head.head)
        last = conn.execute(select(a.c.id).order_by(a.c.id.desc()).limit(1)).scalar()
        row = {k: entry.get(k) for k in CONTENT if k != "id"}
        row["id"] = int(last or 0) + 1
        row["hash"] = row_hash(previous, row)
        conn.execute(a.insert(), [row])
        conn.execute(c.update().where(c.c.name == CHAIN).values(length=length + 1, head=row["hash"]))
    return row


def list_rows(
    conn: Connection, *, actor: str | None = None, action: str | None = None, region_prefix: str | None = None,
    limit: int = 100, offset: int = 0,
) -> list[dict[str, Any]]:
    """Audit rows newest first; ``region_prefix`` keeps those of organisations within a jurisdiction."""
    a, o = schema.audit_log, schema.orgs
    stmt = select(a).order_by(a.c.id.desc()).limit(limit).offset(offset)
    if actor:
        stmt = stmt.where(a.c.actor_org == actor)
    if action:
        stmt = stmt.where(a.c.action == action)
    if region_prefix:
        stmt = stmt.where(a.c.actor_org.in_(select(o.c.credit_code).where(o.c.region.like(f"{region_prefix}%"))))
    return [dict(r._mapping) for r in conn.execute(stmt)]


@dataclass
class ChainReport:
    """What :func:`check_chain` found: the rows walked and the problems (``kind``, ``message``, ``id``)."""

    rows: int = 0
    problems: list[dict[str, Any]] = field(default_factory=list)


def check_chain(conn: Connection) -> ChainReport:
    """Walk the audit log in ``id`` order, recompute every link and compare the end with the head."""
    a, c = schema.audit_log, schema.audit_chain
    report = ChainReport()
    previous = GENESIS
    stmt = select(a).order_by(a.c.id).execution_options(yield_per=5000)
    for row in conn.execute(stmt).mappings():
        report.rows += 1
        expected = row_hash(previous, dict(row))
        if expected != row["hash"]:
            report.problems.append({"kind": "audit_chain", "id": row["id"], "message":
                                    f"audit row {row['id']} was edited, inserted or follows a deleted row "
                                    "(its link does not follow from the previous one)"})
            if len(report.problems) >= 100:
                return report
        previous = row["hash"]
    head = conn.execute(select(c.c.length, c.c.head).where(c.c.name == CHAIN)).first()
    length, last = (0, GENESIS) if head is None else (int(head.length), str(head.head))
    if (length, last) != (report.rows, previous):
        report.problems.append({"kind": "audit_head", "id": None, "message":
                                f"the audit chain's head records {length} rows, the log holds {report.rows} "
                                "ending elsewhere (a row was deleted or added outside the platform)"})
    return report
