"""Issue 16, point 4: Chinese pages say errors, reasons and take-back parties in Chinese, with the
same context as the English message, and name organisations instead of showing credit codes."""

from __future__ import annotations

import json

from battrace.web.error_text import error_text
from battrace.web.i18n import Translator
from tests import story as s
from tests.rules.scenarios import Events, Scenario
from tests.web.conftest import Web
from tests.web.test_console import produced, rows, upload

ZH, EN = Translator("zh"), Translator("en")


def test_upload_rejections_are_in_chinese_with_their_context(web: Web) -> None:
    web.login("maker")
    bad_code = s.code("P", 991)[:3] + "X" + s.code("P", 991)[4:]
    lines = ["{not json", json.dumps(produced(990, s.code("P", 990), colour="red")),
             json.dumps(produced(991, bad_code))]
    status, html = upload(web, "bad.jsonl", "\n".join(lines).encode("utf-8"))
    assert status == 200 and [o for o, _ in rows(html)] == ["rejected"] * 3
    assert "第 1 行不是有效的 JSON" in html and "Expecting value" not in html
    assert "字段 “colour” 不属于此事件类型" in html and "is not part of this event type" not in html
    assert "第 4 位 “X”：产品类型应为 P（电池包）、M（模块）或 C（单体）" in html


def test_messages_keep_their_values_and_english_pages_keep_english() -> None:
    message = "battery.handed_over: battery 07HPE010000000G560000001 is recycled; cannot hand it over"
    zh = error_text(ZH, "invalid_transition", message)
    assert "07HPE010000000G560000001" in zh and "已再生利用" in zh and "移交" in zh
    assert error_text(EN, "invalid_transition", message) == message
    odd = error_text(ZH, "conflict", "something new")
    assert odd == "冲突（原文：something new）"  # an unknown shape keeps the English, labelled


def test_reasons_have_labels() -> None:
    labels = (("capacity_fade", "容量衰减"), ("collision_damage", "碰撞损坏"), ("bms_fault", "电池管理系统故障"),
              ("lost_in_transit", "运输途中丢失"))
    for reason, zh in labels:
        assert ZH.vocab("reason", reason) == zh and EN.vocab("reason", reason) != reason
    assert ZH.vocab("reason", "a flood") == "a flood"


def test_the_r05_message_names_the_take_back_party_and_the_reason(sqlite_url: str) -> None:
    sc = Scenario(sqlite_url)
    try:
        e = Events()
        e.produce(s.PACK)
        e.add("battery.reported_missing", s.BATTERY_MAKER, "2024-05-01", battery=s.PACK, reason="lost_in_transit")
        sc.ingest(e)
        [finding] = sc.findings("R05")
        with sc.platform.store.reader() as conn:
            name = sc.platform.store.load_orgs(conn)[finding["responsible"]].name
    finally:
        sc.close()
    assert f"兜底回收责任方：{name}（{finding['responsible']}）" in finding["message"]["zh"]
    assert "运输途中丢失" in finding["message"]["zh"] and "lost in transit" in finding["message"]["en"]
