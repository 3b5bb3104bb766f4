"""A real HTTPS receiver on a free loopback port, scripted per path.

Each path answers from its plan: a status code, or ``HANG`` (keep the request
open until ``release``), then 200 once the plan is used up. Every request is
kept with its headers and body; ``wait_for`` waits on a condition, not a sleep.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
import time
from dataclasses import dataclass, field

HANG = -1


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    at: float


@dataclass
class Receiver:
    context: ssl.SSLContext
    requests: list[Received] = field(default_factory=list)
    plans: dict[str, list[int]] = field(default_factory=dict)
    hanging: int = 0
    port: int = 0
    _server: asyncio.Server | None = None
    _changed: asyncio.Condition = field(default_factory=asyncio.Condition)
    _release: asyncio.Event = field(default_factory=asyncio.Event)
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)
    _writers: set[asyncio.StreamWriter] = field(default_factory=set)

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0,
                                                  ssl=self.context)
        self.port = self._server.sockets[0].getsockname()[1]

    def url(self, path: str) -> str:
        return f"https://127.0.0.1:{self.port}{path}"

    def plan(self, path: str, *answers: int) -> None:
        self.plans[path] = list(answers)

    def on(self, path: str) -> list[Received]:
        return [r for r in self.requests if r.path == path]

    async def wait_for(self, count: int, path: str | None = None,
                       timeout: float = 10.0) -> list[Received]:
        def enough() -> bool:
            return len(self.requests if path is None else self.on(path)) >= count

        async with self._changed:
            await asyncio.wait_for(self._changed.wait_for(enough), timeout)
        return self.requests if path is None else self.on(path)

    async def wait_hanging(self, count: int, timeout: float = 10.0) -> None:
        async with self._changed:
            await asyncio.wait_for(self._changed.wait_for(lambda: self.hanging >= count),
                                   timeout)

    def release(self) -> None:
        self._release.set()

    async def close(self) -> None:
        self.release()
        if self._server is not None:
            self._server.close()
        for writer in list(self._writers):
            writer.close()
        if self._tasks:
            # Released and closed, every handler ends by itself; cancel only stragglers.
            _done, late = await asyncio.wait(set(self._tasks), timeout=5.0)
            for task in late:
                task.cancel()
            await asyncio.gather(*late, return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        self._writers.add(writer)
        try:
            while await self._one(reader, writer):
                pass
        except (asyncio.IncompleteReadError, ConnectionError, ssl.SSLError):
            pass
        finally:
            self._tasks.discard(task)
            self._writers.discard(writer)
            writer.close()
            with contextlib.suppress(ConnectionError, ssl.SSLError, asyncio.CancelledError):
                await writer.wait_closed()

    async def _one(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:
        head = await reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        _method, path, _version = lines[0].split(" ", 2)
        headers = {}
        for line in lines[1:]:
            if line:
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip()
        body = await reader.readexactly(int(headers.get("content-length", "0")))
        plan = self.plans.get(path, [])
        answer = plan.pop(0) if plan else 200
        async with self._changed:
            self.requests.append(Received(path, headers, body, time.monotonic()))
            if answer == HANG:
                self.hanging += 1
            self._changed.notify_all()
        if answer == HANG:
            await self._release.wait()
            return False
        writer.write(f"HTTP/1.1 {answer} X\r\nContent-Length: 2\r\n\r\nok".encode())
        await writer.drain()
        return True
