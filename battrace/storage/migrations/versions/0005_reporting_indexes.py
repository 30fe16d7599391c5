"""Indexes for the regulator statistics and the organisation console (packs by state, holdings).

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-21
"""

from __future__ import annotations

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_batteries_level_state", "batteries", ["level", "state"])
    op.create_index("ix_batteries_custodian_state", "batteries", ["custodian", "state"])


def downgrade() -> None:
    op.drop_index("ix_batteries_custodian_state", "batteries")
    op.drop_index("ix_batteries_level_state", "batteries")
