"""The Ethereum chain wallet against anvil: fills, destination escrows, withdrawals and
cancellations, with handles equal to what the relayer's monitor indexes and native
balances that move by exactly the deposits and the fees the wallet reports."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from devnet.ethereum import DevAccount, EthereumDevnet, load_artifact
from relayer.chains.events import EscrowCreated, EscrowRole
from relayer.orders.merkle import merkle_proof, secret_index
from relayer.orders.model import SignedOrder
from relayer.orders.signer import SecretSet, make_secrets
from relayer.orders.timelocks import Stage, Timelocks
from relayer.orders.validation import OrderValidator
from relayer.signing.keccak import keccak256
from relayer.store.sqlite import SQLiteEventStore
from resolver import errors
from resolver.chains import DstTerms, EscrowHandle, FillPlan, Sent
from resolver.engine import paid_by
from resolver.errors import WalletError
from resolver.ethereum import NATIVE, EthereumWallet
from resolver.evm_tx import ErrorTable, EvmSender
from tests.factories import make_settings, make_validator, submission
from tests.integration.ethereum.harness import Harness

MAKING = 100_000_000  # 100 TUSD
TAKING = 190_000_000  # lovelace: the factories' eth_to_ada order
SRC_DEPOSIT = 10**15  # the factories' source safety deposit (wei)
DST_TIMELOCKS = Timelocks(src_withdrawal=12, src_public_withdrawal=120, src_cancellation=600,
                          src_public_cancellation=720, dst_withdrawal=10,
                          dst_public_withdrawal=100, dst_cancellation=500)


# ---------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def devnet() -> Iterator[EthereumDevnet]:
    with EthereumDevnet() as running:
        yield running


@pytest.fixture(autouse=True)
def fresh_chain(devnet: EthereumDevnet) -> Iterator[None]:
    """Each test starts from the deployed devnet: reverted when it ends."""
    snapshot = devnet.request("evm_snapshot")
    yield
    assert devnet.request("evm_revert", snapshot) is True


def open_wallet(devnet: EthereumDevnet, account: DevAccount) -> EthereumWallet:
    d = devnet.deployment
    return EthereumWallet(rpc_url=d.rpc_url, private_key=account.private_key,
                          factory=d.factory, chain_id=d.chain_id, poll_interval=0.02,
                          receipt_timeout=30.0)


@pytest.fixture
async def wallets(devnet: EthereumDevnet) -> AsyncIterator[dict[str, EthereumWallet]]:
    d = devnet.deployment
    opened = {"resolver": open_wallet(devnet, d.resolver), "maker": open_wallet(devnet, d.maker),
              "deployer": open_wallet(devnet, d.deployer),
              "other": open_wallet(devnet, d.accounts[3])}
    yield opened
    for wallet in opened.values():
        await wallet.close()


@pytest.fixture
def validator(devnet: EthereumDevnet) -> OrderValidator:
    settings = make_settings()
    # The devnet deploys deterministically where the default configuration expects it.
    assert settings.chains.ethereum.escrow_factory == devnet.deployment.factory
    assert settings.chains.ethereum.chain_id == devnet.deployment.chain_id
    return make_validator(settings)


@pytest.fixture
async def harness(devnet: EthereumDevnet, tmp_path: Path) -> AsyncIterator[Harness]:
    store = SQLiteEventStore(tmp_path / "events.db")
    await store.open()
    running = Harness(store, [devnet.rpc_url])
    yield running
    await running.close()
    await store.close()


# ---------------------------------------------------------------------- helpers


async def maker_order(wallets: dict[str, EthereumWallet], validator: OrderValidator, *,
                      parts: int = 1) -> tuple[SignedOrder, SecretSet]:
    """An eth_to_ada order signed by the devnet's maker (anvil account 1), the factory
    approved for its making amount."""
    now = await wallets["maker"].chain_time()
    secrets = make_secrets(parts)
    wire = submission("eth_to_ada", validator=validator, now=now, parts=parts,
                      secrets=secrets, salt=str(int.from_bytes(os.urandom(8), "big")))
    signed = validator.accept(wire, now=now)
    token = signed.order.maker_asset
    await wallets["maker"].approve(token, signed.order.making_amount)
    return signed, secrets


def single_fill(signed: SignedOrder) -> FillPlan:
    order = signed.order
    return FillPlan(order=signed, amount=order.making_amount, dst_amount=2 * TAKING,
                    secret_index=0, secret_hash=order.hashlock, proof=())


async def indexed(harness: Harness, handle: EscrowHandle) -> EscrowCreated:
    """What the relayer's monitor indexed for the escrow of ``handle``."""
    await harness.catch_up()
    found = [e for e in await harness.stored()
             if isinstance(e, EscrowCreated) and e.escrow == handle.escrow]
    assert len(found) == 1, found
    return found[0]


