"""The schema version of each stored event (events.schema_version; every event so far is version 1).

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("events", sa.Column("schema_version", sa.SmallInteger, nullable=False, server_default="1"))


def downgrade() -> None:
    op.drop_column("events", "schema_version")
