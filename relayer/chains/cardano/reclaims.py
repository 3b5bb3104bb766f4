"""A maker reclaiming its order lock cancels the order.

The Cardano monitor reports every spend of an order lock (``OrderLockSpent``). A
``Reclaim`` can only be signed by the maker named in the lock's datum, so when that maker
is the order's maker the order is cancelled (``reason="maker_reclaimed"``). Matching on
the maker as well as the order hash matters: anyone may lock funds under someone else's
order hash, and reclaiming that lock must not cancel the real order.

The cancellation follows the reclaim at once, without waiting for confirmations: a
reclaimed lock can no longer be filled, and if the reclaim is rolled back the maker keeps
its funds either way. At start, ``catch_up`` replays the live reclaims, so one seen just
before a crash still cancels its order; cancelling is idempotent.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import structlog

from relayer.chains.cardano.events import LockSpend, OrderLockSpent
from relayer.errors import ConflictError, ValidationError
from relayer.networks.registry import ChainRegistry
from relayer.orders.desk import OrderDesk
from relayer.orders.status import CANCELLABLE, OrderStatus

log = structlog.get_logger(__name__)


class ReclaimCanceller:
    def __init__(self, desk: OrderDesk, chains: ChainRegistry,
                 active: Callable[[], bool] = lambda: True) -> None:
        """``active``: whether this replica writes (the leader, whose monitor runs);
        followers see the same events through the log and leave them to the leader."""
        self._desk = desk
        self._chains = chains
        self._active = active

    async def on_lock_spent(self, event: OrderLockSpent) -> None:
        if event.spend is not LockSpend.RECLAIM or not self._active():
            return
        entry = self._desk.book.get(event.order_hash)
        if entry is None or entry.status not in CANCELLABLE:
            return
        order = entry.signed.order
        if order.src_chain != "cardano" or not self._same_maker(order.maker, event.maker):
            log.info("cardano_reclaim_not_by_order_maker", order_hash=event.order_hash,
                     lock=event.lock)
            return
        try:
            await self._desk.transition(event.order_hash, OrderStatus.CANCELLED,
                                        reason="maker_reclaimed")
        except ConflictError as exc:  # changed meanwhile (filled, cancelled, ...)
            log.info("cardano_reclaim_cancel_skipped", order_hash=event.order_hash,
                     code=exc.code)

    async def catch_up(self, events: Sequence[object]) -> None:
        for event in events:
            if isinstance(event, OrderLockSpent):
                await self.on_lock_spent(event)

    def _same_maker(self, order_maker: str, lock_maker: str) -> bool:
        chain = self._chains.get("cardano", field="order.src_chain")
        try:
            return (chain.parse_address(order_maker, field="order.maker").raw
                    == chain.parse_address(lock_maker, field="lock.maker").raw)
        except ValidationError:
            return False