def assert_indexed_as(handle: EscrowHandle, event: EscrowCreated) -> None:
    assert (event.role, event.escrow, event.immutables, event.complement) == (
        handle.role, handle.escrow, handle.immutables, handle.complement)
    assert event.point.tx_id == handle.created.tx_id
    assert event.point.timestamp == handle.created.block_time
    assert Timelocks.unpack(handle.immutables.timelocks)[1] == handle.created.block_time


def set_next_block_time(devnet: EthereumDevnet, at: int) -> None:
    devnet.request("evm_setNextBlockTimestamp", at)


def dst_terms_for(devnet: EthereumDevnet, *, token: str, amount: int, secret: bytes,
                  now: int) -> DstTerms:
    """A destination escrow paying the devnet's maker on Ethereum (an ada_to_eth order)."""
    return DstTerms(order_hash=os.urandom(32), hashlock=keccak256(secret),
                    maker=devnet.deployment.maker.address, token=token, amount=amount,
                    safety_deposit=2 * 10**15, timelocks=DST_TIMELOCKS,
                    src_cancellation=now + 3600)


# ---------------------------------------------------------------------- fills


async def test_fill_creates_the_escrow_the_monitor_indexes(
        devnet: EthereumDevnet, wallets: dict[str, EthereumWallet], validator: OrderValidator,
        harness: Harness) -> None:
    resolver, maker = wallets["resolver"], wallets["maker"]
    signed, _ = await maker_order(wallets, validator)
    token = signed.order.maker_asset
    native_before = await resolver.balance(NATIVE)
    maker_tusd = await resolver.balance("TUSD", maker.address)

    handle = await resolver.fill(single_fill(signed))

    assert handle.chain == "ethereum" and handle.role is EscrowRole.SRC
    assert handle.immutables.order_hash == signed.order_hash
    assert handle.immutables.hashlock == "0x" + signed.order.hashlock.hex()
    assert (handle.immutables.maker, handle.immutables.taker) == (maker.address,
                                                                  resolver.address)
    assert handle.immutables.amount == MAKING
    assert handle.complement is not None and handle.complement.amount == 2 * TAKING
    assert_indexed_as(handle, await indexed(harness, handle))
    # The maker's tokens moved into the escrow; the resolver paid the deposit and the fee.
    assert await resolver.balance(token, handle.escrow) == MAKING
    assert await maker.balance(token) == maker_tusd - MAKING
    assert await resolver.balance(NATIVE, handle.escrow) == SRC_DEPOSIT
    assert handle.created.fee > 0
    assert await resolver.balance(NATIVE) == native_before - SRC_DEPOSIT - handle.created.fee


async def test_partial_fills_with_merkle_proofs(
        wallets: dict[str, EthereumWallet], validator: OrderValidator,
        harness: Harness) -> None:
    resolver = wallets["resolver"]
    signed, secrets = await maker_order(wallets, validator, parts=4)
    handles = []
    filled = 0
    for amount in (30_000_000, 70_000_000):
        index = secret_index(filled, amount, MAKING, 4)
        plan = FillPlan(order=signed, amount=amount, dst_amount=2 * TAKING * amount // MAKING,
                        secret_index=index, secret_hash=secrets.hashes[index],
                        proof=tuple(merkle_proof(secrets.hashes, index)))
        handles.append(await resolver.fill(plan))
        filled += amount

    first, last = handles
    assert first.immutables.hashlock == "0x" + secrets.hashes[1].hex()  # 30 % of 4 parts
    assert last.immutables.hashlock == "0x" + secrets.hashes[4].hex()  # the completing fill
    assert [h.immutables.amount for h in handles] == [30_000_000, 70_000_000]
    assert first.escrow != last.escrow
    for handle in handles:
        assert_indexed_as(handle, await indexed(harness, handle))
        assert await resolver.balance("TUSD", handle.escrow) == handle.immutables.amount


# ---------------------------------------------------------------------- destination escrows


