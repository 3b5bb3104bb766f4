"""Test helpers for the escrow contracts on anvil: transactions at exact block times,
revert reasons by custom-error name, orders signed like a maker's wallet."""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import Any

from eth_abi import decode as abi_decode
from web3 import Web3
from web3.contract import Contract
from web3.logs import DISCARD

from devnet.ethereum import EthereumDevnet, load_artifact
from relayer.auction import AuctionDetails, AuctionPoint
from relayer.orders.merkle import merkle_proof, merkle_root
from relayer.orders.timelocks import Timelocks
from relayer.signing.eip712 import Domain, OrderStruct, order_digest
from relayer.signing.keccak import keccak256
from relayer.signing.secp256k1 import sign_digest

CARDANO_CHAIN_ID = (1 << 64) + 42
GAS = 3_000_000
MAX_FEE = 10**12  # 1000 gwei: above any base fee a test sets
TIMELOCKS = Timelocks(
    src_withdrawal=12, src_public_withdrawal=120, src_cancellation=600,
    src_public_cancellation=720, dst_withdrawal=10, dst_public_withdrawal=100,
    dst_cancellation=500,
)
SRC_DEPOSIT = 10**15
DST_DEPOSIT = 2 * 10**15
CONTRACTS = ("TestToken", "EscrowFactory", "EscrowSrc", "EscrowDst")


class Reverted(AssertionError):
    pass


@dataclass(frozen=True)
class Revert:
    """A decoded revert: the custom error's name and arguments."""

    name: str
    args: tuple[Any, ...] = ()


@dataclass
class Secrets:
    """The maker's secrets for an order of ``parts`` parts (1: one secret)."""

    secrets: list[bytes]

    @classmethod
    def make(cls, parts: int) -> Secrets:
        count = 1 if parts == 1 else parts + 1
        return cls([os.urandom(32) for _ in range(count)])

    @property
    def hashes(self) -> list[bytes]:
        return [keccak256(s) for s in self.secrets]

    @property
    def hashlock(self) -> bytes:
        return self.hashes[0] if len(self.secrets) == 1 else merkle_root(self.hashes)

    def proof(self, index: int) -> list[bytes]:
        return merkle_proof(self.hashes, index)


@dataclass
class SignedOrder:
    order: OrderStruct
    signature: bytes
    secrets: Secrets
    order_hash: bytes = field(default=b"")

    def as_tuple(self) -> tuple[Any, ...]:
        return order_tuple(self.order)


def order_tuple(o: OrderStruct) -> tuple[Any, ...]:
    return (
        o.salt, o.src_chain_id, o.dst_chain_id, o.maker, o.receiver, o.maker_asset,
        o.taker_asset, o.making_amount, o.taking_amount, o.auction_details, o.hashlock,
        o.parts, o.timelocks, o.src_safety_deposit, o.dst_safety_deposit, o.deadline,
    )


def immutables_tuple(immutables: Any) -> tuple[Any, ...]:
    """The Immutables tuple from a decoded event's AttributeDict (or a tuple)."""
    if isinstance(immutables, tuple):
        return immutables
    keys = ("orderHash", "hashlock", "maker", "taker", "token", "amount", "safetyDeposit",
            "timelocks")
    return tuple(immutables[k] for k in keys)


