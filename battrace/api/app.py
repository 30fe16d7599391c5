"""The FastAPI application: one app object that the CLI, the tests and the server all build."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

from battrace import __version__
from battrace.api import errors
from battrace.api.routes import batteries, events, health, interop, supervision, telemetry
from battrace.api.routes import epcis as epcis_routes
from battrace.services.platform import Platform

API_PREFIX = "/api/v1"


def create_app(platform: Platform | None = None, *, with_web: bool = True) -> FastAPI:
    platform = platform or Platform.open()
    app = FastAPI(
        title="battrace",
        version=__version__,
        description="Digital ID and lifecycle traceability for EV power batteries. Errors always use the body "
        "`{ok: false, error, code, status, context}`.",
        openapi_url="/openapi.json",
        docs_url="/docs",
    )
    app.state.platform = platform
    errors.install(app)
    for module in (events, batteries, supervision, interop, health, telemetry):
        app.include_router(module.router, prefix=API_PREFIX)
    app.include_router(epcis_routes.router, prefix=API_PREFIX)

    @app.get("/healthz", tags=["meta"], summary="Liveness")
    def healthz() -> dict[str, Any]:
        return {"ok": True, "version": __version__}

    if with_web:
        try:
            from battrace.web.app import mount_web
        except ImportError:
            pass
        else:
            mount_web(app)
    return app
