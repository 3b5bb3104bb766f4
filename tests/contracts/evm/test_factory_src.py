"""createSrcEscrow: every reason a maker-signed order is refused, and what a fill creates."""

from __future__ import annotations

from typing import Any

from devnet.ethereum import RESOLVER_KEY
from relayer.auction import AuctionDetails
from relayer.signing.eip712 import Domain, order_digest
from relayer.signing.keccak import keccak256
from relayer.signing.secp256k1 import sign_digest
from tests.contracts.evm.chain import CARDANO_CHAIN_ID, Chain, Revert, SignedOrder

_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141


def _refused(chain: Chain, expected: str | Revert, signed: SignedOrder, *,
             signature: bytes | None = None, fill: tuple[Any, ...] | None = None,
             value: int | None = None, at: int | None = None) -> None:
    order = signed.order
    chain.expect_revert(
        expected, chain.factory, "createSrcEscrow", signed.as_tuple(),
        signed.signature if signature is None else signature,
        fill or chain.fill_args(signed, order.making_amount, 10**18),
        sender=chain.resolver.address,
        value=order.src_safety_deposit if value is None else value, at=at,
    )


def _approved(chain: Chain, **overrides: Any) -> SignedOrder:
    signed = chain.make_order(**overrides)
    chain.approve(chain.maker.address, 10**15)
    return signed


def test_a_fill_creates_an_eip1167_clone_holding_tokens_and_deposit(chain: Chain) -> None:
    signed = _approved(chain)
    receipt, src, complement = chain.create_src(signed)
    escrow = chain.src_address(src)
    code = bytes(chain.w3.eth.get_code(escrow))  # type: ignore[arg-type]
    implementation = bytes.fromhex(chain.deployment.escrow_src_implementation[2:])
    assert code == (bytes.fromhex("363d3d373d3d3d363d73") + implementation
                    + bytes.fromhex("5af43d82803e903d91602b57fd5bf3"))
    assert chain.balance(escrow, chain.token) == signed.order.making_amount
    assert chain.balance(escrow) == signed.order.src_safety_deposit
    # A Cardano destination carries hashes of the receiver and asset bytes.
    assert complement["chainId"] == CARDANO_CHAIN_ID
    assert complement["maker"] == int.from_bytes(keccak256(signed.order.receiver), "big")
    assert complement["token"] == int.from_bytes(keccak256(b""), "big")
    assert complement["amount"] == 10**18


def test_malformed_signatures(chain: Chain) -> None:
    signed = _approved(chain)
    sig = signed.signature
    r, s, v = sig[:32], int.from_bytes(sig[32:64], "big"), sig[64]
    high_s = r + (_N - s).to_bytes(32, "big") + bytes([55 - v])  # the same point, s flipped
    for bad in (sig[:64], sig + b"\x00", r + sig[32:64] + b"\x1d", high_s, bytes(65)):
        _refused(chain, "MalformedSignature", signed, signature=bad)


def test_v_may_also_be_zero_or_one(chain: Chain) -> None:
    signed = _approved(chain)
    signed.signature = signed.signature[:64] + bytes([signed.signature[64] - 27])
    chain.create_src(signed)


def test_forged_signatures(chain: Chain) -> None:
    # Signed by someone else.
    forged = _approved(chain, signer_key=RESOLVER_KEY)
    _refused(chain, "SignerNotMaker", forged)
    # The maker's signature over a different order (the amount raised after signing).
    signed = chain.make_order()
    tampered = chain.resign(signed, making_amount=200_000_000)
    tampered.signature = signed.signature
    _refused(chain, "SignerNotMaker", tampered)
    # Another factory's domain.
    other = chain.make_order()
    domain = Domain(chain.deployment.chain_id, bytes(20))
    other.signature = sign_digest(order_digest(other.order, domain), chain.maker.private_key)
    _refused(chain, "SignerNotMaker", other)


def test_expired_order(chain: Chain) -> None:
    signed = _approved(chain)
    deadline = signed.order.deadline
    with chain.snapshot():
        _refused(chain, "OrderExpired", signed, at=deadline)
    with chain.snapshot():
        _refused(chain, "OrderExpired", signed, at=deadline + 1)
    chain.create_src(signed, at=deadline - 1)


def test_curve_commitment_too_low(chain: Chain) -> None:
    signed = _approved(chain)
    start = AuctionDetails.decode(signed.order.auction_details).start_time
    fill = chain.fill_args(signed, signed.order.making_amount, 97_374_999)
    _refused(chain, Revert("DstAmountTooLow", (97_375_000,)), signed, fill=fill, at=start + 60)


def test_fill_amounts(chain: Chain) -> None:
    signed = _approved(chain)
    making = signed.order.making_amount
    _refused(chain, "InvalidFillAmount", signed, fill=chain.fill_args(signed, 0, 10**18))
    _refused(chain, Revert("Overfill", (making,)), signed,
             fill=chain.fill_args(signed, making + 1, 10**18))
    _refused(chain, "FullFillRequired", signed,
             fill=chain.fill_args(signed, making // 2, 10**18))
    chain.create_src(signed)
    assert chain.factory.functions.filledAmount(signed.order_hash).call() == making
    _refused(chain, Revert("Overfill", (0,)), signed)


def test_wrong_safety_deposit(chain: Chain) -> None:
    signed = _approved(chain)
    deposit = signed.order.src_safety_deposit
    for value in (0, deposit - 1, deposit + 1):
        _refused(chain, Revert("InvalidMsgValue", (deposit,)), signed, value=value)


def test_malformed_orders(chain: Chain) -> None:
    chain.approve(chain.maker.address, 10**15)
    chain_id = chain.deployment.chain_id
    cases = [
        ("WrongSourceChain", {"src_chain_id": chain_id + 1}),
        ("SameChain", {"dst_chain_id": chain_id}),
        ("InvalidMaker", {"maker": bytes.fromhex(chain.maker.address[2:]) + b"\x00"}),
        ("InvalidMakerAsset", {"maker_asset": bytes(20)}),
        ("InvalidMakerAsset", {"maker_asset": bytes.fromhex(chain.token.address[2:])[:19]}),
        ("InvalidDestinationAddress", {"dst_chain_id": 1, "receiver": b"\x60" + bytes(28),
                                       "taker_asset": bytes(20)}),
        ("InvalidDestinationAddress", {"dst_chain_id": 1, "receiver": bytes(20),
                                       "taker_asset": b""}),
        ("InvalidOrderAmounts", {"parts": 0}),
        ("InvalidOrderAmounts", {"making_amount": 0}),
    ]
    for name, overrides in cases:
        _refused(chain, name, chain.make_order(**overrides))


def test_maker_without_allowance_or_balance(chain: Chain) -> None:
    signed = chain.make_order()
    _refused(chain, Revert("TokenTransferFailed", (chain.token.address.lower(),)), signed)
    chain.approve(chain.maker.address, 10**30)
    big = chain.make_order(making_amount=10**30)
    _refused(chain, Revert("TokenTransferFailed", (chain.token.address.lower(),)), big,
             fill=chain.fill_args(big, 10**30, 10**40))


def test_evm_destination_complement_carries_addresses(chain: Chain) -> None:
    signed = _approved(chain, dst_chain_id=10, receiver=bytes.fromhex(chain.other[2:]),
                       taker_asset=bytes(20))
    _, _, complement = chain.create_src(signed)
    assert (complement["maker"], complement["token"], complement["chainId"]) == (
        int(chain.other, 16), 0, 10)
