"""The Ethereum parts of a relayer, built once by ``create_app``.

With ``chains.ethereum.follow`` on (the default) or an ``EthereumRpc`` handed
in, the app gets: the escrow monitor (a ``ChainMonitor`` the lifespan starts
and stops, and the auction's base-fee source), the intake funds check for
Ethereum-source orders, and the scheduled background re-check of those funds.
With it off, none of these exist: intake checks no funds, the base fee is the
configured one.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

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
from relayer.lifecycle import Job
from relayer.orders.desk import OrderDesk
from relayer.orders.funding import FundsCheck
from relayer.store.base import EventStore


def rpc_from_settings(settings: EthereumSettings) -> FailoverRpc:
    return FailoverRpc(settings.rpc_urls, timeout=settings.rpc_timeout_seconds,
                       backoff_initial=settings.backoff_initial_seconds,
                       backoff_max=settings.backoff_max_seconds)


@dataclass(slots=True)
class EthereumComponent:
    name = "ethereum"
    settings: EthereumSettings
    rpc: EthereumRpc | None = None
    monitor: EthereumMonitor | None = None
    funds_check: EthereumFundsCheck | None = None
    watcher: MakerFundsWatcher | None = None
    owns_rpc: bool = False

    @classmethod
    def build(cls, settings: EthereumSettings, *, store: EventStore, committed: Committed,
              escrows: EscrowBook, rpc: EthereumRpc | None = None) -> EthereumComponent:
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

    def watch(self, desk: OrderDesk, clock: Clock,
              filled: Callable[[str], int]) -> MakerFundsWatcher | None:
        """``filled``: what an order's authentic fills took (settlement's fills)."""
        if self.funds_check is not None:
            self.watcher = MakerFundsWatcher(desk=desk, check=self.funds_check, clock=clock,
                                             filled=filled)
        return self.watcher

    async def start(self) -> None:
        """Nothing to start: the monitor is the leader's (``monitors``)."""

    async def stop(self) -> None:
        if self.owns_rpc and self.rpc is not None:
            await self.rpc.close()

    def jobs(self) -> Sequence[Job]:
        if self.watcher is None:
            return []
        return [Job("ethereum_funds_recheck", self.watcher.recheck,
                    self.settings.funds_recheck_seconds, leader_only=True)]
