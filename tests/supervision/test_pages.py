"""Supervision pages through the real app (pages and forms, zh and en), on the scripted story."""

from __future__ import annotations

import io

from openpyxl import load_workbook

from tests import story as s
from tests.web.conftest import Web, web  # noqa: F401 - fixture


def _csrf(html: str) -> str:
    import re

    m = re.search(r'name="csrf" value="([0-9a-f]+)"', html)
    assert m, "no csrf field"
    return m.group(1)


def test_regulator_opens_orders_and_company_answers_on_pages(web: Web) -> None:  # noqa: F811
    web.login("regulator")
    page = web.client.get("/dashboard/cases")
    assert page.status_code == 200 and "监管案件" in page.text
    finding = next(f for f in web.client.get("/api/v1/findings", params={"rule": "R04"},
                                             headers={"Authorization": f"Bearer {web.keys['admin']}"}).json()
                   if f["responsible"] == s.DISMANTLER)
    assert f'data-finding="{finding["id"]}"' in page.text
    csrf = _csrf(page.text)
    r = web.client.post("/dashboard/cases/open", data={"finding": finding["id"], "reason": "迟报", "csrf": csrf},
                        follow_redirects=False)
    assert r.status_code == 303
    url = r.headers["location"]
    case_id = int(url.rsplit("/", 1)[1])
    r = web.client.post(f"{url}/step", data={"action": "order", "due_date": "2026-12-31", "legal_basis": "第三十条",
                                             "csrf": csrf})
    assert r.status_code == 200 and 'data-state="rectification_ordered"' in r.text
    r = web.client.post(f"{url}/step", data={"action": "order", "due_date": "2026-12-31", "legal_basis": "x",
                                             "csrf": "forged"})
    assert r.status_code == 403
    r = web.client.post(f"{url}/step", data={"action": "close", "reason": "x", "csrf": csrf})
    assert r.status_code == 409 and 'id="case-error"' in r.text
    # the company
    web.client.post("/logout", data={"csrf": csrf})
    web.login("dismantler")
    todo = web.client.get("/console/cases?lang=en")
    assert todo.status_code == 200 and "Cases and to-dos" in todo.text and f'data-case="{case_id}"' in todo.text
    mine = web.client.get(f"/console/cases/{case_id}")
    assert 'id="form-respond"' in mine.text
    r = web.client.post(f"/console/cases/{case_id}/respond",
                        data={"text": "已补报", "curing": [finding["event_id"]], "csrf": _csrf(mine.text)})
    assert r.status_code == 200 and 'data-state="responded"' in r.text
    # exports from the console
    x = web.client.get("/console/exports/findings?format=xlsx")
    assert x.status_code == 200 and list(load_workbook(io.BytesIO(x.content)).active.values)[0][0] == "id"
    # another company cannot see it
    web.client.post("/logout", data={"csrf": _csrf(mine.text)})
    web.login("outlet")
    assert web.client.get(f"/console/cases/{case_id}").status_code == 404
    assert f'data-case="{case_id}"' not in web.client.get("/console/cases").text
    # nor can a company use the regulator's pages
    assert web.client.get("/dashboard/cases").status_code == 403


def test_public_report_page_receipt_and_outlets(web: Web) -> None:  # noqa: F811
    page = web.client.get(f"/b/{s.PACK}")
    assert 'id="report-this"' in page.text
    form = web.client.get(f"/report?code={s.PACK}")
    assert form.status_code == 200 and s.PACK in form.text
    r = web.client.post("/report", data={"code": s.PACK, "what": "路边摊出售拆下的电池", "region": "440305"})
    assert r.status_code == 200 and 'id="report-receipt"' in r.text
    import re

    receipt = re.search(r'data-receipt="(PR-[0-9A-F]+)"', r.text).group(1)  # type: ignore[union-attr]
    st = web.client.get(f"/report?receipt={receipt}&lang=en")
    assert 'data-state="received"' in st.text and "received" in st.text
    bad = web.client.post("/report", data={"code": "BAD", "what": "x", "region": "440305"})
    assert bad.status_code == 422 and 'id="report-error"' in bad.text
    outlets = web.client.get("/outlets?region=440000")
    assert outlets.status_code == 200 and "回收网点" in outlets.text
    web.login("regulator")
    triage = web.client.get("/dashboard/reports")
    assert receipt in triage.text
    r = web.client.post(f"/dashboard/reports/{receipt}/triage",
                        data={"action": "dismiss", "reason": "重复举报", "csrf": _csrf(triage.text)},
                        follow_redirects=False)
    assert r.status_code == 303
    assert 'data-state="dismissed"' in web.client.get(f"/report?receipt={receipt}").text


def test_a_retired_battery_page_points_to_its_producer_outlets_in_the_holder_province(web: Web) -> None:  # noqa: F811
    from battrace.domain.access import Caller
    from battrace.services.outlets import add_outlets
    from battrace.services.passport import get_passport
    from tests.api.conftest import NOW

    store = web.world.platform.store
    passport = get_passport(store, s.PACK)
    holder_region = {o["credit_code"]: o.get("region") for o in s.orgs()}[passport["custodian"]["credit_code"]]
    add_outlets(store, Caller(admin=True), [
        {"name": "本省电池回收点", "operated_for": s.BATTERY_MAKER, "region": holder_region[:4] + "02",
         "address": "本省示例路 2 号"},
        {"name": "外省电池回收点", "operated_for": s.BATTERY_MAKER, "region": "110105", "address": "北京示例路 3 号"},
        {"name": "别家回收点", "operated_for": s.OTHER_MAKER, "region": holder_region, "address": "本省示例路 4 号"},
    ], NOW)
    page = web.client.get(f"/b/{s.PACK}")
    assert page.status_code == 200 and 'id="battery-outlets"' in page.text
    assert "本省电池回收点" in page.text and "外省电池回收点" not in page.text and "别家回收点" not in page.text
