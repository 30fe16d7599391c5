"""Database server settings the platform depends on, read back so that an operator hears of them.

The platform never changes a server's settings (they are the operator's), but some make a large
database decay in ways no code of ours can undo. Measured on this project's own benchmarks
(docs/performance.md, issue 18): with ``autovacuum`` off, no table of a 10^7-event load had ever
been vacuumed — about 10 % dead rows in ``batteries``, no visibility map, so no index-only scans —
and only the ledger's own ``ANALYZE`` kept the planner's statistics current. Each warning is one
sentence naming the setting, what it costs and what to do.
"""

from __future__ import annotations

from battrace.storage.store import Store

#: setting -> (value that warrants a warning, the warning)
_WARNINGS: dict[str, tuple[str, str]] = {
    "autovacuum": ("off", "autovacuum is off: the read models' dead rows are never reclaimed and their visibility "
                          "maps never set, so tables and indexes grow and reads slow as the log grows; turn it on "
                          "(postgresql.conf: autovacuum = on)"),
    "track_counts": ("off", "track_counts is off: autovacuum cannot tell which tables need vacuuming or analysing; "
                            "turn it on (postgresql.conf: track_counts = on)"),
}


def setting_warnings(store: Store) -> list[str]:
    """The server settings an operator should change, each as one sentence (none on SQLite)."""
    if store.dialect != "postgresql":
        return []
    with store.reader() as conn:
        rows = conn.exec_driver_sql("SELECT name, setting FROM pg_settings WHERE name = ANY(%(names)s) ORDER BY name",
                                    {"names": list(_WARNINGS)}).all()
    return [_WARNINGS[name][1] for name, setting in rows if setting == _WARNINGS[name][0]]
