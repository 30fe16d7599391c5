"""The battery page's health summary (SOH, grade, grading decision, residual value) and BMS alarms:
shown to participants, regulators and the admin, in both languages; nothing of them for the public."""

from __future__ import annotations

import re
from html import unescape

import pytest

from battrace.services.health import assess
from battrace.web.templating import fmt_percent
from tests import story as s
from tests.api.test_health_api import NMC21_FRESH
from tests.web.conftest import Web
from tests.web.test_public import text_of
from tests.web.world import raise_alarms


def section(html: str, section_id: str) -> str:
    """The text of one ``<section id=…>`` of the page ('' when the page has none)."""
    found = re.search(rf'<section class="card[^"]*" id="{section_id}">(.*?)</section>', html, re.S)
    return unescape(text_of(found.group(1))) if found else ""


def alarm_rows(html: str) -> list[str]:
    table = re.search(r'<table class="table" id="alarms-table">(.*?)</table>', html, re.S)
    assert table, "no alarms table"
    return [text_of(row) for row in re.findall(r'<tr class="alarm alarm-\d">(.*?)</tr>', table.group(1), re.S)]


@pytest.fixture
def alarmed(web: Web) -> Web:
    raise_alarms(web.world.platform, s.PACK)
    return web


@pytest.mark.parametrize("role", ["holder", "maker", "regulator", "national_regulator", "admin"])
def test_participants_regulators_and_the_admin_see_the_alarms_newest_first(alarmed: Web, role: str) -> None:
    alarmed.login(role)
    r = alarmed.client.get(f"/b/{s.PACK}")
    assert r.status_code == 200
    rows = alarm_rows(r.text)
    assert len(rows) == 3
    runaway, under_voltage, hot = rows
    assert "3 级" in runaway and "热失控" in runaway and "立即停止使用" in runaway
    assert runaway.count("2026-11-20 10:16") == 3  # first seen, and respond by: at once
    assert "2 级" in under_voltage and "放电时单体欠压" in under_voltage and "1 天内维修" in under_voltage
    assert "2026-11-21 10:01" in under_voltage  # first seen + 1 day
    assert "24 小时内其他风险 温度过高" in under_voltage  # why it is level 2
    assert "1 级" in hot and "温度过高" in hot and "7 天内维修" in hot
    assert "2026-11-27 10:00" in hot and "最高温度 (°C) 61" in hot and "限值 (°C) 60" in hot


def test_the_alarms_in_english(alarmed: Web) -> None:
    alarmed.login("holder")
    r = alarmed.client.get(f"/b/{s.PACK}", params={"lang": "en"})
    runaway, under_voltage, hot = alarm_rows(r.text)
    assert "level 3" in runaway and "thermal runaway" in runaway and "stop at once" in runaway
    assert "Evidence: " in runaway and "voltage drop 29.6%" in runaway and "：" not in runaway
    assert "cell under-voltage while discharging" in under_voltage and "repair within 1 day" in under_voltage
    assert "other hazards within 24 h over-temperature" in under_voltage
    assert "over-temperature" in hot and "repair within 7 days" in hot and "max temperature (°C) 61" in hot
    assert "BMS alarms" in section(r.text, "alarms") and "newest first" in section(r.text, "alarms")


@pytest.mark.parametrize("role", [None, "far_regulator", "unrelated"])
def test_the_public_tier_shows_neither_alarms_nor_the_health_summary(alarmed: Web, role: str | None) -> None:
    if role:
        alarmed.login(role)
    r = alarmed.client.get(f"/b/{s.PACK}")
    assert r.status_code == 200 and 'id="public-note"' in r.text
    for hidden in ('id="alarms"', 'id="health-decision"', 'id="health-value"', "热失控", "BMS 预警", "78.0%",
                   "梯次利用候选"):
        assert hidden not in r.text, hidden
    assert not re.search(r"\d 元", r.text)  # no money figures
    assert "健康数据向电池的参与企业和监管部门开放" in section(r.text, "health")


