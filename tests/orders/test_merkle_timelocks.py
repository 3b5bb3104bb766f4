from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from relayer.errors import ValidationError
from relayer.orders.merkle import merkle_proof, merkle_root, secret_index, verify_proof
from relayer.orders.timelocks import Stage, Timelocks


@given(st.lists(st.binary(min_size=32, max_size=32), min_size=1, max_size=40, unique=True))
def test_every_leaf_proves_against_the_root(hashes: list[bytes]) -> None:
    root = merkle_root(hashes)
    for i, h in enumerate(hashes):
        proof = merkle_proof(hashes, i)
        assert verify_proof(root, i, h, proof)
        assert not verify_proof(root, i + 1, h, proof)
        assert not verify_proof(root, i, bytes(32) if h != bytes(32) else b"\x01" * 32, proof)


def test_secret_index_rule() -> None:
    # 4 parts of 100: fills of 25 use indices 0,1,2 and the completing one uses 4
    assert [secret_index(f, 25, 100, 4) for f in (0, 25, 50)] == [0, 1, 2]
    assert secret_index(75, 25, 100, 4) == 4
    assert secret_index(0, 100, 100, 4) == 4
    assert secret_index(0, 26, 100, 4) == 1
    with pytest.raises(ValueError):
        secret_index(90, 20, 100, 4)


def test_timelocks_pack_unpack_and_stages() -> None:
    t = Timelocks(10, 20, 30, 40, 5, 15, 25)
    packed = t.pack(deployed_at=1_700_000_000)
    assert Timelocks.unpack(packed) == (t, 1_700_000_000)
    assert (packed >> 32 * 2) & 0xFFFFFFFF == 30
    assert t.at(Stage.DST_CANCELLATION, 100) == 125


@pytest.mark.parametrize("offsets", [
    (20, 20, 30, 40, 5, 15, 25),   # withdrawal == public withdrawal
    (10, 20, 50, 40, 5, 15, 25),   # cancellation after public cancellation
    (10, 20, 30, 40, 5, 30, 25),   # dst public withdrawal after dst cancellation
    (10, 20, 30, 1 << 32, 5, 15, 25),
])
def test_timelock_order_enforced(offsets: tuple[int, ...]) -> None:
    with pytest.raises(ValidationError) as err:
        Timelocks(*offsets).check()
    assert err.value.code == "INVALID_TIMELOCKS"
