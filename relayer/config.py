"""Settings: frozen dataclasses per area, loaded from TOML, ``RELAYER_*`` variables and flags.

Precedence, lowest first: embedded defaults, the TOML file, environment
variables, command-line flags. Every leaf key ``a.b.c`` can be set from the
environment as ``RELAYER_A_B_C``. Anything unknown or of the wrong type stops
startup with a ``ConfigError`` naming the key (the variable, for a value from the
environment). The file's values are checked even where a variable or a flag
replaces them.
"""

from __future__ import annotations

import copy
import dataclasses
import ipaddress
import re
import tomllib
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

from relayer.errors import ConfigError
from relayer.integers import is_canonical

ENV_PREFIX = "RELAYER_"
_EVM_ASSET = re.compile(r"^0x[0-9a-fA-F]{40}$")
_CARDANO_ASSET = re.compile(r"^(lovelace|[0-9a-f]{56}\.[0-9a-f]{0,64})$")


@dataclass(frozen=True, slots=True)
class ServerSettings:
    host: str = "127.0.0.1"
    port: int = 8080
    gc_freeze_seconds: float = 1.0
    """How often long-lived objects are moved out of the GC's sight (0: never)."""
    forwarded_allow_ips: str = "127.0.0.1"
    """Proxies whose ``X-Forwarded-For`` names the client (uvicorn's setting; ``*``: any)."""


@dataclass(frozen=True, slots=True)
class StoreSettings:
    url: str = ""
    """``sqlite:///path`` or ``postgresql://user:password@host:port/db``; empty means
    ``<data_dir>/relayer.sqlite3``."""
    synchronous: str = "FULL"
    pool_size: int = 8
    """PostgreSQL: connections each replica opens for reads and commits."""
    poll_seconds: float = 1.0
    """PostgreSQL: how often a replica reads the shared log when no notification came."""
    leader_takeover_seconds: float = 10.0
    """PostgreSQL: a dead or cut-off leader's duties move to another replica within this."""
    write_timeout_seconds: float = 10.0
    """Every store write must commit within this, else it fails (an API request answers
    503 ``STORE_TIMEOUT``) instead of hanging on a frozen disk or a lost database."""


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
class LogSettings:
    format: str = "console"
    """``console`` for people, ``json`` for production."""
    level: str = "info"
    access: str = "all"
    """``all``: every HTTP request's ``http_request`` line at info. ``changes``: at info only
    requests that change something (not GET, HEAD, OPTIONS) and refused or failed ones
    (status 400 and up); successful reads (health checks, metrics scrapes, polling) at
    debug."""


@dataclass(frozen=True, slots=True)
class AuctionSettings:
    tick_seconds: float = 1.0
    """Interval of the scheduled auction job; a timing knob, not money."""


@dataclass(frozen=True, slots=True)
class WebSocketSettings:
    """The WebSocket hub at ``/ws`` (docs/websocket.md)."""

    max_connections: int = 10_000
    max_subscriptions: int = 100
    """Channels one connection may subscribe to."""
    heartbeat_seconds: float = 15.0
    """Interval of the ``heartbeat`` message to every client."""
    ping_interval_seconds: float = 20.0
    """WebSocket protocol pings (``relayer serve``); a peer that does not answer within
    ``ping_timeout_seconds`` is dropped."""
    ping_timeout_seconds: float = 20.0
    snapshot_limit: int = 100
    """Orders in the snapshot of ``orders`` and ``prices`` (page on with getActiveOrders)."""
    per_message_deflate: bool = False
    """Compress messages when the client offers it: less bandwidth, much more CPU and
    memory per connection."""


