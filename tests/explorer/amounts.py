"""How a person should read an amount, computed here independently of the page."""

from __future__ import annotations

from decimal import Decimal, localcontext


def human(base_units: str, decimals: int) -> str:
    """``"1234500000", 6`` -> ``"1,234.5"``: exact, grouped, no trailing zeros."""
    with localcontext() as ctx:
        ctx.prec = 200
        value = Decimal(base_units).scaleb(-decimals)
        text = format(value, ",f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text
