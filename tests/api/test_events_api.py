"""POST /api/v1/events: one, many, JSON Lines; reporter from the key; limits; canonical errors."""

from __future__ import annotations

import json

from tests import story as s
from tests.api.conftest import Api, build


def test_array_and_ndjson_report_each_outcome_like_the_cli(api: Api) -> None:
    events = [e for e in s.story() if e["reporter"] == s.BATTERY_MAKER][:5]
    r = api.client.post("/api/v1/events", json=events[:3], headers=api.headers("maker"))
    assert r.status_code == 200
    body = r.json()
    assert (body["accepted"], body["duplicate"], body["rejected"]) == (3, 0, 0)
    assert [o["seq"] for o in body["outcomes"]] == [1, 2, 3]
    lines = "\n".join(json.dumps({k: v for k, v in e.items() if k != "reporter"}) for e in events) + "\n{oops"
    r = api.client.post("/api/v1/events", content=lines.encode(), headers={
        **api.headers("maker"), "Content-Type": "application/x-ndjson"})
    body = r.json()
    assert (body["accepted"], body["duplicate"], body["rejected"]) == (2, 3, 1)
    assert body["rejections"] == [{"line": 6, "event_id": None, "code": "invalid_event",
                                   "message": body["rejections"][0]["message"]}]


def test_naming_another_reporter_is_refused_on_its_own_line(api: Api) -> None:
    """As in the console's upload: the line naming another reporter is refused, the others go on."""
    own = [e for e in s.story() if e["reporter"] == s.BATTERY_MAKER][:2]
    other = s.story()[0] | {"reporter": s.VEHICLE_MAKER}
    r = api.client.post("/api/v1/events", json=[own[0], other, own[1]], headers=api.headers("maker"))
    body = r.json()
    assert r.status_code == 200 and (body["accepted"], body["rejected"]) == (2, 1)
    assert [(x["line"], x["code"]) for x in body["rejections"]] == [(2, "forbidden")]
    assert "always the key's organisation" in body["rejections"][0]["message"]


def test_no_key_is_401_and_bad_key_is_401(api: Api) -> None:
    assert api.client.post("/api/v1/events", json=s.story()[0]).status_code == 401
    r = api.client.post("/api/v1/events", json=s.story()[0], headers={"Authorization": "Bearer bt_nope_x"})
    assert r.status_code == 401 and r.json()["code"] == "unauthorized"


def test_batch_beyond_the_limit_is_413(sqlite_url: str) -> None:
    small = build(sqlite_url, batch_limit=2)
    r = small.client.post("/api/v1/events", json=s.story()[:3], headers=small.headers("maker"))
    assert r.status_code == 413 and r.json()["code"] == "payload_too_large"
    small.platform.close()


def test_malformed_bodies_get_canonical_4xx(api: Api) -> None:
    for content in (b"{not json", b"42", b"\xff\xfe"):
        r = api.client.post("/api/v1/events", content=content,
                            headers={**api.headers("maker"), "Content-Type": "application/json"})
        assert r.status_code == 422, content
        assert set(r.json()) == {"ok", "error", "code", "status", "context"}


def test_validation_errors_use_the_canonical_shape(api: Api) -> None:
    r = api.client.get("/api/v1/audit?limit=0", headers=api.headers("admin"))
    assert r.status_code == 422
    body = r.json()
    assert body["code"] == "invalid_input" and body["context"]["errors"][0]["loc"] == ["query", "limit"]


def test_revoked_key_stops_working(api: Api) -> None:
    from battrace.services.access import revoke_key
    from tests.api.conftest import NOW

    key_id = api.keys["maker"].split("_")[1]
    revoke_key(api.platform.store, key_id, NOW)
    r = api.client.get("/api/v1/findings", headers=api.headers("maker"))
    assert r.status_code == 401
