#!/usr/bin/env python3
"""Compile contracts/evm/ with the pinned npm solc and write contracts-abi/evm/<Name>.json.

    python scripts/build_evm_contracts.py           # (re)write the artifacts
    python scripts/build_evm_contracts.py --check   # exit 1 if they differ from a fresh build

The output is deterministic: the same sources and solc give the same bytes.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from artifact_files import write_or_check

ROOT = Path(__file__).resolve().parent.parent
SOURCES = ROOT / "contracts" / "evm"
OUTPUT = ROOT / "contracts-abi" / "evm"
SOLCJS = ROOT / "node_modules" / "solc" / "solc.js"

# The deployable contracts whose artifacts are committed: source unit -> contract name.
ARTIFACTS = {
    "TestToken.sol": "TestToken",
    "EscrowFactory.sol": "EscrowFactory",
    "EscrowSrc.sol": "EscrowSrc",
    "EscrowDst.sol": "EscrowDst",
}

SETTINGS: dict[str, Any] = {
    "optimizer": {"enabled": True, "runs": 200},
    "evmVersion": "cancun",
    # No metadata hash: the bytecode depends on the code only, not on comments or paths.
    "metadata": {"bytecodeHash": "none", "appendCBOR": False},
    "outputSelection": {"*": {"*": ["abi", "evm.bytecode.object", "evm.deployedBytecode.object"]}},
}


class BuildError(Exception):
    pass


def standard_json_input() -> dict[str, Any]:
    sources = {
        path.relative_to(SOURCES).as_posix(): {"content": path.read_text(encoding="utf-8")}
        for path in sorted(SOURCES.rglob("*.sol"))
    }
    return {"language": "Solidity", "sources": sources, "settings": SETTINGS}


def compile_sources() -> dict[str, Any]:
    if not SOLCJS.is_file():
        raise BuildError(f"{SOLCJS} not found: run `npm ci` at the repository root")
    # solcjs exits before a pipe drains, cutting long output short: write to a file instead.
    with tempfile.TemporaryFile(mode="w+", encoding="utf-8") as out:
        proc = subprocess.run(
            ["node", str(SOLCJS), "--standard-json"],
            input=json.dumps(standard_json_input()).encode(),
            stdout=out,
            stderr=subprocess.PIPE,
            check=False,
            cwd=ROOT,
        )
        out.seek(0)
        stdout = out.read()
    # solcjs may print a line such as ">>> Cannot retry compilation with SMT..." before the JSON.
    start = stdout.find("{")
    if proc.returncode != 0 or start < 0:
        raise BuildError(f"solc failed ({proc.returncode}): {proc.stderr.decode()}{stdout}")
    output: dict[str, Any] = json.loads(stdout[start:])
    errors = [e for e in output.get("errors", []) if e.get("severity") == "error"]
    if errors:
        raise BuildError("\n".join(e.get("formattedMessage", e["message"]) for e in errors))
    for warning in output.get("errors", []):
        print(warning.get("formattedMessage", warning["message"]), file=sys.stderr)
    return output


def solc_version() -> str:
    proc = subprocess.run(
        ["node", str(SOLCJS), "--version"], capture_output=True, text=True, check=True, cwd=ROOT
    )
    return proc.stdout.strip().splitlines()[-1]


def artifacts() -> dict[str, str]:
    """File name -> file text for every committed artifact."""
    output = compile_sources()
    version = solc_version()
    files = {}
    for source, name in ARTIFACTS.items():
        contract = output["contracts"][source][name]
        artifact = {
            "contractName": name,
            "sourceName": f"contracts/evm/{source}",
            "compiler": {"solc": version, "settings": SETTINGS},
            "abi": contract["abi"],
            "bytecode": "0x" + contract["evm"]["bytecode"]["object"],
            "deployedBytecode": "0x" + contract["evm"]["deployedBytecode"]["object"],
        }
        files[f"{name}.json"] = json.dumps(artifact, indent=2, sort_keys=True) + "\n"
    return files


def main(argv: list[str] | None = None) -> int:
    return write_or_check(argv, description=__doc__.splitlines()[0], build=artifacts,
                          output=OUTPUT, error=BuildError,
                          script="scripts/build_evm_contracts.py")


if __name__ == "__main__":
    sys.exit(main())
