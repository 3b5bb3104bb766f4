"""The validators on the ledger simulator: real pycardano transactions, phase 2 run by the
simulator on its own V3 ScriptContext. A refused spend declares its budget, so it reaches
the ledger and fails there (3136) instead of in pycardano's evaluation."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any

import pytest
from pycardano import ExecutionUnits, Transaction, UTxO

from devnet.cardano import CardanoSimulator, GenesisConfig, SubmissionError
from relayer.auction.curve import fill_taking_amount
from relayer.auction.details import AuctionDetails, AuctionPoint
from relayer.chains.cardano.escrow_datum import (
    Cancel,
    DstEscrowDatum,
    EscrowDatum,
    PublicCancel,
    PublicWithdraw,
    SrcEscrowDatum,
    Withdraw,
    decode_escrow_datum,
    decode_escrow_redeemer,
)
from relayer.chains.cardano.order_datum import Fill, OrderDatum, Reclaim, decode_order_datum
from relayer.chains.cardano.plutus_data import LOVELACE
from relayer.chains.cardano.scripts import Validators
from relayer.orders.merkle import merkle_proof, merkle_root
from relayer.orders.timelocks import Timelocks
from relayer.signing.keccak import keccak256
from tests.contracts.cardano.onchain import (
    BUDGET,
    NETWORK,
    Chain,
    deploy,
    pay,
    plutus_address,
    tag_of,
)

SECRET = bytes(range(32))
AMOUNT, DEPOSIT = 10_000_000, 2_000_000


@pytest.fixture
async def chain(validators: Validators) -> AsyncIterator[Chain]:
    async with CardanoSimulator(GenesisConfig(seed=bytes(range(32)))) as sim:
        yield await deploy(sim, validators)


async def rejected(chain: Chain, tx: Transaction) -> int:
    """Submit ``tx``, which must fail; its error code. A script failure must be the
    validator's own refusal, not an exhausted budget."""
    with pytest.raises(SubmissionError) as info:
        await chain.sim.submit(tx.to_cbor())
    if info.value.code == 3136:
        assert info.value.data["mismatchReason"].endswith("failed: Execution called Error")
    return info.value.code


def dst_escrow(chain: Chain, **changes: Any) -> DstEscrowDatum:
    """A destination escrow whose stages start 10, 20 and 30 slots from now."""
    maker, taker = chain.sim.accounts[0], chain.sim.accounts[1]
    now = chain.slot
    datum = DstEscrowDatum(
        order_hash=b"\x01" * 32, hashlock=keccak256(SECRET), maker=plutus_address(maker),
        taker=plutus_address(taker), asset=LOVELACE, amount=AMOUNT, safety_deposit=DEPOSIT,
        withdrawal=chain.ms(now + 10), public_withdrawal=chain.ms(now + 20),
        cancellation=chain.ms(now + 30),
    )
    return replace(datum, **changes)


async def advance_to(chain: Chain, posix_ms: int) -> int:
    """Forge a block at the slot of ``posix_ms``; that slot."""
    slot = chain.sim.genesis.slot_at(posix_ms)
    if slot > chain.slot:
        await chain.sim.advance(slot - chain.slot)
    return slot


async def test_a_destination_escrow_opens_with_the_secret_only_in_its_window(
    chain: Chain,
) -> None:
    taker = chain.sim.accounts[1]
    datum = dst_escrow(chain)
    locked = await chain.lock(taker, chain.validators.escrow, AMOUNT + DEPOSIT, datum)
    assert decode_escrow_datum(locked.output.datum.cbor) == datum

    async def withdraw(secret: bytes, lower: int, upper: int) -> Transaction:
        return await chain.spend(taker, locked, chain.validators.escrow, Withdraw(secret),
                                 [pay(datum.maker, AMOUNT, datum=tag_of(locked))],
                                 lower=lower, upper=upper, signers=[taker], budget=BUDGET)

    before = chain.sim.genesis.slot_at(datum.withdrawal) - 1   # the last slot before it opens
    await chain.sim.advance(before - chain.slot)
    assert await rejected(chain, await withdraw(SECRET, before, before + 5)) == 3136
    early_cancel = await chain.spend(taker, locked, chain.validators.escrow, Cancel(),
                                     [pay(datum.taker, AMOUNT, datum=tag_of(locked))],
                                     lower=before, upper=None, signers=[taker], budget=BUDGET)
    assert await rejected(chain, early_cancel) == 3136

    start = await advance_to(chain, datum.withdrawal)
    assert start == before + 1
    assert await rejected(chain, await withdraw(b"\x00" * 32, start, start + 5)) == 3136
    tx = await withdraw(SECRET, start, start + 5)
    await chain.submit(tx)

    (validated,) = chain.sim.tip.transactions
    assert validated.spends_inputs
    (redeemer,) = validated.tx.redeemers
    assert decode_escrow_redeemer(redeemer.data) == Withdraw(SECRET)   # the secret, public now
    paid = await chain.output_of(tx, 0)
    assert paid.output.amount.coin == AMOUNT
    assert paid.output.address == datum.maker.to_address(NETWORK)


