"""The pieces of the adversarial settlement model (``tests/settlement/adversary.py``):
who plays (the registered resolvers, a rogue one, a stranger), the orders the maker
submits (a plan, and the lot it becomes with the secrets only the maker knows) and the
escrows the chains show, with the two readings every part needs: one spelling per party
and when a timelock stage begins.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import msgspec
from pycardano import Address

from relayer.chains.events import (
    EscrowCancelled,
    EscrowCreated,
    EscrowImmutables,
    EscrowRole,
    EscrowWithdrawn,
)
from relayer.orders.merkle import merkle_root
from relayer.orders.model import SignedOrder
from relayer.orders.signer import SecretSet
from relayer.orders.wire import (
    AuctionPointWire,
    AuctionWire,
    CustodyWire,
    OrderSubmissionWire,
    UtxoRefWire,
)
from relayer.settlement.custody import CustodyKeyring, seal_secret
from relayer.signing.keccak import keccak256
from tests.factories import NOW, submission
from tests.settlement.harness import CUSTODY_KEY
from tests.settlement.scenario import RESOLVER_ADA, RESOLVER_ETH

RESOLVERS = {"r1": {"ethereum": RESOLVER_ETH, "cardano": RESOLVER_ADA},
             "r2": {"ethereum": "0x" + "b2" * 20, "cardano": "b2" * 28}}
ROGUE = {"ethereum": "0x" + "66" * 20, "cardano": "66" * 28}
"""A resolver nobody registered: its two addresses are no pair."""
TAKERS = (RESOLVERS["r1"], RESOLVERS["r2"], ROGUE)
STRANGER = {"ethereum": "0x" + "99" * 20, "cardano": "99" * 28}
OTHER_TOKEN = {"ethereum": "0x" + "77" * 20, "cardano": "77" * 28 + ".544f4b"}
SRC_CANCELLATION, DST_WITHDRAWAL, DST_CANCELLATION = 2, 4, 6


@dataclass(frozen=True, slots=True)
class OrderPlan:
    direction: str
    """``eth_to_ada`` or ``ada_to_eth`` (factories.submission)."""
    parts: int
    gas: bool
    """Gas terms in the auction: the relayer must assume the worst base fee."""
    share: int | None
    """An earlier order of the same maker whose secrets this one reuses: all of them
    when both have as many (one hashlock for two orders), else the first."""


@dataclass
class Lot:
    """One order the maker submitted, with what only the maker knows."""

    slot: int
    signed: SignedOrder
    secrets: SecretSet

    @property
    def order_hash(self) -> str:
        return self.signed.order_hash.lower()

    @property
    def root(self) -> str | None:
        """Its registered Cardano order lock (``src_order_utxo``) as a lineage root."""
        utxo = self.signed.src_order_utxo
        return None if utxo is None else f"{utxo.tx_id}#{utxo.index}"

    def hash(self, index: int) -> str:
        return "0x" + self.secrets.hashes[index].hex()

    def index_of(self, secret_hash: str) -> int | None:
        return next((i for i in range(len(self.secrets.hashes)) if self.hash(i) == secret_hash),
                    None)


@dataclass
class Escrow:
    """One escrow as the world shows it to the relayer."""

    label: str
    created: EscrowCreated
    made_as: str
    """How the adversary made it: for messages only; the oracle never reads it."""
    present: bool = True
    withdrawal: EscrowWithdrawn | None = None
    cancellation: EscrowCancelled | None = None

    @property
    def chain(self) -> str:
        return self.created.point.chain

    @property
    def role(self) -> EscrowRole:
        return self.created.role

    @property
    def imm(self) -> EscrowImmutables:
        return self.created.immutables

    @property
    def hashlock(self) -> str:
        return self.imm.hashlock.lower()

    @property
    def is_open(self) -> bool:
        return self.present and self.withdrawal is None and self.cancellation is None

    def describe(self) -> str:
        return f"{self.label} ({self.made_as}, amount {self.imm.amount})"


@functools.cache
def party(chain: str, text: str) -> str:
    """One spelling per party: lowercase hex on Ethereum, the payment key hash on Cardano."""
    if chain == "ethereum":
        return text.lower()
    if text.startswith("addr"):
        return bytes(Address.decode(text).payment_part.payload).hex()
    return text.lower().removeprefix("0x")


def stage_at(packed: int, stage: int) -> int:
    """When stage ``stage`` (0 SrcWithdrawal ... 6 DstCancellation) of an escrow begins."""
    return (packed >> 224) + ((packed >> (32 * stage)) & 0xFFFF_FFFF)


# -- orders ------------------------------------------------------------------------------


def secrets_for(plans: list[OrderPlan], slot: int) -> SecretSet:
    """Fixed secrets per order slot (a derandomized run must replay exactly)."""
    plan = plans[slot]
    count = 1 if plan.parts == 1 else plan.parts + 1
    secrets = [keccak256(b"adversary secret", bytes([slot, i])) for i in range(count)]
    share = plan.share
    if share is not None and share < slot and plans[share].direction == plan.direction:
        theirs = secrets_for(plans, share).secrets
        if len(theirs) == count:
            secrets = list(theirs)
        else:
            secrets[0] = theirs[0]
    hashes = tuple(keccak256(s) for s in secrets)
    hashlock = hashes[0] if plan.parts == 1 else merkle_root(hashes)
    return SecretSet(secrets=tuple(secrets), hashes=hashes, hashlock=hashlock)


@functools.cache
def order_wire(plan: OrderPlan, slot: int, secrets: SecretSet, custody: bool
               ) -> OrderSubmissionWire:
    """A signed submission (signing is slow: each one is made once per process)."""
    auction = AuctionWire(start_time=NOW, duration=180, initial_rate_bump=500_000,
                          points=[AuctionPointWire(rate_bump=250_000, delay=60)],
                          gas_bump_estimate=10_000 if plan.gas else 0,
                          gas_price_estimate=1000 if plan.gas else 0)
    wire = submission(plan.direction, parts=plan.parts, secrets=secrets,
                      salt=str(1000 + slot), auction=auction)
    if wire.src_order_utxo is not None:
        wire = msgspec.structs.replace(wire, src_order_utxo=UtxoRefWire(
            tx_id=f"{0xa0 + slot:02x}" * 32, index=slot))
    if custody:
        key_id = CustodyKeyring([CUSTODY_KEY]).active_key_id
        wire = msgspec.structs.replace(wire, custody=CustodyWire(key_id=key_id, sealed_secrets=[
            "0x" + seal_secret(key_id, s).hex() for s in secrets.secrets]))
    return wire
