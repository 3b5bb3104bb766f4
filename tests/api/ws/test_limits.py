"""Bad input and limits: each gets an error reply or the documented close code, and the
server keeps serving everyone else."""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
from pathlib import Path

import pytest
from websockets.exceptions import ConnectionClosed, InvalidStatus

from devnet.process import wait_until
from relayer.orders.status import OrderStatus
from relayer.security.keys import generate_key
from relayer.security.principal import Scope
from tests.api.ws.conftest import TIMEOUT, Serve, Served, WsClient
from tests.factories import submission


async def still_served(served: Served, other: WsClient) -> None:
    """Another client still gets replies and channel messages."""
    assert (await other.call("ping"))["result"] == "pong"
    entry = await served.desk.submit(submission(salt=str(len(served.desk.book) + 1000)))
    message = await other.event()
    assert (message["event"], message["data"]["order_hash"]) == (
        "order_created", entry.order_hash)


async def test_malformed_and_invalid_requests_get_error_replies(serve: Serve) -> None:
    async with serve() as served, served.client() as client, served.client() as other:
        await other.subscribe("orders")
        await client.send_raw("{not json")
        assert await client.reply(None) == {"id": None, "error": {
            "code": "MALFORMED_JSON", "message": "the message is not JSON"}}
        await client.send_raw(json.dumps({"id": 7, "params": {}}))
        assert (await client.reply(7))["error"]["code"] == "INVALID_REQUEST"
        await client.send_raw(json.dumps([1, 2]))
        assert (await client.reply(None))["error"]["code"] == "INVALID_REQUEST"
        await client.send_raw(b'{"id": "b", "method": "ping"}')  # a binary frame is fine
        assert await client.reply("b") == {"id": "b", "result": "pong"}
        reply = await client.call("fly")
        assert reply["error"]["code"] == "UNKNOWN_METHOD"
        assert "subscribe" in reply["error"]["message"]
        assert (await client.call("subscribe"))["error"]["code"] == "INVALID_PARAMS"
        assert (await client.call("subscribe", channel="orders", x=1))["error"][
            "code"] == "INVALID_PARAMS"
        assert (await client.call("subscribe", channel="nope"))["error"][
            "code"] == "UNKNOWN_CHANNEL"
        assert (await client.call("subscribe", channel="order:0x12"))["error"][
            "code"] == "UNKNOWN_CHANNEL"
        assert (await client.call("subscribe", channel="order:0x" + "ab" * 32))["error"][
            "code"] == "ORDER_NOT_FOUND"
        assert (await client.call("getOrder", order_hash="0x1"))["error"][
            "code"] == "INVALID_PARAMS"
        assert (await client.call("getActiveOrders", limit=501))["error"][
            "code"] == "INVALID_PARAMS"
        assert (await client.call("ping"))["result"] == "pong"
        assert served.hub.stats().errors_replied == 11
        await still_served(served, other)


@pytest.mark.parametrize("where", ["protocol", "app"])
async def test_an_oversized_message_closes_with_1009(serve: Serve, where: str) -> None:
    async with serve() as served, served.client() as client, served.client() as other:
        if where == "app":
            # The app checks too, for servers that do not enforce limits.ws_message_bytes.
            served.hub.limits = type(served.hub.limits)(ws_message_bytes=1024)
        await other.subscribe("orders")
        await client.send_raw(json.dumps({"id": 1, "method": "ping",
                                          "params": {"pad": "x" * 70_000}}))
        with pytest.raises(ConnectionClosed) as closed:
            await client.reply(1)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 1009
        await still_served(served, other)


async def test_too_many_subscriptions_get_an_error(serve: Serve) -> None:
    async with serve(websocket={"max_subscriptions": 2}) as served, \
            served.client() as client, served.client() as other:
        await other.subscribe("orders")
        await client.subscribe("orders")
        await client.subscribe("prices")
        await client.subscribe("prices")  # already held: not a new subscription
        reply = await client.call("subscribe", channel="fills")
        assert reply["error"]["code"] in ("TOO_MANY_SUBSCRIPTIONS", "UNAUTHORIZED")
        entry = await served.desk.submit(submission())
        reply = await client.call("subscribe", channel=f"order:{entry.order_hash}")
        assert reply["error"] == {"code": "TOO_MANY_SUBSCRIPTIONS",
                                  "message": "at most 2 subscriptions"}
        assert (await client.call("unsubscribe", channel="prices"))["result"]["unsubscribed"]
        await client.subscribe(f"order:{entry.order_hash}")
        message = await other.event()
        assert message["event"] == "order_created"
        await still_served(served, other)


