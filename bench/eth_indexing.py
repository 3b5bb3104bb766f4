"""Benchmark: catch-up indexing of 10,000 escrow events on anvil by the Ethereum monitor.

Target: >= 2,000 events/s decoded and persisted.

Setup (not timed): a fresh anvil with the escrow contracts; automine off; the
resolver creates 2,500 source escrows (``createSrcEscrow`` fills of
maker-signed orders) and 2,500 destination escrows (``createDstEscrow``, native
ETH), sent in JSON-RPC batches and mined into full 30 M-gas blocks; then, 15 s
later in chain time, withdraws every one of them with its secret: 10,000
escrow events, the two each escrow emits on its chain. Timed, per round: a
monitor with an empty SQLite store (WAL, ``synchronous=FULL``) starts and polls
until its committed cursor reaches the head. Every round checks that each
escrow was stored with exactly one creation and one withdrawal.

    .venv/bin/python -m bench.eth_indexing [--events 10000] [--rounds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from eth_abi.abi import encode as abi_encode

from devnet.ethereum import EthereumDeployment, EthereumDevnet, load_artifact
from relayer.auction import AuctionDetails
from relayer.chains.escrows import EscrowBook
from relayer.chains.ethereum.abi import EscrowAbi, canonical_type, selector
from relayer.chains.ethereum.addresses import EscrowAddresses, with_deployed_at
from relayer.chains.ethereum.failover import FailoverRpc
from relayer.chains.ethereum.monitor import EthereumMonitor
from relayer.chains.events import CHAIN_CODEC, EscrowCreated, EscrowWithdrawn, chain_stream
from relayer.events.bus import EventBus
from relayer.events.projection import Projector
from relayer.orders.timelocks import Timelocks
from relayer.signing.eip712 import Domain, OrderStruct, order_digest
from relayer.signing.keccak import keccak256
from relayer.signing.secp256k1 import sign_digest
from relayer.store.sqlite import SQLiteEventStore
from tests.factories import make_settings

CARDANO_CHAIN_ID = (1 << 64) + 42
TIMELOCKS = Timelocks(src_withdrawal=12, src_public_withdrawal=120, src_cancellation=600,
                      src_public_cancellation=720, dst_withdrawal=10,
                      dst_public_withdrawal=100, dst_cancellation=500)
GAS = 400_000
BATCH = 500


def _function(name: str, contract: str = "EscrowFactory") -> dict[str, Any]:
    abi = load_artifact(contract)["abi"]
    item: dict[str, Any] = next(i for i in abi if i.get("type") == "function"
                                and i.get("name") == name)
    return item


@dataclass(frozen=True, slots=True)
class Escrow:
    kind: str
    """``src`` or ``dst``."""
    immutables: tuple[Any, ...]
    """With ``deployedAt`` 0 (the factory sets it)."""
    secret: bytes
    tx: dict[str, Any]


def escrow_creations(devnet: EthereumDevnet, count: int) -> list[Escrow]:
    """``count`` escrow creations from the resolver, half source and half destination."""
    d = devnet.deployment
    create_src, create_dst = _function("createSrcEscrow"), _function("createDstEscrow")
    src_types = [canonical_type(p) for p in create_src["inputs"]]
    dst_types = [canonical_type(p) for p in create_dst["inputs"]]
    domain = Domain(d.chain_id, bytes.fromhex(d.factory[2:]))
    now = int(devnet.request("eth_getBlockByNumber", "latest", False)["timestamp"], 16)
    auction = AuctionDetails(start_time=now, duration=180, initial_rate_bump=0,
                             points=()).encode()
    rng = random.Random(1)
    maker, resolver = int(d.maker.address, 16), int(d.resolver.address, 16)
    escrows = []
    for i in range(count):
        secret = rng.randbytes(32)
        if i % 2 == 0:
            order = OrderStruct(
                salt=i, src_chain_id=d.chain_id, dst_chain_id=CARDANO_CHAIN_ID,
                maker=bytes.fromhex(d.maker.address[2:]), receiver=b"\x60" + rng.randbytes(28),
                maker_asset=bytes.fromhex(d.token[2:]), taker_asset=b"", making_amount=1_000,
                taking_amount=1_000, auction_details=auction, hashlock=keccak256(secret),
                parts=1, timelocks=TIMELOCKS.pack(), src_safety_deposit=1_000,
                dst_safety_deposit=1_000, deadline=now + 86_400)
            digest = order_digest(order, domain)
            fields = (order.salt, order.src_chain_id, order.dst_chain_id, order.maker,
                      order.receiver, order.maker_asset, order.taker_asset,
                      order.making_amount, order.taking_amount, order.auction_details,
                      order.hashlock, order.parts, order.timelocks, order.src_safety_deposit,
                      order.dst_safety_deposit, order.deadline)
            signature = sign_digest(digest, d.maker.private_key)
            data = selector(create_src) + abi_encode(
                src_types, [fields, signature, (1_000, 10**9, 0, bytes(32), [])])
            immutables = (digest, keccak256(secret), maker, resolver, int(d.token, 16),
                          1_000, 1_000, TIMELOCKS.pack())
            escrows.append(Escrow("src", immutables, secret, _tx(d, d.factory, data, 1_000)))
        else:
            immutables = (rng.randbytes(32), keccak256(secret), maker, resolver, 0, 1_000,
                          1_000, TIMELOCKS.pack())
            data = selector(create_dst) + abi_encode(dst_types, [immutables, 2**40])
            escrows.append(Escrow("dst", immutables, secret, _tx(d, d.factory, data, 2_000)))
    return escrows


def _tx(d: EthereumDeployment, to: str, data: bytes, value: int) -> dict[str, Any]:
    return {"from": d.resolver.address, "to": to, "data": "0x" + data.hex(),
            "value": hex(value), "gas": hex(GAS), "maxFeePerGas": hex(10**12),
            "maxPriorityFeePerGas": "0x0"}


def send_and_mine(devnet: EthereumDevnet, txs: list[dict[str, Any]]) -> list[Any]:
    """Send ``txs`` from the resolver with automine off, mine until the pool is empty;
    the receipts, all successful."""
    d = devnet.deployment
    nonce = int(devnet.request("eth_getTransactionCount", d.resolver.address, "pending"), 16)
    devnet.request("evm_setAutomine", False)
    hashes: list[str] = []
    with httpx.Client(base_url=d.rpc_url, timeout=120) as client:
        for start in range(0, len(txs), BATCH):
            body = [{"jsonrpc": "2.0", "id": start + i, "method": "eth_sendTransaction",
                     "params": [{**tx, "nonce": hex(nonce + start + i)}]}
                    for i, tx in enumerate(txs[start:start + BATCH])]
            answers = sorted(client.post("", json=body).json(), key=lambda a: a["id"])
            errors = [a["error"] for a in answers if "error" in a]
            if errors:
                raise RuntimeError(f"sending transactions failed: {errors[:3]}")
            hashes.extend(a["result"] for a in answers)
        while int(devnet.request("txpool_status")["pending"], 16) > 0:
            devnet.request("evm_mine")
        devnet.request("evm_setAutomine", True)
        receipts = []
        for start in range(0, len(hashes), BATCH):
            body = [{"jsonrpc": "2.0", "id": i, "method": "eth_getTransactionReceipt",
                     "params": [h]} for i, h in enumerate(hashes[start:start + BATCH])]
            answers = sorted(client.post("", json=body).json(), key=lambda a: a["id"])
            receipts.extend(a["result"] for a in answers)
    if any(r is None or int(r["status"], 16) != 1 for r in receipts):
        raise RuntimeError("a benchmark transaction failed: the benchmark's chain is wrong")
    return receipts


def fill_chain(devnet: EthereumDevnet, count: int) -> tuple[int, int]:
    """``count`` escrow events: ``count // 4`` source and as many destination escrows
    created, then every one of them withdrawn with its secret (creation and withdrawal
    are the two events of each escrow on its chain). Returns (events, blocks)."""
    d = devnet.deployment
    approve = selector(_function("approve", "TestToken"))
    devnet.request("eth_sendTransaction", {
        "from": d.maker.address, "to": d.token,
        "data": "0x" + (approve + abi_encode(["address", "uint256"],
                                             [d.factory, 2**256 - 1])).hex()})
    first = int(devnet.request("eth_blockNumber"), 16)
    escrows = escrow_creations(devnet, count // 2)
    receipts = send_and_mine(devnet, [e.tx for e in escrows])
    stamps = {}
    for number in {r["blockNumber"] for r in receipts}:
        stamps[number] = int(devnet.request("eth_getBlockByNumber", number, False)
                             ["timestamp"], 16)
    addresses = EscrowAddresses(bytes.fromhex(d.factory[2:]),
                                bytes.fromhex(d.escrow_src_implementation[2:]),
                                bytes.fromhex(d.escrow_dst_implementation[2:]))
    withdraw = _function("withdraw", "EscrowSrc")
    types = [canonical_type(p) for p in withdraw["inputs"]]
    devnet.request("evm_increaseTime", 15)  # past both withdrawal starts, before cancels
    withdrawals = []
    for escrow, receipt in zip(escrows, receipts, strict=True):
        deployed = (*escrow.immutables[:7],
                    with_deployed_at(escrow.immutables[7], stamps[receipt["blockNumber"]]))
        words = [int.from_bytes(w, "big") if isinstance(w, bytes) else w for w in deployed]
        at = addresses.src(words) if escrow.kind == "src" else addresses.dst(words)
        data = selector(withdraw) + abi_encode(types, [escrow.secret, deployed])
        withdrawals.append(_tx(d, "0x" + at.hex(), data, 0))
    send_and_mine(devnet, withdrawals)
    last = int(devnet.request("eth_blockNumber"), 16)
    return 2 * len(escrows), last - first


async def index_once(rpc_url: str, data_dir: Path, expected: int) -> tuple[float, int]:
    settings = make_settings(**{"chains.ethereum.follow": True,
                                "chains.ethereum.rpc_urls": [rpc_url]}).chains.ethereum
    store = SQLiteEventStore(data_dir / "events.sqlite3")
    await store.open()
    rpc = FailoverRpc(settings.rpc_urls)
    try:
        escrows = EscrowBook()
        projector = Projector(CHAIN_CODEC, EventBus(), [escrows])
        monitor = EthereumMonitor(rpc=rpc, store=store, committed=projector.committed,
                                  escrows=escrows, settings=settings, abi=EscrowAbi.load())
        started = time.perf_counter()
        while await monitor.poll():
            pass
        elapsed = time.perf_counter() - started
        records = await store.read_stream(chain_stream("ethereum"))
        events = [CHAIN_CODEC.decode(r) for r in records]
        created = {e.escrow for e in events if isinstance(e, EscrowCreated)}
        withdrawn = {e.escrow for e in events if isinstance(e, EscrowWithdrawn)}
        if len(events) != expected or len(created) * 2 != expected or withdrawn != created:
            raise RuntimeError(f"stored {len(events)} events for {len(created)} escrows, "
                               f"expected {expected} events, a creation and a withdrawal each")
        return elapsed, len(records)
    finally:
        await rpc.close()
        await store.close()


async def run(events: int, rounds: int) -> None:
    async with EthereumDevnet() as devnet:
        started = time.perf_counter()
        events, blocks = fill_chain(devnet, events)
        print(f"setup: {events} escrow events (creations and withdrawals) in {blocks} blocks "
              f"({time.perf_counter() - started:.1f} s, not timed)", flush=True)
        rates = []
        for r in range(rounds):
            with tempfile.TemporaryDirectory() as tmp:
                elapsed, stored = await index_once(devnet.rpc_url, Path(tmp), events)
            rates.append(stored / elapsed)
            print(f"round {r + 1}: {stored} events decoded and persisted in {elapsed:.2f} s "
                  f"= {stored / elapsed:,.0f} events/s", flush=True)
    median = statistics.median(rates)
    print(f"catch-up indexing: median {median:,.0f} events/s over {rounds} rounds "
          f"(rounds {' / '.join(f'{x:,.0f}' for x in rates)}); target >= 2,000 events/s: "
          f"{'met' if median >= 2_000 else 'NOT met'}; cpu count {os.cpu_count()}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    asyncio.run(run(args.events, args.rounds))


if __name__ == "__main__":
    main()
