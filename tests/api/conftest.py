"""An in-process client of the real app on a real database, with a key per role."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient

from battrace.api import create_app
from battrace.config import Settings
from battrace.services.access import create_key
from battrace.services.orgs import import_orgs
from battrace.services.platform import Platform
from tests import story as s

NOW = datetime(2026, 11, 21, 8, 0, tzinfo=UTC)
FAR_REGULATOR = s.credit(11)
NATIONAL_REGULATOR = s.credit(12)


@dataclass
class Api:
    client: TestClient
    platform: Platform
    keys: dict[str, str]

    def headers(self, role: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.keys[role]}"} if role in self.keys else {}


def build(db_url: str, *, batch_limit: int = 10_000) -> Api:
    platform = Platform(Settings(database_url=db_url, batch_limit=batch_limit), now=lambda: NOW)
    orgs = s.orgs() + [
        {"credit_code": FAR_REGULATOR, "name": "北京市经信局", "type": "regulator", "jurisdiction": "110000"},
        {"credit_code": NATIONAL_REGULATOR, "name": "工业和信息化部", "type": "regulator", "jurisdiction": "000000"},
    ]
    import_orgs(platform.store, orgs, NOW)
    roles = {
        "maker": s.BATTERY_MAKER, "vehicle_maker": s.VEHICLE_MAKER, "holder": s.REUSER, "repair_shop": s.REPAIR_SHOP,
        "unrelated": s.SWAPPER, "dismantler": s.DISMANTLER, "recycler": s.RECYCLER, "outlet": s.OUTLET,
        "regulator": s.REGULATOR, "far_regulator": FAR_REGULATOR, "national_regulator": NATIONAL_REGULATOR,
    }
    keys = {role: create_key(platform.store, org, NOW) for role, org in roles.items()}
    keys["admin"] = create_key(platform.store, None, NOW, admin=True)
    return Api(TestClient(create_app(platform, with_web=False)), platform, keys)


@pytest.fixture
def api(sqlite_url: str) -> Iterator[Api]:
    a = build(sqlite_url)
    yield a
    a.platform.close()


@pytest.fixture
def story_api(api: Api) -> Api:
    """The app with the scripted story reported by each party through HTTP."""
    by_reporter: dict[str, str] = {}
    for role in api.keys:
        if role != "admin":
            by_reporter[api.platform.store and _org_of(api, role)] = role
    for event in s.story():
        role = by_reporter[event["reporter"]]
        r = api.client.post("/api/v1/events", json=event, headers=api.headers(role))
        assert r.status_code == 200 and r.json()["accepted"] == 1, r.json()
    return api


def _org_of(api: Api, role: str) -> str:
    from battrace.services.access import authenticate

    caller = authenticate(api.platform.store, f"Bearer {api.keys[role]}")
    assert caller.org is not None
    return caller.org
