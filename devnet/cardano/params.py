"""Protocol parameters of the simulated chain, with the real Plutus cost models."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

import uplc

# The cost models shipped with `uplc` are the mainnet ones (Plomin, 2024); they are
# listed in the ledger's parameter order, which is what the script data hash uses.
_COST_MODEL_FILE = Path("cost_model_files") / "2024-07-30" / "cost-model-merged.json"


def load_cost_models() -> dict[str, list[int]]:
    """Return the Plutus cost models keyed by Ogmios language name."""
    path = Path(uplc.__file__).parent / _COST_MODEL_FILE
    raw = json.loads(path.read_text())
    return {
        "plutus:v1": [int(v) for v in raw["PlutusV1"].values()],
        "plutus:v2": [int(v) for v in raw["PlutusV2"].values()],
        "plutus:v3": [int(v) for v in raw["PlutusV3"].values()],
    }


def _ratio(value: Fraction) -> str:
    return f"{value.numerator}/{value.denominator}"


def _ada(lovelace: int) -> dict[str, Any]:
    return {"ada": {"lovelace": lovelace}}


@dataclass(frozen=True, slots=True, kw_only=True)
class ProtocolParameters:
    """The subset of Conway parameters the ledger enforces, plus fixed governance values."""

    min_fee_coefficient: int = 44
    min_fee_constant: int = 155_381
    min_utxo_deposit_coefficient: int = 4_310
    max_block_body_size: int = 90_112
    max_block_header_size: int = 1_100
    max_transaction_size: int = 16_384
    max_value_size: int = 5_000
    max_reference_scripts_size: int = 204_800
    ref_script_fee_base: int = 15
    ref_script_fee_range: int = 25_600
    ref_script_fee_multiplier: Fraction = Fraction(6, 5)
    stake_credential_deposit: int = 2_000_000
    stake_pool_deposit: int = 500_000_000
    collateral_percentage: int = 150
    max_collateral_inputs: int = 3
    price_memory: Fraction = Fraction(577, 10_000)
    price_cpu: Fraction = Fraction(721, 10_000_000)
    max_tx_memory: int = 14_000_000
    max_tx_cpu: int = 10_000_000_000
    max_block_memory: int = 62_000_000
    max_block_cpu: int = 20_000_000_000
    protocol_major: int = 10
    protocol_minor: int = 0
    cost_models: dict[str, list[int]] = field(default_factory=load_cost_models)

    def min_fee(self, tx_size: int, memory: int, cpu: int, ref_script_size: int = 0) -> int:
        """The ledger's minimum fee: size, script execution and reference scripts."""
        script_fee = self.price_memory * memory + self.price_cpu * cpu
        return (
            self.min_fee_coefficient * tx_size
            + self.min_fee_constant
            + _ceil(script_fee)
            + self.reference_script_fee(ref_script_size)
        )

    def reference_script_fee(self, size: int) -> int:
        total = Fraction(0)
        price = Fraction(self.ref_script_fee_base)
        remaining = size
        while remaining > self.ref_script_fee_range:
            total += price * self.ref_script_fee_range
            remaining -= self.ref_script_fee_range
            price *= self.ref_script_fee_multiplier
        total += price * remaining
        return _ceil(total)

    def to_ogmios(self) -> dict[str, Any]:
        """The `queryLedgerState/protocolParameters` result (Ogmios v6.14 names)."""
        return {
            "minFeeCoefficient": self.min_fee_coefficient,
            "minFeeConstant": _ada(self.min_fee_constant),
            "minFeeReferenceScripts": {
                "range": self.ref_script_fee_range,
                "base": float(self.ref_script_fee_base),
                "multiplier": float(self.ref_script_fee_multiplier),
            },
            "minUtxoDepositCoefficient": self.min_utxo_deposit_coefficient,
            "minUtxoDepositConstant": _ada(0),
            "maxBlockBodySize": {"bytes": self.max_block_body_size},
            "maxBlockHeaderSize": {"bytes": self.max_block_header_size},
            "maxTransactionSize": {"bytes": self.max_transaction_size},
            "maxValueSize": {"bytes": self.max_value_size},
            "maxReferenceScriptsSize": {"bytes": self.max_reference_scripts_size},
            "stakeCredentialDeposit": _ada(self.stake_credential_deposit),
            "stakePoolDeposit": _ada(self.stake_pool_deposit),
            "stakePoolRetirementEpochBound": 18,
            "stakePoolPledgeInfluence": "3/10",
            "minStakePoolCost": _ada(170_000_000),
            "desiredNumberOfStakePools": 500,
            "monetaryExpansion": "3/1000",
            "treasuryExpansion": "1/5",
            "collateralPercentage": self.collateral_percentage,
            "maxCollateralInputs": self.max_collateral_inputs,
            "plutusCostModels": {k: list(v) for k, v in self.cost_models.items()},
            "scriptExecutionPrices": {
                "memory": _ratio(self.price_memory),
                "cpu": _ratio(self.price_cpu),
            },
            "maxExecutionUnitsPerTransaction": {
                "memory": self.max_tx_memory,
                "cpu": self.max_tx_cpu,
            },
            "maxExecutionUnitsPerBlock": {
                "memory": self.max_block_memory,
                "cpu": self.max_block_cpu,
            },
            "stakePoolVotingThresholds": _pool_thresholds(),
            "constitutionalCommitteeMinSize": 0,
            "constitutionalCommitteeMaxTermLength": 146,
            "governanceActionLifetime": 6,
            "governanceActionDeposit": _ada(100_000_000_000),
            "delegateRepresentativeVotingThresholds": _drep_thresholds(),
            "delegateRepresentativeDeposit": _ada(500_000_000),
            "delegateRepresentativeMaxIdleTime": 20,
            "version": {"major": self.protocol_major, "minor": self.protocol_minor},
        }

    def governance_parameters(self) -> dict[str, Any]:
        """The updatable parameters of the Conway genesis."""
        params = self.to_ogmios()
        keys = (
            "stakePoolVotingThresholds",
            "constitutionalCommitteeMinSize",
            "constitutionalCommitteeMaxTermLength",
            "governanceActionLifetime",
            "governanceActionDeposit",
            "delegateRepresentativeVotingThresholds",
            "delegateRepresentativeDeposit",
            "delegateRepresentativeMaxIdleTime",
        )
        return {k: params[k] for k in keys}


def _pool_thresholds() -> dict[str, Any]:
    return {
        "noConfidence": "51/100",
        "constitutionalCommittee": {"default": "51/100", "stateOfNoConfidence": "51/100"},
        "hardForkInitiation": "51/100",
        "protocolParametersUpdate": {"security": "51/100"},
    }


def _drep_thresholds() -> dict[str, Any]:
    return {
        "noConfidence": "67/100",
        "constitution": "3/4",
        "constitutionalCommittee": {"default": "67/100", "stateOfNoConfidence": "3/5"},
        "hardForkInitiation": "3/5",
        "protocolParametersUpdate": {
            "network": "67/100",
            "economic": "67/100",
            "technical": "67/100",
            "governance": "3/4",
        },
        "treasuryWithdrawals": "67/100",
    }


def _ceil(value: Fraction) -> int:
    return -((-value.numerator) // value.denominator)
