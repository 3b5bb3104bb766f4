"""From the wire form to a ``SignedOrder``: every rule an order must meet.

``OrderValidator.accept`` is the full check for new submissions (shape,
meaning, time and signature). ``OrderValidator.parse`` is the part that does
not depend on time or the signature, used again when the event log is replayed.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

from relayer.config import Settings
from relayer.errors import ValidationError
from relayer.integers import is_canonical
from relayer.networks.registry import Chain, ChainKind, ChainRegistry, ParsedAddress
from relayer.orders.codec import auction_from_wire, custody_from_wire, signature_from_wire
from relayer.orders.merkle import merkle_root
from relayer.orders.model import Custody, Order, SignedOrder, UtxoRef
from relayer.orders.signatures import verify_signature
from relayer.orders.timelocks import Timelocks
from relayer.orders.wire import OrderSubmissionWire, OrderWire
from relayer.signing.eip712 import Domain, OrderStruct, order_digest

_U256 = 1 << 256
_CARDANO_VALUE_MAX = (1 << 63) - 1


class SealedSecrets(Protocol):
    """The keys that open secrets a maker hands over in custody
    (``relayer.settlement.custody.CustodyKeyring``)."""

    def open(self, key_id: str, sealed: bytes, *, secret_hash: bytes, index: int) -> bytes:
        """The secret in ``sealed``; a ``ValidationError`` unless it hashes to
        ``secret_hash``."""
        ...


class OrderValidator:
    def __init__(self, chains: ChainRegistry, domain: Domain, *, max_parts: int,
                 custody: SealedSecrets | None = None,
                 rescue_delays: Mapping[str, tuple[int, int]] | None = None) -> None:
        """``rescue_delays``: per chain, the escrow factory's (source, destination) rescue
        delays, after which an escrow's taker can take what it holds."""
        self._chains = chains
        self._domain = domain
        self._max_parts = max_parts
        self._custody = custody
        self._rescue_delays = dict(rescue_delays or {})

    @classmethod
    def from_settings(cls, settings: Settings, chains: ChainRegistry | None = None,
                      custody: SealedSecrets | None = None) -> OrderValidator:
        """The validator for a deployment: its chains and the factory's EIP-712 domain."""
        eth = settings.chains.ethereum
        domain = Domain(chain_id=eth.chain_id,
                        verifying_contract=bytes.fromhex(eth.escrow_factory[2:]))
        return cls(chains or ChainRegistry.from_settings(settings.chains), domain,
                   max_parts=settings.quote.max_parts, custody=custody,
                   rescue_delays={"ethereum": (eth.rescue_delay_src_seconds,
                                               eth.rescue_delay_dst_seconds)})

    def _check_rescue(self, timelocks: Timelocks, src_chain: str, dst_chain: str) -> None:
        """Escrows must end before their taker may rescue them: the maker's refund (public
        cancellation of the source) and the maker's payment (before the destination
        cancels) must both come before the factory's rescue delay."""
        src_delay = self._rescue_delays.get(src_chain, (0, 0))[0]
        if src_delay and timelocks.src_public_cancellation >= src_delay:
            raise ValidationError(
                f"timelocks.src_public_cancellation must be below the {src_chain} escrow"
                f" factory's rescue delay ({src_delay} s)", code="INVALID_TIMELOCKS",
                details={"field": "timelocks.src_public_cancellation", "max": src_delay - 1})
        dst_delay = self._rescue_delays.get(dst_chain, (0, 0))[1]
        if dst_delay and timelocks.dst_cancellation >= dst_delay:
            raise ValidationError(
                f"timelocks.dst_cancellation must be below the {dst_chain} escrow factory's"
                f" rescue delay ({dst_delay} s)", code="INVALID_TIMELOCKS",
                details={"field": "timelocks.dst_cancellation", "max": dst_delay - 1})

    @property
    def domain(self) -> Domain:
        return self._domain

    def accept(self, wire: OrderSubmissionWire, *, now: int) -> SignedOrder:
        """Validate a new submission completely, at unix time ``now``."""
        signed, maker = self._parse(wire)
        order = signed.order
        if order.deadline <= now:
            raise ValidationError(
                "order deadline has passed",
                code="ORDER_EXPIRED",
                details={"deadline": order.deadline, "now": now},
            )
        self._check_rescue(order.timelocks, order.src_chain, order.dst_chain)
        src = self._chains.get(order.src_chain, field="order.src_chain")
        verify_signature(src.kind, bytes.fromhex(signed.order_hash[2:]), signed.signature, maker)
        if signed.custody is not None:
            self._check_custody(signed.custody, signed.secret_hashes)
        return signed

    def _check_custody(self, custody: Custody, secret_hashes: tuple[bytes, ...]) -> None:
        """Every sealed box opens with one of our keys and holds its hash's secret."""
        if self._custody is None:
            raise ValidationError("this relayer does not hold secrets in custody",
                                  code="CUSTODY_UNAVAILABLE", details={"field": "custody"})
        for index, (sealed, secret_hash) in enumerate(
                zip(custody.sealed, secret_hashes, strict=True)):
            self._custody.open(custody.key_id, sealed, secret_hash=secret_hash, index=index)

    def parse(self, wire: OrderSubmissionWire) -> SignedOrder:
        """Check everything but time and the signature; compute the order hash."""
        return self._parse(wire)[0]

    def _parse(self, wire: OrderSubmissionWire) -> tuple[SignedOrder, ParsedAddress]:
        order, order_hash, maker = self._canonical(wire.order)
        o = wire.order
        secret_hashes = tuple(bytes.fromhex(h[2:]) for h in wire.secret_hashes)
        self._check_secrets(o.parts, order.making_amount, order.hashlock, secret_hashes)
        src = self._chains.get(order.src_chain, field="order.src_chain")
        utxo = None
        if src.kind is ChainKind.CARDANO:
            if wire.src_order_utxo is None:
                raise ValidationError(
                    "src_order_utxo is required for a Cardano-source order",
                    code="MISSING_ORDER_UTXO",
                )
            utxo = UtxoRef(tx_id=wire.src_order_utxo.tx_id.lower(),
                           index=wire.src_order_utxo.index)
        elif wire.src_order_utxo is not None:
            raise ValidationError("src_order_utxo is only for Cardano-source orders",
                                  code="VALIDATION_ERROR",
                                  details={"field": "src_order_utxo"})
        custody = custody_from_wire(wire.custody)
        if custody is not None and len(custody.sealed) != len(secret_hashes):
            raise ValidationError(
                "custody.sealed_secrets must hold one sealed secret per secret hash",
                code="INVALID_SEALED_SECRETS",
                details={"field": "custody.sealed_secrets", "expected": len(secret_hashes)})
        signed = SignedOrder(
            order=order, order_hash=order_hash, signature=signature_from_wire(wire.signature),
            secret_hashes=secret_hashes, src_order_utxo=utxo, custody=custody,
        )
        return signed, maker

    def order_hash(self, o: OrderWire) -> str:
        """The hash a maker signs for ``o`` (after checking its terms)."""
        return self._canonical(o)[1]

    def canonical(self, o: OrderWire) -> tuple[Order, str]:
        """The order's terms checked and in canonical form, and its hash."""
        order, order_hash, _ = self._canonical(o)
        return order, order_hash

    def _canonical(self, o: OrderWire) -> tuple[Order, str, ParsedAddress]:
        src = self._chains.get(o.src_chain, field="order.src_chain")
        dst = self._chains.get(o.dst_chain, field="order.dst_chain")
        if src.name == dst.name:
            raise ValidationError("source and destination chains must differ",
                                  code="INVALID_CHAINS")
        maker = src.parse_address(o.maker, field="order.maker")
        if src.kind is ChainKind.CARDANO and maker.payment_key_hash is None:
            raise ValidationError("order.maker: a Cardano maker needs a key-hash payment part",
                                  code="INVALID_ADDRESS", details={"field": "order.maker"})
        receiver = dst.parse_address(o.receiver, field="order.receiver")
        maker_asset = src.asset(o.maker_asset, field="order.maker_asset")
        taker_asset = dst.asset(o.taker_asset, field="order.taker_asset")

        making = _amount(o.making_amount, "order.making_amount", src, positive=True)
        taking = _amount(o.taking_amount, "order.taking_amount", dst, positive=True)
        src_deposit = _amount(o.src_safety_deposit, "order.src_safety_deposit", src,
                              positive=True)
        dst_deposit = _amount(o.dst_safety_deposit, "order.dst_safety_deposit", dst,
                              positive=True)
        salt = _amount(o.salt, "order.salt", None, positive=False)

        auction = auction_from_wire(o.auction)
        auction.check()
        if auction.start_time >= o.deadline:
            raise ValidationError("auction must start before the order's deadline",
                                  code="INVALID_AUCTION",
                                  details={"start_time": auction.start_time,
                                           "deadline": o.deadline})
        timelocks = Timelocks(*(getattr(o.timelocks, name)
                                for name in o.timelocks.__struct_fields__))
        timelocks.check()
        hashlock = bytes.fromhex(o.hashlock[2:])
        order = Order(
            salt=salt, src_chain=src.name, dst_chain=dst.name,
            maker=maker.text, receiver=receiver.text,
            maker_asset=maker_asset.id, taker_asset=taker_asset.id,
            making_amount=making, taking_amount=taking, auction=auction,
            hashlock=hashlock, parts=o.parts, timelocks=timelocks,
            src_safety_deposit=src_deposit, dst_safety_deposit=dst_deposit,
            deadline=o.deadline,
        )
        struct = _struct(order, src.chain_id, dst.chain_id, maker.raw, receiver.raw,
                         maker_asset.raw, taker_asset.raw)
        return order, "0x" + order_digest(struct, self._domain).hex(), maker

    def _check_secrets(
        self, parts: int, making: int, hashlock: bytes, secret_hashes: tuple[bytes, ...]
    ) -> None:
        if parts > self._max_parts:
            raise ValidationError(f"order.parts may be at most {self._max_parts}",
                                  code="INVALID_SECRET_HASHES",
                                  details={"parts": parts})
        expected = 1 if parts == 1 else parts + 1
        if len(secret_hashes) != expected:
            raise ValidationError(
                f"an order in {parts} part(s) needs {expected} secret hash(es)",
                code="INVALID_SECRET_HASHES",
                details={"expected": expected, "got": len(secret_hashes)},
            )
        if len(set(secret_hashes)) != len(secret_hashes):
            raise ValidationError("secret hashes must be distinct", code="INVALID_SECRET_HASHES")
        if parts > 1 and making < parts:
            raise ValidationError("making_amount must be at least the number of parts",
                                  code="INVALID_AMOUNT", details={"field": "order.parts"})
        root = secret_hashes[0] if parts == 1 else merkle_root(secret_hashes)
        if root != hashlock:
            raise ValidationError(
                "hashlock does not match the secret hashes"
                + ("" if parts == 1 else " (Merkle root)"),
                code="INVALID_SECRET_HASHES",
            )


