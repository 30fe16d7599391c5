"""The scripted story and its second life, reported by each party over HTTP: every code answers the
truth on the public check, at every level."""

from __future__ import annotations

from tests import story as s
from tests.api.conftest import Api, _org_of


def _report(api: Api, events: list[dict]) -> None:
    by_reporter = {_org_of(api, role): role for role in api.keys if role != "admin"}
    for event in events:
        r = api.client.post("/api/v1/events", json=event, headers=api.headers(by_reporter[event["reporter"]]))
        assert r.status_code == 200 and r.json()["accepted"] == 1, r.json()


def _public(api: Api, code: str) -> dict:
    r = api.client.get(f"/api/v1/public/batteries/{code}")
    assert r.status_code == 200, r.text
    return r.json()


def test_every_level_of_the_story_answers_retired_once_its_pack_left_ev_service(story_api: Api) -> None:
    # the pack was re-made into the product: its modules and cells went with it
    for code in (s.PACK, *s.MODULES, *s.CELLS):
        view = _public(story_api, code)
        assert view["retired_ev_battery"] is True and view["state"] == "remade", code
    for code in (*s.MODULES, *s.CELLS):
        assert _public(story_api, code)["pack"] == {"code": s.PACK, "retired": True,
                                                    "retired_at": "2025-06-01T10:00:00+08:00"}
    assert _public(story_api, s.PRODUCT)["state"] == "in_service"


def test_the_second_life_ends_in_recycling(story_api: Api) -> None:
    _report(story_api, s.second_life())
    product = _public(story_api, s.PRODUCT)
    assert (product["state"], product["remade_product"], product["retired_ev_battery"]) == ("recycled", True, True)
    scrap = _public(story_api, s.SCRAP)
    assert (scrap["state"], scrap["retired_ev_battery"]) == ("recycled", True)
    passport = story_api.client.get(f"/api/v1/batteries/{s.PRODUCT}", headers=story_api.headers("recycler")).json()
    assert passport["sources"] == [s.PACK]  # the lineage stays on every view
    assert [e["type"] for e in passport["history"]][-4:] == ["product.returned", "battery.handed_over",
                                                             "battery.received", "battery.recycled"]
