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
    assert set(charts_of(r.text)) == {"chart-by-state", "chart-retirements", "chart-forecast", "chart-flows",
                                      "chart-findings"}
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
    bars, line = forecast_parts(charts["chart-forecast"])
    assert len(bars) > 3 and len(line["markLine"]["data"]) == 2
    for k, total in enumerate(line["data"]):  # the line is the top of the stack
        assert abs(sum(b["data"][k] for b in bars) - total) < 0.05 * len(bars) + 1e-9
    assert len(re.findall(r'<td class="num"><span class="rate', r.text)) > 3


def forecast_parts(option: dict[str, Any]) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """(the stacked province bars, the total line) of the forecast chart."""
    *bars, line = option["series"]
    assert all(b["type"] == "bar" and b["stack"] == "forecast" for b in bars) and line["type"] == "line"
    return bars, line


def test_the_national_forecast_is_checked_against_the_published_figures(web: Web) -> None:
    web.login("national_regulator")
    r = web.client.get("/dashboard", params={"lang": "en"})
    option = charts_of(r.text)["chart-forecast"]
    years = option["xAxis"]["data"]
    assert years[0] == "2024" and years == [str(y) for y in range(2024, 2024 + len(years))]
    bars, line = forecast_parts(option)
    assert [b["name"] for b in bars] == ["Guangdong"]  # the story's vehicle was certified in Shenzhen
    assert line["name"] == "National total" and len(line["data"]) == len(years) == len(bars[0]["data"])
    marks = line["markLine"]["data"]
    assert [(m["xAxis"], m["label"]["formatter"]) for m in marks] == [
        ("2025", "2025 published: > 400 kt"), ("2030", "2030 published: > 1,000 kt")]
    assert "Retirement forecast by province and year" in r.text and "shape 3.5, scale 10.0 years" in r.text
    checks = re.search(r'<table class="table" id="forecast-checks">(.*?)</table>', r.text, re.S)
    assert checks and "more than 400 kt of waste power batteries utilised in 2025" in checks.group(1)
    assert "more than 1,000 kt of waste power batteries a year by 2030" in checks.group(1)
    assert "At 400 kg a pack" in r.text and 'id="forecast-provincial"' not in r.text
    zh = web.client.get("/dashboard", params={"lang": "zh"}).text
    assert "退役量预测（按省份、年份）" in zh and "2025 年综合利用的废旧动力电池超过 400 千吨" in zh
    assert forecast_parts(charts_of(zh)["chart-forecast"])[1]["name"] == "全国合计"


def test_a_provincial_forecast_has_its_own_installations_and_no_national_check(web: Web) -> None:
    web.login("regulator")  # Guangdong
    r = web.client.get("/dashboard")
    bars, line = forecast_parts(charts_of(r.text)["chart-forecast"])
    assert [b["name"] for b in bars] == ["广东省"] and line["name"] == "辖区合计"
    assert "markLine" not in line and 'id="forecast-checks"' not in r.text
    assert "与全国公布数字的对照只在全国范围显示" in r.text
    web.login("far_regulator")  # Beijing: no vehicle certified there
    r = web.client.get("/dashboard")
    assert "chart-forecast-data" not in r.text and 'id="forecast"' in r.text


def test_the_forecast_chart_groups_small_provinces_and_marks_only_years_in_range() -> None:
    from battrace.web import charts
    from battrace.web.i18n import Translator

    provinces = [f"{p}0000" for p in (11, 12, 13, 14, 15, 21, 22, 23, 31, 32)] + ["unknown"]
    data: dict[str, Any] = {"scope": {"national": True}, "years": [2029, 2030, 2031],
            "series": {p: [float(n), float(n), 0.0] for n, p in enumerate(provinces, start=1)},
            "national": [{"year": y, "expected": v} for y, v in ((2029, 66.0), (2030, 66.0), (2031, 0.0))],
            "checks": [{"year": 2025, "reference_kt": 400.0}, {"year": 2030, "reference_kt": 1000.0}]}
    bars, line = forecast_parts(charts.forecast(Translator("en"), data))
    names = [b["name"] for b in bars]
    assert len(bars) == 9 and names[0] == "province unknown" and names[-1] == "other provinces"
    assert bars[-1]["data"] == [1.0 + 2.0 + 3.0, 6.0, 0.0]  # the three smallest provinces, summed
    assert [m["xAxis"] for m in line["markLine"]["data"]] == ["2030"]  # 2025 is not on the axis
    data["series"] = {p: data["series"][p] for p in provinces[:9]}  # one more than the top 8: no "other"
    assert len(forecast_parts(charts.forecast(Translator("en"), data))[0]) == 9
