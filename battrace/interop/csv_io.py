"""Event reports as CSV: one event a row, so an organisation can upload a spreadsheet as well as
JSON Lines.

Format (see ``docs/interop.md``):

* UTF-8 (a byte-order mark, as spreadsheet programs write it, is fine), comma-separated, a header
  row, standard CSV quoting (a cell may hold commas, quotes and line breaks when quoted);
* columns are the native field names: the common fields ``event_id``, ``type``, ``occurred_at``,
  ``reporter`` (may be left out when the upload's credentials name the reporter), ``region``,
  ``data``, and any type-specific field (``battery``, ``vin``, ``batteries`` …). A file may mix
  event types; a row leaves the columns its type does not use empty;
* an empty cell means the field is absent; ``batteries_present`` alone reads an empty cell as an
  empty list (a scrapped vehicle in which no pack was found);
* list fields (``components``, ``batteries``, ``batteries_present``, ``sources``) hold codes separated
  by ``;``; ``components_replaced`` holds ``removed>installed`` pairs separated by ``;``;
  ``outputs`` holds ``material=kg`` pairs separated by ``;`` (``li=2.5;black_mass=120``);
* numbers are written plainly (``150``, ``52.6``); ``swap_model`` is ``true``/``false`` (also
  ``1``/``0``, ``yes``/``no``); ``data`` and ``features`` hold a JSON object.

Errors name the line (1 = the header) and the column: :class:`InvalidCsv`.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from battrace.domain.limits import loads
from battrace.errors import BattraceError, InvalidEvent

LIST_FIELDS = frozenset({"components", "batteries", "batteries_present", "sources"})
NUMBER_FIELDS = frozenset({"rated_capacity_ah", "nominal_voltage_v", "rated_energy_kwh", "mass_kg", "soh",
                           "measured_capacity_ah", "internal_resistance_mohm"})
BOOL_FIELDS = frozenset({"swap_model"})
JSON_FIELDS = frozenset({"data", "features"})
COMMON_COLUMNS = ("event_id", "type", "occurred_at", "reporter", "region", "data")
REQUIRED_COLUMNS = ("event_id", "type", "occurred_at")
_TRUE, _FALSE = {"true", "1", "yes"}, {"false", "0", "no"}
_INT = re.compile(r"^[+-]?\d+$")
_FLOAT = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")


class InvalidCsv(InvalidEvent):
    """A CSV report that cannot be read; ``context`` has ``line`` (1 = header) and ``column``."""

    code = "invalid_csv"


def known_columns() -> tuple[str, ...]:
    """Every column a CSV report may have: the common fields, then each type's fields (generated from
    the event classes, :func:`battrace.domain.event_types.csv_columns`)."""
    from battrace.domain.event_types import csv_columns

    return csv_columns()


def _fail(line: int, column: str | None, message: str, value: Any = None) -> InvalidCsv:
    where = f"line {line}" + (f", column {column!r}" if column else "")
    return InvalidCsv(f"CSV {where}: {message}", line=line, column=column, value=value)


def _number(text: str) -> int | float:
    if _INT.match(text):
        return int(text)
    if _FLOAT.match(text):
        return float(text)
    raise ValueError("is not a number")


def parse_cell(column: str, text: str) -> Any:
    """A cell's value for ``column``; raises ``ValueError`` with the reason."""
    if column in LIST_FIELDS:
        items = [x.strip() for x in text.split(";")]
        if any(not x for x in items):
            raise ValueError("has an empty item (codes are separated by ';')")
        return items
    if column in NUMBER_FIELDS:
        return _number(text.strip())
    if column in BOOL_FIELDS:
        low = text.strip().lower()
        if low in _TRUE or low in _FALSE:
            return low in _TRUE
        raise ValueError("must be true or false")
    if column in JSON_FIELDS:
        try:
            value = loads(text)  # within the limits (depth, numbers) of battrace.domain.limits
        except BattraceError as exc:
            raise ValueError(f"is not JSON within the limits ({exc.message})") from None
        if not isinstance(value, dict):
            raise ValueError("must be a JSON object")
        return value
    if column == "components_replaced":
        pairs = []
        for item in text.split(";"):
            removed, sep, installed = item.partition(">")
            if not sep or not removed.strip() or not installed.strip():
                raise ValueError(f"item {item!r} is not 'removed>installed'")
            pairs.append({"removed": removed.strip(), "installed": installed.strip()})
        return pairs
    if column == "outputs":
        outputs: dict[str, int | float] = {}
        for item in text.split(";"):
            material, sep, kg = item.partition("=")
            if not sep or not material.strip():
                raise ValueError(f"item {item!r} is not 'material=kg'")
            try:
                outputs[material.strip()] = _number(kg.strip())
            except ValueError:
                raise ValueError(f"item {item!r}: {kg.strip()!r} is not a number") from None
        return outputs
    return text


