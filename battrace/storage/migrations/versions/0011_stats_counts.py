"""Aggregates for the regulator statistics, maintained as events arrive (battery_counts, retirement_counts).

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

RETIREMENT_TYPES = ("battery.removed", "battery.replaced")


def upgrade() -> None:
    op.create_table(
        "battery_counts",
        sa.Column("level", sa.String(1), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("chemistry", sa.String(16), nullable=False),
        sa.Column("region", sa.String(6), nullable=False),
        sa.Column("slot", sa.Integer, nullable=False),
        sa.Column("n", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("level", "state", "chemistry", "region", "slot", name="pk_battery_counts"),
    )
    op.create_table(
        "retirement_counts",
        sa.Column("month", sa.String(7), nullable=False),
        sa.Column("region", sa.String(6), nullable=False),
        sa.Column("slot", sa.Integer, nullable=False),
        sa.Column("n", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("month", "region", "slot", name="pk_retirement_counts"),
    )
    bind = op.get_bind()
    month = ("to_char(timezone('Asia/Shanghai', e.occurred_at), 'YYYY-MM')" if bind.dialect.name == "postgresql"
             else "strftime('%Y-%m', e.occurred_at, '+8 hours')")
    op.execute(
        "INSERT INTO battery_counts (level, state, chemistry, region, slot, n) "
        "SELECT b.level, b.state, b.chemistry, coalesce(o.region, ''), 0, count(*) FROM batteries b "
        "LEFT JOIN orgs o ON o.credit_code = coalesce(b.custodian, b.maker) "
        "GROUP BY b.level, b.state, b.chemistry, coalesce(o.region, '')"
    )
    types = ", ".join(f"'{t}'" for t in RETIREMENT_TYPES)
    op.execute(
        f"INSERT INTO retirement_counts (month, region, slot, n) SELECT {month}, coalesce(o.region, ''), 0, count(*) "
        f"FROM events e LEFT JOIN orgs o ON o.credit_code = e.reporter WHERE e.type IN ({types}) "
        f"GROUP BY {month}, coalesce(o.region, '')"
    )


def downgrade() -> None:
    op.drop_table("retirement_counts")
    op.drop_table("battery_counts")
