"""The reference resolver's configuration: one TOML file, keys in files of their own.

    name = "alpha"
    relayer_url = "http://127.0.0.1:8080"
    parts_per_fill = 1            # 0: take all that remains of an order
    [ethereum]
    rpc_url = "http://127.0.0.1:8545"
    factory = "0x..."
    chain_id = 31337
    private_key_file = "keys/alpha.eth"      # 0x hex, mode 0600
    [cardano]
    ogmios_url = "ws://127.0.0.1:1337"
    signing_key_file = "keys/alpha.skey"     # pycardano CBOR hex
    [[rates]]                                # taker units given per maker unit
    src_chain = "ethereum"
    maker_asset = "0x5FbDB2315678afecb367f032d93F642f64180aa3"
    dst_chain = "cardano"
    taker_asset = "lovelace"
    value = "1"
    [costs]
    fixed = 0
    min_profit_bps = 0

Relative key paths are read from the config file's directory.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

from relayer.errors import ConfigError
from resolver.engine import ResolverTiming
from resolver.pricing import Costs, Rate


@dataclass(frozen=True, slots=True)
class EthereumWalletSettings:
    rpc_url: str
    factory: str
    chain_id: int
    private_key: bytes


@dataclass(frozen=True, slots=True)
class CardanoWalletSettings:
    ogmios_url: str
    signing_key_cbor_hex: str
    network: str = "testnet"
    reference_scripts: dict[str, str] | None = None
    """``{"escrow": "<tx id>#<index>", "order": ...}``: outputs holding the validators as
    reference scripts (else each transaction carries the script it runs)."""


@dataclass(frozen=True, slots=True)
class ResolverSettings:
    name: str
    relayer_url: str
    api_key: str
    """A key with the ``read`` and ``secrets`` scopes: the relayer hands released secrets
    to nobody else, and a resolver that cannot read them loses every swap it fills."""
    timing: ResolverTiming
    parts_per_fill: int
    max_swaps: int
    rates: tuple[Rate, ...]
    costs: Costs
    ethereum: EthereumWalletSettings | None
    cardano: CardanoWalletSettings | None
    chains_config: str | None
    """A relayer config file whose ``[chains]`` name the assets (default: the built-in
    defaults, which match the devnet)."""


def load_resolver_settings(path: str | Path) -> ResolverSettings:
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text())
    except FileNotFoundError as exc:
        raise ConfigError(f"resolver config not found: {path}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"resolver config {path} is not valid TOML: {exc}") from exc
    reader = _Reader(data, path.parent)
    if not reader.text("api_key_file", ""):
        raise ConfigError(f"{path}: api_key_file is required: a key with the read and secrets"
                          " scopes (the relayer gives released secrets to no one else)")
    settings = ResolverSettings(
        name=reader.text("name", "resolver"),
        relayer_url=reader.text("relayer_url", "http://127.0.0.1:8080"),
        api_key=reader.secret_text("api_key_file"),
        timing=ResolverTiming(
            poll_seconds=reader.number("poll_seconds", 0.5),
            retry_seconds=reader.number("retry_seconds", 1.0),
            cancel_margin_seconds=reader.integer("cancel_margin_seconds", 30),
            fill_backoff_seconds=reader.number("fill_backoff_seconds", 5.0),
        ),
        parts_per_fill=reader.integer("parts_per_fill", 0),
        max_swaps=reader.integer("max_swaps", 20),
        rates=tuple(_rate(r, i) for i, r in enumerate(data.get("rates", []))),
        costs=Costs(fixed=int(data.get("costs", {}).get("fixed", 0)),
                    min_profit_bps=int(data.get("costs", {}).get("min_profit_bps", 0))),
        ethereum=_ethereum(reader.section("ethereum")),
        cardano=_cardano(reader.section("cardano")),
        chains_config=reader.path("chains_config"),
    )
    reader.refuse_unknown()
    return settings


def _rate(raw: Any, index: int) -> Rate:
    where = f"rates[{index}]"
    try:
        return Rate(src_chain=str(raw["src_chain"]), maker_asset=str(raw["maker_asset"]),
                    dst_chain=str(raw["dst_chain"]), taker_asset=str(raw["taker_asset"]),
                    value=Fraction(str(raw["value"])))
    except (KeyError, TypeError, ValueError, ZeroDivisionError) as exc:
        raise ConfigError(f"{where}: needs src_chain, maker_asset, dst_chain, taker_asset "
                          f"and value (an integer or fraction as text): {exc!r}") from exc


def _ethereum(reader: _Reader | None) -> EthereumWalletSettings | None:
    if reader is None:
        return None
    key = reader.secret_text("private_key_file")
    try:
        private_key = bytes.fromhex(key.removeprefix("0x"))
    except ValueError as exc:
        raise ConfigError("ethereum.private_key_file must hold a hex private key") from exc
    settings = EthereumWalletSettings(rpc_url=reader.text("rpc_url", "http://127.0.0.1:8545"),
                                      factory=reader.text("factory", ""),
                                      chain_id=reader.integer("chain_id", 31337),
                                      private_key=private_key)
    reader.refuse_unknown()
    return settings


def _cardano(reader: _Reader | None) -> CardanoWalletSettings | None:
    if reader is None:
        return None
    settings = CardanoWalletSettings(
        ogmios_url=reader.text("ogmios_url", "ws://127.0.0.1:1337"),
        signing_key_cbor_hex=reader.secret_text("signing_key_file"),
        network=reader.text("network", "testnet"),
        reference_scripts=reader.table_of_text("reference_scripts"))
    reader.refuse_unknown()
    return settings


class _Reader:
    """Reads keys off one table, remembering which it used so the rest can be refused."""

    _KNOWN_TABLES = ("rates", "costs", "ethereum", "cardano")

    def __init__(self, data: dict[str, Any], base: Path, prefix: str = "") -> None:
        self._data = data
        self._base = base
        self._prefix = prefix
        self._used: set[str] = set()

    def _get(self, key: str, default: Any) -> Any:
        self._used.add(key)
        return self._data.get(key, default)

    def text(self, key: str, default: str) -> str:
        return str(self._get(key, default))

    def integer(self, key: str, default: int) -> int:
        value = self._get(key, default)
        if not isinstance(value, int) or isinstance(value, bool):
            raise ConfigError(f"{self._prefix}{key} must be an integer")
        return value

    def number(self, key: str, default: float) -> float:
        value = self._get(key, default)
        if not isinstance(value, int | float) or isinstance(value, bool):
            raise ConfigError(f"{self._prefix}{key} must be a number")
        return float(value)

    def secret_text(self, key: str) -> str:
        name = self._get(key, "")
        if not name:
            return ""
        file = Path(str(name))
        file = file if file.is_absolute() else self._base / file
        try:
            return file.read_text().strip()
        except OSError as exc:
            raise ConfigError(f"{self._prefix}{key}: cannot read {file}: {exc}") from exc

    def path(self, key: str) -> str | None:
        name = self._get(key, "")
        if not name:
            return None
        file = Path(str(name))
        return str(file if file.is_absolute() else self._base / file)

    def table_of_text(self, key: str) -> dict[str, str] | None:
        value = self._get(key, None)
        if value is None:
            return None
        if not isinstance(value, dict):
            raise ConfigError(f"{self._prefix}{key} must be a table")
        return {str(k): str(v) for k, v in value.items()}

    def section(self, key: str) -> _Reader | None:
        value = self._get(key, None)
        if value is None:
            return None
        if not isinstance(value, dict):
            raise ConfigError(f"{self._prefix}{key} must be a table")
        return _Reader(value, self._base, f"{self._prefix}{key}.")

    def refuse_unknown(self) -> None:
        known = self._used | (set(self._KNOWN_TABLES) if not self._prefix else set())
        unknown = sorted(set(self._data) - known)
        if unknown:
            raise ConfigError(f"unknown resolver config key {self._prefix}{unknown[0]}")