def test_the_health_summary_of_a_measured_soh(web: Web) -> None:
    web.login("holder")
    r = web.client.get(f"/b/{s.PACK}")
    health = section(r.text, "health")
    assert "78.0%" in health and "等级 B" in health and "GB/T 34015 完整容量测试" in health
    assert "117 Ah" in health and "梯次利用" in health  # measured capacity; tested by the re-use enterprise
    decision = text_of(re.search(r'<div id="health-decision">(.*?)</div>', r.text, re.S).group(1))  # type: ignore[union-attr]
    # the story's pack was re-made into a product: never advised for re-use again, and the reason said
    assert "已用于再制造" in decision and "不再作为梯次利用候选" in decision
    assert not any(a in decision for a in ("备用电源", "充换电站", "低速车"))
    value = text_of(re.search(r'<dl class="kv compact value" id="health-value">(.*?)</dl>', r.text, re.S).group(1))  # type: ignore[union-attr]
    assert "材料回收价值 10,215 元" in value and "不允许梯次利用" in value
    assert "更优路径 材料再生利用" in value and "残值 10,215 元" in value
    assert "2025-06-30" in health  # the date of the metal prices travels with the figures
    assert "没有预警记录" in section(r.text, "alarms")


def test_the_health_summary_in_english(web: Web) -> None:
    web.login("regulator")
    r = web.client.get(f"/b/{s.PACK}", params={"lang": "en"})
    health = section(r.text, "health")
    assert "Grade B" in health and "already been re-made" in health and "no re-use candidate" in health
    assert "backup power" not in health
    assert "Material value CNY 10,215" in health and "Residual value CNY 10,215" in health
    assert "not a quotation" in health
    assert "No alarms on record" in section(r.text, "alarms")


def _new_pack(web: Web, n: int) -> str:
    code = s.code("P", n)
    event = s.ev(900 + n, "battery.produced", s.BATTERY_MAKER, "2026-01-05T09:00:00+08:00", battery=code, **s.FIG)
    assert web.world.platform.ledger.ingest([(1, event)]).accepted == 1
    return code


def test_a_pulse_estimate_shows_its_interval_and_is_judged_on_its_lower_bound(web: Web) -> None:
    code = _new_pack(web, 81)
    pulse = {f"U{i + 1}": v for i, v in enumerate(NMC21_FRESH)} | {"soc_percent": 30, "rated_capacity_ah": 21}
    out = assess(web.world.platform, s.BATTERY_MAKER, code, pulse_row=pulse, event_id="web-pulse-1")
    estimate = out["estimate"]
    web.login("maker")
    health = section(web.client.get(f"/b/{code}").text, "health")
    assert "脉冲快速检测" in health and f"等级 {estimate['grade']}" in health
    assert f"90% 区间 {fmt_percent(estimate['soh_low'])} – {fmt_percent(estimate['soh_high'])}" in health
    assert f"按脉冲估算区间下限 {fmt_percent(estimate['soh_low'])} 判定" in health
    assert "梯次利用候选" in health
    english = section(web.client.get(f"/b/{code}", params={"lang": "en"}).text, "health")
    assert f"90 % interval {fmt_percent(estimate['soh_low'])}" in english
    assert "judged on the pulse estimate's lower bound" in english and "pulse test" in english


def test_a_low_soh_goes_to_material_recycling(web: Web) -> None:
    code = _new_pack(web, 82)
    assess(web.world.platform, s.BATTERY_MAKER, code, soh=0.55, event_id="web-low-1")
    web.login("maker")
    r = web.client.get(f"/b/{code}")
    health = section(r.text, "health")
    assert "55.0%" in health and "等级 D" in health and "材料再生利用" in health
    assert "允许的梯次利用用途" not in health
    assert "不允许梯次利用，不计入" in health and "更优路径 材料再生利用" in health


def test_a_battery_without_a_test_or_alarms_says_so(web: Web) -> None:
    code = _new_pack(web, 83)
    web.login("maker")
    r = web.client.get(f"/b/{code}")
    assert "尚无检测记录" in section(r.text, "health") and "没有预警记录" in section(r.text, "alarms")