async def test_connections_past_the_maximum_are_refused_with_503(serve: Serve) -> None:
    async with serve(websocket={"max_connections": 2}) as served, \
            served.client() as first, served.client():
        with pytest.raises(InvalidStatus) as refused:
            async with served.client():
                pass
        assert refused.value.response.status_code == 503
        assert json.loads(refused.value.response.body)["error_code"] == "TOO_MANY_CONNECTIONS"
        assert (await first.call("ping"))["result"] == "pong"
        stats = served.hub.stats()
        assert (stats.connections, stats.rejected) == (2, 1)


async def test_private_channels_need_a_key_with_the_scope(serve: Serve, tmp_path: Path) -> None:
    reader = generate_key(frozenset({Scope.READ}))
    secrets = generate_key(frozenset({Scope.SECRETS}))
    keys = tmp_path / "keys.jsonl"
    keys.write_text(reader.stored.to_line() + "\n" + secrets.stored.to_line() + "\n")
    async with serve(security={"api_keys_file": str(keys)}) as served:
        async with served.client() as anonymous:
            for channel in ("secrets", "actions", "fills"):
                reply = await anonymous.call("subscribe", channel=channel)
                assert reply["error"]["code"] == "UNAUTHORIZED", channel
            await anonymous.subscribe("orders")  # public channels need nothing
            wrong = await anonymous.call("auth", api_key="rk_0000000000000000_nope")
            assert wrong["error"]["code"] == "UNAUTHORIZED"
            ok = await anonymous.call("auth", api_key=secrets.api_key)
            assert ok["result"] == {"key_id": secrets.stored.key_id, "scopes": ["secrets"]}
            await anonymous.subscribe("secrets")
            assert (await anonymous.call("subscribe", channel="actions"))["error"][
                "code"] == "FORBIDDEN"
        headers = {"Authorization": f"Bearer {reader.api_key}"}
        async with served.client(additional_headers=headers) as resolver:
            await resolver.subscribe("actions")
            await resolver.subscribe("fills")
            assert (await resolver.call("subscribe", channel="secrets"))["error"][
                "code"] == "FORBIDDEN"
        with pytest.raises(InvalidStatus) as refused:
            async with served.client(additional_headers={"X-API-Key": "rk_bad"}):
                pass
        assert refused.value.response.status_code == 403


async def test_a_client_that_stops_reading_is_closed_and_never_delays_the_others(
    serve: Serve
) -> None:
    async with serve(limits={"ws_send_queue_messages": 8}) as served:
        hashes = [(await served.desk.submit(submission(salt=str(i)))).order_hash
                  for i in range(60)]
        async with contextlib.AsyncExitStack() as stack:
            slow = await stack.enter_async_context(served.client(max_queue=4))
            fast = [await stack.enter_async_context(served.client()) for _ in range(50)]
            for client in fast:
                await client.subscribe("orders")
            await slow.subscribe("orders")
            # The slow client asks for big pages and reads nothing more.
            for i in range(60):
                await slow.send_raw(json.dumps({"id": i, "method": "getActiveOrders",
                                                "params": {"limit": 60}}))
            closed_after = None
            for n in range(1, 400):
                order_hash = hashes[n % 60]
                now = served.desk.get(order_hash).status
                entry = await served.desk.transition(
                    order_hash, OrderStatus.ACTIVE if now is OrderStatus.INVALID
                    else OrderStatus.INVALID, reason="toggle")
                # Every fast client gets each message before the next one is made.
                async with asyncio.timeout(5):
                    for client in fast:
                        message = await client.event()
                        assert message["data"]["order_hash"] == entry.order_hash
                if served.hub.stats().slow_closed and closed_after is None:
                    closed_after = n
                if closed_after is not None and n >= closed_after + 20:
                    break
            assert closed_after is not None, "the slow client was never closed"
            stats = served.hub.stats()
            assert stats.slow_closed == 1 and stats.connections == 50
            with pytest.raises(ConnectionClosed) as closed:
                async with asyncio.timeout(TIMEOUT):
                    while True:
                        await slow.ws.recv()
            assert closed.value.rcvd is not None and closed.value.rcvd.code == 1013


