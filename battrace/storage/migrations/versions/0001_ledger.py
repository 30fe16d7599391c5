"""The ledger: organisations, the append-only hash-chained event log and its read models.

Revision ID: 0001
Revises:
Create Date: 2026-11-21
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from battrace.storage.schema import UTCTime

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

_SQLITE_GUARD = """
CREATE TRIGGER {table}_no_{verb} BEFORE {verb_upper} ON {table}
BEGIN SELECT RAISE(ABORT, '{table} is append-only: {verb_upper} refused'); END
"""
_PG_FUNCTION = """
CREATE OR REPLACE FUNCTION battrace_append_only() RETURNS trigger AS $$
BEGIN
  RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP;
END $$ LANGUAGE plpgsql
"""
_PG_GUARD = """
CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON {table}
FOR EACH STATEMENT EXECUTE FUNCTION battrace_append_only()
"""


def upgrade() -> None:
    op.create_table(
        "orgs",
        sa.Column("credit_code", sa.String(18), primary_key=True),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("type", sa.String(32), nullable=False),
        sa.Column("region", sa.String(6)),
        sa.Column("doc", sa.Text, nullable=False),
        sa.Column("updated_at", UTCTime, nullable=False),
    )
    op.create_table(
        "events",
        sa.Column("seq", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("reporter", sa.String(18), nullable=False),
        sa.Column("event_id", sa.String(128), nullable=False),
        sa.Column("type", sa.String(40), nullable=False),
        sa.Column("occurred_at", UTCTime, nullable=False),
        sa.Column("recorded_at", UTCTime, nullable=False),
        sa.Column("imported", sa.Boolean, nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.UniqueConstraint("reporter", "event_id", name="uq_events_reporter_event_id"),
    )
    op.create_index("ix_events_type_occurred", "events", ["type", "occurred_at"])
    op.create_table(
        "event_links",
        sa.Column("stream", sa.String(96), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("seq", sa.BigInteger, nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("stream", "version", name="pk_event_links"),
    )
    op.create_index("ix_event_links_seq", "event_links", ["seq"])
    op.create_table(
        "batteries",
        sa.Column("code", sa.String(24), primary_key=True),
        sa.Column("level", sa.String(1), nullable=False),
        sa.Column("chemistry", sa.String(16), nullable=False),
        sa.Column("maker", sa.String(18)),
        sa.Column("model", sa.Text),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("custodian", sa.String(18)),
        sa.Column("vin", sa.String(17)),
        sa.Column("parent", sa.String(24)),
        sa.Column("remade", sa.Boolean, nullable=False),
        sa.Column("waste", sa.Boolean, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("head", sa.String(64), nullable=False),
        sa.Column("last_seq", sa.BigInteger, nullable=False),
        sa.Column("doc", sa.Text, nullable=False),
    )
    for col in ("parent", "vin", "custodian", "state"):
        op.create_index(f"ix_batteries_{col}", "batteries", [col])
    op.create_table(
        "vehicles",
        sa.Column("vin", sa.String(17), primary_key=True),
        sa.Column("maker", sa.String(18), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("swap_model", sa.Boolean, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("head", sa.String(64), nullable=False),
        sa.Column("last_seq", sa.BigInteger, nullable=False),
        sa.Column("doc", sa.Text, nullable=False),
    )
    op.create_index("ix_vehicles_maker", "vehicles", ["maker"])
    op.create_table(
        "lineage",
        sa.Column("product", sa.String(24), nullable=False),
        sa.Column("source", sa.String(24), nullable=False),
        sa.Column("seq", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("product", "source", name="pk_lineage"),
    )
    op.create_index("ix_lineage_source", "lineage", ["source"])
    op.create_table(
        "techinfo",
        sa.Column("stream", sa.String(96), primary_key=True),
        sa.Column("maker", sa.String(18), nullable=False),
        sa.Column("model", sa.Text, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("head", sa.String(64), nullable=False),
        sa.Column("last_seq", sa.BigInteger, nullable=False),
        sa.Column("doc", sa.Text, nullable=False),
    )
    dialect = op.get_bind().dialect.name
    for table in ("events", "event_links"):
        if dialect == "sqlite":
            for verb in ("update", "delete"):
                op.execute(_SQLITE_GUARD.format(table=table, verb=verb, verb_upper=verb.upper()))
        elif dialect == "postgresql":
            op.execute(_PG_FUNCTION)
            op.execute(_PG_GUARD.format(table=table))


def downgrade() -> None:
    for table in ("techinfo", "lineage", "vehicles", "batteries", "event_links", "events", "orgs"):
        op.drop_table(table)
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS battrace_append_only()")
