"""Order-lock lineage in the decoder: which lock a source escrow's funds came from, and
which order-script outputs continue a lock rather than start a lineage of their own."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

import pytest

from relayer.chains.cardano.events import OrderLocked
from relayer.chains.cardano.order_datum import Fill, OrderDatum, Reclaim
from relayer.chains.cardano.state import ChainState
from relayer.chains.events import EscrowCreated, LockOrigin
from tests.chains.cardano.blocks import (
    ADA,
    ATTACKER,
    ORDER,
    WALLET_ADDRESS,
    Ledger,
    escrow_of,
    run,
)


def _locked(state: ChainState, ledger: Ledger, datum: OrderDatum = ORDER) -> str:
    """Someone pays ``datum``'s making amount to the order script; the output."""
    tx = ledger.tx()
    ref = tx.lock(datum)
    run(state, ledger.block(tx))
    return ref


def _escrow(events: Sequence[object]) -> EscrowCreated:
    (found,) = [e for e in events if isinstance(e, EscrowCreated)]
    return found


def _locks(events: Sequence[object]) -> list[OrderLocked]:
    return [e for e in events if isinstance(e, OrderLocked)]


def test_the_makers_lock_is_a_root_and_its_fill_names_it() -> None:
    state, ledger = ChainState(), Ledger()
    tx = ledger.tx()
    root = tx.lock(ORDER)
    (locked,) = _locks(run(state, ledger.block(tx)))
    assert (locked.root, locked.parent, locked.depth) == (root, None, 0)

    fill, escrow, _ = ledger.fill(root, ORDER, ORDER.making_amount)
    created = _escrow(run(state, ledger.block(fill)))
    assert created.escrow == escrow
    assert created.origin == LockOrigin(lock=root, root=root, filled_before=0, depth=0)


def test_fills_of_the_continuing_output_keep_the_root() -> None:
    state, ledger = ChainState(), Ledger()
    root = _locked(state, ledger)
    first, _, rest = ledger.fill(root, ORDER, 50 * ADA)
    events = run(state, ledger.block(first))
    (continuing,) = _locks(events)
    assert rest is not None and continuing.lock == rest
    assert (continuing.parent, continuing.root, continuing.depth) == (root, root, 1)
    assert _escrow(events).origin == LockOrigin(lock=root, root=root, filled_before=0, depth=0)

    after_first = dataclasses.replace(ORDER, filled=50 * ADA)
    second, _, last = ledger.fill(rest, after_first, 100 * ADA)
    events = run(state, ledger.block(second))
    assert _escrow(events).origin == LockOrigin(lock=rest, root=root,
                                                filled_before=50 * ADA, depth=1)
    (again,) = _locks(events)
    assert (again.lock, again.parent, again.root, again.depth) == (last, rest, root, 2)

    # The completing fill leaves no order output behind.
    assert last is not None
    after_second = dataclasses.replace(ORDER, filled=150 * ADA)
    third, _, none_left = ledger.fill(last, after_second, 50 * ADA)
    events = run(state, ledger.block(third))
    assert none_left is None and _locks(events) == []
    assert _escrow(events).origin == LockOrigin(lock=last, root=root,
                                                filled_before=150 * ADA, depth=2)


def test_a_forged_lock_is_its_own_root() -> None:
    """The theft: 3 ADA of the attacker's paid to the order script with a copy of the
    order's datum saying the order makes 3 ADA; its fill must not look like the maker's."""
    state, ledger = ChainState(), Ledger()
    makers = _locked(state, ledger)
    forged_datum = dataclasses.replace(ORDER, making_amount=3 * ADA)
    forged = _locked(state, ledger, forged_datum)

    fill, _, _ = ledger.fill(forged, forged_datum, 3 * ADA)
    created = _escrow(run(state, ledger.block(fill)))
    assert created.immutables.order_hash == "0x" + ORDER.order_hash.hex()
    assert created.origin == LockOrigin(lock=forged, root=forged, filled_before=0, depth=0)
    assert makers in state.watched and forged not in state.watched


_STRAY: dict[str, dict[str, Any]] = {
    # The fill completes the order: the validator ignores `order_output` then.
    "completing_fill": {"filled": 100 * ADA},
    "wrong_filled": {"filled": 60 * ADA},
    "other_maker": {"maker": ATTACKER},
    "other_amount": {"making_amount": 400 * ADA},
}
"""Changes to the continuing datum that make the output the Fill names a stray one."""


