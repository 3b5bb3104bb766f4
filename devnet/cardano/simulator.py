"""`CardanoSimulator`: the chain, its slot clock and the Ogmios server in one object.

Two clock modes:
- manual (tests): the slot moves only when the test calls `advance()`/`forge_block()`;
- wall clock (`python -m devnet.cardano`): a block is forged every
  `block_interval_slots` slots of `slot_length_ms`.

Restart behaviour: the simulator keeps its chain in memory only; every start is a fresh
genesis. With the same `GenesisConfig.seed` the genesis keys, addresses and UTxOs are the
same again, but blocks and transactions of the previous run are gone.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import time
from pathlib import Path
from types import TracebackType
from typing import Any

import structlog

from devnet.cardano.chain import Block, Chain, Issuer
from devnet.cardano.genesis import Genesis, GenesisAccount, GenesisConfig
from devnet.cardano.plutus import PlutusEvaluator
from devnet.cardano.server import OgmiosServer
from devnet.cardano.txcbor import decode_transaction
from devnet.cardano.validation import Validator

log = structlog.get_logger(__name__)


class CardanoSimulator:
    def __init__(
        self,
        genesis: GenesisConfig | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        manual_clock: bool = True,
        block_interval_slots: int = 1,
    ) -> None:
        if block_interval_slots < 1:
            raise ValueError("block_interval_slots must be at least 1")
        self.genesis = Genesis(genesis or GenesisConfig())
        params = self.genesis.config.protocol_parameters
        validator = Validator(params, PlutusEvaluator(), self.genesis.slot_to_posix_ms, 0)
        issuer_seed = (self.genesis.config.seed or os.urandom(32)) + b"issuer"
        self.chain = Chain(self.genesis, validator, Issuer.from_seed(issuer_seed))
        self.manual_clock = manual_clock
        self._block_interval = block_interval_slots
        self._server = OgmiosServer(self.chain, host=host, port=port)
        self._host = host
        self._ticker: asyncio.Task[None] | None = None
        self._started = False

    # -- lifecycle ----------------------------------------------------------------------

    async def start(self) -> None:
        if self._started:
            return
        await self._server.start()
        self._started = True
        # An empty first block, so the tip is never "origin" (pycardano needs a slot).
        self.chain.forge(self.genesis.first_slot)
        if not self.manual_clock:
            self._ticker = asyncio.create_task(self._tick_forever())
        log.info("cardano_simulator_started", url=self.url, manual_clock=self.manual_clock)

    async def stop(self) -> None:
        if self._ticker is not None:
            self._ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._ticker
            self._ticker = None
        await self._server.stop()
        self._started = False
        log.info("cardano_simulator_stopped")

    async def __aenter__(self) -> CardanoSimulator:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    # -- facts --------------------------------------------------------------------------

    @property
    def host(self) -> str:
        return self._host

    @property
    def port(self) -> int:
        return self._server.port

    @property
    def url(self) -> str:
        return f"ws://{self._host}:{self.port}"

    @property
    def accounts(self) -> list[GenesisAccount]:
        return list(self.genesis.accounts)

    @property
    def current_slot(self) -> int:
        return self.chain.current_slot

    @property
    def tip(self) -> Block:
        tip = self.chain.tip
        assert tip is not None  # a block is forged at start
        return tip

    def write_keys(self, path: Path) -> None:
        """Write the genesis accounts as JSON: [{address, signing_key, lovelace}]."""
        payload = [account.to_json() for account in self.genesis.accounts]
        path.write_text(json.dumps(payload, indent=2) + "\n")

    # -- test controls ------------------------------------------------------------------

    async def advance(self, slots: int = 1) -> Block:
        """Move the clock `slots` forward and forge one block there with the mempool."""
        if slots < 1:
            raise ValueError("slots must be at least 1")
        # The clock never goes back, so blocks re-forged after a rollback get new slots and ids.
        return self.chain.forge(self.chain.current_slot + slots)

    async def forge_block(self) -> Block:
        return await self.advance(1)

    async def forge_blocks(self, count: int) -> list[Block]:
        return [await self.advance(1) for _ in range(count)]

    async def submit(self, cbor: bytes) -> str:
        """Submit a signed transaction directly (as `submitTransaction` does); return its id."""
        tx = decode_transaction(cbor)
        self.chain.submit(tx)
        return tx.id_hex

    async def rollback(
        self, depth: int, *, reforge: bool = False, drop_transactions: bool = False
    ) -> list[Block]:
        """Drop the last `depth` blocks; chain-sync clients past that point roll backward.

        With `reforge`, as many new blocks (new slots, new ids) carry the same transactions;
        otherwise the dropped transactions go back to the mempool unless `drop_transactions`.
        Returns the re-forged blocks (empty without `reforge`).
        """
        dropped = self.chain.rollback(depth)
        if reforge:
            forged = []
            for block in dropped:
                self.chain.requeue(block.transactions)
                forged.append(await self.advance(1))
            return forged
        if not drop_transactions:
            self.chain.requeue([tx for block in dropped for tx in block.transactions])
        return []

    def chain_context(self, **kwargs: Any) -> Any:
        """A pycardano `OgmiosV6ChainContext` pointed at this simulator."""
        from pycardano import OgmiosV6ChainContext

        return OgmiosV6ChainContext(host=self._host, port=self.port, **kwargs)

    # -- wall clock ---------------------------------------------------------------------

    async def _tick_forever(self) -> None:
        loop = asyncio.get_running_loop()
        slot_ms = self.genesis.slot_length_ms
        start_ms = self.genesis.start_time * 1000
        wall_offset_ms = _now_ms() - loop.time() * 1000
        while True:
            next_slot = self.chain.current_slot + self._block_interval
            due = (start_ms + next_slot * slot_ms - wall_offset_ms) / 1000
            await asyncio.sleep(max(0.0, due - loop.time()))
            self.chain.current_slot = max(self.chain.current_slot, next_slot)
            try:
                self.chain.forge(self.chain.current_slot)
            except ValueError:
                log.warning("cardano_forge_skipped", slot=self.chain.current_slot)


def _now_ms() -> float:
    return time.time() * 1000
