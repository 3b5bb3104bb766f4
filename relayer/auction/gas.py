"""Where the auction's gas adjustment gets the current base fee."""

from __future__ import annotations

from typing import Protocol


class BaseFeeSource(Protocol):
    def base_fee(self) -> int:
        """The latest base fee of the Ethereum chain, in wei."""


class StaticBaseFee:
    """A fixed base fee, until a chain monitor reports real ones."""

    def __init__(self, wei: int) -> None:
        self._wei = wei

    def base_fee(self) -> int:
        return self._wei
