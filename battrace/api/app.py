"""The FastAPI application: one app object that the CLI, the tests and the server all build."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.responses import JSONResponse, Response

from battrace import __version__
from battrace.api import errors
from battrace.api.docs import install_docs
from battrace.api.metrics import CONTENT_TYPE, exposition
from battrace.api.observe import ObserveMiddleware, configure_logging
from battrace.api.routes import batteries, events, health, interop, supervision, telemetry
from battrace.api.routes import cases as case_routes
from battrace.api.routes import epcis as epcis_routes
from battrace.api.routes import public_reports as report_routes
from battrace.errors import StorageError
from battrace.services.platform import Platform
from battrace.storage.migrate import current_revision, head_revision
from battrace.storage.replica import ping
from battrace.storage.server_settings import setting_warnings

API_PREFIX = "/api/v1"


def create_app(platform: Platform | None = None, *, with_web: bool = True) -> FastAPI:
    platform = platform or Platform.open()
    app = FastAPI(
        title="battrace",
        version=__version__,
        description="Digital ID and lifecycle traceability for EV power batteries. Errors always use the body "
        "`{ok: false, error, code, status, context}`.",
        openapi_url="/openapi.json",
        docs_url=None,  # served by battrace.api.docs from vendored assets (no CDN)
        redoc_url=None,  # ReDoc would load from a CDN too
    )
    install_docs(app)
    app.state.platform = platform
    errors.install(app)
    for module in (events, batteries, supervision, interop, health, telemetry):
        app.include_router(module.router, prefix=API_PREFIX)
    app.include_router(epcis_routes.router, prefix=API_PREFIX)
    for extra in (case_routes, report_routes):  # supervision that acts (issue 15)
        app.include_router(extra.router, prefix=API_PREFIX)

    configure_logging(platform.settings)
    app.add_middleware(ObserveMiddleware)

    @app.get("/healthz", tags=["meta"], summary="Liveness")
    def healthz() -> dict[str, Any]:
        """The process answers (it touches no database): a load balancer restarts it when not."""
        return {"ok": True, "version": __version__}

    head = head_revision()

    @app.get("/readyz", tags=["meta"], summary="Readiness", response_model=None)
    def readyz() -> dict[str, Any] | JSONResponse:
        """Whether to send traffic here: the database (and the read replica, when configured) answers
        and its schema is at the migrations' head; 503 naming what is not. ``warnings`` names server
        settings an operator should change (autovacuum off, say): they do not make it unready."""
        checks = readiness(platform, head)
        if all(c == "ok" for c in checks.values()):
            return {"ok": True, "version": __version__, "checks": checks, "warnings": setting_warnings(platform.store)}
        failed = ", ".join(f"{k}: {v}" for k, v in checks.items() if v != "ok")
        return JSONResponse(status_code=503, content={
            "ok": False, "error": f"not ready: {failed}", "code": "not_ready", "status": 503,
            "context": {"checks": checks}})

    @app.get("/metrics", tags=["meta"], summary="Prometheus metrics", response_class=Response)
    def metrics() -> Response:
        return Response(exposition(platform), media_type=CONTENT_TYPE)

    if with_web:
        try:
            from battrace.web.app import mount_web
        except ImportError:
            pass
        else:
            mount_web(app)
    return app


def readiness(platform: Platform, head: str | None) -> dict[str, str]:
    """Each check's result: ``ok`` or what is wrong."""
    checks: dict[str, str] = {}
    try:
        ping(platform.store)
        at = current_revision(platform.store.engine)
        checks["database"] = "ok"
        checks["migrations"] = "ok" if at == head else f"database at {at}, code expects {head}"
    except StorageError as exc:
        checks["database"] = exc.message
    except Exception as exc:  # noqa: BLE001 - a driver error outside the store's mapping: not ready
        checks["database"] = f"unreachable: {type(exc).__name__}"
    if platform.read_store is not platform.store:
        try:
            ping(platform.read_store)
            checks["replica"] = "ok"
        except StorageError as exc:
            checks["replica"] = exc.message
    return checks


def create_app_from_env() -> FastAPI:
    """The app as ``battrace serve --workers N`` starts it in each worker (settings from the environment)."""
    return create_app(Platform.open())
