"""How the resolver's Cardano wallet reaches the node and gets a transaction into a
block.

Building uses pycardano's ``OgmiosV6ChainContext`` (protocol parameters, the wallet's
UTxOs, script evaluation by the node). It is synchronous and caches tips and UTxOs, so
every transaction gets a fresh context and is built in a worker thread
(``OgmiosAccess.in_thread``).

Everything else speaks Ogmios directly (``relayer.chains.cardano.ogmios``): a
``Session`` opens one connection, reads the tip and the slot clock, and puts a
chain-sync cursor at that tip *before* the transaction is submitted, so the block that
includes it is one of the next blocks the cursor sees. That gives the exact block (its
time is ``Sent.block_time``) and tells a phase-2 failure (``spends: "collaterals"``: the
collateral was taken, nothing else happened) from a success. A lost answer (the
connection drops, the request times out) is met by submitting the same bytes again;
since a node refuses a transaction it already holds (3117: its inputs are spent), a
refusal is checked against the node's mempool and the blocks since the cursor's start
before it counts as one. Nobody has to forge blocks for the wallet: on the wall-clock
devnet they come every second; in tests with the manual-clock simulator the test forges
them. A block rolled back after the wallet returned is not noticed here: whoever needs
finality waits for confirmations (as the relayer's settlement does).

``Sender`` sends a wallet's transactions one at a time and remembers, per action, a
transaction whose fate it did not learn, so that trying the action again finds it
instead of building a second one.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import urlparse

import ogmios.errors
import structlog
import websockets.exceptions
from pycardano import Network, OgmiosV6ChainContext, Transaction
from pycardano.exception import InsufficientUTxOBalanceException, PyCardanoException

from relayer.chains.cardano.node import IntersectionNotFound, Json, Point, RollForward
from relayer.chains.cardano.ogmios import (
    REQUEST_TIMEOUT,
    OgmiosChainSync,
    OgmiosConnection,
    OgmiosError,
)
from relayer.chains.cardano.slots import SlotClock
from relayer.errors import ChainError, RelayerError
from relayer.orders.model import UtxoRef
from resolver.cardano_tx import collateral_cost
from resolver.chains import Sent
from resolver.errors import (
    INSUFFICIENT_FUNDS,
    TX_NOT_INCLUDED,
    TX_REJECTED,
    WalletError,
)

log = structlog.get_logger(__name__)

T = TypeVar("T")

UNKNOWN_OUTPUT_REFERENCE = 3117
"""Ogmios: an input is unknown or spent (also what a copy of a held transaction gets)."""
RECONNECT_SECONDS = 0.5
"""Between two tries to reach the node after a lost answer."""
_Found = tuple[Json, Json]
"""The block holding a transaction, and the transaction's entry in it."""
Work = Callable[[OgmiosV6ChainContext, "Now"], Transaction]
"""Builds one transaction on a fresh context, with validity bounds from the tip."""


@dataclass(frozen=True, slots=True)
class Now:
    """The chain's tip when a transaction is built: validity bounds start here."""

    slot: int
    clock: SlotClock

    @property
    def ms(self) -> int:
        return self.clock.posix_ms(self.slot)

    def ms_of(self, slot: int) -> int:
        return self.clock.posix_ms(slot)

    def last_slot_by(self, posix_ms: int) -> int:
        """The latest slot starting at or before ``posix_ms`` (in the tip's era, which
        holds every slot from the tip on)."""
        length = self.clock.posix_ms(self.slot + 1) - self.ms
        return self.slot + (posix_ms - self.ms) // length