@dataclass(frozen=True, slots=True)
class LimitSettings:
    """What one request or connection may cost, in one place (docs/security.md)."""

    header_count: int = 100
    """Header lines in one request; more: 431 ``HEADERS_TOO_LARGE``."""
    header_bytes: int = 16_384
    """The request line and all header lines together; more: 431 ``HEADERS_TOO_LARGE``
    (checked as the bytes arrive, so a huge header is never read whole)."""
    query_bytes: int = 4_096
    """The query string; longer: 414 ``QUERY_TOO_LONG``."""
    body_bytes: int = 65_536
    """A request body; larger: 413 ``BODY_TOO_LARGE`` (was ``server.max_body_bytes``)."""
    ws_message_bytes: int = 65_536
    """A WebSocket message from a client, fragments added up; larger: close 1009
    (was ``websocket.max_frame_bytes``)."""
    ws_send_queue_messages: int = 1_024
    """Messages waiting for one WebSocket client whose socket is blocked; more: close 1013
    (was ``websocket.send_queue``)."""
    ws_send_queue_bytes: int = 4_194_304
    """Bytes of the messages waiting for one blocked WebSocket client; more: close 1013."""
    ws_send_timeout_seconds: float = 30.0
    """A WebSocket client whose socket takes nothing for this long is closed (1013), by a
    timer of its own (was ``websocket.send_timeout_seconds``)."""


LEGACY_KEYS: Mapping[str, str] = {
    "server.max_body_bytes": "limits.body_bytes",
    "websocket.max_frame_bytes": "limits.ws_message_bytes",
    "websocket.send_queue": "limits.ws_send_queue_messages",
    "websocket.send_timeout_seconds": "limits.ws_send_timeout_seconds",
}
"""Keys that moved to ``[limits]``: still read (file, environment, flags), under the new name."""


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


@dataclass(frozen=True, slots=True)
class CorsSettings:
    allow_origins: tuple[str, ...] = ()
    """Browser origins allowed to call the API; empty: no CORS headers at all."""
    allow_methods: tuple[str, ...] = ("GET", "POST", "DELETE")
    allow_headers: tuple[str, ...] = (
        "content-type", "authorization", "x-api-key", "x-request-id", "x-relayer-key-id",
        "x-relayer-timestamp", "x-relayer-nonce", "x-relayer-signature",
    )
    max_age: int = 600


@dataclass(frozen=True, slots=True)
class RateLimitSettings:
    enabled: bool = True
    per_ip_rate: float = 20.0
    """Requests a second refilled to each client address without an API key."""
    per_ip_burst: int = 60
    per_key_rate: float = 100.0
    """Requests a second refilled to each API key."""
    per_key_burst: int = 300
    exempt_networks: tuple[str, ...] = ("127.0.0.0/8", "::1/128")
    """Client networks without a per-address limit (API keys are still limited)."""


@dataclass(frozen=True, slots=True)
class SecuritySettings:
    api_keys_file: str = ""
    """JSON lines of hashed keys (``relayer keys create``); empty: no keys."""
    require_signatures: bool = False
    """Refuse plain API keys: every authenticated request must be HMAC-signed."""
    signature_window_seconds: int = 300
    """How far a signed request's timestamp may be from now; nonces are kept this long."""
    hsts_seconds: int = 0
    """``Strict-Transport-Security`` max-age; 0 leaves it to the TLS proxy."""
    cors: CorsSettings = field(default_factory=CorsSettings)
    rate_limit: RateLimitSettings = field(default_factory=RateLimitSettings)


@dataclass(frozen=True, slots=True)
class WebhookSettings:
    """Webhook endpoints and deliveries (docs/webhooks.md)."""

    secret_key: str = ""
    """64 hex digits: the AES-256-GCM key that seals signing secrets at rest
    (``RELAYER_WEBHOOKS_SECRET_KEY``); empty: read from ``secret_key_file``."""
    secret_key_file: str = ""
    """Empty: ``<data_dir>/webhook-secrets.key``, created (mode 0600) if missing."""
    allow_http_loopback: bool = False
    """Development: accept plain ``http://`` endpoints on loopback addresses."""
    allow_private_hosts: bool = False
    """Accept endpoints at loopback, private or reserved addresses (off: no SSRF into
    the relayer's own network by address literal)."""
    ca_file: str = ""
    """Extra CA certificates (PEM) trusted for endpoints, beside the system ones."""
    timeout_seconds: float = 10.0
    max_attempts: int = 10
    retry_initial_seconds: float = 2.0
    """Delay after the first failed attempt; doubled after each further one."""
    retry_max_seconds: float = 600.0
    retry_jitter: float = 0.2
    """Each delay is drawn from [(1 - jitter) * d, d]."""
    retry_poll_seconds: float = 1.0
    """How often due retries are picked up."""
    queue_size: int = 10_000
    """Matched events waiting to be recorded; beyond it an event is dropped and counted."""
    max_pending_per_endpoint: int = 1_000
    """Undelivered deliveries one endpoint may hold; beyond it new ones are dropped."""
    endpoint_concurrency: int = 2
    """Deliveries in flight at once to one endpoint."""
    max_per_key: int = 20
    """Webhooks one API key may register."""
    max_makers: int = 100
    """Makers one webhook's filter may name."""
    history_per_endpoint: int = 1_000
    """Finished deliveries kept in memory per endpoint for the deliveries API."""


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


