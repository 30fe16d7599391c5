"""Vehicle identification numbers (ISO 3779 / GB 16735): 17 characters, no I, O or Q, and a check
digit in position 9 (the North-American scheme that GB 16735 adopts)."""

from __future__ import annotations

from battrace.errors import InvalidVin

VIN_LENGTH = 17
_VALUES: dict[str, int] = {str(d): d for d in range(10)}
_VALUES.update(dict(zip("ABCDEFGH", range(1, 9), strict=True)))
_VALUES.update(dict(zip("JKLMN", range(1, 6), strict=True)))
_VALUES.update({"P": 7, "R": 9})
_VALUES.update(dict(zip("STUVWXYZ", range(2, 10), strict=True)))
_WEIGHTS = (8, 7, 6, 5, 4, 3, 2, 10, 0, 9, 8, 7, 6, 5, 4, 3, 2)


def transliterate(ch: str) -> int:
    """The numeric value ISO 3779 gives a VIN character."""
    return _VALUES[ch]


def vin_check_digit(vin: str) -> str:
    """The check character for a 17-character VIN (position 9 is ignored)."""
    total = sum(_VALUES[c] * w for c, w in zip(vin, _WEIGHTS, strict=True))
    r = total % 11
    return "X" if r == 10 else str(r)


def validate_vin(vin: str) -> str:
    """Return the VIN if valid; raise :class:`InvalidVin` naming the position and reason."""
    if not isinstance(vin, str):
        raise InvalidVin(f"VIN must be a string, got {type(vin).__name__}", input=repr(vin))
    if len(vin) != VIN_LENGTH:
        raise InvalidVin(f"invalid VIN {vin!r}: length {len(vin)}, expected 17", input=vin, position=None)
    for i, ch in enumerate(vin, 1):
        if ch not in _VALUES:
            reason = "I, O and Q are not used in VINs" if ch in "IOQ" else "only digits and upper-case letters"
            raise InvalidVin(
                f"invalid VIN {vin!r} at position {i} ({ch!r}): {reason}",
                input=vin, position=i, character=ch, reason=reason,
            )
    expected = vin_check_digit(vin)
    if vin[8] != expected:
        raise InvalidVin(
            f"invalid VIN {vin!r} at position 9 ({vin[8]!r}): check digit should be {expected!r}",
            input=vin, position=9, character=vin[8], reason="check digit mismatch", expected=expected,
        )
    return vin


def is_valid_vin(vin: str) -> bool:
    try:
        validate_vin(vin)
    except InvalidVin:
        return False
    return True


def with_check_digit(vin: str) -> str:
    """Return ``vin`` with position 9 replaced by its correct check digit."""
    return vin[:8] + vin_check_digit(vin) + vin[9:]