async def test_a_late_withdrawal_is_refused_and_the_taker_cancels(chain: Chain) -> None:
    taker = chain.sim.accounts[1]
    datum = dst_escrow(chain)
    late = await chain.lock(taker, chain.validators.escrow, AMOUNT + DEPOSIT, datum)
    in_time = await chain.lock(taker, chain.validators.escrow, AMOUNT + DEPOSIT, datum)
    end = chain.sim.genesis.slot_at(datum.cancellation)
    await chain.sim.advance(end - 1 - chain.slot)

    async def withdraw(locked: UTxO, upper: int, budget: ExecutionUnits | None) -> Transaction:
        return await chain.spend(taker, locked, chain.validators.escrow, Withdraw(SECRET),
                                 [pay(datum.maker, AMOUNT, datum=tag_of(locked))],
                                 lower=end - 1, upper=upper, signers=[taker], budget=budget)

    assert await rejected(chain, await withdraw(late, end + 1, BUDGET)) == 3136
    await chain.submit(await withdraw(in_time, end, None))   # valid until the cancellation
    assert chain.slot == end
    cancel = await chain.spend(taker, late, chain.validators.escrow, Cancel(),
                               [pay(datum.taker, AMOUNT, datum=tag_of(late))],
                               lower=end, upper=None, signers=[taker])
    await chain.submit(cancel)
    assert (await chain.output_of(cancel, 0)).output.amount.coin == AMOUNT


async def test_anyone_withdraws_or_cancels_in_the_public_windows(chain: Chain) -> None:
    taker, stranger = chain.sim.accounts[1], chain.sim.accounts[2]
    datum: EscrowDatum = dst_escrow(chain)
    withdrawable = await chain.lock(taker, chain.validators.escrow, AMOUNT + DEPOSIT, datum)
    now = chain.slot
    src = SrcEscrowDatum(
        order_hash=datum.order_hash, hashlock=datum.hashlock, maker=datum.maker,
        taker=datum.taker, asset=LOVELACE, amount=AMOUNT, safety_deposit=DEPOSIT,
        withdrawal=chain.ms(now + 5), public_withdrawal=chain.ms(now + 10),
        cancellation=chain.ms(now + 15), public_cancellation=chain.ms(now + 25), dst_amount=1,
    )
    cancellable = await chain.lock(taker, chain.validators.escrow, AMOUNT + DEPOSIT, src)

    slot = await advance_to(chain, datum.public_withdrawal)
    tx = await chain.spend(stranger, withdrawable, chain.validators.escrow,
                           PublicWithdraw(SECRET),
                           [pay(datum.maker, AMOUNT, datum=tag_of(withdrawable))],
                           lower=slot, upper=slot + 5)
    await chain.submit(tx)
    # the stranger built it and keeps the deposit (less the fee) as change
    change = await chain.output_of(tx, len(tx.transaction_body.outputs) - 1)
    assert str(change.output.address) == stranger.address

    slot = await advance_to(chain, src.public_cancellation)
    tx = await chain.spend(stranger, cancellable, chain.validators.escrow, PublicCancel(),
                           [pay(src.maker, AMOUNT, datum=tag_of(cancellable))],
                           lower=slot, upper=None)
    await chain.submit(tx)
    refund = await chain.output_of(tx, 0)
    assert refund.output.address == src.maker.to_address(NETWORK)