def load_settings(
    config_file: str | Path | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> Settings:
    """Build validated settings; ``overrides`` maps dotted keys (``server.port``) to values."""
    data: dict[str, Any] = {}
    if config_file is not None:
        path = Path(config_file)
        try:
            data = tomllib.loads(path.read_text())
        except FileNotFoundError as exc:
            raise ConfigError(f"config file not found: {path}") from exc
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"config file {path} is not valid TOML: {exc}") from exc
    _rename_legacy(data, conflicts=True)
    if config_file is not None:
        # Every value in the file must be valid, also one that the environment or a flag
        # replaces below: else a bad file goes unnoticed until the day the flag goes.
        try:
            _validated(copy.deepcopy(data))
        except ConfigError as exc:
            raise ConfigError(f"{exc.message} (in {config_file})", details=exc.details) from None
    variables = _env_overrides(environ or {})
    for key, (_, raw) in variables.items():
        _set_dotted(data, key, raw)
    if variables:
        try:
            _validated(copy.deepcopy(data))
        except ConfigError as exc:
            raise _naming_variable(exc, variables) from None
    for key, value in (overrides or {}).items():
        if value is not None:
            _set_dotted(data, key, value)
    return _validated(data)


def _validated(data: dict[str, Any]) -> Settings:
    _rename_legacy(data, conflicts=False)  # what the overrides named by an old key wins
    settings: Settings = _build(Settings, data, "")
    _check(settings)
    return settings


def _naming_variable(exc: ConfigError, variables: Mapping[str, tuple[str, str]]
                     ) -> ConfigError:
    """``exc`` about a key the environment set, told with the variable's name: that is
    what the operator wrote (``RELAYER_SERVER_PORT must be an integer``)."""
    key = str(exc.details.get("key", ""))
    variable = next((name for k, (name, _) in variables.items()
                     if key == k or key.startswith(k + "[")), None)
    if variable is None:
        return exc
    message = (exc.message.replace(key, variable, 1) if exc.message.startswith(key)
               else f"{variable}: {exc.message}")
    return ConfigError(message, details={**exc.details, "variable": variable})


def _rename_legacy(data: dict[str, Any], *, conflicts: bool) -> None:
    """Move values set under an old key (``LEGACY_KEYS``) to the new one. With
    ``conflicts``, one source naming both with different values is an error."""
    for old, new in LEGACY_KEYS.items():
        old_table, old_name = old.split(".")
        table = data.get(old_table)
        if not isinstance(table, dict) or old_name not in table:
            continue
        value = table.pop(old_name)
        new_table, new_name = new.split(".")
        target = data.setdefault(new_table, {})
        if not isinstance(target, dict):
            raise ConfigError(f"{new_table} must be a table", details={"key": new_table})
        if conflicts and new_name in target and target[new_name] != value:
            raise ConfigError(f"{old} is the old name of {new}: set only {new}",
                              details={"key": old})
        target[new_name] = value


