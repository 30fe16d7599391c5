"""The components of each battery in a table of their own, ``components (parent, code)``, kept by the
database from ``batteries.parent``.

A pack's or a module's passport lists its components. On PostgreSQL that was ``WHERE parent = …``
on ``batteries``, which is hash-partitioned by ``code``: the lookup probed the ``parent`` index of
all eight partitions and then read each component's row. On a cold 10^7-event database that was
26.7 of the 47 pages a pack's first read took from outside shared buffers (docs/performance.md,
issue 18). ``components`` is partitioned by ``parent``, so the lookup is one probe of one primary
key, and a parent's components, written together at assembly, sit together.

Triggers on ``batteries`` keep it: a row inserted with a parent adds its pair, a change of parent
moves it, a deleted row takes it away (PostgreSQL: row triggers that fire only when the parent
changes, a ``WHEN`` condition the server evaluates without calling the function; SQLite: a trigger
per verb). Whatever writes ``batteries`` — the ledger, ``rebuild``, a manual edit — the table
follows; ``verify`` checks it against ``batteries`` and ``rebuild`` repairs it.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

PARTITIONS = 8  # as 0006's tables

_PG_FUNCTION = """
CREATE OR REPLACE FUNCTION battrace_components_follow() RETURNS trigger AS $$
BEGIN
    IF TG_OP <> 'INSERT' AND OLD.parent IS NOT NULL THEN
        DELETE FROM components WHERE parent = OLD.parent AND code = OLD.code;
    END IF;
    IF TG_OP <> 'DELETE' AND NEW.parent IS NOT NULL THEN
        INSERT INTO components (parent, code) VALUES (NEW.parent, NEW.code);
    END IF;
    RETURN NULL;
END
$$ LANGUAGE plpgsql
"""
_PG_TRIGGERS = {
    "components_on_insert": "AFTER INSERT ON batteries FOR EACH ROW WHEN (NEW.parent IS NOT NULL)",
    "components_on_update": "AFTER UPDATE OF parent ON batteries FOR EACH ROW "
                            "WHEN (OLD.parent IS DISTINCT FROM NEW.parent)",
    "components_on_delete": "AFTER DELETE ON batteries FOR EACH ROW WHEN (OLD.parent IS NOT NULL)",
}
_SQLITE_TRIGGERS = {
    "components_on_insert": "AFTER INSERT ON batteries WHEN NEW.parent IS NOT NULL BEGIN "
                            "INSERT INTO components (parent, code) VALUES (NEW.parent, NEW.code); END",
    "components_on_update": "AFTER UPDATE OF parent ON batteries WHEN OLD.parent IS NOT NEW.parent BEGIN "
                            "DELETE FROM components WHERE parent = OLD.parent AND code = OLD.code; "
                            "INSERT INTO components (parent, code) SELECT NEW.parent, NEW.code "
                            "WHERE NEW.parent IS NOT NULL; END",
    "components_on_delete": "AFTER DELETE ON batteries WHEN OLD.parent IS NOT NULL BEGIN "
                            "DELETE FROM components WHERE parent = OLD.parent AND code = OLD.code; END",
}


def upgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    columns = (sa.Column("parent", sa.String(24), nullable=False), sa.Column("code", sa.String(24), nullable=False),
               sa.PrimaryKeyConstraint("parent", "code", name="pk_components"))
    if postgres:
        op.create_table("components", *columns, postgresql_partition_by="HASH (parent)")
        for r in range(PARTITIONS):
            op.execute(f"CREATE TABLE components_p{r:02d} PARTITION OF components "
                       f"FOR VALUES WITH (MODULUS {PARTITIONS}, REMAINDER {r})")
    else:
        op.create_table("components", *columns)
    op.execute("INSERT INTO components (parent, code) SELECT parent, code FROM batteries WHERE parent IS NOT NULL")
    if postgres:
        op.execute(_PG_FUNCTION)
        for name, when in _PG_TRIGGERS.items():
            op.execute(f"CREATE TRIGGER {name} {when} EXECUTE FUNCTION battrace_components_follow()")
    else:
        for name, body in _SQLITE_TRIGGERS.items():
            op.execute(f"CREATE TRIGGER {name} {body}")


def downgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    for name in _PG_TRIGGERS:
        op.execute(f"DROP TRIGGER IF EXISTS {name} ON batteries" if postgres else f"DROP TRIGGER IF EXISTS {name}")
    if postgres:
        op.execute("DROP FUNCTION IF EXISTS battrace_components_follow()")
    op.drop_table("components")
