"""``/docs``: Swagger UI from vendored assets, so that the API docs work without reaching a CDN.

FastAPI's default ``/docs`` page loads Swagger UI from a public CDN, which a platform on a
government network cannot reach (the page stays blank). The ``swagger-ui-dist`` build is vendored
in ``battrace/web/static/vendor/swagger-ui`` (version, checksums and licence beside it, like ECharts)
and served here at ``/docs/assets``, whether or not the web pages are mounted.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

ASSETS = Path(__file__).resolve().parents[1] / "web" / "static" / "vendor" / "swagger-ui"
ASSETS_URL = "/docs/assets"


def install_docs(app: FastAPI, openapi_url: str = "/openapi.json") -> None:
    """Serve ``/docs`` (Swagger UI) and its vendored assets; no CDN is referenced."""
    app.mount(ASSETS_URL, StaticFiles(directory=ASSETS), name="swagger-ui")

    @app.get("/docs", include_in_schema=False)
    def swagger_ui() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=openapi_url,
            title=f"{app.title} — API",
            swagger_js_url=f"{ASSETS_URL}/swagger-ui-bundle.js",
            swagger_css_url=f"{ASSETS_URL}/swagger-ui.css",
            swagger_favicon_url=f"{ASSETS_URL}/favicon.svg",
        )
