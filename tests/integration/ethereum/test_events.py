"""Escrows created and withdrawn on anvil become typed events, with immutables and secret."""

from __future__ import annotations

from relayer.chains.escrows import EscrowPhase
from relayer.chains.ethereum.addresses import to_checksum
from relayer.chains.events import (
    DstComplement,
    EscrowCreated,
    EscrowImmutables,
    EscrowRole,
    EscrowWithdrawn,
)
from relayer.orders.timelocks import Stage, Timelocks
from relayer.signing.keccak import keccak256
from tests.contracts.evm.chain import CARDANO_CHAIN_ID, DST_DEPOSIT, SRC_DEPOSIT, TIMELOCKS, Chain
from tests.integration.ethereum.harness import Harness


def hex32(value: bytes) -> str:
    return "0x" + value.hex()


async def test_source_and_destination_escrows_created_and_withdrawn(
        chain: Chain, harness: Harness) -> None:
    maker, resolver = chain.maker.address, chain.resolver.address
    signed = chain.make_order()
    order = signed.order
    chain.approve(maker, order.making_amount)
    receipt, src, _ = chain.create_src(signed, dst_amount=100_000_000)
    deployed_at = chain.w3.eth.get_block(receipt["blockNumber"])["timestamp"]
    src_escrow = chain.src_address(src)

    dst_in = (signed.order_hash, signed.secrets.hashlock, int(chain.other, 16),
              int(resolver, 16), int(chain.token.address, 16), 99_000_000, DST_DEPOSIT,
              TIMELOCKS.pack())
    dst_receipt, dst = chain.create_dst(dst_in, TIMELOCKS.at(Stage.SRC_CANCELLATION,
                                                             deployed_at))
    dst_escrow = chain.dst_address(dst)
    secret = signed.secrets.secrets[0]
    dst_deployed = Timelocks.unpack(dst[7])[1]
    chain.send(chain.escrow_dst(dst_escrow), "withdraw", secret, dst, sender=resolver,
               at=TIMELOCKS.at(Stage.DST_WITHDRAWAL, dst_deployed))
    withdrawal = chain.send(chain.escrow_src(src_escrow), "withdraw", secret, src,
                            sender=resolver, at=TIMELOCKS.at(Stage.SRC_WITHDRAWAL, deployed_at))

    await harness.catch_up()
    events = await harness.stored()
    assert [type(e).__name__ for e in events] == [
        "EscrowCreated", "EscrowCreated", "EscrowWithdrawn", "EscrowWithdrawn"]
    src_created, dst_created, dst_withdrawn, src_withdrawn = events
    assert isinstance(src_created, EscrowCreated) and isinstance(dst_created, EscrowCreated)
    assert src_created.role is EscrowRole.SRC and src_created.escrow == src_escrow
    assert src_created.immutables == EscrowImmutables(
        order_hash=hex32(signed.order_hash), hashlock=hex32(signed.secrets.hashlock),
        maker=maker, taker=resolver, token=chain.token.address, amount=order.making_amount,
        safety_deposit=SRC_DEPOSIT, timelocks=TIMELOCKS.pack(deployed_at=deployed_at))
    # A Cardano destination: receiver and asset travel as keccak256 of their bytes.
    assert src_created.complement == DstComplement(
        maker=hex32(keccak256(order.receiver)), amount=100_000_000,
        token=hex32(keccak256(order.taker_asset)), safety_deposit=DST_DEPOSIT,
        chain_id=CARDANO_CHAIN_ID)
    point = src_created.point
    assert (point.chain, point.height, point.block_id, point.tx_id, point.timestamp) == (
        "ethereum", receipt["blockNumber"], hex32(receipt["blockHash"]),
        hex32(receipt["transactionHash"]), deployed_at)

    assert dst_created.role is EscrowRole.DST and dst_created.escrow == dst_escrow
    assert dst_created.complement is None
    assert dst_created.immutables == EscrowImmutables(
        order_hash=hex32(signed.order_hash), hashlock=hex32(signed.secrets.hashlock),
        maker=to_checksum(bytes.fromhex(chain.other[2:])), taker=resolver,
        token=chain.token.address, amount=99_000_000, safety_deposit=DST_DEPOSIT,
        timelocks=dst[7])
    assert dst_created.point.height == dst_receipt["blockNumber"]

    assert isinstance(dst_withdrawn, EscrowWithdrawn) and dst_withdrawn.escrow == dst_escrow
    assert isinstance(src_withdrawn, EscrowWithdrawn) and src_withdrawn.escrow == src_escrow
    assert dst_withdrawn.secret == src_withdrawn.secret == hex32(secret)
    assert src_withdrawn.point.tx_id == hex32(withdrawal["transactionHash"])

    # Published after the commit, in the same order; the projection shows both escrows.
    assert harness.published == events
    states = harness.book.by_order(hex32(signed.order_hash))
    assert [(s.role, s.phase, s.secret) for s in states] == [
        (EscrowRole.SRC, EscrowPhase.WITHDRAWN, hex32(secret)),
        (EscrowRole.DST, EscrowPhase.WITHDRAWN, hex32(secret)),
    ]
    status = harness.monitor.status()
    assert status.connected and status.healthy and status.processed == status.head
    assert harness.monitor.base_fee() == chain.w3.eth.get_block("latest")["baseFeePerGas"]
