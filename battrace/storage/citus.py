"""How the schema maps onto a distributed PostgreSQL (Citus), and the rules that keep it distributable.

Citus is not installed here (its extension is not packaged for this machine's PostgreSQL), so
nothing in the product calls it; this module is the plan, checked against the SQLAlchemy schema by
``tests/storage/test_distributable.py`` and explained in ``docs/scale.md``:

* :data:`DISTRIBUTED`: table -> distribution column. Citus requires every primary key and unique
  constraint of a distributed table to contain its distribution column, and a foreign key between
  distributed tables to join their distribution columns (colocated); one to a reference table is free.
* :data:`REFERENCE`: small, rarely written tables copied to every node (registries, findings).
* :data:`BLOCKERS`: tables whose keys cannot be distributed yet, with the change that fixes each.
  The check must find exactly these problems: fixing one, or adding another, fails the test.
"""

from __future__ import annotations

from collections.abc import Mapping
from collections.abc import Set as AbstractSet

from sqlalchemy import ForeignKeyConstraint, MetaData, PrimaryKeyConstraint, Table, UniqueConstraint

#: table -> its distribution column; tables that share values (a stream is a battery code) are colocated.
DISTRIBUTED: dict[str, str] = {
    "event_links": "stream",
    "batteries": "code",
    "techinfo": "stream",
    "vehicles": "vin",
    "lineage": "product",
    "components": "parent",
    "audit_log": "id",
    "battery_counts": "slot",
    "retirement_counts": "slot",
    "reporter_counts": "slot",
    "flow_counts": "slot",
    "installation_counts": "slot",
    # the two below are blocked (see BLOCKERS); these are their intended columns
    "events": "seq",
    "alarms": "battery",
}

#: Copied to every node: small registries and compliance state that joins with anything.
REFERENCE: frozenset[str] = frozenset({
    "orgs", "orgs_stamp", "api_keys", "findings", "finding_subjects", "compliance_timers", "compliance_sales",
    "alembic_version",
    # hash-chained side records: their chains are walked in one order, so they stay on every node
    "finding_log", "audit_chain",
    # supervision (cases, notifications, public reports, outlets): few rows, joined with findings and orgs
    "cases", "case_findings", "case_steps", "webhook_subscriptions", "webhook_outbox", "public_reports", "outlets",
})

#: Distribution problems known today, by table, and the key change that removes each.
BLOCKERS: dict[str, str] = {
    "events": "the unique (reporter, event_id) lacks seq: move that uniqueness to an event_keys table "
              "(reporter, event_id, seq) distributed by reporter, then events by seq",
    "alarms": "the unique episode (battery, hazard, first_at) lacks id: make the primary key (battery, id)",
}

#: Colocation groups: distributed tables whose distribution columns hold the same values.
COLOCATED: tuple[frozenset[str], ...] = (
    frozenset({"event_links", "batteries", "techinfo", "lineage", "components", "alarms"}),  # a stream / battery code
    frozenset({"battery_counts", "retirement_counts", "reporter_counts", "flow_counts", "installation_counts"}),
)


def _keys(table: Table) -> list[tuple[str, list[str]]]:
    out: list[tuple[str, list[str]]] = []
    for c in table.constraints:
        if isinstance(c, (PrimaryKeyConstraint, UniqueConstraint)) and len(c.columns):
            kind = "primary key" if isinstance(c, PrimaryKeyConstraint) else f"unique {c.name or ''}".strip()
            out.append((kind, [col.name for col in c.columns]))
    for index in table.indexes:
        if index.unique:
            out.append((f"unique index {index.name}", [col.name for col in index.columns]))
    return out


def problems(
    metadata: MetaData,
    distributed: Mapping[str, str] = DISTRIBUTED,
    reference: AbstractSet[str] = REFERENCE,
    colocated: tuple[frozenset[str], ...] = COLOCATED,
) -> dict[str, list[str]]:
    """Each table's reasons it cannot be distributed as planned (empty when all is well)."""
    DISTRIBUTED, REFERENCE = distributed, reference  # noqa: N806 - the plan under test

    def _colocated(a: str, b: str) -> bool:
        return a == b or any(a in group and b in group for group in colocated)

    found: dict[str, list[str]] = {}
    for name, table in metadata.tables.items():
        issues: list[str] = []
        if name not in DISTRIBUTED and name not in REFERENCE:
            issues.append(f"{name} is neither distributed nor a reference table: classify it in "
                          "battrace/storage/citus.py")
        column = DISTRIBUTED.get(name)
        if column is not None:
            if column not in table.columns:
                issues.append(f"{name}: the distribution column {column} is not a column of the table")
            for kind, cols in _keys(table):
                if column not in cols:
                    issues.append(f"{name}: {kind} ({', '.join(cols)}) does not contain the distribution "
                                  f"column {column}")
        for fk in (c for c in table.constraints if isinstance(c, ForeignKeyConstraint)):
            target = fk.referred_table.name
            if target in REFERENCE or name in REFERENCE and target in REFERENCE:
                continue
            if name in REFERENCE:
                issues.append(f"{name}: a reference table may only refer to reference tables, not {target}")
                continue
            pairs = {(e.parent.name, e.column.name) for e in fk.elements}
            if (column, DISTRIBUTED.get(target)) not in pairs or not _colocated(name, target):
                issues.append(f"{name}: foreign key to {target} does not join the distribution columns "
                              f"({column} -> {DISTRIBUTED.get(target)}) of colocated tables")
        if issues:
            found[name] = issues
    for name in (*DISTRIBUTED, *REFERENCE):
        if name not in metadata.tables and name != "alembic_version":
            found.setdefault(name, []).append(f"{name} is classified in battrace/storage/citus.py but is not "
                                              "in the schema")
    return found


def distribution_sql() -> list[str]:
    """The statements that would distribute the schema on a Citus coordinator (reference tables first)."""
    out = [f"SELECT create_reference_table('{t}');" for t in sorted(REFERENCE - {"alembic_version"})]
    anchors: dict[frozenset[str], str] = {}
    for table, column in sorted(DISTRIBUTED.items()):
        if table in BLOCKERS:
            continue
        group = next((g for g in COLOCATED if table in g), frozenset({table}))
        anchor = anchors.setdefault(group, table)
        colocate = "" if anchor == table else f", colocate_with => '{anchor}'"
        out.append(f"SELECT create_distributed_table('{table}', '{column}'{colocate});")
    return out
