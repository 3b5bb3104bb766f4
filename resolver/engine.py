"""The reference resolver's loop: find profitable orders, fill, settle or cancel.

Each step reads the open orders from the relayer, prices every one it has no
fill of in progress, and starts one swap per order it wants. A swap is one
coroutine that walks the happy path (fill the source escrow, lock the
destination escrow, wait for the secret, withdraw on both chains) and falls
back to the cancel path when the secret has not come before the destination
escrow's cancellation draws near. Chain actions are retried until their
window closes: a relayer restart, a slow block or a busy node must not lose a
swap. The resolver also carries out the public actions the relayer lists
(withdrawing for a vanished resolver, cancelling to refund a maker), which
earn it the safety deposits.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import TypeVar

import structlog

from relayer.errors import RelayerError
from relayer.orders.timelocks import Stage
from relayer.settlement.policy import stage_start
from resolver.chains import ChainWallet, EscrowHandle, FillPlan, Sent, dst_terms
from resolver.client import (
    OrderState,
    PublicAction,
    RelayerClient,
    RelayerRefused,
    RelayerUnavailable,
    lineage_of,
    role_of,
)
from resolver.pricing import Pricer, fill_plan

log = structlog.get_logger(__name__)
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class ResolverTiming:
    poll_seconds: float = 0.5
    """Between two looks at the relayer's orders, secrets and public actions."""
    retry_seconds: float = 1.0
    """Between two tries of a chain action that failed."""
    cancel_margin_seconds: int = 30
    """Stop waiting for the secret this long before the destination escrow cancels:
    the relayer holds it back from then on anyway (its own safety margin)."""
    fill_backoff_seconds: float = 5.0
    """After a failed fill, leave the order alone this long."""


@dataclass
class SwapRecord:
    """What one swap did: the resolver's own account of it."""

    order_hash: str
    secret_index: int
    amount: int
    dst_amount: int
    src: EscrowHandle | None = None
    dst: EscrowHandle | None = None
    outcome: str = "filling"
    """filling, awaiting_secret, settled, refunded, failed."""
    sent: list[tuple[str, Sent]] = field(default_factory=list)
    """Every transaction of the swap, with its chain (fees for exact accounting): also
    those included but failed (a reverted fill or withdrawal still paid its gas, a
    Cardano script failure its collateral)."""

    def fees(self, chain: str) -> int:
        return sum(s.fee for c, s in self.sent if c == chain)