def make_order(chain: Chain, *, parts: int = 1, hashlock: bytes | None = None) -> OrderDatum:
    maker = chain.sim.accounts[0]
    start = chain.ms(chain.slot) // 1000
    return OrderDatum(
        order_hash=b"\x07" * 32, maker=plutus_address(maker), maker_asset=LOVELACE,
        making_amount=40_000_000, taking_amount=95_000_000,
        auction=AuctionDetails(start, 180, 500_000, (AuctionPoint(250_000, 60),)),
        hashlock=hashlock or keccak256(SECRET), parts=parts,
        timelocks=Timelocks(5, 10, 20, 30, 5, 10, 15), src_safety_deposit=DEPOSIT,
        dst_safety_deposit=10**15, deadline=start + 3_600,
    )


async def test_a_resolver_fills_an_order_at_the_curve_and_withdraws(chain: Chain) -> None:
    maker, resolver = chain.sim.accounts[0], chain.sim.accounts[1]
    order = make_order(chain)
    locked = await chain.lock(maker, chain.validators.order, order.making_amount, order)
    await chain.sim.advance(40)   # into the auction's first segment

    slot = chain.slot
    lower_ms = chain.ms(slot)
    required = fill_taking_amount(order.taking_amount, order.making_amount,
                                  order.making_amount, order.auction, lower_ms // 1000)
    assert required > order.taking_amount

    def fill(promised: int) -> Any:
        escrow = order.src_escrow(taker=plutus_address(resolver), amount=order.making_amount,
                                  hashlock=order.hashlock, dst_amount=promised,
                                  deployed_at_ms=lower_ms)
        output = pay(escrow.maker, 0, datum=escrow)
        output.address = chain.validators.escrow.address(NETWORK)
        output.amount.coin = order.making_amount + DEPOSIT
        return escrow, output

    _, undercut = fill(required - 1)
    tx = await chain.spend(resolver, locked, chain.validators.order, Fill(0), [undercut],
                           lower=slot, upper=slot + 60, signers=[resolver], budget=BUDGET)
    assert await rejected(chain, tx) == 3136

    escrow, output = fill(required)
    tx = await chain.spend(resolver, locked, chain.validators.order, Fill(0), [output],
                           lower=slot, upper=slot + 60, signers=[resolver])
    await chain.submit(tx)
    created = await chain.output_of(tx, 0)
    assert decode_escrow_datum(created.output.datum.cbor) == escrow

    slot = await advance_to(chain, escrow.withdrawal)
    withdraw = await chain.spend(resolver, created, chain.validators.escrow, Withdraw(SECRET),
                                 [pay(escrow.taker, escrow.amount, datum=tag_of(created))],
                                 lower=slot, upper=slot + 5, signers=[resolver])
    await chain.submit(withdraw)


async def test_the_maker_reclaims_after_a_partial_fill(chain: Chain) -> None:
    maker, resolver = chain.sim.accounts[0], chain.sim.accounts[1]
    hashes = [keccak256(bytes([i]) * 32) for i in range(5)]
    order = make_order(chain, parts=4, hashlock=merkle_root(hashes))
    locked = await chain.lock(maker, chain.validators.order, order.making_amount, order)
    await chain.sim.advance(200)   # after the auction: the minimum is due

    slot = chain.slot
    quarter = order.making_amount // 4
    escrow = order.src_escrow(
        taker=plutus_address(resolver), amount=quarter, hashlock=hashes[0],
        dst_amount=order.taking_amount // 4, deployed_at_ms=chain.ms(slot),
    )
    to_escrow = pay(escrow.maker, quarter + DEPOSIT, datum=escrow)
    to_escrow.address = chain.validators.escrow.address(NETWORK)
    rest = replace(order, filled=quarter)
    to_order = pay(escrow.maker, order.making_amount - quarter, datum=rest)
    to_order.address = locked.output.address
    redeemer = Fill(0, 1, 0, tuple(merkle_proof(hashes, 0)))
    tx = await chain.spend(resolver, locked, chain.validators.order, redeemer,
                           [to_escrow, to_order], lower=slot, upper=slot + 60,
                           signers=[resolver])
    await chain.submit(tx)
    continuing = await chain.output_of(tx, 1)
    assert decode_order_datum(continuing.output.datum.cbor) == rest

    stolen = await chain.spend(resolver, continuing, chain.validators.order, Reclaim(),
                               [], lower=None, upper=None, signers=[resolver], budget=BUDGET)
    assert await rejected(chain, stolen) == 3136
    reclaim = await chain.spend(maker, continuing, chain.validators.order, Reclaim(), [],
                                lower=None, upper=None, signers=[maker])
    await chain.submit(reclaim)
    assert await chain.utxos_at(chain.validators.order.address(NETWORK)) == []
