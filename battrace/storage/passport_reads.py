"""The reads of a current digital ID and a history in one statement each (PostgreSQL).

A passport used to take six statements and two transactions (twelve round trips with the
``BEGIN``/``COMMIT`` psycopg sends and the pool's ping), each a SQLAlchemy Core select built per
call: at 10^6 events the database's share was about 0.3 ms and the client's several milliseconds
(docs/performance.md, issue 18). Here everything the current passport needs comes back in one row
of one constant statement, run outside an explicit transaction (one statement sees one snapshot,
so the parts are also consistent with each other, which separate statements were not):

- the organisation registry's stamp (``orgs_stamp``: :meth:`Store.load_orgs` reuses its parsed
  cache when it is unchanged), the battery's read-model row and up to three ancestors' (as
  :meth:`Store.get_battery_line`), its components, its lineage both ways,
- its stream (links joined to events) as one JSON array, each body embedded as JSON,
- the vehicle of the battery's effective ``vin`` (its outermost ancestor's when it has one, as
  :func:`battrace.domain.wholelife.effective` derives it),
- the findings naming the battery or that ancestor, as JSON rows, each with whether it names the
  battery itself.

The statement text never changes, so psycopg prepares it after a few executions (no parse or
plan per call). SQLite keeps the separate statements (no network, no round trips to save): the
caller uses these reads only on the databases in :data:`DIALECTS`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from types import SimpleNamespace
from typing import Any

from sqlalchemy import Connection

from battrace.storage.compliance import finding_dict

#: The databases these one-statement reads are written for.
DIALECTS = frozenset({"postgresql"})
_TIMES = ("raised_at", "due_at", "resolved_at")

# the outermost ancestor present (the line stops at the first missing parent, as get_battery_line's)
_ROOT = "CASE WHEN p1.code IS NULL THEN NULL WHEN p2.code IS NULL THEN p1.code WHEN p3.code IS NULL THEN p2.code " \
        "ELSE p3.code END"
_VIN = "CASE WHEN p1.code IS NULL THEN b.vin WHEN p2.code IS NULL THEN p1.vin WHEN p3.code IS NULL THEN p2.vin " \
       "ELSE p3.vin END"

_COLUMNS = "code, level, doc, version, head, vin, parent"
# A cell has no components (a component goes only into a higher level: integrity.assemble), so its
# passport skips the children lookup. The others read ``components`` (migration 0016), partitioned by
# parent: one probe, where ``batteries.parent`` (batteries being partitioned by code) took one probe
# per partition and then each component's row — 27 of a cold pack's 47 pages read at 10^7.
# Every battery row is read by a LATERAL subquery with LIMIT 1 (the keys are unique): the plan's row
# estimate stays 1 whatever the statistics. As a plain join on a table never analysed (a fresh
# database; autovacuum off) PostgreSQL estimated thousands of rows, which put the statement's cost
# above ``jit_above_cost``: a 1.3 s JIT compilation for a 0.5 ms read.
_PASSPORT_PG = f"""
SELECT (SELECT version FROM orgs_stamp) AS orgs_version,
  b.doc, b.version, b.head, p1.doc AS d1, p2.doc AS d2, p3.doc AS d3, x.root, x.vin,
  CASE WHEN b.level <> 'C' THEN
    (SELECT array_agg(c.code ORDER BY c.code) FROM components c WHERE c.parent = b.code) END AS children,
  (SELECT array_agg(s.source) FROM lineage s WHERE s.product = b.code) AS sources,
  (SELECT array_agg(s.product) FROM lineage s WHERE s.source = b.code) AS products,
  (SELECT json_agg(json_build_array(l.version, l.hash, e.seq, e.recorded_at, e.imported, e.body::json, e.hash,
                                    e.type, e.schema_version) ORDER BY l.version)
     FROM event_links l JOIN events e ON e.seq = l.seq WHERE l.stream = b.code) AS events,
  (SELECT v.doc FROM vehicles v WHERE v.vin = x.vin) AS vehicle,
  (SELECT json_agg(json_build_array(f.id IN (SELECT m.finding_id FROM finding_subjects m
                                             WHERE m.kind = 'battery' AND m.value = b.code),
                                    row_to_json(f)) ORDER BY f.id)
     FROM findings f WHERE f.id IN (SELECT s.finding_id FROM finding_subjects s
                                    WHERE s.kind = 'battery' AND s.value IN (b.code, x.root))) AS findings
