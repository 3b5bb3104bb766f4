"""What the Cardano wallet tests share: the committed validators, wallets on the
simulator, a maker's locked order, moving the manual clock, reading escrow stages."""

from __future__ import annotations

import asyncio
import dataclasses

import msgspec
from pycardano import PaymentSigningKey

from devnet.cardano import CardanoSimulator
from relayer.auction import taking_amount
from relayer.chains.cardano.component import OrderComplements
from relayer.chains.cardano.decode import ScriptHashes
from relayer.chains.cardano.scripts import load_validators
from relayer.chains.events import EscrowCreated
from relayer.networks.registry import ChainRegistry
from relayer.orders.book import OrderBook
from relayer.orders.codec import submission_to_wire
from relayer.orders.events import OrderSubmitted
from relayer.orders.model import SignedOrder
from relayer.orders.signer import SecretSet, make_secrets
from relayer.orders.status import OrderStatus
from relayer.orders.timelocks import Stage, Timelocks
from resolver.cardano import CardanoWallet
from resolver.chains import EscrowHandle, FillPlan, LineageFill
from tests.factories import (
    CARDANO_MAKER_KEY,
    default_timelocks,
    make_settings,
    make_validator,
    submission,
)

SEED = bytes(range(32))
ADA = 1_000_000
VALIDATORS = load_validators()
SCRIPTS = ScriptHashes(escrow=frozenset({bytes(VALIDATORS.escrow.hash.payload)}),
                       order=frozenset({bytes(VALIDATORS.order.hash.payload)}))
SETTINGS = make_settings()
CHAINS = ChainRegistry.from_settings(SETTINGS.chains)
TIMELOCKS = Timelocks(**msgspec.structs.asdict(default_timelocks()))


async def mine(sim: CardanoSimulator) -> None:
    """Forge a block one slot later whenever a transaction waits."""
    while True:
        if sim.chain.mempool:
            await sim.advance()
        await asyncio.sleep(0.005)


def wallet(sim: CardanoSimulator, key: PaymentSigningKey, *, url: str | None = None,
           inclusion_timeout: float = 60.0) -> CardanoWallet:
    """A wallet of ``key`` on ``sim`` (or reaching it through ``url``)."""
    return CardanoWallet(ogmios_url=url or sim.url, signing_key=key, validators=VALIDATORS,
                         chains=CHAINS, inclusion_timeout=inclusion_timeout)


async def funded_maker(sim: CardanoSimulator) -> CardanoWallet:
    """The factories' Cardano maker, funded with 1,000 ADA by genesis account 0."""
    funded = wallet(sim, CARDANO_MAKER_KEY)
    await wallet(sim, sim.accounts[0].signing_key).pay(funded.address, 1_000 * ADA)
    return funded


def complements_for(*orders: SignedOrder) -> OrderComplements:
    """The relayer's own complements, from an order book holding ``orders``."""
    complements = OrderComplements(CHAINS)
    complements.book = OrderBook()
    for position, signed in enumerate(orders, start=1):
        complements.book.apply(OrderSubmitted(order_hash=signed.order_hash,
                                              submission=submission_to_wire(signed),
                                              status=OrderStatus.ACTIVE, submitted_at=0),
                               position)
    return complements


async def locked_order(sim: CardanoSimulator, maker: CardanoWallet, *,
                       parts: int = 1) -> tuple[SignedOrder, SecretSet]:
    """A signed ada->eth order whose auction starts now, locked by ``maker``."""
    now = await maker.chain_time()
    secrets = make_secrets(parts)
    wire = submission("ada_to_eth", now=now, parts=parts, secrets=secrets)
    signed = make_validator(SETTINGS).accept(wire, now=now)
    ref = await maker.lock_order(signed, CHAINS)
    return dataclasses.replace(signed, src_order_utxo=ref), secrets


async def advance_to(sim: CardanoSimulator, posix_seconds: int) -> None:
    """Forge a block at the first slot at or after ``posix_seconds``."""
    target = sim.genesis.slot_at(posix_seconds * 1000 + sim.genesis.slot_length_ms - 1)
    if target > sim.current_slot:
        await sim.advance(target - sim.current_slot)


def stage_time(handle: EscrowHandle, stage: Stage) -> int:
    offsets, deployed_at = Timelocks.unpack(handle.immutables.timelocks)
    return offsets.at(stage, deployed_at)


async def fill_whole(resolver: CardanoWallet, signed: SignedOrder) -> EscrowHandle:
    """Fill ``signed`` at the curve's price at the chain's time."""
    order = signed.order
    now = await resolver.chain_time()
    return await resolver.fill(FillPlan(
        order=signed, amount=order.making_amount,
        dst_amount=taking_amount(order.taking_amount, order.auction, now),
        secret_index=0, secret_hash=order.hashlock, proof=()))


def lineage_fill(handle: EscrowHandle) -> LineageFill:
    """A source escrow as the relayer lists an authentic fill of its order."""
    return LineageFill(tx_id=handle.created.tx_id, amount=handle.immutables.amount)


def assert_indexed(handle: EscrowHandle, created: EscrowCreated) -> None:
    assert created.escrow == handle.escrow and created.role is handle.role
    assert created.immutables == handle.immutables
    assert created.complement == handle.complement
    assert created.point.tx_id == handle.created.tx_id
    assert created.point.timestamp == handle.created.block_time
