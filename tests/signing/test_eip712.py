"""Our EIP-712 digests against eth_account's independent implementation."""

from __future__ import annotations

from eth_account import Account
from eth_account.messages import encode_typed_data
from hypothesis import given, settings
from hypothesis import strategies as st

from relayer.signing.eip712 import Domain, OrderStruct, cancel_digest, order_digest
from relayer.signing.secp256k1 import private_key_address, recover_address, sign_digest
from tests.factories import EVM_MAKER_KEY

FACTORY = bytes.fromhex("e7f1725E7734CE288F8367e1Bb143E90bb3F0512")
U256 = st.integers(0, (1 << 256) - 1)
BYTES = st.binary(max_size=64)

ORDER_FIELDS = [
    ("salt", "uint256"), ("srcChainId", "uint256"), ("dstChainId", "uint256"),
    ("maker", "bytes"), ("receiver", "bytes"), ("makerAsset", "bytes"), ("takerAsset", "bytes"),
    ("makingAmount", "uint256"), ("takingAmount", "uint256"), ("auctionDetails", "bytes"),
    ("hashlock", "bytes32"), ("parts", "uint256"), ("timelocks", "uint256"),
    ("srcSafetyDeposit", "uint256"), ("dstSafetyDeposit", "uint256"), ("deadline", "uint256"),
]


def _eth_account_digest(order: OrderStruct, domain: Domain) -> bytes:
    message = {
        "salt": order.salt, "srcChainId": order.src_chain_id, "dstChainId": order.dst_chain_id,
        "maker": order.maker, "receiver": order.receiver, "makerAsset": order.maker_asset,
        "takerAsset": order.taker_asset, "makingAmount": order.making_amount,
        "takingAmount": order.taking_amount, "auctionDetails": order.auction_details,
        "hashlock": order.hashlock, "parts": order.parts, "timelocks": order.timelocks,
        "srcSafetyDeposit": order.src_safety_deposit,
        "dstSafetyDeposit": order.dst_safety_deposit, "deadline": order.deadline,
    }
    typed = {
        "types": {
            "EIP712Domain": [{"name": "name", "type": "string"},
                             {"name": "version", "type": "string"},
                             {"name": "chainId", "type": "uint256"},
                             {"name": "verifyingContract", "type": "address"}],
            "Order": [{"name": n, "type": t} for n, t in ORDER_FIELDS],
        },
        "primaryType": "Order",
        "domain": {"name": domain.name, "version": domain.version, "chainId": domain.chain_id,
                   "verifyingContract": "0x" + domain.verifying_contract.hex()},
        "message": message,
    }
    signable = encode_typed_data(full_message=typed)
    return b"\x19" + signable.version + signable.header + signable.body


orders = st.builds(
    OrderStruct, salt=U256, src_chain_id=U256, dst_chain_id=U256, maker=BYTES, receiver=BYTES,
    maker_asset=BYTES, taker_asset=BYTES, making_amount=U256, taking_amount=U256,
    auction_details=BYTES, hashlock=st.binary(min_size=32, max_size=32), parts=U256,
    timelocks=U256, src_safety_deposit=U256, dst_safety_deposit=U256, deadline=U256,
)


@settings(max_examples=40)
@given(orders, st.integers(1, (1 << 64)))
def test_order_digest_matches_eth_account(order: OrderStruct, chain_id: int) -> None:
    from eth_utils import keccak

    domain = Domain(chain_id=chain_id, verifying_contract=FACTORY)
    assert order_digest(order, domain) == keccak(_eth_account_digest(order, domain))


def test_signature_round_trip_and_eth_account_agrees() -> None:
    digest = bytes(range(32))
    signature = sign_digest(digest, EVM_MAKER_KEY)
    assert recover_address(digest, signature) == private_key_address(EVM_MAKER_KEY)
    expected = Account.from_key(EVM_MAKER_KEY).unsafe_sign_hash(digest).signature
    assert signature == bytes(expected)


def test_cancel_digest_differs_per_order() -> None:
    domain = Domain(chain_id=1, verifying_contract=FACTORY)
    assert cancel_digest(b"\x01" * 32, domain) != cancel_digest(b"\x02" * 32, domain)
