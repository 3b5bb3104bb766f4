"""Transactions for the monitor tests, built with pycardano against the simulator, and a
harness running a real monitor (Ogmios client, SQLite store, bus, escrow projection).

Every builder takes a fresh ``sim.chain_context()`` (pycardano caches tips and UTxOs)
and is synchronous: call it through ``asyncio.to_thread``.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import cbor2
import uplc
from pycardano import (
    Address,
    ExecutionUnits,
    Network,
    PaymentSigningKey,
    PaymentVerificationKey,
    PlutusV3Script,
    Redeemer,
    Transaction,
    TransactionBuilder,
    TransactionOutput,
    UTxO,
    Value,
    VerificationKeyHash,
    plutus_script_hash,
)

from devnet.cardano import CardanoSimulator, GenesisAccount
from relayer.chains.cardano.datums import Encodable, to_plutus_data
from relayer.chains.cardano.decode import ScriptHashes
from relayer.chains.cardano.escrow_datum import DstEscrowDatum
from relayer.chains.cardano.events import CARDANO_STREAM_CODEC
from relayer.chains.cardano.monitor import CardanoMonitor
from relayer.chains.cardano.ogmios import OgmiosNode
from relayer.chains.cardano.plutus_data import LOVELACE, PlutusAddress
from relayer.chains.cardano.scripts import load_validator
from relayer.chains.escrows import EscrowBook
from relayer.config import CardanoSettings, load_settings
from relayer.events.bus import EventBus
from relayer.events.projection import Projector
from relayer.signing.keccak import keccak256
from relayer.store.base import EventStore

DEADLINE = 20.0
BUDGET = ExecutionUnits(1_000_000, 500_000_000)


def _script(source: str) -> PlutusV3Script:
    return PlutusV3Script(cbor2.dumps(uplc.flatten(uplc.parse(source))))


ALWAYS = _script("(program 1.1.0 (lam ctx (con unit ())))")
"""Stands in for a validator that accepts: the monitor only reads datums and redeemers."""
ALWAYS_TOO = _script("(program 1.1.0 (lam ctx [(lam x (con unit ())) (con integer 7)]))")
NEVER = _script("(program 1.1.0 (lam ctx (error)))")


def script_address(script: PlutusV3Script) -> Address:
    return Address(plutus_script_hash(script), network=Network.TESTNET)


def script_hash(script: PlutusV3Script) -> bytes:
    return bytes(plutus_script_hash(script).payload)


def key_hash(key: PaymentSigningKey) -> bytes:
    return bytes(PaymentVerificationKey.from_signing_key(key).hash().payload)


def plutus_address(account: GenesisAccount) -> PlutusAddress:
    return PlutusAddress.from_address(Address.from_primitive(account.address))


def secret_of(n: int) -> bytes:
    return n.to_bytes(32, "big")


def dst_datum(sim: CardanoSimulator, *, maker: GenesisAccount, taker: GenesisAccount,
              secret: bytes, amount: int = 10_000_000, deposit: int = 2_000_000,
              order_hash: bytes = b"\x0a" * 32) -> DstEscrowDatum:
    now_ms = sim.genesis.slot_to_posix_ms(sim.current_slot)
    return DstEscrowDatum(
        order_hash=order_hash, hashlock=keccak256(secret), maker=plutus_address(maker),
        taker=plutus_address(taker), asset=LOVELACE, amount=amount, safety_deposit=deposit,
        withdrawal=now_ms + 10_000, public_withdrawal=now_ms + 100_000,
        cancellation=now_ms + 500_000,
    )


def lock(sim: CardanoSimulator, sender: GenesisAccount, script: PlutusV3Script,
         datum: Encodable | None, lovelace: int, *, copies: int = 1) -> Transaction:
    """Pay ``lovelace`` to the script's address with ``datum`` inline, ``copies`` times."""
    builder = TransactionBuilder(sim.chain_context())
    builder.add_input_address(sender.address)
    for _ in range(copies):
        builder.add_output(TransactionOutput(
            script_address(script), Value(lovelace),
            datum=None if datum is None else to_plutus_data(datum)))
    return builder.build_and_sign([sender.signing_key],
                                  change_address=Address.from_primitive(sender.address))


