"""Can the maker's tokens back an Ethereum-source order? At intake, and again in the background.

``EthereumFundsCheck`` is the order desk's ``FundsCheck`` for orders whose
source is Ethereum: the maker's ERC-20 balance and its allowance for the
escrow factory must each cover what is still to be filled, or intake refuses
with ``INSUFFICIENT_BALANCE`` / ``INSUFFICIENT_ALLOWANCE``. When no RPC
endpoint answers, intake refuses with ``CHAIN_UNAVAILABLE`` (503): an order
whose funds were never seen is not listed to resolvers (docs/ethereum-monitor.md).

``MakerFundsWatcher.recheck`` runs on a schedule: an open order whose funds
dropped moves to ``invalid`` (reason ``insufficient_balance`` or
``insufficient_allowance``), and an order made invalid for that reason moves
back (``pending``, ``active`` or ``partially_filled``) once the funds return.
Each move is one ``OrderStatusChanged``, committed, then published. A pass stops at
the first chain error, leaving the orders it did not reach as they were.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import structlog

from relayer.chains.ethereum.abi import EscrowAbi
from relayer.chains.ethereum.rpc import EthereumRpc
from relayer.clock import Clock
from relayer.errors import ChainError, ConflictError, ValidationError
from relayer.networks.registry import checksum_address
from relayer.orders.book import OrderEntry
from relayer.orders.desk import OrderDesk
from relayer.orders.model import SignedOrder
from relayer.orders.status import OrderStatus

log = structlog.get_logger(__name__)

CHAIN = "ethereum"
ZERO_ADDRESS = "0x" + "00" * 20
SHORT_REASONS = {"INSUFFICIENT_BALANCE": "insufficient_balance",
                 "INSUFFICIENT_ALLOWANCE": "insufficient_allowance"}
"""Error code at intake -> reason of the move to ``invalid``."""
_WATCHED = (OrderStatus.PENDING, OrderStatus.ACTIVE, OrderStatus.PARTIALLY_FILLED)


@dataclass(frozen=True, slots=True)
class MakerFunds:
    balance: int
    allowance: int
    """What the escrow factory may move from the maker."""

    def shortfall(self, needed: int) -> str | None:
        """The error code for ``needed`` units, or ``None`` when they are covered."""
        if self.balance < needed:
            return "INSUFFICIENT_BALANCE"
        if self.allowance < needed:
            return "INSUFFICIENT_ALLOWANCE"
        return None


class EthereumFundsCheck:
    def __init__(self, *, rpc: EthereumRpc, factory: str, abi: EscrowAbi | None = None) -> None:
        self._rpc = rpc
        self._abi = abi or EscrowAbi.load()
        self._factory = checksum_address(factory, field="chains.ethereum.escrow_factory")

    async def funds(self, maker: str, token: str) -> MakerFunds:
        owner = bytes(12) + bytes.fromhex(maker[2:])
        spender = bytes(12) + bytes.fromhex(self._factory[2:])
        balance = await self._rpc.call(token, self._abi.balance_of + owner)
        allowance = await self._rpc.call(token, self._abi.allowance + owner + spender)
        if len(balance) != 32 or len(allowance) != 32:
            raise ChainError(f"token {token} did not answer balanceOf / allowance",
                             code="TOKEN_UNREADABLE", details={"token": token})
        return MakerFunds(balance=int.from_bytes(balance, "big"),
                          allowance=int.from_bytes(allowance, "big"))

    async def check(self, signed: SignedOrder) -> None:
        order = signed.order
        await self.check_amount(order.maker, order.maker_asset, order.making_amount)

    async def check_amount(self, maker: str, token: str, needed: int) -> None:
        if token == ZERO_ADDRESS:
            raise ValidationError(
                "the escrow factory takes ERC-20 maker assets only (wrap ETH first)",
                code="UNSUPPORTED_MAKER_ASSET", details={"field": "order.maker_asset"})
        funds = await self.funds(maker, token)
        code = funds.shortfall(needed)
        if code is not None:
            have = funds.balance if code == "INSUFFICIENT_BALANCE" else funds.allowance
            what = "balance" if code == "INSUFFICIENT_BALANCE" else "allowance for the factory"
            raise ValidationError(
                f"the maker's {what} is below the order's making amount",
                code=code, details={"required": str(needed), "available": str(have),
                                    "token": token, "spender": self._factory})


@dataclass(frozen=True, slots=True)
class RecheckResult:
    checked: int = 0
    invalidated: int = 0
    restored: int = 0
    unreachable: bool = False


class MakerFundsWatcher:
    """Re-checks the funds behind open Ethereum-source orders (one pass per call)."""

    def __init__(self, *, desk: OrderDesk, check: EthereumFundsCheck, clock: Clock,
                 filled: Callable[[str], int] = lambda order_hash: 0) -> None:
        """``filled``: what an order's authentic fills took (settlement's fills)."""
        self._filled = filled
        self._desk = desk
        self._check = check
        self._clock = clock

    async def recheck(self) -> RecheckResult:
        book = self._desk.book
        open_orders = [e for e in book.with_status(_WATCHED)
                       if e.signed.order.src_chain == CHAIN]
        short = [e for e in book.with_status((OrderStatus.INVALID,))
                 if e.signed.order.src_chain == CHAIN
                 and e.status_reason in SHORT_REASONS.values()]
        seen: dict[tuple[str, str], MakerFunds] = {}
        checked = invalidated = restored = 0
        try:
            for entry in (*open_orders, *short):
                order = entry.signed.order
                key = (order.maker, order.maker_asset)
                if key not in seen:
                    seen[key] = await self._check.funds(*key)
                checked += 1
                code = seen[key].shortfall(order.making_amount - self._filled(entry.order_hash))
                if entry.status is OrderStatus.INVALID:
                    if code is None and await self._move(entry, self._back_to(entry),
                                                         "funds_restored"):
                        restored += 1
                elif code is not None and await self._move(entry, OrderStatus.INVALID,
                                                           SHORT_REASONS[code]):
                    invalidated += 1
        except ChainError as exc:
            log.warning("maker_funds_recheck_failed", error=exc.message, code=exc.code,
                        checked=checked)
            return RecheckResult(checked, invalidated, restored, unreachable=True)
        if invalidated or restored:
            log.info("maker_funds_rechecked", checked=checked, invalidated=invalidated,
                     restored=restored)
        return RecheckResult(checked, invalidated, restored)

    def _back_to(self, entry: OrderEntry) -> OrderStatus:
        if self._filled(entry.order_hash):
            return OrderStatus.PARTIALLY_FILLED
        if self._clock.now() >= entry.signed.order.auction.start_time:
            return OrderStatus.ACTIVE
        return OrderStatus.PENDING

    async def _move(self, entry: OrderEntry, status: OrderStatus, reason: str) -> bool:
        try:
            await self._desk.transition(entry.order_hash, status, reason=reason)
        except ConflictError as exc:
            # The order moved meanwhile (filled, cancelled, expired): the next pass sees it.
            log.info("maker_funds_move_skipped", order_hash=entry.order_hash, error=exc.code)
            return False
        return True
