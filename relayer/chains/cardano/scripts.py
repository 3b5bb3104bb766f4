"""The compiled escrow and order validators committed under ``contracts-abi/cardano/``.

``scripts/build_cardano_contracts.py`` writes them (and a test checks they are what the
sources compile to); this module only reads them, without OpShin.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import cbor2
from pycardano import Address, Network, PlutusV3Script, ScriptHash, plutus_script_hash

from relayer.chains.cardano.plutus_data import Credential, PlutusAddress
from relayer.errors import ConfigError

ABI_DIR = Path(__file__).resolve().parents[3] / "contracts-abi" / "cardano"


@dataclass(frozen=True, slots=True)
class CompiledValidator:
    name: str
    script: PlutusV3Script
    hash: ScriptHash

    def address(self, network: Network) -> Address:
        """The validator's enterprise address: where escrows and orders are locked."""
        return Address(self.hash, network=network)

    @property
    def plutus_address(self) -> PlutusAddress:
        return PlutusAddress(Credential(bytes(self.hash.payload), is_script=True))


@dataclass(frozen=True, slots=True)
class Validators:
    escrow: CompiledValidator
    order: CompiledValidator


def load_validator(name: str, directory: Path = ABI_DIR) -> CompiledValidator:
    """The committed validator ``name`` (``escrow`` or ``order``), its hash checked."""
    path = directory / f"{name}.json"
    try:
        artifact = json.loads(path.read_text(encoding="utf-8"))
        script = PlutusV3Script(cbor2.loads(bytes.fromhex(artifact["cborHex"])))
        declared = bytes.fromhex(artifact["hash"])
    except (OSError, ValueError, KeyError, cbor2.CBORDecodeError) as exc:
        raise ConfigError(
            f"{path}: not a compiled validator (run scripts/build_cardano_contracts.py)"
        ) from exc
    computed = plutus_script_hash(script)
    if bytes(computed.payload) != declared:
        raise ConfigError(f"{path}: the script does not hash to the declared hash")
    return CompiledValidator(name, script, computed)


def load_validators(directory: Path = ABI_DIR) -> Validators:
    return Validators(load_validator("escrow", directory), load_validator("order", directory))
