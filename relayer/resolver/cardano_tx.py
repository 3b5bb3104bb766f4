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
collateral was taken, nothing else happened) from a success. Nobody has to forge blocks
for the wallet: on the wall-clock devnet they come every second; in tests with the
manual-clock simulator the test forges them. A block rolled back after the wallet
returned is not noticed here: whoever needs finality waits for confirmations (as the
relayer's settlement does).

The rest are the pieces every wallet transaction is made of: ``build`` (pycardano's
builder with the wallet as payer, signer and change address), values and output tags,
and finding an order's current output.
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
from pycardano import (
    Address,
    MultiAsset,
    Network,
    OgmiosV6ChainContext,
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
    min_lovelace_post_alonzo,
)
from pycardano.exception import InsufficientUTxOBalanceException, PyCardanoException

from relayer.chains.cardano.datums import (
    AssetClass,
    DatumError,
    Encodable,
    OrderDatum,
    OutputTag,
    PlutusAddress,
    decode_order_datum,
    to_plutus_data,
)
from relayer.chains.cardano.node import IntersectionNotFound, Json, Point, RollForward
from relayer.chains.cardano.ogmios import OgmiosChainSync, OgmiosConnection, OgmiosError
from relayer.chains.cardano.slots import SlotClock
from relayer.errors import ChainError, RelayerError
from relayer.orders.model import SignedOrder, UtxoRef
from relayer.resolver.chains import Sent
from relayer.resolver.errors import (
    INSUFFICIENT_FUNDS,
    NOT_FOUND,
    TX_NOT_INCLUDED,
    TX_REJECTED,
    WalletError,
)

log = structlog.get_logger(__name__)

T = TypeVar("T")


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
    """One Ogmios connection: the tip, the slot clock, and a cursor following the chain
    from that tip."""

    def __init__(self, connection: OgmiosConnection, sync: OgmiosChainSync, now: Now) -> None:
        self._connection = connection
        self._sync = sync
        self.now = now

    async def send(self, tx: Transaction, *, timeout: float) -> Sent:
        """Submit ``tx`` and wait (at most ``timeout`` seconds) for the block holding it."""
        tx_id = str(tx.id)
        cbor = tx.to_cbor()
        try:
            await self._connection.request("submitTransaction",
                                           {"transaction": {"cbor": cbor.hex()}})
        except OgmiosError as exc:
            raise WalletError(f"the node refused transaction {tx_id}: {exc.message}",
                              code=TX_REJECTED,
                              details={"tx_id": tx_id, "stage": "submit",
                                       "ogmios_code": exc.ogmios_code}) from exc
        log.info("cardano_tx_submitted", tx_id=tx_id, size=len(cbor),
                 fee=int(tx.transaction_body.fee))
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            try:
                step = await asyncio.wait_for(self._sync.next(), max(remaining, 0.0))
            except TimeoutError as exc:
                raise WalletError(f"transaction {tx_id} not in a block after {timeout}s",
                                  code=TX_NOT_INCLUDED, details={"tx_id": tx_id}) from exc
            if not isinstance(step, RollForward):
                continue
            for included in step.block.get("transactions") or ():
                if included["id"] == tx_id:
                    return self._included(tx, tx_id, step.block, included)

    def _included(self, tx: Transaction, tx_id: str, block: Json, included: Json) -> Sent:
        if included.get("spends", "inputs") != "inputs":
            raise WalletError(f"transaction {tx_id} failed its scripts; the collateral "
                              "was taken", code=TX_REJECTED,
                              details={"tx_id": tx_id, "stage": "phase2"})
        block_time = self.now.clock.posix_seconds(int(block["slot"]))
        log.info("cardano_tx_included", tx_id=tx_id, slot=block["slot"])
        return Sent(tx_id=tx_id, fee=int(tx.transaction_body.fee), block_time=block_time)


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
    async def session(self) -> AsyncIterator[Session]:
        async with self.connection() as connection:
            now, point = await self.now(connection)
            sync = OgmiosChainSync(connection, window=1)
            try:
                await sync.find_intersection([Point(slot=now.slot, id=str(point["id"]))])
            except IntersectionNotFound as exc:
                raise ChainError("the tip left the chain while the wallet read it "
                                 "(a rollback): try again") from exc
            yield Session(connection, sync, now)

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


def datum_bytes(utxo: UTxO) -> bytes:
    datum = utxo.output.datum
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


def order_output(context: OgmiosV6ChainContext, signed: SignedOrder,
                 order_address: Address) -> tuple[UTxO, OrderDatum]:
    """The order's current output: the maker's lock, or after partial fills the
    continuing output with the most filled (found by order hash and maker)."""
    order_hash = bytes.fromhex(signed.order_hash[2:])
    if signed.src_order_utxo is not None:
        first = find_utxo(context, signed.src_order_utxo)
        if first is not None:
            return first, decode_order_datum(datum_bytes(first))
    maker = PlutusAddress.from_address(Address.from_primitive(signed.order.maker))
    found: list[tuple[UTxO, OrderDatum]] = []
    for utxo in context.utxos(order_address):
        try:
            datum = decode_order_datum(datum_bytes(utxo))
        except DatumError:
            continue
        if datum.order_hash == order_hash and datum.maker == maker:
            found.append((utxo, datum))
    if not found:
        raise WalletError(f"no unspent output of order {signed.order_hash}",
                          code=NOT_FOUND, details={"order_hash": signed.order_hash})
    return max(found, key=lambda pair: pair[1].filled)
