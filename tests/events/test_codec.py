from __future__ import annotations

import pytest

from relayer.chains.events import (
    CHAIN_CODEC,
    ChainEventReverted,
    ChainPoint,
    DstComplement,
    EscrowCreated,
    EscrowImmutables,
    EscrowRole,
    EscrowWithdrawn,
    chain_stream,
)
from relayer.errors import StoreError
from relayer.events.codec import EventCodec, to_record
from relayer.store.base import Record

POINT = ChainPoint(chain="ethereum", height=12, slot=12, block_id="0x" + "ab" * 32,
                   timestamp=1_700_000_000, tx_id="0x" + "cd" * 32, index=3)


def round_trip(event: object, stream: str) -> object:
    record = to_record(event, version=7, stream=stream)  # type: ignore[arg-type]
    assert record.stream == stream and record.version == 7
    return CHAIN_CODEC.decode(Record(1, record.stream, record.version, record.type, record.data))


def test_escrow_created_round_trips_with_uint256_values() -> None:
    event = EscrowCreated(
        role=EscrowRole.SRC, escrow="0x" + "12" * 20,
        immutables=EscrowImmutables(
            order_hash="0x" + "00" * 32, hashlock="0x" + "11" * 32, maker="0x" + "22" * 20,
            taker="0x" + "33" * 20, token="0x" + "44" * 20, amount=2**256 - 1,
            safety_deposit=10**18, timelocks=(2**32 - 1) << 224),
        complement=DstComplement(maker="addr_test1", amount=2**255, token="lovelace",
                                 safety_deposit=2_000_000, chain_id=(1 << 64) + 42),
        point=POINT)
    back = round_trip(event, chain_stream("ethereum"))
    assert back == event
    assert isinstance(back, EscrowCreated) and back.role is EscrowRole.SRC


def test_reversal_and_withdrawal_round_trip() -> None:
    withdrawn = EscrowWithdrawn(escrow="abcd#0", secret="0x" + "99" * 32, point=POINT)
    reverted = ChainEventReverted(event_type="EscrowWithdrawn", escrow="abcd#0", point=POINT)
    assert round_trip(withdrawn, "chain:cardano") == withdrawn
    assert round_trip(reverted, "chain:cardano") == reverted
    assert POINT.key == f"ethereum:{POINT.block_id}:{POINT.tx_id}:3"


def test_a_codec_refuses_types_it_was_not_given() -> None:
    record = to_record(EscrowWithdrawn(escrow="x", secret="0x", point=POINT), version=1,
                       stream="chain:ethereum")
    stored = Record(5, record.stream, record.version, record.type, record.data)
    other = EventCodec(())
    assert not other.knows(stored) and CHAIN_CODEC.knows(stored)
    with pytest.raises(StoreError, match="unknown event type 'EscrowWithdrawn' at position 5"):
        other.decode(stored)


def test_two_types_of_one_name_are_refused() -> None:
    def twin() -> type:
        class EscrowWithdrawn:
            pass
        return EscrowWithdrawn

    with pytest.raises(ValueError, match="two stored event types are named EscrowWithdrawn"):
        EventCodec((EscrowWithdrawn, twin()))
