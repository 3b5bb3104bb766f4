"""A WebSocket relay in front of the simulator's Ogmios that loses answers on purpose.

``lose_submit_answers`` drops the connection after the node has answered a
``submitTransaction`` (the node took, or refused, the transaction; the client never
hears which), running ``on_lost`` first (a test forges a block there to move the
transaction from the mempool into the chain); ``swallow_submits`` drops it before the
node sees the transaction; ``down`` refuses every new connection, a node that cannot
be reached. Everything else passes through unchanged, so wallets
and pycardano's chain context work through it as against the node itself."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Awaitable, Callable
from typing import Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed


class OgmiosProxy:
    def __init__(self, upstream: str) -> None:
        self._upstream = upstream
        self._server: Server | None = None
        self.lose_submit_answers = 0
        """How many of the next submitTransaction answers to lose."""
        self.on_lost: Callable[[], Awaitable[None]] | None = None
        self.swallow_submits = 0
        """How many of the next submitTransaction requests never to pass on."""
        self.down = False
        self.submitted: list[str] = []
        """The CBOR of every transaction submitted through the proxy, in order."""
        self.lost: list[dict[str, Any]] = []
        """The answers that never reached the client."""

    @property
    def url(self) -> str:
        assert self._server is not None
        host, port = list(self._server.sockets)[0].getsockname()[:2]
        return f"ws://{host}:{port}"

    async def __aenter__(self) -> OgmiosProxy:
        self._server = await serve(self._relay, "127.0.0.1", 0, max_size=None,
                                   compression=None, ping_interval=None)
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()
        await self._server.wait_closed()

    async def _relay(self, client: ServerConnection) -> None:
        if self.down:
            await client.close(1011, "node unreachable")
            return
        async with connect(self._upstream, max_size=None, compression=None,
                           ping_interval=None) as node:
            losing: set[Any] = set()
            upward = asyncio.create_task(self._upward(client, node, losing))
            try:
                await self._downward(client, node, losing)
            finally:
                upward.cancel()
                with contextlib.suppress(asyncio.CancelledError, ConnectionClosed):
                    await upward

    async def _upward(self, client: ServerConnection, node: ClientConnection,
                      losing: set[Any]) -> None:
        async for message in client:
            request = json.loads(message)
            if request.get("method") == "submitTransaction":
                self.submitted.append(request["params"]["transaction"]["cbor"])
                if self.swallow_submits > 0:
                    self.swallow_submits -= 1
                    await client.close(1011, "request lost")
                    break
                if self.lose_submit_answers > 0:
                    self.lose_submit_answers -= 1
                    losing.add(request.get("id"))
            await node.send(message)
        await node.close()

    async def _downward(self, client: ServerConnection, node: ClientConnection,
                        losing: set[Any]) -> None:
        with contextlib.suppress(ConnectionClosed):
            async for message in node:
                answer = json.loads(message)
                if answer.get("method") == "submitTransaction" and answer.get("id") in losing:
                    self.lost.append(answer)
                    if self.on_lost is not None:
                        await self.on_lost()
                    await client.close(1011, "answer lost")
                    return
                await client.send(message)
