"""Which output of a Cardano order the wallet fills once partial fills moved the maker's
lock: the continuation in the transaction of an authentic fill (the relayer's fills that
are not foreign, passed in ``FillPlan.lineage``), never a copy of the datum that anyone
can pay to the order script, even one claiming more is filled. The real monitor runs
beside, and says whose lineage each escrow belongs to."""

from __future__ import annotations

import asyncio
import dataclasses

import pytest
from pycardano import Address, Network, TransactionOutput, Value

from devnet.cardano import CardanoSimulator, GenesisAccount
from relayer.auction import taking_amount
from relayer.chains.cardano.datums import to_plutus_data
from relayer.chains.cardano.funds import expected_datum
from relayer.chains.cardano.order_datum import Fill
from relayer.chains.cardano.plutus_data import PlutusAddress
from relayer.chains.events import EscrowCreated, LockOrigin
from relayer.orders.merkle import merkle_proof, secret_index
from relayer.orders.model import SignedOrder
from relayer.orders.signer import SecretSet
from relayer.store.sqlite import SQLiteEventStore
from resolver.cardano import CardanoWallet
from resolver.chains import EscrowHandle, FillPlan, LineageFill
from resolver.errors import NOT_FOUND, WalletError
from tests.integration.cardano.chain import Harness, key_hash, spend, utxos_at
from tests.resolver.cardano_kit import (
    CHAINS,
    SCRIPTS,
    VALIDATORS,
    complements_for,
    lineage_fill,
    locked_order,
    wallet,
)

pytestmark = [
    pytest.mark.integration,
    pytest.mark.filterwarnings(
        "ignore:connect\\(\\) must be used as a context manager:DeprecationWarning"),
]

ORDER_SCRIPT = VALIDATORS.order.script


