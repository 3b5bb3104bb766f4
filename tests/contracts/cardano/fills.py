"""Fills of the order validator for the tests: an order, the source escrow a fill at a
given lower bound must create, and the transaction that passes (each test then changes
one thing of it)."""

from __future__ import annotations

from dataclasses import dataclass, replace

from devnet.cardano.model import Output
from relayer.auction.curve import fill_taking_amount
from relayer.auction.details import AuctionDetails, AuctionPoint
from relayer.chains.cardano.escrow_datum import SrcEscrowDatum
from relayer.chains.cardano.order_datum import Fill, OrderDatum
from relayer.chains.cardano.plutus_data import LOVELACE, AssetClass
from relayer.chains.cardano.scripts import Validators
from relayer.orders.merkle import merkle_proof, merkle_root, secret_index
from relayer.orders.timelocks import Timelocks
from relayer.signing.keccak import keccak256
from tests.contracts.cardano.escrows import MAKER, TAKER
from tests.contracts.cardano.harness import Tx, key_address, key_hash, output, script_address, tag

START = 1_700_000_000
MAKING = 100_000_000
DEPOSIT = 2_000_000
TOKEN = AssetClass(b"\x44" * 28, b"TUSD")
MIN_ADA = 2_000_000
SECRETS = [bytes([i]) * 32 for i in range(1, 6)]
HASHES = [keccak256(s) for s in SECRETS]
ORDER_REF = (b"\xee" * 32, 0)
SECOND_ORDER = (b"\xee" * 32, 1)
FUNDS = (b"\xdd" * 32, 3)
MAX_FILL_VALIDITY_MS = 300_000

ORDER = OrderDatum(
    order_hash=b"\x01" * 32, maker=key_address(MAKER), maker_asset=LOVELACE,
    making_amount=MAKING, taking_amount=95_000_000,
    auction=AuctionDetails(START, 180, 500_000, (AuctionPoint(250_000, 60),)),
    hashlock=HASHES[0], parts=1, timelocks=Timelocks(12, 120, 600, 720, 12, 100, 500),
    src_safety_deposit=DEPOSIT, dst_safety_deposit=10**15, deadline=START + 3_600,
)
PARTS = replace(ORDER, parts=4, hashlock=merkle_root(HASHES))
TOKEN_ORDER = replace(ORDER, maker_asset=TOKEN)


@dataclass(frozen=True)
class Scene:
    """A fill and what it must satisfy, from which the passing transaction is built."""

    order: OrderDatum
    amount: int
    lower: int
    upper: int
    escrow: SrcEscrowDatum
    redeemer: Fill

    @property
    def required(self) -> int:
        return required(self.order, self.amount, self.lower)


def required(order: OrderDatum, amount: int, lower_ms: int) -> int:
    """What the curve demands for a fill at a lower validity bound (relayer.auction)."""
    return fill_taking_amount(order.taking_amount, order.making_amount, amount, order.auction,
                              lower_ms // 1000)


def scene(order: OrderDatum = ORDER, *, amount: int | None = None, lower: int | None = None,
          dst_amount: int | None = None) -> Scene:
    amount = order.remaining if amount is None else amount
    lower = (START + 30) * 1000 if lower is None else lower
    if order.parts == 1:
        hashlock, index, proof = order.hashlock, 0, ()
    else:
        index = secret_index(order.filled, amount, order.making_amount, order.parts)
        hashlock, proof = HASHES[index], tuple(merkle_proof(HASHES, index))
    promised = required(order, amount, lower) if dst_amount is None else dst_amount
    escrow = order.src_escrow(taker=key_address(TAKER), amount=amount, hashlock=hashlock,
                              dst_amount=promised, deployed_at_ms=lower)
    return Scene(order, amount, lower, lower + 60_000, escrow, Fill(0, 1, index, proof))


def order_output(validators: Validators, order: OrderDatum, *, lovelace: int | None = None,
                 tokens: int | None = None) -> Output:
    address = script_address(bytes(validators.order.hash.payload))
    if order.maker_asset.is_lovelace:
        return output(address, order.remaining if lovelace is None else lovelace, datum=order)
    return output(address, MIN_ADA if lovelace is None else lovelace, asset=order.maker_asset,
                  quantity=order.remaining if tokens is None else tokens, datum=order)


def escrow_output(validators: Validators, escrow: SrcEscrowDatum | bytes, *,
                  amount: int | None = None, deposit: int = DEPOSIT,
                  asset: AssetClass = LOVELACE) -> Output:
    address = script_address(bytes(validators.escrow.hash.payload))
    if isinstance(escrow, SrcEscrowDatum):
        asset = escrow.asset
        amount = escrow.amount if amount is None else amount
    assert amount is not None
    if asset.is_lovelace:
        return output(address, amount + deposit, datum=escrow)
    return output(address, deposit, asset=asset, quantity=amount, datum=escrow)


def fill_tx(validators: Validators, s: Scene) -> Tx:
    """Spends the order into the escrow (output 0); a partial fill continues the order
    (output 1); a completing fill of a native-asset order returns the maker's lovelace."""
    order = s.order
    outputs = [escrow_output(validators, s.escrow)]
    if order.filled + s.amount < order.making_amount:
        rest = replace(order, filled=order.filled + s.amount)
        if order.maker_asset.is_lovelace:
            outputs.append(order_output(validators, rest))
        else:
            outputs.append(order_output(validators, rest, tokens=order.remaining - s.amount))
    elif not order.maker_asset.is_lovelace:
        outputs.append(output(order.maker, MIN_ADA, datum=tag(ORDER_REF)))
    return Tx(
        inputs={ORDER_REF: order_output(validators, order),
                FUNDS: output(key_address(TAKER), 50_000_000)},
        outputs=outputs, lower=s.lower, upper=s.upper, signers=[key_hash(TAKER)],
        redeemers={ORDER_REF: s.redeemer},
    )


def with_escrow(validators: Validators, tx: Tx, escrow: SrcEscrowDatum) -> Tx:
    return tx.with_output(0, escrow_output(validators, escrow))