async def test_a_dead_peer_is_removed(serve: Serve) -> None:
    settings = {"ping_interval_seconds": 0.1, "ping_timeout_seconds": 0.2}
    async with serve(websocket=settings) as served, served.client() as other:
        port = int(served.url.split(":")[2].split("/")[0])
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
                     b"Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                     b"Sec-WebSocket-Version: 13\r\n\r\n")
        assert b" 101 " in await reader.readuntil(b"\r\n\r\n")
        assert served.hub.stats().connections == 2

        async def gone() -> bool:
            return served.hub.stats().connections == 1

        # The raw peer never answers pings: the server drops it.
        await wait_until(gone, timeout=TIMEOUT, what="the dead peer to be dropped")
        writer.close()
        assert (await other.call("ping"))["result"] == "pong"


# Raw RFC 6455 clients: they do exactly what a test needs (stop reading, half a frame).

HANDSHAKE = (b"GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
             b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")


def client_frame(payload: bytes, *, opcode: int = 0x1, fin: bool = True,
                 declared: int | None = None) -> bytes:
    """A masked client frame; ``declared`` overrides the length in its header."""
    size = len(payload) if declared is None else declared
    head = bytes([(0x80 if fin else 0) | opcode])
    if size < 126:
        head += bytes([0x80 | size])
    elif size < 1 << 16:
        head += bytes([0x80 | 126]) + size.to_bytes(2, "big")
    else:
        head += bytes([0x80 | 127]) + size.to_bytes(8, "big")
    mask = b"\x01\x02\x03\x04"
    return head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))


async def raw_client(served: Served, *, rcvbuf: int | None = None
                     ) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    port = int(served.url.split(":")[2].split("/")[0])
    sock = socket.socket()
    if rcvbuf is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    sock.setblocking(False)
    await asyncio.get_running_loop().sock_connect(sock, ("127.0.0.1", port))
    reader, writer = await asyncio.open_connection(sock=sock)
    writer.write(HANDSHAKE)
    assert b" 101 " in await reader.readuntil(b"\r\n\r\n")
    return reader, writer


async def read_to_close(reader: asyncio.StreamReader) -> tuple[list[tuple[int, bytes]], bool]:
    """The frames the server sends up to its close frame or the end of the connection;
    and whether the connection was reset."""
    frames: list[tuple[int, bytes]] = []
    try:
        async with asyncio.timeout(TIMEOUT):
            while True:
                head = await reader.readexactly(2)
                opcode, size = head[0] & 0x0F, head[1] & 0x7F
                if size == 126:
                    size = int.from_bytes(await reader.readexactly(2), "big")
                elif size == 127:
                    size = int.from_bytes(await reader.readexactly(8), "big")
                frames.append((opcode, await reader.readexactly(size)))
                if opcode == 0x8:
                    return frames, False
    except asyncio.IncompleteReadError:
        return frames, False
    except ConnectionResetError:
        return frames, True


@pytest.mark.parametrize("size", [65_537, 65_600, 10 * 1_048_576])
async def test_an_oversized_frame_gets_close_1009_not_a_reset(serve: Serve, size: int) -> None:
    async with serve() as served, served.client() as other:
        await other.subscribe("orders")
        reader, writer = await raw_client(served)
        # The frame's header already says too much; send the start of its payload.
        writer.write(client_frame(b"x" * min(size, 2 * 1_048_576), declared=size))
        frames, reset = await read_to_close(reader)
        writer.close()
        assert not reset
        assert frames and frames[-1][0] == 0x8, frames
        assert int.from_bytes(frames[-1][1][:2], "big") == 1009
        await still_served(served, other)
        assert served.hub.stats().oversized_closed == 1


