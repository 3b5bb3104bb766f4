"""``CardanoWallet`` against the ledger simulator running the committed validators: what
it builds is what the validators accept, what it returns is what the real
``CardanoMonitor`` indexes, and every lovelace is accounted for.

The simulator's clock is manual: a background miner forges a block (one slot later)
whenever a transaction waits in the mempool, and the tests move time with
``sim.advance`` to reach an escrow's windows."""

from __future__ import annotations

import asyncio
import dataclasses
import time

import pytest
from pycardano import (
    Address,
    MultiAsset,
    Network,
    Redeemer,
    Transaction,
    TransactionBuilder,
    TransactionOutput,
    Value,
    plutus_script_hash,
)

from devnet.cardano import CardanoSimulator, GenesisConfig
from relayer.auction import taking_amount
from relayer.chains.cardano.datums import to_plutus_data
from relayer.chains.cardano.events import OrderLocked
from relayer.chains.cardano.order_datum import Reclaim
from relayer.chains.events import EscrowCreated, EscrowRole
from relayer.orders.merkle import merkle_proof, secret_index
from relayer.orders.timelocks import Stage, Timelocks
from relayer.signing.keccak import keccak256
from relayer.store.sqlite import SQLiteEventStore
from resolver.cardano import CardanoWallet
from resolver.chains import DstTerms, FillPlan, dst_terms
from resolver.errors import (
    NOT_ALLOWED,
    NOT_FOUND,
    TX_NOT_INCLUDED,
    TX_REJECTED,
    WINDOW_NOT_OPEN,
    WalletError,
)
from tests.factories import CARDANO_OTHER_KEY, cardano_address
from tests.integration.cardano.chain import ALWAYS, Harness
from tests.resolver.cardano_kit import (
    ADA,
    CHAINS,
    SCRIPTS,
    SEED,
    TIMELOCKS,
    VALIDATORS,
    advance_to,
    assert_indexed,
    complements_for,
    fill_whole,
    lineage_fill,
    locked_order,
    stage_time,
    wallet,
)

pytestmark = [
    pytest.mark.integration,
    # pycardano's chain context opens the `ogmios` 1.4.3 client, which calls websockets'
    # `connect()` without a context manager; the project turns warnings into errors.
    pytest.mark.filterwarnings(
        "ignore:connect\\(\\) must be used as a context manager:DeprecationWarning"),
]


async def test_a_fill_creates_the_source_escrow_the_monitor_indexes_and_withdraws_it(
        sim: CardanoSimulator, store: SQLiteEventStore, maker: CardanoWallet,
        resolver: CardanoWallet) -> None:
    signed, secrets = await locked_order(sim, maker)
    harness = Harness(store=store, url=sim.url, scripts=SCRIPTS)
    await harness.start(complements=complements_for(signed))
    try:
        await sim.advance(30)  # into the auction: the price has fallen
        handle = await fill_whole(resolver, signed)
        await harness.synced(sim)
        (created,) = harness.of_type(EscrowCreated)
        assert_indexed(handle, created)
        terms = handle.immutables
        assert handle.role is EscrowRole.SRC and terms.taker == resolver.address
        assert terms.maker == maker.address and terms.amount == signed.order.making_amount
        offsets, deployed_at = Timelocks.unpack(terms.timelocks)
        assert offsets.offsets()[:4] == signed.order.timelocks.offsets()[:4]
        assert deployed_at <= handle.created.block_time
        assert handle.complement is not None
        assert handle.complement.maker == signed.order.receiver
        assert handle.created.fee > 0

        # Too early: refused by the wallet, nothing submitted.
        with pytest.raises(WalletError) as early:
            await resolver.withdraw(handle, secrets.secrets[0])
        assert early.value.code == WINDOW_NOT_OPEN

        await advance_to(sim, stage_time(handle, Stage.SRC_WITHDRAWAL))
        before = await resolver.balance("lovelace")
        sent = await resolver.withdraw(handle, secrets.secrets[0])
        after = await resolver.balance("lovelace")
        assert after - before == terms.amount + terms.safety_deposit - sent.fee
        assert sent.block_time >= stage_time(handle, Stage.SRC_WITHDRAWAL)
    finally:
        await harness.stop()


