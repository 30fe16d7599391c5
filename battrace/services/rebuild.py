"""``battrace rebuild``: the read models replayed from the log, in one transaction.

The log is folded stream by stream with the code ``verify`` compares with
(:func:`battrace.services.replay.fold_streams`: stored events upcast from their schema version and
trusted). Each read-model row (``batteries``, ``vehicles``, ``techinfo``) that differs from its
fold is rewritten, rows whose stream is not in the log are deleted, the ``lineage`` table is
re-derived from the ``battery.remanufactured`` events and the regulators' aggregates are recounted.
The report says what differed (counts per table and the first rows, naming the first column).

The log itself is not touched: when it is broken (a chain, a missing event, an event that cannot
be folded) nothing is written and :class:`~battrace.errors.LogTampered` names the first problem —
``battrace verify`` tells the whole story.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection

from battrace.domain.events import Event
from battrace.errors import LogTampered
from battrace.services.counts import rebuild_counts
from battrace.services.replay import KEYS, StreamFold, expected_row, fold_streams, lineage_of, table_of
from battrace.storage import read_models, verification
from battrace.storage.store import Store

_BUFFER = 2000
_SHOWN = 100
TABLES = ("batteries", "vehicles", "techinfo", "lineage", "components")


@dataclass
class RebuildReport:
    streams: int = 0
    links: int = 0
    #: Per table: rows ``added`` (missing before), ``changed``, ``removed`` (no stream in the log).
    tables: dict[str, dict[str, int]] = field(
        default_factory=lambda: {t: {"added": 0, "changed": 0, "removed": 0} for t in TABLES})
    differences: list[dict[str, Any]] = field(default_factory=list)

    @property
    def identical(self) -> bool:
        return not any(n for counts in self.tables.values() for n in counts.values())

    def note(self, table: str, what: str, key: str, column: str | None = None) -> None:
        self.tables[table][what] += 1
        if len(self.differences) < _SHOWN:
            self.differences.append({"table": table, "key": key, "difference": what}
                                    | ({"column": column} if column else {}))

    def as_dict(self) -> dict[str, Any]:
        return {"identical": self.identical, "streams": self.streams, "links": self.links, "tables": self.tables,
                "differences": self.differences}


def rebuild(store: Store, progress: Callable[[int], None] | None = None) -> RebuildReport:
    """Replay the log into the read models (one write transaction, other writers excluded)."""
    report = RebuildReport()
    derived: set[tuple[str, str, int]] = set()

    def broken(kind: str, message: str, **context: Any) -> None:
        raise LogTampered(f"the log is broken, nothing was rebuilt: {message} (run battrace verify)", kind=kind,
                          **context)

    def on_event(seq: int, event: Event) -> None:
        derived.update(lineage_of(seq, event))

    with store.writer() as conn:
        pending: list[StreamFold] = []
        for fold in fold_streams(verification.links_with_events(conn), broken, on_event):
            report.streams += 1
            report.links += fold.links
            if progress:
                progress(fold.links)
            pending.append(fold)
            if len(pending) >= _BUFFER:
                _write(store, conn, pending, report)
                pending = []
        _write(store, conn, pending, report)
        for table, key in read_models.delete_rows_without_stream(conn):
            report.note(table, "removed", key)
        removed, added = read_models.repair_components(conn)
        for parent, code in removed:
            report.note("components", "removed", f"{parent}/{code}")
        for parent, code in added:
            report.note("components", "added", f"{parent}/{code}")
        stored = verification.lineage(conn)
        if stored != derived:
            for product, source, _ in sorted(derived - stored):
                report.note("lineage", "added", f"{product}/{source}")
            for product, source, _ in sorted(stored - derived):
                report.note("lineage", "removed", f"{product}/{source}")
            read_models.replace_lineage(conn, derived)
        rebuild_counts(store, conn)
    return report


def _write(store: Store, conn: Connection, folds: list[StreamFold], report: RebuildReport) -> None:
    """Rewrite the rows of ``folds`` that differ from their fold."""
    by_table: dict[str, list[tuple[str, StreamFold]]] = {}
    for fold in folds:
        table, key = table_of(fold.stream)
        by_table.setdefault(table, []).append((key, fold))
    for table, entries in by_table.items():
        stored = verification.read_model_rows(conn, table, [k for k, _ in entries])
        rows: list[dict[str, Any]] = []
        for key, fold in entries:
            row = {KEYS[table]: key, **expected_row(table, fold)}
            old = stored.get(key)
            if old is None:
                report.note(table, "added", key)
            else:
                column = next((c for c, v in row.items() if old.get(c) != v), None)
                if column is None:
                    continue
                report.note(table, "changed", key, column)
            rows.append(row)
        read_models.upsert_rows(store, conn, table, rows)
