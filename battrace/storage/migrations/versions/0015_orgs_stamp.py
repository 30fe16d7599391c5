"""The organisation registry's stamp is one row, bumped by a trigger on every change to ``orgs``.

Every API request, every ingest batch and every passport checks whether the parsed registry it
keeps in memory is still current. The check was ``count(*), max(updated_at)`` over ``orgs``: a scan
of the whole registry (20 pages for the simulator's 401 organisations, 25 times that for a national
registry of 10,000), on every read. Now ``orgs_stamp`` holds one row whose ``version`` a trigger
raises on each statement that inserts, updates or deletes organisations (PostgreSQL: one statement
trigger, also on ``TRUNCATE``; SQLite: a row trigger per verb), so the check reads one row however
large the registry grows, and a change made by any writer — the import, another process, a manual
edit — is seen at the next read.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

_BUMP = "UPDATE orgs_stamp SET version = version + 1"
_PG_FUNCTION = f"""
CREATE OR REPLACE FUNCTION battrace_orgs_changed() RETURNS trigger AS $$
BEGIN
    {_BUMP};
    RETURN NULL;
END
$$ LANGUAGE plpgsql
"""
_PG_TRIGGER = """CREATE TRIGGER orgs_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON orgs
FOR EACH STATEMENT EXECUTE FUNCTION battrace_orgs_changed()"""
_VERBS = ("insert", "update", "delete")


def upgrade() -> None:
    op.create_table(
        "orgs_stamp",
        sa.Column("id", sa.SmallInteger, primary_key=True, autoincrement=False),
        sa.Column("version", sa.BigInteger, nullable=False),
    )
    op.execute("INSERT INTO orgs_stamp (id, version) VALUES (1, 0)")
    if op.get_bind().dialect.name == "postgresql":
        op.execute(_PG_FUNCTION)
        op.execute(_PG_TRIGGER)
        return
    for verb in _VERBS:
        op.execute(f"CREATE TRIGGER orgs_changed_{verb} AFTER {verb.upper()} ON orgs BEGIN {_BUMP}; END")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS orgs_changed ON orgs")
        op.execute("DROP FUNCTION IF EXISTS battrace_orgs_changed()")
    else:
        for verb in _VERBS:
            op.execute(f"DROP TRIGGER IF EXISTS orgs_changed_{verb}")
    op.drop_table("orgs_stamp")
