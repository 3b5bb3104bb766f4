"""Benchmark B3: WebSocket fan-out of price ticks to 10,000 clients.

A real ``relayer serve`` child holds 1,000 active orders whose taking amount
changes every second. Client processes (``--processes`` of them, 2,500
connections each by default) subscribe each connection to ``prices:<hash>`` of
one of the orders (ten per order); one more process holds 100 subscribers of
the ``prices`` firehose. Every received ``price_update`` is timed from the
start of the second it prices (the decayer ticks on whole seconds, so this
includes the scheduler's wake-up) to its receipt.

Targets: p99 from tick to receipt < 250 ms; no drops for healthy clients
(every connection gets every tick, consecutive ``seq``, none closed); server
RSS < 1.5 GB.

Clients (``--client``): ``lean`` (default) is a minimal RFC 6455 client in a
plain asyncio protocol per connection (``LeanFollower``: the upgrade with its
``Sec-WebSocket-Accept`` check, frame parsing in ``data_received``, masked
pongs); ``websockets`` is the library's asyncio client, a task per connection
waiting in ``recv()``. Both decode every message and check every ``seq``. On
this 2-core machine the clients share the CPU with the server: the library
client spent 230-270 ms of CPU per second on 10,000 messages, the lean one
about 140, and what the clients spend delays the server's own sends.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import hashlib
import json
import math
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, cast

import httpx
import msgspec

from bench.loadgen import closed_loop, posts
from bench.orders import signed_bodies
from devnet.process import RelayerProcess
from tests.factories import make_validator

ORDERS = 1_000
PER_PROCESS = 2_500
FIREHOSE = 100


class _Price(msgspec.Struct):
    at: int


class _Message(msgspec.Struct):
    event: str = ""
    seq: int | None = None
    data: msgspec.Raw = msgspec.Raw(b"null")


_message = msgspec.json.Decoder(_Message)
_price = msgspec.json.Decoder(_Price)
_prices = msgspec.json.Decoder(list[_Price])


def raise_open_files() -> int:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return hard


# ---------------------------------------------------------------- client process


class Tally:
    def __init__(self, rounds: list[tuple[int, int]]) -> None:
        self.rounds = rounds
        self.latencies: list[list[float]] = [[] for _ in rounds]
        self.received = [0 for _ in rounds]
        self.gaps = 0
        self.closed = 0
        self.errors: list[str] = []

    def record(self, at: int, latency_ms: float) -> None:
        for i, (start, end) in enumerate(self.rounds):
            if start <= at < end:
                self.latencies[i].append(latency_ms)
                self.received[i] += 1
                return


async def follow(url: str, channel: str, tally: Tally, firehose: bool,
                 ready: asyncio.Event, done: asyncio.Event) -> None:
    from websockets.asyncio.client import connect
    from websockets.exceptions import ConnectionClosed

    async with connect(url, compression=None, ping_interval=None, max_size=1 << 24,
                       open_timeout=120) as ws:
        await ws.send(json.dumps({"id": 1, "method": "subscribe",
                                  "params": {"channel": channel}}))
        last_seq: int | None = None
        ready.set()
        try:
            while not done.is_set():
                raw = await ws.recv()
                received = time.time()
                message = _message.decode(raw)
                if message.event == "snapshot":
                    last_seq = message.seq
                    continue
                if message.event != "price_update":
                    continue
                if last_seq is not None and message.seq != last_seq + 1:
                    tally.gaps += 1
                last_seq = message.seq
                at = (_prices.decode(message.data)[0].at if firehose
                      else _price.decode(message.data).at)
                tally.record(at, (received - at) * 1000)
        except ConnectionClosed:
            if not done.is_set():
                tally.closed += 1
        except Exception as exc:  # a broken client must show in the figures, not vanish
            tally.errors.append(repr(exc))


_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
_TEXT, _CLOSE, _PING = 0x1, 0x8, 0x9


def client_frame(opcode: int, payload: bytes) -> bytes:
    """A final client frame, masked as RFC 6455 requires (payloads under 64 KiB)."""
    size = len(payload)
    header = (bytes((0x80 | opcode, 0x80 | size)) if size < 126
              else bytes((0x80 | opcode, 0x80 | 126)) + size.to_bytes(2, "big"))
    mask = os.urandom(4)
    return header + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))


class LeanFollower(asyncio.Protocol):
    """One connection with a minimal RFC 6455 client: the upgrade handshake (checking
    ``Sec-WebSocket-Accept``), then server frames parsed from ``data_received`` (text,
    fragments, close; pings answered with masked pongs), no task per connection."""

    def __init__(self, host: str, channel: str, tally: Tally, firehose: bool,
                 ready: asyncio.Future[None], done: asyncio.Event) -> None:
        self.host = host
        self.channel = channel
        self.tally = tally
        self.firehose = firehose
        self.ready = ready
        self.done = done
        self.key = base64.b64encode(os.urandom(16))
        self.open = False
        self.buffer = b""
        self.fragments: list[bytes] = []
        self.last_seq: int | None = None
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass
        self.transport.write(b"GET /ws HTTP/1.1\r\nHost: " + self.host.encode()
                             + b"\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                             b"Sec-WebSocket-Key: " + self.key
                             + b"\r\nSec-WebSocket-Version: 13\r\n\r\n")

    def data_received(self, data: bytes) -> None:
        received = time.time()
        buffer = self.buffer + data if self.buffer else data
        if not self.open:
            head, sep, buffer = buffer.partition(b"\r\n\r\n")
            if not sep:
                self.buffer = head
                return
            self.handshake(head)
        at, size = 0, len(buffer)
        while size - at >= 2:
            first, second = buffer[at], buffer[at + 1]
            length, start = second & 0x7F, at + 2
            if length == 126:
                if size - start < 2:
                    break
                length, start = int.from_bytes(buffer[start:start + 2], "big"), start + 2
            elif length == 127:
                if size - start < 8:
                    break
                length, start = int.from_bytes(buffer[start:start + 8], "big"), start + 8
            if second & 0x80:
                raise ValueError("a server frame must not be masked")
            if size - start < length:
                break
            at = start + length
            self.on_frame(first, buffer[start:at], received)
        self.buffer = buffer[at:]

    def handshake(self, head: bytes) -> None:
        status, *lines = head.split(b"\r\n")
        headers = dict(line.lower().split(b": ", 1) for line in lines)
        accept = base64.b64encode(hashlib.sha1(self.key + _GUID).digest())
        if not status.startswith(b"HTTP/1.1 101") or \
                headers.get(b"sec-websocket-accept") != accept.lower():
            raise ValueError(f"handshake refused: {status!r}")
        self.open = True
        subscribe = json.dumps({"id": 1, "method": "subscribe",
                                "params": {"channel": self.channel}}).encode()
        assert self.transport is not None
        self.transport.write(client_frame(_TEXT, subscribe))
        self.ready.set_result(None)

    def on_frame(self, first: int, payload: bytes, received: float) -> None:
        opcode = first & 0x0F
        if opcode == _PING:
            assert self.transport is not None
            self.transport.write(client_frame(0xA, payload))
        elif opcode == _CLOSE:
            self.tally.errors.append(f"closed by the server: {payload[:2].hex()}")
        elif opcode == _TEXT or opcode == 0:
            self.fragments.append(payload)
            if first & 0x80:
                message = b"".join(self.fragments)
                self.fragments = []
                self.on_message(received, message)

    def on_message(self, received: float, raw: bytes) -> None:
        message = _message.decode(raw)
        if message.event == "snapshot":
            self.last_seq = message.seq
            return
        if message.event != "price_update":
            return
        if self.last_seq is not None and message.seq != self.last_seq + 1:
            self.tally.gaps += 1
        self.last_seq = message.seq
        at = (_prices.decode(message.data)[0].at if self.firehose
              else _price.decode(message.data).at)
        self.tally.record(at, (received - at) * 1000)

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.done.is_set():
            self.tally.closed += 1
        if not self.ready.done():
            self.ready.set_result(None)


async def open_lean(url: str, channels: list[str], tally: Tally, firehose: bool,
                    done: asyncio.Event) -> list[asyncio.Transport]:
    loop = asyncio.get_running_loop()
    host = url.split("//", 1)[1].split("/", 1)[0]
    name, port = host.split(":")
    transports = []
    for start in range(0, len(channels), 100):
        batch = []
        for channel in channels[start:start + 100]:
            ready: asyncio.Future[None] = loop.create_future()
            transport, _ = await loop.create_connection(
                lambda ready=ready, channel=channel: LeanFollower(  # type: ignore[misc]
                    host, channel, tally, firehose, ready, done), name, int(port))
            transports.append(transport)
            batch.append(ready)
        await asyncio.gather(*batch)
    return transports


async def client_main(url: str, channels: list[str], firehose: bool, kind: str) -> None:
    raise_open_files()
    tally = Tally([])
    done = asyncio.Event()
    tasks = []
    transports: list[asyncio.Transport] = []
    if kind == "lean":
        transports = await open_lean(url, channels, tally, firehose, done)
    else:
        for start in range(0, len(channels), 100):
            batch = []
            for channel in channels[start:start + 100]:
                ready = asyncio.Event()
                tasks.append(asyncio.create_task(
                    follow(url, channel, tally, firehose, ready, done)))
                batch.append(ready.wait())
            await asyncio.gather(*batch)
    print(json.dumps({"ready": len(tasks) + len(transports)}), flush=True)
    line = await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
    rounds = [(r[0], r[1]) for r in json.loads(line)["rounds"]]
    tally.rounds = rounds
    tally.latencies = [[] for _ in rounds]
    tally.received = [0 for _ in rounds]
    start, end = rounds[0][0], rounds[-1][1]
    await asyncio.sleep(max(0.0, start - time.time()))
    cpu_start = time.process_time()
    await asyncio.sleep(max(0.0, end - time.time()))
    cpu = (time.process_time() - cpu_start) / (end - start)
    await asyncio.sleep(max(0.0, end + 1.5 - time.time()))
    done.set()
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    for transport in transports:
        transport.close()
    print(json.dumps({"latencies": tally.latencies, "received": tally.received,
                      "gaps": tally.gaps, "closed": tally.closed, "errors": tally.errors[:5],
                      "connections": len(channels), "cpu": cpu}), flush=True)


# ---------------------------------------------------------------- parent process


async def seed(server: RelayerProcess) -> list[str]:
    bodies = signed_bodies(make_validator(), ORDERS, salt_base=0)
    result = await closed_loop("127.0.0.1", server.port, posts("/api/orders", bodies),
                               connections=16, duration=600)
    assert result.statuses == {201: ORDERS}, result.statuses
    hashes: list[str] = []
    cursor = None
    async with httpx.AsyncClient(base_url=server.url) as client:
        while True:
            query = "/api/orders?limit=500" + (f"&cursor={cursor}" if cursor else "")
            page = (await client.get(query)).json()
            hashes += [o["order_hash"] for o in page["orders"]]
            cursor = page["next_cursor"]
            if cursor is None:
                return hashes


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time of a process so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]


async def run(processes: int, per_process: int, rounds: int, seconds: int,
              client: str) -> dict[str, Any]:
    raise_open_files()
    with tempfile.TemporaryDirectory() as tmp:
        server = RelayerProcess(Path(tmp), env={
            "RELAYER_WEBSOCKET_MAX_CONNECTIONS": str(processes * per_process + FIREHOSE + 100),
        })
        await server.start()
        children: list[subprocess.Popen[str]] = []
        try:
            hashes = await seed(server)
            url = f"ws://127.0.0.1:{server.port}/ws"
            started = time.monotonic()
            for p in range(processes + 1):
                if p < processes:
                    channels = [f"prices:{hashes[(p * per_process + i) % len(hashes)]}"
                                for i in range(per_process)]
                    firehose = False
                else:
                    channels, firehose = ["prices"] * FIREHOSE, True
                spec = json.dumps({"url": url, "channels": channels, "firehose": firehose,
                                   "client": client})
                spec_file = Path(tmp) / f"client{p}.json"
                spec_file.write_text(spec)
                children.append(subprocess.Popen(
                    [sys.executable, "-m", "bench.ws_fanout", "client", str(spec_file)],
                    stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True))
            ready_lines = []
            for child in children:
                assert child.stdout is not None
                ready_lines.append(json.loads(child.stdout.readline()))
            connect_seconds = time.monotonic() - started
            connected = sum(r["ready"] for r in ready_lines)
            print(f"{connected} connections subscribed in {connect_seconds:.1f} s", flush=True)
            first = math.ceil(time.time()) + 2
            plan = [(first + r * seconds, first + (r + 1) * seconds) for r in range(rounds)]
            for child in children:
                assert child.stdin is not None
                child.stdin.write(json.dumps({"rounds": plan}) + "\n")
                child.stdin.flush()
            rss = [rss_mb(server.pid)]
            while time.time() < plan[0][0]:
                await asyncio.sleep(0.05)
            cpu_start, wall_start = cpu_seconds(server.pid), time.time()
            while time.time() < plan[-1][1]:
                await asyncio.sleep(0.5)
                rss.append(rss_mb(server.pid))
            server_cpu = (cpu_seconds(server.pid) - cpu_start) / (time.time() - wall_start)
            load = os.getloadavg()[0]
            results = []
            for child in children:
                assert child.stdout is not None
                out, _ = child.communicate(timeout=300)
                results.append(json.loads(out.strip().splitlines()[-1]))
        finally:
            for child in children:
                if child.poll() is None:
                    child.kill()
            server.stop()
    return {"results": results, "rss": rss, "rounds": rounds, "seconds": seconds,
            "server_cpu": server_cpu, "load": load, "client": client,
            "per_process": per_process, "processes": processes}


def report(figures: dict[str, Any]) -> None:
    results = figures["results"]
    orders_results, hose = results[:-1], results[-1]
    seconds = figures["seconds"]
    p99s, p50s, hose_p99s = [], [], []
    for r in range(figures["rounds"]):
        lat = [x for res in orders_results for x in res["latencies"][r]]
        received = sum(res["received"][r] for res in orders_results)
        connections = sum(res["connections"] for res in orders_results)
        hose_lat = hose["latencies"][r]
        p50s.append(percentile(lat, 50))
        p99s.append(percentile(lat, 99))
        hose_p99s.append(percentile(hose_lat, 99))
        print(f"round {r + 1}: {received} of {connections * seconds} ticks received; "
              f"tick to receipt p50 {p50s[-1]:.0f} ms, p99 {p99s[-1]:.0f} ms, "
              f"max {max(lat, default=float('nan')):.0f} ms; firehose "
              f"{hose['received'][r]} of {FIREHOSE * seconds}, p99 {hose_p99s[-1]:.0f} ms")
    errors = [e for res in results for e in res["errors"]]
    if errors:
        print(f"client errors: {errors}")
    gaps = sum(res["gaps"] for res in results)
    closed = sum(res["closed"] for res in results)
    print(f"B3 ws fan-out ({figures['client']} clients): "
          f"{sum(res['connections'] for res in orders_results)} connections on "
          f"{ORDERS} orders + {FIREHOSE} firehose: median p99 {statistics.median(p99s):.0f} ms "
          f"(rounds {' / '.join(f'{x:.0f}' for x in p99s)}; target < 250), "
          f"median p50 {statistics.median(p50s):.0f} ms; firehose median p99 "
          f"{statistics.median(hose_p99s):.0f} ms; seq gaps {gaps}, closed {closed} "
          f"(target 0); server RSS max {max(figures['rss']):.0f} MB (target < 1536); server CPU "
          f"{figures['server_cpu'] * 1000:.0f} ms per second, clients "
          f"{sum(res['cpu'] for res in results) * 1000:.0f} ms per second; load average "
          f"{figures['load']:.1f} on {os.cpu_count()} CPUs")


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "client":
        spec = json.loads(Path(sys.argv[2]).read_text())
        import uvloop

        uvloop.run(client_main(spec["url"], spec["channels"], spec["firehose"],
                               spec["client"]))
        return
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--processes", type=int, default=4)
    parser.add_argument("--per-process", type=int, default=PER_PROCESS)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=20)
    parser.add_argument("--client", choices=("lean", "websockets"), default="lean")
    args = parser.parse_args()
    figures = asyncio.run(run(args.processes, args.per_process, args.rounds, args.seconds,
                              args.client))
    report(figures)


if __name__ == "__main__":
    main()