@pytest.mark.parametrize("asset", ["TUSD", NATIVE])
async def test_destination_escrow_withdrawn_with_the_secret(
        devnet: EthereumDevnet, wallets: dict[str, EthereumWallet], harness: Harness,
        asset: str) -> None:
    resolver, maker = wallets["resolver"], wallets["maker"]
    secret = os.urandom(32)
    amount = 50_000_000 if asset == "TUSD" else 3 * 10**16
    terms = dst_terms_for(devnet, token=devnet.deployment.token if asset == "TUSD" else NATIVE,
                          amount=amount, secret=secret, now=await resolver.chain_time())
    locked_before = await resolver.balance(asset)

    handle = await resolver.create_dst(terms)

    deployed_at = handle.created.block_time
    assert handle.role is EscrowRole.DST and handle.complement is None
    assert handle.immutables.timelocks == DST_TIMELOCKS.pack(deployed_at=deployed_at)
    assert (handle.immutables.maker, handle.immutables.taker) == (maker.address,
                                                                  resolver.address)
    assert_indexed_as(handle, await indexed(harness, handle))
    assert await resolver.balance(asset, handle.escrow) == amount + (
        terms.safety_deposit if asset == NATIVE else 0)
    if asset == "TUSD":
        assert await resolver.balance(asset) == locked_before - amount

    # Before the window: the contract's TooEarly, and nothing sent.
    with pytest.raises(WalletError) as early:
        await resolver.withdraw(handle, secret)
    assert early.value.code == errors.WINDOW_NOT_OPEN
    assert early.value.details["error"] == "TooEarly"

    set_next_block_time(devnet, DST_TIMELOCKS.at(Stage.DST_WITHDRAWAL, deployed_at))
    maker_before = await maker.balance(asset)
    native_before = await resolver.balance(NATIVE)
    sent = await resolver.withdraw(handle, secret)

    assert sent.block_time == DST_TIMELOCKS.at(Stage.DST_WITHDRAWAL, deployed_at)
    assert await maker.balance(asset) == maker_before + amount
    assert await resolver.balance(NATIVE) == native_before + terms.safety_deposit - sent.fee
    assert await resolver.balance(NATIVE, handle.escrow) == 0


async def test_destination_escrow_cancelled_by_its_taker(
        devnet: EthereumDevnet, wallets: dict[str, EthereumWallet]) -> None:
    resolver = wallets["resolver"]
    terms = dst_terms_for(devnet, token="TUSD", amount=40_000_000, secret=os.urandom(32),
                          now=await resolver.chain_time())
    tusd_before = await resolver.balance("TUSD")
    handle = await resolver.create_dst(terms)
    assert await resolver.balance("TUSD") == tusd_before - 40_000_000

    with pytest.raises(WalletError) as public:
        await wallets["other"].cancel(handle, public=True)
    assert public.value.code == errors.NOT_ALLOWED
    set_next_block_time(devnet, DST_TIMELOCKS.at(Stage.DST_CANCELLATION,
                                                 handle.created.block_time))
    native_before = await resolver.balance(NATIVE)
    sent = await resolver.cancel(handle)

    assert await resolver.balance("TUSD") == tusd_before
    assert await resolver.balance(NATIVE) == native_before + terms.safety_deposit - sent.fee


async def test_destination_escrow_refused_past_the_source_cancellation(
        devnet: EthereumDevnet, wallets: dict[str, EthereumWallet]) -> None:
    resolver = wallets["resolver"]
    now = await resolver.chain_time()
    terms = replace(dst_terms_for(devnet, token=NATIVE, amount=10**16, secret=os.urandom(32),
                                  now=now), src_cancellation=now + 100)
    with pytest.raises(WalletError) as refused:
        await resolver.create_dst(terms)
    assert refused.value.details["error"] == "DstCancellationTooLate"
    assert "DstCancellationTooLate" in refused.value.message


# ---------------------------------------------------------------------- source escrows


async def test_source_escrow_withdrawn_then_public_cancel_by_another_wallet(
        devnet: EthereumDevnet, wallets: dict[str, EthereumWallet],
        validator: OrderValidator) -> None:
    resolver, maker, other = wallets["resolver"], wallets["maker"], wallets["other"]
    signed, secrets = await maker_order(wallets, validator)
    timelocks = signed.order.timelocks
    handle = await resolver.fill(single_fill(signed))
    deployed_at = handle.created.block_time
    maker_tusd = await maker.balance("TUSD")

    # Not the taker's and not yet public: the contract names why.
    with pytest.raises(WalletError) as not_taker:
        await other.cancel(handle)
    assert not_taker.value.details["error"] == "InvalidCaller"
    set_next_block_time(devnet, timelocks.at(Stage.SRC_CANCELLATION, deployed_at))
    with pytest.raises(WalletError) as early:
        await other.cancel(handle, public=True)
    assert early.value.code == errors.WINDOW_NOT_OPEN

    set_next_block_time(devnet, timelocks.at(Stage.SRC_PUBLIC_CANCELLATION, deployed_at))
    native_before = await other.balance(NATIVE)
    sent = await other.cancel(handle, public=True)

    assert sent.block_time == timelocks.at(Stage.SRC_PUBLIC_CANCELLATION, deployed_at)
    assert await maker.balance("TUSD") == maker_tusd + MAKING
    assert await other.balance(NATIVE) == native_before + SRC_DEPOSIT - sent.fee
    # Cancelled: the secret opens nothing any more.
    with pytest.raises(WalletError):
        await resolver.withdraw(handle, secrets.secrets[0])


