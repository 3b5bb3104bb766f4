"""Ogmios-shaped blocks for the decoder and monitor unit tests: order locks, fills and
escrows at two made-up script hashes, built as the ledger would show them."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from pycardano import Address, Network, ScriptHash

from relayer.auction.details import AuctionDetails, AuctionPoint
from relayer.chains.cardano.datums import Encodable, encode
from relayer.chains.cardano.decode import AddressBook, BlockDecoder, ScriptHashes
from relayer.chains.cardano.escrow_datum import SrcEscrowDatum
from relayer.chains.cardano.order_datum import Fill, OrderDatum
from relayer.chains.cardano.plutus_data import LOVELACE, Credential, PlutusAddress
from relayer.chains.cardano.slots import Era, SlotClock
from relayer.chains.cardano.state import CardanoEvent, ChainState
from relayer.orders.timelocks import Timelocks

Json = dict[str, Any]

ESCROW_SCRIPT = b"\xe5" * 28
ORDER_SCRIPT = b"\x0d" * 28
SCRIPTS = ScriptHashes(escrow=frozenset({ESCROW_SCRIPT}), order=frozenset({ORDER_SCRIPT}))
ESCROW_ADDRESS = str(Address(ScriptHash(ESCROW_SCRIPT), network=Network.TESTNET))
ORDER_ADDRESS = str(Address(ScriptHash(ORDER_SCRIPT), network=Network.TESTNET))
WALLET_ADDRESS = str(Address(ScriptHash(b"\x77" * 28), network=Network.TESTNET))
"""Anyone's change: a script nobody follows."""
START_MS = 1_763_750_000_000
CLOCK = SlotClock(START_MS, [Era(start_slot=0, start_ms=0, slot_length_ms=1_000)])

ADA = 1_000_000
MAKER = PlutusAddress(Credential(b"\x11" * 28, False))
RESOLVER = PlutusAddress(Credential(b"\x22" * 28, False))
ATTACKER = PlutusAddress(Credential(b"\x66" * 28, False))
ORDER = OrderDatum(
    order_hash=b"\x01" * 32, maker=MAKER, maker_asset=LOVELACE, making_amount=200 * ADA,
    taking_amount=90 * 10**18,
    auction=AuctionDetails(START_MS // 1000, 180, 500_000, (AuctionPoint(250_000, 60),)),
    hashlock=b"\x02" * 32, parts=4, timelocks=Timelocks(12, 120, 600, 720, 12, 100, 500),
    src_safety_deposit=2 * ADA, dst_safety_deposit=10**15, deadline=START_MS // 1000 + 3_600,
)


def decoder() -> BlockDecoder:
    return BlockDecoder(SCRIPTS, AddressBook(Network.TESTNET), CLOCK)


def escrow_of(order: OrderDatum, amount: int, *, taker: PlutusAddress = RESOLVER,
              slot: int = 0) -> SrcEscrowDatum:
    """The source escrow a Fill of ``order`` for ``amount`` creates at ``slot``."""
    return order.src_escrow(taker=taker, amount=amount, hashlock=b"\x03" * 32,
                            dst_amount=10**18, deployed_at_ms=CLOCK.posix_ms(slot))


@dataclass
class Tx:
    """One transaction: inputs (with a redeemer when a script guards them) and outputs."""

    id: str
    inputs: list[tuple[str, Encodable | None]] = field(default_factory=list)
    outputs: list[Json] = field(default_factory=list)

    def spend(self, ref: str, redeemer: Encodable | None = None) -> Tx:
        self.inputs.append((ref, redeemer))
        return self

    def pay(self, address: str, lovelace: int, datum: Encodable | None = None) -> str:
        """Add an output; returns its reference."""
        output: Json = {"address": address, "value": {"ada": {"lovelace": lovelace}}}
        if datum is not None:
            output["datum"] = encode(datum).hex()
        self.outputs.append(output)
        return f"{self.id}#{len(self.outputs) - 1}"

    def lock(self, datum: OrderDatum, lovelace: int | None = None) -> str:
        """An output at the order script; by default holding what remains to fill."""
        return self.pay(ORDER_ADDRESS, datum.remaining if lovelace is None else lovelace,
                        datum)

    def escrow(self, datum: SrcEscrowDatum) -> str:
        return self.pay(ESCROW_ADDRESS, datum.amount + datum.safety_deposit, datum)

    def json(self) -> Json:
        refs = [ref.split("#") for ref, _ in self.inputs]
        inputs = [{"transaction": {"id": tx_id}, "index": int(index)} for tx_id, index in refs]
        ordered = sorted(range(len(refs)), key=lambda k: (refs[k][0], int(refs[k][1])))
        redeemers = [{"validator": {"purpose": "spend", "index": position},
                      "redeemer": encode(redeemer).hex()}
                     for position, k in enumerate(ordered)
                     if (redeemer := self.inputs[k][1]) is not None]
        return {"id": self.id, "spends": "inputs", "inputs": inputs, "outputs": self.outputs,
                "redeemers": redeemers}


@dataclass
class Ledger:
    """Numbers transactions and blocks: ``tx()`` then ``block(...)`` at the next slot.
    Rewinding ``slot`` forges another branch from there."""

    slot: int = 0
    _txs: int = 0
    _blocks: int = 0

    def tx(self) -> Tx:
        self._txs += 1
        return Tx(f"{self._txs:064x}")

    def block(self, *txs: Tx) -> Json:
        self.slot += 1
        self._blocks += 1  # a block forged again after a rollback gets another id
        return {"id": f"{self._blocks:032x}{self.slot:032x}", "slot": self.slot,
                "height": self.slot,
                "transactions": [tx.json() for tx in txs]}

    def fill(self, lock: str, order: OrderDatum, amount: int, *,
             continuing: bool = True) -> tuple[Tx, str, str | None]:
        """A Fill of ``lock`` (whose datum is ``order``) for ``amount``: the escrow at
        output 0 and, when something remains and ``continuing``, the continuing output at
        output 1. Returns the transaction, the escrow and the continuing output."""
        tx = self.tx().spend(lock, Fill(escrow_output=0, order_output=1))
        escrow = tx.escrow(escrow_of(order, amount, slot=self.slot + 1))
        rest = None
        if continuing and order.filled + amount < order.making_amount:
            rest = tx.lock(dataclasses.replace(order, filled=order.filled + amount))
        return tx, escrow, rest


def run(state: ChainState, *blocks: Json) -> list[CardanoEvent]:
    """Decode ``blocks`` into ``state``; the events, in order."""
    events: list[CardanoEvent] = []
    decoding = decoder()
    for block in blocks:
        decoding.decode(block, state, events.append)
    return events
