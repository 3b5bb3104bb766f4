"""The one integer parser: canonical ASCII decimal text within a range, or a clear error."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from relayer.errors import ValidationError
from relayer.integers import is_canonical, parse_int

ODD = ["²", "٣", "١٢", "１", "𝟗", "1_000", " 1", "1 ", "1\n", "+1", "-1", "01", "00", "1e3",
       "0x10", "1.0", "", "-", "-0", "9" * 5_000]


@pytest.mark.parametrize("text", ODD)
def test_odd_text_is_refused_with_a_stable_code(text: str) -> None:
    with pytest.raises(ValidationError) as refused:
        parse_int(text, field="limit", minimum=0, maximum=500)
    assert refused.value.code == "INVALID_PARAMETER"
    assert refused.value.details["parameter"] == "limit"


def test_range_and_length_are_the_fields() -> None:
    assert parse_int("0", field="x", maximum=10) == 0
    assert parse_int("10", field="x", maximum=10) == 10
    for text in ("11", "100"):
        with pytest.raises(ValidationError):
            parse_int(text, field="x", maximum=10)
    assert parse_int("-5", field="x", minimum=-5, maximum=5) == -5
    with pytest.raises(ValidationError) as refused:
        parse_int("7", field="amount", minimum=8, maximum=9, code="INVALID_AMOUNT")
    assert refused.value.code == "INVALID_AMOUNT"
    big = (1 << 256) - 1
    assert parse_int(str(big), field="amount", maximum=big) == big


@given(st.text(max_size=30))
def test_any_text_parses_exactly_when_it_is_canonical(text: str) -> None:
    canonical = text.isascii() and text.isdigit() and (text == "0" or not text.startswith("0"))
    assert is_canonical(text, max_digits=30) is canonical
    try:
        value = parse_int(text, field="n", maximum=10**30)
    except ValidationError:
        assert not canonical
    else:
        assert canonical and str(value) == text


@given(st.integers(min_value=-(10**40), max_value=10**40))
def test_every_integer_round_trips(value: int) -> None:
    assert is_canonical(str(value), max_digits=41, signed=True)
    assert parse_int(str(value), field="n", minimum=-(10**40), maximum=10**40) == value
