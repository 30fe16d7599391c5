"""Unified social credit codes (统一社会信用代码, GB 32100-2015): 18 characters from a 31-character
alphabet, the last a check character over the first 17 (weights 3^i mod 31)."""

from __future__ import annotations

from battrace.errors import InvalidCreditCode

CREDIT_LENGTH = 18
ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_VALUES = {c: i for i, c in enumerate(ALPHABET)}
_WEIGHTS = tuple(pow(3, i, 31) for i in range(17))


def credit_check_char(first17: str) -> str:
    total = sum(_VALUES[c] * w for c, w in zip(first17, _WEIGHTS, strict=True))
    return ALPHABET[(31 - total % 31) % 31]


def validate_credit_code(code: str) -> str:
    """Return the code if valid; raise :class:`InvalidCreditCode` naming the position and reason."""
    if not isinstance(code, str):
        raise InvalidCreditCode(f"credit code must be a string, got {type(code).__name__}", input=repr(code))
    if len(code) != CREDIT_LENGTH:
        raise InvalidCreditCode(
            f"invalid credit code {code!r}: length {len(code)}, expected 18", input=code, position=None
        )
    for i, ch in enumerate(code, 1):
        if ch not in _VALUES:
            reason = "not in the GB 32100 alphabet (digits and upper-case letters except I, O, S, V, Z)"
            raise InvalidCreditCode(
                f"invalid credit code {code!r} at position {i} ({ch!r}): {reason}",
                input=code, position=i, character=ch, reason=reason,
            )
    for i in range(2, 8):
        if not code[i].isdigit():
            reason = "positions 3-8 hold the administrative division code (digits)"
            raise InvalidCreditCode(
                f"invalid credit code {code!r} at position {i + 1} ({code[i]!r}): {reason}",
                input=code, position=i + 1, character=code[i], reason=reason,
            )
    expected = credit_check_char(code[:17])
    if code[17] != expected:
        raise InvalidCreditCode(
            f"invalid credit code {code!r} at position 18 ({code[17]!r}): check character should be {expected!r}",
            input=code, position=18, character=code[17], reason="check character mismatch", expected=expected,
        )
    return code


def is_valid_credit_code(code: str) -> bool:
    try:
        validate_credit_code(code)
    except InvalidCreditCode:
        return False
    return True


def with_check_char(first17: str) -> str:
    return first17 + credit_check_char(first17)