def order_struct(order: Order, chains: ChainRegistry) -> OrderStruct:
    """The EIP-712 struct of a canonical order: what its maker signed, and the order
    argument of the Ethereum factory's ``createSrcEscrow``."""
    src = chains.get(order.src_chain, field="order.src_chain")
    dst = chains.get(order.dst_chain, field="order.dst_chain")
    return _struct(
        order, src.chain_id, dst.chain_id,
        src.parse_address(order.maker, field="order.maker").raw,
        dst.parse_address(order.receiver, field="order.receiver").raw,
        src.asset(order.maker_asset, field="order.maker_asset").raw,
        dst.asset(order.taker_asset, field="order.taker_asset").raw,
    )


def _struct(order: Order, src_chain_id: int, dst_chain_id: int, maker: bytes,
            receiver: bytes, maker_asset: bytes, taker_asset: bytes) -> OrderStruct:
    return OrderStruct(
        salt=order.salt, src_chain_id=src_chain_id, dst_chain_id=dst_chain_id,
        maker=maker, receiver=receiver, maker_asset=maker_asset, taker_asset=taker_asset,
        making_amount=order.making_amount, taking_amount=order.taking_amount,
        auction_details=order.auction.encode(), hashlock=order.hashlock, parts=order.parts,
        timelocks=order.timelocks.pack(), src_safety_deposit=order.src_safety_deposit,
        dst_safety_deposit=order.dst_safety_deposit, deadline=order.deadline,
    )


def amount_limit(chain: Chain | None) -> int:
    """One past the largest amount ``chain`` can hold (a uint256 where no chain is named)."""
    return _CARDANO_VALUE_MAX if chain is not None and chain.kind is ChainKind.CARDANO else _U256


def _amount(text: str, field: str, chain: Chain | None, *, positive: bool) -> int:
    # The wire pattern already asks for digits; this also refuses what a regex's ``$``
    # lets through (a trailing newline) before ``int`` reads it.
    if not is_canonical(text, max_digits=78):
        raise ValidationError(f"{field} must be a decimal integer", code="INVALID_AMOUNT",
                              details={"field": field})
    value = int(text)
    if value >= amount_limit(chain):
        raise ValidationError(f"{field} is too large for its chain", code="INVALID_AMOUNT",
                              details={"field": field})
    if positive and value <= 0:
        raise ValidationError(f"{field} must be positive", code="INVALID_AMOUNT",
                              details={"field": field})
    return value
