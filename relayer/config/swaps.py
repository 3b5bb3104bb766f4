"""Settings of a swap's course: the quote presets, the auction's tick and when secrets
are released.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class PresetSettings:
    auction_duration: int
    start_delay: int
    """Seconds from the quote to the auction's start, time to sign and submit."""
    initial_rate_bump: int
    """Where the auction starts, above the minimum (10,000,000 = 100 %)."""
    min_return_bps: int
    """The minimum taking amount as basis points of the market amount."""
    order_lifetime: int
    """Seconds from the quote to the order's deadline."""


def _default_presets() -> Mapping[str, PresetSettings]:
    return {
        "fast": PresetSettings(auction_duration=180, start_delay=12, initial_rate_bump=150_000,
                               min_return_bps=9_900, order_lifetime=1_800),
        "medium": PresetSettings(auction_duration=360, start_delay=12, initial_rate_bump=250_000,
                                 min_return_bps=9_925, order_lifetime=3_600),
        "slow": PresetSettings(auction_duration=600, start_delay=24, initial_rate_bump=400_000,
                               min_return_bps=9_950, order_lifetime=7_200),
    }


@dataclass(frozen=True, slots=True)
class QuoteSettings:
    presets: Mapping[str, PresetSettings] = field(default_factory=_default_presets)
    recommended_preset: str = "medium"
    max_parts: int = 64


@dataclass(frozen=True, slots=True)
class AuctionSettings:
    tick_seconds: float = 1.0
    """Interval of the scheduled auction job; a timing knob, not money."""


@dataclass(frozen=True, slots=True)
class SettlementSettings:
    """When secrets are released (ARCHITECTURE section 5) and how they are held."""

    safety_margin_seconds: int = 60
    """Time that must remain before the destination escrow's cancellation for a release."""
    custody_keys: str = ""
    """X25519 private keys (hex, comma-separated; the first is active) for secrets in
    custody: from the environment (``RELAYER_SETTLEMENT_CUSTODY_KEYS``) only."""
    custody_keys_file: str = ""
    """Else a file with one key per line; empty: ``<data_dir>/custody-keys``, created
    (mode 0600) on first start."""
    resolvers: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    """Each resolver's address per chain (``[settlement.resolvers.NAME] ethereum = "0x.."
    cardano = "<key hash>"``): how the source and destination takers are known to be
    one resolver."""
