"""BMS early warning: the alarms raised from telemetry frames.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-21
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from battrace.storage.schema import UTCTime

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "alarms",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("battery", sa.String(24), nullable=False),
        sa.Column("vin", sa.String(17)),
        sa.Column("hazard", sa.String(40), nullable=False),
        sa.Column("level", sa.Integer, nullable=False),
        sa.Column("response", sa.String(16), nullable=False),
        sa.Column("first_at", UTCTime, nullable=False),
        sa.Column("last_at", UTCTime, nullable=False),
        sa.Column("raised_at", UTCTime, nullable=False),
        sa.Column("evidence", sa.Text, nullable=False),
        sa.Column("maker", sa.String(18)),
        sa.Column("vehicle_maker", sa.String(18)),
        sa.Column("region", sa.String(6)),
        sa.Column("source", sa.String(16), nullable=False),
        sa.UniqueConstraint("battery", "hazard", "first_at", name="uq_alarms_episode"),
    )
    op.create_index("ix_alarms_first_at", "alarms", ["first_at"])
    op.create_index("ix_alarms_region", "alarms", ["region"])
    op.create_index("ix_alarms_maker", "alarms", ["maker"])
    op.create_index("ix_alarms_vehicle_maker", "alarms", ["vehicle_maker"])


def downgrade() -> None:
    op.drop_table("alarms")
