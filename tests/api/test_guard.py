"""The one guarded read path: every refusal leaves an audit row; techinfo keyed by (maker, model)."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from sqlalchemy import func, select

from battrace.services.access import create_key, revoke_key
from battrace.storage import schema
from tests import story as s
from tests.api.conftest import NOW, Api

PACK, VIN = s.PACK, s.VIN


def _audit_rows(api: Api) -> list[dict[str, Any]]:
    a = schema.audit_log
    with api.platform.store.reader() as conn:
        return [dict(r._mapping) for r in conn.execute(select(a).order_by(a.c.id))]


def _revoked_key(api: Api) -> str:
    key = create_key(api.platform.store, s.REUSER, NOW)
    revoke_key(api.platform.store, key[3:].partition("_")[0], NOW)
    return key


UNKNOWN = s.code("P", 99)
#: (path, role) of every refusal a guarded read can give: no key, a revoked key, an unrelated
#: organisation, a restricted read of something not on record, a regulator without jurisdiction.
REFUSALS: list[tuple[str, str, int]] = [
    (f"/api/v1/batteries/{PACK}/history", "anonymous", 401),
    (f"/api/v1/batteries/{PACK}/history", "revoked", 401),
    (f"/api/v1/batteries/{PACK}/history", "unrelated", 403),
    (f"/api/v1/batteries/{UNKNOWN}/history", "maker", 404),
    (f"/api/v1/batteries/{PACK}", "revoked", 401),
    (f"/api/v1/vehicles/{VIN}", "anonymous", 401),
    (f"/api/v1/vehicles/{VIN}", "revoked", 401),
    (f"/api/v1/vehicles/{VIN}", "unrelated", 403),
    (f"/api/v1/batteries/{PACK}/epcis", "anonymous", 401),
    (f"/api/v1/batteries/{PACK}/epcis", "revoked", 401),
    (f"/api/v1/batteries/{PACK}/epcis", "unrelated", 403),
    (f"/api/v1/batteries/{PACK}/passport", "anonymous", 401),
    (f"/api/v1/batteries/{PACK}/passport", "unrelated", 403),
    (f"/api/v1/batteries/{PACK}/value", "anonymous", 401),
    (f"/api/v1/batteries/{PACK}/value", "unrelated", 403),
    ("/api/v1/techinfo/X1", "anonymous", 401),
    ("/api/v1/techinfo/X1", "revoked", 401),
    ("/api/v1/techinfo/X1", "dismantler", 403),
    ("/api/v1/techinfo/NOPE", "admin", 404),
    ("/api/v1/findings", "anonymous", 401),
    ("/api/v1/findings", "revoked", 401),
    ("/api/v1/alarms", "anonymous", 401),
]


@pytest.mark.parametrize(("path", "role", "status"), REFUSALS)
def test_every_refusal_leaves_one_audit_row(story_api: Api, path: str, role: str, status: int) -> None:
    headers = ({"Authorization": f"Bearer {_revoked_key(story_api)}"} if role == "revoked"
               else story_api.headers(role))
    before = len(_audit_rows(story_api))
    r = story_api.client.get(path, headers=headers)
    assert r.status_code == status, r.json()
    rows = _audit_rows(story_api)
    assert len(rows) == before + 1
    row = rows[-1]
    assert row["allowed"] is False and row["reason"]
    if role == "revoked":
        assert row["key_id"] is not None and "revoked" in row["reason"]
    if role == "anonymous":
        assert row["actor_org"] is None and row["key_id"] is None


def test_a_read_at_a_moment_records_the_moment(story_api: Api) -> None:
    r = story_api.client.get(f"/api/v1/batteries/{PACK}?at=2026-11-22T00:00:00Z", headers=story_api.headers("maker"))
    assert r.status_code == 200 and r.json()["tier"] == "participant"
    row = _audit_rows(story_api)[-1]
    assert (row["action"], row["allowed"], row["battery"]) == ("battery.read", True, PACK)
    assert row["as_of"].isoformat() == "2026-11-22T00:00:00+00:00"


def test_public_reads_are_not_audited(story_api: Api) -> None:
    before = len(_audit_rows(story_api))
    assert story_api.client.get(f"/api/v1/batteries/{PACK}").json()["tier"] == "public"
    assert story_api.client.get(f"/api/v1/batteries/{PACK}", headers=story_api.headers("unrelated")).status_code == 200
    assert len(_audit_rows(story_api)) == before


# -- techinfo keyed by (maker, model) ---------------------------------------------------------

OTHER_PACK = s.code("P", 5, maker="02L", day=date(2024, 3, 5))
DOC_A, DOC_B = "https://example.org/x1-dismantling.pdf", "https://other.example/x1-teardown.pdf"


def _post(api: Api, key: str, *events: dict[str, Any]) -> None:
    r = api.client.post("/api/v1/events", json=list(events), headers={"Authorization": f"Bearer {key}"})
    assert r.status_code == 200 and r.json()["accepted"] == len(events), r.json()


def _docs(api: Api, role: str, query: str = "") -> tuple[int, Any]:
    r = api.client.get(f"/api/v1/techinfo/X1{query}", headers=api.headers(role))
    return r.status_code, r.json()


def test_techinfo_of_another_maker_with_the_same_model_name_is_not_served(story_api: Api) -> None:
    other = create_key(story_api.platform.store, s.OTHER_MAKER, NOW)
    ev = s.ev
    _post(story_api, other,
          ev(900, "battery.produced", s.OTHER_MAKER, "2024-03-05T09:00:00+08:00", battery=OTHER_PACK, **s.FIG),
          ev(901, "techinfo.filed", s.OTHER_MAKER, "2024-03-06T09:00:00+08:00", model="X1",
             ccc_certified_at="2024-01-10T00:00:00+08:00", document=DOC_B))
    # the re-use enterprise holds maker A's X1 only: A's document, never B's
    status, docs = _docs(story_api, "holder", "?purpose=re-use%20assessment")
    assert status == 200 and [d["document"] for d in docs] == [DOC_A]
    row = _audit_rows(story_api)[-1]
    assert (row["allowed"], row["purpose"], row["battery"]) == (True, "re-use assessment", PACK)
    # asking for maker B's document by name does not help
    status, _ = _docs(story_api, "holder", f"?maker={s.OTHER_MAKER}")
    assert status == 403
    # the recycler receives maker B's X1 (production scrap: a recycler takes only waste): B's document only
    _post(story_api, other, ev(904, "battery.discarded", s.OTHER_MAKER, "2026-05-31T10:00:00+08:00",
                               battery=OTHER_PACK, reason="end-of-line failure"),
          ev(902, "battery.handed_over", s.OTHER_MAKER, "2026-06-01T10:00:00+08:00",
             batteries=[OTHER_PACK], to=s.RECYCLER))
    _post(story_api, story_api.keys["recycler"], ev(903, "battery.received", s.RECYCLER, "2026-06-02T10:00:00+08:00",
                                                    batteries=[OTHER_PACK], **{"from": s.OTHER_MAKER}))
    status, docs = _docs(story_api, "recycler", f"?battery={OTHER_PACK}&purpose=dismantling")
    assert status == 200 and [d["document"] for d in docs] == [DOC_B]
    row = _audit_rows(story_api)[-1]
    assert (row["resource"], row["purpose"], row["battery"]) == ("X1", "dismantling", OTHER_PACK)
    # the admin sees both
    status, docs = _docs(story_api, "admin")
    assert status == 200 and sorted(d["document"] for d in docs) == sorted([DOC_A, DOC_B])


def test_techinfo_ends_when_the_held_battery_is_recycled(story_api: Api) -> None:
    # the recycler's only X1 (SPARE) is recycled in the story: refused, and audited
    status, body = _docs(story_api, "recycler")
    assert status == 403 and "not yet recycled" in body["error"]
    a = schema.audit_log
    with story_api.platform.store.reader() as conn:
        refused = conn.execute(select(func.count()).select_from(a).where(
            a.c.actor_org == s.RECYCLER, a.c.action == "techinfo.read", a.c.allowed.is_(False))).scalar_one()
    assert refused == 1


def test_role_scoping_is_decided_in_one_place() -> None:
    """The registry refuses a regulator without a jurisdiction; should one reach a list anyway, it
    gets no scope (refused) rather than the national view."""
    from battrace.domain.access import Caller, Scope, scope_for

    assert scope_for(Caller(org="x", org_type="regulator")) is None
    assert scope_for(Caller(org="x", org_type="regulator", jurisdiction="440000")) == Scope(region_prefix="44")
    assert scope_for(Caller(org="x", org_type="recycler")) == Scope(org="x")
    assert scope_for(Caller(admin=True)) == Scope(everything=True)
    assert scope_for(Caller()) is None
