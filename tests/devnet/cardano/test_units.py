"""Unit tests of the pure parts: fees, CBOR spans, native script JSON, the committed
validator build."""

from __future__ import annotations

import subprocess
import sys
from fractions import Fraction
from pathlib import Path

import cbor2
import pytest
import uplc
import uplc.ast

from devnet.cardano.encoders import native_script_json
from devnet.cardano.errors import SubmissionError
from devnet.cardano.model import Script
from devnet.cardano.params import ProtocolParameters
from devnet.cardano.plutus import PlutusEvaluator
from devnet.cardano.txcbor import decode_transaction
from tests.devnet.cardano.txs import DATA


def test_min_fee_rounds_the_script_fee_up_once() -> None:
    params = ProtocolParameters(price_memory=Fraction(1, 3), price_cpu=Fraction(1, 3))
    assert params.min_fee(100, memory=1, cpu=1) == 44 * 100 + 155_381 + 1


def test_reference_script_fee_is_tiered() -> None:
    params = ProtocolParameters()
    assert params.reference_script_fee(0) == 0
    assert params.reference_script_fee(1000) == 15_000
    first_tier = 15 * 25_600
    assert params.reference_script_fee(25_600 + 100) == first_tier + 18 * 100


def test_cost_models_are_the_mainnet_lengths() -> None:
    models = ProtocolParameters().cost_models
    assert [len(models[k]) for k in ("plutus:v1", "plutus:v2", "plutus:v3")] == [166, 175, 297]


def test_native_script_json() -> None:
    script = [1, [[0, b"\x01" * 28], [3, 1, [[4, 10], [5, 20]]]]]
    assert native_script_json(script) == {
        "clause": "all",
        "from": [
            {"clause": "signature", "from": "01" * 28},
            {
                "clause": "some",
                "atLeast": 1,
                "from": [{"clause": "after", "slot": 10}, {"clause": "before", "slot": 20}],
            },
        ],
    }


def test_malformed_transactions_are_deserialisation_failures() -> None:
    for raw in (b"", b"\x80", cbor2.dumps([{}, {}]), b"\x84\xa0\xa0\xf5"):
        with pytest.raises(SubmissionError) as info:
            decode_transaction(raw)
        assert info.value.code == -32602


def test_committed_validator_matches_its_source(tmp_path: Path) -> None:
    source = DATA / "hashlock_validator.py"
    subprocess.run(
        [sys.executable, "-m", "opshin", "build", str(source), "-o", str(tmp_path)],
        check=True,
        capture_output=True,
    )
    built = (tmp_path / "script.cbor").read_text().strip()
    assert built == (DATA / "hashlock_validator.cbor").read_text().strip()


def test_programs_nested_deeper_than_the_default_recursion_limit_run() -> None:
    # A validator of a few KB nests terms thousands deep; uplc recurses once per term.
    term: uplc.ast.AST = uplc.ast.BuiltinUnit()
    for _ in range(2_500):
        term = uplc.ast.Apply(uplc.ast.Lambda("x", uplc.ast.Variable("x")), term)
    program = uplc.ast.Program((1, 1, 0), uplc.ast.Lambda("context", term))
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(20_000)
    try:
        body = uplc.flatten(program)
    finally:
        sys.setrecursionlimit(1_000)
    try:
        result = PlutusEvaluator().run(
            Script(3, body), uplc.ast.PlutusInteger(0), purpose="spend", index=0,
            memory=14_000_000, cpu=10_000_000_000,
        )
    finally:
        sys.setrecursionlimit(max(limit, sys.getrecursionlimit()))
    assert result.cpu > 0
