"""Issue 16 in a real browser (Chromium via Playwright, as tests/web/test_browser.py): the pages a
newcomer, a compliance officer and a regulator trip over. Screenshots are kept as test output in
``test-output/screenshots/newcomer-*.png`` (git-ignored)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlparse

import pytest

from tests.web.test_browser import shoot, sign_in
from tests.web.world import World

pytestmark = pytest.mark.browser


def test_api_docs_render_from_vendored_assets_without_any_outside_request(page: Any, live_server: str) -> None:
    outside: list[str] = []

    def only_local(route: Any) -> None:
        host = urlparse(route.request.url).hostname
        if host not in ("127.0.0.1", "localhost"):
            outside.append(route.request.url)
            route.abort()
        else:
            route.continue_()

    page.route("**/*", only_local)
    page.goto("/docs")
    page.wait_for_selector(".swagger-ui .opblock-summary-path", timeout=30_000)
    assert page.locator(".swagger-ui .opblock").count() > 20
    assert "battrace" in page.locator(".swagger-ui .title").inner_text()
    shoot(page, "newcomer-api-docs")
    assert outside == []


def _label_codes(world: World) -> list[str]:
    """A pack of the maker with the longest name, and a re-made product (long application text)."""
    from sqlalchemy import func, select

    from battrace.storage import schema

    b, o = schema.batteries, schema.orgs
    with world.platform.store.reader() as conn:
        longest = conn.execute(select(b.c.code).join(o, o.c.credit_code == b.c.maker).where(b.c.level == "P")
                               .order_by(func.length(o.c.name).desc(), b.c.code).limit(1)).scalar_one()
        remade = conn.execute(select(b.c.code).where(b.c.remade.is_(True)).order_by(b.c.code).limit(1)).scalar()
    return [longest] + ([remade] if remade else [])


#: Printed sizes: the nominal 100 mm x 50 mm at 300 dpi, and a small 60 mm x 30 mm label.
PRINT_SIZES = {"100x50mm-300dpi": (100, 50, 300), "60x30mm-300dpi": (60, 30, 300)}


@pytest.mark.parametrize("size", sorted(PRINT_SIZES))
def test_the_label_fits_inside_its_border_and_keeps_clear_of_the_qr_code(browser: Any, live_server: str,
                                                                        big_world: World, size: str) -> None:
    from tests.web.conftest import SCREENSHOTS

    width_mm, height_mm, dpi = PRINT_SIZES[size]
    px = round(width_mm / 25.4 * 96), round(height_mm / 25.4 * 96)
    context = browser.new_context(base_url=live_server, viewport={"width": px[0], "height": px[1]},
                                  device_scale_factor=dpi / 96)
    pg = context.new_page()
    try:
        for code in _label_codes(big_world):
            svg = pg.request.get(f"/b/{code}/label.svg").text()
            # print size: the label scaled to the label stock
            svg = svg.replace('width="100mm" height="50mm"', f'width="{width_mm}mm" height="{height_mm}mm"', 1)
            pg.set_content(f'<html><body style="margin:0">{svg.split("?>", 1)[1]}</body></html>')
            pg.wait_for_timeout(100)
            boxes = pg.evaluate("""() => {
                const root = document.querySelector('body > svg');
                const qr = root.querySelector('svg');
                const q = {x: +qr.getAttribute('x'), y: +qr.getAttribute('y'), w: +qr.getAttribute('width'),
                           h: +qr.getAttribute('height')};
                return {qr: q, texts: [...root.querySelectorAll(':scope > text')].map(t => {
                    const b = t.getBBox(); return {text: t.textContent, x: b.x, y: b.y, w: b.width, h: b.height};
                })};
            }""")
            qr = boxes["qr"]
            assert any("三元" in t["text"] or "磷酸铁锂" in t["text"] or "锰酸锂" in t["text"]
                       for t in boxes["texts"]), boxes  # the values are bilingual
            for t in boxes["texts"]:
                assert t["x"] >= 0.9 and t["x"] + t["w"] <= 99.1, (code, t)  # inside the border
                assert t["y"] >= 0.9 and t["y"] + t["h"] <= 49.1, (code, t)
                overlaps_qr_rows = t["y"] < qr["y"] + qr["h"] and t["y"] + t["h"] > qr["y"]
                if overlaps_qr_rows:  # beside the QR code: stop before it (its quiet zone included)
                    assert t["x"] + t["w"] <= qr["x"] + 0.01, (code, t, qr)
            SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            pg.locator("body > svg").screenshot(path=str(SCREENSHOTS / f"newcomer-label-{size}-{code}.png"))
    finally:
        context.close()


def _busiest_pack_and_a_remade_product(world: World) -> tuple[str, str | None]:
    from sqlalchemy import select

    from battrace.storage import schema

    b = schema.batteries
    with world.platform.store.reader() as conn:
        busiest = conn.execute(select(b.c.code).where(b.c.level == "P", b.c.remade.is_(False))
                               .order_by(b.c.version.desc(), b.c.code).limit(1)).scalar_one()
        remade = conn.execute(select(b.c.code).where(b.c.remade.is_(True)).order_by(b.c.code).limit(1)).scalar()
    return busiest, remade


def test_the_battery_page_puts_state_findings_and_custody_first_and_folds_long_timelines(
        page: Any, big_world: World) -> None:
    busiest, remade = _busiest_pack_and_a_remade_product(big_world)
    sign_in(page, big_world.keys["national_regulator"], "/dashboard")
    page.goto(f"/b/{busiest}")
    order = page.evaluate("() => [...document.querySelectorAll('.col-main > section')].map(s => s.id)")
    assert order.index("glance") < order.index("findings") < order.index("identity") < order.index("timeline")
    entries = page.locator("#timeline li.tl-event, #timeline li[class^='tl-']").count()
    if entries > 11:
        fold = page.locator("#timeline-fold")
        assert fold.count() == 1 and fold.get_attribute("open") is None
        assert page.locator("#timeline-fold summary").is_visible()
    shoot(page, "newcomer-battery-busiest")
    if remade:
        page.goto(f"/b/{remade}")
        labels = page.locator(".stepper li").all_inner_texts()
        assert "装车使用" not in " ".join(labels) and "梯次使用" in " ".join(labels)
        shoot(page, "newcomer-battery-remade")


def test_the_dashboard_keeps_party_names_to_two_lines_and_sankey_labels_apart(page: Any, big_world: World) -> None:
    sign_in(page, big_world.keys["national_regulator"], "/dashboard")
    page.wait_for_selector("#chart-flows[data-ready]")
    names = page.locator("td.party .party-name")
    heights = page.evaluate("""() => [...document.querySelectorAll('td.party .party-name')].map(e => {
        const lh = parseFloat(getComputedStyle(e).lineHeight); return e.getBoundingClientRect().height / lh; })""")
    assert names.count() == 0 or max(heights) <= 2.05, heights
    shoot(page, "newcomer-dashboard")
