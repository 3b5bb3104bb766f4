"""A real uvicorn server on a free loopback port, running the app on the test's loop,
and a small client over the real ``websockets`` client."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from starlette.applications import Starlette
from websockets.asyncio.client import ClientConnection, connect

from devnet.process import free_port, wait_until
from relayer.api.app import create_app
from relayer.api.ws.endpoint import uvicorn_options
from relayer.api.ws.hub import Hub
from relayer.clock import FakeClock
from relayer.orders.desk import OrderDesk
from relayer.pricing.decayer import Decayer
from tests.factories import make_settings

TIMEOUT = 10.0


@dataclass
class Served:
    app: Starlette
    url: str
    http: httpx.AsyncClient
    clock: FakeClock

    @property
    def hub(self) -> Hub:
        hub: Hub = self.app.state.hub
        return hub

    @property
    def decayer(self) -> Decayer:
        decayer: Decayer = self.app.state.parts.decayer
        return decayer

    @property
    def desk(self) -> OrderDesk:
        desk: OrderDesk = self.app.state.relayer.desk
        return desk

    def client(self, **kwargs: Any) -> contextlib.AbstractAsyncContextManager[WsClient]:
        return ws_client(self.url, **kwargs)

    async def tick(self, seconds: int = 1) -> None:
        self.clock.advance(seconds)
        await self.decayer.tick()


class WsClient:
    """Requests with ids; channel messages kept in arrival order."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.events: list[dict[str, Any]] = []
        self._id = 0

    async def send_raw(self, text: str | bytes) -> None:
        await self.ws.send(text)

    async def call(self, method: str, **params: Any) -> dict[str, Any]:
        self._id += 1
        await self.ws.send(json.dumps({"id": self._id, "method": method, "params": params}))
        return await self.reply(self._id)

    async def reply(self, request_id: Any) -> dict[str, Any]:
        async with asyncio.timeout(TIMEOUT):
            while True:
                message = json.loads(await self.ws.recv())
                if "event" in message:
                    self.events.append(message)
                elif message.get("id") == request_id:
                    return dict(message)

    async def event(self, skip_heartbeats: bool = True) -> dict[str, Any]:
        """The next channel message (waiting at most TIMEOUT s)."""
        async with asyncio.timeout(TIMEOUT):
            while True:
                if self.events:
                    message = self.events.pop(0)
                else:
                    message = json.loads(await self.ws.recv())
                    if "event" not in message:
                        raise AssertionError(f"unexpected reply {message}")
                if skip_heartbeats and message["event"] == "heartbeat":
                    continue
                return dict(message)

    async def subscribe(self, channel: str) -> tuple[dict[str, Any], dict[str, Any]]:
        """The subscribe result and the snapshot that follows it."""
        reply = await self.call("subscribe", channel=channel)
        assert "result" in reply, reply
        name = reply["result"]["channel"]
        async with asyncio.timeout(TIMEOUT):
            while True:
                for i, message in enumerate(self.events):
                    if message["event"] == "snapshot" and message["channel"] == name:
                        return reply["result"], self.events.pop(i)
                self.events.append(json.loads(await self.ws.recv()))


@contextlib.asynccontextmanager
async def ws_client(url: str, **kwargs: Any) -> AsyncIterator[WsClient]:
    kwargs.setdefault("compression", None)
    async with connect(url, open_timeout=TIMEOUT, **kwargs) as ws:
        yield WsClient(ws)


Serve = Callable[..., contextlib.AbstractAsyncContextManager[Served]]


@pytest.fixture
def serve(tmp_path: Path, clock: FakeClock) -> Serve:
    """``async with serve(**settings overrides) as served``: the app under real uvicorn."""

    @contextlib.asynccontextmanager
    async def run(**overrides: Any) -> AsyncIterator[Served]:
        settings = make_settings(data_dir=str(tmp_path), **overrides)
        app = create_app(settings, clock=clock, run_scheduler=False)
        port = free_port()
        config = uvicorn.Config(app, host="127.0.0.1", port=port, lifespan="on",
                                log_level="warning", access_log=False, log_config=None,
                                **uvicorn_options(settings.websocket, settings.limits))
        server = uvicorn.Server(config)
        task = asyncio.create_task(server.serve())

        async def started() -> bool:
            if task.done():
                task.result()
            return server.started

        await wait_until(started, timeout=TIMEOUT, what="uvicorn to start")
        try:
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:
                yield Served(app=app, url=f"ws://127.0.0.1:{port}/ws", http=http, clock=clock)
        finally:
            server.should_exit = True
            await asyncio.wait_for(task, TIMEOUT)

    return run
