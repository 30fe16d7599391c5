"""``POST /api/v1/events``: one event, a JSON array, or JSON Lines."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from starlette.concurrency import run_in_threadpool

from battrace.api.deps import COMMIT_LSN_HEADER, CallerDep, PlatformDep
from battrace.api.metrics import record_ingest
from battrace.domain.events import EVENT_TYPES
from battrace.domain.limits import MAX_DEPTH, MAX_EVENT_BYTES
from battrace.errors import Forbidden, PayloadTooLarge, ValidationError
from battrace.interop.jsonl import decode_document, decode_lines, split_lines
from battrace.services.access import require_org
from battrace.services.stamping import stamp_reporter
from battrace.storage.replica import write_position

router = APIRouter(tags=["events"])

#: One event as the API documents it: the common fields typed, the rest free (see docs/events.md);
#: the limits of battrace.domain.limits are stated so that schema-driven fuzzers probe them.
_EVENT_SCHEMA = {
    "type": "object",
    "description": "one event (see docs/events.md)",
    "properties": {
        "event_id": {"type": "string", "minLength": 1, "maxLength": 128},
        "type": {"type": "string", "enum": list(EVENT_TYPES)},
        "occurred_at": {"type": "string", "format": "date-time", "description": "RFC 3339 with offset, 2000 or later"},
        "region": {"type": "string", "pattern": "^[0-9]{6}$"},
        "data": {"type": "object", "description": f"at most {MAX_DEPTH} levels deep in all, {MAX_EVENT_BYTES} "
                 "bytes for the whole event; finite numbers within ±(2^63-1); NFC text without control or "
                 "invisible characters"},
    },
    "required": ["event_id", "type", "occurred_at"],
}
_BODY_DOC = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {"schema": {"oneOf": [_EVENT_SCHEMA, {"type": "array", "items": _EVENT_SCHEMA}]}},
            "application/x-ndjson": {"schema": {"type": "string", "description": "JSON Lines, one event a line"}},
        },
    }
}


#: Bytes of one request body; beyond it the request is refused (413) before it is read whole.
MAX_BODY_BYTES = 64 * 1024 * 1024


def _items(body: bytes, content_type: str) -> list[tuple[int | None, Any]]:
    if "ndjson" in content_type or "jsonl" in content_type:
        return list(decode_lines(split_lines(body)))
    if not body.strip():
        raise ValidationError("the body is empty: send an event object, an array of events, or JSON Lines")
    return list(decode_document(body))


async def _read_body(request: Request) -> bytes:
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise PayloadTooLarge(f"a request body may have at most {MAX_BODY_BYTES} bytes", limit=MAX_BODY_BYTES)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise PayloadTooLarge(f"a request body may have at most {MAX_BODY_BYTES} bytes", limit=MAX_BODY_BYTES)
        chunks.append(chunk)
    return b"".join(chunks)


def _prepare(items: list[tuple[int | None, Any]], caller_org: str, limit: int) -> list[tuple[int | None, Any]]:
    if len(items) > limit:
        raise PayloadTooLarge(f"a request may carry at most {limit} events, got {len(items)}", limit=limit)
    return stamp_reporter(items, caller_org)


@router.post("/events", openapi_extra=_BODY_DOC, summary="Report events")
async def post_events(request: Request, response: Response, platform: PlatformDep, caller: CallerDep
                      ) -> dict[str, Any]:
    """Each event is accepted, `duplicate` or rejected on its own; the report is the one of
    `battrace ingest --json`, plus each event's outcome (seq and hash when stored). The reporter is
    always the key's organisation: an event naming another is rejected on its own line (`forbidden`),
    as in the web console's upload. Each event is held to the limits of
    docs/ledger.md (nesting, size, numbers, characters, plausible times), one rejection code per
    cause; the body may have at most 64 MiB. With a read replica configured, the
    `X-Battrace-Commit-LSN` response header is the token to send back as `X-Battrace-Min-LSN` to read
    these writes."""
    require_org(caller)
    if caller.admin:
        raise Forbidden("the platform admin does not report events; use an organisation's key")
    body = await _read_body(request)
    content_type = request.headers.get("content-type", "application/json")
    org = caller.org
    assert org is not None

    def work() -> dict[str, Any]:  # decoding and the ingest run in a worker thread, off the event loop
        prepared = _prepare(_items(body, content_type), org, platform.settings.batch_limit)
        report = platform.ledger.ingest(prepared)
        record_ingest(report)
        if platform.read_store is not platform.store and report.accepted:
            lsn = write_position(platform.store)
            if lsn is not None:
                response.headers[COMMIT_LSN_HEADER] = lsn
        return report.as_dict(outcomes=True)

    return await run_in_threadpool(work)
