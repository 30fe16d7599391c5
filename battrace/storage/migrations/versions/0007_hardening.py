"""Findings become hash-chained: ``finding_log``, append-only, holding every change to a finding.

Existing findings are adopted into the chain as they stand (action ``adopted``), so that ``verify``
checks them from here on.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

_SQLITE_GUARD = """
CREATE TRIGGER finding_log_no_{verb} BEFORE {verb_upper} ON finding_log
BEGIN SELECT RAISE(ABORT, 'finding_log is append-only: {verb_upper} refused'); END
"""
_PG_GUARD = """
CREATE TRIGGER finding_log_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON finding_log
FOR EACH STATEMENT EXECUTE FUNCTION battrace_append_only()
"""


def upgrade() -> None:
    op.create_table(
        "finding_log",
        sa.Column("seq", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("subject", sa.String(64), nullable=False),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
    )
    op.create_index("ix_finding_log_subject", "finding_log", ["subject"])
    conn = op.get_bind()
    if conn.dialect.name == "sqlite":
        for verb in ("update", "delete"):
            op.execute(_SQLITE_GUARD.format(verb=verb, verb_upper=verb.upper()))
    else:
        op.execute(_PG_GUARD)
    from battrace.storage.compliance import log_findings  # the same bodies the platform writes

    ids = [int(i) for i in conn.execute(sa.text("SELECT id FROM findings ORDER BY id")).scalars()]
    for start in range(0, len(ids), 2000):
        log_findings(conn, ids[start : start + 2000], "adopted")


def downgrade() -> None:
    op.drop_index("ix_finding_log_subject", "finding_log")
    op.drop_table("finding_log")
