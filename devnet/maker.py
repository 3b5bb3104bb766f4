"""A demo maker for the devnet: signs swaps, funds them on chain and submits them.

What a wallet does for its user, with the devnet's keys: make the secrets,
sign the order (EIP-712 on Ethereum, CIP-8 on Cardano), approve the escrow
factory (Ethereum) or lock the funds at the order script (Cardano), submit,
and then either hand the secrets to the relayer's custody at submit time or
post each one when the relayer says its fill is ready.
"""

from __future__ import annotations

import asyncio
import secrets as _random
from dataclasses import dataclass, field, replace
from typing import Protocol

import msgspec
import structlog
from pycardano import PaymentSigningKey

from relayer.auction.details import AuctionDetails
from relayer.errors import RelayerError
from relayer.networks.registry import ChainRegistry
from relayer.orders.codec import order_to_wire, submission_from_wire
from relayer.orders.model import Order, SignedOrder, UtxoRef
from relayer.orders.signer import SecretSet, make_secrets, order_digest_of, sign_cardano, sign_evm
from relayer.orders.timelocks import Timelocks
from relayer.orders.validation import OrderValidator
from relayer.orders.wire import CustodyWire, OrderSubmissionWire, UtxoRefWire
from relayer.settlement.custody import seal_secret
from resolver.client import RelayerClient

log = structlog.get_logger(__name__)
UNLIMITED = 2**256 - 1


class EthereumMakerWallet(Protocol):
    @property
    def address(self) -> str: ...

    async def approve(self, token: str, amount: int, spender: str | None = None) -> object: ...


class CardanoMakerWallet(Protocol):
    @property
    def address(self) -> str: ...

    async def lock_order(self, signed: SignedOrder, chains: ChainRegistry) -> UtxoRef: ...


@dataclass(frozen=True, slots=True)
class SwapSpec:
    """A swap as the demo maker asks for it."""

    src_chain: str
    dst_chain: str
    maker_asset: str
    taker_asset: str
    making_amount: int
    taking_amount: int
    """The least the maker accepts: the price at the auction's end."""
    receiver: str
    auction: AuctionDetails
    timelocks: Timelocks
    src_safety_deposit: int
    dst_safety_deposit: int
    deadline: int
    parts: int = 1
    custody: bool = False
    """Hand the secrets to the relayer at submit time instead of posting them."""

    @property
    def direction(self) -> str:
        return f"{self.src_chain}->{self.dst_chain}"


@dataclass
class MakerOrder:
    spec: SwapSpec
    signed: SignedOrder
    secrets: SecretSet
    posted: set[int] = field(default_factory=set)

    @property
    def order_hash(self) -> str:
        return self.signed.order_hash


class DemoMaker:
    def __init__(self, *, client: RelayerClient, validator: OrderValidator,
                 chains: ChainRegistry, evm_key: bytes, evm: EthereumMakerWallet,
                 cardano_key: PaymentSigningKey, cardano: CardanoMakerWallet) -> None:
        self._client = client
        self._validator = validator
        self._chains = chains
        self._evm_key = evm_key
        self._evm = evm
        self._cardano_key = cardano_key
        self._cardano = cardano
        self._approved: set[str] = set()
        self._approving = asyncio.Lock()

    def address(self, chain: str) -> str:
        return self._evm.address if chain == "ethereum" else self._cardano.address

    async def submit(self, spec: SwapSpec) -> MakerOrder:
        secrets = make_secrets(spec.parts)
        wire = order_to_wire(Order(
            salt=_random.randbits(64), src_chain=spec.src_chain, dst_chain=spec.dst_chain,
            maker=self.address(spec.src_chain), receiver=spec.receiver,
            maker_asset=spec.maker_asset, taker_asset=spec.taker_asset,
            making_amount=spec.making_amount, taking_amount=spec.taking_amount,
            auction=spec.auction, hashlock=secrets.hashlock, parts=spec.parts,
            timelocks=spec.timelocks, src_safety_deposit=spec.src_safety_deposit,
            dst_safety_deposit=spec.dst_safety_deposit, deadline=spec.deadline))
        digest = order_digest_of(self._validator, wire)
        order, order_hash = self._validator.canonical(wire)
        if spec.src_chain == "ethereum":
            signature: object = sign_evm(digest, self._evm_key)
        else:
            signature = sign_cardano(digest, self._cardano_key)
        submission = OrderSubmissionWire(
            order=wire, secret_hashes=["0x" + h.hex() for h in secrets.hashes],
            signature=signature)  # type: ignore[arg-type]
        if spec.custody:
            key_id = await self._client.custody_key()
            submission = msgspec.structs.replace(submission, custody=CustodyWire(
                key_id=key_id,
                sealed_secrets=["0x" + seal_secret(key_id, s).hex() for s in secrets.secrets]))
        signed = submission_from_wire(order_hash, submission)
        if spec.src_chain == "ethereum":
            # Once per token, for every order to come (as wallets do): approving each
            # order's amount would replace the allowance the open orders still need.
            # Concurrent submissions wait for that one approval to be mined.
            async with self._approving:
                if order.maker_asset not in self._approved:
                    await self._evm.approve(order.maker_asset, UNLIMITED)
                    self._approved.add(order.maker_asset)
        else:
            utxo = await self._cardano.lock_order(signed, self._chains)
            submission = msgspec.structs.replace(
                submission, src_order_utxo=UtxoRefWire(tx_id=utxo.tx_id, index=utxo.index))
            signed = replace(signed, src_order_utxo=utxo)
        accepted = await self._client.submit(submission)
        assert accepted == order_hash, (accepted, order_hash)
        log.info("maker_order_submitted", order_hash=order_hash, direction=spec.direction,
                 making_amount=spec.making_amount, parts=spec.parts, custody=spec.custody)
        return MakerOrder(spec=spec, signed=signed, secrets=secrets)

    async def reveal_ready(self, order: MakerOrder) -> int:
        """Post the secret of every fill the relayer says is ready; how many were posted."""
        if order.spec.custody:
            return 0
        posted = 0
        for fill in await self._client.ready_fills(order.order_hash):
            if fill.idx in order.posted:
                continue
            try:
                await self._client.post_secret(order.order_hash, fill.idx,
                                               order.secrets.secrets[fill.idx])
            except RelayerError as exc:
                log.warning("maker_secret_refused", order_hash=order.order_hash, idx=fill.idx,
                            error=exc.code)
                continue
            order.posted.add(fill.idx)
            posted += 1
        return posted

    async def keep_revealing(self, orders: list[MakerOrder], *, poll_seconds: float = 0.25
                             ) -> None:
        """Post secrets as fills become ready, until cancelled."""
        while True:
            for order in orders:
                try:
                    await self.reveal_ready(order)
                except RelayerError as exc:  # the relayer restarting: ask again soon
                    log.info("maker_relayer_unreachable", error=exc.code)
            await asyncio.sleep(poll_seconds)
