"""The regulator dashboard: who may open it, what it shows, scoped to the jurisdiction."""

from __future__ import annotations

import json
import re
from typing import Any

from fastapi.testclient import TestClient

from battrace.api import create_app
from tests.web.conftest import Web
from tests.web.world import World


def charts_of(html: str) -> dict[str, Any]:
    found = re.findall(r'<script type="application/json" id="(chart-[a-z-]+)-data">(.*?)</script>', html, re.S)
    return {name: json.loads(body) for name, body in found}


def test_anonymous_visitors_are_sent_to_sign_in(web: Web) -> None:
    r = web.client.get("/dashboard", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/login?next=/dashboard"


def test_organisations_that_are_not_regulators_are_refused(web: Web) -> None:
    web.login("maker")
    r = web.client.get("/dashboard")
    assert r.status_code == 403 and "监管看板仅对监管部门和平台管理员开放" in r.text


def test_signing_in_keeps_the_key_in_an_httponly_cookie(web: Web) -> None:
    r = web.client.post("/login", data={"key": web.keys["regulator"], "next": "/dashboard"}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/dashboard"
    cookie = r.headers["set-cookie"]
    assert cookie.startswith("bt_key=") and "HttpOnly" in cookie and "SameSite=lax" in cookie
    r = web.client.post("/login", data={"key": "bt_nope_nope"})
    assert r.status_code == 401 and "密钥无效或已被吊销" in r.text


def test_sign_in_never_redirects_to_another_site(web: Web) -> None:
    r = web.client.post("/login", data={"key": web.keys["regulator"], "next": "//evil.example/"},
                        follow_redirects=False)
    assert r.headers["location"] == "/dashboard"


def test_the_provincial_regulator_sees_its_provinces_flows_and_findings(web: Web) -> None:
    web.login("regulator")  # Guangdong
    r = web.client.get("/dashboard")
    assert r.status_code == 200
    assert "范围：广东省" in r.text
    charts = charts_of(r.text)
    assert {"chart-retirements", "chart-flows", "chart-findings"} <= set(charts)
    assert "chart-by-state" not in charts  # no pack is held in Guangdong any more
    links = charts["chart-flows"]["series"][0]["links"]
    assert {(link["source"], link["target"].rstrip("\u200b")) for link in links} == {
        ("广东省", "江西省"), ("广东省", "湖南省"), ("广东省", "广东省")}
    assert charts["chart-findings"]["xAxis"]["data"][0] == "广东省"


def test_a_regulator_far_away_sees_no_flows(web: Web) -> None:
    web.login("far_regulator")  # Beijing: the story never passes there
    r = web.client.get("/dashboard")
    assert "chart-flows-data" not in r.text and "暂无数据" in r.text


def test_the_dashboard_in_english(web: Web) -> None:
    web.login("admin")
    r = web.client.get("/dashboard", params={"lang": "en"})
    assert "Regulator dashboard" in r.text and "Scope: National" in r.text
    assert set(charts_of(r.text)) == {"chart-by-state", "chart-retirements", "chart-flows", "chart-findings"}
    assert "Waste-battery flows between provinces" in r.text
    assert charts_of(r.text)["chart-flows"]["series"][0]["data"][0]["name"] in {"Guangdong", "Guangdong\u200b"}


def test_the_full_dashboard_on_a_simulated_world(big_world: World) -> None:
    client = TestClient(create_app(big_world.platform))
    client.post("/login", data={"key": big_world.keys["national_regulator"]})
    r = client.get("/dashboard")
    assert r.status_code == 200
    charts = charts_of(r.text)
    assert sum(d["value"] for d in charts["chart-by-state"]["series"][0]["data"]) > 300
    assert len(charts["chart-flows"]["series"][0]["links"]) > 5
    months = charts["chart-retirements"]["xAxis"]["data"]
    assert months == sorted(months) and len(months) > 12
    assert 'id="overdue"' in r.text and 'id="league"' in r.text
    assert len(re.findall(r'<td class="num"><span class="rate', r.text)) > 3
