"""One case end to end in a real browser (Chromium via Playwright, against uvicorn): the regulator
opens it from a finding and orders rectification, the company answers from its console with a
curing event, the regulator closes it — and the company's webhook receiver got a verified, signed
notification for every step.

The browser runs in a thread of its own: Playwright's sync API allows one instance per thread, and
``test_browser.py`` keeps its session-wide instance in the main thread."""

from __future__ import annotations

import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from tests import story as s
from tests.supervision.receiver import Receiver, start_receiver
from tests.web.test_browser import CHROMIUM, CHROMIUM_ARGS, shoot, sign_in
from tests.web.world import World

pytestmark = pytest.mark.browser


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    rec = start_receiver()
    yield rec
    rec.close()


def _sign_out(pg: Any) -> None:
    pg.click("#logout")
    pg.wait_for_selector("#login-link")


def test_one_case_end_to_end_with_signed_webhooks(live_server: str, big_world: World, receiver: Receiver) -> None:
    if not CHROMIUM.exists():
        pytest.skip(f"Chromium is not installed at {CHROMIUM}: run `make browser-deps`")
    sync_api = pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed")

    walked: dict[str, Any] = {}

    def run() -> None:
        with sync_api.sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
            context = browser.new_context(base_url=live_server, viewport={"width": 1360, "height": 900},
                                          locale="zh-CN")
            page = context.new_page()
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.set_default_timeout(15_000)
            try:
                walked.update(_walk(page, big_world, receiver))
            finally:
                context.close()
                browser.close()
            assert errors == [], f"JavaScript errors on the page: {errors}"

    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(run).result()
    # every step reached the company's receiver, signed with its secret (deliveries run after each response)
    case_id = walked["case"]
    deadline = time.monotonic() + 15
    mine: list[dict[str, Any]] = []
    while time.monotonic() < deadline:
        mine = [m for m in receiver.received if m["payload"]["data"].get("case") == case_id]
        if len(mine) >= 4:
            break
        time.sleep(0.1)
    assert receiver.rejected == []
    assert [m["payload"]["data"]["action"] for m in mine] == ["open", "order", "respond", "close"]
    assert mine[2]["payload"]["data"]["body"]["curing_events"] == [walked["event_id"]]


def _walk(page: Any, big_world: World, receiver: Receiver) -> dict[str, Any]:
    from battrace.services.compliance import list_findings

    finding = next(f for f in list_findings(big_world.platform.store, rule="R04", state="open", org=s.DISMANTLER,
                                            limit=1000) if f["responsible"] == s.DISMANTLER)

    # the company subscribes its receiver from the console and keeps the secret shown once
    sign_in(page, big_world.keys["dismantler"], "/console")
    page.click("#my-cases-link")
    page.fill("#webhook-url", receiver.url)
    page.click("#subscribe-submit")
    secret = page.inner_text("#webhook-secret")
    receiver.secret = secret[secret.index("whsec_"):].strip()
    _sign_out(page)

    # the regulator opens a case from the finding and orders rectification
    sign_in(page, big_world.keys["regulator"], "/dashboard")
    page.click("#cases-link")
    page.goto(f"/dashboard/cases?finding={finding['id']}")
    row = page.locator(f"#open-findings tr[data-finding='{finding['id']}']")
    row.locator("input[name=reason]").fill("迟报车辆报废信息")
    row.locator("button.open-case").click()
    page.wait_for_selector("#case-state[data-state='opened']")
    case_url = page.url
    case_id = int(case_url.rstrip("/").rsplit("/", 1)[1])
    page.fill("#order-due", "2026-12-31")
    page.fill("#order-basis", "《新能源汽车废旧动力电池回收和综合利用管理暂行办法》第三十条")
    page.click("#order-submit")
    page.wait_for_selector("#case-state[data-state='rectification_ordered']")
    _sign_out(page)

    # the company answers from its console, citing the event that cures it
    sign_in(page, big_world.keys["dismantler"], "/console")
    page.click("#my-cases-link")
    page.click(f"tr[data-case='{case_id}'] a.case-link")
    page.fill("#respond-text", "已补报报废信息，今后按期报送。")
    page.fill("#respond-attachments", "doc://dismantler/rectification-2026-11.pdf")
    page.check(f"input[data-event='{finding['event_id']}']")
    page.click("#respond-submit")
    page.wait_for_selector("#case-state[data-state='responded']")
    shoot(page, "case-company-responded")
    _sign_out(page)

    # the regulator verifies and closes it
    sign_in(page, big_world.keys["regulator"], "/dashboard")
    page.goto(f"/dashboard/cases/{case_id}?lang=en")
    page.check("#close-verified")
    page.fill("#close-reason", "Rectification verified")
    page.click("#close-submit")
    page.wait_for_selector("#case-state[data-state='closed']")
    actions = page.eval_on_selector_all("#case-steps tr.step", "rows => rows.map(r => r.dataset.action)")
    assert actions == ["open", "order", "respond", "close"]
    shoot(page, "case-closed")
    page.goto("/dashboard/cases")
    assert int(page.inner_text("#cases-total")) >= 1
    return {"case": case_id, "event_id": finding["event_id"]}