def _decode(source: str | bytes) -> str:
    if isinstance(source, bytes):
        try:
            return source.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise _fail(1, None, f"is not UTF-8 (byte {exc.start}); save the file as CSV UTF-8") from None
    return source.removeprefix("\ufeff")


def read_events_csv(source: str | bytes, *, reporter: str | None = None,
                    validate: bool = True) -> list[dict[str, Any]]:
    """The native events of a CSV report, in file order.

    ``reporter`` (from the upload's credentials) fills rows without one. With ``validate`` each event
    is checked against the native contract (:func:`battrace.domain.events.parse_event`) and returned
    in its normalised form; a failure names the line and the column of the offending field.
    """
    return [event for _line, event in read_events_csv_lines(source, reporter=reporter, validate=validate)]


def read_events_csv_lines(source: str | bytes, *, reporter: str | None = None,
                          validate: bool = True) -> list[tuple[int, dict[str, Any]]]:
    """Like :func:`read_events_csv`, each event with the line its row ends on (1 = the header), so an
    ingest report can name the line of an event the ledger rejects."""
    from battrace.domain.events import parse_event

    reader = csv.reader(io.StringIO(_decode(source), newline=""))
    try:
        header = next(reader)
    except StopIteration:
        raise _fail(1, None, "the file is empty (a header row is needed)") from None
    except csv.Error as exc:
        raise _fail(1, None, f"is not valid CSV: {exc}") from None
    header = [h.strip() for h in header]
    known = set(known_columns())
    for name in header:
        if name not in known:
            raise _fail(1, name, "is not a field of any event type", name)
    seen: set[str] = set()
    for name in header:
        if name in seen:
            raise _fail(1, name, "appears twice")
        seen.add(name)
    for name in REQUIRED_COLUMNS:
        if name not in seen:
            raise _fail(1, name, "column is required")
    events: list[tuple[int, dict[str, Any]]] = []
    line = 1
    while True:
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            raise _fail(reader.line_num, None, f"is not valid CSV: {exc}") from None
        line = reader.line_num
        if not any(cell.strip() for cell in row):
            continue  # blank lines are skipped
        if len(row) > len(header):
            raise _fail(line, None, f"has {len(row)} cells but the header has {len(header)} columns")
        event: dict[str, Any] = {}
        cells = dict(zip(header, row, strict=False))
        scrapped = cells.get("type", "").strip() == "vehicle.scrapped"
        for name, cell in cells.items():
            if cell == "" and not (scrapped and name == "batteries_present"):
                continue
            try:
                event[name] = [] if cell.strip() == "" else parse_cell(name, cell)
            except ValueError as exc:
                raise _fail(line, name, str(exc), cell) from None
        if validate:
            try:
                event = dict(parse_event(event, reporter=reporter).content)
            except BattraceError as exc:
                column = exc.context.get("field")
                column = str(column).split("[")[0].split(".")[0] if column else _column_of(cells, exc)
                raise _fail(line, column, exc.message, exc.context.get("value")) from exc
        elif reporter is not None:
            event.setdefault("reporter", reporter)
        events.append((line, event))
    return events


def _column_of(cells: Mapping[str, str], exc: BattraceError) -> str | None:
    """The column holding the value a code/VIN/credit-code error names (those carry no field)."""
    bad = exc.context.get("input")
    if isinstance(bad, str) and bad:
        for name, cell in cells.items():
            if bad in cell:
                return name
    return None


def format_cell(column: str, value: Any) -> str:
    """The inverse of :func:`parse_cell`."""
    if value is None:
        return ""
    if column in LIST_FIELDS:
        return ";".join(value)
    if column in BOOL_FIELDS:
        return "true" if value else "false"
    if column in JSON_FIELDS:
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    if column == "components_replaced":
        return ";".join(f"{p['removed']}>{p['installed']}" for p in value)
    if column == "outputs":
        return ";".join(f"{k}={v!r}" for k, v in value.items())
    if isinstance(value, float):
        return repr(value)
    return str(value)


def write_events_csv(events: Iterable[Mapping[str, Any]], *, columns: Sequence[str] | None = None) -> str:
    """A CSV report of native events (the columns any of them uses, in the canonical order)."""
    rows = list(events)
    if columns is None:
        used = {k for e in rows for k in e}
        columns = [c for c in known_columns() if c in used]
    buf = io.StringIO(newline="")
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow(columns)
    for e in rows:
        writer.writerow([format_cell(c, e.get(c)) for c in columns])
    return buf.getvalue()
