"""Cardano transactions for the resolver's wallet: built by pycardano, sent through
Ogmios, followed until a block includes them.

Building uses pycardano's ``OgmiosV6ChainContext`` (protocol parameters, the wallet's
UTxOs, script evaluation by the node). It is synchronous and caches tips and UTxOs, so
every transaction gets a fresh context and is built in a worker thread.

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

The rest are the pieces every wallet transaction is made of: ``build`` (pycardano's
builder with the wallet as payer, signer and change address), values and output tags,
and finding the output of an order's lock to fill (``order_output``: the maker's
lineage only, never a copy anyone can pay to the script).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import urlparse

import ogmios.errors
import structlog
import websockets.exceptions
from pycardano import (
    Address,
    AssetName,
    MultiAsset,
    Network,
    OgmiosV6ChainContext,
    PaymentSigningKey,
    PaymentVerificationKey,
    PlutusV3Script,
    Redeemer,
    ScriptHash,
    Transaction,
    TransactionBuilder,
    TransactionOutput,
    UTxO,
    Value,
    VerificationKeyHash,
    min_lovelace_post_alonzo,
)
from pycardano.exception import InsufficientUTxOBalanceException, PyCardanoException

from relayer.chains.cardano.datums import (
    AssetClass,
    DatumError,
    Encodable,
    OrderDatum,
    OutputTag,
    decode_order_datum,
    to_plutus_data,
)
from relayer.chains.cardano.node import IntersectionNotFound, Json, Point, RollForward
from relayer.chains.cardano.ogmios import (
    REQUEST_TIMEOUT,
    OgmiosChainSync,
    OgmiosConnection,
    OgmiosError,
)
from relayer.chains.cardano.slots import SlotClock
from relayer.errors import ChainError, RelayerError
from relayer.orders.model import SignedOrder, UtxoRef
from relayer.resolver.chains import LineageFill, Sent
from relayer.resolver.errors import (
    INSUFFICIENT_FUNDS,
    NOT_FOUND,
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


@dataclass(frozen=True, slots=True)
class ScriptRefs:
    """Outputs carrying the escrow and order validators as reference scripts."""

    escrow: UtxoRef
    order: UtxoRef


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
                sync = await self._chain_sync()
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

    async def _chain_sync(self) -> OgmiosChainSync:
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
            await session._chain_sync()  # the cursor is placed before anything is sent
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


def find_utxo(context: OgmiosV6ChainContext, ref: UtxoRef) -> UTxO | None:
    found: UTxO | None = context.utxo_by_tx_id(ref.tx_id, ref.index)
    return found


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
class ScriptSpend:
    """A script output to spend: the validator comes attached or from a reference output."""

    utxo: UTxO
    script: PlutusV3Script | UTxO
    redeemer: Encodable


@dataclass(frozen=True, slots=True)
class Signer:
    key: PaymentSigningKey
    address: Address

    @property
    def key_hash(self) -> VerificationKeyHash:
        return PaymentVerificationKey.from_signing_key(self.key).hash()


def build(context: OgmiosV6ChainContext, signer: Signer, outputs: list[TransactionOutput],
          *, spend: ScriptSpend | None = None, lower: int | None = None,
          upper: int | None = None, sign_required: bool = False,
          exclude: list[UTxO] | None = None) -> Transaction:
    """A signed transaction paying ``outputs`` (in this order, the change after them)
    from ``signer``'s address, spending ``spend`` if given, valid in slots
    ``[lower, upper)``; ``sign_required`` lists the signer as a required signer (what a
    validator's "signed by" sees). The node evaluates the scripts: a failing one raises
    here, before anything is submitted."""
    builder = TransactionBuilder(context)
    if spend is not None:
        builder.add_script_input(spend.utxo, script=spend.script,
                                 redeemer=Redeemer(to_plutus_data(spend.redeemer)))
    builder.add_input_address(signer.address)
    for output in outputs:
        builder.add_output(output)
    builder.validity_start = lower
    builder.ttl = upper
    if sign_required:
        builder.required_signers = [signer.key_hash]
    if exclude:
        builder.excluded_inputs = list(exclude)
    tx: Transaction = builder.build_and_sign([signer.key], change_address=signer.address)
    return tx


def collateral_cost(context: OgmiosV6ChainContext, tx: Transaction) -> int:
    """What ``tx`` pays if its scripts fail: its collateral less the collateral return."""
    body = tx.transaction_body
    if not body.collateral:
        return 0
    if body.total_collateral is not None:
        return int(body.total_collateral)
    total = 0
    for ref in body.collateral:
        utxo = context.utxo_by_tx_id(str(ref.transaction_id), int(ref.index))
        total += 0 if utxo is None else int(utxo.output.amount.coin)
    returned = body.collateral_return
    return total - (0 if returned is None else int(returned.amount.coin))


def with_min_ada(context: OgmiosV6ChainContext, output: TransactionOutput) -> TransactionOutput:
    """``output`` with its lovelace raised to the ledger's minimum if it holds less."""
    needed = min_lovelace_post_alonzo(output, context)
    if output.amount.coin >= needed:
        return output
    value = Value(needed, output.amount.multi_asset)
    return TransactionOutput(output.address, value, datum=output.datum)


# -- outputs ----------------------------------------------------------------------------


def value_of(asset: AssetClass, amount: int, lovelace: int) -> Value:
    """``amount`` of ``asset`` plus ``lovelace`` (one sum when the asset is lovelace)."""
    if asset.is_lovelace:
        return Value(amount + lovelace)
    tokens = MultiAsset.from_primitive({asset.policy_id: {asset.name: amount}})
    return Value(lovelace, tokens)


def without(value: Value, asset: AssetClass, amount: int) -> Value:
    """``value`` without ``amount`` of ``asset``: what an order output keeps after a fill."""
    if asset.is_lovelace:
        return Value(value.coin - amount, value.multi_asset)
    tokens = value.multi_asset - MultiAsset.from_primitive(
        {asset.policy_id: {asset.name: amount}})
    return Value(value.coin, tokens)


def tag_of(utxo: UTxO) -> OutputTag:
    return OutputTag(utxo.input.transaction_id.payload, int(utxo.input.index))


def datum_bytes(utxo: UTxO | TransactionOutput) -> bytes:
    datum = (utxo.output if isinstance(utxo, UTxO) else utxo).datum
    cbor = getattr(datum, "cbor", None)
    if isinstance(cbor, bytes):
        return cbor
    if datum is not None and hasattr(datum, "to_cbor"):
        return bytes(datum.to_cbor())
    raise DatumError("the output has no inline datum")


def existing(context: OgmiosV6ChainContext, ref: UtxoRef, what: str) -> UTxO:
    utxo = find_utxo(context, ref)
    if utxo is None:
        raise WalletError(f"{what} {ref.tx_id}#{ref.index} is not unspent on chain",
                          code=NOT_FOUND, details={"output": f"{ref.tx_id}#{ref.index}"})
    return utxo


def parse_ref(escrow: str) -> UtxoRef:
    tx_id, _, index = escrow.partition("#")
    return UtxoRef(tx_id=tx_id, index=int(index))


def order_output(context: OgmiosV6ChainContext, signed: SignedOrder, maker_lock: OrderDatum,
                 order_address: Address, lineage: tuple[LineageFill, ...]
                 ) -> tuple[UTxO, OrderDatum]:
    """The output of the maker's lock to fill: the lock the maker registered
    (``src_order_utxo``) while it is unspent, else its continuation after the partial
    fills so far.

    Anyone can pay the order script a copy of the order's datum, with any ``filled``;
    the relayer counts fills of such a copy as foreign and never releases their secret.
    So a continuation is taken only from the transaction of an authentic fill
    (``lineage``, the relayer's fills that are not foreign), with the maker's datum
    but for ``filled``, which must be what every authentic fill took together: each
    authentic fill spent the previous continuation, so exactly one output can say so.
    None, or two alike: nothing is filled."""
    if signed.src_order_utxo is None:
        raise WalletError(f"order {signed.order_hash} names no order lock",
                          code=NOT_FOUND, details={"order_hash": signed.order_hash})
    first = find_utxo(context, signed.src_order_utxo)
    if first is not None:
        return first, decode_order_datum(datum_bytes(first))
    candidates: list[tuple[UTxO, OrderDatum]] = []
    txs = {fill.tx_id for fill in lineage}
    for utxo in context.utxos(order_address) if txs else ():
        if str(utxo.input.transaction_id) not in txs:
            continue
        try:
            candidates.append((utxo, decode_order_datum(datum_bytes(utxo))))
        except DatumError:
            continue
    filled = maker_lock.filled + sum(fill.amount for fill in lineage)
    found = continuations(candidates, maker_lock, filled)
    if len(found) != 1:
        why = "none continues" if not found else f"{len(found)} claim to continue"
        raise WalletError(
            f"order {signed.order_hash}: the maker's lock is spent and {why} it after "
            f"{len(lineage)} authentic fills (filled {filled}); not filling",
            code=NOT_FOUND, details={"order_hash": signed.order_hash, "filled": filled,
                                     "candidates": [str(u.input) for u, _ in found]})
    return found[0]


def continuations(candidates: list[tuple[UTxO, OrderDatum]], maker_lock: OrderDatum,
                  filled: int) -> list[tuple[UTxO, OrderDatum]]:
    """The ``candidates`` that continue ``maker_lock`` with ``filled`` taken: the
    maker's datum but for ``filled``, and holding what is left to fill."""
    found = []
    for utxo, datum in candidates:
        if dataclasses.replace(datum, filled=maker_lock.filled) != maker_lock:
            continue
        if datum.filled != filled or not 0 < filled < datum.making_amount:
            continue
        if holding(utxo.output.amount, datum.maker_asset) < datum.remaining:
            continue
        found.append((utxo, datum))
    return found


def holding(value: Value, asset: AssetClass) -> int:
    """How much of ``asset`` ``value`` holds."""
    if asset.is_lovelace:
        return int(value.coin)
    policy = ScriptHash(asset.policy_id)
    return int(value.multi_asset.get(policy, {}).get(AssetName(asset.name), 0))
