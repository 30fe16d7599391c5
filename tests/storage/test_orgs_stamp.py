"""The registry's cached parse is checked by one stamp row that every change to ``orgs`` raises
(migration 0015): an import, another process's import and a manual edit are all seen at the next
read, and a read that changes nothing keeps the cache."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import text

from battrace.domain.credit import with_check_char
from battrace.services.orgs import import_orgs
from battrace.storage.store import Store

NOW = datetime(2026, 12, 1, tzinfo=UTC)


def _org(serial: int, name: str) -> dict[str, object]:
    return {"credit_code": with_check_char(f"91110000MA{serial:07d}"), "name": name, "type": "recycler",
            "region": "110000"}


def _stamp(store: Store) -> int:
    with store.reader() as conn:
        return int(conn.execute(text("SELECT version FROM orgs_stamp")).scalar_one())


def _names(store: Store) -> list[str]:
    """The organisations' names as the store's cached registry reads them now."""
    with store.reader() as conn:
        return sorted(o.name for o in store.load_orgs(conn).values())


def test_every_change_to_the_registry_raises_the_stamp_and_is_seen(db_url: str) -> None:
    store, other = Store(db_url), Store(db_url)  # two processes' stores on one database
    try:
        first = _org(1, "甲回收")
        import_orgs(store, [first], NOW)
        assert _names(store) == ["甲回收"]
        before = _stamp(store)

        import_orgs(other, [first, _org(2, "乙回收")], NOW)  # another process's import
        assert _stamp(store) > before
        assert _names(store) == ["乙回收", "甲回收"]

        before = _stamp(store)
        with other.writer() as conn:  # a manual edit, past the import's code
            conn.execute(text("UPDATE orgs SET doc = replace(doc, '乙回收', '丙回收'), name = '丙回收' "
                              "WHERE name = '乙回收'"))
        assert _stamp(store) > before
        assert _names(store) == ["丙回收", "甲回收"]

        before = _stamp(store)
        with other.writer() as conn:
            conn.execute(text("DELETE FROM orgs WHERE name = '丙回收'"))
        assert _stamp(store) > before
        assert _names(store) == ["甲回收"]
    finally:
        store.close()
        other.close()


def test_reads_keep_the_parsed_registry_while_the_stamp_stands(db_url: str) -> None:
    store = Store(db_url)
    try:
        import_orgs(store, [_org(3, "丁回收")], NOW)
        with store.reader() as conn:
            store.load_orgs(conn)
        cached = store._orgs
        with store.reader() as conn:
            store.load_orgs(conn)
            store.load_orgs(conn, (_stamp(store),))
        assert store._orgs is cached  # not parsed again
    finally:
        store.close()
