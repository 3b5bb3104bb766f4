"""The settings tree, one table per area, and the checks it must pass at startup: each
failure is a ``ConfigError`` naming the bad key.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

from relayer.config.chains import CardanoSettings, ChainsSettings, EthereumSettings
from relayer.config.security import SecuritySettings, WebhookSettings
from relayer.config.server import (
    LimitSettings,
    LogSettings,
    ServerSettings,
    StoreSettings,
    WebSocketSettings,
)
from relayer.config.swaps import AuctionSettings, QuoteSettings, SettlementSettings
from relayer.errors import ConfigError

_EVM_ASSET = re.compile(r"^0x[0-9a-fA-F]{40}$")
_CARDANO_ASSET = re.compile(r"^(lovelace|[0-9a-f]{56}\.[0-9a-f]{0,64})$")


@dataclass(frozen=True, slots=True)
class Settings:
    data_dir: str = ".data"
    server: ServerSettings = field(default_factory=ServerSettings)
    store: StoreSettings = field(default_factory=StoreSettings)
    chains: ChainsSettings = field(default_factory=ChainsSettings)
    quote: QuoteSettings = field(default_factory=QuoteSettings)
    auction: AuctionSettings = field(default_factory=AuctionSettings)
    websocket: WebSocketSettings = field(default_factory=WebSocketSettings)
    limits: LimitSettings = field(default_factory=LimitSettings)
    log: LogSettings = field(default_factory=LogSettings)
    webhooks: WebhookSettings = field(default_factory=WebhookSettings)
    security: SecuritySettings = field(default_factory=SecuritySettings)
    settlement: SettlementSettings = field(default_factory=SettlementSettings)

    @property
    def store_url(self) -> str:
        return self.store.url or f"sqlite:///{Path(self.data_dir) / 'relayer.sqlite3'}"


def check(settings: Settings) -> None:
    def need(ok: bool, key: str, message: str) -> None:
        if not ok:
            raise ConfigError(f"{key} {message}", details={"key": key})

    need(0 <= settings.server.port <= 65_535, "server.port", "must be in [0, 65535]")
    _check_limits(settings.limits)
    need(settings.store.synchronous in ("FULL", "NORMAL", "EXTRA"), "store.synchronous",
         "must be FULL, NORMAL or EXTRA")
    url = settings.store_url
    need(url.startswith(("sqlite:///", "postgresql://", "postgres://")), "store.url",
         "must start with sqlite:/// or postgresql://")
    need(settings.store.pool_size >= 2, "store.pool_size", "must be at least 2")
    need(settings.store.poll_seconds > 0, "store.poll_seconds", "must be positive")
    need(settings.store.write_timeout_seconds > 0, "store.write_timeout_seconds",
         "must be positive")
    need(settings.store.leader_takeover_seconds >= 2, "store.leader_takeover_seconds",
         "must be at least 2")
    need(settings.auction.tick_seconds > 0, "auction.tick_seconds", "must be positive")
    ws = settings.websocket
    for name in ("max_connections", "max_subscriptions", "snapshot_limit",
                 "heartbeat_seconds", "ping_interval_seconds", "ping_timeout_seconds"):
        need(getattr(ws, name) > 0, f"websocket.{name}", "must be positive")
    need(ws.snapshot_limit <= 500, "websocket.snapshot_limit", "must be at most 500")
    _check_webhooks(settings.webhooks)
    need(settings.log.format in ("console", "json"), "log.format", "must be console or json")
    need(settings.log.access in ("all", "changes"), "log.access", "must be all or changes")
    _check_security(settings.security)
    need(settings.log.level in ("debug", "info", "warning", "error"), "log.level",
         "must be debug, info, warning or error")
    eth, ada = settings.chains.ethereum, settings.chains.cardano
    need(eth.chain_id > 0, "chains.ethereum.chain_id", "must be positive")
    need(bool(eth.rpc_urls), "chains.ethereum.rpc_urls", "must name at least one URL")
    need(all(url.startswith(("http://", "https://")) for url in eth.rpc_urls),
         "chains.ethereum.rpc_urls", "must be http:// or https:// URLs")
    need(eth.start_block >= 0, "chains.ethereum.start_block", "must not be negative")
    for key in ("poll_seconds", "rpc_timeout_seconds", "backoff_initial_seconds",
                "backoff_max_seconds", "funds_recheck_seconds"):
        need(getattr(eth, key) > 0, f"chains.ethereum.{key}", "must be positive")
    need(eth.max_block_range >= 1, "chains.ethereum.max_block_range", "must be at least 1")
    for name in ("rescue_delay_src_seconds", "rescue_delay_dst_seconds"):
        need(getattr(eth, name) > 0, f"chains.ethereum.{name}", "must be positive")
    need(eth.reorg_window >= 2, "chains.ethereum.reorg_window", "must be at least 2")
    need(eth.max_lag_blocks >= 0, "chains.ethereum.max_lag_blocks", "must not be negative")
    need(ada.network in ("testnet", "mainnet"), "chains.cardano.network",
         "must be testnet or mainnet")
    need(ada.sync_window >= 1, "chains.cardano.sync_window", "must be at least 1")
    need(ada.batch_blocks >= 1, "chains.cardano.batch_blocks", "must be at least 1")
    need(ada.max_lag_slots >= 0, "chains.cardano.max_lag_slots", "must not be negative")
    need(ada.confirmations >= 1, "chains.cardano.confirmations", "must be at least 1")
    need(0 < ada.reconnect_min_seconds <= ada.reconnect_max_seconds,
         "chains.cardano.reconnect_min_seconds",
         "must be positive and at most chains.cardano.reconnect_max_seconds")
    need(eth.chain_id != ada.chain_id, "chains.cardano.chain_id",
         "must differ from chains.ethereum.chain_id")
    for chain in ("ethereum", "cardano"):
        chain_settings: EthereumSettings | CardanoSettings = getattr(settings.chains, chain)
        for symbol, asset in chain_settings.assets.items():
            key = f"chains.{chain}.assets.{symbol}"
            pattern = _EVM_ASSET if chain == "ethereum" else _CARDANO_ASSET
            need(bool(pattern.match(asset.id)), f"{key}.id",
                 "must be 0x and 40 hex digits" if chain == "ethereum"
                 else "must be lovelace or <policy hex>.<asset name hex>")
            need(0 <= asset.decimals <= 36, f"{key}.decimals", "must be in [0, 36]")
            try:
                price = Fraction(asset.usd_price)
            except ValueError:
                price = Fraction(-1)
            need(price >= 0, f"{key}.usd_price", "must be a non-negative decimal string")
    presets = settings.quote.presets
    need(bool(presets), "quote.presets", "must define at least one preset")
    need(settings.quote.recommended_preset in presets, "quote.recommended_preset",
         "must name one of quote.presets")
    for name, preset in presets.items():
        key = f"quote.presets.{name}"
        need(0 < preset.auction_duration < 1 << 24, f"{key}.auction_duration",
             "must be in (0, 2^24)")
        need(0 <= preset.initial_rate_bump < 1 << 24, f"{key}.initial_rate_bump",
             "must be in [0, 2^24)")
        need(0 < preset.min_return_bps <= 10_000, f"{key}.min_return_bps",
             "must be in (0, 10000]")
        need(preset.order_lifetime > preset.start_delay + preset.auction_duration,
             f"{key}.order_lifetime", "must outlast the auction")


def _check_limits(limits: LimitSettings) -> None:
    def need(ok: bool, key: str, message: str) -> None:
        if not ok:
            raise ConfigError(f"limits.{key} {message}", details={"key": f"limits.{key}"})

    mib = 1_048_576
    need(8 <= limits.header_count <= 10_000, "header_count", "must be in [8, 10000]")
    need(1_024 <= limits.header_bytes <= mib, "header_bytes", "must be in [1024, 1 MiB]")
    need(256 <= limits.query_bytes <= limits.header_bytes, "query_bytes",
         "must be in [256, limits.header_bytes]")
    need(1_024 <= limits.body_bytes <= 64 * mib, "body_bytes", "must be in [1024, 64 MiB]")
    need(1_024 <= limits.ws_message_bytes <= 16 * mib, "ws_message_bytes",
         "must be in [1024, 16 MiB]")
    need(limits.ws_send_queue_messages >= 1, "ws_send_queue_messages", "must be at least 1")
    need(64 * 1_024 <= limits.ws_send_queue_bytes <= 1_024 * mib, "ws_send_queue_bytes",
         "must be in [64 KiB, 1 GiB]")
    need(limits.ws_send_timeout_seconds > 0, "ws_send_timeout_seconds", "must be positive")


def _check_security(security: SecuritySettings) -> None:
    def need(ok: bool, key: str, message: str) -> None:
        if not ok:
            raise ConfigError(f"security.{key} {message}", details={"key": f"security.{key}"})

    limits = security.rate_limit
    need(security.signature_window_seconds > 0, "signature_window_seconds", "must be positive")
    need(security.hsts_seconds >= 0, "hsts_seconds", "must not be negative")
    need(security.cors.max_age >= 0, "cors.max_age", "must not be negative")
    need(limits.per_ip_rate > 0, "rate_limit.per_ip_rate", "must be positive")
    need(limits.per_key_rate > 0, "rate_limit.per_key_rate", "must be positive")
    need(limits.per_ip_burst >= 1, "rate_limit.per_ip_burst", "must be at least 1")
    need(limits.per_key_burst >= 1, "rate_limit.per_key_burst", "must be at least 1")
    for network in limits.exempt_networks:
        try:
            ipaddress.ip_network(network)
        except ValueError:
            need(False, "rate_limit.exempt_networks", f"has a bad network {network!r}")


def _check_webhooks(webhooks: WebhookSettings) -> None:
    def need(ok: bool, key: str, message: str) -> None:
        if not ok:
            raise ConfigError(f"webhooks.{key} {message}", details={"key": f"webhooks.{key}"})

    if webhooks.secret_key:
        need(re.fullmatch(r"[0-9a-fA-F]{64}", webhooks.secret_key) is not None, "secret_key",
             "must be 64 hex digits")
    need(webhooks.timeout_seconds > 0, "timeout_seconds", "must be positive")
    need(1 <= webhooks.max_attempts <= 50, "max_attempts", "must be in [1, 50]")
    need(webhooks.retry_initial_seconds > 0, "retry_initial_seconds", "must be positive")
    need(webhooks.retry_max_seconds >= webhooks.retry_initial_seconds, "retry_max_seconds",
         "must be at least retry_initial_seconds")
    need(0 <= webhooks.retry_jitter <= 1, "retry_jitter", "must be in [0, 1]")
    need(webhooks.retry_poll_seconds > 0, "retry_poll_seconds", "must be positive")
    for key in ("queue_size", "max_pending_per_endpoint", "endpoint_concurrency",
                "max_per_key", "history_per_endpoint"):
        need(getattr(webhooks, key) >= 1, key, "must be at least 1")
    need(webhooks.max_makers >= 0, "max_makers", "must not be negative")
