"""The send path of one connection, with a fake ASGI ``send`` whose socket can block."""

from __future__ import annotations

import asyncio
from typing import Any

from relayer.api.ws.connection import Connection, Counters


class Socket:
    """Like uvicorn: a send completes at once unless the socket is blocked."""

    def __init__(self) -> None:
        self.writable = asyncio.Event()
        self.writable.set()
        self.sent: list[str] = []

    async def send(self, message: Any) -> None:
        await self.writable.wait()
        self.sent.append(message["text"])


async def test_sends_complete_at_once_and_wait_in_order_while_blocked() -> None:
    socket, counters = Socket(), Counters()
    conn = Connection(1, socket.send, queue_limit=3, counters=counters, principal=None)
    conn.push("a")
    assert socket.sent == ["a"]  # no task switch needed
    socket.writable.clear()
    for text in "bcd":
        conn.push(text)
    assert socket.sent == ["a"] and conn.queued == 2 and conn.sending_since is not None
    socket.writable.set()
    async with asyncio.timeout(5):
        while conn.sending_since is not None:
            await asyncio.sleep(0)
    assert socket.sent == list("abcd") and counters.messages_sent == 4
    conn.push("e")
    assert socket.sent[-1] == "e"
    assert not conn.closing


async def test_a_full_queue_ends_the_connection_with_1013() -> None:
    socket, counters = Socket(), Counters()
    conn = Connection(1, socket.send, queue_limit=2, counters=counters, principal=None)
    socket.writable.clear()
    for text in "abcd":
        conn.push(text)
    assert conn.closing and conn.close_code == 1013 and counters.slow_closed == 1
    assert conn.queued == 0
    conn.push("e")  # ignored once closing
    await conn.stop_writing()
    assert socket.sent == []


async def test_a_failing_send_ends_the_connection() -> None:
    async def broken(message: Any) -> None:
        raise OSError("gone")

    conn = Connection(1, broken, queue_limit=2, counters=Counters(), principal=None)
    conn.push("a")
    assert conn.closing and conn.close_code is None
