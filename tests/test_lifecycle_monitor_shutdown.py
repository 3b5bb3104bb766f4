"""Review finding: a chain monitor outlives the app's shutdown.

``Lifecycle.stop`` gives each component what is left of ``server.shutdown_timeout_seconds``
and cancels its ``stop`` when that runs out (relayer/lifecycle.py). The replica's stop
stops the leader's parts (``LeaderOnly``: the chain monitors). ``EthereumMonitor.stop``
first forgets its task (``self._task = None``) and then waits up to its own
``stop_timeout`` (5 s) for it; cancelled in that wait, it never cancels the task. So a
monitor whose RPC call is slow keeps running after the lifespan has ended and the store
is closed: it goes on calling the node (and would commit to a closed store and publish
on the bus). Before 5117103 the lifespan awaited ``replica.stop()`` without a deadline.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from relayer.api.app import create_app
from relayer.chains.ethereum.rpc import BlockHeader, RpcHealth
from relayer.store.sqlite import SQLiteEventStore
from tests.factories import make_settings


class SlowRpc:
    """A node whose first answer is slow (longer than the shutdown deadline)."""

    def __init__(self, chain_id: int) -> None:
        self._chain_id = chain_id
        self.release = asyncio.Event()
        self.calls: list[str] = []

    async def chain_id(self) -> int:
        self.calls.append("chain_id")
        await self.release.wait()
        return self._chain_id

    async def block(self, number: int | str) -> BlockHeader | None:
        self.calls.append(f"block {number}")
        await asyncio.Event().wait()  # never set: the call hangs until cancelled
        return None

    async def blocks(self, numbers):  # type: ignore[no-untyped-def]
        self.calls.append("blocks")
        return []

    async def transactions(self, hashes):  # type: ignore[no-untyped-def]
        self.calls.append("transactions")
        return []

    async def logs(self, **kwargs):  # type: ignore[no-untyped-def]
        self.calls.append("logs")
        return []

    async def call(self, to, data, block="latest"):  # type: ignore[no-untyped-def]
        self.calls.append("call")
        return b""

    def health(self) -> RpcHealth:
        return RpcHealth(connected=True, errors=0, endpoint="fake://node")

    async def close(self) -> None:
        return None


async def test_no_monitor_keeps_running_after_shutdown(tmp_path: Path) -> None:
    settings = make_settings(**{"chains.ethereum.follow": True,
                                "server.shutdown_timeout_seconds": 0.5})
    rpc = SlowRpc(settings.chains.ethereum.chain_id)
    store = SQLiteEventStore(tmp_path / "events.db")
    app = create_app(settings, store=store, ethereum=rpc, run_scheduler=False)
    async with app.router.lifespan_context(app):
        for _ in range(100):
            if rpc.calls:
                break
            await asyncio.sleep(0.01)
        assert rpc.calls == ["chain_id"]  # the leader's monitor is running
    # The lifespan has ended: every part is stopped and the store is closed.
    monitors = [t for t in asyncio.all_tasks() if t.get_name() == "ethereum-monitor"]
    rpc.release.set()
    await asyncio.sleep(0.1)
    try:
        assert not [t for t in monitors if not t.done()], (
            "the Ethereum monitor's task is still running after shutdown")
        assert rpc.calls == ["chain_id"], (
            f"the monitor called the node after shutdown: {rpc.calls}")
    finally:
        for task in monitors:
            task.cancel()
