"""Settings: frozen dataclasses per area, loaded from TOML, ``RELAYER_*`` variables and flags.

``load_settings`` (``loader``) builds the tree of ``Settings`` (``settings``), whose
tables are declared by area: the serving process (``server``), the chains
(``chains``), a swap's course (``swaps``), and who may call or be called
(``security``). ``schema`` turns raw tables into those dataclasses.
"""

from __future__ import annotations

from relayer.config.chains import (
    AssetSettings,
    CardanoSettings,
    ChainsSettings,
    EthereumSettings,
)
from relayer.config.loader import ENV_PREFIX, LEGACY_KEYS, load_settings
from relayer.config.security import (
    CorsSettings,
    RateLimitSettings,
    SecuritySettings,
    WebhookSettings,
)
from relayer.config.server import (
    LimitSettings,
    LogSettings,
    ServerSettings,
    StoreSettings,
    WebSocketSettings,
)
from relayer.config.settings import Settings
from relayer.config.swaps import (
    AuctionSettings,
    PresetSettings,
    QuoteSettings,
    SettlementSettings,
)

__all__ = [
    "ENV_PREFIX",
    "LEGACY_KEYS",
    "AssetSettings",
    "AuctionSettings",
    "CardanoSettings",
    "ChainsSettings",
    "CorsSettings",
    "EthereumSettings",
    "LimitSettings",
    "LogSettings",
    "PresetSettings",
    "QuoteSettings",
    "RateLimitSettings",
    "SecuritySettings",
    "ServerSettings",
    "Settings",
    "SettlementSettings",
    "StoreSettings",
    "WebSocketSettings",
    "WebhookSettings",
    "load_settings",
]