class Session:
    """A connection to Ogmios (opened again if it drops), the tip and slot clock when the
    session began, and a chain-sync cursor following the chain from ``start``.

    Submitting is safe to repeat: when an answer is lost (the connection drops, the
    request times out) the very same bytes are submitted again on a new connection. A
    node refuses a transaction it already holds (its inputs are spent: 3117), so a
    refusal of a copy, or any 3117, is checked: the same transaction id in the node's
    mempool or in a block since ``start`` is the transaction going through; anything
    else (another transaction spent the inputs) is a real refusal."""

    def __init__(self, access: OgmiosAccess, now: Now, start: Point,
                 connection: OgmiosConnection) -> None:
        self._access = access
        self.now = now
        self.start = start
        self._connection: OgmiosConnection | None = connection
        self._sync: OgmiosChainSync | None = None

    async def send(self, tx: Transaction, *, timeout: float, collateral: int = 0,
                   resubmission: bool = False) -> Sent:
        """Submit ``tx`` and wait (at most ``timeout`` seconds) for the block holding it.

        ``collateral`` is what a phase-2 failure would cost (reported with the error);
        ``resubmission`` says ``tx`` may have been submitted before (every refusal is
        then checked against what the node holds)."""
        tx_id = str(tx.id)
        deadline = time.monotonic() + timeout
        found = await self._submit(tx, tx_id, deadline, resubmission=resubmission)
        if found is None:
            found = await self._scan(tx_id, deadline, to_tip=False)
        if found is None:  # pragma: no cover - a scan not bounded by the tip finds or times out
            raise WalletError(f"transaction {tx_id} not in a block", code=TX_NOT_INCLUDED,
                              details={"tx_id": tx_id})
        block, included = found
        return self._included(tx, tx_id, block, included, collateral)

    async def close(self) -> None:
        await self._drop()

    # -- submission -------------------------------------------------------------------

    async def _submit(self, tx: Transaction, tx_id: str, deadline: float, *,
                      resubmission: bool) -> _Found | None:
        """Submit until the node answers. None: the node took it (it waits in the
        mempool, or is in a block the cursor has not reached); a block and entry: it
        is on chain already."""
        cbor = tx.to_cbor().hex()
        while True:
            try:
                connection = await self._open()
                try:
                    await connection.request("submitTransaction",
                                             {"transaction": {"cbor": cbor}},
                                             timeout=_bounded(deadline, REQUEST_TIMEOUT))
                except OgmiosError as exc:
                    refusal = exc
                else:
                    log.info("cardano_tx_submitted", tx_id=tx_id, size=len(cbor) // 2,
                             fee=int(tx.transaction_body.fee), resubmission=resubmission)
                    return None
                if refusal.ogmios_code != UNKNOWN_OUTPUT_REFERENCE and not resubmission:
                    raise _refused(tx_id, refusal)
                known = await self._known(tx_id, deadline)
            except ChainError as exc:
                # No answer: the node may hold the transaction or not. Send the same
                # bytes again (a copy of one it holds is refused, and checked above).
                await self._lost(tx_id, deadline, exc, "submit")
                resubmission = True
                continue
            if known is False:
                raise _refused(tx_id, refusal)
            log.info("cardano_tx_already_known", tx_id=tx_id,
                     where="mempool" if known is True else "block",
                     ogmios_code=refusal.ogmios_code)
            return None if known is True else known

    async def _known(self, tx_id: str, deadline: float) -> _Found | bool:
        """Whether the node holds this very transaction: in its mempool (True), in a
        block since ``start`` (that block and entry), or not at all (False). The mempool
        is asked first: a transaction leaving it for a block is then found in the
        block."""
        connection = await self._open()
        await connection.request("acquireMempool")
        held = await connection.request("hasTransaction", {"id": tx_id})
        await connection.request("releaseMempool")
        if held is True:
            return True
        found = await self._scan(tx_id, deadline, to_tip=True)
        return False if found is None else found

    # -- following the chain ----------------------------------------------------------

    async def _scan(self, tx_id: str, deadline: float, *, to_tip: bool) -> _Found | None:
        """Read blocks from the cursor until one holds ``tx_id``; with ``to_tip`` give up
        (None) once the tip is read. A lost connection starts over from ``start``."""
        while True:
            try:
                sync = await self.follow()
                remaining = deadline - time.monotonic()
                try:
                    step = await asyncio.wait_for(sync.next(), max(remaining, 0.0))
                except TimeoutError as exc:
                    raise WalletError(f"transaction {tx_id} not in a block in time",
                                      code=TX_NOT_INCLUDED, details={"tx_id": tx_id}) from exc
            except ChainError as exc:
                await self._lost(tx_id, deadline, exc, "follow")
                continue
            if isinstance(step, RollForward):
                for included in step.block.get("transactions") or ():
                    if included["id"] == tx_id:
                        return step.block, included
                at_tip = step.tip is None or int(step.block["height"]) >= step.tip.height
            else:
                at_tip = step.tip is None or (
                    step.point is not None and step.point.id == step.tip.id)
            if to_tip and at_tip:
                return None

    def _included(self, tx: Transaction, tx_id: str, block: Json, included: Json,
                  collateral: int) -> Sent:
        block_time = self.now.clock.posix_seconds(int(block["slot"]))
        if included.get("spends", "inputs") != "inputs":
            # The ledger took the collateral as the fee: that is what the sender paid.
            raise WalletError(f"transaction {tx_id} failed its scripts; the collateral "
                              "was taken", code=TX_REJECTED,
                              details={"tx_id": tx_id, "stage": "phase2", "fee": collateral,
                                       "block_time": block_time})
        log.info("cardano_tx_included", tx_id=tx_id, slot=block["slot"])
        return Sent(tx_id=tx_id, fee=int(tx.transaction_body.fee), block_time=block_time)

    # -- the connection ---------------------------------------------------------------

    async def _open(self) -> OgmiosConnection:
        if self._connection is None:
            self._connection = await OgmiosConnection.open(self._access.url)
        return self._connection

    async def follow(self) -> OgmiosChainSync:
        """The cursor (placed at ``start`` on the current connection)."""
        if self._sync is None:
            sync = OgmiosChainSync(await self._open(), window=1)
            try:
                await sync.find_intersection([self.start])
            except IntersectionNotFound as exc:
                raise ChainError("the wallet's starting block left the chain (a rollback): "
                                 "try again") from exc
            self._sync = sync
        return self._sync

    async def _drop(self) -> None:
        connection, self._connection, self._sync = self._connection, None, None
        if connection is not None:
            await connection.close()

    async def _lost(self, tx_id: str, deadline: float, exc: ChainError, stage: str) -> None:
        """A dropped connection or a lost answer: drop the connection and pause, or give
        up at the deadline (the transaction's fate is unknown: TX_NOT_INCLUDED)."""
        await self._drop()
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise WalletError(f"transaction {tx_id}: no answer from the node in time "
                              f"({exc.message})", code=TX_NOT_INCLUDED,
                              details={"tx_id": tx_id, "stage": stage}) from exc
        log.warning("cardano_node_answer_lost", tx_id=tx_id, stage=stage, error=exc.message)
        await asyncio.sleep(min(RECONNECT_SECONDS, remaining))


