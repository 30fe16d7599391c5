"""The organisation console: holdings, open findings, and report uploads with per-line results."""

from __future__ import annotations

import json
import re

from tests import story as s
from tests.web.conftest import Web

NEW = s.code("P", 500)
NEWER = s.code("P", 501)


def produced(n: int, code: str, **extra: object) -> dict[str, object]:
    event = s.ev(n, "battery.produced", s.BATTERY_MAKER, "2026-11-20T09:00:00+08:00", battery=code, **s.FIG)
    event.pop("reporter")
    return {**event, **extra}


def rows(html: str) -> list[tuple[str, str]]:
    """(line, outcome) of each row of the results table."""
    return re.findall(r'<tr class="outcome-([a-z]+)" data-line="(\d+|None)">', html)


def csrf_of(html: str) -> str:
    match = re.search(r'name="csrf" value="([0-9a-f]+)"', html)
    assert match
    return match.group(1)


def upload(web: Web, name: str, content: bytes, csrf: str | None = None) -> tuple[int, str]:
    if csrf is None:
        csrf = csrf_of(web.client.get("/console").text)
    r = web.client.post("/console/upload", data={"csrf": csrf}, files={"file": (name, content, "text/plain")})
    return r.status_code, r.text


def test_anonymous_visitors_are_sent_to_sign_in(web: Web) -> None:
    r = web.client.get("/console", follow_redirects=False)
    assert r.headers["location"] == "/login?next=/console"


def test_the_console_lists_what_we_hold_and_our_open_findings(web: Web) -> None:
    web.login("holder")
    r = web.client.get("/console")
    assert r.status_code == 200
    assert "梯次利用" in r.text and "综合利用企业（再制造）" in r.text
    assert f'href="/b/{s.PACK}"' in r.text and f'href="/b/{s.PRODUCT}"' in r.text
    assert "我的未整改问题" in r.text and "逾期上报" in r.text  # R04: the story is reported late


def test_a_jsonl_upload_reports_each_line(web: Web) -> None:
    web.login("maker")
    lines = [
        json.dumps(produced(501, NEW)),
        json.dumps(produced(501, NEW)),                       # the same event again: a duplicate
        "{not json",
        json.dumps(produced(502, "07HPE01A000001E3500000")),  # 22 characters: invalid code
        json.dumps(produced(503, NEWER, reporter=s.RECYCLER)),  # someone else as the reporter
        json.dumps({**produced(504, s.PACK)}),                 # produced twice: a duplicate code
        "",
    ]
    status, html = upload(web, "report.jsonl", "\n".join(lines).encode())
    assert status == 200
    assert rows(html) == [("accepted", "1"), ("duplicate", "2"), ("rejected", "3"), ("rejected", "4"),
                          ("rejected", "5"), ("rejected", "6")]
    assert "共 6 行：受理 1，重复 1，拒绝 4。" in html
    assert "第 3 行不是有效的 JSON" in html and "电池编码无效" in html and "编码重复" in html
    assert f"第 5 行的报告方为 {s.RECYCLER}" in html
    # the accepted pack is now ours, on the console and on the battery page
    assert f'href="/b/{NEW}"' in web.client.get("/console").text


def test_a_csv_upload_reports_each_line_with_its_line_number(web: Web) -> None:
    web.login("maker")
    header = "event_id,type,occurred_at,battery,model,rated_capacity_ah,nominal_voltage_v,rated_energy_kwh,mass_kg"
    good = f"c-1,battery.produced,2026-11-20T09:00:00+08:00,{NEW},X1,150,350.4,52.6,360"
    bad = f"c-2,battery.produced,2026-11-20T09:00:00+08:00,{s.PACK},X1,150,350.4,52.6,360"
    content = "\ufeff" + "\n".join([header, good, "", bad]) + "\n"
    status, html = upload(web, "report.csv", content.encode("utf-8"))
    assert status == 200
    assert rows(html) == [("accepted", "2"), ("rejected", "4")]


