"""Export rows (findings, obligations) as CSV or XLSX (openpyxl)."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from typing import Any

from openpyxl import Workbook

from battrace.errors import ValidationError

FORMATS = {"csv": "text/csv; charset=utf-8",
           "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}
FINDING_COLUMNS = ("id", "rule", "severity", "state", "responsible", "region", "batteries", "vin", "event_id",
                   "raised_at", "due_at", "resolved_event_id", "message_zh", "message_en")
OBLIGATION_COLUMNS = ("kind", "rule", "org", "battery", "vin", "region", "since", "due", "days_left",
                      "since_event_id", "message_zh", "message_en")


def _cell(row: dict[str, Any], column: str) -> Any:
    if column.startswith("message_"):
        return row["message"][column[-2:]]
    value = row.get(column)
    if isinstance(value, list):
        return " ".join(str(v) for v in value)
    return value


def table(rows: Sequence[dict[str, Any]], columns: Sequence[str]) -> list[list[Any]]:
    return [[_cell(r, c) for c in columns] for r in rows]


def export(rows: Sequence[dict[str, Any]], columns: Sequence[str], fmt: str, *, sheet: str = "export") -> bytes:
    """The rows as a CSV (UTF-8 with a BOM, so spreadsheet programs read Chinese) or an XLSX file."""
    if fmt not in FORMATS:
        raise ValidationError(f"format must be csv or xlsx, got {fmt!r}", field="format")
    data = table(rows, columns)
    if fmt == "csv":
        buf = io.StringIO()
        writer = csv.writer(buf)
        writer.writerow(columns)
        writer.writerows(data)
        return ("\ufeff" + buf.getvalue()).encode("utf-8")
    wb = Workbook(write_only=True)
    ws = wb.create_sheet(sheet)
    ws.append(list(columns))
    for r in data:
        ws.append(r)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()
