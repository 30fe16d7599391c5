"""Scale: log positions from a sequence (no global writer lock); a lighter ``batteries`` to update.

PostgreSQL gets ``events_seq``, started after the largest ``seq`` already stored, from which
concurrent ledger writers draw positions without a lock. SQLite keeps ``max(seq) + 1`` under its
single writer: nothing changes there.

``ix_batteries_custodian`` goes (``ix_batteries_custodian_state`` starts with the same column and
serves the same queries): every non-HOT update of a battery wrote into seven indexes, now six. On
PostgreSQL ``batteries`` and ``vehicles`` keep 20 % of each page free (``fillfactor``) so that an
update that changes no indexed column (a test, a document-only change) stays on its page (HOT).

``ix_events_recorded_at`` is the log's time index: a BRIN on PostgreSQL (the log is appended in
``recorded_at`` order, so one summary per 128 pages answers a time range, for a few kilobytes instead
of a B-tree as large as a fifth of the table, and costs nearly nothing per insert); a plain index on
SQLite.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30
"""

from __future__ import annotations

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index("ix_batteries_custodian", "batteries")
    op.create_index("ix_events_recorded_at", "events", ["recorded_at"], postgresql_using="brin")
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("CREATE SEQUENCE events_seq AS bigint")
    op.execute("SELECT setval('events_seq', coalesce(max(seq), 0) + 1, false) FROM events")
    for table in ("batteries", "vehicles"):
        op.execute(f"ALTER TABLE {table} SET (fillfactor = 80)")


def downgrade() -> None:
    op.create_index("ix_batteries_custodian", "batteries", ["custodian"])
    op.drop_index("ix_events_recorded_at", "events")
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP SEQUENCE events_seq")
    for table in ("batteries", "vehicles"):
        op.execute(f"ALTER TABLE {table} RESET (fillfactor)")
