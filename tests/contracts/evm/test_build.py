"""The committed ABI and bytecode are what the pinned solc makes of the sources."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from devnet.ethereum import load_artifact
from relayer.signing.keccak import keccak256

ROOT = Path(__file__).resolve().parents[3]

# ARCHITECTURE section 4.
TOPIC_PREFIXES = {
    ("EscrowFactory", "SrcEscrowCreated"): "0e534c62",
    ("EscrowFactory", "DstEscrowCreated"): "c30e111d",
    ("EscrowSrc", "EscrowWithdrawal"): "e346f5c9",
    ("EscrowSrc", "EscrowCancelled"): "6e3be929",
    ("EscrowSrc", "FundsRescued"): "c4474c27",
    ("EscrowDst", "EscrowWithdrawal"): "e346f5c9",
    ("EscrowDst", "EscrowCancelled"): "6e3be929",
    ("EscrowDst", "FundsRescued"): "c4474c27",
}


def _type(param: dict[str, object]) -> str:
    kind = str(param["type"])
    if kind.startswith("tuple"):
        inner = ",".join(_type(c) for c in param["components"])  # type: ignore[attr-defined]
        return f"({inner}){kind[len('tuple'):]}"
    return kind


def test_artifacts_match_a_fresh_build() -> None:
    proc = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "build_evm_contracts.py"), "--check"],
        capture_output=True, text=True, check=False, cwd=ROOT,
    )
    assert proc.returncode == 0, proc.stderr + proc.stdout


def test_event_topics_are_those_of_the_architecture() -> None:
    for (contract, event), prefix in TOPIC_PREFIXES.items():
        (item,) = [i for i in load_artifact(contract)["abi"]
                   if i["type"] == "event" and i["name"] == event]
        signature = f"{event}({','.join(_type(p) for p in item['inputs'])})"
        assert keccak256(signature.encode()).hex()[:8] == prefix, signature
        assert not any(p["indexed"] for p in item["inputs"])


def test_artifacts_carry_abi_and_bytecode() -> None:
    for name in ("TestToken", "EscrowFactory", "EscrowSrc", "EscrowDst"):
        artifact = load_artifact(name)
        assert artifact["abi"]
        assert len(artifact["bytecode"]) > len(artifact["deployedBytecode"]) > 2
