"""API keys, the audit log of restricted reads, and compliance findings.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-21
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from battrace.storage.schema import UTCTime

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "api_keys",
        sa.Column("key_id", sa.String(16), primary_key=True),
        sa.Column("org", sa.String(18)),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("secret_hash", sa.String(64), nullable=False),
        sa.Column("label", sa.Text),
        sa.Column("created_at", UTCTime, nullable=False),
        sa.Column("revoked_at", UTCTime),
    )
    op.create_index("ix_api_keys_org", "api_keys", ["org"])
    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("at", UTCTime, nullable=False),
        sa.Column("actor_org", sa.String(18)),
        sa.Column("key_id", sa.String(16)),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("resource", sa.Text, nullable=False),
        sa.Column("allowed", sa.Boolean, nullable=False),
        sa.Column("reason", sa.Text),
    )
    op.create_index("ix_audit_log_at", "audit_log", ["at"])
    op.create_index("ix_audit_log_actor", "audit_log", ["actor_org"])
    op.create_table(
        "findings",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("rule", sa.String(8), nullable=False),
        sa.Column("severity", sa.String(16), nullable=False),
        sa.Column("dedupe_key", sa.String(255), nullable=False, unique=True),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("batteries", sa.Text, nullable=False),
        sa.Column("vin", sa.String(17)),
        sa.Column("orgs", sa.Text, nullable=False),
        sa.Column("responsible", sa.String(18)),
        sa.Column("region", sa.String(6)),
        sa.Column("event_seq", sa.BigInteger),
        sa.Column("event_id", sa.String(128)),
        sa.Column("raised_at", UTCTime, nullable=False),
        sa.Column("due_at", UTCTime),
        sa.Column("resolved_seq", sa.BigInteger),
        sa.Column("resolved_at", UTCTime),
        sa.Column("message_zh", sa.Text, nullable=False),
        sa.Column("message_en", sa.Text, nullable=False),
        sa.Column("detail", sa.Text, nullable=False),
    )
    op.create_index("ix_findings_rule_state", "findings", ["rule", "state"])
    op.create_table(
        "finding_subjects",
        sa.Column("finding_id", sa.Integer, nullable=False),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("value", sa.String(24), nullable=False),
        sa.PrimaryKeyConstraint("finding_id", "kind", "value", name="pk_finding_subjects"),
    )
    op.create_index("ix_finding_subjects_value", "finding_subjects", ["kind", "value"])


def downgrade() -> None:
    for table in ("finding_subjects", "findings", "audit_log", "api_keys"):
        op.drop_table(table)
