"""Genesis: network settings, funded accounts, slot/time arithmetic and the genesis JSON
that `queryNetwork/genesisConfiguration` and `queryLedgerState/eraSummaries` report."""

from __future__ import annotations

import hashlib
import os
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import cbor2
from pycardano import Address, Network, PaymentSigningKey, PaymentVerificationKey

from devnet.cardano.model import Output, TxIn, blake2b_256
from devnet.cardano.params import ProtocolParameters

ERAS = ("byron", "shelley", "allegra", "mary", "alonzo", "babbage", "conway")


@dataclass(frozen=True, slots=True, kw_only=True)
class GenesisConfig:
    """Everything that fixes a fresh chain. `seed` makes the genesis keys reproducible."""

    network_magic: int = 42
    start_time: int | None = None  # POSIX seconds; None means "now"
    slot_length_ms: int = 1000
    epoch_length: int = 86_400
    security_parameter: int = 2160
    # The chain starts at the first slot of this epoch (the `ogmios` client cannot parse
    # epoch 0: it tests the result for truthiness).
    initial_epoch: int = 1
    accounts: int = 4
    lovelace_per_account: int = 1_000_000_000_000
    seed: bytes | None = None
    protocol_parameters: ProtocolParameters = field(default_factory=ProtocolParameters)

    def __post_init__(self) -> None:
        if self.slot_length_ms <= 0:
            raise ValueError("slot_length_ms must be positive")
        if self.initial_epoch < 1 or self.epoch_length < 1:
            raise ValueError("initial_epoch and epoch_length must be at least 1")
        if self.accounts < 0 or self.lovelace_per_account < 0:
            raise ValueError("accounts and lovelace_per_account must not be negative")


@dataclass(frozen=True, slots=True)
class GenesisAccount:
    address: str
    signing_key: PaymentSigningKey
    lovelace: int

    def to_json(self) -> dict[str, Any]:
        return {
            "address": self.address,
            "signing_key": self.signing_key.to_cbor_hex(),
            "lovelace": self.lovelace,
        }


