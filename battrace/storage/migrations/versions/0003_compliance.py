"""Compliance engine: timers of pending follow-ups (R04b, R05), sales per province (R11), and the
resolving event of a finding.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-21
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from battrace.storage.schema import UTCTime

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "compliance_timers",
        sa.Column("key", sa.String(200), primary_key=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("deadline", sa.String(64), nullable=False),
        sa.Column("raised", sa.Boolean, nullable=False),
        sa.Column("since", UTCTime, nullable=False),
        sa.Column("event_seq", sa.BigInteger, nullable=False),
        sa.Column("event_id", sa.String(128), nullable=False),
        sa.Column("battery", sa.String(24)),
        sa.Column("vin", sa.String(17)),
        sa.Column("org", sa.String(18)),
        sa.Column("responsible", sa.String(18)),
        sa.Column("region", sa.String(6)),
    )
    op.create_index("ix_compliance_timers_due", "compliance_timers", ["kind", "deadline", "raised", "since"])
    op.create_table(
        "compliance_sales",
        sa.Column("maker", sa.String(18), nullable=False),
        sa.Column("province", sa.String(6), nullable=False),
        sa.Column("vehicles", sa.Integer, nullable=False),
        sa.Column("first_seq", sa.BigInteger),
        sa.Column("first_event_id", sa.String(128)),
        sa.PrimaryKeyConstraint("maker", "province", name="pk_compliance_sales"),
    )
    with op.batch_alter_table("findings") as batch:
        batch.add_column(sa.Column("resolved_event_id", sa.String(128)))
    op.create_index("ix_findings_state_region", "findings", ["state", "region"])


def downgrade() -> None:
    op.drop_index("ix_findings_state_region", "findings")
    with op.batch_alter_table("findings") as batch:
        batch.drop_column("resolved_event_id")
    op.drop_table("compliance_sales")
    op.drop_table("compliance_timers")
