"""A whole swap on the Ethereum side: source escrow from a signed order, destination escrow,
both withdrawn with the one secret."""

from __future__ import annotations

from relayer.auction import AuctionDetails
from relayer.orders.timelocks import Stage, Timelocks
from relayer.signing.keccak import keccak256
from tests.contracts.evm.chain import DST_DEPOSIT, SRC_DEPOSIT, TIMELOCKS, Chain


def test_src_and_dst_escrows_created_and_withdrawn_with_the_secret(chain: Chain) -> None:
    maker, resolver = chain.maker.address, chain.resolver.address
    signed = chain.make_order(dst_chain_id=chain.deployment.chain_id + 1,
                              receiver=bytes.fromhex(chain.other[2:]),
                              taker_asset=bytes.fromhex(chain.token.address[2:]))
    order = signed.order
    chain.approve(maker, order.making_amount)
    maker_before = chain.balance(maker, chain.token)

    start = AuctionDetails.decode(order.auction_details).start_time
    # At start + 60 the curve asks 95 * 1.025 = 97.375 units: the resolver offers 99.
    receipt, src, complement = chain.create_src(signed, dst_amount=99_000_000, at=start + 60)
    deployed_at = chain.w3.eth.get_block(receipt["blockNumber"])["timestamp"]
    escrow = chain.src_address(src)
    assert src == (
        signed.order_hash, signed.secrets.hashlock, int(maker, 16), int(resolver, 16),
        int(chain.token.address, 16), order.making_amount, SRC_DEPOSIT,
        TIMELOCKS.pack(deployed_at=deployed_at),
    )
    assert dict(complement) == {
        "maker": int(chain.other, 16), "amount": 99_000_000,
        "token": int(chain.token.address, 16), "safetyDeposit": DST_DEPOSIT,
        "chainId": order.dst_chain_id,
    }
    assert chain.balance(escrow, chain.token) == order.making_amount
    assert chain.balance(escrow) == SRC_DEPOSIT
    assert chain.balance(maker, chain.token) == maker_before - order.making_amount
    assert chain.factory.functions.filledAmount(signed.order_hash).call() == order.making_amount

    # The resolver locks the destination side for the order's receiver.
    src_cancellation = TIMELOCKS.at(Stage.SRC_CANCELLATION, deployed_at)
    dst_in = (signed.order_hash, signed.secrets.hashlock, int(chain.other, 16),
              int(resolver, 16), int(chain.token.address, 16), 99_000_000, DST_DEPOSIT,
              TIMELOCKS.pack())
    dst_receipt, dst = chain.create_dst(dst_in, src_cancellation)
    (created,) = chain.events(chain.factory, "DstEscrowCreated", dst_receipt)
    assert created["escrow"] == chain.dst_address(dst)
    assert created["hashlock"] == signed.secrets.hashlock
    assert created["taker"] == int(resolver, 16)
    dst_escrow = chain.dst_address(dst)
    assert chain.balance(dst_escrow, chain.token) == 99_000_000

    # The secret opens the destination for the maker, then the source for the resolver.
    secret = signed.secrets.secrets[0]
    assert keccak256(secret) == signed.secrets.hashlock
    dst_deployed = Timelocks.unpack(dst[7])[1]
    r = chain.send(chain.escrow_dst(dst_escrow), "withdraw", secret, dst, sender=resolver,
                   at=TIMELOCKS.at(Stage.DST_WITHDRAWAL, dst_deployed))
    assert [e["secret"] for e in chain.events(chain.escrow_dst(dst_escrow),
                                              "EscrowWithdrawal", r)] == [secret]
    assert chain.balance(chain.other, chain.token) == 99_000_000

    resolver_tokens = chain.balance(resolver, chain.token)
    resolver_eth = chain.balance(resolver)
    r = chain.send(chain.escrow_src(escrow), "withdraw", secret, src, sender=resolver,
                   at=TIMELOCKS.at(Stage.SRC_WITHDRAWAL, deployed_at) + 20)
    assert [e["secret"] for e in chain.events(chain.escrow_src(escrow),
                                              "EscrowWithdrawal", r)] == [secret]
    assert chain.balance(resolver, chain.token) == resolver_tokens + order.making_amount
    assert chain.balance(resolver) == resolver_eth + SRC_DEPOSIT  # base fee 0: gas is free
    assert chain.balance(escrow, chain.token) == 0
    assert chain.balance(escrow) == 0