@pytest.mark.parametrize("case", ["unnamed_copy", *_STRAY])
def test_an_order_output_that_is_not_the_fills_continuation_starts_a_new_lineage(
        case: str) -> None:
    state, ledger = ChainState(), Ledger()
    root = _locked(state, ledger)
    amount = ORDER.making_amount if case == "completing_fill" else 50 * ADA
    tx = ledger.tx().spend(root, Fill(escrow_output=0, order_output=1))
    tx.escrow(escrow_of(ORDER, amount, slot=ledger.slot + 1))
    following = dataclasses.replace(ORDER, filled=50 * ADA)
    if case == "unnamed_copy":
        # The real continuing output at 1, an identical copy of the attacker's at 2.
        named = tx.lock(following)
        copy = tx.lock(following)
    else:
        named, copy = "", tx.lock(dataclasses.replace(following, **_STRAY[case]))
    locks = {lk.lock: lk for lk in _locks(run(state, ledger.block(tx)))}
    assert (locks[copy].root, locks[copy].parent, locks[copy].depth) == (copy, None, 0)
    if named:
        assert (locks[named].root, locks[named].depth) == (root, 1)

    # Filling the stray output yields an escrow rooted at it, not at the maker's lock.
    stray = locks[copy]
    datum = dataclasses.replace(ORDER, filled=stray.filled, making_amount=stray.making_amount)
    if case == "other_maker":
        datum = dataclasses.replace(datum, maker=ATTACKER)
    fill, _, _ = ledger.fill(copy, datum, 10 * ADA)
    origin = _escrow(run(state, ledger.block(fill))).origin
    assert origin is not None and origin.root == copy != root


def test_one_fill_does_not_vouch_for_another_locks_escrow() -> None:
    """Two locks spent in one transaction (possible with several order scripts): each
    escrow is tied to the lock whose Fill named its index, and only to that one."""
    state, ledger = ChainState(), Ledger()
    other = dataclasses.replace(ORDER, order_hash=b"\x09" * 32, making_amount=3 * ADA)
    first, second = _locked(state, ledger), _locked(state, ledger, other)
    tx = (ledger.tx().spend(first, Fill(escrow_output=0, order_output=5))
          .spend(second, Fill(escrow_output=1, order_output=5)))
    tx.escrow(escrow_of(ORDER, ORDER.making_amount, slot=ledger.slot + 1))
    tx.escrow(escrow_of(other, other.making_amount, slot=ledger.slot + 1))
    created = {e.escrow: e.origin for e in run(state, ledger.block(tx))
               if isinstance(e, EscrowCreated)}
    assert created == {f"{tx.id}#0": LockOrigin(first, first, 0, 0),
                       f"{tx.id}#1": LockOrigin(second, second, 0, 0)}

    # Swapped: the escrow at the index a Fill names belongs to the other order, and
    # an escrow of the order at an index no Fill of it names: neither is a source escrow.
    first, second = _locked(state, ledger), _locked(state, ledger, other)
    tx = (ledger.tx().spend(first, Fill(escrow_output=1, order_output=5))
          .spend(second, Fill(escrow_output=0, order_output=5)))
    tx.escrow(escrow_of(ORDER, ORDER.making_amount, slot=ledger.slot + 1))
    tx.escrow(escrow_of(other, other.making_amount, slot=ledger.slot + 1))
    assert [e for e in run(state, ledger.block(tx)) if isinstance(e, EscrowCreated)] == []


def test_an_escrow_next_to_a_fill_but_not_named_by_it_is_ignored() -> None:
    state, ledger = ChainState(), Ledger()
    root = _locked(state, ledger)
    tx, named, _ = ledger.fill(root, ORDER, 50 * ADA)
    tx.escrow(escrow_of(ORDER, 3 * ADA, slot=ledger.slot + 1))
    created = [e.escrow for e in run(state, ledger.block(tx)) if isinstance(e, EscrowCreated)]
    assert created == [named]


def test_a_reclaim_names_no_escrow() -> None:
    state, ledger = ChainState(), Ledger()
    root = _locked(state, ledger)
    tx = ledger.tx().spend(root, Reclaim())
    tx.escrow(escrow_of(ORDER, ORDER.making_amount, slot=ledger.slot + 1))
    tx.pay(WALLET_ADDRESS, 1 * ADA)
    assert [e for e in run(state, ledger.block(tx)) if isinstance(e, EscrowCreated)] == []


def test_a_rollback_undoes_the_lineage_and_a_new_branch_gets_its_own() -> None:
    state, ledger = ChainState(), Ledger()
    root = _locked(state, ledger)
    fork = ledger.slot
    first, _, rest = ledger.fill(root, ORDER, 50 * ADA)
    run(state, ledger.block(first))
    assert rest in state.watched and root not in state.watched

    undone = state.revert_after(fork)
    assert {type(e).__name__ for e in undone} == {"OrderLocked", "OrderLockSpent",
                                                  "EscrowCreated"}
    assert rest not in state.watched
    restored = state.watched[root].lock
    assert restored is not None and (restored.root, restored.depth) == (root, 0)

    # The other branch fills 80 instead: the new continuing output is rooted the same way.
    ledger.slot = fork
    other, _, other_rest = ledger.fill(root, ORDER, 80 * ADA)
    events = run(state, ledger.block(other))
    (continuing,) = _locks(events)
    assert (continuing.lock, continuing.root, continuing.depth) == (other_rest, root, 1)
    assert continuing.filled == 80 * ADA
