"""The Ethereum escrow monitor: follows the chain with ``eth_getLogs``, reorg-safe.

Each poll reads the head, then the logs of the next block range (at most
``max_block_range`` blocks, halved when a node refuses or the answer is large,
doubled back when answers are small), derives escrow events from them, and
commits the events together with the new cursor in ONE store append
(``Cursor``: last block, recent block hashes, stream version). Only then are
the events folded into the escrow projection and published on the bus. The
checkpoint's version fences writers: a second monitor on the same store loses
the race with ``VersionConflict``, reloads, and continues from what the winner
wrote, so no event is ever stored twice or skipped.

The monitor indexes up to the head, so resolvers see escrows within one poll;
finality is a reader's question (``EscrowState.confirmations(head)`` against
``chains.ethereum.confirmations``). Reorgs are found by parent hash: the first
new block must extend the last processed one, and a tip that changed under the
cursor triggers the same check. The monitor then walks back through the stored
hashes to the common ancestor and appends one ``ChainEventReverted`` for every
event of the removed blocks (newest first) with the cursor moved back, and
indexes the new branch forward from there. A reorg deeper than the stored
window (``reorg_window``), a different chain id or genesis, stops the monitor
with a reason in its status: those need an operator.

When no RPC endpoint answers, the monitor reports itself disconnected and
retries with exponential backoff and jitter until one does.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Sequence

import structlog

from relayer.chains.escrows import EscrowBook
from relayer.chains.ethereum.abi import EscrowAbi, EventKind
from relayer.chains.ethereum.addresses import EscrowAddresses
from relayer.chains.ethereum.backoff import Backoff
from relayer.chains.ethereum.cursor import CHECKPOINT_NAME, Cursor
from relayer.chains.ethereum.derive import EventDeriver, fee_variant_addresses
from relayer.chains.ethereum.rpc import (
    BlockHeader,
    ChainUnavailable,
    EthereumRpc,
    RawLog,
    RpcError,
    Transaction,
)
from relayer.chains.events import (
    CHAIN_CODEC,
    ChainEvent,
    ChainEventReverted,
    EscrowEvent,
    chain_stream,
)
from relayer.chains.status import ChainStatus
from relayer.config import EthereumSettings
from relayer.errors import ChainError, StoreError
from relayer.events.codec import to_record
from relayer.events.projection import Committed
from relayer.networks.registry import checksum_address
from relayer.store.base import Checkpoint, EventStore, VersionConflict

log = structlog.get_logger(__name__)

CHAIN = "ethereum"
_LARGE_ANSWER = 10_000
"""Logs in one answer above which the next range is halved."""


class MonitorStalled(ChainError):
    """The monitor cannot continue safely on its own (needs an operator)."""

    default_code = "CHAIN_MONITOR_STALLED"


class _Fenced(Exception):
    """Another writer advanced the checkpoint first."""


class EthereumMonitor:
    def __init__(
        self,
        *,
        rpc: EthereumRpc,
        store: EventStore,
        committed: Committed,
        escrows: EscrowBook,
        settings: EthereumSettings,
        abi: EscrowAbi | None = None,
        rng: random.Random | None = None,
        stop_timeout: float = 5.0,
    ) -> None:
        self._rpc = rpc
        self._store = store
        self._committed = committed
        self._escrows = escrows
        """Read only: the projection loop folds the committed events in."""
        self._settings = settings
        self._abi = abi or EscrowAbi.load()
        self._dst_topic = next(t for t, e in self._abi.events.items()
                               if e.kind is EventKind.DST_CREATED)
        self._factory = checksum_address(settings.escrow_factory,
                                         field="chains.ethereum.escrow_factory")
        self._stream = chain_stream(CHAIN)
        self._backoff = Backoff(settings.backoff_initial_seconds, settings.backoff_max_seconds,
                                rng=rng or random.Random())
        self._stop_timeout = stop_timeout
        self._range = settings.max_block_range
        self._cursor: Cursor | None = None
        self._checkpoint_version = 0
        self._applied_version = 0
        self._recent: dict[int, list[EscrowEvent]] = {}
        """Live events of recent blocks by height: what a reorg must revert."""
        self._deriver: EventDeriver | None = None
        self._head: int | None = None
        self._base_fee: int | None = None
        self._reorgs = 0
        self._stalled = ""
        self._detail = ""
        self._task: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()
        self._stopping = False
        self.events_committed = 0
        """Events (reversals included) this monitor committed since start."""
        self.fenced = 0
        """Commits refused because another writer advanced the checkpoint first."""

    # ------------------------------------------------------------------ ChainMonitor

    @property
    def name(self) -> str:
        return CHAIN

    @property
    def head(self) -> int | None:
        """The chain's latest block number as last seen."""
        return self._head

    @property
    def cursor(self) -> Cursor | None:
        return self._cursor

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    async def start(self) -> None:
        self._stopping = False
        await self._load()
        self._task = asyncio.create_task(self._run(), name="ethereum-monitor")

    async def stop(self) -> None:
        self._stopping = True
        self._wake.set()
        task, self._task = self._task, None
        if task is None:
            return
        try:
            await asyncio.wait({task}, timeout=self._stop_timeout)
            if not task.done():
                log.warning("ethereum_monitor_stop_timeout", seconds=self._stop_timeout)
        finally:
            # Also when this stop is itself cancelled (the app's stop deadline passed):
            # the polling task never outlives its monitor.
            if not task.done():
                task.cancel()
        await asyncio.gather(task, return_exceptions=True)

    def status(self) -> ChainStatus:
        health = self._rpc.health()
        cursor = self._cursor
        processed = cursor.block if cursor is not None and cursor.block >= 0 else None
        return ChainStatus(
            chain=CHAIN, connected=health.connected and not self._stalled, head=self._head,
            processed=processed, max_lag=self._settings.max_lag_blocks, reorgs=self._reorgs,
            rpc_errors=health.errors,
            detail=self._stalled or (health.detail if not health.connected else self._detail),
        )

    def base_fee(self) -> int:
        """The latest block's base fee (wei); the configured one until a block was seen."""
        return self._base_fee if self._base_fee is not None else self._settings.base_fee

    def poke(self) -> None:
        """Poll now instead of at the end of the current pause."""
        self._wake.set()

    # ------------------------------------------------------------------ the loop

    async def _run(self) -> None:
        while not self._stopping:
            try:
                busy = await self.poll()
            except MonitorStalled as exc:
                self._stalled = exc.message
                log.error("ethereum_monitor_stalled", reason=exc.message)
                return
            except ChainUnavailable:
                delay = self._backoff.next_delay()
                log.warning("ethereum_chain_unavailable", retry_seconds=round(delay, 3),
                            failures=self._backoff.failures)
            except (ChainError, StoreError) as exc:
                delay = self._backoff.next_delay()
                self._detail = exc.message
                log.warning("ethereum_monitor_retry", error=exc.message,
                            retry_seconds=round(delay, 3))
            except Exception:
                delay = self._backoff.next_delay()
                log.exception("ethereum_monitor_failed", retry_seconds=round(delay, 3))
            else:
                self._backoff.reset()
                self._detail = ""
                delay = 0.0 if busy else self._settings.poll_seconds
            if delay > 0 and not self._stopping:
                try:
                    await asyncio.wait_for(self._wake.wait(), delay)
                except TimeoutError:
                    pass
                self._wake.clear()

    async def poll(self) -> bool:
        """One step: index the next range or handle a reorg; ``True`` if more is waiting."""
        if self._deriver is None or self._cursor is None:
            await self._prepare()
        cursor, deriver = self._cursor, self._deriver
        assert cursor is not None and deriver is not None
        latest = await self._rpc.block("latest")
        if latest is None:
            raise ChainError("the node has no latest block")
        self._head, self._base_fee = latest.number, latest.base_fee
        if latest.number <= cursor.block:
            stored = cursor.hash_at(cursor.block)
            tip = latest if latest.number == cursor.block else None
            if stored is not None and (tip is None or tip.hash != stored):
                await self._guard(self._reorg(latest.number))
                return True
            return False
        start = cursor.block + 1
        end = min(latest.number, cursor.block + self._range)
        logs = await self._logs(start, end)
        if logs is None:
            return True
        headers, transactions = await asyncio.gather(
            self._headers(start, end, latest.number, logs), self._dst_transactions(logs))
        if headers is None:
            log.info("ethereum_chain_moved_during_poll", blocks=f"{start}-{end}")
            return False  # a reorg under way: look again after the pause
        parent = cursor.hash_at(cursor.block)
        if parent is not None and headers[start].parent_hash != parent:
            await self._guard(self._reorg(latest.number))
            return True
        fee_addresses = await fee_variant_addresses(self._rpc, self._abi, self._factory, logs)
        derived = deriver.derive(logs, headers, self._is_known, transactions, fee_addresses)
        advanced = cursor.advanced(block=end, hashes={n: h.hash for n, h in headers.items()},
                                   events=len(derived.events),
                                   window=self._settings.reorg_window)
        await self._guard(self._commit(derived.events, advanced))
        if derived.events:
            log.info("ethereum_events_indexed", blocks=f"{start}-{end}",
                     events=len(derived.events), skipped=derived.skipped)
        return end < latest.number

    # ------------------------------------------------------------------ steps

    async def _prepare(self) -> None:
        """Check the chain is the configured one; learn the escrow implementations."""
        s = self._settings
        chain_id = await self._rpc.chain_id()
        if chain_id != s.chain_id:
            raise MonitorStalled(f"the RPC serves chain id {chain_id}, "
                                 f"chains.ethereum.chain_id is {s.chain_id}")
        genesis = await self._rpc.block(0)
        if genesis is None:
            raise ChainError("the node has no genesis block")
        cursor = self._cursor
        if cursor is None:
            cursor = Cursor(chain_id=chain_id, genesis=genesis.hash, factory=self._factory,
                            block=s.start_block - 1, hashes=(), version=0)
        elif (cursor.chain_id, cursor.genesis) != (chain_id, genesis.hash):
            raise MonitorStalled(
                f"the store follows chain {cursor.chain_id} with genesis {cursor.genesis}, the "
                f"RPC serves chain {chain_id} with genesis {genesis.hash}: a reset devnet needs "
                f"a fresh data directory")
        elif cursor.factory != self._factory:
            raise MonitorStalled(f"the store follows factory {cursor.factory}, "
                                 f"chains.ethereum.escrow_factory is {self._factory}")
        factory = bytes.fromhex(self._factory[2:])
        src = await self._rpc.call(self._factory, self._abi.src_implementation)
        dst = await self._rpc.call(self._factory, self._abi.dst_implementation)
        if len(src) != 32 or len(dst) != 32:
            raise ChainError(f"no escrow factory answers at {self._factory}")
        self._deriver = EventDeriver(chain=CHAIN, abi=self._abi, factory=self._factory,
                                     addresses=EscrowAddresses(factory, src[12:], dst[12:]))
        self._cursor = cursor
        log.info("ethereum_monitor_following", factory=self._factory, chain_id=chain_id,
                 from_block=cursor.block + 1, events=cursor.version)

    async def _logs(self, start: int, end: int) -> list[RawLog] | None:
        """The logs of ``[start, end]``; ``None`` when the node refused the range (halved)."""
        try:
            logs = await self._rpc.logs(from_block=start, to_block=end,
                                        topics=[self._abi.topics])
        except (RpcError, ChainUnavailable) as exc:
            if end == start:
                raise
            self._range = max(1, (end - start + 1) // 2)
            log.info("ethereum_log_range_halved", blocks=self._range, error=exc.message)
            if isinstance(exc, RpcError):
                return None
            raise
        if len(logs) > _LARGE_ANSWER:
            self._range = max(1, (end - start + 1) // 2)
        elif len(logs) < _LARGE_ANSWER // 4:
            self._range = min(self._settings.max_block_range, self._range * 2)
        return logs

    async def _headers(self, start: int, end: int, head: int, logs: Sequence[RawLog]
                       ) -> dict[int, BlockHeader] | None:
        """Headers of the range's first and last block, of every block within the reorg
        window, and of blocks whose logs lack a timestamp. ``None`` if the chain moved
        meanwhile (a block is missing, the parent links or the logs' block hashes
        disagree): the caller polls again."""
        wanted = {start, end, *range(max(start, head - self._settings.reorg_window + 1),
                                     end + 1)}
        wanted.update(int(raw["blockNumber"], 16) for raw in logs
                      if not raw.get("blockTimestamp"))
        numbers = sorted(wanted)
        headers: dict[int, BlockHeader] = {}
        for number, header in zip(numbers, await self._rpc.blocks(numbers), strict=True):
            if header is None:
                return None
            headers[number] = header
        for number, header in headers.items():
            below = headers.get(number - 1)
            if below is not None and header.parent_hash != below.hash:
                return None
        for raw in logs:
            header = headers.get(int(raw["blockNumber"], 16))
            if header is not None and str(raw["blockHash"]).lower() != header.hash:
                return None
        return headers

    async def _dst_transactions(self, logs: Sequence[RawLog]) -> dict[str, Transaction]:
        """The transactions that created destination escrows (their input holds the
        immutables). A missing one (a reorg meanwhile, or a node that keeps no index of
        old transactions) is a chain error: retried with backoff, named in the status."""
        hashes = sorted({str(raw["transactionHash"]).lower() for raw in logs
                         if raw.get("topics") and str(raw["topics"][0]).lower()
                         == self._dst_topic})
        if not hashes:
            return {}
        found = await self._rpc.transactions(hashes)
        missing = [h for h, tx in zip(hashes, found, strict=True) if tx is None]
        if missing:
            raise ChainError(f"the node returned no transaction {missing[0]} "
                             f"({len(missing)} missing)", details={"tx_id": missing[0]})
        return {tx.hash: tx for tx in found if tx is not None}

    async def _reorg(self, head: int) -> None:
        """Find the common ancestor, revert every event above it, move the cursor there."""
        cursor = self._cursor
        assert cursor is not None
        candidates = [(n, h) for n, h in cursor.hashes if n <= head]
        canonical = await self._rpc.blocks([n for n, _ in candidates]) if candidates else []
        ancestor: int | None = None
        for (number, stored), header in zip(reversed(candidates), reversed(canonical),
                                            strict=True):
            if header is not None and header.hash == stored:
                ancestor = number
                break
        if ancestor is None:
            raise MonitorStalled(
                f"reorg deeper than the {len(cursor.hashes)} stored block hashes below block "
                f"{cursor.block} (chains.ethereum.reorg_window)")
        removed = [e for height in sorted(self._recent, reverse=True) if height > ancestor
                   for e in reversed(self._recent[height])]
        reversals: list[ChainEvent] = [
            ChainEventReverted(event_type=type(e).__name__, escrow=e.escrow, point=e.point)
            for e in removed
        ]
        self._reorgs += 1
        log.warning("ethereum_reorg", from_block=cursor.block, ancestor=ancestor,
                    depth=cursor.block - ancestor, reverted=len(reversals))
        await self._commit(reversals, cursor.rewound(block=ancestor, events=len(reversals)))

    async def _commit(self, events: Sequence[ChainEvent], cursor: Cursor) -> None:
        assert self._cursor is not None
        first = self._cursor.version + 1
        records = [to_record(event, version=first + i, stream=self._stream)
                   for i, event in enumerate(events)]
        checkpoint = Checkpoint(CHECKPOINT_NAME, self._checkpoint_version + 1, cursor.encode())
        try:
            written = await self._store.append(records, checkpoint=checkpoint)
        except VersionConflict as exc:
            raise _Fenced(str(exc)) from exc
        self._checkpoint_version += 1
        self._cursor = cursor
        self._applied_version = cursor.version
        for event in events:
            self._fold(event, cursor.block)
        self._prune(cursor.block)
        self.events_committed += len(events)
        self._committed(written, events)

    async def _guard(self, step: Awaitable[None]) -> None:
        """Run a committing step; if another writer fenced us out, reload what it wrote."""
        try:
            await step
        except _Fenced as exc:
            self.fenced += 1
            log.warning("ethereum_monitor_fenced", error=str(exc))
            await self._load()

    # ------------------------------------------------------------------ state

    async def _load(self) -> None:
        """Read the checkpoint and fold in the stream's events not yet applied.

        They also go into the escrow book at once: which escrows are known decides which
        withdrawals and cancellations the next blocks yield, and records another writer
        committed (a former leader, a rival that fenced this monitor) may not have come
        through the log follower yet. Folding again records the book already holds, in
        their order, leaves it as it was (``EscrowBook.apply``), as before the projection
        loop, when the follower and this load also both folded them."""
        checkpoint = await self._store.read_checkpoint(CHECKPOINT_NAME)
        cursor = Cursor.decode(checkpoint.data) if checkpoint is not None else None
        records = await self._store.read_stream(self._stream)
        last = records[-1].version if records else 0
        expected = cursor.version if cursor is not None else 0
        if last != expected:
            raise StoreError(f"stream {self._stream} ends at version {last}, the "
                             f"{CHECKPOINT_NAME} checkpoint says {expected}")
        self._cursor = cursor
        if cursor is None:
            self._deriver = None
        self._checkpoint_version = checkpoint.version if checkpoint is not None else 0
        block = cursor.block if cursor is not None else -1
        for record in records:
            if record.version <= self._applied_version:
                continue
            if CHAIN_CODEC.knows(record):
                event = CHAIN_CODEC.decode(record)
                self._escrows.apply(event)
                self._fold(event, block)
        self._applied_version = last
        self._prune(block)

    def _fold(self, event: ChainEvent, block: int) -> None:
        if isinstance(event, ChainEventReverted):
            events = self._recent.get(event.point.height)
            if events is not None:
                events[:] = [e for e in events if e.point.key != event.point.key]
        elif event.point.height > block - self._settings.reorg_window:
            self._recent.setdefault(event.point.height, []).append(event)

    def _prune(self, block: int) -> None:
        floor = block - self._settings.reorg_window
        for height in [h for h, events in self._recent.items() if h <= floor or not events]:
            del self._recent[height]

    def _is_known(self, escrow: str) -> bool:
        return self._escrows.get(CHAIN, escrow) is not None
