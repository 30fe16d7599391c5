"""Aggregates for the regulator dashboard, maintained as events arrive (reporter_counts, flow_counts,
installation_counts), filled from the existing log and read models.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

HAND_OVER = "battery.handed_over"
CERTIFIED = "vehicle.certified"


def _backfill(dialect: str) -> list[str]:
    """The recounts of battrace.storage.dashboard as of this revision, written to slot 0."""
    if dialect == "postgresql":
        to = "(e.body::jsonb ->> 'to')"
        items, item = "jsonb_array_elements_text(e.body::jsonb -> 'batteries') AS item(value)", "item.value"
        waste = "(b.waste AND ((b.doc::jsonb ->> 'waste_since')::timestamptz <= e.occurred_at))"
        vin = "(e.body::jsonb ->> 'vin')"
        region = "coalesce(v.doc::jsonb ->> 'region', e.body::jsonb ->> 'region')"
        year = "substr(e.body::jsonb ->> 'occurred_at', 1, 4)"
        packs = "jsonb_array_length(e.body::jsonb -> 'batteries')"
    else:
        to = "json_extract(e.body, '$.to')"
        items, item = "json_each(e.body, '$.batteries') AS item", "item.value"
        waste = "(b.waste AND julianday(json_extract(b.doc, '$.waste_since')) <= julianday(e.occurred_at))"
        vin = "json_extract(e.body, '$.vin')"
        region = "coalesce(json_extract(v.doc, '$.region'), json_extract(e.body, '$.region'))"
        year = "substr(json_extract(e.body, '$.occurred_at'), 1, 4)"
        packs = "json_array_length(e.body, '$.batteries')"
    return [
        "INSERT INTO reporter_counts (reporter, slot, n) SELECT e.reporter, 0, count(*) FROM events e "
        "GROUP BY e.reporter",
        "INSERT INTO flow_counts (sender, receiver, slot, batteries, handovers, waste_batteries, waste_handovers) "
        f"SELECT e.reporter, coalesce({to}, ''), 0, count(*), count(DISTINCT e.seq), "
        f"sum(CASE WHEN {waste} THEN 1 ELSE 0 END), count(DISTINCT CASE WHEN {waste} THEN e.seq END) "
        f"FROM events e CROSS JOIN {items} JOIN batteries b ON b.code = {item} "
        f"WHERE e.type = '{HAND_OVER}' GROUP BY e.reporter, coalesce({to}, '')",
        "INSERT INTO installation_counts (region, org, year, slot, packs) "
        f"SELECT coalesce({region}, ''), CASE WHEN {region} IS NULL THEN e.reporter ELSE '' END, {year}, 0, "
        f"sum({packs}) FROM events e LEFT JOIN vehicles v ON v.vin = {vin} WHERE e.type = '{CERTIFIED}' "
        f"GROUP BY coalesce({region}, ''), CASE WHEN {region} IS NULL THEN e.reporter ELSE '' END, {year}",
    ]


def upgrade() -> None:
    op.create_table(
        "reporter_counts",
        sa.Column("reporter", sa.String(18), nullable=False),
        sa.Column("slot", sa.Integer, nullable=False),
        sa.Column("n", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("reporter", "slot", name="pk_reporter_counts"),
    )
    op.create_table(
        "flow_counts",
        sa.Column("sender", sa.String(18), nullable=False),
        sa.Column("receiver", sa.String(18), nullable=False),
        sa.Column("slot", sa.Integer, nullable=False),
        sa.Column("batteries", sa.BigInteger, nullable=False),
        sa.Column("handovers", sa.BigInteger, nullable=False),
        sa.Column("waste_batteries", sa.BigInteger, nullable=False),
        sa.Column("waste_handovers", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("sender", "receiver", "slot", name="pk_flow_counts"),
    )
    op.create_table(
        "installation_counts",
        sa.Column("region", sa.String(6), nullable=False),
        sa.Column("org", sa.String(18), nullable=False),
        sa.Column("year", sa.String(4), nullable=False),
        sa.Column("slot", sa.Integer, nullable=False),
        sa.Column("packs", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("region", "org", "year", "slot", name="pk_installation_counts"),
    )
    for statement in _backfill(op.get_bind().dialect.name):
        op.execute(statement)


def downgrade() -> None:
    op.drop_table("installation_counts")
    op.drop_table("flow_counts")
    op.drop_table("reporter_counts")
