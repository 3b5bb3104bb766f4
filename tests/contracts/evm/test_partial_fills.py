"""Orders filled in parts: the Merkle-of-secrets rule of docs/protocol.md on chain."""

from __future__ import annotations

import pytest

from relayer.orders.merkle import secret_index
from tests.contracts.evm.chain import Chain, Revert, SignedOrder

MAKING = 100_000_000


def _order(chain: Chain, parts: int) -> SignedOrder:
    signed = chain.make_order(parts=parts, making_amount=MAKING)
    chain.approve(chain.maker.address, MAKING)
    return signed


def _fill(chain: Chain, signed: SignedOrder, amount: int, index: int,
          secret_hash: bytes | None = None, proof: list[bytes] | None = None) -> tuple:
    args = list(chain.fill_args(signed, amount, 10**18, index))
    if secret_hash is not None:
        args[3] = secret_hash
    if proof is not None:
        args[4] = proof
    return (signed.as_tuple(), signed.signature, tuple(args))


@pytest.mark.parametrize(("parts", "fills"), [
    (4, [30_000_000, 30_000_000, 40_000_000]),
    (4, [MAKING]),
    (3, [1, 40_000_000, 59_999_999]),
    (3, [33_333_334, 33_333_333, 33_333_333]),
    (5, [19_999_999, 20_000_001, 20_000_000, 20_000_000, 20_000_000]),
    (2, [50_000_000, 50_000_000]),
])
def test_fills_use_the_secret_the_rule_gives(chain: Chain, parts: int,
                                              fills: list[int]) -> None:
    signed = _order(chain, parts)
    filled = 0
    for amount in fills:
        index = secret_index(filled, amount, MAKING, parts)
        _, src, _ = chain.create_src(signed, making=amount, index=index)
        assert src[1] == signed.secrets.hashes[index]  # the escrow's hashlock is that secret's
        assert src[5] == amount
        assert chain.balance(chain.src_address(src), chain.token) == amount
        filled += amount
        assert chain.factory.functions.filledAmount(signed.order_hash).call() == filled
    assert filled == MAKING
    chain.expect_revert(Revert("Overfill", (0,)), chain.factory, "createSrcEscrow",
                        *_fill(chain, signed, 1, parts), sender=chain.resolver.address,
                        value=signed.order.src_safety_deposit)


def test_wrong_secret_index(chain: Chain) -> None:
    signed = _order(chain, 4)
    for index in (0, 2, 4):
        chain.expect_revert(Revert("InvalidSecretIndex", (1,)), chain.factory,
                            "createSrcEscrow", *_fill(chain, signed, 30_000_000, index),
                            sender=chain.resolver.address, value=signed.order.src_safety_deposit)
    # The completing fill must use index N.
    chain.expect_revert(Revert("InvalidSecretIndex", (4,)), chain.factory, "createSrcEscrow",
                        *_fill(chain, signed, MAKING, 3), sender=chain.resolver.address,
                        value=signed.order.src_safety_deposit)


def test_a_secret_serves_one_fill_only(chain: Chain) -> None:
    signed = _order(chain, 4)
    chain.create_src(signed, making=10_000_000, index=0)
    # 10 + 10 million still falls in part 0: its secret may be public already.
    assert secret_index(10_000_000, 10_000_000, MAKING, 4) == 0
    chain.expect_revert("SecretIndexReused", chain.factory, "createSrcEscrow",
                        *_fill(chain, signed, 10_000_000, 0), sender=chain.resolver.address,
                        value=signed.order.src_safety_deposit)
    chain.create_src(signed, making=20_000_000, index=1)


def test_invalid_merkle_proofs(chain: Chain) -> None:
    signed = _order(chain, 4)
    hashes = signed.secrets.hashes
    proof = signed.secrets.proof(1)
    bad_fills = [
        _fill(chain, signed, 30_000_000, 1, secret_hash=hashes[2]),  # another secret
        _fill(chain, signed, 30_000_000, 1, proof=signed.secrets.proof(2)),
        _fill(chain, signed, 30_000_000, 1, proof=proof[:-1]),
        _fill(chain, signed, 30_000_000, 1, proof=[*proof, bytes(32)]),
        _fill(chain, signed, 30_000_000, 1, proof=[]),
    ]
    for fill in bad_fills:
        chain.expect_revert("InvalidMerkleProof", chain.factory, "createSrcEscrow", *fill,
                            sender=chain.resolver.address,
                            value=signed.order.src_safety_deposit)


def test_overfill_of_a_partly_filled_order(chain: Chain) -> None:
    signed = _order(chain, 4)
    chain.create_src(signed, making=30_000_000, index=1)
    chain.expect_revert(Revert("Overfill", (70_000_000,)), chain.factory, "createSrcEscrow",
                        *_fill(chain, signed, 70_000_001, 4), sender=chain.resolver.address,
                        value=signed.order.src_safety_deposit)
    chain.create_src(signed, making=70_000_000, index=4)


def test_single_part_orders_use_the_hashlock_itself(chain: Chain) -> None:
    signed = _order(chain, 1)
    # Secret fields are ignored for parts == 1.
    receipt = chain.send(chain.factory, "createSrcEscrow", signed.as_tuple(), signed.signature,
                         (MAKING, 10**18, 7, b"\x01" * 32, [b"\x02" * 32]),
                         sender=chain.resolver.address, value=signed.order.src_safety_deposit)
    (event,) = chain.events(chain.factory, "SrcEscrowCreated", receipt)
    assert event["srcImmutables"]["hashlock"] == signed.order.hashlock