class Resolver:
    def __init__(self, *, name: str, client: RelayerClient, wallets: Mapping[str, ChainWallet],
                 pricer: Pricer, timing: ResolverTiming | None = None,
                 max_swaps: int = 20) -> None:
        self.name = name
        self._client = client
        self._wallets = dict(wallets)
        self._pricer = pricer
        self._timing = timing or ResolverTiming()
        self._max_swaps = max_swaps
        self._swaps: dict[str, asyncio.Task[SwapRecord]] = {}
        self._filled_by_me: dict[str, int] = {}
        self._backoff_until: dict[str, float] = {}
        self._public_next: dict[tuple[str, str], float] = {}
        """When each public action may be tried (again); inf once done."""
        self._public_tasks: set[asyncio.Task[None]] = set()
        self.records: list[SwapRecord] = []
        self.public_sent: list[tuple[PublicAction, Sent]] = []
        """Public actions this resolver carried out."""
        self.public_failed: list[tuple[PublicAction, Sent]] = []
        """Public actions whose transaction was included but failed (it paid a fee)."""

    def wallet(self, chain: str) -> ChainWallet:
        return self._wallets[chain]

    # ------------------------------------------------------------------ loop

    async def run(self) -> None:
        log.info("resolver_started", resolver=self.name,
                 chains={c: w.address for c, w in self._wallets.items()})
        try:
            while True:
                await self.step()
                await asyncio.sleep(self._timing.poll_seconds)
        finally:
            await self.stop()

    async def stop(self) -> None:
        tasks = [*self._swaps.values(), *self._public_tasks]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def step(self) -> None:
        """One look at the relayer: new fills and public actions."""
        self._reap()
        try:
            orders = await self._client.open_orders()
            actions = await self._client.public_actions()
        except RelayerError as exc:
            log.warning("resolver_relayer_unreachable", error=exc.message)
            return
        for state in orders:
            if len(self._swaps) >= self._max_swaps:
                break
            await self._consider(state)
        for action in actions:
            self._take_public(action)

    def _reap(self) -> None:
        for order_hash, task in list(self._swaps.items()):
            if task.done():
                del self._swaps[order_hash]

    async def _consider(self, state: OrderState) -> None:
        order = state.signed
        o = order.order
        if order.order_hash in self._swaps or self._backoff_until.get(
                order.order_hash, 0.0) > time.monotonic():
            return
        src, dst = self._wallets.get(o.src_chain), self._wallets.get(o.dst_chain)
        if src is None or dst is None:
            return
        try:
            now = await src.chain_time()
        except Exception as exc:  # a node hiccup: look again next step
            log.warning("resolver_chain_unreachable", chain=o.src_chain, error=repr(exc))
            return
        if not o.auction.start_time <= now < o.deadline:
            return
        filled = max(state.filled, self._filled_by_me.get(order.order_hash, 0))
        quote = self._pricer.quote(order, filled, now)
        if quote is None or not quote.profitable:
            return
        plan = fill_plan(order, filled, quote)
        record = SwapRecord(order.order_hash, plan.secret_index, plan.amount, plan.dst_amount)
        self.records.append(record)
        self._swaps[order.order_hash] = asyncio.create_task(
            self._swap(record, state, plan, src, dst), name=f"swap-{order.order_hash[:10]}")

    # ------------------------------------------------------------------ one swap

    async def _swap(self, record: SwapRecord, state: OrderState, plan: FillPlan,
                    src_wallet: ChainWallet, dst_wallet: ChainWallet) -> SwapRecord:
        order = state.signed
        bound = log.bind(resolver=self.name, order_hash=order.order_hash,
                         idx=plan.secret_index)
        try:
            if order.src_order_utxo is not None:  # a Cardano lock: follow its lineage
                plan = replace(plan, lineage=lineage_of(
                    await self._client.fills(order.order_hash), order.order.src_chain))
            src = await src_wallet.fill(plan)
        except Exception as exc:
            bound.warning("resolver_fill_failed", error=repr(exc))
            _record_paid(record, src_wallet.chain, exc)
            record.outcome = "failed"
            self._backoff_until[order.order_hash] = (
                time.monotonic() + self._timing.fill_backoff_seconds)
            return record
        record.src = src
        record.sent.append((src.chain, src.created))
        self._filled_by_me[order.order_hash] = (
            max(state.filled, self._filled_by_me.get(order.order_hash, 0)) + plan.amount)
        bound.info("resolver_src_escrow_created", escrow=src.escrow, amount=plan.amount,
                   dst_amount=plan.dst_amount)
        src_cancel = stage_start(src.immutables.timelocks, Stage.SRC_CANCELLATION)
        terms = dst_terms(order, src)
        dst = await self._retrying("create_dst", lambda: dst_wallet.create_dst(terms),
                                   dst_wallet, record, until=src_cancel,
                                   clock=src_wallet)
        if dst is not None:
            record.dst = dst
            record.sent.append((dst.chain, dst.created))
            record.outcome = "awaiting_secret"
            bound.info("resolver_dst_escrow_created", escrow=dst.escrow)
            dst_cancel = stage_start(dst.immutables.timelocks, Stage.DST_CANCELLATION)
            secret = await self._await_secret(order.order_hash, plan.secret_index, dst_wallet,
                                              until=dst_cancel - self._timing.cancel_margin_seconds)
            if secret is not None:
                await self._settle(record, src_wallet, dst_wallet, src, dst, secret)
                return record
            bound.warning("resolver_secret_never_came")
            await self._cancel(record, dst_wallet, dst, Stage.DST_CANCELLATION)
        await self._cancel(record, src_wallet, src, Stage.SRC_CANCELLATION)
        record.outcome = "refunded"
        return record

    async def _settle(self, record: SwapRecord, src_wallet: ChainWallet,
                      dst_wallet: ChainWallet, src: EscrowHandle, dst: EscrowHandle,
                      secret: bytes) -> None:
        for wallet, escrow, opens, public in (
                (dst_wallet, dst, Stage.DST_WITHDRAWAL, Stage.DST_PUBLIC_WITHDRAWAL),
                (src_wallet, src, Stage.SRC_WITHDRAWAL, Stage.SRC_PUBLIC_WITHDRAWAL)):
            packed = escrow.immutables.timelocks
            await self._until(wallet, stage_start(packed, opens))
            public_from = stage_start(packed, public)

            async def withdraw(wallet: ChainWallet = wallet, escrow: EscrowHandle = escrow,
                               public_from: int = public_from) -> Sent:
                late = await wallet.chain_time() >= public_from
                return await wallet.withdraw(escrow, secret, public=late)

            sent = await self._retrying("withdraw", withdraw, wallet, record, until=None)
            if sent is not None:
                record.sent.append((wallet.chain, sent))
        record.outcome = "settled"
        log.info("resolver_swap_settled", resolver=self.name, order_hash=record.order_hash,
                 idx=record.secret_index)

    async def _cancel(self, record: SwapRecord, wallet: ChainWallet, escrow: EscrowHandle,
                      stage: Stage) -> None:
        await self._until(wallet, stage_start(escrow.immutables.timelocks, stage))
        sent = await self._retrying("cancel", lambda: wallet.cancel(escrow), wallet, record,
                                    until=None)
        if sent is not None:
            record.sent.append((wallet.chain, sent))

    async def _await_secret(self, order_hash: str, idx: int, wallet: ChainWallet, *,
                            until: int) -> bytes | None:
        while True:
            try:
                secrets = await self._client.secrets(order_hash)
                if idx in secrets:
                    return secrets[idx]
            except RelayerError as exc:  # the relayer restarting: keep asking
                log.info("resolver_secret_poll_failed", order_hash=order_hash,
                         error=exc.code)
            try:
                if await wallet.chain_time() >= until:
                    return None
            except Exception as exc:
                log.warning("resolver_chain_unreachable", chain=wallet.chain, error=repr(exc))
            await asyncio.sleep(self._timing.poll_seconds)

    async def _until(self, wallet: ChainWallet, at: int) -> None:
        """Wait until ``wallet``'s chain has a block at or after ``at``."""
        while True:
            try:
                if await wallet.chain_time() >= at:
                    return
            except Exception as exc:
                log.warning("resolver_chain_unreachable", chain=wallet.chain, error=repr(exc))
            await asyncio.sleep(self._timing.poll_seconds)

    async def _retrying(self, what: str, action: Callable[[], Awaitable[T]],
                        wallet: ChainWallet, record: SwapRecord, *, until: int | None,
                        clock: ChainWallet | None = None) -> T | None:
        """``action`` on ``wallet`` until it succeeds, or None once ``clock``'s chain
        (default: ``wallet``'s) reaches ``until``. A failed try that still cost a fee
        (a transaction mined but reverted) is recorded in ``record``."""
        clock = clock or wallet
        while True:
            try:
                return await action()
            except Exception as exc:
                log.warning("resolver_action_failed", action=what, chain=wallet.chain,
                            error=repr(exc))
                _record_paid(record, wallet.chain, exc)
            if until is not None:
                try:
                    if await clock.chain_time() >= until:
                        return None
                except Exception as exc:
                    log.warning("resolver_chain_unreachable", chain=clock.chain,
                                error=repr(exc))
            await asyncio.sleep(self._timing.retry_seconds)

    # ------------------------------------------------------------------ public actions

    def _take_public(self, action: PublicAction) -> None:
        key = (action.action, action.escrow.escrow)
        wallet = self._wallets.get(action.escrow.chain)
        if self._public_next.get(key, 0.0) > time.monotonic() or wallet is None:
            return
        if action.action == "public_withdraw" and action.secret is None:
            return
        self._public_next[key] = float("inf")
        task = asyncio.create_task(self._public(action, wallet))
        self._public_tasks.add(task)
        task.add_done_callback(self._public_tasks.discard)

    async def _public(self, action: PublicAction, wallet: ChainWallet) -> None:
        try:
            state = await self._client.order(action.order_hash)
        except (RelayerUnavailable, RelayerRefused) as exc:
            log.warning("resolver_public_action_skipped", order_hash=action.order_hash,
                        error=exc.code)
            self._public_next[(action.action, action.escrow.escrow)] = time.monotonic()
            return
        ref = action.escrow
        handle = EscrowHandle(
            chain=ref.chain, role=role_of(state.signed.order.src_chain, ref), escrow=ref.escrow,
            immutables=ref.immutables, complement=None,
            created=Sent(tx_id="", fee=0, block_time=ref.immutables.timelocks >> 224))
        try:
            if action.action == "public_withdraw":
                assert action.secret is not None
                sent = await wallet.withdraw(handle, action.secret, public=True)
            else:
                sent = await wallet.cancel(handle, public=True)
        except Exception as exc:
            log.warning("resolver_public_action_failed", action=action.action,
                        order_hash=action.order_hash, error=repr(exc))
            paid = paid_by(exc)
            if paid is not None:
                self.public_failed.append((action, paid))
            # Listed until the relayer indexes someone's action: try again a bit later.
            self._public_next[(action.action, ref.escrow)] = (
                time.monotonic() + self._timing.fill_backoff_seconds)
            return
        self.public_sent.append((action, sent))
        log.info("resolver_public_action_done", action=action.action,
                 order_hash=action.order_hash, escrow=ref.escrow, tx_id=sent.tx_id)


def paid_by(exc: BaseException) -> Sent | None:
    """The transaction a failed action still paid for: a wallet error whose details
    carry the included transaction's id, fee and block time (a revert, a script
    failure); None if nothing was included."""
    if not isinstance(exc, RelayerError):
        return None
    details = exc.details
    tx_id, fee = details.get("tx_id"), details.get("fee")
    if not isinstance(tx_id, str) or not isinstance(fee, int):
        return None
    return Sent(tx_id=tx_id, fee=fee, block_time=int(details.get("block_time", 0)))


def _record_paid(record: SwapRecord, chain: str, exc: BaseException) -> None:
    paid = paid_by(exc)
    if paid is not None:
        record.sent.append((chain, paid))
        log.info("resolver_failed_tx_paid", order_hash=record.order_hash, chain=chain,
                 tx_id=paid.tx_id, fee=paid.fee)
