"""A minimal async JSON-RPC client for asserting exact Ogmios response shapes."""

from __future__ import annotations

import json
from typing import Any

from websockets.asyncio.client import ClientConnection, connect


class Rpc:
    def __init__(self, connection: ClientConnection) -> None:
        self._ws = connection
        self._next_id = 0

    async def send(self, method: str, params: dict[str, Any] | None = None) -> int:
        self._next_id += 1
        request: dict[str, Any] = {"jsonrpc": "2.0", "method": method, "id": self._next_id}
        if params is not None:
            request["params"] = params
        await self._ws.send(json.dumps(request))
        return self._next_id

    async def receive(self) -> dict[str, Any]:
        response: dict[str, Any] = json.loads(await self._ws.recv())
        return response

    async def call(self, method: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        request_id = await self.send(method, params)
        response = await self.receive()
        assert response["id"] == request_id and response["method"] == method, response
        return response


async def call(url: str, method: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
    async with connect(url) as ws:
        return await Rpc(ws).call(method, params)


def connect_rpc(url: str) -> Any:
    return connect(url)
