"""Settings of the two chains: their endpoints, monitors, escrow terms and assets."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class AssetSettings:
    id: str
    """The asset on its chain: a token address, ``0x000…0`` for ETH, ``lovelace``
    or ``<policy hex>.<asset name hex>``."""
    decimals: int
    usd_price: str = "0"
    """A decimal string, used by the static price source of the local chains."""


@dataclass(frozen=True, slots=True)
class EthereumSettings:
    chain_id: int = 31337
    rpc_urls: tuple[str, ...] = ("http://127.0.0.1:8545",)
    escrow_factory: str = "0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512"
    confirmations: int = 2
    safety_deposit: int = 1_000_000_000_000_000
    finality_seconds: int = 24
    rescue_delay_src_seconds: int = 691_200
    """The factory's source-escrow rescue delay: from ``deployedAt`` plus this the taker
    can take anything left in the escrow. Orders must be publicly cancellable before it."""
    rescue_delay_dst_seconds: int = 691_200
    """The same for destination escrows: the payment must reach the maker before it."""
    base_fee: int = 0
    """Base fee (wei) the auction uses until a chain monitor reports real ones."""
    follow: bool = True
    """Run the escrow monitor and the maker-funds checks against ``rpc_urls``."""
    start_block: int = 0
    """Where a monitor with no stored cursor starts: the factory's deployment block."""
    poll_seconds: float = 1.0
    """Pause between polls of the chain's head once the monitor has caught up."""
    max_block_range: int = 2_000
    """The most blocks one ``eth_getLogs`` asks for (halved on errors and large answers)."""
    reorg_window: int = 128
    """Recent block hashes kept for reorg detection; a deeper reorg stops the monitor."""
    max_lag_blocks: int = 16
    """Blocks the monitor may trail the head before health reports it behind."""
    rpc_timeout_seconds: float = 10.0
    backoff_initial_seconds: float = 0.5
    """First pause after every RPC URL failed; doubles per failure, with jitter."""
    backoff_max_seconds: float = 30.0
    funds_recheck_seconds: float = 30.0
    """How often open Ethereum-source orders have their maker's funds checked again."""
    assets: Mapping[str, AssetSettings] = field(default_factory=lambda: {
        "ETH": AssetSettings(id="0x0000000000000000000000000000000000000000", decimals=18,
                             usd_price="3000"),
        "TUSD": AssetSettings(id="0x5FbDB2315678afecb367f032d93F642f64180aa3", decimals=6,
                              usd_price="1"),
    })


@dataclass(frozen=True, slots=True)
class CardanoSettings:
    network_magic: int = 42
    chain_id: int = (1 << 64) + 42
    network: str = "testnet"
    ogmios_url: str = "ws://127.0.0.1:1337"
    follow: bool = True
    """Run the Cardano monitor and check order locks at intake against ``ogmios_url``
    (off, Cardano-source orders are accepted unchecked: development only)."""
    sync_window: int = 100
    """``nextBlock`` requests the monitor keeps in flight."""
    batch_blocks: int = 500
    """Most blocks committed in one store transaction while catching up."""
    max_lag_slots: int = 120
    """Slots the monitor may trail the node's tip before health calls it behind."""
    reconnect_min_seconds: float = 0.5
    reconnect_max_seconds: float = 30.0
    confirmations: int = 3
    safety_deposit: int = 2_000_000
    finality_seconds: int = 60
    assets: Mapping[str, AssetSettings] = field(default_factory=lambda: {
        "ADA": AssetSettings(id="lovelace", decimals=6, usd_price="0.5"),
    })


@dataclass(frozen=True, slots=True)
class ChainsSettings:
    ethereum: EthereumSettings = field(default_factory=EthereumSettings)
    cardano: CardanoSettings = field(default_factory=CardanoSettings)
