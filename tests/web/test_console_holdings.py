"""Issue 16, points 7 and 11: the console separates what an organisation physically holds from what
is in its customers' vehicles and what it made; search, filters (state, level, model, date), pages
and export (CSV, XLSX); a regulator is not offered the upload form."""

from __future__ import annotations

import csv
import io
import re
import zipfile

from tests import story as s
from tests.web.conftest import Web
from tests.web.test_console import csrf_of, produced


def codes_on(html: str) -> list[str]:
    return re.findall(r'<td><a class="code" href="/b/([0-9A-Z]+)">', html)


def stock(web: Web) -> list[str]:
    """Three packs (made 2026-11-20) and two modules of model X2 (made 2026-11-05) in the maker's stock."""
    packs = [s.code("P", 700 + i) for i in range(3)]
    modules = [s.code("M", 800 + i) for i in range(2)]
    events = [(i, {**produced(900 + i, c), "reporter": s.BATTERY_MAKER}) for i, c in enumerate(packs)]
    events += [(10 + i, {**produced(950 + i, c, model="X2", occurred_at="2026-11-05T09:00:00+08:00"),
                         "reporter": s.BATTERY_MAKER}) for i, c in enumerate(modules)]
    report = web.world.platform.ledger.ingest(events)
    assert report.rejected == 0, report.as_dict()
    return packs + modules


def test_scopes_separate_held_from_in_use_and_made(web: Web) -> None:
    made = stock(web)
    web.login("maker")
    held = web.client.get("/console")
    assert set(codes_on(held.text)) == set(made)  # the cells assembled into its packs are not "held"
    assert "实物在库" in held.text and "我方生产" in held.text
    everything = web.client.get("/console", params={"scope": "made"})
    assert set(made) < set(codes_on(everything.text))
    web.login("holder")
    in_use = web.client.get("/console", params={"scope": "in_use"})
    assert [c for c in codes_on(in_use.text)] and all(c not in codes_on(web.client.get("/console").text)
                                                      for c in codes_on(in_use.text))


def test_filters_search_and_dates(web: Web) -> None:
    packs_and_modules = stock(web)
    web.login("maker")
    by_level = codes_on(web.client.get("/console", params={"level": "M"}).text)
    assert sorted(by_level) == sorted(packs_and_modules[3:])
    by_model = codes_on(web.client.get("/console", params={"model": "X2"}).text)
    assert sorted(by_model) == sorted(packs_and_modules[3:])
    one = packs_and_modules[1]
    assert codes_on(web.client.get("/console", params={"q": one[-7:].lower()}).text) == [one]
    late = codes_on(web.client.get("/console", params={"since": "2026-11-15"}).text)
    assert sorted(late) == sorted(packs_and_modules[:3])
    early = codes_on(web.client.get("/console", params={"until": "2026-11-05"}).text)  # until: the whole day
    assert sorted(early) == sorted(packs_and_modules[3:])
    bad = web.client.get("/console", params={"since": "yesterday"})
    assert bad.status_code == 422 and 'id="filter-error"' in bad.text and "since" in bad.text


def test_pages_can_be_jumped_to(web: Web) -> None:
    events = [(i, {**produced(600 + i, s.code("P", 1000 + i)), "reporter": s.BATTERY_MAKER}) for i in range(120)]
    web.world.platform.ledger.ingest(events)
    web.login("maker")
    first = web.client.get("/console")
    assert 'id="last-page"' in first.text and 'id="page-number"' in first.text
    last = web.client.get("/console", params={"page": 3})
    assert "第 3 / 3 页" in last.text and len(codes_on(last.text)) == 20


def test_export_csv_and_xlsx_hold_the_filtered_rows(web: Web) -> None:
    made = stock(web)
    web.login("maker")
    page = web.client.get("/console", params={"level": "P"})
    assert 'href="/console/holdings.csv?level=P"' in page.text
    r = web.client.get("/console/holdings.csv", params={"level": "P"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert sorted(row["code"] for row in rows) == sorted(made[:3])
    assert {row["state"] for row in rows} == {"produced"} and all(row["last_event"] == "battery.produced"
                                                                  for row in rows)
    x = web.client.get("/console/holdings.xlsx", params={"level": "P"})
    assert x.status_code == 200
    with zipfile.ZipFile(io.BytesIO(x.content)) as z:
        assert "xl/workbook.xml" in z.namelist()
        sheet = z.read("xl/worksheets/sheet1.xml").decode("utf-8")
    assert all(code in sheet for code in made[:3]) and made[3] not in sheet
    assert web.client.get("/console/holdings.pdf").status_code == 404


def test_a_regulator_is_not_offered_the_upload_form_and_cannot_upload(web: Web) -> None:
    web.login("regulator")
    page = web.client.get("/console")
    assert page.status_code == 200
    assert 'id="upload"' not in page.text and 'id="regulator-note"' in page.text and 'href="/dashboard"' in page.text
    web.login("maker")
    csrf = csrf_of(web.client.get("/console").text)
    web.login("regulator")
    line = b'{"type": "battery.produced"}\n'
    refused = web.client.post("/console/upload", data={"csrf": csrf}, files={"file": ("e.jsonl", line, "text/plain")})
    assert refused.status_code == 403 and "监管部门不能上报事件" in refused.text
