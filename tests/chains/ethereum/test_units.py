"""Pure parts of the Ethereum monitor: backoff, ABI topics and decoding, addresses, cursor."""

from __future__ import annotations

import os
import random

import pytest
from eth_abi.abi import encode as abi_encode

from relayer.chains.ethereum.abi import EscrowAbi, EventKind
from relayer.chains.ethereum.addresses import to_checksum, with_deployed_at
from relayer.chains.ethereum.backoff import Backoff
from relayer.chains.ethereum.cursor import Cursor
from relayer.chains.ethereum.failover import redact
from relayer.networks.registry import checksum_address

IMMUTABLES = "(bytes32,bytes32,uint256,uint256,uint256,uint256,uint256,uint256)"
COMPLEMENT = "(uint256,uint256,uint256,uint256,uint256)"


def test_backoff_doubles_up_to_the_cap_with_jitter_in_the_upper_half() -> None:
    backoff = Backoff(0.5, 4.0, rng=random.Random(3))
    ceilings = [0.5, 1.0, 2.0, 4.0, 4.0, 4.0]
    for ceiling in ceilings:
        delay = backoff.next_delay()
        assert ceiling / 2 <= delay <= ceiling
    assert backoff.failures == len(ceilings)
    backoff.reset()
    assert backoff.next_delay() <= 0.5
    draws = {round(Backoff(1, 1, rng=random.Random(seed)).next_delay(), 6) for seed in range(20)}
    assert len(draws) > 10  # jittered, not in step


def test_topics_are_those_of_the_architecture_including_the_fee_variant() -> None:
    abi = EscrowAbi.load()
    prefixes = {e.kind: e.topic[2:10] for e in abi.events.values()}
    assert prefixes == {
        EventKind.SRC_CREATED: "0e534c62", EventKind.SRC_CREATED_WITH_PARAMETERS: "1140dcf8",
        EventKind.DST_CREATED: "c30e111d", EventKind.WITHDRAWAL: "e346f5c9",
        EventKind.CANCELLED: "6e3be929", EventKind.RESCUED: "c4474c27",
    }


@pytest.mark.parametrize("parameters", [b"", b"\x07" * 32, os.urandom(70)])
def test_both_src_created_variants_decode_to_the_same_words(parameters: bytes) -> None:
    abi = EscrowAbi.load()
    by_kind = {e.kind: e for e in abi.events.values()}
    immutables = (os.urandom(32), os.urandom(32), 1, 2, 3, 4, 5, 6 | (7 << 224))
    complement = (11, 12, 13, 14, 15)
    plain = abi_encode([IMMUTABLES, COMPLEMENT], [immutables, complement])
    fee = abi_encode([IMMUTABLES[:-1] + ",bytes)", COMPLEMENT[:-1] + ",bytes)"],
                     [(*immutables, parameters), (*complement, parameters)])
    expected = (int.from_bytes(immutables[0], "big"), int.from_bytes(immutables[1], "big"),
                *immutables[2:], *complement)
    assert by_kind[EventKind.SRC_CREATED].decode(plain) == expected
    assert by_kind[EventKind.SRC_CREATED_WITH_PARAMETERS].decode(fee) == expected
    with pytest.raises(ValueError):
        by_kind[EventKind.SRC_CREATED].decode(plain[:-1])


def test_checksums_and_deployed_at() -> None:
    for _ in range(50):
        raw = os.urandom(20)
        assert to_checksum(raw) == checksum_address("0x" + raw.hex(), field="x")
        assert to_checksum(int.from_bytes(raw, "big") | (5 << 200)) == to_checksum(raw)
    assert with_deployed_at((9 << 224) | 123, 77) == (77 << 224) | 123


def test_cursor_keeps_a_window_of_hashes_and_rewinds() -> None:
    cursor = Cursor(chain_id=1, genesis="0xg", factory="0xf", block=9, hashes=(), version=0)
    cursor = cursor.advanced(block=20, hashes={n: f"0x{n}" for n in range(10, 21)}, events=5,
                             window=4)
    assert [n for n, _ in cursor.hashes] == [17, 18, 19, 20] and cursor.version == 5
    assert cursor.hash_at(19) == "0x19" and cursor.hash_at(16) is None
    back = cursor.rewound(block=18, events=2)
    assert back.block == 18 and back.version == 7 and back.hash_at(19) is None
    assert Cursor.decode(back.encode()) == back


def test_redacted_urls_keep_no_path_or_key() -> None:
    assert redact("https://user:secret@eth.example:8443/v3/KEY") == "https://eth.example:8443"
    assert redact("http://127.0.0.1:8545") == "http://127.0.0.1:8545"
