"""Reorgs on anvil: events of removed blocks are reverted, re-mined escrows come back once."""

from __future__ import annotations

from typing import Any

import pytest

from devnet.ethereum import EthereumDevnet
from relayer.chains.escrows import EscrowPhase
from relayer.chains.events import ChainEventReverted, EscrowCreated, EscrowWithdrawn
from relayer.orders.timelocks import Stage
from relayer.store.sqlite import SQLiteEventStore
from tests.contracts.evm.chain import TIMELOCKS, Chain, SignedOrder
from tests.integration.ethereum.harness import Harness, eventually


def order_hash(signed: SignedOrder) -> str:
    return "0x" + signed.order_hash.hex()


def fund_and_sign(chain: Chain) -> SignedOrder:
    signed = chain.make_order()
    chain.approve(chain.maker.address, signed.order.making_amount)
    chain.devnet.request("anvil_mine", hex(4))  # the approval stays below any reorg here
    return signed


def raw_transaction(chain: Chain, receipt: Any) -> str:
    return str(chain.devnet.request("eth_getRawTransactionByHash",
                                    "0x" + receipt["transactionHash"].hex()))


@pytest.mark.parametrize("depth", [1, 2, 3])
async def test_reorg_drops_an_escrow_creation_and_re_mining_restores_it_once(
        chain: Chain, harness: Harness, depth: int) -> None:
    signed = fund_and_sign(chain)
    receipt, _, _ = chain.create_src(signed)
    raw = raw_transaction(chain, receipt)
    if depth > 1:
        chain.devnet.request("anvil_mine", hex(depth - 1))
    await harness.catch_up()
    (created,) = await harness.stored()
    assert isinstance(created, EscrowCreated)
    assert harness.book.get("ethereum", created.escrow) is not None

    chain.devnet.request("anvil_reorg", depth, [])
    await harness.catch_up()
    events = await harness.stored()
    assert events[1:] == [ChainEventReverted(event_type="EscrowCreated",
                                             escrow=created.escrow, point=created.point)]
    assert harness.book.get("ethereum", created.escrow) is None
    assert harness.book.by_order(order_hash(signed)) == []
    assert harness.monitor.status().reorgs == 1
    assert harness.published == events

    chain.devnet.request("eth_sendRawTransaction", raw)
    chain.devnet.request("evm_mine")
    await harness.catch_up()
    await harness.catch_up()
    events = await harness.stored()
    assert len(events) == 3
    again = events[2]
    assert isinstance(again, EscrowCreated) and again.point.block_id != created.point.block_id
    assert again.immutables.order_hash == created.immutables.order_hash
    (state,) = harness.book.by_order(order_hash(signed))
    assert state.created == again.point and state.phase is EscrowPhase.OPEN

    # A restarted monitor rebuilds the same projection from the log: still exactly one.
    restarted = await harness.restarted()
    await restarted.start()
    await restarted.stop()
    (state,) = harness.book.by_order(order_hash(signed))
    assert state.created == again.point


async def test_reorg_reverts_a_withdrawal_and_the_creation_beneath_it(
        chain: Chain, harness: Harness) -> None:
    signed = fund_and_sign(chain)
    receipt, src, _ = chain.create_src(signed)
    deployed_at = chain.w3.eth.get_block(receipt["blockNumber"])["timestamp"]
    escrow = chain.src_address(src)
    chain.send(chain.escrow_src(escrow), "withdraw", signed.secrets.secrets[0], src,
               sender=chain.resolver.address,
               at=TIMELOCKS.at(Stage.SRC_WITHDRAWAL, deployed_at))
    await harness.catch_up()
    created, withdrawn = await harness.stored()
    assert isinstance(withdrawn, EscrowWithdrawn)

    chain.devnet.request("anvil_reorg", 2, [])
    await harness.catch_up()
    events = await harness.stored()
    # Newest first: the withdrawal, then the creation.
    assert [(e.event_type, e.point) for e in events[2:]
            if isinstance(e, ChainEventReverted)] == [
        ("EscrowWithdrawn", withdrawn.point), ("EscrowCreated", created.point)]
    assert len(events) == 4 and len(harness.book) == 0


async def test_a_shorter_chain_rolls_the_cursor_back(chain: Chain, harness: Harness) -> None:
    signed = fund_and_sign(chain)
    receipt, _, _ = chain.create_src(signed)
    chain.devnet.request("anvil_mine", hex(2))
    await harness.catch_up()
    cursor = harness.monitor.cursor
    assert cursor is not None and cursor.block == receipt["blockNumber"] + 2

    chain.devnet.request("anvil_rollback", 3)  # three blocks gone, nothing replaces them yet
    await harness.catch_up()
    (created, reverted) = await harness.stored()
    assert isinstance(reverted, ChainEventReverted) and reverted.point == created.point
    cursor = harness.monitor.cursor
    assert cursor is not None and cursor.block == receipt["blockNumber"] - 1
    chain.devnet.request("anvil_mine", hex(5))
    await harness.catch_up()
    cursor = harness.monitor.cursor
    assert cursor is not None and cursor.block == harness.monitor.head
    assert len(await harness.stored()) == 2


async def test_a_reorg_deeper_than_the_window_stalls_the_monitor(
        devnet: EthereumDevnet, chain: Chain, store: SQLiteEventStore) -> None:
    harness = Harness(store, [devnet.rpc_url], reorg_window=3)
    try:
        chain.devnet.request("anvil_mine", hex(10))
        await harness.catch_up()
        chain.devnet.request("anvil_reorg", 5, [])
        await harness.monitor.start()
        await eventually(lambda: bool(harness.monitor.status().detail), what="stall")
        status = harness.monitor.status()
        assert not status.connected and not status.healthy
        assert "reorg deeper than" in status.detail
    finally:
        await harness.close()
