"""The Cardano parts of a relayer, built once by ``create_app``.

With ``chains.cardano.follow`` on or a ``CardanoNode`` handed in (tests), the app gets
the Cardano monitor (a ``ChainMonitor`` the lifespan starts and stops), the intake check
of Cardano-source order locks, and the canceller that turns a maker's reclaim into a
cancelled order. With it off, none of these exist: Cardano-source orders are taken
without an on-chain check (a development setting; docs/cardano-monitor.md).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from pycardano import Network

from relayer.chains.cardano.decode import AddressBook, ScriptHashes
from relayer.chains.cardano.events import OrderLockSpent
from relayer.chains.cardano.funds import OrderLockCheck
from relayer.chains.cardano.monitor import CardanoMonitor
from relayer.chains.cardano.node import CardanoNode
from relayer.chains.cardano.ogmios import OgmiosNode
from relayer.chains.cardano.reclaims import ReclaimCanceller
from relayer.chains.cardano.scripts import load_validators
from relayer.chains.events import DstComplement
from relayer.config import CardanoSettings
from relayer.errors import ValidationError
from relayer.events.bus import EventBus
from relayer.events.projection import Committed
from relayer.networks.registry import ChainRegistry
from relayer.orders.book import OrderBook
from relayer.orders.desk import OrderDesk
from relayer.orders.funding import FundsCheck
from relayer.store.base import EventStore


def script_hashes() -> ScriptHashes:
    """The hashes of the committed escrow and order validators (``contracts-abi/cardano/``)."""
    validators = load_validators()
    return ScriptHashes(escrow=frozenset({bytes(validators.escrow.hash.payload)}),
                        order=frozenset({bytes(validators.order.hash.payload)}))


class OrderComplements:
    """``Complements`` from the order book: what a source escrow's order promises on the
    destination chain (the receiver, taker asset, deposit and chain id are signed in the
    order whose hash the escrow datum carries)."""

    def __init__(self, chains: ChainRegistry) -> None:
        self._chains = chains
        self.book: OrderBook | None = None

    def complement(self, order_hash: str, dst_amount: int) -> DstComplement | None:
        entry = self.book.get(order_hash) if self.book is not None else None
        if entry is None:
            return None
        order = entry.signed.order
        try:
            chain = self._chains.get(order.dst_chain, field="order.dst_chain")
            receiver = chain.parse_address(order.receiver, field="order.receiver").text
            token = chain.asset(order.taker_asset, field="order.taker_asset").id
        except ValidationError:
            return None
        return DstComplement(maker=receiver, amount=dst_amount, token=token,
                             safety_deposit=order.dst_safety_deposit, chain_id=chain.chain_id)


@dataclass(slots=True)
class CardanoComponent:
    settings: CardanoSettings
    bus: EventBus | None = None
    chains: ChainRegistry | None = None
    node: CardanoNode | None = None
    monitor: CardanoMonitor | None = None
    lock_check: OrderLockCheck | None = None
    complements: OrderComplements | None = None
    canceller: ReclaimCanceller | None = None

    @classmethod
    def build(cls, settings: CardanoSettings, *, store: EventStore, bus: EventBus,
              committed: Committed, chains: ChainRegistry, node: CardanoNode | None = None,
              scripts: ScriptHashes | None = None) -> CardanoComponent:
        """``node``: chain access to use (a test's); ``None``: the settings decide."""
        if node is None and not settings.follow:
            return cls(settings)
        node = node or OgmiosNode(settings.ogmios_url, window=settings.sync_window)
        hashes = scripts or script_hashes()
        network = Network.MAINNET if settings.network == "mainnet" else Network.TESTNET
        complements = OrderComplements(chains)
        monitor = CardanoMonitor(node=node, store=store, committed=committed, scripts=hashes,
                                 settings=settings, complements=complements)
        check = OrderLockCheck(node, order_scripts=hashes.order, chains=chains,
                               addresses=AddressBook(network))
        return cls(settings, bus=bus, chains=chains, node=node, monitor=monitor,
                   lock_check=check, complements=complements)

    @property
    def monitors(self) -> tuple[CardanoMonitor, ...]:
        return (self.monitor,) if self.monitor is not None else ()

    @property
    def funds(self) -> Mapping[str, FundsCheck]:
        return {"cardano": self.lock_check} if self.lock_check is not None else {}

    def watch(self, desk: OrderDesk) -> ReclaimCanceller | None:
        """Connect the parts that need the order desk (built after the funds checks)."""
        if self.monitor is None or self.bus is None or self.chains is None:
            return None
        assert self.complements is not None
        self.complements.book = desk.book
        monitor = self.monitor
        self.canceller = ReclaimCanceller(desk, self.chains, active=lambda: monitor.running)
        self.bus.subscribe(OrderLockSpent, self.canceller.on_lock_spent)
        monitor.on_start = self.canceller.catch_up
        return self.canceller
