"""The web console: server-rendered pages (Jinja2, zh/en) mounted on the API's application.

:func:`mount_web` is what :func:`battrace.api.create_app` calls. It adds

- the pages (:mod:`battrace.web.pages`): ``/`` lookup, ``/b/{code}`` battery page,
  ``/login`` and ``/logout``, ``/dashboard`` for regulators, ``/console`` for organisations;
- ``/static`` (the stylesheet, the chart glue and the vendored ECharts build);
- the HTML face of the error mapping: a platform error (or an HTTP error) raised while serving a
  page becomes an error page with the same status; every other path (``/api/…``) keeps the API's
  canonical JSON body, whose handlers are wrapped, not replaced.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from battrace.domain.access import Caller
from battrace.errors import BattraceError
from battrace.web import views
from battrace.web.cache import VersionedCache
from battrace.web.error_text import error_text
from battrace.web.i18n import LANG_COOKIE, Translator, pick_lang
from battrace.web.pages import auth, console, dashboard, public
from battrace.web.pages import supervision as supervision_pages
from battrace.web.session import Viewer
from battrace.web.templating import STATIC, Frame, frame, render

log = logging.getLogger("battrace.web")
ROUTERS = (public.router, auth.router, dashboard.router, console.router, supervision_pages.router)
NOT_HTML = ("/api/", "/openapi.json", "/docs", "/redoc", "/healthz", "/static/")
Handler = Callable[[Request, Any], Awaitable[Response]]
AnyHandler = Callable[[Request, Any], Response | Awaitable[Response]]
_HTTP_CODES = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
               405: "method_not_allowed", 413: "payload_too_large", 422: "invalid_input"}


def mount_web(app: FastAPI) -> None:
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    endpoints: set[Any] = set()
    for router in ROUTERS:
        endpoints.update(getattr(r, "endpoint", None) for r in router.routes)
        app.include_router(router)
    app.state.web_endpoints = endpoints
    app.state.web_cache = VersionedCache()
    for exc_class in (BattraceError, StarletteHTTPException, RequestValidationError, Exception):
        original = app.exception_handlers.get(exc_class)
        app.add_exception_handler(exc_class, _html_or(original))


def wants_html(request: Request) -> bool:
    """Whether an error on this request gets a page: raised by a page's route, or (no route
    matched) asked for by a browser outside the API."""
    path = request.url.path
    if path.startswith(NOT_HTML):
        return False
    route = request.scope.get("route")
    if route is not None:
        return getattr(route, "endpoint", None) in getattr(request.app.state, "web_endpoints", ())
    return "text/html" in request.headers.get("accept", "")


def _html_or(original: AnyHandler | None) -> Handler:
    async def handler(request: Request, exc: Any) -> Response:
        if wants_html(request):
            return error_page(request, exc)
        if original is not None:
            result = original(request, exc)
            return await result if inspect.isawaitable(result) else result
        if isinstance(exc, BattraceError):
            return JSONResponse(exc.to_dict(), status_code=exc.status)
        raise exc

    return handler


def _frame(request: Request) -> Frame:
    try:
        return frame(request)
    except BattraceError:  # e.g. the database is down: still say so in the visitor's language
        lang = pick_lang(request.query_params.get("lang"), request.cookies.get(LANG_COOKIE))
        return Frame(request, Translator(lang), Viewer(Caller()))


def error_page(request: Request, exc: Exception) -> Response:
    """The one mapping from an error to an HTML page (the API's JSON body has its own)."""
    fr = _frame(request)
    t = fr.t
    context: dict[str, Any] = {}
    if isinstance(exc, BattraceError):
        status, code = exc.status, exc.code
        message = exc.message
        if code == "invalid_code":
            message = t("lookup.invalid", input=str(exc.context.get("input", ""))[:64],
                        reason=views.explain_invalid_code(t, exc.context))
        else:
            message = error_text(t, code, exc.message, exc.context)
        context["detail"] = exc.message if message != exc.message else None
    elif isinstance(exc, StarletteHTTPException):
        status = exc.status_code
        code = _HTTP_CODES.get(status, "internal_error")
        message = str(exc.detail)
    elif isinstance(exc, RequestValidationError):
        status, code = 422, "invalid_input"
        first = exc.errors()[0] if exc.errors() else {}
        message = f"{'.'.join(str(p) for p in first.get('loc', ()))}: {first.get('msg', '')}"
    else:
        log.exception("unexpected error on %s", request.url.path)
        status, code, message = 500, "internal_error", t("error.title")
    if status >= 500 and isinstance(exc, BattraceError):
        log.error("platform error on %s: %s", request.url.path, exc)
    title = t.vocab("error", code) if code in _known_codes() else t("error.title")
    return render(fr, "error.html", status_code=status, status=status, code=code, title=title, message=message,
                  **context)


def _known_codes() -> set[str]:
    from battrace.web.i18n import VOCABULARY

    return set(VOCABULARY["error"])
