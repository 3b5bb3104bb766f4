"""Benchmark: the Cardano monitor syncing 20,000 blocks holding 5,000 escrow transactions.

    .venv/bin/python bench/cardano_monitor.py [--blocks 20000] [--escrow-txs 5000]
        [--rounds 3] [--window 100] [--batch 500]

The chain (documented shortcut, as in bench/cardano_chainsync.py): two real
transactions are built by pycardano and validated by the simulator: an escrow creation
(an output at the committed escrow validator's address with an inline destination-escrow
datum holding amount and safety deposit) and its withdrawal (the escrow validator run with
a ``Withdraw(secret)`` redeemer, the taker's signature and the tagged payout). Their
decoded forms are cloned into ``escrow_txs`` transactions with distinct ids,
alternately a creation and the withdrawal of the creation before it, one every
``blocks // escrow_txs`` blocks, appended straight into the ledger; each clone is
rendered to Ogmios JSON like a submitted transaction (a withdrawal carries the 3.9 KB
escrow script and its CBOR). So the monitor derives
``escrow_txs / 2`` ``EscrowCreated`` and as many ``EscrowWithdrawn`` events (each
withdrawal decodes its redeemer and checks the secret against the hashlock).

The simulator serves from this process; the monitor runs in a child process (the other
core) exactly as the relayer runs it: the async Ogmios client with ``window`` nextBlock
requests in flight, decoding, and one SQLite commit (WAL, ``synchronous=FULL``) of the
events plus the cursor per batch of up to ``batch`` blocks, then the escrow projection
and the bus. A round is a full sync from the origin into a fresh store, timed from the
monitor's start until its committed slot is the chain's tip; the child then checks the
log (every event present once, versions without gaps) and the projection.
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
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    parser.add_argument("--blocks", type=int, default=20_000)
    parser.add_argument("--escrow-txs", type=int, default=5_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--window", type=int, default=100)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--client", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--escrow-script", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--expect", type=int, default=0, help=argparse.SUPPRESS)
    return parser.parse_args()


# -- the monitor (child process) ------------------------------------------------------


async def run_monitor(args: argparse.Namespace) -> dict[str, Any]:
    from relayer.chains.cardano.decode import ScriptHashes
    from relayer.chains.cardano.events import CARDANO_STREAM_CODEC
    from relayer.chains.cardano.monitor import CardanoMonitor
    from relayer.chains.cardano.ogmios import OgmiosConnection, OgmiosNode
    from relayer.chains.escrows import EscrowBook, EscrowPhase
    from relayer.chains.events import chain_stream
    from relayer.config import load_settings
    from relayer.events.bus import EventBus
    from relayer.events.projection import Projector
    from relayer.store.sqlite import SQLiteEventStore

    connection = await OgmiosConnection.open(args.client)
    tip = await connection.request("queryNetwork/tip")
    await connection.close()
    settings = load_settings(overrides={"chains.cardano.sync_window": args.window,
                                        "chains.cardano.batch_blocks": args.batch})
    scripts = ScriptHashes(escrow=frozenset({bytes.fromhex(args.escrow_script)}),
                           order=frozenset())
    with tempfile.TemporaryDirectory() as tmp:
        store = SQLiteEventStore(Path(tmp) / "events.db")
        await store.open()
        bus = EventBus()
        escrows = EscrowBook()
        projector = Projector(CARDANO_STREAM_CODEC, bus, [escrows])
        monitor = CardanoMonitor(node=OgmiosNode(args.client, window=args.window),
                                 store=store, committed=projector.committed, scripts=scripts,
                                 settings=settings.chains.cardano)
        started = time.perf_counter()
        await monitor.start()
        while monitor.status().processed != tip["slot"]:
            await asyncio.sleep(0.005)
        elapsed = time.perf_counter() - started
        await monitor.stop()
        records = await store.read_stream(chain_stream("cardano"))
        await store.close()
    assert [r.version for r in records] == list(range(1, len(records) + 1)), "gap in versions"
    assert len(records) == args.expect, f"{len(records)} events, expected {args.expect}"
    states = list(escrows)
    assert len(states) == args.expect // 2
    assert all(s.phase is EscrowPhase.WITHDRAWN for s in states)
    return {"blocks": monitor.blocks_processed, "events": len(records), "seconds": elapsed,
            "blocks_per_second": monitor.blocks_processed / elapsed}


# -- the chain (this process) ---------------------------------------------------------


async def build_chain(sim: Any, blocks: int, escrow_txs: int) -> bytes:
    """Build the chain; return the escrow script's hash."""
    from pycardano import Address, TransactionOutput, Value

    from relayer.chains.cardano.datums import to_plutus_data
    from relayer.chains.cardano.escrow_datum import Withdraw
    from relayer.chains.cardano.plutus_data import OutputTag
    from tests.integration.cardano.chain import (
        abi_script,
        dst_datum,
        key_hash,
        lock,
        script_hash,
        secret_of,
        spend,
        utxos_at,
    )

    escrow_script = abi_script("escrow")
    maker, taker = sim.accounts[0], sim.accounts[1]
    secret = secret_of(7)
    datum = dst_datum(sim, maker=maker, taker=taker, secret=secret)
    lock_tx = await asyncio.to_thread(lock, sim, taker, escrow_script, datum, 12_000_000)
    await sim.submit(lock_tx.to_cbor())
    create = (await sim.advance()).transactions[0]
    (escrow,) = await asyncio.to_thread(utxos_at, sim, escrow_script)

    # The real escrow validator runs: taker's signature, the window, the tagged payout.
    genesis = sim.genesis
    lower = -(-(datum.withdrawal - genesis.start_time * 1000) // genesis.slot_length_ms)
    await sim.advance(lower - sim.current_slot)
    payout = TransactionOutput(Address.from_primitive(maker.address), Value(datum.amount),
                               datum=to_plutus_data(OutputTag(lock_tx.id.payload, 0)))
    withdraw = await asyncio.to_thread(
        spend, sim, taker, escrow, escrow_script, Withdraw(secret), outputs=[payout],
        required=[key_hash(taker.signing_key)], lower=lower, upper=lower + 60)
    await sim.submit(withdraw.to_cbor())
    spend_tx = (await sim.advance()).transactions[0]
    assert spend_tx.executions, "the withdrawal template must have run the escrow validator"

    chain = sim.chain
    every = max(1, (blocks - chain.height) // max(1, escrow_txs))
    made = 0
    last_created = b""
    slot = chain.current_slot
    while chain.height < blocks:
        slot += 1
        batch = []
        if made < escrow_txs and chain.height % every == 0:
            tx_id = hashlib.blake2b(b"escrow" + made.to_bytes(4, "big"), digest_size=32).digest()
            if made % 2 == 0:
                tx = dataclasses.replace(create.tx, id=tx_id, inputs=[(tx_id, 0)])
                last_created = tx_id
                template = create
            else:
                # Spend the creation before: the escrow input alone, so the redeemer's
                # index (0) still points at it.
                tx = dataclasses.replace(spend_tx.tx, id=tx_id, inputs=[(last_created, 0)])
                template = spend_tx
            empty = dataclasses.replace(template.delta, consumed=[], produced=[])
            batch.append(dataclasses.replace(template, tx=tx, delta=empty))
            made += 1
        chain.append_prevalidated(slot, batch)
    print(f"chain: {chain.height} blocks, {made} escrow transactions "
          f"({(made + 1) // 2} creations, {made // 2} withdrawals) + 2 templates", flush=True)
    return script_hash(escrow_script)


async def serve_and_measure(args: argparse.Namespace) -> None:
    from devnet.cardano import CardanoSimulator, GenesisConfig

    async with CardanoSimulator(GenesisConfig(seed=b"bench-monitor".ljust(32, b"\0"))) as sim:
        started = time.perf_counter()
        escrow_script = await build_chain(sim, args.blocks, args.escrow_txs)
        print(f"build: {time.perf_counter() - started:.1f} s", flush=True)
        # The two templates add one creation and one withdrawal.
        expected = 2 * ((args.escrow_txs + 1) // 2) + 2
        results = []
        for _ in range(args.rounds):
            process = await asyncio.create_subprocess_exec(
                sys.executable, __file__, "--client", sim.url, "--escrow-script",
                escrow_script.hex(), "--expect", str(expected), "--window", str(args.window),
                "--batch", str(args.batch), stdout=subprocess.PIPE)
            out, _ = await process.communicate()
            if process.returncode != 0:
                raise SystemExit(f"monitor round failed ({process.returncode})")
            result = json.loads(out.decode().strip().splitlines()[-1])
            results.append(result)
            print(f"round: {result['blocks']} blocks, {result['events']} events in "
                  f"{result['seconds']:.2f} s = {result['blocks_per_second']:,.0f} blocks/s",
                  flush=True)
        rates = [r["blocks_per_second"] for r in results]
        seconds = [r["seconds"] for r in results]
        print(f"monitor (window {args.window}, batch {args.batch}): median "
              f"{statistics.median(rates):,.0f} blocks/s (min {min(rates):,.0f}, "
              f"max {max(rates):,.0f}); median full sync {statistics.median(seconds):.2f} s "
              f"for {results[0]['blocks']} blocks and {results[0]['events']} events",
              flush=True)


def main() -> None:
    import logging

    import structlog

    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    args = parse_args()
    if args.client:
        print(json.dumps(asyncio.run(run_monitor(args))), flush=True)
        return
    asyncio.run(serve_and_measure(args))


if __name__ == "__main__":
    main()
