"""The committed artifacts as the relayer loads them (without OpShin)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pycardano import Network

from devnet.cardano.params import ProtocolParameters
from relayer.chains.cardano.scripts import ABI_DIR, Validators, load_validator
from relayer.errors import ConfigError


def test_the_order_script_is_bound_to_the_escrow_script(validators: Validators) -> None:
    order = json.loads((ABI_DIR / "order.json").read_text())
    assert order["parameters"] == {"escrow_hash": bytes(validators.escrow.hash.payload).hex()}


def test_artifacts_are_text_envelopes_with_their_hash(validators: Validators) -> None:
    for compiled in (validators.escrow, validators.order):
        artifact = json.loads((ABI_DIR / f"{compiled.name}.json").read_text())
        assert artifact["type"] == "PlutusScriptV3"
        assert artifact["hash"] == bytes(compiled.hash.payload).hex()
        assert artifact["sizeBytes"] == len(bytes(compiled.script))
        # small enough to travel inline in a transaction, though reference scripts are cheaper
        assert len(bytes(compiled.script)) < ProtocolParameters().max_transaction_size // 2
    address = validators.escrow.address(Network.TESTNET)
    assert str(address).startswith("addr_test1w")
    assert validators.escrow.plutus_address.payment.is_script


def test_a_tampered_artifact_is_refused(tmp_path: Path) -> None:
    artifact = json.loads((ABI_DIR / "escrow.json").read_text())
    artifact["hash"] = "00" * 28
    (tmp_path / "escrow.json").write_text(json.dumps(artifact))
    with pytest.raises(ConfigError, match="does not hash"):
        load_validator("escrow", tmp_path)
    with pytest.raises(ConfigError, match="not a compiled validator"):
        load_validator("order", tmp_path)
