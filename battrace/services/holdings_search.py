"""The console's holdings: what an organisation physically holds, what is in its customers' vehicles
under its responsibility, and what it made — searchable, filterable and exportable (CSV, XLSX).

Before, "我持有的电池" listed every battery whose custodian was the organisation: packs in
customers' cars and the cells assembled into its packs too (152,098 for one maker). The scopes
are defined in :mod:`battrace.storage.holdings_search`.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta, timezone
from typing import Any
from xml.sax.saxutils import escape

from battrace.errors import ValidationError
from battrace.storage import holdings_search as q
from battrace.storage.store import Store

SCOPES = q.SCOPES
HoldingsFilter = q.HoldingsFilter
MAX_PAGE = 500
#: An export holds at most this many rows (the file says so in its last line when cut).
EXPORT_LIMIT = 200_000
EXPORT_COLUMNS = ("code", "level", "chemistry", "model", "state", "maker", "custodian", "vin", "waste", "remade",
                  "last_event", "last_at")
_CODE_PART = re.compile(r"[0-9A-Z]{1,24}")
_CHINA = timezone(timedelta(hours=8))


@dataclass(frozen=True)
class HoldingsPage:
    rows: list[dict[str, Any]]
    total: int
    by_state: dict[str, int]
    scopes: dict[str, int]
    models: list[str]


def make_filter(*, scope: str = "held", state: str | None = None, level: str | None = None,
                model: str | None = None, code: str | None = None, since: str | None = None,
                until: str | None = None) -> HoldingsFilter:
    """A filter from form values (empty strings are "any"); a bad value is a ValidationError naming it."""
    if scope not in SCOPES:
        raise ValidationError(f"scope must be one of {', '.join(SCOPES)}", field="scope", value=scope)
    if level and level not in ("P", "M", "C"):
        raise ValidationError("level must be P, M or C", field="level", value=level)
    part = (code or "").strip().upper().replace(" ", "") or None
    if part is not None and not _CODE_PART.fullmatch(part):
        raise ValidationError("search by up to 24 digits and upper-case letters of the code", field="q", value=code)
    return HoldingsFilter(scope=scope, state=state or None, level=level or None, model=(model or "").strip() or None,
                          code=part, since=_day(since, "since"), until=_day(until, "until", next_day=True))


def _day(value: str | None, name: str, *, next_day: bool = False) -> datetime | None:
    """A date (YYYY-MM-DD, China time) as the start of that day, or of the next day for ``until``."""
    if not value:
        return None
    try:
        day = date.fromisoformat(value)
    except ValueError:
        raise ValidationError(f"{name} must be a date YYYY-MM-DD", field=name, value=value) from None
    return datetime.combine(day + timedelta(days=1 if next_day else 0), time(), tzinfo=_CHINA)


def _with_maker_codes(store: Store, conn: Any, org: str, f: HoldingsFilter) -> HoldingsFilter:
    known = store.load_orgs(conn).get(org)
    return replace(f, maker_codes=tuple(known.manufacturer_codes) if known else ())


def search_holdings(store: Store, org: str, f: HoldingsFilter, *, limit: int = 50, offset: int = 0) -> HoldingsPage:
    if not 1 <= limit <= MAX_PAGE:
        raise ValidationError(f"limit must be between 1 and {MAX_PAGE}", field="limit")
    if offset < 0:
        raise ValidationError("offset must be >= 0", field="offset")
    with store.reader() as conn:
        f = _with_maker_codes(store, conn, org, f)
        scopes = q.scope_counts(conn, org, f.maker_codes)
        by_state, models = q.facets(conn, org, f)
        total = q.count(conn, org, f)
        rows = q.page(conn, org, f, limit, offset)
    return HoldingsPage(rows, total, dict(sorted(by_state.items(), key=lambda kv: -kv[1])), scopes, models)


def export_rows(store: Store, org: str, f: HoldingsFilter, limit: int = EXPORT_LIMIT) -> Iterator[dict[str, Any]]:
    with store.reader() as conn:
        f = _with_maker_codes(store, conn, org, f)
        for chunk in q.stream(conn, org, f, limit):
            yield from chunk


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def to_csv(rows: Iterable[dict[str, Any]], headers: Sequence[str] = EXPORT_COLUMNS) -> bytes:
    """CSV (UTF-8 with a byte-order mark, so that Excel opens Chinese text correctly)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(headers)
    for row in rows:
        writer.writerow([_cell(row.get(c)) for c in EXPORT_COLUMNS])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def to_xlsx(rows: Iterable[dict[str, Any]], headers: Sequence[str] = EXPORT_COLUMNS) -> bytes:
    """A minimal Office Open XML workbook (one sheet, inline strings), written with the standard library."""
    def row_xml(n: int, values: Sequence[str]) -> str:
        cells = "".join(f'<c r="{_col(i)}{n}" t="inlineStr"><is><t xml:space="preserve">'
                        f"{escape(_xml_safe(v))}</t></is></c>" for i, v in enumerate(values))
        return f'<row r="{n}">{cells}</row>'

    lines = [row_xml(1, list(headers))]
    for n, row in enumerate(rows, start=2):
        lines.append(row_xml(n, [_cell(row.get(c)) for c in EXPORT_COLUMNS]))
    sheet = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
             '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
             + "".join(lines) + "</sheetData></worksheet>")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", _CONTENT_TYPES)
        z.writestr("_rels/.rels", _RELS)
        z.writestr("xl/workbook.xml", _WORKBOOK)
        z.writestr("xl/_rels/workbook.xml.rels", _WORKBOOK_RELS)
        z.writestr("xl/worksheets/sheet1.xml", sheet)
    return buf.getvalue()


def _col(i: int) -> str:
    name = ""
    i += 1
    while i:
        i, r = divmod(i - 1, 26)
        name = chr(65 + r) + name
    return name


def _xml_safe(text: str) -> str:
    return "".join(ch for ch in text if ch in "\t\n\r" or ord(ch) >= 0x20)


_CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/xl/workbook.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
    '<Override PartName="/xl/worksheets/sheet1.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
    "</Types>")
_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" '
    'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" '
    'Target="xl/workbook.xml"/></Relationships>')
_WORKBOOK = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
    'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
    '<sheets><sheet name="holdings" sheetId="1" r:id="rId1"/></sheets></workbook>')
_WORKBOOK_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" '
    'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" '
    'Target="worksheets/sheet1.xml"/></Relationships>')
