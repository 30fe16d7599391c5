"""Hypothesis strategies: valid native events of every type (the events.md contract)."""

from __future__ import annotations

import unicodedata
from datetime import date, datetime, timedelta, timezone
from typing import Any

from hypothesis import strategies as st

from battrace.domain.codes import build_code, tables
from battrace.domain.credit import ALPHABET, with_check_char
from battrace.domain.vin import with_check_digit

ALNUM = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
VIN_CHARS = "0123456789ABCDEFGHJKLMNPRSTUVWXYZ"

codes = st.builds(
    lambda m, lv, bt, sp, tr, d, s: build_code(m, lv, bt, sp, d, s, trace=tr),
    st.text(ALNUM, min_size=3, max_size=3),
    st.sampled_from("PMC"),
    st.sampled_from(sorted(tables().battery_types)),
    st.text(ALNUM, min_size=2, max_size=2),
    st.one_of(st.none(), st.text(ALNUM, min_size=7, max_size=7)),
    st.dates(min_value=date(2011, 1, 1), max_value=date(2040, 12, 31)),
    st.integers(min_value=0, max_value=9_999_999),
)
vins = st.text(VIN_CHARS, min_size=17, max_size=17).map(with_check_digit)
credits = st.builds(
    lambda a, d, b: with_check_char(a + d + b),
    st.text(ALPHABET, min_size=2, max_size=2),
    st.text("0123456789", min_size=6, max_size=6),
    st.text(ALPHABET, min_size=9, max_size=9),
)
#: Text within the limits of battrace.domain.limits: no surrogates, controls, format (zero-width,
#: bidi) or unassigned characters, in NFC, without surrounding spaces.
_SAFE = st.characters(blacklist_categories=("Cs", "Cc", "Cf", "Cn"))
safe_text = st.text(_SAFE, max_size=20).map(lambda t: unicodedata.normalize("NFC", t))
texts = st.text(_SAFE, min_size=1, max_size=40).map(lambda t: unicodedata.normalize("NFC", t).strip()).filter(
    lambda s: s != ""
)
positive = st.floats(min_value=0.001, max_value=1e6, allow_nan=False) | st.integers(min_value=1, max_value=10**6)
json_scalars = st.none() | st.booleans() | st.integers(-10**6, 10**6) | safe_text | st.floats(
    allow_nan=False, allow_infinity=False, width=32
)
json_values = st.recursive(json_scalars, lambda c: st.lists(c, max_size=3) | st.dictionaries(
    safe_text, c, max_size=3), max_leaves=8)
offsets = st.integers(min_value=-12 * 60, max_value=14 * 60).map(lambda m: timezone(timedelta(minutes=m)))
times = st.builds(
    lambda dt, tz, z: dt.replace(tzinfo=tz).isoformat().replace("+00:00", "Z" if z else "+00:00"),
    st.datetimes(min_value=datetime(2015, 1, 1), max_value=datetime(2045, 1, 1)),
    offsets,
    st.booleans(),
)


def unique_codes(min_size: int = 1, max_size: int = 4) -> st.SearchStrategy[list[str]]:
    return st.lists(codes, min_size=min_size, max_size=max_size, unique=True)


APPLICATIONS = ("energy_storage", "backup_power", "charging_station", "low_speed_vehicle", "e_bike", "other")
FIELDS: dict[str, dict[str, st.SearchStrategy[Any]]] = {
    "battery.produced": {"battery": codes, "model": texts, "rated_capacity_ah": positive,
                         "nominal_voltage_v": positive, "rated_energy_kwh": positive, "mass_kg": positive},
    "battery.assembled": {"battery": codes, "components": unique_codes()},
    "techinfo.filed": {"model": texts, "ccc_certified_at": times, "document": texts},
    "vehicle.certified": {"vin": vins, "vehicle_model": texts, "swap_model": st.booleans(),
                          "batteries": unique_codes(), "certificate_no": texts},
    "vehicle.sold": {"vin": vins},
    "battery.swapped": {"vin": vins, "removed": codes, "installed": codes},
    "battery.replaced": {"vin": vins, "removed": codes, "reason": texts},
    "battery.repaired": {"battery": codes},
    "vehicle.scrapped": {"vin": vins, "batteries_present": unique_codes(0, 3), "certificate_no": texts},
    "battery.removed": {"battery": codes, "vin": vins},
    "battery.handed_over": {"batteries": unique_codes(), "to": credits},
    "battery.received": {"batteries": unique_codes(), "from": credits},
    "battery.tested": {"battery": codes, "soh": st.floats(min_value=0, max_value=1.2)},
    "battery.remanufactured": {"product": codes, "sources": unique_codes(),
                               "application": st.sampled_from(APPLICATIONS)},
    "product.delivered": {"battery": codes, "application": st.sampled_from(APPLICATIONS), "customer": texts},
    "battery.dismantled": {"battery": codes},
    "battery.recycled": {"batteries": unique_codes(), "process": st.sampled_from(("hydro", "pyro", "direct")),
                         "outputs": st.dictionaries(st.from_regex(r"\A[a-z_]{1,12}\Z"),
                                                    st.floats(min_value=0, max_value=1e6) | st.integers(0, 10**6),
                                                    min_size=1, max_size=4)},
    "battery.reported_missing": {"battery": codes, "reason": texts},
    "battery.discarded": {"battery": codes, "reason": texts},
    "product.returned": {"battery": codes, "reason": texts},
}
OPTIONAL: dict[str, dict[str, st.SearchStrategy[Any]]] = {
    "battery.produced": {"components": unique_codes()},
    "battery.replaced": {"installed": codes},
    "battery.repaired": {"components_replaced": st.lists(st.fixed_dictionaries(
        {"removed": codes, "installed": codes}), min_size=1, max_size=3)},
    "battery.tested": {"measured_capacity_ah": positive, "internal_resistance_mohm": positive,
                       "method": st.sampled_from(("gbt34015", "pulse")),
                       "features": st.dictionaries(safe_text, json_values, max_size=3)},
    "battery.remanufactured": {"certification": texts},
    "battery.dismantled": {"components": unique_codes()},
    "product.returned": {"from_customer": texts},
}


def native_event(event_type: str) -> st.SearchStrategy[dict[str, Any]]:
    common = {"event_id": texts, "type": st.just(event_type), "occurred_at": times, "reporter": credits}
    optional_common = {"region": st.from_regex(r"\A[0-9]{6}\Z"),
                       "data": st.dictionaries(safe_text, json_values, max_size=3)}
    return st.fixed_dictionaries({**common, **FIELDS[event_type]},
                                 optional={**optional_common, **OPTIONAL.get(event_type, {})})


any_native_event = st.sampled_from(sorted(FIELDS)).flatmap(native_event)
stored_extras = st.fixed_dictionaries({"seq": st.integers(1, 10**9), "recorded_at": times,
                                       "hash": st.text("0123456789abcdef", min_size=64, max_size=64),
                                       "imported": st.booleans()})
