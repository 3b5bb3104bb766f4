"""The escrow projection folds creations, withdrawals, cancellations, rescues and reversals."""

from __future__ import annotations

from dataclasses import replace

from relayer.chains.escrows import EscrowBook, EscrowPhase
from relayer.chains.events import (
    CHAIN_CODEC,
    ChainEventReverted,
    ChainPoint,
    DstComplement,
    EscrowCancelled,
    EscrowCreated,
    EscrowImmutables,
    EscrowRole,
    EscrowWithdrawn,
    FundsRescued,
    chain_stream,
)
from relayer.events.bus import EventBus
from relayer.events.codec import to_record
from relayer.events.projection import Projector
from relayer.store.sqlite import SQLiteEventStore

ORDER = "0x" + "ab" * 32
ESCROW = "0x" + "11" * 20


def point(height: int, index: int = 0, block: str | None = None, chain: str = "ethereum"
          ) -> ChainPoint:
    return ChainPoint(chain=chain, height=height, slot=height,
                      block_id=block or "0x" + f"{height:064x}", timestamp=1_000 + height,
                      tx_id="0x" + "cc" * 32, index=index)


def created(at: ChainPoint, escrow: str = ESCROW, order: str = ORDER,
            role: EscrowRole = EscrowRole.SRC) -> EscrowCreated:
    immutables = EscrowImmutables(order_hash=order, hashlock="0x" + "22" * 32,
                                  maker="0x" + "33" * 20, taker="0x" + "44" * 20,
                                  token="0x" + "55" * 20, amount=100, safety_deposit=7,
                                  timelocks=1 << 224)
    complement = DstComplement(maker="addr_test1", amount=99, token="lovelace",
                               safety_deposit=2, chain_id=5) if role is EscrowRole.SRC else None
    return EscrowCreated(role=role, escrow=escrow, immutables=immutables,
                         complement=complement, point=at)


def reverted(event: EscrowCreated | EscrowWithdrawn | EscrowCancelled | FundsRescued
             ) -> ChainEventReverted:
    return ChainEventReverted(event_type=type(event).__name__, escrow=event.escrow,
                              point=event.point)


def test_creation_withdrawal_and_their_reversal() -> None:
    book = EscrowBook()
    create = created(point(10))
    book.apply(create)
    state = book.get("ethereum", ESCROW)
    assert state is not None and state.phase is EscrowPhase.OPEN
    assert state.confirmations(12) == 3 and state.confirmations(9) == 0
    withdraw = EscrowWithdrawn(escrow=ESCROW, secret="0x" + "99" * 32, point=point(11))
    book.apply(withdraw)
    state = book.get("ethereum", ESCROW)
    assert state is not None and state.phase is EscrowPhase.WITHDRAWN
    assert state.secret == "0x" + "99" * 32

    book.apply(reverted(withdraw))
    state = book.get("ethereum", ESCROW)
    assert state is not None and state.phase is EscrowPhase.OPEN and state.secret is None
    book.apply(reverted(create))
    assert book.get("ethereum", ESCROW) is None
    assert book.by_order(ORDER) == []
    assert len(book) == 0


def test_reinclusion_after_a_reorg_counts_once() -> None:
    book = EscrowBook()
    first = created(point(10, block="0x" + "aa" * 32))
    book.apply(first)
    book.apply(first)  # applying twice changes nothing
    book.apply(reverted(first))
    again = created(point(11, block="0x" + "bb" * 32))
    book.apply(again)
    book.apply(reverted(first))  # a stale reversal names a point that is gone: no effect
    (state,) = book.by_order(ORDER)
    assert state.created == again.point


def test_cancel_rescue_and_unknown_escrows() -> None:
    book = EscrowBook()
    book.apply(created(point(10)))
    book.apply(created(point(10, index=1), escrow="0x" + "12" * 20, role=EscrowRole.DST))
    cancel = EscrowCancelled(escrow=ESCROW, point=point(20))
    rescue = FundsRescued(escrow=ESCROW, token="0x" + "00" * 20, amount=5, point=point(30))
    for event in (cancel, rescue, rescue):
        book.apply(event)
    state = book.get("ethereum", ESCROW)
    assert state is not None and state.phase is EscrowPhase.CANCELLED
    assert state.rescues == (rescue,)
    book.apply(reverted(rescue))
    book.apply(reverted(cancel))
    state = book.get("ethereum", ESCROW)
    assert state is not None and state.phase is EscrowPhase.OPEN and state.rescues == ()
    assert [s.role for s in book.by_order(ORDER)] == [EscrowRole.SRC, EscrowRole.DST]

    book.apply(EscrowWithdrawn(escrow="0x" + "77" * 20, secret="0x" + "00" * 32,
                               point=point(40)))
    assert book.ignored == 1
    other_chain = replace(created(point(10, chain="cardano")), escrow="ab" * 32 + "#0")
    book.apply(other_chain)
    assert book.get("cardano", "ab" * 32 + "#0") is not None
    assert len(book.by_order(ORDER)) == 3


async def test_a_replay_of_the_log_rebuilds_the_book(tmp_path: object) -> None:
    store = SQLiteEventStore(f"{tmp_path}/s.sqlite3")
    await store.open()
    try:
        create = created(point(10))
        events = [create, reverted(create), created(point(11, block="0x" + "bb" * 32))]
        await store.append([to_record(e, version=v, stream=chain_stream("ethereum"))
                            for v, e in enumerate(events, start=1)])
        book = EscrowBook()
        assert await Projector(CHAIN_CODEC, EventBus(), [book]).replay(store) == 3
        (state,) = book
        assert state.created.height == 11
    finally:
        await store.close()
