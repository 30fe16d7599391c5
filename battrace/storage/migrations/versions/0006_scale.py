"""Scale: positions from a sequence (no global writer lock), hash partitions, a lighter ``batteries``.

PostgreSQL gets ``events_seq``, started after the largest ``seq`` already stored, from which
concurrent ledger writers draw positions without a lock. SQLite keeps ``max(seq) + 1`` under its
single writer: nothing changes there.

``ix_batteries_custodian`` goes (``ix_batteries_custodian_state`` starts with the same column and
serves the same queries): every non-HOT update of a battery wrote into seven indexes, now six. On
PostgreSQL ``batteries`` and ``vehicles`` keep 20 % of each page free (``fillfactor``) so that an
update that changes no indexed column (a test, a document-only change) stays on its page (HOT).

On PostgreSQL the chain links and the read models are hash-partitioned by their stream
(``event_links`` by ``stream``, ``batteries`` by ``code``, ``vehicles`` by ``vin``, ``techinfo`` by
``stream``, ``lineage`` by ``product``) into :data:`PARTITIONS` partitions each (existing rows are
copied over). Every primary or unique key contains the partition column, as a distributed
PostgreSQL (Citus) needs of its distribution column. ``events`` stays one table here: its two keys,
``seq`` and ``(reporter, event_id)``, share no column (see docs/ledger.md). SQLite keeps plain
tables.

``ix_events_recorded_at`` is the log's time index: a BRIN on PostgreSQL (the log is appended in
``recorded_at`` order, so one summary per 128 pages answers a time range, for a few kilobytes instead
of a B-tree as large as a fifth of the table, and costs nearly nothing per insert); a plain index on
SQLite.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30
"""

from __future__ import annotations

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


#: Hash partitions per partitioned table (PostgreSQL).
PARTITIONS = 8

#: table -> (partition column, primary key columns, its constraint name, secondary indexes)
_PARTITIONED: dict[str, tuple[str, tuple[str, ...], str, dict[str, tuple[str, ...]]]] = {
    "event_links": ("stream", ("stream", "version"), "pk_event_links", {"ix_event_links_seq": ("seq",)}),
    "batteries": ("code", ("code",), "batteries_pkey", {
        "ix_batteries_parent": ("parent",), "ix_batteries_vin": ("vin",), "ix_batteries_state": ("state",),
        "ix_batteries_level_state": ("level", "state"), "ix_batteries_custodian_state": ("custodian", "state")}),
    "vehicles": ("vin", ("vin",), "vehicles_pkey", {"ix_vehicles_maker": ("maker",)}),
    "techinfo": ("stream", ("stream",), "techinfo_pkey", {}),
    "lineage": ("product", ("product", "source"), "pk_lineage", {"ix_lineage_source": ("source",)}),
}
_FILLFACTOR = {"batteries": 80, "vehicles": 80}
_GUARD = """CREATE TRIGGER {name}_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON {name}
FOR EACH STATEMENT EXECUTE FUNCTION battrace_append_only()"""


def _rebuild(table: str, *, partitioned: bool) -> None:
    """Recreate ``table`` (PostgreSQL) hash-partitioned or plain, with its rows, keys and indexes."""
    column, key, pk_name, indexes = _PARTITIONED[table]
    fill = _FILLFACTOR.get(table) if partitioned else None
    with_fill = f" WITH (fillfactor = {fill})" if fill else ""
    op.execute(f"ALTER TABLE {table} RENAME TO {table}_old")
    if partitioned:
        op.execute(f"CREATE TABLE {table} (LIKE {table}_old INCLUDING DEFAULTS) PARTITION BY HASH ({column})")
        for r in range(PARTITIONS):
            op.execute(f"CREATE TABLE {table}_p{r:02d} PARTITION OF {table} "
                       f"FOR VALUES WITH (MODULUS {PARTITIONS}, REMAINDER {r}){with_fill}")
    else:
        op.execute(f"CREATE TABLE {table} (LIKE {table}_old INCLUDING DEFAULTS){with_fill}")
    op.execute(f"INSERT INTO {table} SELECT * FROM {table}_old")
    op.execute(f"DROP TABLE {table}_old CASCADE")
    op.execute(f"ALTER TABLE {table} ADD CONSTRAINT {pk_name} PRIMARY KEY ({', '.join(key)})")
    for name, columns in indexes.items():
        op.execute(f"CREATE INDEX {name} ON {table} ({', '.join(columns)})")
    if table == "event_links":  # append-only: on the table and (statements may name one) on each partition
        for name in [table] + ([f"{table}_p{r:02d}" for r in range(PARTITIONS)] if partitioned else []):
            op.execute(_GUARD.format(name=name))


def upgrade() -> None:
    op.drop_index("ix_batteries_custodian", "batteries")
    op.create_index("ix_events_recorded_at", "events", ["recorded_at"], postgresql_using="brin")
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("CREATE SEQUENCE events_seq AS bigint")
    op.execute("SELECT setval('events_seq', coalesce(max(seq), 0) + 1, false) FROM events")
    for table in _PARTITIONED:
        _rebuild(table, partitioned=True)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP SEQUENCE events_seq")
        for table in _PARTITIONED:
            _rebuild(table, partitioned=False)
    op.create_index("ix_batteries_custodian", "batteries", ["custodian"])
    op.drop_index("ix_events_recorded_at", "events")
