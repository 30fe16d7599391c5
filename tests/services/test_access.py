"""Authentication reads the key on every request: what another process changes is seen at once.

``battrace serve --workers N`` runs several processes and ``battrace keys revoke`` another one, so
nothing about a key's validity may be remembered by the process that answers; only the parsing of
the organisation's stored document is (keyed by that document's text).
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from battrace.errors import Unauthorized
from battrace.services.access import authenticate, create_key, revoke_key
from battrace.services.orgs import import_orgs
from battrace.storage.store import Store
from tests import story as s

NOW = datetime(2026, 11, 21, 8, 0, tzinfo=UTC)


def _key_id(key: str) -> str:
    return key[3:].partition("_")[0]


def test_a_key_revoked_by_another_process_is_refused_at_its_next_request_when_it_was_just_used(
        db_url: str) -> None:
    server, other = Store(db_url), Store(db_url, migrate=False)  # two processes' views of one database
    try:
        import_orgs(server, s.orgs(), NOW)
        key = create_key(server, s.BATTERY_MAKER, NOW)
        for _ in range(3):  # used, so that anything the server could remember about it is warm
            assert authenticate(server, f"Bearer {key}").org == s.BATTERY_MAKER
        revoke_key(other, _key_id(key), NOW)
        with pytest.raises(Unauthorized, match="revoked"):
            authenticate(server, f"Bearer {key}")
    finally:
        server.close()
        other.close()


def test_the_callers_organisation_is_read_afresh_when_another_process_changes_it(db_url: str) -> None:
    server, other = Store(db_url), Store(db_url, migrate=False)
    try:
        orgs = s.orgs()
        import_orgs(server, orgs, NOW)
        regulator = next(o for o in orgs if o["credit_code"] == s.REGULATOR)
        key = create_key(server, s.REGULATOR, NOW)
        before = authenticate(server, f"Bearer {key}")
        moved = {**regulator, "jurisdiction": "110000"}
        import_orgs(other, [o if o is not regulator else moved for o in orgs], NOW)
        after = authenticate(server, f"Bearer {key}")
        assert before.jurisdiction == regulator["jurisdiction"] != "110000"
        assert after.jurisdiction == "110000" and after.org == s.REGULATOR and after.org_type == "regulator"
    finally:
        server.close()
        other.close()


def test_a_wrong_secret_is_refused_when_the_key_id_is_known(sqlite_url: str) -> None:
    store = Store(sqlite_url)
    try:
        import_orgs(store, s.orgs(), NOW)
        key = create_key(store, s.BATTERY_MAKER, NOW)
        assert authenticate(store, f"Bearer {key}").org == s.BATTERY_MAKER
        with pytest.raises(Unauthorized, match="unknown API key"):
            authenticate(store, f"Bearer {key[:-1]}{'A' if key[-1] != 'A' else 'B'}")
        admin = create_key(store, None, NOW, admin=True)
        assert authenticate(store, f"Bearer {admin}").admin
    finally:
        store.close()
