"""CSV reports: the same events as JSON Lines, and errors that name the line and the column."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from battrace.errors import ValidationError
from battrace.interop.csv_io import InvalidCsv, known_columns, read_events_csv, write_events_csv
from tests.interop.strategies import any_native_event

REPORTER = "91350900MA2XN5AB1T"
GOOD = (
    "event_id,type,occurred_at,reporter,battery,model,rated_capacity_ah,nominal_voltage_v,rated_energy_kwh,"
    "mass_kg,vin,vehicle_model,swap_model,batteries,certificate_no,batteries_present,data\r\n"
    "p-0001,battery.produced,2026-05-06T09:30:00+08:00,91350900MA2XN5AB1T,07HPE010000000G560000001,P-100,150,"
    "350.4,52.6,360,,,,,,,\r\n"
    'v-0001,vehicle.certified,2026-05-20T10:00:00+08:00,91440300MA5FXXC12L,,,,,,,LGXCE4CB8T0000001,"E1, long range",'
    'false,07HPE010000000G560000001;07HPE010000000G560000002,WAB1234567,,"{""batch"": 3}"\r\n'
    "s-1,vehicle.scrapped,2026-09-01T10:00:00+08:00,91440300MA5FXXC12L,,,,,,,LGXCE4CB8T0000001,,,,SC-1,,\r\n"
)


def _refusal(text: str | bytes, **kw: Any) -> InvalidCsv:
    with pytest.raises(InvalidCsv) as info:
        read_events_csv(text, **kw)
    return info.value


def test_reads_mixed_event_types_with_typed_cells() -> None:
    produced, certified, scrapped = read_events_csv(GOOD)
    assert produced == {
        "event_id": "p-0001", "type": "battery.produced", "occurred_at": "2026-05-06T09:30:00+08:00",
        "reporter": REPORTER, "battery": "07HPE010000000G560000001", "model": "P-100", "rated_capacity_ah": 150,
        "nominal_voltage_v": 350.4, "rated_energy_kwh": 52.6, "mass_kg": 360,
    }
    assert certified["vehicle_model"] == "E1, long range" and certified["swap_model"] is False
    assert certified["batteries"] == ["07HPE010000000G560000001", "07HPE010000000G560000002"]
    assert certified["data"] == {"batch": 3}
    assert scrapped["batteries_present"] == []


def test_a_byte_order_mark_and_blank_lines_are_fine() -> None:
    assert read_events_csv(("\ufeff" + GOOD + "\r\n,,\r\n").encode("utf-8")) == read_events_csv(GOOD)


def test_reporter_comes_from_credentials_when_the_column_is_absent() -> None:
    text = "event_id,type,occurred_at,battery,reason\r\nm1,battery.reported_missing,2026-05-06T09:30:00+08:00," \
           "07HPE010000000G560000001,stolen\r\n"
    assert read_events_csv(text, reporter=REPORTER)[0]["reporter"] == REPORTER


def test_pairs_and_material_outputs() -> None:
    text = ("event_id,type,occurred_at,reporter,battery,components_replaced,batteries,process,outputs\r\n"
            "r1,battery.repaired,2026-05-06T09:30:00+08:00,91350900MA2XN5AB1T,07HPE010000000G560000001,"
            "07HME010000000G560000001>07HME010000000G560000009,,,\r\n"
            "c1,battery.recycled,2026-05-06T09:30:00+08:00,91350900MA2XN5AB1T,,,07HPE010000000G560000001,hydro,"
            "li=2.5;black_mass=120\r\n")
    repaired, recycled = read_events_csv(text)
    assert repaired["components_replaced"] == [{"removed": "07HME010000000G560000001",
                                                "installed": "07HME010000000G560000009"}]
    assert recycled["outputs"] == {"li": 2.5, "black_mass": 120}


@pytest.mark.parametrize(("text", "line", "column", "fragment"), [
    ("event_id,type,occurred_at,colour\r\n", 1, "colour", "not a field"),
    ("event_id,type,type,occurred_at\r\n", 1, "type", "twice"),
    ("event_id,occurred_at\r\n", 1, "type", "required"),
    ("", 1, None, "empty"),
    (GOOD.replace(",150,", ",lots,"), 2, "rated_capacity_ah", "not a number"),
    (GOOD.replace(",false,", ",maybe,"), 3, "swap_model", "true or false"),
    (GOOD.replace('"{""batch"": 3}"', '"{batch}"'), 3, "data", "not JSON"),
    (GOOD.replace("07HPE010000000G560000001;07HPE010000000G560000002", "07HPE010000000G560000001;"), 3,
     "batteries", "empty item"),
    (GOOD.replace("LGXCE4CB8T0000001,\"E1", "LGXCE4CB8T0000002,\"E1"), 3, "vin", "check digit"),
    (GOOD.replace("battery.produced", "battery.teleported"), 2, "type", "not a known event type"),
    (GOOD.replace(",P-100,", ",,"), 2, "model", "required"),
    (GOOD + "x,battery.produced,2026-05-06T09:30:00+08:00" + ",1" * 20 + "\r\n", 5, None, "cells"),
])
def test_errors_name_the_line_and_the_column(text: str, line: int, column: str | None, fragment: str) -> None:
    err = _refusal(text)
    assert (err.context["line"], err.context["column"]) == (line, column)
    assert fragment in err.message
    assert isinstance(err, ValidationError) and err.code == "invalid_csv"


def test_a_line_break_inside_a_quoted_cell_counts_for_the_line_numbers() -> None:
    text = GOOD.replace('"E1, long range"', '"E1\r\nlong range"') + "bad,battery.produced,yesterday\r\n"
    assert _refusal(text).context["line"] == 6


def test_non_utf8_bytes_are_refused_with_a_hint() -> None:
    err = _refusal(GOOD.replace("P-100", "电池").encode("gb18030"))
    assert "UTF-8" in err.message


def test_without_validation_cells_are_only_typed() -> None:
    events = read_events_csv(GOOD.replace(",P-100,", ",,"), validate=False)
    assert "model" not in events[0] and events[0]["rated_capacity_ah"] == 150


def test_known_columns_start_with_the_common_fields() -> None:
    cols = known_columns()
    assert cols[:6] == ("event_id", "type", "occurred_at", "reporter", "region", "data")
    assert len(cols) == len(set(cols)) and "batteries_present" in cols and "outputs" in cols


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow])
@given(events=st.lists(any_native_event, min_size=1, max_size=6))
def test_write_then_read_gives_the_same_events(events: list[dict[str, Any]]) -> None:
    assert read_events_csv(write_events_csv(events)) == events