async def test_source_escrow_withdrawn_by_its_taker(
        devnet: EthereumDevnet, wallets: dict[str, EthereumWallet],
        validator: OrderValidator) -> None:
    resolver = wallets["resolver"]
    signed, secrets = await maker_order(wallets, validator)
    handle = await resolver.fill(single_fill(signed))
    set_next_block_time(devnet, signed.order.timelocks.at(Stage.SRC_WITHDRAWAL,
                                                          handle.created.block_time))
    tusd_before = await resolver.balance("TUSD")
    native_before = await resolver.balance(NATIVE)

    with pytest.raises(WalletError) as wrong:
        await resolver.withdraw(handle, os.urandom(32))
    assert wrong.value.code == errors.TX_REJECTED
    assert wrong.value.details["error"] == "InvalidSecret"
    assert "InvalidSecret" in wrong.value.message
    assert await resolver.balance(NATIVE) == native_before  # refused before sending
    sent = await resolver.withdraw(handle, secrets.secrets[0])

    assert await resolver.balance("TUSD") == tusd_before + MAKING
    assert await resolver.balance(NATIVE) == native_before + SRC_DEPOSIT - sent.fee


# ---------------------------------------------------------------------- transactions


async def test_a_mined_revert_is_named_and_paid_for(
        devnet: EthereumDevnet, wallets: dict[str, EthereumWallet],
        validator: OrderValidator) -> None:
    """Sent without an estimate (as when the chain moved between estimate and block), a
    reverting transaction is mined; the wallet error names the contract's error."""
    signed, _ = await maker_order(wallets, validator)
    handle = await wallets["resolver"].fill(single_fill(signed))
    d = devnet.deployment
    abis = [load_artifact(name)["abi"] for name in ("EscrowSrc", "EscrowFactory")]
    sender = EvmSender(rpc_url=d.rpc_url, private_key=d.resolver.private_key,
                       chain_id=d.chain_id, error_table=ErrorTable(abis), poll_interval=0.02)
    try:
        i = handle.immutables
        data = sender.w3.eth.contract(abi=abis[0]).encode_abi("withdraw", [os.urandom(32), (
            bytes.fromhex(i.order_hash[2:]), bytes.fromhex(i.hashlock[2:]), int(i.maker, 16),
            int(i.taker, 16), int(i.token, 16), i.amount, i.safety_deposit, i.timelocks)])
        native_before = await wallets["resolver"].balance(NATIVE)
        with pytest.raises(WalletError) as reverted:
            await sender.send(handle.escrow, bytes.fromhex(data[2:]), gas=200_000)
        tx_id = reverted.value.details["tx_id"]
        receipt = devnet.request("eth_getTransactionReceipt", tx_id)
    finally:
        await sender.close()
    assert receipt["status"] == "0x0"
    assert reverted.value.details["error"] == "TooEarly"  # before SrcWithdrawal, any secret
    assert reverted.value.details["sent"] is True
    fee = int(receipt["gasUsed"], 16) * int(receipt["effectiveGasPrice"], 16)
    assert await wallets["resolver"].balance(NATIVE) == native_before - fee
    # What it paid is in the error, for the resolver's accounting (``paid_by``).
    block = devnet.request("eth_getBlockByNumber", receipt["blockNumber"], False)
    assert paid_by(reverted.value) == Sent(tx_id=tx_id, fee=fee,
                                           block_time=int(block["timestamp"], 16))


class _LosingSender(EvmSender):
    """Loses the node's answer to the next ``lose`` sends (the node did get them)."""

    lose = 0

    async def rpc(self, method: str, *params: object) -> object:
        result = await super().rpc(method, *params)
        if method == "eth_sendRawTransaction" and self.lose > 0:
            self.lose -= 1
            raise WalletError("connection reset", code="CHAIN_UNAVAILABLE")
        return result


