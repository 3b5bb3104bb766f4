"""The Ethereum parts of a relayer, built once by ``create_app``.

With ``chains.ethereum.follow`` on (the default) or an ``EthereumRpc`` handed
in, the app gets: the escrow monitor (a ``ChainMonitor`` the lifespan starts
and stops, and the auction's base-fee source), the intake funds check for
Ethereum-source orders, and the scheduled background re-check of those funds.
With it off, none of these exist: intake checks no funds, the base fee is the
configured one.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from relayer.auction.gas import BaseFeeSource, StaticBaseFee
from relayer.chains.escrows import EscrowBook
from relayer.chains.ethereum.abi import EscrowAbi
from relayer.chains.ethereum.failover import FailoverRpc
from relayer.chains.ethereum.funds import EthereumFundsCheck, MakerFundsWatcher
from relayer.chains.ethereum.monitor import EthereumMonitor
from relayer.chains.ethereum.rpc import EthereumRpc
from relayer.clock import Clock
from relayer.config import EthereumSettings
from relayer.events.projection import Committed
from relayer.orders.desk import OrderDesk
from relayer.orders.funding import FundsCheck
from relayer.store.base import EventStore


def rpc_from_settings(settings: EthereumSettings) -> FailoverRpc:
    return FailoverRpc(settings.rpc_urls, timeout=settings.rpc_timeout_seconds,
                       backoff_initial=settings.backoff_initial_seconds,
                       backoff_max=settings.backoff_max_seconds)


@dataclass(slots=True)
class EthereumParts:
    settings: EthereumSettings
    rpc: EthereumRpc | None = None
    monitor: EthereumMonitor | None = None
    funds_check: EthereumFundsCheck | None = None
    watcher: MakerFundsWatcher | None = None
    owns_rpc: bool = False

    @classmethod
    def build(cls, settings: EthereumSettings, *, store: EventStore, committed: Committed,
              escrows: EscrowBook, rpc: EthereumRpc | None = None) -> EthereumParts:
        """``rpc``: chain access to use (a test's); ``None``: the settings decide."""
        if rpc is None and not settings.follow:
            return cls(settings)
        owns = rpc is None
        chain = rpc if rpc is not None else rpc_from_settings(settings)
        abi = EscrowAbi.load()
        monitor = EthereumMonitor(rpc=chain, store=store, committed=committed, escrows=escrows,
                                  settings=settings, abi=abi)
        check = EthereumFundsCheck(rpc=chain, factory=settings.escrow_factory, abi=abi)
        return cls(settings, rpc=chain, monitor=monitor, funds_check=check, owns_rpc=owns)

    @property
    def monitors(self) -> tuple[EthereumMonitor, ...]:
        return (self.monitor,) if self.monitor is not None else ()

    @property
    def funds(self) -> Mapping[str, FundsCheck]:
        return {"ethereum": self.funds_check} if self.funds_check is not None else {}

    @property
    def base_fee(self) -> BaseFeeSource:
        return self.monitor if self.monitor is not None else StaticBaseFee(
            self.settings.base_fee)

    def watch(self, desk: OrderDesk, clock: Clock) -> MakerFundsWatcher | None:
        if self.funds_check is not None:
            self.watcher = MakerFundsWatcher(desk=desk, check=self.funds_check, clock=clock)
        return self.watcher

    def schedule(self, scheduler: AsyncIOScheduler) -> None:
        if self.watcher is not None:
            scheduler.add_job(self.watcher.recheck, "interval",
                              seconds=self.settings.funds_recheck_seconds,
                              id="ethereum_funds_recheck", max_instances=1, coalesce=True)

    async def close(self) -> None:
        if self.owns_rpc and self.rpc is not None:
            await self.rpc.close()
