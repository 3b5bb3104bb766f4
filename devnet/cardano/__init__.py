"""A Cardano ledger simulator that speaks Ogmios v6 JSON-RPC and runs Plutus V3 scripts."""

from __future__ import annotations

from devnet.cardano.chain import Block, Chain
from devnet.cardano.errors import OgmiosError, SubmissionError
from devnet.cardano.genesis import GenesisAccount, GenesisConfig
from devnet.cardano.params import ProtocolParameters
from devnet.cardano.simulator import CardanoSimulator

__all__ = [
    "Block",
    "CardanoSimulator",
    "Chain",
    "GenesisAccount",
    "GenesisConfig",
    "OgmiosError",
    "ProtocolParameters",
    "SubmissionError",
]
