from __future__ import annotations

import csv
from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from battrace.domain.codes import build_code, find_code, is_valid_code, parse_code, tables
from battrace.errors import InvalidCode
from tests.conftest import shared_path


def test_parse_splits_every_field_when_code_is_a_pack() -> None:
    c = parse_code("07HPE010000000G560000001")
    assert (c.manufacturer, c.level, c.battery_type, c.chemistry) == ("07H", "P", "E", "NCM")
    assert (c.spec, c.trace, c.serial) == ("01", "0000000", "0000001")
    assert c.production_date == date(2026, 5, 6)
    assert not c.remade


def test_parse_reads_the_date_table_when_day_is_a_letter() -> None:
    assert parse_code("02LCC02100101A87Y0004465").production_date == date(2018, 7, 30)
    assert parse_code("02LCC02100101A8810119814").production_date == date(2018, 8, 1)


def test_parse_accepts_17_characters_when_product_is_remade() -> None:
    c = parse_code("07HPB01G560000001")
    assert c.remade and c.trace is None and c.production_date == date(2026, 5, 6)


@pytest.mark.parametrize(
    ("code", "position", "fragment"),
    [
        ("07HPE010000000G56000000", None, "length 23"),
        ("07HXE010000000G560000001", 4, "product level"),
        ("07HPX010000000G560000001", 5, "battery type"),
        ("07HPE010000000O560000001", 15, "year"),
        ("07HPE010000000GD60000001", 16, "month"),
        ("07HPE010000000G5Z0000001", 17, "day"),
        ("07HPE010000000G2Y0000001", 17, "does not exist"),
        ("07hPE010000000G560000001", 3, "upper-case"),
    ],
)
def test_parse_names_position_and_reason_when_code_is_invalid(code: str, position: int | None, fragment: str) -> None:
    with pytest.raises(InvalidCode) as info:
        parse_code(code)
    assert info.value.context["position"] == position
    assert fragment in info.value.message
    assert info.value.code == "invalid_code"


def test_every_real_24_character_cell_id_parses_to_a_2018_cell() -> None:
    path = shared_path("data", "pulsebat", "pulse_features_train.csv")
    ids = {r["cell_id"] for r in csv.DictReader(path.open(encoding="utf-8")) if len(r["cell_id"]) == 24}
    assert len(ids) > 30
    for cell_id in ids:
        parsed = parse_code(cell_id)
        assert parsed.level == "C"
        assert parsed.production_date.year == 2018


def test_find_code_when_label_wraps_it() -> None:
    found = find_code("[>16S0012AB02LCC02100101A8810119814 lot 7")
    assert found is not None and found.code == "02LCC02100101A8810119814"
    assert find_code("no code here 1234") is None


def test_reference_year_resolves_the_second_cycle() -> None:
    assert parse_code("07HPE0100000001560000001", reference_year=2050).production_date.year == 2041
    assert parse_code("07HPE0100000001560000001").production_date.year == 2011


ALNUM = "0123456789ABCDEFGHJKLMNPRSTUVWXYZ"
_fields = st.tuples(
    st.text(ALNUM, min_size=3, max_size=3),
    st.sampled_from("PMC"),
    st.sampled_from(sorted(tables().battery_types)),
    st.text(ALNUM, min_size=2, max_size=2),
    st.one_of(st.none(), st.text(ALNUM, min_size=7, max_size=7)),
    st.dates(min_value=date(2011, 1, 1), max_value=date(2040, 12, 31)),
    st.integers(min_value=0, max_value=9_999_999),
)


@given(_fields)
def test_build_then_parse_round_trips(fields: tuple) -> None:  # type: ignore[type-arg]
    maker, level, btype, spec, trace, produced, serial = fields
    code = build_code(maker, level, btype, spec, produced, serial, trace=trace)
    assert len(code) == (24 if trace else 17)
    parsed = parse_code(code)
    assert (parsed.manufacturer, parsed.level, parsed.battery_type, parsed.spec, parsed.trace) == (
        maker, level, btype, spec, trace,
    )
    assert parsed.production_date == produced
    assert int(parsed.serial) == serial
    assert is_valid_code(code)
