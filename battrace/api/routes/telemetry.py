"""BMS telemetry in (GB/T 32960-style frames), early-warning alarms out."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from starlette.concurrency import run_in_threadpool

from battrace.api.deps import CallerDep, PlatformDep, ReaderDep
from battrace.errors import PayloadTooLarge, ValidationError
from battrace.services.access import require_org
from battrace.services.telemetry import list_alarms

router = APIRouter(tags=["telemetry"])

_FRAME = {
    "type": "object",
    "description": "battery (pack code) or vin, time (ISO 8601 with offset), soc, voltage (V), current (A, "
    "negative = charging), cell_voltages (V), temperatures (°C), insulation_kohm (kΩ as GB/T 32960 sends it) or "
    "insulation_ohm, alarm_level (0–3), alarm_flags (32-bit word), optional charging, fleet — see docs/telemetry.md",
}
_BODY_DOC = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {"schema": {"oneOf": [_FRAME, {"type": "array", "items": _FRAME}]}},
            "application/x-ndjson": {"schema": {"type": "string", "description": "JSON Lines, one frame a line"}},
        },
    }
}


def _frames(body: bytes, content_type: str) -> list[Any]:
    try:
        text = body.decode("utf-8") if body else ""
    except UnicodeDecodeError:
        raise ValidationError("the body is not UTF-8") from None
    if "ndjson" in content_type or "jsonl" in content_type:
        frames: list[Any] = []
        for line in text.splitlines():
            if line.strip():
                try:
                    frames.append(json.loads(line))
                except json.JSONDecodeError:
                    frames.append(None)  # rejected on its own, by position
        return frames
    try:
        parsed = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValidationError(f"the body is not valid JSON: {exc.msg} (line {exc.lineno})") from None
    if isinstance(parsed, dict):
        return [parsed]
    if isinstance(parsed, list):
        return parsed
    raise ValidationError("the body must be a frame object, an array of frames, or JSON Lines")


@router.post("/telemetry", openapi_extra=_BODY_DOC, summary="Report BMS frames; returns the alarms they raised")
async def post_telemetry(request: Request, platform: PlatformDep, caller: CallerDep) -> dict[str, Any]:
    """Each frame is checked on its own (`rejections` name the frame, 0-based, and the field); a VIN is
    resolved to the pack bound to it. Only a battery's maker or its vehicle's maker may report its
    frames. The report: `{frames, accepted, rejected, late, extended, alarms, rejections}`; raised alarms
    are stored and appear on the digital ID and in `GET /alarms`."""
    require_org(caller)
    frames = _frames(await request.body(), request.headers.get("content-type", "application/json"))
    limit = platform.settings.batch_limit
    if len(frames) > limit:
        raise PayloadTooLarge(f"a request may carry at most {limit} frames, got {len(frames)}", limit=limit)
    service = platform.telemetry
    report = await run_in_threadpool(service.ingest, frames, caller=caller, source="api")
    return report.as_dict()


@router.get("/alarms", summary="BMS early-warning alarms: a regulator's jurisdiction, or an org's batteries")
def alarms(
    platform: PlatformDep, caller: ReaderDep,
    battery: str | None = None,
    hazard: Annotated[str | None, Query(max_length=40)] = None,
    min_level: Annotated[int | None, Query(ge=1, le=3)] = None,
    since: Annotated[datetime | None, Query(description="first frame at or after this time")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100, offset: Annotated[int, Query(ge=0, le=1_000_000_000)] = 0,
) -> list[dict[str, Any]]:
    """Newest first. Regulators see alarms within their jurisdiction (the vehicle's region, else the
    vehicle or battery maker's); organisations those of batteries they made or whose vehicle they made;
    the admin all. Each alarm carries `level`, `response` and `respond_by`."""
    scope = platform.guard.scope(caller, "alarms.list")
    if since is not None and since.tzinfo is None:
        raise ValidationError("since needs a time-zone offset", field="since")
    return list_alarms(platform.store, battery=battery, hazard=hazard, min_level=min_level, since=since,
                       limit=limit, offset=offset, **scope.as_filters())
