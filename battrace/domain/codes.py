"""GB/T 34014-2017 traction-battery codes: parse, validate, build and find.

Layout of the 24-character code (positions are 1-based)::

    1-3   manufacturer code        07H
    4     product level            P pack, M module, C cell
    5     battery type             table ``data/gbt34014_battery_types.csv``
    6-7   specification code       maker-defined
    8-14  traceability code        maker-defined (absent in a 17-character re-made product code)
    15-17 production date          year, month, day: table ``data/gbt34014_date_chars.csv``
    18-24 serial number            maker-assigned

The two tables are data, not code, because their values are uncertain (see the module docs in
``docs/codes.md``). A re-made (second-life) product is coded under the same rules without the
traceability field, so its code has 17 characters.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from importlib import resources

from battrace.errors import InvalidCode

FULL_LENGTH = 24
REMADE_LENGTH = 17
LEVELS = {"P": "pack", "M": "module", "C": "cell"}
_ALNUM = frozenset("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ")
YEAR_CYCLE = 30


@dataclass(frozen=True, slots=True)
class BatteryType:
    char: str
    chemistry: str
    name_zh: str
    name_en: str
    certain: bool


@dataclass(frozen=True, slots=True)
class CodeTables:
    """The uncertain tables of the standard, loaded from data files."""

    battery_types: dict[str, BatteryType]
    years: dict[str, int]
    months: dict[str, int]
    days: dict[str, int]


def _read_csv(name: str) -> list[dict[str, str]]:
    text = resources.files("battrace.domain.data").joinpath(name).read_text(encoding="utf-8")
    return list(csv.DictReader(text.splitlines()))


@lru_cache(maxsize=1)
def tables() -> CodeTables:
    """The code tables shipped with the package (cached)."""
    types = {
        r["char"]: BatteryType(r["char"], r["chemistry"], r["name_zh"], r["name_en"], r["status"] == "C")
        for r in _read_csv("gbt34014_battery_types.csv")
    }
    dates: dict[str, dict[str, int]] = {"year": {}, "month": {}, "day": {}}
    for r in _read_csv("gbt34014_date_chars.csv"):
        dates[r["field"]][r["char"]] = int(r["value"])
    return CodeTables(types, dates["year"], dates["month"], dates["day"])


@dataclass(frozen=True, slots=True)
class BatteryCode:
    """A valid GB/T 34014 code, split into its fields."""

    code: str
    manufacturer: str
    level: str
    battery_type: str
    spec: str
    trace: str | None
    production_date: date
    serial: str

    @property
    def remade(self) -> bool:
        """A 17-character code: a re-made (second-life) product."""
        return self.trace is None

    @property
    def level_name(self) -> str:
        return LEVELS[self.level]

    @property
    def chemistry(self) -> str:
        return tables().battery_types[self.battery_type].chemistry

    def as_dict(self) -> dict[str, object]:
        return {
            "code": self.code,
            "manufacturer": self.manufacturer,
            "level": self.level,
            "battery_type": self.battery_type,
            "chemistry": self.chemistry,
            "spec": self.spec,
            "trace": self.trace,
            "production_date": self.production_date.isoformat(),
            "serial": self.serial,
            "remade": self.remade,
        }


def _fail(code: str, position: int | None, reason: str) -> InvalidCode:
    char = code[position - 1] if position is not None and 0 < position <= len(code) else None
    where = f" at position {position} ({char!r})" if position is not None else ""
    return InvalidCode(
        f"invalid battery code {code!r}{where}: {reason}",
        input=code,
        position=position,
        character=char,
        reason=reason,
    )


def _resolve_year(base: int, reference_year: int | None) -> int:
    """Pick the year of the 30-year cycle nearest below ``reference_year`` + 1."""
    if reference_year is None:
        return base
    year = base
    while year + YEAR_CYCLE <= reference_year + 1:
        year += YEAR_CYCLE
    return year


def parse_code(code: str, *, reference_year: int | None = None) -> BatteryCode:
    """Parse and validate a code; raise :class:`InvalidCode` naming the position and reason.

    ``reference_year`` resolves the year character's 30-year cycle (the latest cycle that is not
    after the reference year + 1); without it, the first cycle (2011-2040) is used.
    """
    if not isinstance(code, str):
        raise InvalidCode(f"battery code must be a string, got {type(code).__name__}", input=repr(code))
    n = len(code)
    if n == FULL_LENGTH:
        d = 14
        trace: str | None = code[7:14]
    elif n == REMADE_LENGTH:
        d = 7
        trace = None
    else:
        err = _fail(code, None, f"length {n}, expected 24 (or 17 for a re-made product)")
        nearest = nearest_codes(code) if _ALNUM.issuperset(code) else []
        if nearest:
            err.context["nearest"] = nearest
            err.message += f"; nearest valid reading{'s' if len(nearest) > 1 else ''}: {', '.join(nearest)}"
            err.args = (err.message,)
        raise err
    t = tables()
    if not _ALNUM.issuperset(code):
        for i, ch in enumerate(code, 1):
            if ch not in _ALNUM:
                raise _fail(code, i, "only digits and upper-case letters are allowed")
    level = code[3]
    if level not in LEVELS:
        raise _fail(code, 4, "product level must be P (pack), M (module) or C (cell)")
    btype = code[4]
    if btype not in t.battery_types:
        raise _fail(code, 5, f"unknown battery type, expected one of {''.join(sorted(t.battery_types))}")
    y = t.years.get(code[d])
    if y is None:
        raise _fail(code, d + 1, "not a production-year character")
    m = t.months.get(code[d + 1])
    if m is None:
        raise _fail(code, d + 2, "not a production-month character (1-9, A-C)")
    dd = t.days.get(code[d + 2])
    if dd is None:
        raise _fail(code, d + 3, "not a production-day character")
    year = _resolve_year(y, reference_year)
    try:
        produced = date(year, m, dd)
    except ValueError:
        raise _fail(code, d + 3, f"day {dd} does not exist in {year}-{m:02d}") from None
    return BatteryCode(code, code[:3], level, btype, code[5:7], trace, produced, code[d + 3 :])


def code_fields(code: str) -> tuple[str, str, str, str, bool]:
    """``(manufacturer, level, battery_type, chemistry, remade)`` of a code that :func:`parse_code`
    has already accepted, without parsing it again (the ingest hot path); any other code is parsed."""
    battery_type = tables().battery_types.get(code[4]) if len(code) in (FULL_LENGTH, REMADE_LENGTH) else None
    if battery_type is None:
        parsed = parse_code(code)
        return parsed.manufacturer, parsed.level, parsed.battery_type, parsed.chemistry, parsed.remade
    return code[:3], code[3], code[4], battery_type.chemistry, len(code) == REMADE_LENGTH


def is_valid_code(code: str) -> bool:
    try:
        parse_code(code)
    except InvalidCode:
        return False
    return True


def _encode(table: dict[str, int], value: int, what: str) -> str:
    for ch, v in table.items():
        if v == value:
            return ch
    raise InvalidCode(f"{what} {value} has no character in the code table", field=what, value=value)


def build_code(
    manufacturer: str,
    level: str,
    battery_type: str,
    spec: str,
    production_date: date,
    serial: int | str,
    trace: str | None = None,
) -> str:
    """Build a code from its fields; ``trace=None`` builds a 17-character re-made product code."""
    t = tables()
    serial_s = f"{serial:07d}" if isinstance(serial, int) else serial
    year_base = (production_date.year - 2011) % YEAR_CYCLE + 2011
    code = (
        manufacturer
        + level
        + battery_type
        + spec
        + (trace or "")
        + _encode(t.years, year_base, "year")
        + _encode(t.months, production_date.month, "month")
        + _encode(t.days, production_date.day, "day")
        + serial_s
    )
    checks = [(manufacturer, 3, "manufacturer"), (spec, 2, "spec"), (serial_s, 7, "serial")]
    if trace is not None:
        checks.append((trace, 7, "trace"))
    for value, length, name in checks:
        if len(value) != length:
            raise InvalidCode(f"{name} must have {length} characters, got {value!r}", field=name, value=value)
    parse_code(code, reference_year=production_date.year)
    return code


_CANDIDATE = re.compile(r"(?=([0-9A-Z]{24}))")
_CANDIDATE_17 = re.compile(r"(?=([0-9A-Z]{17}))")


def find_code(label: str) -> BatteryCode | None:
    """Find the first valid code inside a longer label string (24-character codes first)."""
    for pattern in (_CANDIDATE, _CANDIDATE_17):
        for match in pattern.finditer(label):
            try:
                return parse_code(match.group(1))
            except InvalidCode:
                continue
    return None


#: How far from a valid length a mistyped code may be for :func:`nearest_codes` to suggest readings.
NEAR_LENGTHS = {FULL_LENGTH - 1: FULL_LENGTH, FULL_LENGTH + 1: FULL_LENGTH,
                 REMADE_LENGTH - 1: REMADE_LENGTH, REMADE_LENGTH + 1: REMADE_LENGTH}


def nearest_codes(text: str, limit: int | None = 3) -> list[str]:
    """Valid codes one character away from a code of the wrong length (one too many: drop one; one
    too few: insert one), likeliest first, at most ``limit``; empty when the length is not off by one.

    Likeliest: a key struck twice (drop one of a doubled character) or a doubled key missed (insert
    a neighbour's copy), then a stray first or last character, then any other position."""
    target = NEAR_LENGTHS.get(len(text))
    if target is None or not _ALNUM.issuperset(text):
        return []
    ranked: list[tuple[int, int, str]] = []
    if len(text) > target:
        for i in range(len(text)):
            doubled = (i > 0 and text[i - 1] == text[i]) or (i + 1 < len(text) and text[i + 1] == text[i])
            edge = i in (0, len(text) - 1)
            ranked.append((0 if doubled else 1 if edge else 2, i, text[:i] + text[i + 1:]))
    else:
        for i in range(len(text) + 1):
            for ch in sorted(_ALNUM):
                doubled = (i > 0 and text[i - 1] == ch) or (i < len(text) and text[i] == ch)
                edge = i in (0, len(text))
                ranked.append((0 if doubled else 1 if edge else 2, i, text[:i] + ch + text[i:]))
    found: list[str] = []
    for _rank, _i, candidate in sorted(ranked):
        if candidate in found or not is_valid_code(candidate):
            continue
        found.append(candidate)
        if limit is not None and len(found) >= limit:
            break
    return found