class Genesis:
    """A resolved genesis: start time, accounts and the initial UTxO set."""

    def __init__(self, config: GenesisConfig) -> None:
        self.config = config
        self.first_slot = config.initial_epoch * config.epoch_length
        if config.start_time is not None:
            self.start_time = config.start_time
        else:
            # Chosen so that the wall clock now is the chain's first slot.
            self.start_time = int(time.time()) - self.first_slot * config.slot_length_ms // 1000
        seed = config.seed if config.seed is not None else os.urandom(32)
        self.accounts = [self._account(seed, i) for i in range(config.accounts)]

    def _account(self, seed: bytes, index: int) -> GenesisAccount:
        secret = hashlib.blake2b(seed + index.to_bytes(4, "big"), digest_size=32).digest()
        key = PaymentSigningKey(secret)
        vkey = PaymentVerificationKey.from_signing_key(key)
        address = Address(payment_part=vkey.hash(), network=Network.TESTNET)
        return GenesisAccount(str(address), key, self.config.lovelace_per_account)

    def initial_utxo(self) -> list[tuple[TxIn, Output]]:
        """Shelley-style genesis outputs: the id is the hash of the address bytes, index 0."""
        utxo = []
        for account in self.accounts:
            raw_address = bytes(Address.from_primitive(account.address).to_primitive())
            raw = cbor2.dumps([raw_address, account.lovelace])
            utxo.append(
                ((blake2b_256(raw_address), 0), Output(raw_address, account.lovelace, raw=raw))
            )
        return utxo

    # -- time ---------------------------------------------------------------------------

    @property
    def slot_length_ms(self) -> int:
        return self.config.slot_length_ms

    def slot_to_posix_ms(self, slot: int) -> int:
        return self.start_time * 1000 + slot * self.config.slot_length_ms

    def slot_at(self, posix_ms: int) -> int:
        return max(0, (posix_ms - self.start_time * 1000) // self.config.slot_length_ms)

    def epoch_of(self, slot: int) -> int:
        return slot // self.config.epoch_length

    def start_time_iso(self) -> str:
        return datetime.fromtimestamp(self.start_time, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")

    # -- Ogmios shapes ------------------------------------------------------------------

    def era_summaries(self, tip_slot: int) -> list[dict[str, Any]]:
        """Every era starts at slot 0 (a devnet forks straight into Conway); Conway's end is
        the safe-zone horizon past the current epoch, as a real node reports it."""
        config = self.config
        safe_zone = 3 * config.security_parameter
        params = {
            "epochLength": config.epoch_length,
            "slotLength": {"milliseconds": config.slot_length_ms},
            "safeZone": safe_zone,
        }
        origin = {"time": {"seconds": 0}, "slot": 0, "epoch": 0}
        summaries = [{"start": origin, "end": origin, "parameters": params} for _ in ERAS[:-1]]
        end_epoch = self.epoch_of(tip_slot + safe_zone) + 1
        end_slot = end_epoch * config.epoch_length
        end = {
            "time": {"seconds": end_slot * config.slot_length_ms // 1000},
            "slot": end_slot,
            "epoch": end_epoch,
        }
        summaries.append({"start": origin, "end": end, "parameters": params})
        return summaries

    def configuration(self, era: str) -> dict[str, Any]:
        if era == "byron":
            return self._byron()
        if era == "shelley":
            return self._shelley()
        if era == "alonzo":
            return self._alonzo()
        if era == "conway":
            return self._conway()
        raise ValueError(era)

    def _byron(self) -> dict[str, Any]:
        return {
            "era": "byron",
            "genesisKeyHashes": [],
            "genesisDelegations": {},
            "startTime": self.start_time_iso(),
            "initialFunds": {},
            "initialVouchers": {},
            "securityParameter": self.config.security_parameter,
            "networkMagic": self.config.network_magic,
            "updatableParameters": {
                "maxBlockBodySize": {"bytes": 2_000_000},
                "maxTransactionSize": {"bytes": 4096},
                "slotDuration": self.config.slot_length_ms,
                "minFeeCoefficient": 44,
                "minFeeConstant": {"ada": {"lovelace": 155_381}},
            },
        }

    def _shelley(self) -> dict[str, Any]:
        params = self.config.protocol_parameters.to_ogmios()
        initial = {
            k: params[k]
            for k in (
                "minFeeCoefficient",
                "minFeeConstant",
                "minUtxoDepositCoefficient",
                "minUtxoDepositConstant",
                "maxBlockBodySize",
                "maxBlockHeaderSize",
                "maxTransactionSize",
                "stakeCredentialDeposit",
                "stakePoolDeposit",
                "stakePoolRetirementEpochBound",
                "stakePoolPledgeInfluence",
                "minStakePoolCost",
                "desiredNumberOfStakePools",
                "monetaryExpansion",
                "treasuryExpansion",
                "version",
            )
        }
        initial["federatedBlockProductionRatio"] = "0/1"
        initial["extraEntropy"] = "neutral"
        return {
            "era": "shelley",
            "startTime": self.start_time_iso(),
            "networkMagic": self.config.network_magic,
            "network": "testnet",
            "activeSlotsCoefficient": "1/1",
            "securityParameter": self.config.security_parameter,
            "epochLength": self.config.epoch_length,
            "slotsPerKesPeriod": 129_600,
            "maxKesEvolutions": 62,
            "slotLength": {"milliseconds": self.config.slot_length_ms},
            "updateQuorum": 1,
            "maxLovelaceSupply": 45_000_000_000_000_000,
            "initialParameters": initial,
            "initialDelegates": [],
            "initialFunds": {
                Address.from_primitive(a.address).to_primitive().hex(): {
                    "ada": {"lovelace": a.lovelace}
                }
                for a in self.accounts
            },
            "initialStakePools": {"stakePools": {}, "delegators": {}},
        }

    def _alonzo(self) -> dict[str, Any]:
        params = self.config.protocol_parameters.to_ogmios()
        keys = (
            "minUtxoDepositCoefficient",
            "collateralPercentage",
            "plutusCostModels",
            "maxCollateralInputs",
            "maxExecutionUnitsPerBlock",
            "maxExecutionUnitsPerTransaction",
            "maxValueSize",
            "scriptExecutionPrices",
        )
        updatable = {k: params[k] for k in keys}
        updatable["plutusCostModels"] = {"plutus:v1": params["plutusCostModels"]["plutus:v1"]}
        return {"era": "alonzo", "updatableParameters": updatable}

    def _conway(self) -> dict[str, Any]:
        return {
            "era": "conway",
            "constitution": {
                "metadata": {"url": "https://example.invalid/constitution", "hash": "00" * 32},
                # The ogmios client's model rejects a null guardrails script.
                "guardrails": {"hash": hashlib.blake2b(b"guardrails", digest_size=28).hexdigest()},
            },
            "constitutionalCommittee": {"members": [], "quorum": "0/1"},
            "updatableParameters": self.config.protocol_parameters.governance_parameters(),
        }
