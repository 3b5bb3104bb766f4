"""Escrows for the tests: datums of both roles, whose stages start at fixed times, and
the spend that passes (each test then changes one thing of it)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from pycardano import PaymentSigningKey

from devnet.cardano.model import Output
from relayer.chains.cardano.escrow_datum import (
    DstEscrowDatum,
    EscrowDatum,
    EscrowRedeemer,
    PublicWithdraw,
    SrcEscrowDatum,
    Withdraw,
)
from relayer.chains.cardano.plutus_data import LOVELACE, AssetClass, PlutusAddress
from relayer.chains.cardano.scripts import Validators
from relayer.signing.keccak import keccak256
from tests.contracts.cardano.harness import (
    Tx,
    key_address,
    key_hash,
    output,
    script_address,
    tag,
)

MAKER = PaymentSigningKey(b"\x11" * 32)
TAKER = PaymentSigningKey(b"\x22" * 32)
OTHER = PaymentSigningKey(b"\x33" * 32)
SECRET = bytes(range(32))
T = 1_700_000_000_000
W, PW, C, PC = T + 10_000, T + 20_000, T + 30_000, T + 40_000
AMOUNT, DEPOSIT = 10_000_000, 2_000_000
TOKEN = AssetClass(b"\x44" * 28, b"TUSD")
ESCROW = (b"\xee" * 32, 0)
SECOND = (b"\xee" * 32, 1)
FUNDS = (b"\xdd" * 32, 3)


def src(**changes: Any) -> SrcEscrowDatum:
    datum = SrcEscrowDatum(
        order_hash=b"\x01" * 32, hashlock=keccak256(SECRET), maker=key_address(MAKER),
        taker=key_address(TAKER), asset=LOVELACE, amount=AMOUNT, safety_deposit=DEPOSIT,
        withdrawal=W, public_withdrawal=PW, cancellation=C, public_cancellation=PC,
        dst_amount=123,
    )
    return replace(datum, **changes)


def dst(**changes: Any) -> DstEscrowDatum:
    datum = DstEscrowDatum(
        order_hash=b"\x01" * 32, hashlock=keccak256(SECRET), maker=key_address(MAKER),
        taker=key_address(TAKER), asset=LOVELACE, amount=AMOUNT, safety_deposit=DEPOSIT,
        withdrawal=W, public_withdrawal=PW, cancellation=C,
    )
    return replace(datum, **changes)


def payee(datum: EscrowDatum, redeemer: EscrowRedeemer) -> PlutusAddress:
    """Who the spend must pay: the withdrawal's beneficiary or the cancel's refund party."""
    withdraws = isinstance(redeemer, Withdraw | PublicWithdraw)
    if isinstance(datum, SrcEscrowDatum):
        return datum.taker if withdraws else datum.maker
    return datum.maker if withdraws else datum.taker


def escrow_output(validators: Validators, datum: EscrowDatum | bytes) -> Output:
    address = script_address(bytes(validators.escrow.hash.payload))
    if isinstance(datum, bytes):
        return output(address, AMOUNT + DEPOSIT, datum=datum)
    if datum.asset.is_lovelace:
        return output(address, datum.amount + datum.safety_deposit, datum=datum)
    return output(address, datum.safety_deposit, asset=datum.asset, quantity=datum.amount,
                  datum=datum)


def payment(datum: EscrowDatum, to: PlutusAddress, *, ref: Any = ESCROW,
            amount: int = AMOUNT) -> Output:
    if datum.asset.is_lovelace:
        return output(to, amount, datum=tag(ref))
    return output(to, 1_500_000, asset=datum.asset, quantity=amount, datum=tag(ref))


def spend(
    validators: Validators,
    datum: EscrowDatum,
    redeemer: EscrowRedeemer,
    *,
    lower: int | None,
    upper: int | None,
    signers: tuple[PaymentSigningKey, ...] = (TAKER,),
) -> Tx:
    """The escrow spent with ``redeemer``, paying exactly the amount, tagged, to its payee;
    the safety deposit goes to whoever built the transaction."""
    return Tx(
        inputs={ESCROW: escrow_output(validators, datum),
                FUNDS: output(key_address(OTHER), 5_000_000)},
        outputs=[payment(datum, payee(datum, redeemer)),
                 output(key_address(OTHER), DEPOSIT + 4_700_000)],
        lower=lower, upper=upper, signers=[key_hash(k) for k in signers],
        redeemers={ESCROW: redeemer},
    )
