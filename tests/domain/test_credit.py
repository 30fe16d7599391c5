from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from battrace.domain.credit import ALPHABET, is_valid_credit_code, validate_credit_code, with_check_char
from battrace.errors import InvalidCreditCode

codes = st.tuples(
    st.text(ALPHABET, min_size=2, max_size=2),
    st.text("0123456789", min_size=6, max_size=6),
    st.text(ALPHABET, min_size=9, max_size=9),
).map(lambda t: with_check_char("".join(t)))


@pytest.mark.parametrize("code", ["91350900MA2XN5AB1T", "91440300MA5FXXC12L"])
def test_contract_examples_are_valid(code: str) -> None:
    assert validate_credit_code(code) == code


def test_wrong_check_character_names_position_18() -> None:
    with pytest.raises(InvalidCreditCode) as info:
        validate_credit_code("91350900MA2XN5AB1U")
    assert info.value.context["position"] == 18


@given(codes, st.integers(min_value=0, max_value=17), st.sampled_from(ALPHABET + "IOSVZ"))
def test_every_single_character_corruption_is_caught(code: str, pos: int, ch: str) -> None:
    assert is_valid_credit_code(code)
    if ch == code[pos]:
        return
    assert not is_valid_credit_code(code[:pos] + ch + code[pos + 1 :])