async def test_partial_fills_with_merkle_proofs_follow_the_continuing_output(
        sim: CardanoSimulator, store: SQLiteEventStore, maker: CardanoWallet,
        resolver: CardanoWallet) -> None:
    signed, secrets = await locked_order(sim, maker, parts=4)
    order = signed.order
    total = order.making_amount
    harness = Harness(store=store, url=sim.url, scripts=SCRIPTS)
    await harness.start(complements=complements_for(signed))
    try:
        handles = []
        filled = 0
        for amount in (total // 4, total // 2):
            index = secret_index(filled, amount, total, order.parts)
            now = await resolver.chain_time()
            handles.append(await resolver.fill(FillPlan(
                order=signed, amount=amount,
                dst_amount=-(-taking_amount(order.taking_amount, order.auction, now)
                             * amount // total),
                secret_index=index, secret_hash=secrets.hashes[index],
                proof=tuple(merkle_proof(secrets.hashes, index)),
                lineage=tuple(lineage_fill(h) for h in handles))))
            filled += amount
        await harness.synced(sim)
        created = harness.of_type(EscrowCreated)
        assert len(created) == 2
        for handle, event in zip(handles, created, strict=True):
            assert_indexed(handle, event)
        assert [h.immutables.amount for h in handles] == [total // 4, total // 2]
        assert [h.immutables.hashlock for h in handles] == [
            "0x" + secrets.hashes[i].hex() for i in (0, 2)]
        # The lock, then each fill's continuing output with `filled` raised.
        locks = harness.of_type(OrderLocked)
        assert [(lk.filled, lk.locked) for lk in locks] == [
            (0, total), (total // 4, total - total // 4), (filled, total - filled)]
        order_address = str(VALIDATORS.order.address(Network.TESTNET))
        assert await resolver.balance("lovelace", order_address) == total - filled
    finally:
        await harness.stop()


async def test_destination_escrow_created_then_withdrawn_to_the_receiver(
        sim: CardanoSimulator, store: SQLiteEventStore, resolver: CardanoWallet) -> None:
    secret = b"\x07" * 32
    receiver = cardano_address(CARDANO_OTHER_KEY)
    terms = DstTerms(order_hash=b"\x0a" * 32, hashlock=keccak256(secret), maker=receiver,
                     token="lovelace", amount=25 * ADA, safety_deposit=2 * ADA,
                     timelocks=TIMELOCKS, src_cancellation=0)
    harness = Harness(store=store, url=sim.url, scripts=SCRIPTS)
    await harness.start()
    try:
        before = await resolver.balance("lovelace")
        handle = await resolver.create_dst(terms)
        created_balance = await resolver.balance("lovelace")
        assert created_balance - before == -terms.amount - terms.safety_deposit - \
            handle.created.fee
        await harness.synced(sim)
        (created,) = harness.of_type(EscrowCreated)
        assert_indexed(handle, created)
        assert handle.role is EscrowRole.DST and handle.immutables.maker == receiver
        _, deployed_at = Timelocks.unpack(handle.immutables.timelocks)
        assert stage_time(handle, Stage.DST_WITHDRAWAL) == deployed_at + 12

        with pytest.raises(WalletError) as early:
            await resolver.withdraw(handle, secret)
        assert early.value.code == WINDOW_NOT_OPEN

        await advance_to(sim, stage_time(handle, Stage.DST_WITHDRAWAL))
        sent = await resolver.withdraw(handle, secret)
        assert await resolver.balance("lovelace", receiver) == terms.amount
        assert await resolver.balance("lovelace") - created_balance == \
            terms.safety_deposit - sent.fee
    finally:
        await harness.stop()


async def test_a_wrong_secret_is_refused_by_the_ledger(
        sim: CardanoSimulator, resolver: CardanoWallet) -> None:
    secret = b"\x08" * 32
    terms = DstTerms(order_hash=b"\x0b" * 32, hashlock=keccak256(secret),
                     maker=cardano_address(CARDANO_OTHER_KEY), token="lovelace",
                     amount=10 * ADA, safety_deposit=2 * ADA, timelocks=TIMELOCKS,
                     src_cancellation=0)
    handle = await resolver.create_dst(terms)
    await advance_to(sim, stage_time(handle, Stage.DST_WITHDRAWAL))
    tip = sim.tip.height
    with pytest.raises(WalletError) as refused:
        await resolver.withdraw(handle, b"\x09" * 32)
    assert refused.value.code == TX_REJECTED
    assert sim.tip.height == tip and not sim.chain.mempool  # nothing reached the chain
    # The same escrow opens with the right secret.
    await resolver.withdraw(handle, secret)
    assert await resolver.balance("lovelace", terms.maker) == terms.amount


async def test_cancel_after_cancellation_refunds_the_resolver(
        sim: CardanoSimulator, resolver: CardanoWallet) -> None:
    terms = DstTerms(order_hash=b"\x0c" * 32, hashlock=keccak256(b"\x01" * 32),
                     maker=cardano_address(CARDANO_OTHER_KEY), token="lovelace",
                     amount=10 * ADA, safety_deposit=2 * ADA, timelocks=TIMELOCKS,
                     src_cancellation=0)
    handle = await resolver.create_dst(terms)
    with pytest.raises(WalletError) as early:
        await resolver.cancel(handle)
    assert early.value.code == WINDOW_NOT_OPEN
    with pytest.raises(WalletError) as public:
        await resolver.cancel(handle, public=True)
    assert public.value.code == NOT_ALLOWED

    await advance_to(sim, stage_time(handle, Stage.DST_CANCELLATION))
    before = await resolver.balance("lovelace")
    sent = await resolver.cancel(handle)
    assert await resolver.balance("lovelace") - before == \
        terms.amount + terms.safety_deposit - sent.fee
    assert await resolver.balance("lovelace", terms.maker) == 0


async def test_public_cancel_of_a_source_escrow_by_another_wallet(
        sim: CardanoSimulator, maker: CardanoWallet, resolver: CardanoWallet) -> None:
    signed, _ = await locked_order(sim, maker)
    handle = await fill_whole(resolver, signed)
    other = wallet(sim, sim.accounts[2].signing_key)
    await advance_to(sim, stage_time(handle, Stage.SRC_CANCELLATION))
    with pytest.raises(WalletError) as early:
        await other.cancel(handle, public=True)
    assert early.value.code == WINDOW_NOT_OPEN

    await advance_to(sim, stage_time(handle, Stage.SRC_PUBLIC_CANCELLATION))
    maker_before = await maker.balance("lovelace")
    other_before = await other.balance("lovelace")
    sent = await other.cancel(handle, public=True)
    assert await maker.balance("lovelace") - maker_before == signed.order.making_amount
    assert await other.balance("lovelace") - other_before == \
        handle.immutables.safety_deposit - sent.fee


async def test_honest_destination_terms_from_a_source_escrow(
        sim: CardanoSimulator, maker: CardanoWallet, resolver: CardanoWallet) -> None:
    """``dst_terms`` of a Cardano source escrow carry the order's offsets and receiver."""
    signed, _ = await locked_order(sim, maker)
    handle = await fill_whole(resolver, signed)
    terms = dst_terms(signed, handle)
    assert terms.maker == signed.order.receiver
    assert handle.complement is not None and terms.amount == handle.complement.amount
    assert terms.src_cancellation == stage_time(handle, Stage.SRC_CANCELLATION)


async def test_the_maker_reclaims_its_lock(sim: CardanoSimulator,
                                           maker: CardanoWallet) -> None:
    before = await maker.balance("lovelace")
    signed, _ = await locked_order(sim, maker)
    assert signed.src_order_utxo is not None
    locked = await maker.balance("lovelace")
    sent = await maker.reclaim(signed.src_order_utxo)
    assert await maker.balance("lovelace") - locked == signed.order.making_amount - sent.fee
    assert await maker.balance("lovelace") < before


async def test_reference_scripts_make_smaller_cheaper_transactions(
        sim: CardanoSimulator, maker: CardanoWallet, resolver: CardanoWallet) -> None:
    attached = await fill_whole(resolver, (await locked_order(sim, maker))[0])
    referencing = wallet(sim, sim.accounts[2].signing_key)
    refs = await referencing.deploy_reference_scripts()
    assert referencing.references == refs
    signed, secrets = await locked_order(sim, maker)
    handle = await fill_whole(referencing, signed)
    assert handle.created.fee < attached.created.fee
    # The reference outputs stay put: later transactions never spend them.
    await advance_to(sim, stage_time(handle, Stage.SRC_WITHDRAWAL))
    sent = await referencing.withdraw(handle, secrets.secrets[0])
    assert sent.fee > 0
    for ref in (refs.escrow, refs.order):
        still = await asyncio.to_thread(sim.chain_context().utxo_by_tx_id, ref.tx_id,
                                        ref.index)
        assert still is not None and still.output.script is not None


async def test_the_wallet_just_works_on_a_wall_clock_devnet() -> None:
    """The devnet forges a block every slot on its own; nobody drives the clock."""
    config = GenesisConfig(seed=SEED, slot_length_ms=200)
    async with CardanoSimulator(config, manual_clock=False) as sim:
        resolver = wallet(sim, sim.accounts[1].signing_key)
        secret = b"\x05" * 32
        terms = DstTerms(order_hash=b"\x0d" * 32, hashlock=keccak256(secret),
                         maker=cardano_address(CARDANO_OTHER_KEY), token="lovelace",
                         amount=5 * ADA, safety_deposit=2 * ADA,
                         timelocks=dataclasses.replace(TIMELOCKS, dst_withdrawal=1),
                         src_cancellation=0)
        handle = await resolver.create_dst(terms)
        opens = stage_time(handle, Stage.DST_WITHDRAWAL)
        deadline = time.monotonic() + 30
        while True:  # the wallet refuses until the tip reaches the window: poll
            try:
                sent = await resolver.withdraw(handle, secret)
                break
            except WalletError as exc:
                assert exc.code == WINDOW_NOT_OPEN
                assert time.monotonic() < deadline, "the window never opened"
                await asyncio.sleep(0.05)
        assert sent.block_time >= opens
        assert await resolver.balance("lovelace", terms.maker) == terms.amount


def mint(sim: CardanoSimulator, to: str, name: bytes, quantity: int) -> Transaction:
    """``quantity`` tokens of an always-succeeding Plutus policy, paid to ``to``."""
    context = sim.chain_context()
    policy = plutus_script_hash(ALWAYS)
    tokens = MultiAsset.from_primitive({policy.payload: {name: quantity}})
    payer = sim.accounts[0]
    builder = TransactionBuilder(context)
    builder.add_input_address(payer.address)
    builder.mint = tokens
    builder.add_minting_script(ALWAYS, redeemer=Redeemer(to_plutus_data(Reclaim())))
    builder.add_output(TransactionOutput(Address.from_primitive(to), Value(2 * ADA, tokens)))
    tx: Transaction = builder.build_and_sign(
        [payer.signing_key], change_address=Address.from_primitive(payer.address))
    return tx


async def test_a_native_token_destination_escrow(sim: CardanoSimulator,
                                                 resolver: CardanoWallet) -> None:
    token = f"{plutus_script_hash(ALWAYS).payload.hex()}.{b'TUSD'.hex()}"
    await sim.submit((await asyncio.to_thread(mint, sim, resolver.address, b"TUSD",
                                              1_000)).to_cbor())
    await advance_to(sim, await resolver.chain_time() + 1)
    assert await resolver.balance(token) == 1_000
    secret = b"\x06" * 32
    receiver = cardano_address(CARDANO_OTHER_KEY)
    terms = DstTerms(order_hash=b"\x0e" * 32, hashlock=keccak256(secret), maker=receiver,
                     token=token, amount=400, safety_deposit=2 * ADA, timelocks=TIMELOCKS,
                     src_cancellation=0)
    before = await resolver.balance("lovelace")
    handle = await resolver.create_dst(terms)
    assert handle.immutables.token == token
    assert await resolver.balance(token) == 600
    await advance_to(sim, stage_time(handle, Stage.DST_WITHDRAWAL))
    sent = await resolver.withdraw(handle, secret)
    assert await resolver.balance(token, receiver) == 400
    # The payment's min-ADA comes out of the safety deposit (the escrow holds at least the
    # deposit, more if its own min-ADA is higher); all the rest comes back to the caller.
    paid = await resolver.balance("lovelace", receiver)
    assert 0 < paid < terms.safety_deposit
    spent = before - await resolver.balance("lovelace")
    assert spent == paid + handle.created.fee + sent.fee


async def test_public_withdrawal_by_another_wallet_pays_the_maker_and_the_caller(
        sim: CardanoSimulator, resolver: CardanoWallet) -> None:
    secret = b"\x0f" * 32
    terms = DstTerms(order_hash=b"\x10" * 32, hashlock=keccak256(secret),
                     maker=cardano_address(CARDANO_OTHER_KEY), token="lovelace",
                     amount=10 * ADA, safety_deposit=2 * ADA, timelocks=TIMELOCKS,
                     src_cancellation=0)
    handle = await resolver.create_dst(terms)
    other = wallet(sim, sim.accounts[2].signing_key)
    await advance_to(sim, stage_time(handle, Stage.DST_WITHDRAWAL))
    with pytest.raises(WalletError) as early:
        await other.withdraw(handle, secret, public=True)
    assert early.value.code == WINDOW_NOT_OPEN
    await advance_to(sim, stage_time(handle, Stage.DST_PUBLIC_WITHDRAWAL))
    before = await other.balance("lovelace")
    sent = await other.withdraw(handle, secret, public=True)
    assert await other.balance("lovelace", terms.maker) == terms.amount
    assert await other.balance("lovelace") - before == terms.safety_deposit - sent.fee
    with pytest.raises(WalletError) as gone:  # spent: nothing left to withdraw
        await resolver.withdraw(handle, secret)
    assert gone.value.code == NOT_FOUND


async def test_a_transaction_no_block_includes_times_out() -> None:
    async with CardanoSimulator(GenesisConfig(seed=SEED)) as sim:  # nobody forges
        payer = CardanoWallet(ogmios_url=sim.url, signing_key=sim.accounts[0].signing_key,
                              validators=VALIDATORS, chains=CHAINS, inclusion_timeout=0.5)
        with pytest.raises(WalletError) as late:
            await payer.pay(cardano_address(CARDANO_OTHER_KEY), 5 * ADA)
        assert late.value.code == TX_NOT_INCLUDED
        assert len(sim.chain.mempool) == 1  # submitted, still waiting
