"""One error mapping per face: pages get an HTML error page, the API keeps its JSON body."""

from __future__ import annotations

from tests import story as s
from tests.web.conftest import Web

BAD = "07HPX01A000001E350000001"  # position 5: no battery type X


def test_a_platform_error_on_a_page_is_an_html_page_with_the_same_status(web: Web) -> None:
    r = web.client.get(f"/b/{BAD}")
    assert r.status_code == 422
    assert r.headers["content-type"].startswith("text/html")
    assert 'data-code="invalid_code"' in r.text and "电池编码无效" in r.text
    assert "第 5 位 “X”：未知的电池类型代码" in r.text


def test_the_api_keeps_its_canonical_json_error_body(web: Web) -> None:
    r = web.client.get(f"/api/v1/batteries/{BAD}", headers={"accept": "text/html"})
    assert r.status_code == 422
    body = r.json()
    assert set(body) == {"ok", "error", "code", "status", "context"}
    assert body["code"] == "invalid_code" and body["context"]["position"] == 5
    r = web.client.get("/api/v1/nothing-here", headers={"accept": "text/html"})
    assert r.status_code == 404 and r.json()["code"] == "not_found"
    r = web.client.get("/api/v1/stats")
    assert r.status_code == 401 and r.json()["code"] == "unauthorized"


def test_an_unknown_path_gets_a_page_for_browsers_and_json_for_programs(web: Web) -> None:
    r = web.client.get("/no/such/page", headers={"accept": "text/html,application/xhtml+xml"})
    assert r.status_code == 404 and 'data-code="not_found"' in r.text
    r = web.client.get("/no/such/page", headers={"accept": "application/json"})
    assert r.status_code == 404 and r.json()["code"] == "not_found"


def test_a_bad_query_parameter_on_a_page_is_an_html_page(web: Web) -> None:
    web.login("holder")
    r = web.client.get("/console", params={"page": "zero"})
    assert r.status_code == 422 and 'data-code="invalid_input"' in r.text


def test_error_pages_follow_the_language(web: Web) -> None:
    r = web.client.get(f"/b/{BAD}", params={"lang": "en"})
    assert "Invalid battery code" in r.text and "position 5" in r.text


def test_the_public_json_route_is_unchanged(web: Web) -> None:
    r = web.client.get(f"/api/v1/public/batteries/{s.PACK}")
    assert r.status_code == 200 and r.json()["retired_ev_battery"] is True


def test_pages_are_served_with_a_strict_content_security_policy(web: Web) -> None:
    r = web.client.get("/")
    policy = r.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "frame-ancestors 'none'" in policy
    assert r.headers["x-content-type-options"] == "nosniff"
    assert "<script>" not in web.client.get(f"/b/{s.PACK}").text  # no inline script anywhere
