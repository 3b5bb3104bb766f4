#!/usr/bin/env python3
"""Compile contracts/cardano/ with the pinned OpShin and write contracts-abi/cardano/<name>.json.

    python scripts/build_cardano_contracts.py           # (re)write the artifacts
    python scripts/build_cardano_contracts.py --check   # exit 1 if they differ from a fresh build

Each artifact is a cardano-cli text envelope (``type``, ``description``, ``cborHex``: the
script's CBOR bytes wrapped once more) plus the script ``hash``, the compiler and its flags,
the source and the parameters applied. The order validator is parameterized by the escrow
script's hash: both compile at once, then the hash is applied to the order script exactly
as ``opshin build`` applies command-line parameters. The output is deterministic.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path

import cbor2
import uplc
import uplc.ast
from artifact_files import write_or_check

ROOT = Path(__file__).resolve().parent.parent
SOURCES = ROOT / "contracts" / "cardano"
OUTPUT = ROOT / "contracts-abi" / "cardano"

# No traces: they double the scripts' size; tests tell failures apart by changing one thing.
FLAGS = ("-O2", "-fremove-trace")


class BuildError(Exception):
    pass


@dataclass(frozen=True, slots=True)
class Compiled:
    name: str
    script: bytes
    """The script as a transaction carries it: CBOR bytes around the flat program."""
    parameters: dict[str, str]

    @property
    def hash(self) -> bytes:
        return hashlib.blake2b(b"\x03" + self.script, digest_size=28).digest()


def compile_validator(name: str, parameters: int = 0) -> bytes:
    """``opshin build`` of contracts/cardano/<name>.py: the script's CBOR bytes."""
    source = SOURCES / f"{name}.py"
    with tempfile.TemporaryDirectory() as out:
        proc = subprocess.run(
            [sys.executable, "-m", "opshin", "build", str(source), *FLAGS,
             "--parameters", str(parameters), "-o", out],
            capture_output=True, text=True, check=False, cwd=SOURCES,
            env={**os.environ, "PYTHONHASHSEED": "0"},
        )
        script_file = Path(out) / "script.cbor"
        if proc.returncode != 0 or not script_file.is_file():
            raise BuildError(f"opshin build {name}.py failed:\n{proc.stderr}{proc.stdout}")
        return bytes.fromhex(script_file.read_text().strip())


def apply_bytes(script: bytes, parameter: bytes) -> bytes:
    """The script applied to a byte-string parameter, as ``opshin build`` applies one."""
    sys.setrecursionlimit(max(sys.getrecursionlimit(), 50_000))  # uplc recurses per term
    program = uplc.unflatten(script)
    applied = uplc.ast.Program(
        (1, 1, 0), uplc.ast.Apply(program.term, uplc.ast.PlutusByteString(parameter))
    )
    applied_script: bytes = uplc.flatten(applied)
    return applied_script


def compile_all() -> list[Compiled]:
    with ThreadPoolExecutor(max_workers=2) as pool:
        escrow_job = pool.submit(compile_validator, "escrow")
        order_job = pool.submit(compile_validator, "order", 1)
        escrow = Compiled("escrow", escrow_job.result(), {})
        order_script = order_job.result()
    escrow_hash = escrow.hash
    order = Compiled("order", apply_bytes(order_script, escrow_hash),
                     {"escrow_hash": escrow_hash.hex()})
    return [escrow, order]


def envelope(compiled: Compiled, opshin: str) -> str:
    artifact = {
        "type": "PlutusScriptV3",
        "description": f"{compiled.name} validator",
        "cborHex": cbor2.dumps(compiled.script).hex(),
        "hash": compiled.hash.hex(),
        "compiler": {"opshin": opshin, "flags": list(FLAGS)},
        "source": f"contracts/cardano/{compiled.name}.py",
        "parameters": compiled.parameters,
        "sizeBytes": len(compiled.script),
    }
    return json.dumps(artifact, indent=2, sort_keys=True) + "\n"


def artifacts() -> dict[str, str]:
    """File name -> file text for every committed artifact."""
    opshin = version("opshin")
    return {f"{c.name}.json": envelope(c, opshin) for c in compile_all()}


def main(argv: list[str] | None = None) -> int:
    return write_or_check(argv, description=__doc__.splitlines()[0], build=artifacts,
                          output=OUTPUT, error=BuildError,
                          script="scripts/build_cardano_contracts.py")


if __name__ == "__main__":
    sys.exit(main())
