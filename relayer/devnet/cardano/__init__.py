"""A Cardano ledger simulator that speaks Ogmios v6 JSON-RPC and runs Plutus V3 scripts."""

from __future__ import annotations

from relayer.devnet.cardano.chain import Block, Chain
from relayer.devnet.cardano.errors import OgmiosError, SubmissionError
from relayer.devnet.cardano.genesis import GenesisAccount, GenesisConfig
from relayer.devnet.cardano.params import ProtocolParameters
from relayer.devnet.cardano.simulator import CardanoSimulator

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
