"""Benchmark B4: secret-reveal latency and swaps per minute on the devnet.

The whole devnet comes up in a temporary directory (anvil and the Cardano
simulator, one block a second each; ``relayer serve``), with the two reference
resolvers running in this process. ``--orders`` custody-mode orders (half
Ethereum-to-Cardano, half Cardano-to-Ethereum) are submitted at once; the
resolvers fill them as the auctions make them profitable.

Reveal latency is timed from the moment the last reveal rule became true to
the receipt of ``secret_shared`` by a WebSocket client subscribed to the
``secrets`` channel. The devnet's destination finality lock (``dst_withdrawal``,
5 s) outlasts the confirmations (2 blocks), so for nearly every fill the last
rule is the lock, which ends at an exact chain time (the destination escrow's
creation, the later of its block's time and its ``deployedAt``, + 5 s). A poller
watches each fill's withheld reasons; a fill
whose last reasons before the release were anything but the lock alone is
counted apart, not timed (its rule became true at a block whose arrival time
this benchmark does not know). Throughput is settled swaps per minute, from
the first submission to the last settlement.

Target: reveal latency p99 <= 1 s.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import websockets

from devnet.process import free_port
from devnet.scenario_kit import SETTLED, Report, Scene
from devnet.stack import Devnet, DevnetOptions
from relayer.log_setup import configure_logging
from relayer.orders.timelocks import Stage, Timelocks
from relayer.settlement.policy import stage_start


async def watch_secrets(url: str, api_key: str, seen: dict[tuple[str, int], float],
                        ready: asyncio.Event) -> None:
    headers = {"Authorization": f"Bearer {api_key}"}
    async with websockets.connect(url, additional_headers=headers) as ws:
        await ws.send(json.dumps({"id": 1, "method": "subscribe",
                                  "params": {"channel": "secrets"}}))
        async for raw in ws:
            now = time.time()
            message = json.loads(raw)
            if message.get("id") == 1:
                ready.set()
            if message.get("event") == "secret_shared":
                data = message["data"]
                seen.setdefault((data["order_hash"], int(data["idx"])), now)


async def watch_reasons(scene: Scene, order_hash: str,
                        last: dict[tuple[str, int], tuple[str, ...]], stop: asyncio.Event
                        ) -> None:
    """The withheld reasons of each fill as last seen before its release."""
    while not stop.is_set():
        try:
            for fill in await scene.client.fills(order_hash):
                if fill.status in ("verified", "final", "invalid_escrow", "src_escrow_seen"):
                    last[(order_hash, fill.idx)] = fill.reasons
        except Exception:  # noqa: BLE001 - a busy relayer: look again
            pass
        await asyncio.sleep(0.1)


async def run(orders: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="bench-settlement-") as tmp:
        options = DevnetOptions(directory=Path(tmp), relayer_port=free_port(),
                                anvil_port=free_port(), ogmios_port=free_port())
        devnet = Devnet(options)
        try:
            await devnet.start()
            return await measure(devnet, orders)
        finally:
            devnet.stop()


async def measure(devnet: Devnet, orders: int) -> dict[str, Any]:
    scene = Scene(devnet, Report(scenario="bench"))
    seen: dict[tuple[str, int], float] = {}
    last: dict[tuple[str, int], tuple[str, ...]] = {}
    stop = asyncio.Event()
    ready = asyncio.Event()
    ws_url = devnet.relayer_url.replace("http://", "ws://") + "/ws"
    scene.spawn(watch_secrets(ws_url, devnet.api_key("watcher"), seen, ready))
    await asyncio.wait_for(ready.wait(), 10)
    resolvers = [scene.start_resolver("alpha"), scene.start_resolver("beta")]
    try:
        directions = ["eth-to-ada", "ada-to-eth"] * (orders // 2) + ["eth-to-ada"] * (orders % 2)
        specs = [await scene.spec(d, custody=True) for d in directions]
        started = time.monotonic()
        submitted = []
        for spec in specs:  # one maker: its wallets send one transaction at a time
            submitted.append(await scene.submit(spec))
        for order in submitted:
            scene.spawn(watch_reasons(scene, order.order_hash, last, stop))

        async def all_settled() -> bool:
            for order in submitted:
                fills = await scene.client.fills(order.order_hash)
                if not fills or any(f.status != SETTLED for f in fills):
                    return False
            return True

        await scene.until("every swap settled", all_settled, timeout=600)
        elapsed = time.monotonic() - started
        stop.set()
        latencies, others = [], 0
        for resolver in resolvers:
            for record in resolver.records:
                if record.outcome != SETTLED or record.dst is None:
                    continue
                key = (record.order_hash, record.secret_index)
                # The relayer counts the lock from the escrow's creation: the later of its
                # block's time and the deployedAt it declares (a Cardano lower validity
                # bound lies before the block), never before the escrow's own stage.
                packed = record.dst.immutables.timelocks
                offsets, deployed_at = Timelocks.unpack(packed)
                lock_ends = max(max(record.dst.created.block_time, deployed_at)
                                + offsets.dst_withdrawal,
                                stage_start(packed, Stage.DST_WITHDRAWAL))
                if last.get(key) == ("DST_FINALITY_LOCK",) and key in seen:
                    latencies.append(seen[key] - lock_ends)
                else:
                    others += 1
        latencies.sort()
        return {
            "orders": orders,
            "settled_swaps": sum(1 for r in resolvers for rec in r.records
                                 if rec.outcome == SETTLED),
            "elapsed_s": round(elapsed, 1),
            "swaps_per_minute": round(orders / elapsed * 60, 1),
            "timed_fills": len(latencies),
            "untimed_fills": others,
            "latency_ms": {
                "p50": round(statistics.median(latencies) * 1000, 1) if latencies else None,
                "p99": round(latencies[min(len(latencies) - 1,
                                           int(len(latencies) * 0.99))] * 1000, 1)
                if latencies else None,
                "max": round(max(latencies) * 1000, 1) if latencies else None,
            },
        }
    finally:
        stop.set()
        await scene.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--orders", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=1)
    args = parser.parse_args()
    configure_logging(format="console", level="warning")
    logging.getLogger("ogmios").setLevel(logging.ERROR)
    results = []
    for round_no in range(args.rounds):
        result = asyncio.run(run(args.orders))
        results.append(result)
        print(f"round {round_no + 1}: {json.dumps(result)}", flush=True)
    p99s = [r["latency_ms"]["p99"] for r in results if r["latency_ms"]["p99"] is not None]
    rates = [r["swaps_per_minute"] for r in results]
    print(json.dumps({"median_p99_ms": statistics.median(p99s) if p99s else None,
                      "median_swaps_per_minute": statistics.median(rates)}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
