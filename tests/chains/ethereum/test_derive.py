"""Deriving escrow events from logs (synthetic logs: the rules, not the node)."""

from __future__ import annotations

import os
from typing import Any

import pytest
from eth_abi.abi import encode as abi_encode

from devnet.ethereum import load_artifact
from relayer.chains.ethereum.abi import EscrowAbi, EventKind, canonical_type, selector
from relayer.chains.ethereum.addresses import EscrowAddresses, to_checksum, with_deployed_at
from relayer.chains.ethereum.derive import EventDeriver, LogRef, fee_variant_addresses
from relayer.chains.ethereum.rpc import (
    BlockHeader,
    RawLog,
    RpcError,
    RpcHealth,
    Transaction,
)
from relayer.chains.events import EscrowCreated, EscrowRole, EscrowWithdrawn

FACTORY = "0x" + "fa" * 20
SRC_IMPL, DST_IMPL = b"\x01" * 20, b"\x02" * 20
ABI = EscrowAbi.load()
TOPIC = {e.kind: e.topic for e in ABI.events.values()}
IMMUTABLES = "(bytes32,bytes32,uint256,uint256,uint256,uint256,uint256,uint256)"
STAMP = 1_700_000_000
MAKER, TAKER, TOKEN = 0x11 << 152, 0x22 << 152, 0x33 << 152


def deriver() -> EventDeriver:
    return EventDeriver(chain="ethereum", abi=ABI, factory=FACTORY,
                        addresses=EscrowAddresses(bytes.fromhex(FACTORY[2:]), SRC_IMPL, DST_IMPL))


def make_log(kind: EventKind, data: bytes, *, address: str = FACTORY, index: int = 0,
             tx: str = "0x" + "cd" * 32) -> RawLog:
    return {"address": address, "topics": [TOPIC[kind]], "data": "0x" + data.hex(),
            "blockNumber": "0x10", "blockHash": "0x" + "bb" * 32, "blockTimestamp": hex(STAMP),
            "transactionHash": tx, "logIndex": hex(index)}


def immutables(hashlock: bytes = b"\x44" * 32, deployed: int = STAMP) -> tuple[Any, ...]:
    return (b"\x55" * 32, hashlock, MAKER, TAKER, TOKEN, 100, 7,
            with_deployed_at(12 | (500 << 192), deployed))


def words(values: tuple[Any, ...]) -> list[int]:
    return [int.from_bytes(v, "big") if isinstance(v, bytes) else v for v in values]


def src_created(dst_chain_id: int = (1 << 64) + 42) -> bytes:
    complement = (0xAA << 152, 99, 0xBB << 152, 3, dst_chain_id)
    return abi_encode([IMMUTABLES, "(uint256,uint256,uint256,uint256,uint256)"],
                      [immutables(), complement])


def never(_: str) -> bool:
    return False


def test_source_creation_with_an_evm_destination_and_its_withdrawal_in_one_batch() -> None:
    addresses = EscrowAddresses(bytes.fromhex(FACTORY[2:]), SRC_IMPL, DST_IMPL)
    escrow = to_checksum(addresses.src(words(immutables())))
    logs = [make_log(EventKind.SRC_CREATED, src_created(dst_chain_id=1)),
            make_log(EventKind.WITHDRAWAL, b"\x99" * 32, address=escrow.lower(), index=1)]
    out = deriver().derive(logs, {}, never)
    created, withdrawn = out.events
    assert isinstance(created, EscrowCreated) and created.escrow == escrow
    assert created.role is EscrowRole.SRC
    assert created.complement is not None
    assert created.complement.maker == to_checksum(0xAA << 152)  # EVM: an address
    assert created.immutables.maker == to_checksum(MAKER)
    assert created.point.timestamp == STAMP and created.point.index == 0
    assert isinstance(withdrawn, EscrowWithdrawn) and withdrawn.secret == "0x" + "99" * 32


def test_foreign_and_broken_logs_are_skipped() -> None:
    stranger = "0x" + "ee" * 20
    logs = [
        make_log(EventKind.SRC_CREATED, src_created(), address=stranger),  # not our factory
        make_log(EventKind.WITHDRAWAL, b"\x01" * 32, address=stranger),  # unknown escrow
        make_log(EventKind.SRC_CREATED, b"\x00" * 31),  # truncated
        {**make_log(EventKind.CANCELLED, b""), "topics": ["0x" + "12" * 32]},  # other event
    ]
    out = deriver().derive(logs, {}, never)
    assert out.events == [] and out.skipped == 4
    known = deriver().derive([make_log(EventKind.CANCELLED, b"", address=stranger)], {},
                             lambda escrow: escrow == to_checksum(bytes.fromhex(stranger[2:])))
    assert len(known.events) == 1


