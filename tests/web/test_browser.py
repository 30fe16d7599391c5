"""The console in a real browser: Debian's Chromium driven by Playwright against uvicorn.

Chromium comes from the system (``/usr/bin/chromium``, installed by ``make browser-deps``), never
from ``playwright install``. Without it these tests skip and say so. Screenshots go to
``test-output/screenshots/``.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests import story as s
from tests.web.conftest import CHROMIUM, CHROMIUM_ARGS, SCREENSHOTS  # noqa: F401 (the browser fixtures live there)
from tests.web.world import World, raise_alarms

pytestmark = pytest.mark.browser

CHARTS = ("chart-by-state", "chart-retirements", "chart-forecast", "chart-flows", "chart-findings")


def shoot(pg: Any, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    pg.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def shoot_part(pg: Any, selector: str, name: str) -> None:
    """A screenshot of one part of the page (to read a chart or a card at full size)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    pg.locator(selector).screenshot(path=str(SCREENSHOTS / f"{name}.png"))


def sign_in(pg: Any, key: str, next_url: str) -> None:
    pg.goto(f"/login?next={next_url}")
    pg.fill("#key", key)
    pg.click("#login-submit")
    pg.wait_for_url(f"**{next_url}")


def test_the_dashboard_renders_its_charts(page: Any, big_world: World) -> None:
    sign_in(page, big_world.keys["national_regulator"], "/dashboard")
    page.wait_for_selector("#chart-flows[data-ready]")
    for chart in CHARTS:
        assert page.locator(f"#{chart} canvas").count() >= 1, f"{chart} has no canvas"
        series = page.evaluate(
            "id => { const c = echarts.getInstanceByDom(document.getElementById(id));"
            " return c ? c.getOption().series.map(s => [s.type, (s.data || []).length]) : null; }", chart)
        assert series and all(n > 0 for _, n in series), (chart, series)
    kinds = page.evaluate("() => Array.from(document.querySelectorAll('[data-chart]'))"
                          ".map(el => echarts.getInstanceByDom(el).getOption().series[0].type)")
    assert kinds == ["pie", "bar", "bar", "sankey", "bar"]
    assert page.get_attribute("html", "data-charts") == "5"
    forecast = page.evaluate(
        "() => echarts.getInstanceByDom(document.getElementById('chart-forecast')).getOption().series"
        ".map(s => [s.type, s.stack || null, (s.data || []).length, ((s.markLine || {}).data || []).length])")
    years = len(page.evaluate(
        "() => echarts.getInstanceByDom(document.getElementById('chart-forecast')).getOption().xAxis[0].data"))
    *bars, line = forecast
    assert len(bars) > 3 and all(b == ["bar", "forecast", years, 0] for b in bars), forecast
    assert line == ["line", None, years, 2], forecast  # the total, marked at 2025 and 2030
    page.wait_for_timeout(800)  # let the entry animations finish for the screenshot
    shoot(page, "dashboard-zh")
    shoot_part(page, "#forecast", "dashboard-forecast-zh")
    page.click("#lang-en")
    page.wait_for_selector("#chart-flows[data-ready]")
    assert page.inner_text("h1") == "Regulator dashboard"
    page.wait_for_timeout(800)
    shoot(page, "dashboard-en")
    shoot_part(page, "#forecast", "dashboard-forecast-en")


def test_a_code_search_opens_the_battery_page(page: Any) -> None:
    page.goto("/")
    page.fill("#q", f"标签：{s.PACK}")
    page.click("#lookup-submit")
    page.wait_for_url(f"**/b/{s.PACK}?found=label")
    assert page.inner_text("#battery-code") == s.PACK
    assert "是，这是一块退役动力电池" in page.inner_text("#verdict")
    assert page.locator("#qr svg").count() == 1
    assert "2024-03 生产" in page.inner_text("#timeline")
    shoot(page, "battery-public")
    page.goto("/")
    page.fill("#q", s.PACK[:4] + "Q" + s.PACK[5:])
    page.click("#lookup-submit")
    assert "第 5 位 “Q”" in page.inner_text("#lookup-error")
    shoot(page, "lookup-invalid")


def test_a_participant_sees_the_full_timeline_lineage_health_and_alarms(page: Any, big_world: World) -> None:
    raise_alarms(big_world.platform, s.PACK)
    sign_in(page, big_world.keys["holder"], "/console")
    page.goto(f"/b/{s.PACK}")
    assert page.locator("#timeline .timeline > li").count() >= 10
    assert page.locator("#alarms-table tbody tr").count() == 3
    assert "立即停止使用" in page.inner_text("#alarms-table tbody tr >> nth=0")
    # the pack was re-made: never advised for re-use again, with the reason
    assert "不再作为梯次利用候选" in page.inner_text("#health-decision") and page.is_visible("#health-value")
    page.click(f"#lineage a[href='/b/{s.MODULES[0]}']")
    page.wait_for_url(f"**/b/{s.MODULES[0]}")
    assert s.MODULES[0] in page.inner_text("#battery-code")
    page.goto(f"/b/{s.PACK}")
    shoot(page, "battery-participant")
    shoot_part(page, "#alarms", "battery-alarms")
    shoot_part(page, "#health", "battery-health")


def test_the_language_switch_works_both_ways(page: Any) -> None:
    page.goto("/")
    assert page.inner_text("h1") == "查询电池数字身份"
    assert page.get_attribute("html", "lang") == "zh-CN"
    page.click("#lang-en")
    page.wait_for_url("**/?lang=en")
    assert page.inner_text("h1") == "Look up a battery's digital ID"
    page.goto(f"/b/{s.PACK}")  # the choice is remembered in a cookie
    assert "Yes — this is a retired EV battery" in page.inner_text("#verdict")
    shoot(page, "battery-public-en")
    page.click("#lang-zh")
    assert "是，这是一块退役动力电池" in page.inner_text("#verdict")
    assert page.get_attribute("html", "lang") == "zh-CN"


def test_an_upload_shows_its_per_line_results(page: Any, big_world: World) -> None:
    sign_in(page, big_world.keys["maker"], "/console")
    code = s.code("P", 7001)
    event = s.ev(7001, "battery.produced", s.BATTERY_MAKER, "2026-11-20T09:00:00+08:00", battery=code, **s.FIG)
    event.pop("reporter")
    lines = [json.dumps(event), json.dumps(event), "{broken", json.dumps({**event, "event_id": "b-2", "battery": "X"})]
    page.set_input_files("#file", files=[{"name": "report.jsonl", "mimeType": "application/x-ndjson",
                                          "buffer": "\n".join(lines).encode()}])
    assert page.inner_text("#file-name") == "report.jsonl"
    page.click("#upload-submit")
    page.wait_for_selector("#upload-results")
    statuses = page.eval_on_selector_all("#results-table tbody tr", "rows => rows.map(r => r.className)")
    assert statuses == ["outcome-accepted", "outcome-duplicate", "outcome-rejected", "outcome-rejected"]
    assert "共 4 行：受理 1，重复 1，拒绝 2。" in page.inner_text("#upload-results")
    shoot(page, "console-upload")
    assert page.locator(f"#holdings a[href='/b/{code}']").count() == 1