async def fill_part(resolver: CardanoWallet, signed: SignedOrder, secrets: SecretSet, *,
                    filled: int, amount: int,
                    lineage: tuple[LineageFill, ...]) -> EscrowHandle:
    """Fill ``amount`` after ``filled``, with the secret and proof for that range."""
    order = signed.order
    total = order.making_amount
    index = secret_index(filled, amount, total, order.parts)
    now = await resolver.chain_time()
    return await resolver.fill(FillPlan(
        order=signed, amount=amount,
        dst_amount=-(-taking_amount(order.taking_amount, order.auction, now) * amount // total),
        secret_index=index, secret_hash=secrets.hashes[index],
        proof=tuple(merkle_proof(secrets.hashes, index)), lineage=lineage))


async def fill_with_a_plant(sim: CardanoSimulator, filler: GenesisAccount, signed: SignedOrder,
                            secrets: SecretSet, amount: int, planted_filled: int) -> str:
    """An authentic first fill of ``amount`` whose transaction also pays the order script
    a copy of the continuing datum saying ``planted_filled`` (at output 2, beside the
    real continuation at 1); its transaction id."""
    maker_lock = expected_datum(signed, CHAINS)
    assert signed.src_order_utxo is not None
    (locked,) = [u for u in await asyncio.to_thread(utxos_at, sim, ORDER_SCRIPT)
                 if str(u.input.transaction_id) == signed.src_order_utxo.tx_id]
    lower = sim.current_slot
    lower_ms = sim.genesis.slot_to_posix_ms(lower)
    index = secret_index(0, amount, maker_lock.making_amount, maker_lock.parts)
    price = taking_amount(maker_lock.taking_amount, maker_lock.auction, lower_ms // 1000)
    escrow = maker_lock.src_escrow(
        taker=PlutusAddress.from_address(Address.from_primitive(filler.address)),
        amount=amount, hashlock=secrets.hashes[index], deployed_at_ms=lower_ms,
        dst_amount=-(-price * amount // maker_lock.making_amount))
    address = VALIDATORS.order.address(Network.TESTNET)
    rest = locked.output.amount.coin - amount
    outputs = [
        TransactionOutput(VALIDATORS.escrow.address(Network.TESTNET),
                          Value(amount + escrow.safety_deposit), datum=to_plutus_data(escrow)),
        TransactionOutput(address, Value(rest), datum=to_plutus_data(
            dataclasses.replace(maker_lock, filled=amount))),
        TransactionOutput(address, Value(rest), datum=to_plutus_data(
            dataclasses.replace(maker_lock, filled=planted_filled))),
    ]
    tx = await asyncio.to_thread(
        spend, sim, filler, locked, ORDER_SCRIPT,
        Fill(escrow_output=0, order_output=1, secret_index=index,
             proof=tuple(merkle_proof(secrets.hashes, index))),
        outputs=outputs, required=[key_hash(filler.signing_key)], lower=lower,
        upper=lower + 100)
    await sim.submit(tx.to_cbor())
    await sim.advance()
    return str(tx.id)


def unspent(sim: CardanoSimulator, ref: str) -> bool:
    tx_id, _, index = ref.partition("#")
    return (bytes.fromhex(tx_id), int(index)) in sim.chain.utxo


async def test_the_real_continuation_is_filled_not_a_forged_lock_claiming_more(
        sim: CardanoSimulator, store: SQLiteEventStore, maker: CardanoWallet) -> None:
    signed, secrets = await locked_order(sim, maker, parts=4)
    assert signed.src_order_utxo is not None
    registered = f"{signed.src_order_utxo.tx_id}#{signed.src_order_utxo.index}"
    total = signed.order.making_amount
    part = total // 4
    harness = Harness(store=store, url=sim.url, scripts=SCRIPTS)
    await harness.start(complements=complements_for(signed))
    try:
        first = await fill_part(wallet(sim, sim.accounts[2].signing_key), signed, secrets,
                                filled=0, amount=part, lineage=())
        continuing = f"{first.created.tx_id}#1"
        # Anyone can pay the script a copy of the datum: this one says half is filled
        # (the old rule, "the most filled output of the order", took it).
        attacker = wallet(sim, sim.accounts[3].signing_key)
        forged, _ = await attacker.lock(dataclasses.replace(expected_datum(signed, CHAINS),
                                                            filled=2 * part))
        assert unspent(sim, continuing) and unspent(sim, f"{forged.tx_id}#0")

        resolver = wallet(sim, sim.accounts[1].signing_key)
        second = await fill_part(resolver, signed, secrets, filled=part, amount=part,
                                 lineage=(lineage_fill(first),))
        assert not unspent(sim, continuing) and unspent(sim, f"{forged.tx_id}#0")
        await harness.synced(sim)
        origins = {e.escrow: e.origin for e in harness.of_type(EscrowCreated)}
        assert origins[second.escrow] == LockOrigin(lock=continuing, root=registered,
                                                    filled_before=part, depth=1)

        # A third fill follows both authentic fills, whoever made them.
        third = await fill_part(resolver, signed, secrets, filled=2 * part, amount=part,
                                lineage=(lineage_fill(second), lineage_fill(first)))
        await harness.synced(sim)
        origins = {e.escrow: e.origin for e in harness.of_type(EscrowCreated)}
        assert origins[third.escrow] == LockOrigin(
            lock=f"{second.created.tx_id}#1", root=registered, filled_before=2 * part,
            depth=2)
    finally:
        await harness.stop()


async def test_without_an_authentic_fill_to_follow_nothing_is_filled(
        sim: CardanoSimulator, maker: CardanoWallet) -> None:
    signed, secrets = await locked_order(sim, maker, parts=4)
    part = signed.order.making_amount // 4
    first = await fill_part(wallet(sim, sim.accounts[2].signing_key), signed, secrets,
                            filled=0, amount=part, lineage=())
    attacker = wallet(sim, sim.accounts[3].signing_key)
    forged, _ = await attacker.lock(dataclasses.replace(expected_datum(signed, CHAINS),
                                                        filled=part))
    resolver = wallet(sim, sim.accounts[1].signing_key)
    tip = sim.tip.height
    # The relayer has not listed the first fill yet: the copy says exactly what a
    # continuation would, but no authentic fill created it. Nothing is submitted.
    with pytest.raises(WalletError) as refused:
        await fill_part(resolver, signed, secrets, filled=part, amount=part, lineage=())
    assert refused.value.code == NOT_FOUND and "none continues" in refused.value.message
    assert sim.tip.height == tip and not sim.chain.mempool
    # With the fill listed, the wallet takes the real continuation.
    await fill_part(resolver, signed, secrets, filled=part, amount=part,
                    lineage=(lineage_fill(first),))
    assert not unspent(sim, f"{first.created.tx_id}#1")
    assert unspent(sim, f"{forged.tx_id}#0")


@pytest.mark.parametrize("planted", ["more filled", "the same"])
async def test_a_copy_planted_in_an_authentic_fill_is_never_taken_for_the_continuation(
        sim: CardanoSimulator, maker: CardanoWallet, planted: str) -> None:
    """The filler of an authentic fill adds a second order-script output to its own
    transaction. Claiming more filled, it is not the continuation; claiming the same,
    nobody can tell which one the Fill named, so the wallet fills neither."""
    signed, secrets = await locked_order(sim, maker, parts=4)
    part = signed.order.making_amount // 4
    planted_filled = 2 * part if planted == "more filled" else part
    filler = sim.accounts[2]
    fill_tx = await fill_with_a_plant(sim, filler, signed, secrets, part, planted_filled)
    resolver = wallet(sim, sim.accounts[1].signing_key)
    lineage = (LineageFill(tx_id=fill_tx, amount=part),)
    if planted == "more filled":
        await fill_part(resolver, signed, secrets, filled=part, amount=part, lineage=lineage)
        assert not unspent(sim, f"{fill_tx}#1") and unspent(sim, f"{fill_tx}#2")
        return
    tip = sim.tip.height
    with pytest.raises(WalletError) as refused:
        await fill_part(resolver, signed, secrets, filled=part, amount=part, lineage=lineage)
    assert refused.value.code == NOT_FOUND and "2 claim to continue" in refused.value.message
    assert sim.tip.height == tip and not sim.chain.mempool
