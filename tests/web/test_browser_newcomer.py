"""Issue 16 in a real browser (Chromium via Playwright, as tests/web/test_browser.py): the pages a
newcomer, a compliance officer and a regulator trip over. Screenshots are kept as test output in
``test-output/screenshots/newcomer-*.png`` (git-ignored)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlparse

import pytest

from tests.web.test_browser import browser, page, shoot, sign_in  # noqa: F401 (fixtures)
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