async def test_a_fragmented_message_over_the_limit_gets_1009(serve: Serve) -> None:
    async with serve(limits={"ws_message_bytes": 4_096}) as served, \
            served.client() as client, served.client() as other:
        await other.subscribe("orders")
        fragments = ['{"id": 1, "method": "ping", "params": {"pad": "', "x" * 1_500,
                     "x" * 1_500, "x" * 1_500, '"}}']
        await client.ws.send(iter(fragments))
        with pytest.raises(ConnectionClosed) as closed:
            await client.reply(1)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 1009
        # Just at the limit is fine.
        async with served.client() as fits:
            pad = "y" * (4_096 - len('{"id":2,"method":"ping","params":{"pad":""}}'))
            await fits.send_raw('{"id":2,"method":"ping","params":{"pad":"' + pad + '"}}')
            assert (await fits.reply(2))["result"] == "pong"
        await still_served(served, other)
        assert served.hub.stats().oversized_closed == 1
        metrics = (await served.http.get("/metrics")).text
        assert 'relayer_websocket_dropped_total{reason="oversized"} 1.0' in metrics


async def test_the_send_queue_is_bounded_in_bytes(serve: Serve) -> None:
    limits = {"ws_send_queue_bytes": 65_536, "ws_send_queue_messages": 100_000,
              "ws_send_timeout_seconds": 600.0}
    async with serve(limits=limits, websocket={"heartbeat_seconds": 600.0}) as served, \
            served.client() as other:
        for i in range(100):
            await served.desk.submit(submission(salt=str(5_000 + i)))
        await other.subscribe("orders")
        reader, writer = await raw_client(served, rcvbuf=4_096)
        request = json.dumps({"id": 1, "method": "getActiveOrders", "params": {"limit": 100}})
        for _ in range(200):  # ~150 KB a reply; never read
            writer.write(client_frame(request.encode()))
        await writer.drain()

        async def closed() -> bool:
            return served.hub.stats().slow_closed == 1

        await wait_until(closed, timeout=TIMEOUT, what="the slow client to be closed")
        stats = served.hub.stats()
        assert stats.connections == 1 and stats.queued == 0
        frames, reset = await read_to_close(reader)
        writer.close()
        assert frames[-1][0] == 0x8 and int.from_bytes(frames[-1][1][:2], "big") == 1013
        assert b"send queue full" in frames[-1][1]
        await still_served(served, other)


async def test_a_blocked_socket_is_closed_by_its_own_timer(serve: Serve) -> None:
    limits = {"ws_send_queue_bytes": 1_024 * 1_048_576, "ws_send_queue_messages": 100_000,
              "ws_send_timeout_seconds": 0.5}
    settings = {"heartbeat_seconds": 600.0, "ping_interval_seconds": 600.0}
    async with serve(limits=limits, websocket=settings) as served, \
            served.client() as other:
        for i in range(100):
            await served.desk.submit(submission(salt=str(7_000 + i)))
        await other.subscribe("orders")
        reader, writer = await raw_client(served, rcvbuf=4_096)
        request = json.dumps({"id": 1, "method": "getActiveOrders", "params": {"limit": 100}})
        for _ in range(100):  # ~15 MB of replies, far more than the socket buffers hold
            writer.write(client_frame(request.encode()))
        await writer.drain()

        async def closed() -> bool:
            return served.hub.stats().slow_closed == 1

        # Heartbeats are 10 minutes apart: only the connection's own timer can do it.
        await wait_until(closed, timeout=TIMEOUT, what="the stuck client to be closed")
        frames, reset = await read_to_close(reader)
        writer.close()
        assert frames[-1][0] == 0x8, frames[-1:]
        assert int.from_bytes(frames[-1][1][:2], "big") == 1013
        assert b"send timed out" in frames[-1][1]
        await still_served(served, other)


async def test_a_burst_of_requests_does_not_hold_the_others_up(serve: Serve) -> None:
    async with serve() as served, served.client() as other:
        reader, writer = await raw_client(served)
        burst = b"".join(client_frame(json.dumps({"id": i, "method": "nope"}).encode())
                         for i in range(500))
        writer.write(burst)  # 500 requests in one go, all waiting at once on the server
        await writer.drain()
        assert (await other.call("ping"))["result"] == "pong"
        # The other client was answered between the burst's requests, not after them all.
        assert served.hub.stats().errors_replied < 500
        writer.close()
