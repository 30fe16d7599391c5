"""Reading an uploaded report file (JSON Lines, a JSON array, or CSV) into ``(line, event)`` pairs
for :meth:`battrace.services.ledger.Ledger.ingest` — the same path the API's ``POST /events`` takes.

As in the API the reporter is always the key's organisation (:mod:`battrace.services.stamping`): a
line naming another reporter is rejected on its own line, so the rest of the file still gets its
results, and ``recorded_at`` is dropped. A line that is not JSON (or not UTF-8, or beyond the limits of
:mod:`battrace.domain.limits`) is rejected on its own; a CSV file whose cells cannot be read at
all is refused as a whole, naming the line and column (:class:`~battrace.interop.csv_io.InvalidCsv`).
"""

from __future__ import annotations

from typing import Any

from battrace.errors import BattraceError, InvalidEvent
from battrace.interop.csv_io import read_events_csv_lines
from battrace.interop.jsonl import decode_document, decode_lines, split_lines
from battrace.services.stamping import stamp_reporter
from battrace.web.error_text import error_text, json_message
from battrace.web.i18n import Translator

MAX_UPLOAD_BYTES = 20 * 1024 * 1024
CSV_SUFFIXES = (".csv",)
JSON_SUFFIXES = (".jsonl", ".ndjson", ".json")


class UploadError(Exception):
    """The file as a whole cannot be read; ``message`` is in the page's language."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def _is_csv(name: str, text: str) -> bool:
    lowered = name.lower()
    if lowered.endswith(CSV_SUFFIXES):
        return True
    if lowered.endswith(JSON_SUFFIXES):
        return False
    return not text.lstrip().startswith(("{", "["))


def _json_items(t: Translator, data: bytes, text: str) -> list[tuple[int | None, Any]]:
    if text.strip().startswith("["):
        try:
            return list(decode_document(data))
        except BattraceError as exc:
            message = error_text(t, exc.code, exc.message, exc.context)
            raise UploadError(t("upload.unreadable", message=message)) from None
    items: list[tuple[int | None, Any]] = []
    for number, raw in decode_lines(split_lines(data)):
        if isinstance(raw, BattraceError) and "json_error" in raw.context:  # in the page's language
            message = json_message(t, raw.context["json_error"])
            raw = InvalidEvent(t("upload.bad_json", line=number, message=message), line=number)
        items.append((number, raw))
    return items


def _csv_items(t: Translator, data: bytes) -> list[tuple[int | None, Any]]:
    try:
        return list(read_events_csv_lines(data, validate=False))
    except BattraceError as exc:
        raise UploadError(t("upload.unreadable", message=error_text(t, exc.code, exc.message, exc.context))) from None


def read_upload(t: Translator, name: str, data: bytes, org: str) -> list[tuple[int | None, Any]]:
    """The file's events with their line numbers, each stamped with ``org`` as the reporter."""
    if not data.strip():
        raise UploadError(t("upload.empty"))
    if len(data) > MAX_UPLOAD_BYTES:
        raise UploadError(t("upload.too_large", mb=MAX_UPLOAD_BYTES // (1024 * 1024)))
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:  # refused as a whole, naming the line
        raise UploadError(t("upload.not_utf8_line", line=data.count(b"\n", 0, exc.start) + 1)) from None
    items = _csv_items(t, data) if _is_csv(name, text) else _json_items(t, data, text)
    return stamp_reporter(items, org, lambda line, named, org: t("upload.reporter", line=line, named=named, org=org))