def test_an_unreadable_csv_is_refused_naming_line_and_column(web: Web) -> None:
    web.login("maker")
    content = ("event_id,type,occurred_at,battery,rated_capacity_ah\n"
               f"c-1,battery.produced,2026-11-20T09:00:00+08:00,{NEW},lots\n")
    status, html = upload(web, "bad.csv", content.encode())
    assert status == 422
    assert 'id="upload-error"' in html and "line 2" in html and "rated_capacity_ah" in html


def test_an_upload_without_the_form_token_is_refused(web: Web) -> None:
    web.login("maker")
    status, html = upload(web, "report.jsonl", json.dumps(produced(501, NEW)).encode(), csrf="0" * 32)
    assert status == 403 and "表单已过期" in html
    assert NEW not in web.client.get("/console").text


def test_an_empty_or_binary_file_is_refused(web: Web) -> None:
    web.login("maker")
    assert upload(web, "empty.jsonl", b"  \n")[0] == 422
    status, html = upload(web, "x.jsonl", b"\xff\xfe\x00garbage")
    assert status == 422 and "不是 UTF-8" in html


def test_the_results_page_in_english_and_the_language_switch_goes_back_to_the_console(web: Web) -> None:
    web.login("maker")
    web.client.get("/console", params={"lang": "en"})
    status, html = upload(web, "report.jsonl", json.dumps(produced(501, NEW)).encode())
    assert "Report results: report.jsonl" in html and "1 lines: 1 accepted" in html
    assert 'href="/console?lang=zh"' in html


def test_signing_out_drops_the_key(web: Web) -> None:
    web.login("maker")
    csrf = csrf_of(web.client.get("/console").text)
    r = web.client.post("/logout", data={"csrf": csrf}, follow_redirects=False)
    assert r.status_code == 303 and 'bt_key=""' in r.headers["set-cookie"]
    assert web.client.get("/console", follow_redirects=False).status_code == 303


def test_a_revoked_key_makes_the_visitor_anonymous(web: Web) -> None:
    from battrace.services.access import revoke_key

    web.login("maker")
    key_id = web.keys["maker"].removeprefix("bt_").split("_")[0]
    revoke_key(web.world.platform.store, key_id, web.world.platform.now())
    r = web.client.get("/console", follow_redirects=False)
    assert r.status_code == 303 and "bt_key" in r.headers.get("set-cookie", "")


def test_the_admin_has_no_console(web: Web) -> None:
    web.login("admin")
    r = web.client.get("/console")
    assert r.status_code == 403 and "平台管理员没有企业控制台" in r.text


def test_holdings_are_paginated(web: Web) -> None:
    events = [(i, produced(600 + i, s.code("P", 1000 + i))) for i in range(60)]
    web.world.platform.ledger.ingest([(n, {**e, "reporter": s.BATTERY_MAKER}) for n, e in events])
    web.login("maker")
    first = web.client.get("/console")
    assert "第 1 / 2 页" in first.text and 'id="next-page"' in first.text
    second = web.client.get("/console", params={"page": 2})
    assert "第 2 / 2 页" in second.text
    codes = set(re.findall(r'<td><a class="code" href="/b/([0-9A-Z]+)">', first.text))
    codes2 = set(re.findall(r'<td><a class="code" href="/b/([0-9A-Z]+)">', second.text))
    assert len(codes) == 50 and not codes & codes2


def test_a_hostile_line_in_an_upload_is_rejected_alone(web: Web) -> None:
    web.login("maker")
    lines = [
        json.dumps(produced(601, s.code("P", 601))),
        json.dumps(produced(602, s.code("P", 602)))[:-1] + ', "data": {"x": ' + "9" * 5000 + "}}",
        '{"a":' * 3000 + "1" + "}" * 3000,
        json.dumps(produced(603, s.code("P", 603), data={"x": "\u200b"})),
        json.dumps(produced(604, s.code("P", 604))),
    ]
    status, html = upload(web, "report.jsonl", "\n".join(lines).encode())
    assert status == 200
    assert rows(html) == [("accepted", "1"), ("rejected", "2"), ("rejected", "3"), ("rejected", "4"),
                          ("accepted", "5")]
