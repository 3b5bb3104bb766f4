"""Benchmark B3: WebSocket fan-out of price ticks to 10,000 clients.

A real ``relayer serve`` child holds 1,000 active orders whose taking amount
changes every second. Client processes (``--clients`` of them, 2,500
connections each by default) subscribe each connection to ``prices:<hash>`` of
one of the orders (ten per order); one more process holds 100 subscribers of
the ``prices`` firehose. Every received ``price_update`` is timed from the
start of the second it prices (the decayer ticks on whole seconds, so this
includes the scheduler's wake-up) to its receipt.

Targets: p99 from tick to receipt < 250 ms; no drops for healthy clients
(every connection gets every tick, consecutive ``seq``, none closed); server
RSS < 1.5 GB.
"""

from __future__ import annotations

import argparse
import asyncio
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
from typing import Any

import httpx
import msgspec

from bench.loadgen import closed_loop, posts
from bench.orders import signed_bodies
from relayer.devnet.process import RelayerProcess
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


async def client_main(url: str, channels: list[str], firehose: bool) -> None:
    raise_open_files()
    tally = Tally([])
    done = asyncio.Event()
    tasks = []
    for start in range(0, len(channels), 100):
        batch = []
        for channel in channels[start:start + 100]:
            ready = asyncio.Event()
            tasks.append(asyncio.create_task(follow(url, channel, tally, firehose, ready, done)))
            batch.append(ready.wait())
        await asyncio.gather(*batch)
    print(json.dumps({"ready": len(tasks)}), flush=True)
    line = await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
    rounds = [(r[0], r[1]) for r in json.loads(line)["rounds"]]
    tally.rounds = rounds
    tally.latencies = [[] for _ in rounds]
    tally.received = [0 for _ in rounds]
    end = rounds[-1][1]
    await asyncio.sleep(max(0.0, end + 1.5 - time.time()))
    done.set()
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    print(json.dumps({"latencies": tally.latencies, "received": tally.received,
                      "gaps": tally.gaps, "closed": tally.closed, "errors": tally.errors[:5],
                      "connections": len(channels)}), flush=True)


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


async def run(processes: int, per_process: int, rounds: int, seconds: int) -> dict[str, Any]:
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
                spec = json.dumps({"url": url, "channels": channels, "firehose": firehose})
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
            "server_cpu": server_cpu, "load": load,
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
    print(f"B3 ws fan-out: {sum(res['connections'] for res in orders_results)} connections on "
          f"{ORDERS} orders + {FIREHOSE} firehose: median p99 {statistics.median(p99s):.0f} ms "
          f"(rounds {' / '.join(f'{x:.0f}' for x in p99s)}; target < 250), "
          f"median p50 {statistics.median(p50s):.0f} ms; firehose median p99 "
          f"{statistics.median(hose_p99s):.0f} ms; seq gaps {gaps}, closed {closed} "
          f"(target 0); server RSS max {max(figures['rss']):.0f} MB (target < 1536); server CPU "
          f"{figures['server_cpu'] * 1000:.0f} ms per second; load average "
          f"{figures['load']:.1f} on {os.cpu_count()} CPUs")


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "client":
        spec = json.loads(Path(sys.argv[2]).read_text())
        import uvloop

        uvloop.run(client_main(spec["url"], spec["channels"], spec["firehose"]))
        return
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--processes", type=int, default=4)
    parser.add_argument("--per-process", type=int, default=PER_PROCESS)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=20)
    args = parser.parse_args()
    figures = asyncio.run(run(args.processes, args.per_process, args.rounds, args.seconds))
    report(figures)


if __name__ == "__main__":
    main()
