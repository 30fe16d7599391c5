"""``POST /api/v1/events``: one event, a JSON array, or JSON Lines."""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Request, Response

from battrace.api.deps import COMMIT_LSN_HEADER, CallerDep, PlatformDep
from battrace.api.metrics import record_ingest
from battrace.errors import BattraceError, Forbidden, InvalidEvent, PayloadTooLarge, ValidationError
from battrace.services.access import require_org
from battrace.storage.replica import write_position

router = APIRouter(tags=["events"])

_BODY_DOC = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {"schema": {"oneOf": [
                {"type": "object", "description": "one event (see docs/events.md)"},
                {"type": "array", "items": {"type": "object"}},
            ]}},
            "application/x-ndjson": {"schema": {"type": "string", "description": "JSON Lines, one event a line"}},
        },
    }
}


def _items(body: bytes, content_type: str) -> list[tuple[int, Any]]:
    text = body.decode("utf-8", errors="strict") if body else ""
    if "ndjson" in content_type or "jsonl" in content_type:
        items: list[tuple[int, Any]] = []
        for number, line in enumerate(text.splitlines(), 1):
            if not line.strip():
                continue
            try:
                items.append((number, json.loads(line)))
            except json.JSONDecodeError as exc:
                items.append((number, InvalidEvent(f"line {number} is not valid JSON: {exc.msg}", line=number)))
        return items
    try:
        parsed = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValidationError(f"the body is not valid JSON: {exc.msg} (line {exc.lineno})") from None
    if isinstance(parsed, list):
        return list(enumerate(parsed, 1))
    if isinstance(parsed, dict):
        return [(1, parsed)]
    raise ValidationError("the body must be an event object, an array of events, or JSON Lines")


@router.post("/events", openapi_extra=_BODY_DOC, summary="Report events")
async def post_events(request: Request, response: Response, platform: PlatformDep, caller: CallerDep
                      ) -> dict[str, Any]:
    """Each event is accepted, `duplicate` or rejected on its own; the report is the one of
    `battrace ingest --json`, plus each event's outcome (seq and hash when stored). The reporter is
    always the key's organisation. With a read replica configured, the `X-Battrace-Commit-LSN`
    response header is the token to send back as `X-Battrace-Min-LSN` to read these writes."""
    require_org(caller)
    if caller.admin:
        raise Forbidden("the platform admin does not report events; use an organisation's key")
    body = await request.body()
    try:
        items = _items(body, request.headers.get("content-type", "application/json"))
    except UnicodeDecodeError:
        raise ValidationError("the body is not UTF-8") from None
    limit = platform.settings.batch_limit
    if len(items) > limit:
        raise PayloadTooLarge(f"a request may carry at most {limit} events, got {len(items)}", limit=limit)
    prepared: list[tuple[int | None, Any]] = []
    for line, raw in items:
        if isinstance(raw, dict) and not isinstance(raw, BattraceError):
            named = raw.get("reporter")
            if named is not None and named != caller.org:
                raise Forbidden(
                    f"event on line {line} names reporter {named!r}; the reporter is always the key's "
                    f"organisation ({caller.org})", line=line, reporter=named,
                )
            raw = {**raw, "reporter": caller.org}
            raw.pop("recorded_at", None)
        prepared.append((line, raw))
    report = platform.ledger.ingest(prepared)
    record_ingest(report)
    if platform.read_store is not platform.store and report.accepted:
        lsn = write_position(platform.store)
        if lsn is not None:
            response.headers[COMMIT_LSN_HEADER] = lsn
    return report.as_dict(outcomes=True)