@pytest.mark.parametrize("mined", [True, False])
async def test_a_lost_answer_sends_the_same_transaction_again_and_it_counts(
        devnet: EthereumDevnet, wallets: dict[str, EthereumWallet], mined: bool) -> None:
    """The copy is refused ("already known" while pending, "nonce too low" once mined):
    the node has that very hash, so it is the transaction going through, paid once."""
    d = devnet.deployment
    sender = _LosingSender(rpc_url=d.rpc_url, private_key=d.accounts[4].private_key,
                           chain_id=d.chain_id, error_table=ErrorTable([]), poll_interval=0.02)
    other = wallets["other"]
    try:
        if not mined:
            devnet.request("evm_setAutomine", False)
        nonce = int(devnet.request("eth_getTransactionCount", sender.address, "latest"), 16)
        before = await other.balance(NATIVE)
        sender.lose = 1
        sending = asyncio.create_task(sender.send(other.address, b"", value=12_345,
                                                  what="payment", gas=21_000))
        if not mined:
            await _pending_in(devnet, sender.address, nonce)
            devnet.request("evm_mine")
        sent = (await sending).sent
    finally:
        devnet.request("evm_setAutomine", True)
        await sender.close()
    assert sender.lose == 0
    assert int(devnet.request("eth_getTransactionCount", sender.address, "latest"),
               16) == nonce + 1
    assert await other.balance(NATIVE) == before + 12_345
    receipt = devnet.request("eth_getTransactionReceipt", sent.tx_id)
    assert receipt["status"] == "0x1" and sent.fee == 21_000 * int(
        receipt["effectiveGasPrice"], 16)


async def _pending_in(devnet: EthereumDevnet, address: str, nonce: int) -> None:
    """Until the node's pending count for ``address`` is past ``nonce`` (sent, not mined)."""
    deadline = asyncio.get_running_loop().time() + 10
    while int(devnet.request("eth_getTransactionCount", address, "pending"), 16) <= nonce:
        assert asyncio.get_running_loop().time() < deadline, "never sent"
        await asyncio.sleep(0.01)


async def test_concurrent_sends_take_consecutive_nonces(
        devnet: EthereumDevnet, wallets: dict[str, EthereumWallet]) -> None:
    deployer, other = wallets["deployer"], wallets["other"]
    token = devnet.deployment.token
    nonce = int(devnet.request("eth_getTransactionCount", deployer.address, "latest"), 16)
    before = (await other.balance(NATIVE), await other.balance(token))

    sent = await asyncio.gather(deployer.send_native(other.address, 7),
                                deployer.mint(token, other.address, 5_000_000),
                                deployer.send_native(other.address, 11))

    assert len({s.tx_id for s in sent}) == 3
    assert int(devnet.request("eth_getTransactionCount", deployer.address, "latest"),
               16) == nonce + 3
    assert (await other.balance(NATIVE), await other.balance(token)) == (
        before[0] + 18, before[1] + 5_000_000)


async def test_a_stranger_cannot_mint(devnet: EthereumDevnet,
                                      wallets: dict[str, EthereumWallet]) -> None:
    with pytest.raises(WalletError) as refused:
        await wallets["other"].mint(devnet.deployment.token, wallets["other"].address, 1)
    assert refused.value.details["error"] == "NotMinter"


def test_every_dev_account_comes_with_its_key(devnet: EthereumDevnet) -> None:
    d = devnet.deployment
    assert len(d.accounts) == 10
    assert d.accounts[:3] == (d.deployer, d.maker, d.resolver)
    assert [a.address.lower() for a in d.accounts] == [
        str(a).lower() for a in devnet.request("eth_accounts")]
    assert d.to_json()["accounts"][3] == d.accounts[3].to_json()


# ---------------------------------------------------------------------- interval mining


async def test_interval_mining(validator: OrderValidator) -> None:
    """With blocks every second (the E2E devnet) a receipt comes with a later block."""
    async with EthereumDevnet(block_time=1) as devnet:
        d = devnet.deployment
        opened = {"resolver": open_wallet(devnet, d.resolver),
                  "maker": open_wallet(devnet, d.maker)}
        try:
            resolver = opened["resolver"]
            signed, _ = await maker_order(opened, validator)
            handle = await resolver.fill(single_fill(signed))
            assert await resolver.balance("TUSD", handle.escrow) == MAKING
            secret = os.urandom(32)
            terms = dst_terms_for(devnet, token=NATIVE, amount=10**16, secret=secret,
                                  now=await resolver.chain_time())
            dst = await resolver.create_dst(terms)
            devnet.request("evm_increaseTime", DST_TIMELOCKS.dst_withdrawal)
            sent = await resolver.withdraw(dst, secret)
            assert sent.block_time >= DST_TIMELOCKS.at(Stage.DST_WITHDRAWAL,
                                                       dst.created.block_time)
        finally:
            for wallet in opened.values():
                await wallet.close()