def spend(sim: CardanoSimulator, spender: GenesisAccount, utxo: UTxO, script: PlutusV3Script,
          redeemer: Encodable, *, ex_units: ExecutionUnits | None = None,
          required: list[bytes] | None = None, outputs: list[TransactionOutput] | None = None,
          lower: int | None = None, upper: int | None = None) -> Transaction:
    """Spend a script output with ``redeemer``; the change goes back to ``spender``;
    ``required``: key hashes the transaction declares as signers; ``outputs`` come first,
    in order; ``lower``/``upper``: the validity interval in slots (default: tip, tip + 100)."""
    context = sim.chain_context()
    builder = TransactionBuilder(context)
    builder.add_script_input(utxo, script=script,
                             redeemer=Redeemer(to_plutus_data(redeemer), ex_units))
    builder.add_input_address(spender.address)
    for output in outputs or ():
        builder.add_output(output)
    if required:
        builder.required_signers = [VerificationKeyHash(h) for h in required]
    tip = context.last_block_slot
    builder.validity_start = tip if lower is None else lower
    builder.ttl = tip + 100 if upper is None else upper
    return builder.build_and_sign([spender.signing_key],
                                  change_address=Address.from_primitive(spender.address))


def pay(sim: CardanoSimulator, sender: GenesisAccount, to: str, lovelace: int) -> Transaction:
    builder = TransactionBuilder(sim.chain_context())
    builder.add_input_address(sender.address)
    builder.add_output(TransactionOutput(Address.from_primitive(to), Value(lovelace)))
    return builder.build_and_sign([sender.signing_key],
                                  change_address=Address.from_primitive(sender.address))


def abi_script(name: str) -> PlutusV3Script:
    """A committed validator (``contracts-abi/cardano/<name>.json``)."""
    script: PlutusV3Script = load_validator(name).script
    return script


def utxos_at(sim: CardanoSimulator, script: PlutusV3Script) -> list[UTxO]:
    found: list[UTxO] = sim.chain_context().utxos(script_address(script))
    return found


async def submit(sim: CardanoSimulator, tx: Transaction) -> str:
    return await sim.submit(tx.to_cbor())


def monitor_settings(**overrides: Any) -> CardanoSettings:
    values = {"chains.cardano.reconnect_min_seconds": 0.05,
              "chains.cardano.reconnect_max_seconds": 0.2,
              **{f"chains.cardano.{k}": v for k, v in overrides.items()}}
    return load_settings(overrides=values).chains.cardano


async def wait_for(check: Callable[[], bool | Awaitable[bool]], what: str,
                   timeout: float = DEADLINE) -> None:
    """Poll ``check`` (no fixed sleeps: a short yield between polls) until it holds."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if not isinstance(result, bool):
            result = await result
        if result:
            return
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out waiting for {what}")
        await asyncio.sleep(0.01)


@dataclass
class Harness:
    """A monitor on a store, with its bus recorded and the escrow projection fed."""

    store: EventStore
    url: str
    scripts: ScriptHashes
    settings: CardanoSettings = field(default_factory=monitor_settings)
    bus: EventBus = field(default_factory=EventBus)
    escrows: EscrowBook = field(default_factory=EscrowBook)
    published: list[Any] = field(default_factory=list)
    monitor: CardanoMonitor | None = None

    def __post_init__(self) -> None:
        self.bus.subscribe(None, self.published.append)

    async def start(self, **kwargs: Any) -> CardanoMonitor:
        # As after a restart: the projection replayed from the log, then the monitor.
        self.escrows = EscrowBook()
        projector = Projector(CARDANO_STREAM_CODEC, self.bus, [self.escrows])
        await projector.replay(self.store)
        self.monitor = CardanoMonitor(node=OgmiosNode(self.url), store=self.store,
                                      committed=projector.committed, scripts=self.scripts,
                                      settings=self.settings, **kwargs)
        await self.monitor.start()
        return self.monitor

    async def stop(self) -> None:
        if self.monitor is not None:
            await self.monitor.stop()

    async def synced(self, sim: CardanoSimulator) -> None:
        """Wait until the monitor has committed the simulator's tip."""
        monitor = self.monitor
        assert monitor is not None

        def at_tip() -> bool:
            status = monitor.status()
            return status.connected and status.processed == sim.tip.slot

        await wait_for(at_tip, f"the monitor to reach slot {sim.tip.slot}")

    def of_type(self, kind: type[Any]) -> list[Any]:
        return [e for e in self.published if isinstance(e, kind)]
