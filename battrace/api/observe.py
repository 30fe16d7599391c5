"""Request ids, structured JSON logs (structlog) and request metrics, as one ASGI middleware.

Every request gets an id: the caller's ``X-Request-ID`` when it is a sane token, else a new one. It
is echoed in the response's ``X-Request-ID`` and bound to every log line written while the request
runs. Headers a dependency leaves in ``request.state.response_headers`` (which store answered, the
replica's lag) are added to the response whatever its outcome, an error's too. One line per
request (``event: request``) gives method, route, status and duration.
"""

from __future__ import annotations

import logging
import re
import sys
import time
import uuid
from typing import Any

import structlog
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from battrace.api.metrics import IN_FLIGHT, REQUEST_SECONDS
from battrace.config import Settings

REQUEST_ID_HEADER = "X-Request-ID"
_SANE_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")

log = structlog.get_logger("battrace.http")


def configure_logging(settings: Settings) -> None:
    """structlog to stderr: one JSON object a line (``log_format=json``) or a readable line."""
    renderer: Any = (structlog.processors.JSONRenderer() if settings.log_format == "json"
                     else structlog.dev.ConsoleRenderer(colors=False))
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(settings.log_level.upper())),
        logger_factory=structlog.WriteLoggerFactory(file=_Stderr()),  # type: ignore[arg-type]
        cache_logger_on_first_use=False,
    )


class _Stderr:
    """Whatever ``sys.stderr`` is when a line is written (a test's capture, a redirected stream)."""

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()


def _route(scope: Scope) -> str:
    """The route's template (``/api/v1/batteries/{code}``), never the raw path: bounded label values.

    Built from the path and the matched route's path parameters (an included router's route does
    not carry its prefix); ``unmatched`` when no route took the request."""
    if scope.get("route") is None:
        return "unmatched"
    names = {str(v): k for k, v in (scope.get("path_params") or {}).items()}
    path: str = scope["path"]
    return "/".join(f"{{{names[seg]}}}" if seg in names else seg for seg in path.split("/"))


class ObserveMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = dict(scope.get("headers") or ()).get(b"x-request-id", b"").decode("latin-1")
        request_id = incoming if _SANE_ID.match(incoming) else uuid.uuid4().hex
        status = 500
        encoded = request_id.encode("latin-1")

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                extra = [(k.lower().encode("latin-1"), v.encode("latin-1"))
                         for k, v in (scope.get("state") or {}).get("response_headers", {}).items()]
                message["headers"] = [*message.get("headers", ()), *extra, (b"x-request-id", encoded)]
            await send(message)

        structlog.contextvars.bind_contextvars(request_id=request_id)
        IN_FLIGHT.inc()
        start = time.perf_counter()
        try:
            await self.app(scope, receive, send_with_id)
        finally:
            elapsed = time.perf_counter() - start
            IN_FLIGHT.dec()
            route = _route(scope)
            REQUEST_SECONDS.labels(scope["method"], route, str(status)).observe(elapsed)
            log.info("request", method=scope["method"], path=scope["path"], route=route, status=status,
                     duration_ms=round(elapsed * 1000, 2))
            structlog.contextvars.unbind_contextvars("request_id")
