"""A small HTTP/1.1 load generator on raw asyncio streams (keep-alive connections).

Closed loop: N connections send back to back, for throughput. Open loop: requests
start on a fixed schedule whatever the server does, and latency counts from the
scheduled start, so a stalled server cannot hide its queueing (no coordinated
omission).
"""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class Result:
    latencies: list[float] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)
    elapsed: float = 0.0

    @property
    def count(self) -> int:
        return len(self.latencies)

    def rate(self) -> float:
        return self.count / self.elapsed if self.elapsed else 0.0

    def percentile(self, p: float) -> float:
        ordered = sorted(self.latencies)
        if not ordered:
            return float("nan")
        return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]

    def summary(self) -> str:
        ms = 1000
        return (f"{self.count} requests in {self.elapsed:.2f}s = {self.rate():.0f}/s; "
                f"latency p50 {self.percentile(50) * ms:.1f} ms, "
                f"p99 {self.percentile(99) * ms:.1f} ms, max {max(self.latencies) * ms:.1f} ms; "
                f"statuses {dict(sorted(self.statuses.items()))}")


class Connection:
    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def open(self) -> None:
        self.reader, self.writer = await asyncio.open_connection(self.host, self.port)

    async def send(self, raw: bytes) -> tuple[int, bytes]:
        assert self.reader is not None and self.writer is not None
        self.writer.write(raw)
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        length = 0
        for line in head.split(b"\r\n")[1:]:
            if line[:15].lower() == b"content-length:":
                length = int(line[15:])
        body = await self.reader.readexactly(length)
        return status, body

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


def get(path: str, host: str = "127.0.0.1") -> bytes:
    return f"GET {path} HTTP/1.1\r\nHost: {host}\r\n\r\n".encode()


def post(path: str, body: bytes, host: str = "127.0.0.1") -> bytes:
    return (f"POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n").encode() + body


async def closed_loop(host: str, port: int, next_request: Callable[[], bytes | None],
                      *, connections: int, duration: float) -> Result:
    result = Result()
    conns = [Connection(host, port) for _ in range(connections)]
    await asyncio.gather(*(c.open() for c in conns))
    stop_at = time.perf_counter() + duration
    started = time.perf_counter()

    async def run(conn: Connection) -> None:
        while time.perf_counter() < stop_at:
            raw = next_request()
            if raw is None:
                return
            t0 = time.perf_counter()
            status, _ = await conn.send(raw)
            result.latencies.append(time.perf_counter() - t0)
            result.statuses[status] = result.statuses.get(status, 0) + 1

    await asyncio.gather(*(run(c) for c in conns))
    result.elapsed = time.perf_counter() - started
    for c in conns:
        c.close()
    return result


async def open_loop(host: str, port: int, next_request: Callable[[], bytes | None],
                    *, rate: float, duration: float, connections: int = 64) -> Result:
    result = Result()
    idle: asyncio.Queue[Connection] = asyncio.Queue()
    for _ in range(connections):
        conn = Connection(host, port)
        await conn.open()
        idle.put_nowait(conn)
    total = int(rate * duration)
    start = time.perf_counter() + 0.05
    tasks = []

    async def one(scheduled: float, raw: bytes) -> None:
        conn = await idle.get()
        status, _ = await conn.send(raw)
        result.latencies.append(time.perf_counter() - scheduled)
        result.statuses[status] = result.statuses.get(status, 0) + 1
        idle.put_nowait(conn)

    for i in range(total):
        scheduled = start + i / rate
        delay = scheduled - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        raw = next_request()
        if raw is None:
            break
        tasks.append(asyncio.create_task(one(scheduled, raw)))
    await asyncio.gather(*tasks)
    result.elapsed = time.perf_counter() - start
    while not idle.empty():
        idle.get_nowait().close()
    return result


def posts(path: str, bodies: list[bytes]) -> Callable[[], bytes | None]:
    """A request source that posts each body once, then reports the end."""
    it = iter(bodies)

    def next_request() -> bytes | None:
        body = next(it, None)
        return None if body is None else post(path, body)

    return next_request


class Figures:
    """Per-round results of a closed-loop and an open-loop phase, reported as medians."""

    def __init__(self) -> None:
        self.throughput: list[float] = []
        self.p50: list[float] = []
        self.p99: list[float] = []

    def add(self, round_no: int, sustained: Result, paced: Result) -> None:
        print(f"round {round_no}: sustained {sustained.summary()}")
        print(f"round {round_no}: at {paced.rate():.0f}/s   {paced.summary()}")
        self.throughput.append(sustained.rate())
        self.p50.append(paced.percentile(50) * 1000)
        self.p99.append(paced.percentile(99) * 1000)

    def report(self, name: str, unit: str, throughput_target: int, rate: int,
               p99_target_ms: int) -> None:
        print(f"{name}: median sustained {statistics.median(self.throughput):.0f} {unit}"
              f" (target >= {throughput_target}); at {rate}/s offered median p50"
              f" {statistics.median(self.p50):.1f} ms, median p99"
              f" {statistics.median(self.p99):.1f} ms (target < {p99_target_ms} ms)")
