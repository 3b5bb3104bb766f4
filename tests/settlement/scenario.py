"""A fill whose escrows satisfy every reveal rule, to be spoiled one rule at a time."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, replace
from typing import Any

from relayer.auction.curve import fill_taking_amount
from relayer.chains.events import (
    ChainPoint,
    DstComplement,
    EscrowCreated,
    EscrowImmutables,
    EscrowRole,
)
from relayer.networks.registry import ChainRegistry
from relayer.orders.model import SignedOrder
from relayer.settlement.parties import RegistryParties
from relayer.settlement.policy import FillFacts, PolicySettings, Sighting
from tests.factories import (
    CARDANO_OTHER_KEY,
    EVM_OTHER_KEY,
    NOW,
    evm_address,
    make_settings,
    make_validator,
    submission,
)

RESOLVER_ETH = evm_address(EVM_OTHER_KEY)
RESOLVER_ADA = CARDANO_OTHER_KEY.to_verification_key().hash().payload.hex()
SRC_AT = NOW + 30
DST_AT = NOW + 50
SETTINGS = PolicySettings(confirmations={"ethereum": 2, "cardano": 3}, safety_margin=60)


def parties() -> RegistryParties:
    chains = ChainRegistry.from_settings(make_settings().chains)
    return RegistryParties(chains, {"resolver-1": {"ethereum": RESOLVER_ETH,
                                                   "cardano": RESOLVER_ADA}})


def signed_order() -> SignedOrder:
    return make_validator().accept(submission("eth_to_ada"), now=NOW)


def point(chain: str, at: int, height: int) -> ChainPoint:
    return ChainPoint(chain=chain, height=height, slot=height, block_id=f"0x{height:064x}",
                      timestamp=at, tx_id=f"0x{at:064x}", index=0)


@dataclass
class Fill:
    """Everything a verdict depends on; tests spoil one field and look at the reasons."""

    signed: SignedOrder
    src: EscrowCreated
    dst: EscrowCreated
    src_confirmations: int = 2
    dst_confirmations: int = 3
    now: int = DST_AT + 12
    order_cancelled: bool = False
    secret_released: bool = False

    @property
    def required(self) -> int:
        order = self.signed.order
        return fill_taking_amount(order.taking_amount, order.making_amount,
                                  order.making_amount, order.auction, SRC_AT)

    def facts(self) -> FillFacts:
        return FillFacts(
            signed=self.signed, secret_index=0, fill_amount=self.signed.order.making_amount,
            required_dst_amount=self.required,
            src=Sighting(self.src, self.src_confirmations),
            dst=Sighting(self.dst, self.dst_confirmations),
            now=self.now, order_cancelled=self.order_cancelled,
            secret_released=self.secret_released)

    def with_src(self, **changes: Any) -> Fill:
        return replace(self, src=replace(self.src, immutables=replace(self.src.immutables,
                                                                      **changes)))

    def with_dst(self, **changes: Any) -> Fill:
        return replace(self, dst=replace(self.dst, immutables=replace(self.dst.immutables,
                                                                      **changes)))


def good_fill() -> Fill:
    signed = signed_order()
    order = signed.order
    src = EscrowCreated(
        role=EscrowRole.SRC, escrow="0x" + "e5" * 20,
        immutables=EscrowImmutables(
            order_hash=signed.order_hash, hashlock="0x" + signed.secret_hashes[0].hex(),
            maker=order.maker, taker=RESOLVER_ETH, token=order.maker_asset,
            amount=order.making_amount, safety_deposit=order.src_safety_deposit,
            timelocks=order.timelocks.pack(SRC_AT)),
        complement=None, point=point("ethereum", SRC_AT, 100))
    fill = Fill(signed=signed, src=src, dst=src)
    required = fill.required
    src = replace(src, complement=DstComplement(
        maker=order.receiver, amount=required, token=order.taker_asset,
        safety_deposit=order.dst_safety_deposit, chain_id=(1 << 64) + 42))
    dst = EscrowCreated(
        role=EscrowRole.DST, escrow="cd" * 32 + "#0",
        immutables=EscrowImmutables(
            order_hash=signed.order_hash, hashlock="0x" + signed.secret_hashes[0].hex(),
            maker=order.receiver, taker=RESOLVER_ADA, token=order.taker_asset,
            amount=required, safety_deposit=order.dst_safety_deposit,
            timelocks=order.timelocks.pack(DST_AT)),
        complement=None, point=point("cardano", DST_AT, 7))
    return dataclasses.replace(fill, src=src, dst=dst)
