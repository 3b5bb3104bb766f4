"""The source and destination escrows: every window one second before and after its bounds,
who gets what, and every refusal."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from web3.contract import Contract

from devnet.ethereum import RESCUE_DELAY
from relayer.orders.timelocks import Stage, Timelocks
from relayer.signing.keccak import keccak256
from tests.contracts.evm.chain import DST_DEPOSIT, SRC_DEPOSIT, TIMELOCKS, Chain, Revert

DST_AMOUNT = 50_000_000


@dataclass
class Escrow:
    side: str
    contract: Contract
    immutables: tuple[Any, ...]
    secret: bytes
    deployed_at: int

    def at(self, stage: Stage) -> int:
        return TIMELOCKS.at(stage, self.deployed_at)


def _src(chain: Chain) -> Escrow:
    signed = chain.make_order()
    chain.approve(chain.maker.address, signed.order.making_amount)
    receipt, immutables, _ = chain.create_src(signed)
    deployed_at = Timelocks.unpack(immutables[7])[1]
    return Escrow("src", chain.escrow_src(chain.src_address(immutables)), immutables,
                  signed.secrets.secrets[0], deployed_at)


def _dst(chain: Chain, native: bool = False) -> Escrow:
    secret = b"\x5e" * 32
    token = 0 if native else int(chain.token.address, 16)
    immutables = (b"\x0a" * 32, keccak256(secret), int(chain.other, 16),
                  int(chain.resolver.address, 16), token, DST_AMOUNT, DST_DEPOSIT,
                  TIMELOCKS.pack())
    _, deployed = chain.create_dst(immutables, chain.now() + 10_000)
    return Escrow("dst", chain.escrow_dst(chain.dst_address(deployed)), deployed, secret,
                  Timelocks.unpack(deployed[7])[1])


@pytest.fixture(params=["src", "dst"])
def escrow(request: pytest.FixtureRequest, chain: Chain) -> Escrow:
    return _src(chain) if request.param == "src" else _dst(chain)


# (side, action, caller, opens, closes); caller "taker" or "stranger".
WINDOWS = [
    ("src", "withdraw", "taker", Stage.SRC_WITHDRAWAL, Stage.SRC_CANCELLATION),
    ("src", "publicWithdraw", "stranger", Stage.SRC_PUBLIC_WITHDRAWAL, Stage.SRC_CANCELLATION),
    ("src", "cancel", "taker", Stage.SRC_CANCELLATION, None),
    ("src", "publicCancel", "stranger", Stage.SRC_PUBLIC_CANCELLATION, None),
    ("src", "rescueFunds", "taker", "rescue", None),
    ("dst", "withdraw", "taker", Stage.DST_WITHDRAWAL, Stage.DST_CANCELLATION),
    ("dst", "publicWithdraw", "stranger", Stage.DST_PUBLIC_WITHDRAWAL, Stage.DST_CANCELLATION),
    ("dst", "cancel", "taker", Stage.DST_CANCELLATION, None),
    ("dst", "rescueFunds", "taker", "rescue", None),
]


def _args(chain: Chain, escrow: Escrow, action: str, secret: bytes | None = None) -> tuple:
    if action in ("withdraw", "publicWithdraw"):
        return (secret or escrow.secret, escrow.immutables)
    if action == "rescueFunds":
        return (chain.token.address, 1, escrow.immutables)
    return (escrow.immutables,)


def _opens(escrow: Escrow, stage: Stage | str) -> int:
    if stage == "rescue":
        return escrow.deployed_at + RESCUE_DELAY
    assert isinstance(stage, Stage)
    return escrow.at(stage)


def _caller(chain: Chain, who: str) -> str:
    return chain.resolver.address if who == "taker" else chain.stranger


@pytest.mark.parametrize(("side", "action", "who", "opens", "closes"), WINDOWS)
def test_window_boundaries(chain: Chain, side: str, action: str, who: str,
                           opens: Stage | str, closes: Stage | None) -> None:
    escrow = _src(chain) if side == "src" else _dst(chain)
    if action == "rescueFunds":  # something to rescue
        chain.send(chain.token, "transfer", escrow.contract.address, 1,
                   sender=chain.resolver.address)
    sender = _caller(chain, who)
    args = _args(chain, escrow, action)
    start = _opens(escrow, opens)
    with chain.snapshot():
        chain.expect_revert(Revert("TooEarly", (start,)), escrow.contract, action, *args,
                            sender=sender, at=start - 1)
    with chain.snapshot():
        chain.send(escrow.contract, action, *args, sender=sender, at=start)
    if closes is not None:
        end = escrow.at(closes)
        with chain.snapshot():
            chain.send(escrow.contract, action, *args, sender=sender, at=end - 1)
        chain.expect_revert(Revert("TooLate", (end,)), escrow.contract, action, *args,
                            sender=sender, at=end)


@pytest.mark.parametrize(("action", "who", "stage", "tokens_to", "event"), [
    ("withdraw", "taker", Stage.SRC_WITHDRAWAL, "taker", "EscrowWithdrawal"),
    ("publicWithdraw", "stranger", Stage.SRC_PUBLIC_WITHDRAWAL, "taker", "EscrowWithdrawal"),
    ("cancel", "taker", Stage.SRC_CANCELLATION, "maker", "EscrowCancelled"),
    ("publicCancel", "stranger", Stage.SRC_PUBLIC_CANCELLATION, "maker", "EscrowCancelled"),
])
def test_src_pays_tokens_and_deposit(chain: Chain, action: str, who: str, stage: Stage,
                                     tokens_to: str, event: str) -> None:
    escrow = _src(chain)
    caller = _caller(chain, who)
    recipient = chain.resolver.address if tokens_to == "taker" else chain.maker.address
    tokens, eth = chain.balance(recipient, chain.token), chain.balance(caller)
    receipt = chain.send(escrow.contract, action, *_args(chain, escrow, action), sender=caller,
                         at=escrow.at(stage))
    events = chain.events(escrow.contract, event, receipt)
    assert len(events) == 1
    if event == "EscrowWithdrawal":
        assert events[0]["secret"] == escrow.secret
    assert chain.balance(recipient, chain.token) == tokens + escrow.immutables[5]
    assert chain.balance(caller) == eth + SRC_DEPOSIT
    assert chain.balance(escrow.contract.address, chain.token) == 0
    assert chain.balance(escrow.contract.address) == 0


@pytest.mark.parametrize("native", [False, True])
@pytest.mark.parametrize(("action", "who", "stage", "funds_to"), [
    ("withdraw", "taker", Stage.DST_WITHDRAWAL, "maker"),
    ("publicWithdraw", "stranger", Stage.DST_PUBLIC_WITHDRAWAL, "maker"),
    ("cancel", "taker", Stage.DST_CANCELLATION, "taker"),
])
def test_dst_pays_funds_and_deposit(chain: Chain, native: bool, action: str, who: str,
                                    stage: Stage, funds_to: str) -> None:
    escrow = _dst(chain, native=native)
    token = None if native else chain.token
    caller = _caller(chain, who)
    recipient = chain.other if funds_to == "maker" else chain.resolver.address
    assert chain.balance(escrow.contract.address, token) == DST_AMOUNT + (
        DST_DEPOSIT if native else 0)
    before_funds, before_eth = chain.balance(recipient, token), chain.balance(caller)
    chain.send(escrow.contract, action, *_args(chain, escrow, action), sender=caller,
               at=escrow.at(stage))
    gained_funds = chain.balance(recipient, token) - before_funds
    gained_eth = chain.balance(caller) - before_eth
    if native and recipient == caller:
        assert gained_eth == DST_AMOUNT + DST_DEPOSIT
    else:
        assert gained_funds == DST_AMOUNT
        assert gained_eth == DST_DEPOSIT
    assert chain.balance(escrow.contract.address) == 0
    assert chain.balance(escrow.contract.address, chain.token) == 0


def test_rescue_funds_after_the_delay(chain: Chain, escrow: Escrow) -> None:
    chain.send(chain.token, "transfer", escrow.contract.address, 7, sender=chain.maker.address)
    start = escrow.deployed_at + RESCUE_DELAY
    before = chain.balance(chain.resolver.address, chain.token)
    receipt = chain.send(escrow.contract, "rescueFunds", chain.token.address, 7,
                         escrow.immutables, sender=chain.resolver.address, at=start)
    (event,) = chain.events(escrow.contract, "FundsRescued", receipt)
    assert (event["token"], event["amount"]) == (chain.token.address, 7)
    assert chain.balance(chain.resolver.address, chain.token) == before + 7
    # ETH too (the deposit, never claimed here).
    eth = chain.balance(chain.resolver.address)
    receipt = chain.send(escrow.contract, "rescueFunds", "0x" + "00" * 20, 10,
                         escrow.immutables, sender=chain.resolver.address)
    (event,) = chain.events(escrow.contract, "FundsRescued", receipt)
    assert event["token"] == "0x" + "00" * 20
    assert chain.balance(chain.resolver.address) == eth + 10


def test_only_the_taker_may_withdraw_cancel_and_rescue(chain: Chain, escrow: Escrow) -> None:
    withdraw_at = escrow.at(Stage.SRC_WITHDRAWAL if escrow.side == "src"
                            else Stage.DST_WITHDRAWAL)
    cancel_at = escrow.at(Stage.SRC_CANCELLATION if escrow.side == "src"
                          else Stage.DST_CANCELLATION)
    for i, sender in enumerate((chain.stranger, chain.maker.address)):
        chain.expect_revert("InvalidCaller", escrow.contract, "withdraw", escrow.secret,
                            escrow.immutables, sender=sender, at=withdraw_at + i)
    chain.expect_revert("InvalidCaller", escrow.contract, "cancel", escrow.immutables,
                        sender=chain.stranger, at=cancel_at)
    chain.expect_revert("InvalidCaller", escrow.contract, "rescueFunds", chain.token.address,
                        1, escrow.immutables, sender=chain.stranger,
                        at=escrow.deployed_at + RESCUE_DELAY)


def test_wrong_secret(chain: Chain, escrow: Escrow) -> None:
    private, public = ((Stage.SRC_WITHDRAWAL, Stage.SRC_PUBLIC_WITHDRAWAL) if escrow.side == "src"
                       else (Stage.DST_WITHDRAWAL, Stage.DST_PUBLIC_WITHDRAWAL))
    for wrong in (bytes(32), escrow.secret[:-1] + b"\x00", escrow.immutables[1]):
        with chain.snapshot():
            chain.expect_revert("InvalidSecret", escrow.contract, "withdraw", wrong,
                                escrow.immutables, sender=chain.resolver.address,
                                at=escrow.at(private) + 1)
            chain.expect_revert("InvalidSecret", escrow.contract, "publicWithdraw", wrong,
                                escrow.immutables, sender=chain.stranger,
                                at=escrow.at(public) + 1)


def test_wrong_immutables(chain: Chain, escrow: Escrow) -> None:
    good = escrow.immutables
    public = Stage.SRC_PUBLIC_WITHDRAWAL if escrow.side == "src" else Stage.DST_PUBLIC_WITHDRAWAL
    variants = [
        good[:5] + (good[5] + 1,) + good[6:],  # amount
        good[:6] + (good[6] - 1,) + good[7:],  # safety deposit
        good[:7] + (good[7] + 1,),  # timelocks
        good[:7] + (Timelocks.unpack(good[7])[0].pack(deployed_at=escrow.deployed_at - 100),),
        good[:3] + (int(chain.stranger, 16),) + good[4:],  # taker
        (b"\x00" * 32,) + good[1:],  # order hash
    ]
    for i, bad in enumerate(variants):
        chain.expect_revert("InvalidImmutables", escrow.contract, "publicWithdraw",
                            escrow.secret, bad, sender=chain.stranger, at=escrow.at(public) + i)
    # Calling the implementation itself, not a clone.
    implementation = (chain.deployment.escrow_src_implementation if escrow.side == "src"
                      else chain.deployment.escrow_dst_implementation)
    contract = escrow.contract.w3.eth.contract(address=implementation, abi=escrow.contract.abi)
    chain.expect_revert("InvalidImmutables", contract, "withdraw", escrow.secret, good,
                        sender=chain.resolver.address)


def test_withdrawing_twice_fails(chain: Chain, escrow: Escrow) -> None:
    chain.send(escrow.contract, "withdraw", escrow.secret, escrow.immutables,
               sender=chain.resolver.address, at=escrow.deployed_at + 15)
    got = chain.revert_of(escrow.contract, "withdraw", escrow.secret, escrow.immutables,
                          sender=chain.resolver.address)
    assert got is not None and got.name == "TokenTransferFailed"
