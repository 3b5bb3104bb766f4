"""Decimal integers from untrusted text: one strict parser for every number a client sends.

``str.isdigit`` is no guard: it accepts ``²`` and ``٣``, which ``int`` refuses or
reads as 3, and ``int`` itself accepts ``' 7 '``, ``'1_000'`` and other scripts'
digits, and refuses more than 4,300 digits with an exception. Here a number is
canonical decimal text: ASCII digits, no sign (unless the field may be negative),
no leading zeros, no spaces, at most as many digits as the field's maximum has,
and within the field's range. Anything else is a ``ValidationError`` with a
stable code, before ``int`` ever sees the text.
"""

from __future__ import annotations

import re

from relayer.errors import ValidationError

_CANONICAL = re.compile(r"-?(?:0|[1-9][0-9]*)")
"""``[0-9]`` is ASCII only in Python's ``re`` (unlike ``\\d``); used with ``fullmatch``."""

U63_MAX = (1 << 63) - 1
U256_MAX = (1 << 256) - 1


def is_canonical(text: str, *, max_digits: int, signed: bool = False) -> bool:
    """``text`` is a canonical decimal integer of at most ``max_digits`` digits."""
    digits = len(text) - (1 if text.startswith("-") else 0)
    if not 0 < digits <= max_digits or (not signed and text.startswith("-")):
        return False
    return _CANONICAL.fullmatch(text) is not None and text != "-0"


def parse_int(text: str, *, field: str, minimum: int = 0, maximum: int = U63_MAX,
              code: str = "INVALID_PARAMETER", what: str = "query parameter") -> int:
    """The integer ``text`` names, if it is canonical and in ``[minimum, maximum]``;
    otherwise a ``ValidationError`` with ``code`` that names ``field`` and the range."""
    max_digits = max(len(str(abs(minimum))), len(str(abs(maximum))))
    if is_canonical(text, max_digits=max_digits, signed=minimum < 0):
        value = int(text)
        if minimum <= value <= maximum:
            return value
    raise ValidationError(
        f"{what} {field} must be a decimal integer in [{minimum}, {maximum}]",
        code=code, details={"parameter": field, "minimum": str(minimum),
                            "maximum": str(maximum)})