def dst_created_log(escrow: bytes, tx: str) -> RawLog:
    data = abi_encode(["address", "bytes32", "uint256"],
                      ["0x" + escrow.hex(), b"\x44" * 32, TAKER])
    return make_log(EventKind.DST_CREATED, data, tx=tx)


@pytest.mark.parametrize("through_resolver", [False, True])
def test_destination_immutables_come_from_the_creating_call(through_resolver: bool) -> None:
    addresses = EscrowAddresses(bytes.fromhex(FACTORY[2:]), SRC_IMPL, DST_IMPL)
    escrow = addresses.dst(words(immutables()))
    create = next(i for i in load_artifact("EscrowFactory")["abi"]
                  if i.get("name") == "createDstEscrow")
    call = selector(create) + abi_encode([canonical_type(p) for p in create["inputs"]],
                                         [immutables(deployed=0), 2**40])
    if through_resolver:  # a resolver contract passing the call on, among other arguments
        call = bytes.fromhex("deadbeef") + abi_encode(["uint256", "address", "bytes"],
                                                      [5, FACTORY, call])
    tx = "0x" + "ab" * 32
    transactions = {tx: Transaction(hash=tx, to="0x" + "77" * 20, input=call)}
    (created,) = deriver().derive([dst_created_log(escrow, tx)], {}, never,
                                  transactions).events
    assert isinstance(created, EscrowCreated) and created.role is EscrowRole.DST
    assert created.escrow == to_checksum(escrow) and created.complement is None
    assert created.immutables.timelocks == immutables()[7] and created.immutables.amount == 100

    wrong = {tx: Transaction(hash=tx, to=FACTORY, input=os.urandom(300))}
    out = deriver().derive([dst_created_log(escrow, tx)], {}, never, wrong)
    assert out.events == [] and out.skipped == 1


class FactoryCalls:
    """Answers ``eth_call`` like a fee-variant factory would (logic test: no node)."""

    def __init__(self, answer: bytes | None) -> None:
        self.answer = answer
        self.calls: list[bytes] = []

    async def call(self, to: str, data: bytes, block: int | str = "latest") -> bytes:
        self.calls.append(data)
        if self.answer is None:
            raise RpcError("eth_call", {"message": "execution reverted"})
        return self.answer

    def health(self) -> RpcHealth:
        return RpcHealth(connected=True, errors=0, endpoint="fake")


async def test_fee_variant_escrows_are_asked_from_the_factory() -> None:
    fee_types = [IMMUTABLES[:-1] + ",bytes)", "(uint256,uint256,uint256,uint256,uint256,bytes)"]
    data = abi_encode(fee_types, [(*immutables(), b"fee"), (1, 2, 3, 4, 5, b"fee")])
    log = make_log(EventKind.SRC_CREATED_WITH_PARAMETERS, data, index=3)
    escrow = b"\x66" * 20
    factory = FactoryCalls(bytes(12) + escrow)
    found = await fee_variant_addresses(factory, ABI, FACTORY, [log])  # type: ignore[arg-type]
    ref = LogRef(str(log["transactionHash"]), 3)
    assert found == {ref: to_checksum(escrow)}
    assert factory.calls[0][:4] == ABI.address_of_src_with_parameters
    (created,) = deriver().derive([log], {}, never, {}, found).events
    assert isinstance(created, EscrowCreated) and created.escrow == to_checksum(escrow)
    assert created.immutables.amount == 100

    refused = await fee_variant_addresses(FactoryCalls(None), ABI, FACTORY,  # type: ignore[arg-type]
                                          [log])
    assert refused == {}
    assert deriver().derive([log], {}, never, {}, refused).skipped == 1


def test_timestamps_come_from_headers_when_logs_lack_them() -> None:
    log = dict(make_log(EventKind.SRC_CREATED, src_created()))
    del log["blockTimestamp"]
    header = BlockHeader(number=16, hash="0x" + "bb" * 32, parent_hash="0x", timestamp=42,
                         base_fee=0)
    (created,) = deriver().derive([log], {16: header}, never).events
    assert created.point.timestamp == 42
