"""Benchmark: chain sync of 20,000 blocks holding 5,000 Plutus V3 script transactions.

    .venv/bin/python bench/cardano_chainsync.py [--blocks 20000] [--script-txs 5000]
        [--rounds 5] [--window 1,100]

How the chain is built (documented shortcut): one real script spend (the OpShin hashlock
validator, built and balanced by pycardano, then validated by the simulator including the
`uplc` run) is submitted over the wire. Its decoded form is then cloned into 5,000 script
transactions with distinct ids and inputs, appended straight into the ledger
(`Chain.append_prevalidated`), one every `blocks // script_txs` blocks. Every clone is
rendered to Ogmios JSON exactly like a submitted transaction (inputs, outputs, redeemers,
the 2.9 KB script, the full CBOR), so the bytes served per block are the real ones; only
validation of the clones is skipped.

The client runs in a separate process (a second core), speaks raw JSON-RPC over one
WebSocket, keeps `window` nextBlock requests in flight and JSON-decodes every answer.
Figures are medians over `rounds` full syncs from origin.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import hashlib
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    parser.add_argument("--blocks", type=int, default=20_000)
    parser.add_argument("--script-txs", type=int, default=5_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--window", default="1,100", help="comma-separated in-flight windows")
    parser.add_argument("--client", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--client-window", type=int, default=100, help=argparse.SUPPRESS)
    return parser.parse_args()


# -- client (runs in its own process) ---------------------------------------------------


async def sync_once(url: str, window: int) -> dict[str, float]:
    from websockets.asyncio.client import connect

    async with connect(url, max_size=None, compression=None) as ws:
        await ws.send(json.dumps({"jsonrpc": "2.0", "method": "queryNetwork/blockHeight"}))
        tip_height = json.loads(await ws.recv())["result"]
        request = json.dumps({"jsonrpc": "2.0", "method": "nextBlock"})
        start = time.perf_counter()
        intersect = {
            "jsonrpc": "2.0",
            "method": "findIntersection",
            "params": {"points": ["origin"]},
        }
        await ws.send(json.dumps(intersect))
        json.loads(await ws.recv())
        sent = received = blocks = txs = 0
        payload_bytes = 0
        # One backward roll, then tip_height forward blocks.
        wanted = tip_height + 1
        while received < wanted:
            while sent < wanted and sent - received < window:
                await ws.send(request)
                sent += 1
            message = await ws.recv()
            payload_bytes += len(message)
            result = json.loads(message)["result"]
            received += 1
            if result["direction"] == "forward":
                blocks += 1
                txs += len(result["block"].get("transactions", ()))
        elapsed = time.perf_counter() - start
    return {
        "blocks": blocks,
        "transactions": txs,
        "seconds": elapsed,
        "blocks_per_second": blocks / elapsed,
        "megabytes": payload_bytes / 1e6,
    }


def run_client(url: str, window: int) -> None:
    print(json.dumps(asyncio.run(sync_once(url, window))), flush=True)


# -- server side ------------------------------------------------------------------------


async def build_chain(sim: object, blocks: int, script_txs: int) -> None:
    from devnet.cardano import CardanoSimulator
    from tests.devnet.cardano.txs import (
        LockDatum,
        build_lock,
        build_unlock,
        keccak_256,
        key_hash,
        script_utxos,
    )

    assert isinstance(sim, CardanoSimulator)
    owner = sim.accounts[0]
    secret = b"benchmark"
    datum = LockDatum(key_hash(owner.signing_key), keccak_256(secret), 0)
    lock = await asyncio.to_thread(build_lock, sim, owner, datum, 10_000_000)
    await sim.submit(lock.to_cbor())
    await sim.advance()
    (locked,) = await asyncio.to_thread(script_utxos, sim)
    spend = await asyncio.to_thread(build_unlock, sim, owner, locked, secret)
    await sim.submit(spend.to_cbor())
    template = (await sim.advance()).transactions[0]
    assert template.executions, "the template must be a validated script spend"

    chain = sim.chain
    every = max(1, (blocks - chain.height) // max(1, script_txs))
    made = 0
    slot = chain.current_slot
    while chain.height < blocks:
        slot += 1
        batch = []
        if made < script_txs and (chain.height % every == 0):
            tx_id = hashlib.blake2b(template.tx.id + made.to_bytes(4, "big"), digest_size=32)
            tx = dataclasses.replace(
                template.tx,
                id=tx_id.digest(),
                inputs=[(tx_id.digest(), 0)],
            )
            empty = dataclasses.replace(template.delta, consumed=[], produced=[])
            batch.append(dataclasses.replace(template, tx=tx, delta=empty))
            made += 1
        chain.append_prevalidated(slot, batch)
    print(
        f"chain: {chain.height} blocks, {made + 1} script transactions (+1 lock), built in-process",
        flush=True,
    )


async def serve_and_measure(args: argparse.Namespace) -> None:
    from devnet.cardano import CardanoSimulator, GenesisConfig

    windows = [int(w) for w in args.window.split(",")]
    async with CardanoSimulator(GenesisConfig(seed=b"bench".ljust(32, b"\0"))) as sim:
        started = time.perf_counter()
        await build_chain(sim, args.blocks, args.script_txs - 1)
        print(f"build: {time.perf_counter() - started:.1f} s", flush=True)
        for window in windows:
            results = []
            for _ in range(args.rounds):
                process = await asyncio.create_subprocess_exec(
                    sys.executable,
                    __file__,
                    "--client",
                    sim.url,
                    "--client-window",
                    str(window),
                    stdout=subprocess.PIPE,
                )
                out, _ = await process.communicate()
                results.append(json.loads(out.decode().strip().splitlines()[-1]))
            rates = [r["blocks_per_second"] for r in results]
            seconds = [r["seconds"] for r in results]
            first = results[0]
            print(
                f"window {window:>3}: median {statistics.median(rates):,.0f} blocks/s "
                f"(min {min(rates):,.0f}, max {max(rates):,.0f}); "
                f"median sync {statistics.median(seconds):.2f} s for {first['blocks']} blocks, "
                f"{first['transactions']} txs, {first['megabytes']:.1f} MB",
                flush=True,
            )


def main() -> None:
    args = parse_args()
    if args.client:
        run_client(args.client, args.client_window)
        return
    import logging

    import structlog

    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    asyncio.run(serve_and_measure(args))


if __name__ == "__main__":
    main()