def _refused(tx_id: str, exc: OgmiosError) -> WalletError:
    return WalletError(f"the node refused transaction {tx_id}: {exc.message}",
                       code=TX_REJECTED,
                       details={"tx_id": tx_id, "stage": "submit",
                                "ogmios_code": exc.ogmios_code})


def _bounded(deadline: float, limit: float) -> float:
    return max(min(limit, deadline - time.monotonic()), 0.001)


class OgmiosAccess:
    """How the wallet reaches the node: fresh pycardano contexts and Ogmios sessions."""

    def __init__(self, url: str, network: Network) -> None:
        parsed = urlparse(url)
        if parsed.scheme not in ("ws", "wss") or parsed.hostname is None:
            raise ValueError(f"not an Ogmios WebSocket URL: {url!r}")
        self.url = url
        self.network = network
        self._host = parsed.hostname
        self._port = parsed.port or (443 if parsed.scheme == "wss" else 80)
        self._path = parsed.path.rstrip("/")
        self._secure = parsed.scheme == "wss"

    def context(self) -> OgmiosV6ChainContext:
        """A fresh pycardano context (it caches the tip and UTxOs: one per transaction)."""
        return OgmiosV6ChainContext(host=self._host, port=self._port, path=self._path,
                                    secure=self._secure, network=self.network)

    async def in_thread(self, work: Callable[[OgmiosV6ChainContext], T]) -> T:
        """Run blocking pycardano ``work`` on a fresh context in a worker thread, with
        the libraries' errors translated."""

        def run() -> T:
            with _translated():
                return work(self.context())

        return await asyncio.to_thread(run)

    @contextlib.asynccontextmanager
    async def connection(self) -> AsyncIterator[OgmiosConnection]:
        connection = await OgmiosConnection.open(self.url)
        try:
            yield connection
        finally:
            await connection.close()

    async def now(self, connection: OgmiosConnection) -> tuple[Now, Json]:
        """The tip (as a ``Now`` and its raw point) and the slot clock."""
        point, start, summaries = await asyncio.gather(
            connection.request("queryNetwork/tip"),
            connection.request("queryNetwork/startTime"),
            connection.request("queryLedgerState/eraSummaries"))
        return Now(int(point["slot"]), SlotClock.from_ogmios(start, summaries)), point

    @contextlib.asynccontextmanager
    async def session(self, *, start: Point | None = None) -> AsyncIterator[Session]:
        """A session at the tip; its cursor follows the chain from ``start`` (default:
        the tip), where a transaction submitted earlier may already be included."""
        connection = await OgmiosConnection.open(self.url)
        try:
            now, point = await self.now(connection)
        except BaseException:
            await connection.close()
            raise
        session = Session(self, now, start or Point(slot=now.slot, id=str(point["id"])),
                          connection)
        try:
            await session.follow()  # the cursor is placed before anything is sent
            yield session
        finally:
            await session.close()

    async def utxos(self, *, addresses: list[str] | None = None,
                    refs: list[UtxoRef] | None = None) -> list[Json]:
        """Unspent outputs (Ogmios JSON) at ``addresses`` or among ``refs``."""
        params: Json
        if addresses is not None:
            params = {"addresses": addresses}
        else:
            params = {"outputReferences": [{"transaction": {"id": r.tx_id}, "index": r.index}
                                           for r in refs or ()]}
        async with self.connection() as connection:
            result: list[Json] = await connection.request("queryLedgerState/utxo", params)
        return result


