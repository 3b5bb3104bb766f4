"""The Cardano escrow monitor: follows the chain over Ogmios, rollback-safe and restartable.

One background task keeps one chain-sync session open. It resumes from the persisted
cursor (``checkpoints.Cursor``: recent block points plus the origin), keeps
``sync_window`` ``nextBlock`` requests in flight, decodes each block into events
(``decode.BlockDecoder``) and commits them in ONE store transaction together with the
cursor, block by block at the tip or up to ``batch_blocks`` blocks while catching up.
Only after the commit are the events applied to the escrow projection and published on
the bus.

A backward roll (a rollback on the node, or a resume whose newest point left the chain)
never deletes a record: "delete everything after the point" is an append of one
``ChainEventReverted`` per live event after it, newest first, with the cursor cut back to
the point, again in one transaction. Projections drop what the reversals name.

Connection or node errors close the session; the task reconnects after an exponential
backoff with jitter (``reconnect_min_seconds`` doubling up to ``reconnect_max_seconds``,
each delay drawn from [d/2, d]), and resumes from the cursor, so nothing is skipped or
written twice. A ``VersionConflict`` on the checkpoint means another writer owns the
cursor (a newer leader): the monitor stops and says so in its status.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import Awaitable, Callable, Sequence

import structlog
from pycardano import Network

from relayer.chains.cardano.checkpoints import CHECKPOINT_NAME, BlockPoint, Cursor
from relayer.chains.cardano.decode import (
    CHAIN,
    AddressBook,
    BlockDecoder,
    Complements,
    ScriptHashes,
)
from relayer.chains.cardano.events import CARDANO_STREAM_CODEC
from relayer.chains.cardano.node import CardanoNode, ChainSync, Intersection, RollBackward
from relayer.chains.cardano.state import CARDANO_EVENTS, CardanoEvent, ChainState, subject
from relayer.chains.events import ChainEventReverted, ChainPoint, chain_stream
from relayer.chains.status import ChainStatus
from relayer.config import CardanoSettings
from relayer.errors import ChainError, StoreError
from relayer.events.codec import to_record
from relayer.events.projection import Committed
from relayer.store.base import Checkpoint, EventStore, VersionConflict

log = structlog.get_logger(__name__)

STREAM = chain_stream(CHAIN)
StartHook = Callable[[Sequence[CardanoEvent]], Awaitable[None]]


class CardanoMonitor:
    def __init__(
        self,
        *,
        node: CardanoNode,
        store: EventStore,
        committed: Committed,
        scripts: ScriptHashes,
        settings: CardanoSettings,
        complements: Complements | None = None,
        on_start: StartHook | None = None,
        rng: random.Random | None = None,
        stop_timeout: float = 5.0,
    ) -> None:
        self._node = node
        self._store = store
        self._committed = committed
        self._scripts = scripts
        self._settings = settings
        self._complements = complements
        self.on_start = on_start
        """Called with the live events once they are loaded, before following."""
        self._rng = rng or random.Random()
        self._stop_timeout = stop_timeout
        self._addresses = AddressBook(
            Network.MAINNET if settings.network == "mainnet" else Network.TESTNET)
        self._cursor = Cursor()
        self._state = ChainState()
        self._decoder: BlockDecoder | None = None
        self._pending: list[CardanoEvent | ChainEventReverted] = []
        self._pending_blocks = 0
        self._cursor_changed = False
        self._task: asyncio.Task[None] | None = None
        self._commit: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()
        self._stopping = False
        self._running = False
        self._reload = False
        self._connected = False
        self._processed: int | None = None
        self._processed_height: int | None = None
        """The slot of the newest block whose events are committed."""
        self._head: tuple[int, int] | None = None
        """(slot, height) of the node's tip as last reported."""
        self._rollbacks = 0
        self._rpc_errors = 0
        self._ignored_outputs = 0
        self._detail = "not started"
        self.blocks_processed = 0

    # -- ChainMonitor -----------------------------------------------------------------

    @property
    def name(self) -> str:
        return CHAIN

    async def start(self) -> None:
        if self._task is not None:
            return
        self._stopping = False
        self._wake.clear()
        self._running = True
        try:
            await self._load()
        except BaseException:
            self._running = False
            raise
        if self.on_start is not None:
            await self.on_start(self.live_events())
        self._detail = "connecting"
        self._task = asyncio.create_task(self._run(), name="cardano-monitor")

    async def stop(self) -> None:
        self._stopping = True
        self._running = False
        self._wake.set()
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        commit = self._commit
        if commit is not None and not commit.done():
            # A commit already handed to the store finishes: its records are durable and
            # must reach the projections and the bus like any other.
            await asyncio.wait({commit}, timeout=self._stop_timeout)
        self._connected = False
        self._detail = "stopped"

    def status(self) -> ChainStatus:
        return ChainStatus(
            chain=CHAIN, connected=self._connected,
            head=None if self._head is None else self._head[0],
            processed=self._processed,
            max_lag=self._settings.max_lag_slots, reorgs=self._rollbacks,
            rpc_errors=self._rpc_errors, detail=self._detail,
            head_height=None if self._head is None else self._head[1],
            processed_height=self._processed_height,
        )

    def _mark_processed(self, cursor: Cursor) -> None:
        tip = cursor.tip
        self._processed = None if tip is None else tip.slot
        self._processed_height = None if tip is None else tip.height

    # -- what others may ask ----------------------------------------------------------

    @property
    def running(self) -> bool:
        """Started and not stopped (on the leader replica only)."""
        return self._running

    def confirmations(self, point: ChainPoint) -> int:
        """Blocks on top of (and including) ``point``'s block at the node's last tip."""
        if self._head is None:
            return 0
        return max(self._head[1] - point.height + 1, 0)

    def is_final(self, point: ChainPoint) -> bool:
        """Whether ``point`` has the configured confirmation depth (``confirmations``)."""
        return self.confirmations(point) >= self._settings.confirmations

    def live_events(self) -> list[CardanoEvent]:
        return self._state.events()

    @property
    def ignored_outputs(self) -> int:
        return self._ignored_outputs + (self._decoder.ignored_outputs if self._decoder else 0)

    # -- state --------------------------------------------------------------------------

    async def _load(self) -> None:
        """The cursor and live events as committed; the projection folded in."""
        stored = await self._store.read_checkpoint(CHECKPOINT_NAME)
        cursor = (Cursor() if stored is None
                  else Cursor.decode(stored.data, checkpoint_version=stored.version))
        state = ChainState()
        for record in await self._store.read_stream(STREAM):
            if record.version > cursor.stream_version:
                raise StoreError(f"{STREAM} holds version {record.version} beyond the "
                                 f"checkpoint's {cursor.stream_version}")
            event = CARDANO_STREAM_CODEC.decode(record)
            if isinstance(event, ChainEventReverted):
                state.fold_reversal(event)
            elif isinstance(event, CARDANO_EVENTS):
                state.apply(event)
            else:
                raise StoreError(f"{STREAM} holds an unexpected {record.type}")
        self._cursor, self._state = cursor, state
        self._mark_processed(cursor)
        self._pending.clear()
        self._pending_blocks, self._cursor_changed = 0, False
        tip = cursor.tip
        log.info("cardano_monitor_loaded", events=len(state),
                 slot=None if tip is None else tip.slot, points=len(cursor.points))

    # -- the task -----------------------------------------------------------------------

    async def _run(self) -> None:
        attempt = 0
        while not self._stopping:
            try:
                if self._reload:
                    await self._load()
                    self._reload = False
                async with self._node.chain_sync() as sync:
                    await self._intersect(sync)
                    attempt = 0
                    await self._follow(sync)
            except VersionConflict:
                self._connected = self._running = False
                self._detail = "another writer advanced the cardano checkpoint; stopped"
                log.error("cardano_monitor_fenced")
                return
            except (ChainError, StoreError, OSError) as exc:
                self._connected = False
                # Memory may be ahead of the store (a batch decoded, or a commit that
                # failed): start again from what is committed.
                self._reload = True
                if isinstance(exc, StoreError):
                    self._detail = f"store: {exc}"
                else:
                    self._rpc_errors += 1
                    self._detail = f"node: {exc}"
                log.warning("cardano_monitor_disconnected", error=str(exc), url=self._node.url,
                            attempt=attempt)
            except Exception as exc:  # a block we cannot read: retry from the store, loudly
                self._connected = False
                self._reload = True
                self._detail = f"internal error: {type(exc).__name__}: {exc}"
                log.exception("cardano_monitor_failed", url=self._node.url, attempt=attempt)
            if self._stopping:
                return
            delay = self._backoff(attempt)
            attempt += 1
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), delay)

    def _backoff(self, attempt: int) -> float:
        low = self._settings.reconnect_min_seconds
        ceiling = min(self._settings.reconnect_max_seconds, low * 2 ** min(attempt, 32))
        return self._rng.uniform(ceiling / 2, ceiling)

    async def _intersect(self, sync: ChainSync) -> None:
        clock = await sync.slot_clock()
        if self._decoder is not None:
            self._ignored_outputs += self._decoder.ignored_outputs
        self._decoder = BlockDecoder(self._scripts, self._addresses, clock, self._complements)
        found = await sync.find_intersection(self._cursor.intersections())
        self._connected = True
        self._detail = ""
        tip = self._cursor.tip
        log.info("cardano_monitor_intersected", url=self._node.url,
                 intersection=None if found is None else found.slot,
                 resumed_from=None if tip is None else tip.slot)

    async def _follow(self, sync: ChainSync) -> None:
        decoder = self._decoder
        assert decoder is not None
        emit = self._pending.append
        batch = self._settings.batch_blocks
        while not self._stopping:
            step = await sync.next()
            if step.tip is not None:
                self._head = (step.tip.slot, step.tip.height)
            if isinstance(step, RollBackward):
                await self._flush()
                await self._roll_back(step.point)
                continue
            block = step.block
            decoder.decode(block, self._state, emit)
            self._cursor.advance(BlockPoint(int(block["slot"]), block["id"],
                                            int(block["height"])))
            self._pending_blocks += 1
            self._cursor_changed = True
            if self._pending_blocks >= batch or sync.buffered() == 0:
                await self._flush()

    async def _roll_back(self, point: Intersection) -> None:
        tip = self._cursor.tip
        slot = -1 if point is None else point.slot
        if tip is not None and point is not None and tip.id == point.id:
            return  # the resume point itself: nothing left the chain
        reverted = self._state.revert_after(slot)
        if tip is None and not reverted:
            return  # a first start from the origin
        self._rollbacks += 1
        self._pending.extend(
            ChainEventReverted(event_type=type(e).__name__, escrow=subject(e), point=e.point)
            for e in reverted)
        self._cursor.roll_back(point)
        self._cursor_changed = True
        log.warning("cardano_rollback", to_slot=None if point is None else point.slot,
                    from_slot=None if tip is None else tip.slot, reverted=len(reverted))
        await self._flush()

    async def _flush(self) -> None:
        if not self._pending and not self._cursor_changed:
            return
        events = self._pending[:]
        self._pending.clear()
        blocks, self._pending_blocks = self._pending_blocks, 0
        self._cursor_changed = False
        self._commit = asyncio.create_task(self._write(events, blocks))
        await asyncio.shield(self._commit)

    async def _write(self, events: list[CardanoEvent | ChainEventReverted], blocks: int) -> None:
        cursor = self._cursor
        first = cursor.stream_version + 1
        records = [to_record(event, version=first + i, stream=STREAM)
                   for i, event in enumerate(events)]
        cursor.thin()
        stream_version = cursor.stream_version + len(records)
        encoded = Cursor(points=cursor.points, stream_version=stream_version).encode()
        checkpoint = Checkpoint(CHECKPOINT_NAME, cursor.checkpoint_version + 1, encoded)
        written = await self._store.append(records, checkpoint=checkpoint)
        cursor.stream_version = stream_version
        cursor.checkpoint_version = checkpoint.version
        self._mark_processed(cursor)
        self.blocks_processed += blocks
        self._committed(written, events)
