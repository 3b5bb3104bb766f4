"""Several RPC URLs: failover when one is down or hung; all down: backoff and degraded
status; recovery when one comes back."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit

from devnet.ethereum import EthereumDevnet
from devnet.process import free_port
from relayer.chains.ethereum.failover import FailoverRpc, redact
from relayer.chains.ethereum.monitor import EthereumMonitor
from relayer.chains.ethereum.rpc import RawLog, RpcError
from relayer.store.sqlite import SQLiteEventStore
from tests.contracts.evm.chain import Chain
from tests.integration.ethereum.harness import Harness, SilentServer, TcpProxy, eventually


def create_escrow(chain: Chain) -> None:
    signed = chain.make_order()
    chain.approve(chain.maker.address, signed.order.making_amount)
    chain.create_src(signed)


async def test_first_url_down_fails_over_to_the_second(
        devnet: EthereumDevnet, chain: Chain, store: SQLiteEventStore) -> None:
    closed = f"http://127.0.0.1:{free_port()}"
    harness = Harness(store, [closed, devnet.rpc_url])
    try:
        create_escrow(chain)
        await harness.catch_up()
        assert len(await harness.stored()) == 1
        health = harness.rpc.health()
        assert health.connected and health.endpoint == redact(devnet.rpc_url)
        assert health.errors == 1
        # The endpoint that answered stays in use: the dead one is not asked again.
        create_escrow(chain)
        await harness.catch_up()
        assert len(await harness.stored()) == 2
        assert harness.rpc.health().errors == 1
        assert harness.monitor.status().healthy
    finally:
        await harness.close()


async def test_a_hung_endpoint_times_out_and_fails_over(
        devnet: EthereumDevnet, chain: Chain, store: SQLiteEventStore) -> None:
    silent = SilentServer()
    await silent.start()
    harness = Harness(store, [silent.url, devnet.rpc_url], rpc_timeout_seconds=0.3)
    try:
        create_escrow(chain)
        await harness.catch_up()
        assert len(await harness.stored()) == 1
        health = harness.rpc.health()
        assert health.endpoint == redact(devnet.rpc_url) and health.errors == 1
    finally:
        await harness.close()
        await silent.close()


async def test_all_down_backs_off_reports_degraded_and_recovers(
        devnet: EthereumDevnet, chain: Chain, store: SQLiteEventStore) -> None:
    proxy = TcpProxy(int(urlsplit(devnet.rpc_url).port or 0))
    await proxy.start()
    harness = Harness(store, [proxy.url])
    monitor = harness.monitor
    try:
        await monitor.start()
        await eventually(lambda: monitor.status().healthy, what="healthy")

        await proxy.close()
        await eventually(lambda: not monitor.status().connected, what="degraded status")
        status = monitor.status()
        assert not status.healthy and "no RPC endpoint answered" in status.detail
        errors = status.rpc_errors
        await eventually(lambda: monitor.status().rpc_errors >= errors + 3, what="retries")

        create_escrow(chain)  # while the relayer cannot see the chain
        head = chain.w3.eth.block_number
        await proxy.start()  # the same URL answers again
        await eventually(lambda: monitor.status().connected and monitor.status().processed
                         == head and len(harness.book) == 1, what="recovery")
        assert monitor.status().healthy and monitor.status().detail == ""
    finally:
        await harness.close()
        await proxy.close()


class NarrowLogs:
    """The real node behind a provider-style limit: ``eth_getLogs`` over more than
    ``limit`` blocks is refused with a JSON-RPC error."""

    def __init__(self, rpc: FailoverRpc, limit: int) -> None:
        self._rpc = rpc
        self.limit = limit
        self.refused = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self._rpc, name)

    async def logs(self, *, from_block: int, to_block: int, topics: Sequence[Sequence[str]],
                   address: Sequence[str] | None = None) -> list[RawLog]:
        if to_block - from_block + 1 > self.limit:
            self.refused += 1
            raise RpcError("eth_getLogs", {"code": -32005, "message": "block range too wide"})
        return await self._rpc.logs(from_block=from_block, to_block=to_block, topics=topics,
                                    address=address)


async def test_a_refused_log_range_is_halved_until_the_node_answers(
        devnet: EthereumDevnet, chain: Chain, store: SQLiteEventStore) -> None:
    for _ in range(3):
        create_escrow(chain)
    chain.devnet.request("anvil_mine", hex(40))
    harness = Harness(store, [devnet.rpc_url], max_block_range=64)
    narrow = NarrowLogs(harness.rpc, limit=5)
    harness.monitor = EthereumMonitor(rpc=narrow, store=store,  # type: ignore[arg-type]
                                      committed=harness.projector.committed,
                                      escrows=harness.book, settings=harness.settings)
    try:
        await harness.catch_up()
        assert len(await harness.stored()) == 3
        assert narrow.refused >= 1
        cursor = harness.monitor.cursor
        assert cursor is not None and cursor.block == chain.w3.eth.block_number
    finally:
        await harness.close()
