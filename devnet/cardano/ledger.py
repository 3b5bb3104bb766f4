"""The UTxO set, with an address index and reversible updates (for rollbacks)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from devnet.cardano.model import Output, TxIn


@dataclass(frozen=True, slots=True)
class UtxoDelta:
    """What one transaction (or block) did to the UTxO set; enough to undo it."""

    consumed: list[tuple[TxIn, Output]] = field(default_factory=list)
    produced: list[tuple[TxIn, Output]] = field(default_factory=list)


class UtxoSet:
    def __init__(self, initial: Iterable[tuple[TxIn, Output]] = ()) -> None:
        self._utxo: dict[TxIn, Output] = {}
        self._by_address: dict[bytes, dict[TxIn, None]] = {}
        for ref, output in initial:
            self._add(ref, output)

    def __len__(self) -> int:
        return len(self._utxo)

    def __contains__(self, ref: object) -> bool:
        return ref in self._utxo

    def get(self, ref: TxIn) -> Output | None:
        return self._utxo.get(ref)

    def items(self) -> Iterator[tuple[TxIn, Output]]:
        return iter(self._utxo.items())

    def by_address(self, address: bytes) -> list[tuple[TxIn, Output]]:
        refs = self._by_address.get(address, {})
        return [(ref, self._utxo[ref]) for ref in refs]

    def apply(self, delta: UtxoDelta) -> None:
        for ref, _ in delta.consumed:
            self._remove(ref)
        for ref, output in delta.produced:
            self._add(ref, output)

    def undo(self, delta: UtxoDelta) -> None:
        for ref, _ in reversed(delta.produced):
            self._remove(ref)
        for ref, output in reversed(delta.consumed):
            self._add(ref, output)

    def _add(self, ref: TxIn, output: Output) -> None:
        self._utxo[ref] = output
        self._by_address.setdefault(output.address, {})[ref] = None

    def _remove(self, ref: TxIn) -> None:
        output = self._utxo.pop(ref)
        refs = self._by_address.get(output.address)
        if refs is not None:
            refs.pop(ref, None)
            if not refs:
                del self._by_address[output.address]


class UtxoOverlay:
    """The UTxO set as the mempool sees it: the ledger plus pending transactions."""

    def __init__(self, base: UtxoSet) -> None:
        self._base = base
        self._spent: set[TxIn] = set()
        self._added: dict[TxIn, Output] = {}

    def get(self, ref: TxIn) -> Output | None:
        if ref in self._spent:
            return None
        added = self._added.get(ref)
        if added is not None:
            return added
        return self._base.get(ref)

    def apply(self, delta: UtxoDelta) -> None:
        for ref, _ in delta.consumed:
            if self._added.pop(ref, None) is None:
                self._spent.add(ref)
        for ref, output in delta.produced:
            self._added[ref] = output
