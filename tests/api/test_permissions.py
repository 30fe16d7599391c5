"""Permission matrix: every role × endpoint × relation to the battery gets the expected status."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from battrace.storage import schema
from tests import story as s
from tests.api.conftest import Api

ROLES = ["anonymous", "maker", "vehicle_maker", "holder", "repair_shop", "unrelated", "dismantler", "recycler",
         "regulator", "far_regulator", "national_regulator", "admin"]
PACK, VIN = s.PACK, s.VIN

# expected status per endpoint, per role (relation to PACK / VIN / model X1 follows from the story)
MATRIX: dict[str, tuple[str, dict[str, int]]] = {
    "battery": (f"/api/v1/batteries/{PACK}", {}),  # always 200: public tier at least
    "public": (f"/api/v1/public/batteries/{PACK}", {}),
    "history": (f"/api/v1/batteries/{PACK}/history", {
        "anonymous": 401, "unrelated": 403, "dismantler": 403, "recycler": 403, "far_regulator": 403}),
    "vehicle": (f"/api/v1/vehicles/{VIN}", {
        "anonymous": 401, "maker": 403, "holder": 403, "unrelated": 403, "recycler": 403, "far_regulator": 403}),
    "findings": ("/api/v1/findings", {"anonymous": 401}),
    "stats": ("/api/v1/stats", {r: 403 for r in ROLES if "regulator" not in r and r != "admin"} | {"anonymous": 401}),
    "orgs": ("/api/v1/orgs", {r: 403 for r in ROLES if r != "admin"} | {"anonymous": 401}),
    "techinfo": ("/api/v1/techinfo/X1", {
        "anonymous": 401, "maker": 403, "vehicle_maker": 403, "unrelated": 403, "repair_shop": 403,
        "dismantler": 403, "recycler": 403, "regulator": 403, "far_regulator": 403, "national_regulator": 403}),
    "audit": ("/api/v1/audit", {r: 403 for r in ROLES if "regulator" not in r and r != "admin"} | {"anonymous": 401}),
}
FULL_TIER = {"maker": "participant", "vehicle_maker": "participant", "holder": "participant",
             "repair_shop": "participant", "dismantler": "public", "recycler": "public", "unrelated": "public",
             "regulator": "regulator", "far_regulator": "public", "national_regulator": "regulator",
             "admin": "admin", "anonymous": "public"}


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("endpoint", list(MATRIX))
def test_permission_matrix(story_api: Api, endpoint: str, role: str) -> None:
    path, refusals = MATRIX[endpoint]
    r = story_api.client.get(path, headers=story_api.headers(role))
    expected = refusals.get(role, 200)
    assert r.status_code == expected, (endpoint, role, r.json())
    if expected != 200:
        body = r.json()
        assert body["ok"] is False and body["status"] == expected and body["code"]


@pytest.mark.parametrize("role", ROLES)
def test_battery_is_served_at_the_callers_tier(story_api: Api, role: str) -> None:
    body = story_api.client.get(f"/api/v1/batteries/{PACK}", headers=story_api.headers(role)).json()
    assert body["tier"] == FULL_TIER[role]
    if body["tier"] == "public":
        assert "history" not in body and "custodian" not in body
        assert body["retired_ev_battery"] is True
    else:
        assert body["history"] and body["custodian"]["credit_code"] == s.REUSER


def test_every_restricted_read_is_audited_with_refusals(story_api: Api) -> None:
    story_api.client.get("/api/v1/techinfo/X1", headers=story_api.headers("dismantler"))
    story_api.client.get("/api/v1/techinfo/X1", headers=story_api.headers("holder"))
    story_api.client.get(f"/api/v1/batteries/{PACK}/history", headers=story_api.headers("unrelated"))
    rows = story_api.client.get("/api/v1/audit?limit=10", headers=story_api.headers("national_regulator")).json()
    seen = {(r["actor_org"], r["action"], r["allowed"]) for r in rows}
    assert (s.DISMANTLER, "techinfo.read", False) in seen
    assert (s.REUSER, "techinfo.read", True) in seen
    assert (s.SWAPPER, "battery.history", False) in seen
    refused = next(r for r in rows if r["actor_org"] == s.DISMANTLER)
    assert "holds no battery" in refused["reason"]


def test_provincial_regulator_sees_only_its_jurisdictions_audit(story_api: Api) -> None:
    story_api.client.get("/api/v1/techinfo/X1", headers=story_api.headers("holder"))  # holder is in 430100
    mine = story_api.client.get("/api/v1/audit", headers=story_api.headers("regulator")).json()
    assert all(r["actor_org"] != s.REUSER for r in mine)


def test_keys_store_only_a_hash(api: Api) -> None:
    with api.platform.store.reader() as conn:
        stored = [r.secret_hash for r in conn.execute(select(schema.api_keys.c.secret_hash))]
    for key in api.keys.values():
        assert all(key.split("_", 2)[2] not in h for h in stored)
