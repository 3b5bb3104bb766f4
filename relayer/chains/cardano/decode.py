"""Turning Ogmios blocks into escrow and order-lock events.

For each transaction, in block order:

- spent outputs: the regular inputs, or only the collateral when the transaction failed
  phase 2 (``spends: "collaterals"``: its regular inputs stay unspent). An input that is
  one of our live escrows or order locks is decoded with its redeemer (spend redeemers
  are indexed by the input's position in the inputs sorted by (tx id, index)): Withdraw
  and PublicWithdraw reveal the secret, Cancel and PublicCancel cancel, Reclaim and Fill
  spend an order lock;
- created outputs: the outputs (or only the collateral return, at index
  ``len(outputs)``, for a failed transaction). An output whose payment credential is the
  escrow script and whose inline datum is an escrow datum becomes ``EscrowCreated`` if
  its value really holds the datum's amount and safety deposit, and, for a source escrow,
  if exactly one ``Fill`` of the same transaction, spending a live lock of that order,
  names this output as its ``escrow_output``; the escrow's ``origin`` is that lock and its
  lineage.
  One at the order script with an order datum becomes ``OrderLocked``. Anything else sent
  to our scripts (no datum, a malformed one, too little value) is logged and ignored:
  anyone can pay a script address.

Lock lineage: an order-script output continues the lock L (``parent`` L, L's root, L's
depth + 1) only if the same transaction spent L with a ``Fill`` whose ``order_output`` is
this output's index, and this output's datum is L's order (order hash, maker, asset,
making amount) with ``filled`` raised by exactly the amount of the source escrow at that
Fill's ``escrow_output``, leaving something to fill. That is the partial fill whose
continuing output the order validator checks in full; the validator ignores
``order_output`` when a fill completes the order, hence the amount check. Every other
output at the order script, whoever paid it and whatever datum it copies, is the root of
a new lineage: the settlement coordinator counts a source escrow as the maker's only if
its origin's root is the order's registered lock (ARCHITECTURE section 5).

Timelocks: the datum holds absolute POSIX milliseconds; ``EscrowImmutables.timelocks`` is
the packed 1inch form. ``deployedAt`` is the creating transaction's lower validity bound
in whole seconds (the time a Fill's curve and timelocks are computed from), or the
block's time when it has none. Each stage's offset is its time minus ``deployedAt``,
rounded to whole seconds towards the safe side: withdrawal stages up (never earlier than
on chain), cancellation stages down (never later), clamped to ``[0, 2**32)``. Stages the
datum does not hold (the other side's) are 0.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any, Protocol

import structlog
from pycardano import Network

from relayer.chains.cardano.escrow_datum import (
    Cancel,
    DstEscrowDatum,
    PublicCancel,
    PublicWithdraw,
    SrcEscrowDatum,
    Withdraw,
    decode_escrow_datum,
    decode_escrow_redeemer,
)
from relayer.chains.cardano.events import LockSpend, OrderLocked, OrderLockSpent
from relayer.chains.cardano.order_datum import Reclaim, decode_order_datum, decode_order_redeemer
from relayer.chains.cardano.plutus_data import AssetClass, DatumError, PlutusAddress
from relayer.chains.cardano.slots import SlotClock
from relayer.chains.cardano.state import ChainState, Kind, Watched
from relayer.chains.events import (
    ChainPoint,
    DstComplement,
    EscrowCancelled,
    EscrowCreated,
    EscrowImmutables,
    EscrowRole,
    EscrowWithdrawn,
    LockOrigin,
)
from relayer.networks import bech32
from relayer.orders.timelocks import Stage
from relayer.signing.keccak import keccak256

log = structlog.get_logger(__name__)

CHAIN = "cardano"
_U32 = (1 << 32) - 1
_ROUND_UP = frozenset({Stage.SRC_WITHDRAWAL, Stage.SRC_PUBLIC_WITHDRAWAL,
                       Stage.DST_WITHDRAWAL, Stage.DST_PUBLIC_WITHDRAWAL})
_CACHE_LIMIT = 100_000
Json = dict[str, Any]


@dataclass(frozen=True, slots=True)
class ScriptHashes:
    """The validators the monitor follows, by script hash (28 bytes)."""

    escrow: frozenset[bytes]
    order: frozenset[bytes]


class Complements(Protocol):
    def complement(self, order_hash: str, dst_amount: int) -> DstComplement | None:
        """What the order behind a source escrow promises on the destination chain, or
        None when the relayer does not know the order."""


def pack_timelocks(times_ms: dict[Stage, int], deployed_at: int) -> int:
    """The packed 1inch timelocks for absolute stage times (POSIX ms) and ``deployedAt``
    (POSIX s), rounded as the module docstring says."""
    packed = deployed_at << 224
    base_ms = deployed_at * 1000
    for stage, at_ms in times_ms.items():
        delta = at_ms - base_ms
        offset = -(-delta // 1000) if stage in _ROUND_UP else delta // 1000
        packed |= min(max(offset, 0), _U32) << (32 * stage)
    return packed


def asset_text(asset: AssetClass) -> str:
    return "lovelace" if asset.is_lovelace else f"{asset.policy_id.hex()}.{asset.name.hex()}"


def output_amount(value: Json, asset: AssetClass) -> int:
    if asset.is_lovelace:
        return int(value["ada"]["lovelace"])
    return int(value.get(asset.policy_id.hex(), {}).get(asset.name.hex(), 0))


class AddressBook:
    """Bech32 parsing and rendering with small caches (a few addresses recur everywhere)."""

    def __init__(self, network: Network) -> None:
        self._network = network
        self._scripts: dict[str, bytes | None] = {}
        self._texts: dict[PlutusAddress, str] = {}

    def payment_script(self, address: str) -> bytes | None:
        """The payment credential of ``address`` if a script guards it."""
        cached = self._scripts.get(address, b"")
        if cached != b"":
            return cached
        script: bytes | None = None
        try:
            _, raw = bech32.decode(address)
        except bech32.Bech32Error:
            raw = b""  # Byron (base58) or garbage: never one of our scripts
        # Shelley headers: bit 4 set means the payment credential is a script hash.
        if len(raw) >= 29 and raw[0] >> 4 <= 7 and raw[0] & 0x10:
            script = raw[1:29]
        if len(self._scripts) >= _CACHE_LIMIT:
            self._scripts.clear()
        self._scripts[address] = script
        return script

    def text(self, address: PlutusAddress) -> str:
        found = self._texts.get(address)
        if found is None:
            if len(self._texts) >= _CACHE_LIMIT:
                self._texts.clear()
            found = self._texts[address] = str(address.to_address(self._network))
        return found


class BlockDecoder:
    def __init__(self, scripts: ScriptHashes, addresses: AddressBook, clock: SlotClock,
                 complements: Complements | None = None) -> None:
        self._scripts = scripts
        self._addresses = addresses
        self._clock = clock
        self._complements = complements
        self.ignored_outputs = 0
        """Outputs at our scripts that were not well-formed escrows or order locks."""

    def decode(self, block: Json, state: ChainState,
               emit: Callable[[Any], None]) -> None:
        """Derive the block's events, applying each to ``state`` and passing it to ``emit``."""
        transactions = block.get("transactions")
        if not transactions:
            return
        slot = int(block["slot"])
        height = int(block["height"])
        block_id = str(block["id"])
        block_ms = self._clock.posix_ms(slot)
        for tx in transactions:
            ctx = _Tx(tx, block_id, slot, height, block_ms // 1000)
            valid = tx.get("spends", "inputs") == "inputs"
            if state.watched:
                spent = tx["inputs"] if valid else tx.get("collaterals", ())
                self._spends(ctx, spent, valid, state, emit)
            outputs = tx["outputs"]
            if valid:
                created: list[tuple[int, Json]] = list(enumerate(outputs))
            elif "collateralReturn" in tx:
                created = [(len(outputs), tx["collateralReturn"])]
            else:
                created = []
            for index, output in created:
                script = self._addresses.payment_script(output["address"])
                if script is None:
                    continue
                if script in self._scripts.escrow:
                    event: Any = self._escrow(ctx, index, output, block_ms)
                elif script in self._scripts.order:
                    event = self._order_lock(ctx, index, output)
                else:
                    continue
                if event is not None:
                    state.apply(event)
                    emit(event)

    # -- spends -----------------------------------------------------------------------

    def _spends(self, ctx: _Tx, inputs: Any, valid: bool, state: ChainState,
                emit: Callable[[Any], None]) -> None:
        refs = [f"{i['transaction']['id']}#{i['index']}" for i in inputs]
        if not any(ref in state.watched for ref in refs):
            return
        order = sorted(range(len(inputs)),
                       key=lambda k: (inputs[k]["transaction"]["id"], inputs[k]["index"]))
        position = {k: pos for pos, k in enumerate(order)}
        redeemers = {r["validator"]["index"]: r["redeemer"]
                     for r in ctx.tx.get("redeemers", ())
                     if r["validator"]["purpose"] == "spend"} if valid else {}
        for k, ref in enumerate(refs):
            watched = state.watched.get(ref)
            if watched is None:
                continue
            index = position[k]
            point = ctx.point(index)
            raw = redeemers.get(index)
            event = (self._escrow_spend(ref, watched, raw, point) if watched.kind is Kind.ESCROW
                     else self._lock_spend(ctx, ref, watched, raw, point))
            if event is not None:
                state.apply(event)
                emit(event)

    def _escrow_spend(self, ref: str, watched: Watched, raw: str | None,
                      point: ChainPoint) -> EscrowWithdrawn | EscrowCancelled | None:
        try:
            redeemer = decode_escrow_redeemer(bytes.fromhex(raw or ""))
        except (DatumError, ValueError):
            log.warning("cardano_escrow_spent_unreadable", escrow=ref, tx=point.tx_id)
            return None
        if isinstance(redeemer, Withdraw | PublicWithdraw):
            if "0x" + keccak256(redeemer.secret).hex() != watched.hashlock:
                log.error("cardano_escrow_secret_mismatch", escrow=ref, tx=point.tx_id)
                return None
            return EscrowWithdrawn(escrow=ref, secret="0x" + redeemer.secret.hex(),
                                   point=point)
        assert isinstance(redeemer, Cancel | PublicCancel)
        return EscrowCancelled(escrow=ref, point=point)

    def _lock_spend(self, ctx: _Tx, ref: str, watched: Watched, raw: str | None,
                    point: ChainPoint) -> OrderLockSpent | None:
        try:
            redeemer = decode_order_redeemer(bytes.fromhex(raw or ""))
        except (DatumError, ValueError):
            log.warning("cardano_order_lock_spent_unreadable", lock=ref, tx=point.tx_id)
            return None
        if isinstance(redeemer, Reclaim):
            spend = LockSpend.RECLAIM
        else:
            spend = LockSpend.FILL
            lock = watched.lock
            assert lock is not None  # every watched order output keeps its OrderLocked
            ctx.fills.append(_Fill(lock, redeemer.escrow_output, redeemer.order_output))
        return OrderLockSpent(lock=ref, order_hash=watched.order_hash, maker=watched.maker,
                              spend=spend, point=point)

    # -- creations --------------------------------------------------------------------

    def _escrow(self, ctx: _Tx, index: int, output: Json, block_ms: int) -> EscrowCreated | None:
        ref = f"{ctx.tx_id}#{index}"
        try:
            datum = decode_escrow_datum(bytes.fromhex(output.get("datum", "")))
        except (DatumError, ValueError):
            self._ignore("cardano_escrow_datum_unreadable", ref)
            return None
        value = output["value"]
        held = output_amount(value, datum.asset)
        lovelace = int(value["ada"]["lovelace"])
        needed = datum.amount + (datum.safety_deposit if datum.asset.is_lovelace else 0)
        if held < needed or lovelace < datum.safety_deposit:
            self._ignore("cardano_escrow_underfunded", ref)
            return None
        lower = ctx.tx.get("validityInterval", {}).get("invalidBefore")
        deployed_at = (self._clock.posix_ms(int(lower)) if lower is not None
                       else block_ms) // 1000
        complement: DstComplement | None = None
        origin: LockOrigin | None = None
        if isinstance(datum, SrcEscrowDatum):
            named = [f.lock for f in ctx.fills if f.escrow_output == index
                     and f.lock.order_hash == "0x" + datum.order_hash.hex()]
            if len(named) != 1:
                # None: no Fill made it. Several (only possible with several order scripts):
                # no single lock's funds are in it.
                self._ignore("cardano_src_escrow_without_fill" if not named
                             else "cardano_src_escrow_named_by_several_fills", ref)
                return None
            spent = named[0]
            origin = LockOrigin(lock=spent.lock, root=spent.lineage_root,
                                filled_before=spent.filled, depth=spent.depth)
            role = EscrowRole.SRC
            times = {Stage.SRC_WITHDRAWAL: datum.withdrawal,
                     Stage.SRC_PUBLIC_WITHDRAWAL: datum.public_withdrawal,
                     Stage.SRC_CANCELLATION: datum.cancellation,
                     Stage.SRC_PUBLIC_CANCELLATION: datum.public_cancellation}
            if self._complements is not None:
                complement = self._complements.complement("0x" + datum.order_hash.hex(),
                                                          datum.dst_amount)
            if complement is None:
                log.info("cardano_src_escrow_unknown_order", escrow=ref,
                         order_hash="0x" + datum.order_hash.hex())
        else:
            assert isinstance(datum, DstEscrowDatum)
            role = EscrowRole.DST
            times = {Stage.DST_WITHDRAWAL: datum.withdrawal,
                     Stage.DST_PUBLIC_WITHDRAWAL: datum.public_withdrawal,
                     Stage.DST_CANCELLATION: datum.cancellation}
        immutables = EscrowImmutables(
            order_hash="0x" + datum.order_hash.hex(),
            hashlock="0x" + datum.hashlock.hex(),
            maker=self._addresses.text(datum.maker),
            taker=self._addresses.text(datum.taker),
            token=asset_text(datum.asset),
            amount=datum.amount,
            safety_deposit=datum.safety_deposit,
            timelocks=pack_timelocks(times, deployed_at),
        )
        return EscrowCreated(role=role, escrow=ref, immutables=immutables,
                             complement=complement, point=ctx.point(index), origin=origin)

    def _order_lock(self, ctx: _Tx, index: int, output: Json) -> OrderLocked | None:
        ref = f"{ctx.tx_id}#{index}"
        try:
            datum = decode_order_datum(bytes.fromhex(output.get("datum", "")))
        except (DatumError, ValueError):
            self._ignore("cardano_order_datum_unreadable", ref)
            return None
        locked = OrderLocked(
            lock=ref, order_hash="0x" + datum.order_hash.hex(),
            maker=self._addresses.text(datum.maker), asset=asset_text(datum.maker_asset),
            making_amount=datum.making_amount, filled=datum.filled,
            locked=output_amount(output["value"], datum.maker_asset), point=ctx.point(index),
            root=ref,
        )
        continued = [f.lock for f in ctx.fills
                     if f.order_output == index and self._continues(ctx, f, locked)]
        if len(continued) != 1:
            if any(f.lock.order_hash == locked.order_hash for f in ctx.fills):
                log.warning("cardano_order_lock_new_lineage_in_fill", lock=ref,
                            order_hash=locked.order_hash)
            return locked
        parent = continued[0]
        return replace(locked, parent=parent.lock, root=parent.lineage_root,
                       depth=parent.depth + 1)

    def _continues(self, ctx: _Tx, fill: _Fill, locked: OrderLocked) -> bool:
        """Whether ``locked`` (named by ``fill`` as its order output) is the spent lock's
        order with ``filled`` raised by the fill's escrow amount, something still left."""
        spent = fill.lock
        if ((spent.order_hash, spent.maker, spent.asset, spent.making_amount)
                != (locked.order_hash, locked.maker, locked.asset, locked.making_amount)):
            return False
        amount = self._escrow_amount(ctx, fill.escrow_output, locked.order_hash)
        return (amount is not None and amount > 0
                and locked.filled == spent.filled + amount < locked.making_amount)

    def _escrow_amount(self, ctx: _Tx, index: int, order_hash: str) -> int | None:
        """The amount of the source escrow of ``order_hash`` at output ``index``, if that
        output is one (it may come after the order output, so it is read here)."""
        outputs = ctx.tx["outputs"]
        if not 0 <= index < len(outputs):
            return None
        output = outputs[index]
        if self._addresses.payment_script(output["address"]) not in self._scripts.escrow:
            return None
        try:
            datum = decode_escrow_datum(bytes.fromhex(output.get("datum", "")))
        except (DatumError, ValueError):
            return None
        if not isinstance(datum, SrcEscrowDatum) or "0x" + datum.order_hash.hex() != order_hash:
            return None
        return datum.amount

    def _ignore(self, what: str, ref: str) -> None:
        self.ignored_outputs += 1
        log.warning(what, output=ref)


@dataclass(frozen=True, slots=True)
class _Fill:
    """A ``Fill`` spend: the lock it spent and the outputs its redeemer names."""

    lock: OrderLocked
    escrow_output: int
    order_output: int


class _Tx:
    """One transaction of a block, with what every point derived from it shares."""

    __slots__ = ("tx", "tx_id", "block_id", "slot", "height", "timestamp", "fills")

    def __init__(self, tx: Json, block_id: str, slot: int, height: int, timestamp: int) -> None:
        self.tx = tx
        self.tx_id: str = tx["id"]
        self.block_id = block_id
        self.slot = slot
        self.height = height
        self.timestamp = timestamp
        self.fills: list[_Fill] = []
        """The Fills of live locks this transaction spent, in input order."""

    def point(self, index: int) -> ChainPoint:
        return ChainPoint(chain=CHAIN, height=self.height, slot=self.slot,
                          block_id=self.block_id, timestamp=self.timestamp, tx_id=self.tx_id,
                          index=index)
