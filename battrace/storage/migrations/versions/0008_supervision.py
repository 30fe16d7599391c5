"""Supervision: cases and their hash-chained steps, webhook subscriptions and outbox, public reports,
the collection outlets directory.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from battrace.storage.schema import UTCTime

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

_SQLITE_GUARD = """
CREATE TRIGGER case_steps_no_{verb} BEFORE {verb_upper} ON case_steps
BEGIN SELECT RAISE(ABORT, 'case_steps is append-only: {verb_upper} refused'); END
"""
_PG_GUARD = """
CREATE TRIGGER case_steps_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON case_steps
FOR EACH STATEMENT EXECUTE FUNCTION battrace_append_only()
"""


def upgrade() -> None:
    op.create_table(
        "cases",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("org", sa.String(18), nullable=False),
        sa.Column("region", sa.String(6)),
        sa.Column("department", sa.String(16), nullable=False),
        sa.Column("state", sa.String(24), nullable=False),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("opened_by", sa.String(18), nullable=False),
        sa.Column("opened_at", UTCTime, nullable=False),
        sa.Column("updated_at", UTCTime, nullable=False),
        sa.Column("closed_at", UTCTime),
        sa.Column("due_date", sa.String(10)),
        sa.Column("report", sa.String(24)),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("head", sa.String(64), nullable=False),
    )
    op.create_index("ix_cases_org", "cases", ["org"])
    op.create_index("ix_cases_region_state", "cases", ["region", "state"])
    op.create_table(
        "case_findings",
        sa.Column("case_id", sa.Integer, nullable=False),
        sa.Column("finding_id", sa.Integer, nullable=False),
        sa.PrimaryKeyConstraint("case_id", "finding_id", name="pk_case_findings"),
    )
    op.create_index("ix_case_findings_finding", "case_findings", ["finding_id"])
    op.create_table(
        "case_steps",
        sa.Column("case_id", sa.Integer, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("at", UTCTime, nullable=False),
        sa.Column("actor", sa.String(18), nullable=False),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("state", sa.String(24), nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("case_id", "version", name="pk_case_steps"),
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(_PG_GUARD)
    else:
        for verb in ("update", "delete"):
            op.execute(_SQLITE_GUARD.format(verb=verb, verb_upper=verb.upper()))
    op.create_table(
        "webhook_subscriptions",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("org", sa.String(18)),
        sa.Column("url", sa.Text, nullable=False),
        sa.Column("events", sa.Text, nullable=False),
        sa.Column("secret", sa.Text, nullable=False),
        sa.Column("created_at", UTCTime, nullable=False),
        sa.Column("active", sa.Boolean, nullable=False),
    )
    op.create_index("ix_webhook_subscriptions_org", "webhook_subscriptions", ["org"])
    op.create_table(
        "webhook_outbox",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("subscription_id", sa.Integer, nullable=False),
        sa.Column("msg_id", sa.String(80), nullable=False),
        sa.Column("event_type", sa.String(40), nullable=False),
        sa.Column("payload", sa.Text, nullable=False),
        sa.Column("created_at", UTCTime, nullable=False),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("next_attempt_at", UTCTime, nullable=False),
        sa.Column("last_attempt_at", UTCTime),
        sa.Column("last_status", sa.Integer),
        sa.Column("last_error", sa.Text),
        sa.Column("delivered_at", UTCTime),
        sa.UniqueConstraint("subscription_id", "msg_id", name="uq_webhook_outbox_msg"),
    )
    op.create_index("ix_webhook_outbox_due", "webhook_outbox", ["status", "next_attempt_at"])
    op.create_table(
        "public_reports",
        sa.Column("receipt", sa.String(24), primary_key=True),
        sa.Column("code", sa.String(64), nullable=False),
        sa.Column("what", sa.Text, nullable=False),
        sa.Column("region", sa.String(6), nullable=False),
        sa.Column("contact", sa.Text),
        sa.Column("client", sa.String(64), nullable=False),
        sa.Column("created_at", UTCTime, nullable=False),
        sa.Column("updated_at", UTCTime, nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("battery", sa.String(24)),
        sa.Column("case_id", sa.Integer),
        sa.Column("reason", sa.Text),
        sa.Column("triaged_by", sa.String(18)),
    )
    op.create_index("ix_public_reports_client", "public_reports", ["client", "created_at"])
    op.create_index("ix_public_reports_region_state", "public_reports", ["region", "state"])
    op.create_table(
        "outlets",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("operated_for", sa.String(18), nullable=False),
        sa.Column("operator", sa.String(18)),
        sa.Column("region", sa.String(6), nullable=False),
        sa.Column("address", sa.Text, nullable=False),
        sa.Column("accepts", sa.Text, nullable=False),
        sa.Column("created_at", UTCTime, nullable=False),
    )
    op.create_index("ix_outlets_operated_for", "outlets", ["operated_for"])
    op.create_index("ix_outlets_region", "outlets", ["region"])


def downgrade() -> None:
    for table in ("outlets", "public_reports", "webhook_outbox", "webhook_subscriptions", "case_steps",
                  "case_findings", "cases"):
        op.drop_table(table)
