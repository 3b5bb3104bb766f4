"""What a resolver (or a demo maker) does on one chain: the wallet interface.

Each chain has one implementation (``resolver.ethereum``,
``resolver.cardano``); the resolver's logic only sees this protocol.
Escrows are named the way the relayer names them (``EscrowCreated.escrow``):
the escrow's EIP-55 address on Ethereum, ``<tx id>#<output index>`` on
Cardano, and carry the same ``EscrowImmutables`` the monitors derive, so what
a wallet returns can be compared with what the relayer indexed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from relayer.chains.events import DstComplement, EscrowImmutables, EscrowRole
from relayer.orders.model import SignedOrder
from relayer.orders.timelocks import Stage, Timelocks


@dataclass(frozen=True, slots=True)
class Sent:
    """A transaction that made it into a block."""

    tx_id: str
    fee: int
    """What the sender paid in the chain's native unit (wei, lovelace): for an action
    that needed more than one transaction (an ERC-20 approval first), all of them."""
    block_time: int
    """The including block's time, POSIX seconds."""


@dataclass(frozen=True, slots=True)
class EscrowHandle:
    """An escrow on chain, with everything needed to act on it later."""

    chain: str
    role: EscrowRole
    escrow: str
    immutables: EscrowImmutables
    """Timelocks packed with ``deployedAt`` set, as the monitor derives them."""
    complement: DstComplement | None
    """Source escrows only: what the fill promised on the destination chain."""
    created: Sent


@dataclass(frozen=True, slots=True)
class LineageFill:
    """A source escrow the relayer counts as a fill of the order (not foreign): on
    Cardano, the transaction that created it also holds the continuation of the maker's
    lock after a partial fill."""

    tx_id: str
    amount: int
    """Making amount the fill took."""


@dataclass(frozen=True, slots=True)
class FillPlan:
    """One fill of an order on its source chain."""

    order: SignedOrder
    amount: int
    """Making amount taken by this fill (base units of the maker asset)."""
    dst_amount: int
    """Taking amount promised on the destination chain; the contract (Ethereum) or
    the order validator (Cardano) checks it against the auction curve."""
    secret_index: int
    secret_hash: bytes
    """The hashlock of this fill's escrow: the order's hashlock for single-fill orders,
    else keccak of secret ``secret_index`` (a Merkle leaf of the order's hashlock)."""
    proof: tuple[bytes, ...]
    """Merkle proof of ``secret_hash`` at ``secret_index`` (empty for single-fill)."""
    lineage: tuple[LineageFill, ...] = ()
    """The order's authentic fills so far (``resolver.client.lineage_of``): where
    a Cardano wallet finds the maker's lock once partial fills moved it. Ethereum
    ignores it."""


@dataclass(frozen=True, slots=True)
class DstTerms:
    """The destination escrow a resolver creates for a source escrow.

    An honest resolver derives them from the source escrow (``dst_terms``); an
    adversarial test changes one field.
    """

    order_hash: bytes
    hashlock: bytes
    maker: str
    """Who the escrow pays: the order's receiver, chain-native text."""
    token: str
    """The taker asset as the chain registry names it (ERC-20 address, ``lovelace``)."""
    amount: int
    safety_deposit: int
    timelocks: Timelocks
    """Offsets in seconds; the destination stages count from the creating block."""
    src_cancellation: int
    """POSIX seconds at which the source escrow's cancellation begins: the destination
    escrow must not cancel later (the Ethereum factory takes it as an argument)."""


class ChainWallet(Protocol):
    """One key's hands on one chain."""

    @property
    def chain(self) -> str:
        """``ethereum`` or ``cardano``: the relayer's chain name."""
        ...

    @property
    def address(self) -> str:
        """This wallet's address, chain-native text (EIP-55 address, bech32)."""
        ...

    async def chain_time(self) -> int:
        """The latest block's time, POSIX seconds."""
        ...

    async def balance(self, asset: str, address: str | None = None) -> int:
        """Base units of ``asset`` (as the registry names it) held by ``address``
        (default: this wallet)."""
        ...

    async def fill(self, plan: FillPlan) -> EscrowHandle:
        """Create the source escrow of ``plan`` from the maker's order."""
        ...

    async def create_dst(self, terms: DstTerms) -> EscrowHandle:
        """Lock this wallet's funds in a destination escrow with ``terms``."""
        ...

    async def withdraw(self, escrow: EscrowHandle, secret: bytes, *,
                       public: bool = False) -> Sent:
        """Open ``escrow`` with ``secret``: a destination escrow pays its maker, a
        source escrow pays its taker; the safety deposit goes to the caller."""
        ...

    async def cancel(self, escrow: EscrowHandle, *, public: bool = False) -> Sent:
        """Return ``escrow``'s funds to whoever locked them (maker for a source escrow,
        taker for a destination escrow); the safety deposit goes to the caller."""
        ...

    async def close(self) -> None: ...


def dst_terms(order: SignedOrder, src: EscrowHandle) -> DstTerms:
    """The destination escrow an honest resolver creates for source escrow ``src``."""
    assert src.complement is not None, "a destination escrow answers a source escrow"
    # The offsets come from the order: a Cardano source escrow carries only its own
    # stages (docs/cardano-monitor.md), the deployment time comes from the escrow.
    timelocks = order.order.timelocks
    deployed_at = Timelocks.unpack(src.immutables.timelocks)[1]
    return DstTerms(
        order_hash=bytes.fromhex(src.immutables.order_hash[2:]),
        hashlock=bytes.fromhex(src.immutables.hashlock[2:]),
        maker=order.order.receiver,
        token=order.order.taker_asset,
        amount=src.complement.amount,
        safety_deposit=src.complement.safety_deposit,
        timelocks=timelocks,
        src_cancellation=timelocks.at(Stage.SRC_CANCELLATION, deployed_at),
    )