@contextlib.contextmanager
def _translated() -> Any:
    """pycardano and the ``ogmios`` client raise their own errors: make them ours."""
    try:
        yield
    except RelayerError:
        raise
    except ogmios.errors.ResponseError as exc:
        # Script evaluation (or a query) refused by the node: the ledger would refuse
        # the transaction too, so it is never submitted.
        raise WalletError(f"the node refused the transaction: {exc}", code=TX_REJECTED,
                          details={"stage": "evaluate"}) from exc
    except InsufficientUTxOBalanceException as exc:
        raise WalletError(f"the wallet cannot pay for the transaction: {exc}",
                          code=INSUFFICIENT_FUNDS, details={"stage": "build"}) from exc
    except PyCardanoException as exc:
        raise WalletError(f"cannot build the transaction: {exc}", code=TX_REJECTED,
                          details={"stage": "build"}) from exc
    except (OSError, websockets.exceptions.WebSocketException) as exc:
        raise ChainError(f"cannot reach ogmios: {exc}") from exc


@dataclass(frozen=True, slots=True)
class _Pending:
    """A transaction submitted (perhaps) without an answer or a block in time."""

    tx: Transaction
    now: Now
    """The tip it was built at: what it created counts its times from there."""
    start: Point
    """Where the session's cursor started: the block holding it comes after."""
    collateral: int


class Sender:
    """One wallet's transactions, one at a time (each spends the wallet's own outputs)."""

    def __init__(self, access: OgmiosAccess, *, timeout: float) -> None:
        self._access = access
        self._timeout = timeout
        self._busy = asyncio.Lock()
        self._pending: dict[str, _Pending] = {}
        """Transactions whose fate is unknown, by the action that sent them."""

    async def send(self, work: Work, *, key: str | None = None
                   ) -> tuple[Transaction, Sent, Now]:
        """Build (in a thread, on a fresh context) at the tip, submit, await inclusion.

        ``key`` names the action (the same key when the caller tries it again). A
        transaction of that action whose fate the wallet never learned (no answer, no
        block in time) is looked for first: if the node holds it, or takes it again,
        it is the action's transaction, and no second one is built (a second
        destination escrow, a withdrawal of an escrow already withdrawn)."""
        async with self._busy:
            pending = self._pending.pop(key, None) if key is not None else None
            if pending is not None and key is not None:
                resumed = await self._resume(key, pending)
                if resumed is not None:
                    return resumed
            async with self._access.session() as session:
                now = session.now

                def build_it(context: OgmiosV6ChainContext) -> tuple[Transaction, int]:
                    tx = work(context, now)
                    return tx, collateral_cost(context, tx)

                tx, collateral = await self._access.in_thread(build_it)
                try:
                    sent = await session.send(tx, timeout=self._timeout,
                                              collateral=collateral)
                except WalletError as exc:
                    if key is not None and exc.code == TX_NOT_INCLUDED:
                        self._pending[key] = _Pending(tx, now, session.start, collateral)
                    raise
        return tx, sent, now

    async def _resume(self, key: str, pending: _Pending
                      ) -> tuple[Transaction, Sent, Now] | None:
        """``pending``'s outcome if the node holds it or takes it now; None if it can
        never be included (refused, and held nowhere): build the action anew."""
        tx_id = str(pending.tx.id)
        log.info("cardano_tx_resumed", action=key, tx_id=tx_id)
        try:
            async with self._access.session(start=pending.start) as session:
                sent = await session.send(pending.tx, timeout=self._timeout,
                                          collateral=pending.collateral, resubmission=True)
        except WalletError as exc:
            if exc.code == TX_NOT_INCLUDED:
                self._pending[key] = pending
            elif exc.details.get("stage") == "submit":
                log.info("cardano_tx_abandoned", action=key, tx_id=tx_id, error=exc.message)
                return None
            raise
        except ChainError:
            self._pending[key] = pending
            raise
        return pending.tx, sent, pending.now