FROM (SELECT {_COLUMNS} FROM batteries WHERE code = %(code)s LIMIT 1) b
  LEFT JOIN LATERAL (SELECT {_COLUMNS} FROM batteries WHERE code = b.parent LIMIT 1) p1 ON true
  LEFT JOIN LATERAL (SELECT {_COLUMNS} FROM batteries WHERE code = p1.parent LIMIT 1) p2 ON true
  LEFT JOIN LATERAL (SELECT {_COLUMNS} FROM batteries WHERE code = p2.parent LIMIT 1) p3 ON true
  CROSS JOIN LATERAL (SELECT {_ROOT} AS root, {_VIN} AS vin) x
"""

_HISTORY_PG = ("SELECT l.version, l.hash AS link, e.seq, e.recorded_at, e.imported, e.body, e.hash, e.type, "
               "e.schema_version FROM event_links l JOIN events e ON e.seq = l.seq WHERE l.stream = %(code)s "
               "ORDER BY l.version")
_HISTORY_COLUMNS = ("version", "link", "seq", "recorded_at", "imported", "body", "hash", "type", "schema_version")


@dataclass(frozen=True, slots=True)
class PassportRows:
    """What one statement returned for a current passport (documents still as stored)."""

    orgs_stamp: tuple[Any, ...]
    doc: str
    version: int
    head: str
    ancestor_docs: list[str]  # parent first
    root: str | None  # the outermost ancestor's code
    vin: str | None  # the effective vin the vehicle was looked up by
    vehicle_doc: str | None
    children: list[str]
    sources: list[str]  # sorted
    products: list[str]  # sorted
    events: list[dict[str, Any]]  # parsed: body is a dict, recorded_at a datetime
    findings: list[tuple[bool, dict[str, Any]]]  # (names the battery itself, the finding as finding_dict)


def current_passport(conn: Connection, code: str) -> PassportRows | None:
    """The parts of battery ``code``'s current passport in one statement; ``None`` when it has no
    read-model row."""
    row = conn.exec_driver_sql(_PASSPORT_PG, {"code": code}).first()
    if row is None:
        return None
    (orgs_version, doc, version, head, d1, d2, d3, root, vin, children, sources, products, events, vehicle,
     findings) = row
    return PassportRows(
        orgs_stamp=(orgs_version,), doc=doc, version=version, head=head,
        ancestor_docs=[d for d in (d1, d2, d3) if d is not None], root=root, vin=vin, vehicle_doc=vehicle,
        children=list(children or ()), sources=sorted(sources or ()), products=sorted(products or ()),
        events=[{"version": ev[0], "link": ev[1], "seq": ev[2], "recorded_at": datetime.fromisoformat(ev[3]),
                 "imported": ev[4], "body": ev[5], "hash": ev[6], "type": ev[7], "schema_version": ev[8]}
                for ev in events or ()],
        findings=[(bool(mine), _finding(f)) for mine, f in findings or ()],
    )


def _finding(row: dict[str, Any]) -> dict[str, Any]:
    """A findings row that arrived as JSON, as :func:`finding_dict` shows it."""
    for name in _TIMES:
        if row[name] is not None:
            row[name] = datetime.fromisoformat(row[name])
    return finding_dict(SimpleNamespace(**row))


def history_rows(conn: Connection, code: str) -> list[dict[str, Any]]:
    """The events of battery ``code``'s stream in order, as :meth:`Store.stream_events` returns them,
    by one constant driver statement."""
    return [dict(zip(_HISTORY_COLUMNS, r, strict=True)) for r in conn.exec_driver_sql(_HISTORY_PG, {"code": code})]
