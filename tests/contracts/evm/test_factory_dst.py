"""createDstEscrow: funding, deployedAt, the cancellation bound, and its refusals."""

from __future__ import annotations

from typing import Any

from relayer.orders.timelocks import Stage, Timelocks
from relayer.signing.keccak import keccak256
from tests.contracts.evm.chain import DST_DEPOSIT, TIMELOCKS, Chain, Revert

AMOUNT = 25_000_000


def _immutables(chain: Chain, token: int | None = None, timelocks: int | None = None
                ) -> tuple[Any, ...]:
    return (b"\x0b" * 32, keccak256(b"s" * 32), int(chain.other, 16),
            int(chain.resolver.address, 16),
            int(chain.token.address, 16) if token is None else token, AMOUNT, DST_DEPOSIT,
            TIMELOCKS.pack() if timelocks is None else timelocks)


def test_creation_sets_deployed_at_and_pulls_the_tokens(chain: Chain) -> None:
    # deployedAt bits the caller sends are replaced by the block's timestamp.
    immutables = _immutables(chain, timelocks=TIMELOCKS.pack(deployed_at=12345))
    at = chain.now() + 5
    receipt, deployed = chain.create_dst(immutables, at + 10_000, at=at)
    (event,) = chain.events(chain.factory, "DstEscrowCreated", receipt)
    escrow = chain.dst_address(deployed)
    assert Timelocks.unpack(deployed[7]) == (TIMELOCKS, at)
    assert (event["escrow"], event["hashlock"], event["taker"]) == (
        escrow, immutables[1], int(chain.resolver.address, 16))
    assert chain.balance(escrow, chain.token) == AMOUNT
    assert chain.balance(escrow) == DST_DEPOSIT


def test_cancellation_no_later_than_the_source(chain: Chain) -> None:
    immutables = _immutables(chain)
    chain.approve(chain.resolver.address, AMOUNT)
    at = chain.now() + 5
    src_cancellation = TIMELOCKS.at(Stage.DST_CANCELLATION, at)  # equal: allowed
    with chain.snapshot():
        chain.expect_revert("DstCancellationTooLate", chain.factory, "createDstEscrow",
                            immutables, src_cancellation - 1, sender=chain.resolver.address,
                            value=DST_DEPOSIT, at=at)
    chain.send(chain.factory, "createDstEscrow", immutables, src_cancellation,
               sender=chain.resolver.address, value=DST_DEPOSIT, at=at)


def test_wrong_msg_value(chain: Chain) -> None:
    chain.approve(chain.resolver.address, AMOUNT)
    erc20 = _immutables(chain)
    for value in (0, DST_DEPOSIT - 1, DST_DEPOSIT + 1, DST_DEPOSIT + AMOUNT):
        chain.expect_revert(Revert("InvalidMsgValue", (DST_DEPOSIT,)), chain.factory,
                            "createDstEscrow", erc20, chain.now() + 10_000,
                            sender=chain.resolver.address, value=value)
    native = _immutables(chain, token=0)
    for value in (DST_DEPOSIT, AMOUNT, DST_DEPOSIT + AMOUNT - 1, DST_DEPOSIT + AMOUNT + 1):
        chain.expect_revert(Revert("InvalidMsgValue", (DST_DEPOSIT + AMOUNT,)), chain.factory,
                            "createDstEscrow", native, chain.now() + 10_000,
                            sender=chain.resolver.address, value=value)


def test_tokens_without_allowance(chain: Chain) -> None:
    chain.expect_revert(Revert("TokenTransferFailed", (chain.token.address.lower(),)),
                        chain.factory, "createDstEscrow", _immutables(chain),
                        chain.now() + 10_000, sender=chain.resolver.address,
                        value=DST_DEPOSIT)


def test_the_same_escrow_twice_in_one_block(chain: Chain) -> None:
    immutables = _immutables(chain, token=0)
    tx = {
        "from": chain.resolver.address, "to": chain.factory.address,
        "value": DST_DEPOSIT + AMOUNT, "gas": 1_000_000, "maxFeePerGas": 10**12,
        "maxPriorityFeePerGas": 0,
        "data": chain.factory.encode_abi("createDstEscrow", [immutables, chain.now() + 10_000]),
    }
    at = chain.now() + 3
    chain.devnet.request("evm_setAutomine", False)
    try:
        hashes = [chain.w3.eth.send_transaction(tx) for _ in range(2)]  # type: ignore[arg-type]
        chain.devnet.request("evm_mine", at)
    finally:
        chain.devnet.request("evm_setAutomine", True)
    first, second = (chain.w3.eth.get_transaction_receipt(h) for h in hashes)
    assert (first["blockNumber"], first["status"]) == (second["blockNumber"], 1)
    assert second["status"] == 0
    got = chain.revert_of(chain.factory, "createDstEscrow", immutables, chain.now() + 10_000,
                          sender=chain.resolver.address, value=DST_DEPOSIT + AMOUNT, at=at)
    assert got == Revert("EscrowDeploymentFailed")
