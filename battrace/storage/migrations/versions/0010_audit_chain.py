"""The audit log becomes append-only and hash-chained; its rows record the moment asked for
(``?at=``), the purpose and the battery of a read.

* ``audit_log``: new columns ``as_of``, ``purpose``, ``battery`` and ``hash`` (the chain link:
  ``sha256(previous hash + the row's canonical content)``, see :mod:`battrace.storage.audit`); the
  rows already there are chained in ``id`` order here;
* ``audit_chain``: one row per chain with its length and head, so that a deleted last row is
  detected too and audit writers serialise on that row alone (no advisory lock);
* UPDATE and DELETE on ``audit_log`` are refused by the database, as on the event log.

Revision ID: 0010
Revises: 0008
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from battrace.storage.schema import UTCTime

revision = "0010"
down_revision = "0008"
branch_labels = None
depends_on = None

_GENESIS = "0" * 64
_SQLITE_GUARD = """
CREATE TRIGGER audit_log_no_{verb} BEFORE {verb_upper} ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only: {verb_upper} refused'); END
"""
_PG_FUNCTION = """
CREATE OR REPLACE FUNCTION battrace_append_only() RETURNS trigger AS $$
BEGIN
  RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP;
END $$ LANGUAGE plpgsql
"""
_PG_GUARD = """
CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON audit_log
FOR EACH STATEMENT EXECUTE FUNCTION battrace_append_only()
"""


def upgrade() -> None:
    from battrace.storage.audit import row_hash  # the one definition of a link

    with op.batch_alter_table("audit_log") as batch:
        batch.add_column(sa.Column("as_of", UTCTime()))
        batch.add_column(sa.Column("purpose", sa.Text))
        batch.add_column(sa.Column("battery", sa.String(24)))
        batch.add_column(sa.Column("hash", sa.String(64)))
    op.create_table(
        "audit_chain",
        sa.Column("name", sa.String(16), primary_key=True),
        sa.Column("length", sa.BigInteger, nullable=False),
        sa.Column("head", sa.String(64), nullable=False),
    )
    bind = op.get_bind()
    log = sa.table("audit_log", sa.column("id", sa.Integer), sa.column("at", UTCTime()),
                   sa.column("actor_org", sa.String), sa.column("key_id", sa.String),
                   sa.column("action", sa.String), sa.column("resource", sa.Text),
                   sa.column("allowed", sa.Boolean), sa.column("reason", sa.Text),
                   sa.column("as_of", UTCTime()), sa.column("purpose", sa.Text),
                   sa.column("battery", sa.String), sa.column("hash", sa.String))
    head, length = _GENESIS, 0
    for row in bind.execute(sa.select(log).order_by(log.c.id)).mappings().all():
        head = row_hash(head, dict(row))
        length += 1
        bind.execute(sa.update(log).where(log.c.id == row["id"]).values(hash=head))
    bind.execute(sa.text("INSERT INTO audit_chain (name, length, head) VALUES ('audit', :n, :h)"),
                 {"n": length, "h": head})
    with op.batch_alter_table("audit_log") as batch:
        batch.alter_column("hash", existing_type=sa.String(64), nullable=False)
    if bind.dialect.name == "sqlite":
        for verb in ("update", "delete"):
            op.execute(_SQLITE_GUARD.format(verb=verb, verb_upper=verb.upper()))
    elif bind.dialect.name == "postgresql":
        op.execute(_PG_FUNCTION)
        op.execute(_PG_GUARD)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS audit_log_no_update")
        op.execute("DROP TRIGGER IF EXISTS audit_log_no_delete")
    else:
        op.execute("DROP TRIGGER IF EXISTS audit_log_append_only ON audit_log")
    op.drop_table("audit_chain")
    with op.batch_alter_table("audit_log") as batch:
        for column in ("hash", "battery", "purpose", "as_of"):
            batch.drop_column(column)
