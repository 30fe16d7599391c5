"""Scale: log positions from a sequence (no global writer lock).

PostgreSQL gets ``events_seq``, started after the largest ``seq`` already stored, from which
concurrent ledger writers draw positions without a lock. SQLite keeps ``max(seq) + 1`` under its
single writer: nothing changes there.

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
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("CREATE SEQUENCE events_seq AS bigint")
    op.execute("SELECT setval('events_seq', coalesce(max(seq), 0) + 1, false) FROM events")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP SEQUENCE events_seq")