def _env_overrides(environ: Mapping[str, str]) -> dict[str, tuple[str, str]]:
    """Each key the environment sets, with the variable that set it and its value."""
    known = {ENV_PREFIX + key.replace(".", "_").upper(): key for key in _leaf_keys(Settings, "")}
    known.update({ENV_PREFIX + old.replace(".", "_").upper(): new
                  for old, new in LEGACY_KEYS.items()})
    found = {}
    for name, value in environ.items():
        if not name.startswith(ENV_PREFIX):
            continue
        if name not in known:
            raise ConfigError(f"unknown environment variable {name}", details={"key": name})
        found[known[name]] = (name, value)
    return found


def _leaf_keys(cls: type[Any], prefix: str) -> list[str]:
    keys = []
    hints = typing.get_type_hints(cls)
    for f in dataclasses.fields(cls):
        tp = hints[f.name]
        key = f"{prefix}{f.name}"
        if dataclasses.is_dataclass(tp):
            keys.extend(_leaf_keys(tp, key + "."))  # type: ignore[arg-type]
        elif typing.get_origin(tp) is not Mapping:
            keys.append(key)
    return keys


def _set_dotted(data: dict[str, Any], key: str, value: Any) -> None:
    node = data
    *parents, last = key.split(".")
    for part in parents:
        child = node.setdefault(part, {})
        if not isinstance(child, dict):
            raise ConfigError(f"{key}: {part} is not a table", details={"key": key})
        node = child
    node[last] = value


def _build(cls: type[Any], data: Any, path: str) -> Any:
    if not isinstance(data, dict):
        raise ConfigError(f"{path or 'config'} must be a table", details={"key": path})
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}
    for key in data:
        if key not in names:
            full = f"{path}.{key}" if path else key
            raise ConfigError(f"unknown config key {full}", details={"key": full})
    kwargs = {}
    for f in dataclasses.fields(cls):
        if f.name in data:
            full = f"{path}.{f.name}" if path else f.name
            kwargs[f.name] = _coerce(hints[f.name], data[f.name], full)
    try:
        return cls(**kwargs)
    except TypeError as exc:
        raise ConfigError(f"{path or 'config'}: {exc}", details={"key": path}) from exc


def _coerce(tp: Any, value: Any, key: str) -> Any:
    origin = typing.get_origin(tp)
    if dataclasses.is_dataclass(tp):
        return _build(tp, value, key)  # type: ignore[arg-type]
    if origin is Mapping:
        _, value_type = typing.get_args(tp)
        if not isinstance(value, dict):
            raise ConfigError(f"{key} must be a table", details={"key": key})
        return {name: _coerce(value_type, item, f"{key}.{name}") for name, item in value.items()}
    if origin is tuple:
        (item_type, _ellipsis) = typing.get_args(tp)
        if isinstance(value, str):
            value = [part.strip() for part in value.split(",") if part.strip()]
        if not isinstance(value, list):
            raise ConfigError(f"{key} must be a list", details={"key": key})
        return tuple(_coerce(item_type, item, f"{key}[]") for item in value)
    if origin in (types.UnionType, typing.Union):
        raise ConfigError(f"{key}: unsupported type", details={"key": key})
    if tp is bool:
        if isinstance(value, str) and value.lower() in ("1", "true", "yes", "0", "false", "no"):
            return value.lower() in ("1", "true", "yes")
        if isinstance(value, bool):
            return value
        raise ConfigError(f"{key} must be a boolean", details={"key": key})
    if tp is int:
        if isinstance(value, str):
            if is_canonical(value, max_digits=40, signed=True):
                return int(value)
        elif isinstance(value, int) and not isinstance(value, bool):
            return value
        raise ConfigError(f"{key} must be an integer", details={"key": key, "value": value})
    if tp is float:
        try:
            if isinstance(value, bool):
                raise ValueError
            return float(value)
        except (TypeError, ValueError):
            raise ConfigError(f"{key} must be a number", details={"key": key}) from None
    if tp is str:
        if isinstance(value, str):
            return value
        raise ConfigError(f"{key} must be a string", details={"key": key})
    raise ConfigError(f"{key}: unsupported type {tp!r}", details={"key": key})


def _check(settings: Settings) -> None:
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
