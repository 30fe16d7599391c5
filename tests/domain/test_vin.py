from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from battrace.domain.vin import is_valid_vin, transliterate, validate_vin, with_check_digit
from battrace.errors import InvalidVin

VIN_CHARS = "0123456789ABCDEFGHJKLMNPRSTUVWXYZ"
vins = st.text(VIN_CHARS, min_size=17, max_size=17).map(with_check_digit)


def test_known_vin_is_valid() -> None:
    assert validate_vin("LGXCE4CB8T0000001") == "LGXCE4CB8T0000001"


@pytest.mark.parametrize(
    ("vin", "position"),
    [("LGXCE4CB9T0000001", 9), ("LGXCE4CB8T000000I", 17), ("LGXCE4CB8T00000", None), ("lGXCE4CB8T0000001", 1)],
)
def test_invalid_vin_names_the_position(vin: str, position: int | None) -> None:
    with pytest.raises(InvalidVin) as info:
        validate_vin(vin)
    assert info.value.context["position"] == position


@given(vins, st.integers(min_value=0, max_value=16), st.sampled_from(VIN_CHARS + "IOQ"))
def test_every_single_character_corruption_is_caught(vin: str, pos: int, ch: str) -> None:
    assert is_valid_vin(vin)
    if ch == vin[pos]:
        return
    corrupted = vin[:pos] + ch + vin[pos + 1 :]
    if ch not in "IOQ" and pos != 8 and transliterate(ch) == transliterate(vin[pos]):
        # ISO 3779 gives A, J and 1 (etc.) the same value: such a swap is invisible to the check digit
        # by design of the standard, so it is not a corruption the check digit can catch.
        assert is_valid_vin(corrupted)
        return
    assert not is_valid_vin(corrupted)
