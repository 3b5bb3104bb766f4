"""The monitor watching the real validators (``contracts-abi/cardano/``), every script run
by the simulator: a destination escrow withdrawn with the secret, and a Cardano-source
order locked, submitted through the API, filled by a resolver into a source escrow at the
curve's price and withdrawn; plus a forged source escrow that no Fill created."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx
import msgspec
from pycardano import (
    Address,
    ExecutionUnits,
    Network,
    TransactionOutput,
    Value,
    plutus_script_hash,
)

from devnet.cardano import CardanoSimulator, GenesisAccount
from devnet.cardano.errors import OgmiosError
from relayer.api.app import create_app
from relayer.auction import taking_amount
from relayer.chains.cardano.datums import to_plutus_data
from relayer.chains.cardano.decode import ScriptHashes
from relayer.chains.cardano.escrow_datum import Cancel, Withdraw
from relayer.chains.cardano.events import LockSpend, OrderLockSpent
from relayer.chains.cardano.funds import expected_datum
from relayer.chains.cardano.order_datum import Fill
from relayer.chains.cardano.plutus_data import OutputTag, PlutusAddress
from relayer.chains.escrows import EscrowPhase
from relayer.chains.events import EscrowCreated, EscrowRole, EscrowWithdrawn
from relayer.clock import FakeClock
from relayer.networks.registry import ChainRegistry
from relayer.orders.signer import make_secrets
from relayer.orders.timelocks import Timelocks
from relayer.orders.wire import UtxoRefWire
from relayer.store.sqlite import SQLiteEventStore
from tests.factories import (
    CARDANO_MAKER_KEY,
    cardano_address,
    make_settings,
    make_validator,
    submission,
    to_json,
)
from tests.integration.cardano.chain import (
    BUDGET,
    Harness,
    abi_script,
    dst_datum,
    key_hash,
    lock,
    pay,
    plutus_address,
    secret_of,
    spend,
    submit,
    utxos_at,
    wait_for,
)

MAKER = GenesisAccount(address=cardano_address(), signing_key=CARDANO_MAKER_KEY, lovelace=0)
ESCROW = abi_script("escrow")
ORDER = abi_script("order")
REAL = ScriptHashes(escrow=frozenset({bytes(plutus_script_hash(ESCROW).payload)}),
                    order=frozenset({bytes(plutus_script_hash(ORDER).payload)}))


def escrow_address() -> Address:
    return Address(plutus_script_hash(ESCROW), network=Network.TESTNET)


def tag(ref: str) -> Any:
    tx_id, index = ref.split("#")
    return to_plutus_data(OutputTag(bytes.fromhex(tx_id), int(index)))


def slot_at(sim: CardanoSimulator, posix_ms: int) -> int:
    """The first slot starting at or after ``posix_ms``."""
    return -(-(posix_ms - sim.genesis.start_time * 1000) // sim.genesis.slot_length_ms)


async def test_destination_escrow_withdrawn_with_the_secret_by_the_real_validator(
        sim: CardanoSimulator, store: SQLiteEventStore) -> None:
    harness = Harness(store=store, url=sim.url, scripts=REAL)
    await harness.start()
    try:
        maker, taker = sim.accounts[0], sim.accounts[1]
        secret = secret_of(42)
        datum = dst_datum(sim, maker=maker, taker=taker, secret=secret)
        create = await asyncio.to_thread(lock, sim, taker, ESCROW, datum, 12_000_000)
        await submit(sim, create)
        await sim.advance()
        await harness.synced(sim)
        (created,) = harness.of_type(EscrowCreated)
        assert created.role is EscrowRole.DST and created.escrow == f"{create.id}#0"
        assert created.immutables.hashlock == "0x" + datum.hashlock.hex()

        # Withdraw in the window: the validator checks the secret, the taker's signature,
        # the bounds, and the payment of the amount to the maker tagged with the escrow.
        lower = slot_at(sim, datum.withdrawal)
        await sim.advance(lower - sim.current_slot)
        (escrow,) = await asyncio.to_thread(utxos_at, sim, ESCROW)
        payout = TransactionOutput(Address.from_primitive(maker.address),
                                   Value(datum.amount), datum=tag(created.escrow))
        withdraw = await asyncio.to_thread(
            spend, sim, taker, escrow, ESCROW, Withdraw(secret), outputs=[payout],
            required=[key_hash(taker.signing_key)], lower=lower, upper=lower + 60)
        await submit(sim, withdraw)
        block = await sim.advance()
        assert block.transactions[0].executions, "the escrow validator ran"
        await harness.synced(sim)

        (withdrawn,) = harness.of_type(EscrowWithdrawn)
        assert withdrawn.secret == "0x" + secret.hex()
        state = harness.escrows.get("cardano", created.escrow)
        assert state is not None and state.phase is EscrowPhase.WITHDRAWN
    finally:
        await harness.stop()


async def test_forged_source_escrow_is_ignored(sim: CardanoSimulator,
                                               store: SQLiteEventStore) -> None:
    """A source-escrow datum paid to the escrow script without a Fill is not an escrow."""
    harness = Harness(store=store, url=sim.url, scripts=REAL)
    await harness.start()
    try:
        wire = submission("ada_to_eth")
        signed = make_validator().accept(wire, now=wire.order.auction.start_time)
        order = expected_datum(signed, ChainRegistry.from_settings(make_settings().chains))
        forged = order.src_escrow(taker=plutus_address(sim.accounts[1]),
                                  amount=order.making_amount, hashlock=order.hashlock,
                                  dst_amount=10**30, deployed_at_ms=0)
        await submit(sim, await asyncio.to_thread(lock, sim, sim.accounts[1], ESCROW, forged,
                                                  order.making_amount + 2_000_000))
        await sim.advance()
        await harness.synced(sim)
        assert harness.of_type(EscrowCreated) == []
        assert harness.monitor is not None and harness.monitor.ignored_outputs == 1
    finally:
        await harness.stop()


async def test_cardano_source_order_filled_into_a_source_escrow_and_withdrawn(
        sim: CardanoSimulator, tmp_path: Path) -> None:
    resolver = sim.accounts[1]
    await submit(sim, await asyncio.to_thread(pay, sim, sim.accounts[0], MAKER.address,
                                              500_000_000))
    await sim.advance()
    now = sim.genesis.slot_to_posix_ms(sim.current_slot) // 1000
    settings = make_settings(data_dir=str(tmp_path), **{
        "chains.cardano.follow": True, "chains.cardano.ogmios_url": sim.url})
    secrets = make_secrets(1)
    wire = submission("ada_to_eth", now=now, secrets=secrets)
    signed = make_validator(settings).accept(wire, now=now)
    datum = expected_datum(signed, ChainRegistry.from_settings(settings.chains))

    # The maker locks the making amount at the order script with the order's terms.
    locked_tx = await asyncio.to_thread(lock, sim, MAKER, ORDER, datum, datum.making_amount)
    await submit(sim, locked_tx)
    await sim.advance()
    lock_ref = f"{locked_tx.id}#0"

    app = create_app(settings, clock=FakeClock(now), run_scheduler=False)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://relayer") as client:
            body = msgspec.structs.replace(wire, src_order_utxo=UtxoRefWire(
                tx_id=str(locked_tx.id), index=0))
            response = await client.post("/api/orders", content=to_json(body),
                                          headers={"content-type": "application/json"})
            assert response.status_code == 201, response.text
        monitor = app.state.parts.cardano.monitor
        spent: list[OrderLockSpent] = []
        app.state.relayer.bus.subscribe(OrderLockSpent, spent.append)

        # 30 s into the auction a resolver fills the whole order, promising exactly the
        # curve's amount at the fill's lower validity bound.
        await sim.advance(30)
        lower = sim.current_slot
        lower_ms = sim.genesis.slot_to_posix_ms(lower)
        dst_amount = taking_amount(datum.taking_amount, datum.auction, lower_ms // 1000)
        escrow_datum = datum.src_escrow(
            taker=PlutusAddress.from_address(Address.from_primitive(resolver.address)),
            amount=datum.making_amount, hashlock=datum.hashlock, dst_amount=dst_amount,
            deployed_at_ms=lower_ms)
        (order_utxo,) = [u for u in await asyncio.to_thread(utxos_at, sim, ORDER)
                         if f"{u.input.transaction_id}#{u.input.index}" == lock_ref]
        escrow_out = TransactionOutput(
            escrow_address(), Value(datum.making_amount + datum.src_safety_deposit),
            datum=to_plutus_data(escrow_datum))
        fill = await asyncio.to_thread(
            spend, sim, resolver, order_utxo, ORDER, Fill(escrow_output=0),
            outputs=[escrow_out], required=[key_hash(resolver.signing_key)],
            lower=lower, upper=lower + 100)
        await submit(sim, fill)
        await sim.advance()

        escrow_ref = f"{fill.id}#0"
        escrows = app.state.relayer.escrows

        def escrow_seen() -> bool:
            return escrows.get("cardano", escrow_ref) is not None

        await wait_for(escrow_seen, "the source escrow")
        state = escrows.get("cardano", escrow_ref)
        assert state.role is EscrowRole.SRC and state.order_hash == signed.order_hash
        terms = state.immutables
        assert terms.maker == MAKER.address and terms.taker == resolver.address
        assert (terms.amount, terms.safety_deposit) == (datum.making_amount,
                                                        datum.src_safety_deposit)
        offsets, deployed_at = Timelocks.unpack(terms.timelocks)
        assert deployed_at == lower_ms // 1000
        order_offsets = signed.order.timelocks
        assert offsets.offsets()[:4] == order_offsets.offsets()[:4]
        complement = state.complement
        assert complement is not None
        assert complement.amount == dst_amount and complement.maker == signed.order.receiver
        assert complement.safety_deposit == signed.order.dst_safety_deposit
        assert complement.chain_id == settings.chains.ethereum.chain_id
        assert [(s.lock, s.spend) for s in spent] == [(lock_ref, LockSpend.FILL)]

        # The resolver withdraws with the maker's secret after SrcWithdrawal.
        withdraw_from = slot_at(sim, escrow_datum.withdrawal)
        await sim.advance(withdraw_from - sim.current_slot)
        (escrow_utxo,) = await asyncio.to_thread(utxos_at, sim, ESCROW)
        payout = TransactionOutput(Address.from_primitive(resolver.address),
                                   Value(datum.making_amount), datum=tag(escrow_ref))
        withdraw = await asyncio.to_thread(
            spend, sim, resolver, escrow_utxo, ESCROW, Withdraw(secrets.secrets[0]),
            outputs=[payout], required=[key_hash(resolver.signing_key)],
            lower=withdraw_from, upper=withdraw_from + 60)
        await submit(sim, withdraw)
        await sim.advance()

        def withdrawn() -> bool:
            current = escrows.get("cardano", escrow_ref)
            return current is not None and current.phase is EscrowPhase.WITHDRAWN

        await wait_for(withdrawn, "the withdrawal")
        assert escrows.get("cardano", escrow_ref).secret == "0x" + secrets.secrets[0].hex()
        withdrawals = [e for e in monitor.live_events() if isinstance(e, EscrowWithdrawn)]
        assert [w.escrow for w in withdrawals] == [escrow_ref]


async def _refused(sim: CardanoSimulator, tx: Any) -> int:
    """Submit ``tx`` (declared valid, its scripts failing): the ledger refuses it."""
    try:
        await submit(sim, tx)
    except OgmiosError as exc:
        return exc.code
    raise AssertionError("the ledger accepted the transaction")


async def test_the_ledger_refuses_wrong_secret_early_cancel_late_withdraw_and_a_cheap_fill(
        sim: CardanoSimulator, store: SQLiteEventStore) -> None:
    harness = Harness(store=store, url=sim.url, scripts=REAL)
    await harness.start()
    try:
        maker, taker = sim.accounts[0], sim.accounts[1]
        secret = secret_of(77)
        datum = dst_datum(sim, maker=maker, taker=taker, secret=secret)
        create = await asyncio.to_thread(lock, sim, taker, ESCROW, datum, 12_000_000, copies=2)
        await submit(sim, create)
        await sim.advance()
        escrows = {f"{u.input.transaction_id}#{u.input.index}": u
                   for u in await asyncio.to_thread(utxos_at, sim, ESCROW)}
        refused, control = f"{create.id}#0", f"{create.id}#1"
        signer = [key_hash(taker.signing_key)]

        async def attempt(ref: str, redeemer: Any, to: GenesisAccount, lower: int,
                          upper: int) -> Any:
            payout = TransactionOutput(Address.from_primitive(to.address), Value(datum.amount),
                                       datum=tag(ref))
            return await asyncio.to_thread(spend, sim, taker, escrows[ref], ESCROW, redeemer,
                                           outputs=[payout], required=signer, lower=lower,
                                           upper=upper, ex_units=BUDGET)

        window = slot_at(sim, datum.withdrawal)
        await sim.advance(window - sim.current_slot)
        wrong = await attempt(refused, Withdraw(secret_of(78)), maker, window, window + 60)
        assert await _refused(sim, wrong) == 3136
        early = await attempt(refused, Cancel(), taker, window, window + 60)
        assert await _refused(sim, early) == 3136
        # The control: the same transaction shape with the right secret, in the window.
        await submit(sim, await attempt(control, Withdraw(secret), maker, window, window + 60))
        await sim.advance()
        late = slot_at(sim, datum.cancellation)
        await sim.advance(late - sim.current_slot)
        too_late = await attempt(refused, Withdraw(secret), maker, late, late + 60)
        assert await _refused(sim, too_late) == 3136
        await sim.advance()
        await harness.synced(sim)
        assert [w.escrow for w in harness.of_type(EscrowWithdrawn)] == [control]
        state = harness.escrows.get("cardano", refused)
        assert state is not None and state.phase is EscrowPhase.OPEN
    finally:
        await harness.stop()


FILL_BUDGET = ExecutionUnits(3_000_000, 1_500_000_000)


async def test_a_fill_below_the_curve_is_refused(sim: CardanoSimulator) -> None:
    resolver = sim.accounts[1]
    await submit(sim, await asyncio.to_thread(pay, sim, sim.accounts[0], MAKER.address,
                                              500_000_000))
    await sim.advance()
    now = sim.genesis.slot_to_posix_ms(sim.current_slot) // 1000
    wire = submission("ada_to_eth", now=now)
    signed = make_validator().accept(wire, now=now)
    datum = expected_datum(signed, ChainRegistry.from_settings(make_settings().chains))
    locked_tx = await asyncio.to_thread(lock, sim, MAKER, ORDER, datum, datum.making_amount)
    await submit(sim, locked_tx)
    await sim.advance(30)
    lower = sim.current_slot
    lower_ms = sim.genesis.slot_to_posix_ms(lower)
    curve = taking_amount(datum.taking_amount, datum.auction, lower_ms // 1000)
    (order_utxo,) = [u for u in await asyncio.to_thread(utxos_at, sim, ORDER)
                     if str(u.input.transaction_id) == str(locked_tx.id)]

    async def fill(dst_amount: int, *, declared_budget: bool) -> Any:
        escrow_datum = datum.src_escrow(
            taker=PlutusAddress.from_address(Address.from_primitive(resolver.address)),
            amount=datum.making_amount, hashlock=datum.hashlock, dst_amount=dst_amount,
            deployed_at_ms=lower_ms)
        out = TransactionOutput(escrow_address(),
                                Value(datum.making_amount + datum.src_safety_deposit),
                                datum=to_plutus_data(escrow_datum))
        return await asyncio.to_thread(
            spend, sim, resolver, order_utxo, ORDER, Fill(escrow_output=0), outputs=[out],
            required=[key_hash(resolver.signing_key)], lower=lower, upper=lower + 100,
            ex_units=FILL_BUDGET if declared_budget else None)

    # The undercut cannot be priced by the builder (its script fails), so both fills
    # declare the same budget, ample for a fill (~1.2M memory, docs/cardano-contracts.md):
    # the only difference between the refused and the accepted one is one unit of price.
    assert await _refused(sim, await fill(curve - 1, declared_budget=True)) == 3136
    await submit(sim, await fill(curve, declared_budget=True))  # the curve's price passes
    block = await sim.advance()
    assert block.transactions and block.transactions[0].executions
