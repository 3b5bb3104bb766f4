"""What monitors report: confirmations count from processed blocks, never the raw tip."""

from __future__ import annotations

from relayer.chains.status import ChainStatus


def test_confirmations_count_from_the_newest_processed_block() -> None:
    # A reorg under way: the node's tip is on the new branch, the orphaned blocks'
    # events are still indexed up to block 105.
    ethereum = ChainStatus(chain="ethereum", connected=True, head=108, processed=105,
                           max_lag=16)
    assert ethereum.tip_height == 108 and ethereum.confirmed_height == 105
    cardano = ChainStatus(chain="cardano", connected=True, head=5_000, processed=4_900,
                          max_lag=120, head_height=250, processed_height=246)
    assert cardano.confirmed_height == 246


def test_nothing_is_confirmed_before_anything_is_processed() -> None:
    status = ChainStatus(chain="ethereum", connected=True, head=10, processed=None,
                         max_lag=16)
    assert status.confirmed_height is None
