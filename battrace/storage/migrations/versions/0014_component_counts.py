"""The statistics count a module or cell in a pack where the pack puts it: ``battery_counts`` recounted.

From this revision ``battery_counts`` counts every battery in the bucket readers see (whole life,
every level: a component in a parent takes its outermost ancestor's fate and holder), so that
``/api/v1/stats?level=M|C|all`` reads the aggregates as ``level=P`` does. No column changes: the
table's rows for modules and cells are recounted (slot 0). Downgrading recounts them by their own
stored state again (what revision 0011 counted).

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-01
"""

from __future__ import annotations

from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

#: States of the root a component takes over as they are (battrace.domain.state.FOLLOWED, as of this revision).
FOLLOWED = ("in_transit", "missing", "recycled", "remade", "swap_stock", "waste")

_ON_THEIR_OWN = (
    "SELECT b.level AS level, b.state AS state, b.chemistry AS chemistry, coalesce(o.region, '') AS region "
    "FROM batteries b LEFT JOIN orgs o ON o.credit_code = coalesce(b.custodian, b.maker) WHERE b.parent IS NULL"
)
_ROOT = "coalesce(p2.state, p1.state)"
_IN_A_PARENT = (
    f"SELECT b.level AS level, CASE WHEN {_ROOT} IN ({', '.join(repr(s) for s in FOLLOWED)}) THEN {_ROOT} "
    f"WHEN {_ROOT} = 'dismantled' THEN 'waste' ELSE b.state END AS state, b.chemistry AS chemistry, "
    "coalesce(o.region, '') AS region FROM batteries b LEFT JOIN batteries p1 ON p1.code = b.parent "
    "LEFT JOIN batteries p2 ON p2.code = p1.parent "
    "LEFT JOIN orgs o ON o.credit_code = coalesce(p2.custodian, p1.custodian, p2.maker, p1.maker, b.maker) "
    "WHERE b.parent IS NOT NULL"
)
_OWN_STATE = (
    "SELECT b.level AS level, b.state AS state, b.chemistry AS chemistry, coalesce(o.region, '') AS region "
    "FROM batteries b LEFT JOIN orgs o ON o.credit_code = coalesce(b.custodian, b.maker)"
)


def _recount(source: str) -> None:
    op.execute("DELETE FROM battery_counts")
    op.execute(
        "INSERT INTO battery_counts (level, state, chemistry, region, slot, n) "
        f"SELECT level, state, chemistry, region, 0, count(*) FROM ({source}) AS c "
        "GROUP BY level, state, chemistry, region"
    )


def upgrade() -> None:
    _recount(f"{_ON_THEIR_OWN} UNION ALL {_IN_A_PARENT}")


def downgrade() -> None:
    _recount(_OWN_STATE)
