"""Between the domain order and its canonical wire form (what the log stores)."""

from __future__ import annotations

from relayer.auction.details import AuctionDetails, AuctionPoint
from relayer.orders.model import (
    CoseSignature,
    Custody,
    MakerSignature,
    Order,
    SignedOrder,
    UtxoRef,
)
from relayer.orders.timelocks import Timelocks
from relayer.orders.wire import (
    AuctionPointWire,
    AuctionWire,
    CoseSignatureWire,
    CustodyWire,
    OrderSubmissionWire,
    OrderWire,
    Signature,
    TimelocksWire,
    UtxoRefWire,
)


def order_to_wire(order: Order) -> OrderWire:
    a = order.auction
    return OrderWire(
        salt=str(order.salt), src_chain=order.src_chain, dst_chain=order.dst_chain,
        maker=order.maker, receiver=order.receiver,
        maker_asset=order.maker_asset, taker_asset=order.taker_asset,
        making_amount=str(order.making_amount), taking_amount=str(order.taking_amount),
        auction=AuctionWire(
            start_time=a.start_time, duration=a.duration, initial_rate_bump=a.initial_rate_bump,
            points=[AuctionPointWire(rate_bump=p.rate_bump, delay=p.delay) for p in a.points],
            gas_bump_estimate=a.gas_bump_estimate, gas_price_estimate=a.gas_price_estimate,
        ),
        hashlock="0x" + order.hashlock.hex(), parts=order.parts,
        timelocks=TimelocksWire(*order.timelocks.offsets()),
        src_safety_deposit=str(order.src_safety_deposit),
        dst_safety_deposit=str(order.dst_safety_deposit),
        deadline=order.deadline,
    )


def auction_from_wire(a: AuctionWire) -> AuctionDetails:
    return AuctionDetails(
        start_time=a.start_time, duration=a.duration, initial_rate_bump=a.initial_rate_bump,
        points=tuple(AuctionPoint(rate_bump=p.rate_bump, delay=p.delay) for p in a.points),
        gas_bump_estimate=a.gas_bump_estimate, gas_price_estimate=a.gas_price_estimate,
    )


def order_from_wire(wire: OrderWire) -> Order:
    """Trusting conversion: ``wire`` must already be canonical and validated."""
    return Order(
        salt=int(wire.salt), src_chain=wire.src_chain, dst_chain=wire.dst_chain,
        maker=wire.maker, receiver=wire.receiver,
        maker_asset=wire.maker_asset, taker_asset=wire.taker_asset,
        making_amount=int(wire.making_amount), taking_amount=int(wire.taking_amount),
        auction=auction_from_wire(wire.auction),
        hashlock=bytes.fromhex(wire.hashlock[2:]), parts=wire.parts,
        timelocks=Timelocks(*(getattr(wire.timelocks, f)
                              for f in wire.timelocks.__struct_fields__)),
        src_safety_deposit=int(wire.src_safety_deposit),
        dst_safety_deposit=int(wire.dst_safety_deposit),
        deadline=wire.deadline,
    )


def signature_to_wire(signature: MakerSignature) -> Signature:
    if isinstance(signature, bytes):
        return "0x" + signature.hex()
    return CoseSignatureWire(signature=signature.signature, key=signature.key)


def signature_from_wire(signature: Signature) -> MakerSignature:
    if isinstance(signature, str):
        return bytes.fromhex(signature[2:])
    return CoseSignature(signature=signature.signature.lower(), key=signature.key.lower())


def submission_to_wire(signed: SignedOrder) -> OrderSubmissionWire:
    utxo = signed.src_order_utxo
    return OrderSubmissionWire(
        order=order_to_wire(signed.order),
        secret_hashes=["0x" + h.hex() for h in signed.secret_hashes],
        signature=signature_to_wire(signed.signature),
        src_order_utxo=None if utxo is None else UtxoRefWire(tx_id=utxo.tx_id, index=utxo.index),
        custody=custody_to_wire(signed.custody),
    )


def custody_to_wire(custody: Custody | None) -> CustodyWire | None:
    if custody is None:
        return None
    return CustodyWire(key_id=custody.key_id,
                       sealed_secrets=["0x" + box.hex() for box in custody.sealed])


def custody_from_wire(wire: CustodyWire | None) -> Custody | None:
    if wire is None:
        return None
    return Custody(key_id=wire.key_id.lower(),
                   sealed=tuple(bytes.fromhex(box[2:]) for box in wire.sealed_secrets))


def submission_from_wire(order_hash: str, wire: OrderSubmissionWire) -> SignedOrder:
    """Trusting conversion of a canonical submission read back from the log."""
    utxo = wire.src_order_utxo
    return SignedOrder(
        order=order_from_wire(wire.order),
        order_hash=order_hash,
        signature=signature_from_wire(wire.signature),
        secret_hashes=tuple(bytes.fromhex(h[2:]) for h in wire.secret_hashes),
        src_order_utxo=None if utxo is None else UtxoRef(tx_id=utxo.tx_id, index=utxo.index),
        custody=custody_from_wire(wire.custody),
    )
