"""The send path of one connection, with a fake ASGI ``send`` whose socket can block."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from websockets.frames import Frame, Opcode
from websockets.streams import StreamReader

from relayer.api.ws.connection import Connection, Counters
from relayer.api.ws.framing import text_frame


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


class DirectSocket(Socket):
    """A server that also takes whole frames directly while its socket is writable."""

    def __init__(self) -> None:
        super().__init__()
        self.frames: list[bytes] = []

    def write_frame(self, frame: bytes) -> bool:
        if not self.writable.is_set():
            return False
        self.frames.append(frame)
        return True


async def test_frames_go_straight_to_the_socket_and_fall_back_to_send_in_order() -> None:
    socket, counters = DirectSocket(), Counters()
    conn = Connection(1, socket.send, queue_limit=3, counters=counters, principal=None,
                      write_frame=socket.write_frame)
    shared = text_frame(b"a")
    conn.push("a", shared)
    conn.push("b")  # no frame given: framed for this client alone
    assert socket.frames[0] is shared and socket.frames[1] == text_frame(b"b")
    assert socket.sent == [] and counters.frames_written == counters.messages_sent == 2
    socket.writable.clear()
    conn.push("c", text_frame(b"c"))  # refused: the ASGI send waits for the socket
    conn.push("d", text_frame(b"d"))  # behind it, never around it
    assert conn.queued == 1 and len(socket.frames) == 2
    socket.writable.set()
    async with asyncio.timeout(5):
        while conn.sending_since is not None:
            await asyncio.sleep(0)
    assert socket.sent == ["c", "d"] and counters.messages_sent == 4
    conn.push("e", text_frame(b"e"))
    assert socket.frames[-1] == text_frame(b"e") and counters.frames_written == 3


@pytest.mark.parametrize("size", [0, 125, 126, 65_535, 65_536, 200_000])
def test_text_frames_parse_as_one_final_unmasked_text_frame(size: int) -> None:
    payload = ("x" * size).encode()
    reader = StreamReader()
    reader.feed_data(text_frame(payload))
    parser = Frame.parse(reader.read_exact, mask=False)
    try:
        next(parser)
    except StopIteration as done:
        frame = done.value
    else:
        raise AssertionError("the frame was incomplete")
    assert (frame.opcode, frame.fin, frame.data) == (Opcode.TEXT, True, payload)
    assert not (frame.rsv1 or frame.rsv2 or frame.rsv3)
