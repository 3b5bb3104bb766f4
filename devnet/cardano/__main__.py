"""`python -m devnet.cardano --port P [--keys-file F] [--slot-length-ms MS]`."""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
import tempfile
from pathlib import Path

from devnet.cardano.genesis import GenesisConfig
from devnet.cardano.simulator import CardanoSimulator


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m devnet.cardano",
        description="A Cardano ledger simulator speaking Ogmios v6 JSON-RPC over WebSocket.",
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=1337)
    parser.add_argument("--keys-file", type=Path, default=None)
    parser.add_argument("--slot-length-ms", type=int, default=1000)
    parser.add_argument("--block-interval-slots", type=int, default=1)
    parser.add_argument("--accounts", type=int, default=4)
    parser.add_argument("--lovelace", type=int, default=1_000_000_000_000)
    parser.add_argument("--network-magic", type=int, default=42)
    parser.add_argument("--seed", default=None, help="hex seed for reproducible genesis keys")
    return parser.parse_args(argv)


async def run(args: argparse.Namespace) -> None:
    config = GenesisConfig(
        slot_length_ms=args.slot_length_ms,
        accounts=args.accounts,
        lovelace_per_account=args.lovelace,
        network_magic=args.network_magic,
        seed=bytes.fromhex(args.seed) if args.seed else None,
    )
    simulator = CardanoSimulator(
        config,
        host=args.host,
        port=args.port,
        manual_clock=False,
        block_interval_slots=args.block_interval_slots,
    )
    keys_file: Path = (
        args.keys_file or Path(tempfile.mkdtemp(prefix="cardano-devnet-")) / "keys.json"
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with simulator:
        simulator.write_keys(keys_file)
        print(f"ogmios: {simulator.url}", flush=True)
        print(f"keys: {keys_file}", flush=True)
        await stop.wait()
    print("stopped", flush=True)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        asyncio.run(run(args))
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
