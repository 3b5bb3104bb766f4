"""The Cardano wallet after a lost answer, against the simulator (which refuses a copy
of a transaction it holds, as a node does) through a relay that loses answers.

The wallet submits the same bytes again; the node's 3117 for that copy is checked
against its mempool and the blocks since the wallet started following: the same
transaction there is success, found where it is. A different transaction that spent
the inputs is a real refusal. And when the wallet gives up without learning the fate
of a transaction, trying the same action again finds that transaction before building
a second one. Nobody forges blocks here but the tests themselves."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
from pycardano import Network, Transaction

from devnet.cardano import CardanoSimulator, GenesisConfig
from relayer.signing.keccak import keccak256
from resolver.cardano import CardanoWallet
from resolver.chains import DstTerms
from resolver.errors import TX_NOT_INCLUDED, TX_REJECTED, WalletError
from tests.devnet.cardano.txs import build_payment
from tests.factories import CARDANO_OTHER_KEY, cardano_address
from tests.integration.cardano.chain import wait_for
from tests.resolver.cardano_kit import ADA, SEED, TIMELOCKS, VALIDATORS, mine, wallet
from tests.resolver.ogmios_proxy import OgmiosProxy

pytestmark = [
    pytest.mark.integration,
    pytest.mark.filterwarnings(
        "ignore:connect\\(\\) must be used as a context manager:DeprecationWarning"),
]

RECEIVER = cardano_address(CARDANO_OTHER_KEY)


@dataclass
class Node:
    sim: CardanoSimulator
    proxy: OgmiosProxy

    def wallet(self, account: int, *, inclusion_timeout: float = 30.0) -> CardanoWallet:
        return wallet(self.sim, self.sim.accounts[account].signing_key, url=self.proxy.url,
                      inclusion_timeout=inclusion_timeout)

    def mempool(self) -> list[str]:
        return [v.tx.id_hex for v in self.sim.chain.mempool]

    def on_chain(self, tx_id: str) -> int:
        """How many blocks hold ``tx_id``."""
        return sum(v.tx.id_hex == tx_id for b in self.sim.chain.blocks for v in b.transactions)


@pytest.fixture
async def node() -> AsyncIterator[Node]:
    async with CardanoSimulator(GenesisConfig(seed=SEED)) as sim, \
            OgmiosProxy(sim.url) as proxy:
        yield Node(sim, proxy)


def _tx_id(cbor_hex: str) -> str:
    return str(Transaction.from_cbor(bytes.fromhex(cbor_hex)).id)


async def test_a_lost_answer_is_resubmitted_and_the_copy_in_the_mempool_counts(
        node: Node) -> None:
    payer = node.wallet(0)
    node.proxy.lose_submit_answers = 1
    paying = asyncio.create_task(payer.pay(RECEIVER, 5 * ADA))
    await wait_for(lambda: len(node.proxy.submitted) == 2, "the copy after the lost answer")
    first, copy = node.proxy.submitted
    assert copy == first  # the very same bytes, not a new transaction
    tx_id = _tx_id(first)
    assert node.proxy.lost[0]["result"] == {"transaction": {"id": tx_id}}
    # The node refused the copy (3117); the wallet found the first one in the mempool
    # and waits for its block.
    await wait_for(lambda: node.mempool() == [tx_id], "the transaction in the mempool")
    assert not paying.done()
    block = await node.sim.advance()
    sent = await paying
    assert sent.tx_id == tx_id and node.on_chain(tx_id) == 1
    assert sent.block_time == node.sim.genesis.slot_to_posix_ms(block.slot) // 1000
    assert await payer.balance("lovelace", RECEIVER) == 5 * ADA


async def test_a_lost_answer_for_a_transaction_already_in_a_block_counts(node: Node) -> None:
    payer = node.wallet(0)
    forged = []

    async def forge() -> None:  # between the node's answer and the wallet's copy
        forged.append(await node.sim.advance())

    node.proxy.lose_submit_answers, node.proxy.on_lost = 1, forge
    before = await payer.balance("lovelace")
    sent = await payer.pay(RECEIVER, 5 * ADA)
    (block,) = forged
    assert [v.tx.id_hex for v in block.transactions] == [sent.tx_id]
    assert sent.block_time == node.sim.genesis.slot_to_posix_ms(block.slot) // 1000
    assert len(node.proxy.submitted) == 2 and not node.mempool()
    assert await payer.balance("lovelace") == before - 5 * ADA - sent.fee


async def test_another_transaction_spending_the_inputs_is_a_real_refusal(node: Node) -> None:
    """The same 3117, but the transaction that spent the inputs is not this one."""
    account = node.sim.accounts[0]
    rival = await asyncio.to_thread(build_payment, node.sim, account, RECEIVER, 3 * ADA)
    await node.sim.submit(rival.to_cbor())
    payer = node.wallet(0)
    with pytest.raises(WalletError) as refused:
        await payer.pay(RECEIVER, 5 * ADA)  # built on the same output: the rival spends it
    assert refused.value.code == TX_REJECTED
    assert refused.value.details["ogmios_code"] == 3117
    assert refused.value.details["stage"] == "submit"
    assert node.mempool() == [str(rival.id)]
    # Also after a lost answer: the copy is refused, and still not found anywhere.
    node.proxy.swallow_submits = 1
    with pytest.raises(WalletError) as again:
        await payer.pay(RECEIVER, 5 * ADA)
    assert again.value.details["ogmios_code"] == 3117
    assert len(node.proxy.submitted) == 3 and node.mempool() == [str(rival.id)]


def _terms(secret: bytes) -> DstTerms:
    return DstTerms(order_hash=b"\x11" * 32, hashlock=keccak256(secret), maker=RECEIVER,
                    token="lovelace", amount=10 * ADA, safety_deposit=2 * ADA,
                    timelocks=TIMELOCKS, src_cancellation=0)


async def _give_up_unanswered(node: Node, resolver: CardanoWallet, terms: DstTerms,
                              *, reached_node: bool) -> str:
    """``resolver.create_dst`` loses its answer (or its request) and the node stays out
    of reach until the wallet gives up; the transaction id it had sent."""
    if reached_node:
        node.proxy.lose_submit_answers = 1
    else:
        node.proxy.swallow_submits = 1

    async def unreachable() -> None:
        node.proxy.down = True

    node.proxy.on_lost = unreachable
    creating = asyncio.create_task(resolver.create_dst(terms))
    await wait_for(lambda: len(node.proxy.submitted) == 1, "the first submission")
    node.proxy.down = True
    with pytest.raises(WalletError) as unknown:
        await creating
    assert unknown.value.code == TX_NOT_INCLUDED
    node.proxy.down, node.proxy.on_lost = False, None
    return _tx_id(node.proxy.submitted[0])


async def test_trying_an_action_again_finds_its_unanswered_transaction(node: Node) -> None:
    """The resolver retries ``create_dst`` after the wallet gave up: the escrow the first
    try created is the answer, not a second escrow locking the resolver's funds again."""
    resolver = node.wallet(1, inclusion_timeout=1.5)
    terms = _terms(b"\x21" * 32)
    before = await resolver.balance("lovelace")
    tx_id = await _give_up_unanswered(node, resolver, terms, reached_node=True)
    assert node.mempool() == [tx_id]
    await node.sim.advance()  # it lands while nobody listens

    handle = await resolver.create_dst(terms)
    assert handle.created.tx_id == tx_id and handle.escrow == f"{tx_id}#0"
    assert [_tx_id(c) for c in node.proxy.submitted] == [tx_id, tx_id]
    escrows = str(VALIDATORS.escrow.address(Network.TESTNET))
    assert await resolver.balance("lovelace", escrows) == terms.amount + terms.safety_deposit
    assert await resolver.balance("lovelace") == (
        before - terms.amount - terms.safety_deposit - handle.created.fee)
    assert handle.immutables.amount == terms.amount
    assert node.on_chain(tx_id) == 1


async def test_an_unanswered_transaction_that_can_never_land_is_built_anew(
        node: Node) -> None:
    """The first try never reached the node, and its validity interval is over: the
    copy is refused and held nowhere, so the retry builds a new transaction."""
    resolver = node.wallet(1, inclusion_timeout=1.5)
    terms = _terms(b"\x22" * 32)
    lost = await _give_up_unanswered(node, resolver, terms, reached_node=False)
    assert not node.mempool()
    await node.sim.advance(500)  # past its upper bound (120 slots)

    miner = asyncio.create_task(mine(node.sim))
    try:
        handle = await resolver.create_dst(terms)
    finally:
        miner.cancel()
    assert handle.created.tx_id != lost
    assert [_tx_id(c) for c in node.proxy.submitted] == [lost, lost, handle.created.tx_id]
    escrows = str(VALIDATORS.escrow.address(Network.TESTNET))
    assert await resolver.balance("lovelace", escrows) == terms.amount + terms.safety_deposit
