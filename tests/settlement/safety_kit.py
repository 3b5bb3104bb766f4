"""The pieces the swap-safety tests build their attacks from: a desk of escrows on both
chains over the settlement harness, and what to read back."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from relayer.chains.events import (
    DstComplement,
    EscrowCreated,
    EscrowImmutables,
    EscrowRole,
    LockOrigin,
)
from relayer.orders.model import SignedOrder
from relayer.orders.signer import SecretSet, make_secrets
from relayer.orders.wire import CustodyWire
from relayer.settlement.custody import seal_secret
from relayer.settlement.events import SecretReleased
from relayer.settlement.placement import lock_ref
from tests.factories import submission
from tests.settlement.harness import Harness
from tests.settlement.scenario import RESOLVER_ADA, RESOLVER_ETH

FORGED_ROOT = "ff" * 32 + "#0"


class Desk:
    """Orders and escrows for several orders on one harness."""

    def __init__(self, h: Harness) -> None:
        self.h = h
        self.secrets: dict[str, SecretSet] = {}
        self.count = 0

    async def order(self, direction: str = "eth_to_ada", *, parts: int = 1,
                    custody: bool = True, secrets: SecretSet | None = None,
                    salt: str = "42", **overrides: Any) -> SignedOrder:
        secrets = secrets or make_secrets(parts)
        wire = submission(direction, parts=parts, secrets=secrets, salt=salt, **overrides)
        if custody:
            key_id = self.h.keyring.active_key_id
            wire.custody = CustodyWire(key_id=key_id, sealed_secrets=[
                "0x" + seal_secret(key_id, s).hex() for s in secrets.secrets])
        entry = await self.h.desk.submit(wire)
        self.secrets[entry.order_hash] = secrets
        return entry.signed

    def src(self, signed: SignedOrder, *, amount: int | None = None, index: int = 0,
            root: str | None = None, depth: int = 0, filled_before: int = 0,
            maker: str | None = None) -> EscrowCreated:
        order = signed.order
        amount = order.making_amount if amount is None else amount
        at = int(self.h.clock.now())
        self.count += 1
        point = self.h.chains.point(order.src_chain, at)
        cardano = order.src_chain == "cardano"
        origin = None
        if cardano:
            registered = lock_ref(signed)
            assert registered is not None
            origin = LockOrigin(lock=f"{self.count:064x}#1", root=root or registered,
                                filled_before=filled_before, depth=depth)
        hashlock = "0x" + self.secrets[signed.order_hash].hashes[index].hex()
        return EscrowCreated(
            role=EscrowRole.SRC,
            escrow=f"{point.tx_id[2:]}#0" if cardano else f"0x{self.count:040x}",
            immutables=EscrowImmutables(
                order_hash=signed.order_hash, hashlock=hashlock, maker=maker or order.maker,
                taker=RESOLVER_ADA if cardano else RESOLVER_ETH, token=order.maker_asset,
                amount=amount, safety_deposit=order.src_safety_deposit,
                timelocks=order.timelocks.pack(at)),
            complement=DstComplement(
                maker=order.receiver, amount=self.required(signed, amount, at),
                token=order.taker_asset, safety_deposit=order.dst_safety_deposit,
                chain_id=1),
            point=point, origin=origin)

    def dst(self, signed: SignedOrder, src: EscrowCreated, **changes: Any) -> EscrowCreated:
        order = signed.order
        at = int(self.h.clock.now())
        self.count += 1
        cardano = order.dst_chain == "cardano"
        point = self.h.chains.point(order.dst_chain, at)
        assert src.complement is not None
        immutables = EscrowImmutables(
            order_hash=signed.order_hash, hashlock=src.immutables.hashlock,
            maker=order.receiver, taker=RESOLVER_ADA if cardano else RESOLVER_ETH,
            token=order.taker_asset, amount=src.complement.amount,
            safety_deposit=order.dst_safety_deposit, timelocks=order.timelocks.pack(at))
        return EscrowCreated(
            role=EscrowRole.DST,
            escrow=f"{point.tx_id[2:]}#0" if cardano else f"0x{self.count:040x}",
            immutables=replace(immutables, **changes), complement=None, point=point)

    @staticmethod
    def required(signed: SignedOrder, amount: int, at: int) -> int:
        from relayer.auction.curve import fill_taking_amount
        order = signed.order
        return fill_taking_amount(order.taking_amount, order.making_amount, amount,
                                  order.auction, at)


def released(h: Harness) -> list[SecretReleased]:
    return [e for e in h.published if isinstance(e, SecretReleased)]


def fill_of(h: Harness, created: EscrowCreated) -> Any:
    fill_id = f"{created.point.chain}:{created.escrow}"
    (fill,) = [f for f in h.coordinator.all_fills() if f.fill_id == fill_id]
    return fill


async def settle_time(h: Harness) -> None:
    h.finalize()
    await h.coordinator.tick()
