"""The public face: the lookup box, the battery page at each tier, the QR code and the label."""

from __future__ import annotations

import re
from dataclasses import replace

import pytest

from tests import story as s
from tests.web.conftest import Web


def text_of(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def test_the_home_page_is_chinese_by_default_and_asks_the_consumers_question(web: Web) -> None:
    r = web.client.get("/")
    assert r.status_code == 200
    assert '<html lang="zh-CN">' in r.text
    assert "是否为退役动力电池" in r.text and "查询电池数字身份" in r.text


def test_a_valid_code_opens_its_battery_page(web: Web) -> None:
    r = web.client.get("/", params={"q": f"  {s.PACK.lower()} "}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == f"/b/{s.PACK}"


def test_a_code_inside_label_text_is_found(web: Web) -> None:
    label = f"动力电池 型号X1 编码:{s.PACK} 52.6kWh"
    r = web.client.get("/", params={"q": label}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == f"/b/{s.PACK}?found=label"
    page = web.client.get(r.headers["location"])
    assert f"已从标签文字中识别出编码 {s.PACK}" in page.text


def test_a_code_printed_in_groups_is_found(web: Web) -> None:
    spaced = " ".join(s.PACK[i:i + 4] for i in range(0, 24, 4))
    r = web.client.get("/", params={"q": spaced}, follow_redirects=False)
    assert r.headers["location"] == f"/b/{s.PACK}"


def test_an_invalid_code_names_the_position_in_each_language(web: Web) -> None:
    bad = s.PACK[:3] + "X" + s.PACK[4:]  # position 4 is the product level
    r = web.client.get("/", params={"q": bad})
    assert r.status_code == 422
    assert "第 4 位 “X”" in r.text and "产品类型应为 P" in r.text
    r = web.client.get("/", params={"q": bad, "lang": "en"})
    assert "position 4 ('X')" in r.text.replace("&#39;", "'")
    r = web.client.get("/", params={"q": "07HPE01", "lang": "en"})
    assert "it has 7 characters" in r.text


def test_the_public_tier_shows_public_facts_only(web: Web) -> None:
    r = web.client.get(f"/b/{s.PACK}")
    assert r.status_code == 200
    page = text_of(r.text)
    assert "是，这是一块退役动力电池" in page
    assert "宁德示例电池" in page and "2024-03 生产" in page and "已再制造" in page
    assert 'id="public-note"' in r.text
    # no history, no custodian, no health figures, no lineage for the public
    assert "#" + "5" not in page and "梯次利用" not in page.replace("梯次利用企业", "")
    assert "78.0%" not in page and s.MODULES[0] not in r.text and s.VIN not in r.text


def test_a_participant_sees_the_full_timeline_lineage_and_health(web: Web) -> None:
    web.login("holder")
    r = web.client.get(f"/b/{s.PACK}")
    page = text_of(r.text)
    assert "参与方" in page and "本次查看已记入审计日志" in page
    for step in ("生产", "装车并出具合格证", "车辆销售", "维修更换", "移交", "接收", "健康检测", "再制造"):
        assert step in page
    assert f'href="/b/{s.MODULES[0]}"' in r.text and f'href="/b/{s.PRODUCT}"' in r.text
    assert "78.0%" in page and "梯次利用" in page  # SOH and the custodian's name


def test_the_re_made_product_says_so_and_links_its_source(web: Web) -> None:
    web.login("national_regulator")
    r = web.client.get(f"/b/{s.PRODUCT}", params={"lang": "en"})
    page = text_of(r.text)
    assert "This is a battery product re-made from retired EV batteries" in page
    assert "energy storage" in page and "CQC-2026-001" in page
    assert f'href="/b/{s.PACK}"' in r.text


def test_a_battery_in_service_is_not_retired(web: Web) -> None:
    web.world.platform.ledger.ingest([(1, s.ev(900, "battery.produced", s.BATTERY_MAKER, "2026-01-05T09:00:00+08:00",
                                             battery=s.code("P", 77), **s.FIG))])
    r = web.client.get(f"/b/{s.code('P', 77)}")
    assert "否，平台记录显示它尚未退役" in r.text


def test_the_page_carries_a_qr_code_of_its_own_url_and_a_printable_label(web: Web) -> None:
    r = web.client.get(f"/b/{s.PACK}")
    assert re.search(r'<div class="qr"[^>]*><svg[^>]*viewBox', r.text)
    assert f"http://testserver/b/{s.PACK}" in r.text
    label = web.client.get(f"/b/{s.PACK}/label.svg")
    assert label.headers["content-type"].startswith("image/svg+xml")
    assert s.PACK[:12] in label.text and "<svg" in label.text


def test_an_unknown_but_well_formed_code_is_not_on_record(web: Web) -> None:
    code = s.code("P", 4242)
    r = web.client.get(f"/b/{code}")
    assert r.status_code == 404
    assert "平台上没有这块电池的记录" in r.text and "2024-03-05" in r.text  # what the code itself says


def test_the_language_switch_sets_a_cookie_that_later_pages_follow(web: Web) -> None:
    r = web.client.get("/", params={"lang": "en"})
    assert '<html lang="en">' in r.text and "Look up a battery" in r.text
    assert "bt_lang=en" in r.headers["set-cookie"]
    r = web.client.get(f"/b/{s.PACK}")
    assert "Yes — this is a retired EV battery" in r.text
    r = web.client.get("/", params={"lang": "zh"})
    assert '<html lang="zh-CN">' in r.text


def test_a_regulator_outside_the_batterys_jurisdiction_sees_the_public_tier(web: Web) -> None:
    web.login("far_regulator")  # Beijing; the product was made and used in Hunan
    r = web.client.get(f"/b/{s.PRODUCT}")
    assert 'id="public-note"' in r.text and f'href="/b/{s.PACK}"' not in r.text


def test_the_qr_code_follows_the_public_base_url_setting(web: Web, monkeypatch: pytest.MonkeyPatch) -> None:
    settings = replace(web.world.platform.settings, public_base_url="https://trace.example.cn")
    monkeypatch.setattr(web.world.platform, "settings", settings)
    r = web.client.get(f"/b/{s.PACK}")
    assert f"https://trace.example.cn/b/{s.PACK}" in r.text