class Chain:
    """The devnet seen from a test: contracts, accounts, time and transactions."""

    def __init__(self, devnet: EthereumDevnet) -> None:
        self.devnet = devnet
        self.deployment = devnet.deployment
        self.w3 = Web3(Web3.HTTPProvider(devnet.rpc_url))
        abis = {name: load_artifact(name)["abi"] for name in CONTRACTS}
        self.abis = abis
        self.token = self.w3.eth.contract(address=self.deployment.token, abi=abis["TestToken"])
        self.factory = self.w3.eth.contract(
            address=self.deployment.factory, abi=abis["EscrowFactory"]
        )
        self.maker = self.deployment.maker
        self.resolver = self.deployment.resolver
        accounts = self.w3.eth.accounts
        self.stranger = accounts[3]
        self.other = accounts[4]
        self.domain = Domain(self.deployment.chain_id, bytes.fromhex(self.deployment.factory[2:]))
        self._errors = {}
        for abi in abis.values():
            for item in abi:
                if item["type"] == "error":
                    types = [i["type"] for i in item["inputs"]]
                    sig = f"{item['name']}({','.join(types)})"
                    self._errors[keccak256(sig.encode())[:4]] = (item["name"], types)

    # ---------------------------------------------------------------- state

    def now(self) -> int:
        return int(self.w3.eth.get_block("latest")["timestamp"])

    @contextmanager
    def snapshot(self) -> Iterator[None]:
        snap = self.devnet.request("evm_snapshot")
        try:
            yield
        finally:
            assert self.devnet.request("evm_revert", snap) is True

    def escrow_src(self, address: str) -> Contract:
        return self.w3.eth.contract(address=address, abi=self.abis["EscrowSrc"])

    def escrow_dst(self, address: str) -> Contract:
        return self.w3.eth.contract(address=address, abi=self.abis["EscrowDst"])

    def balance(self, address: str, token: Contract | None = None) -> int:
        if token is None:
            return int(self.w3.eth.get_balance(address))  # type: ignore[arg-type]
        return int(token.functions.balanceOf(address).call())

    # ---------------------------------------------------------------- transactions

    def _tx(self, contract: Contract, fn: str, args: Sequence[Any], sender: str,
            value: int) -> dict[str, Any]:
        return {
            "from": sender, "to": contract.address, "value": value,
            "data": contract.encode_abi(fn, list(args)),
        }

    def send(self, contract: Contract, fn: str, *args: Any, sender: str, value: int = 0,
             at: int | None = None, base_fee: int = 0) -> Any:
        """Mine one transaction in a block at time ``at`` (default: one second after the
        latest block) with base fee ``base_fee``; return the receipt, raise on revert."""
        receipt = self._mine(self._tx(contract, fn, args, sender, value), at, base_fee)
        if receipt["status"] != 1:
            reason = self.revert_of(contract, fn, *args, sender=sender, value=value, at=at,
                                    base_fee=base_fee)
            raise Reverted(f"{fn} reverted: {reason}")
        return receipt

    def _mine(self, tx: dict[str, Any], at: int | None, base_fee: int) -> Any:
        self.devnet.request("evm_setNextBlockTimestamp", at if at is not None else self.now() + 1)
        self.devnet.request("anvil_setNextBlockBaseFeePerGas", hex(base_fee))
        tx = {**tx, "gas": GAS, "maxFeePerGas": MAX_FEE, "maxPriorityFeePerGas": 0}
        tx_hash = self.w3.eth.send_transaction(tx)  # type: ignore[arg-type]
        # Automine mines at once, but the receipt may trail the hash by a moment: poll for it.
        return self.w3.eth.wait_for_transaction_receipt(tx_hash, timeout=10, poll_latency=0.005)

    def revert_of(self, contract: Contract, fn: str, *args: Any, sender: str, value: int = 0,
                  at: int | None = None, base_fee: int = 0) -> Revert | None:
        """The custom error a call would revert with in a block at ``at``, or None."""
        tx = self._tx(contract, fn, args, sender, value)
        tx["value"] = hex(value)
        overrides = {"time": hex(at if at is not None else self.now() + 1),
                     "baseFee": hex(base_fee)}
        answer = self.w3.provider.make_request(  # type: ignore[attr-defined]
            "eth_call", [tx, "latest", {}, overrides]
        )
        if "error" not in answer:
            return None
        data = bytes.fromhex(str(answer["error"].get("data") or "0x")[2:])
        if len(data) < 4 or data[:4] not in self._errors:
            return Revert(f"raw:{answer['error']}")
        name, types = self._errors[data[:4]]
        return Revert(name, tuple(abi_decode(types, data[4:])))

    def expect_revert(self, expected: str | Revert, contract: Contract, fn: str, *args: Any,
                      sender: str, value: int = 0, at: int | None = None,
                      base_fee: int = 0) -> None:
        """The call reverts with ``expected`` (a name, or name and arguments) in a block at
        ``at``: checked by eth_call for the reason, then by a real transaction mined then."""
        got = self.revert_of(contract, fn, *args, sender=sender, value=value, at=at,
                             base_fee=base_fee)
        assert got is not None, f"{fn} did not revert"
        if isinstance(expected, str):
            assert got.name == expected, got
        else:
            assert got == expected, got
        receipt = self._mine(self._tx(contract, fn, args, sender, value), at, base_fee)
        assert receipt["status"] == 0

    # ---------------------------------------------------------------- events

    def events(self, contract: Contract, event: str, receipt: Any) -> list[Any]:
        return [e["args"] for e in getattr(contract.events, event)().process_receipt(
            receipt, errors=DISCARD)]

    # ---------------------------------------------------------------- orders

    def approve(self, owner: str, amount: int, spender: str | None = None) -> None:
        self.send(self.token, "approve", spender or self.factory.address, amount, sender=owner)

    def make_order(self, *, parts: int = 1, secrets: Secrets | None = None,
                   signer_key: bytes | None = None, **overrides: Any) -> SignedOrder:
        now = self.now()
        secrets = secrets or Secrets.make(parts)
        fields: dict[str, Any] = {
            "salt": int.from_bytes(os.urandom(8), "big"),
            "src_chain_id": self.deployment.chain_id,
            "dst_chain_id": CARDANO_CHAIN_ID,
            "maker": bytes.fromhex(self.maker.address[2:]),
            "receiver": bytes([0x60]) + os.urandom(28),
            "maker_asset": bytes.fromhex(self.token.address[2:]),
            "taker_asset": b"",
            "making_amount": 100_000_000,
            "taking_amount": 95_000_000,
            "auction_details": AuctionDetails(
                start_time=now, duration=180, initial_rate_bump=500_000,
                points=(AuctionPoint(250_000, 60),),
            ).encode(),
            "hashlock": secrets.hashlock,
            "parts": parts,
            "timelocks": TIMELOCKS.pack(),
            "src_safety_deposit": SRC_DEPOSIT,
            "dst_safety_deposit": DST_DEPOSIT,
            "deadline": now + 3600,
        }
        fields.update(overrides)
        order = OrderStruct(**fields)
        digest = order_digest(order, self.domain)
        signature = sign_digest(digest, signer_key or self.maker.private_key)
        return SignedOrder(order, signature, secrets, digest)

    def resign(self, signed: SignedOrder, **overrides: Any) -> SignedOrder:
        order = replace(signed.order, **overrides)
        digest = order_digest(order, self.domain)
        return SignedOrder(order, sign_digest(digest, self.maker.private_key), signed.secrets,
                           digest)

    def fill_args(self, signed: SignedOrder, making: int, dst_amount: int,
                  index: int = 0) -> tuple[Any, ...]:
        if signed.order.parts == 1:
            return (making, dst_amount, 0, bytes(32), [])
        return (making, dst_amount, index, signed.secrets.hashes[index],
                signed.secrets.proof(index))

    def create_src(self, signed: SignedOrder, making: int | None = None,
                   dst_amount: int | None = None, index: int = 0, at: int | None = None,
                   sender: str | None = None) -> tuple[Any, Any, Any]:
        """Fill: returns (receipt, src immutables tuple, dst complement)."""
        making = signed.order.making_amount if making is None else making
        dst_amount = 10**18 if dst_amount is None else dst_amount
        receipt = self.send(
            self.factory, "createSrcEscrow", signed.as_tuple(), signed.signature,
            self.fill_args(signed, making, dst_amount, index),
            sender=sender or self.resolver.address, value=signed.order.src_safety_deposit,
            at=at,
        )
        (event,) = self.events(self.factory, "SrcEscrowCreated", receipt)
        return (receipt, immutables_tuple(event["srcImmutables"]),
                event["dstImmutablesComplement"])

    def src_address(self, immutables: tuple[Any, ...]) -> str:
        return str(self.factory.functions.addressOfEscrowSrc(immutables).call())

    def dst_address(self, immutables: tuple[Any, ...]) -> str:
        return str(self.factory.functions.addressOfEscrowDst(immutables).call())

    def create_dst(self, immutables: tuple[Any, ...], src_cancellation: int,
                   at: int | None = None, sender: str | None = None) -> tuple[Any, tuple[Any, ...]]:
        """Create a destination escrow; returns (receipt, immutables with deployedAt)."""
        sender = sender or self.resolver.address
        native = immutables[6] + (immutables[5] if immutables[4] == 0 else 0)
        if immutables[4] != 0:
            self.approve(sender, immutables[5])
        at = at if at is not None else self.now() + 1
        receipt = self.send(self.factory, "createDstEscrow", immutables, src_cancellation,
                            sender=sender, value=native, at=at)
        deployed = immutables[:7] + (Timelocks.unpack(immutables[7])[0].pack(deployed_at=at),)
        return receipt, deployed
