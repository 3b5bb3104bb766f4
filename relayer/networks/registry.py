"""Known chains and assets, and the parsing of their addresses (docs/protocol.md)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from fractions import Fraction

from pycardano import Network

from relayer.config import AssetSettings, ChainsSettings
from relayer.errors import ValidationError
from relayer.networks import bech32
from relayer.signing.keccak import keccak256

_EVM_ADDRESS = re.compile(r"^0x[0-9a-fA-F]{40}$")
_CARDANO_ASSET = re.compile(r"^([0-9a-f]{56})\.([0-9a-f]{0,64})$")


class ChainKind(StrEnum):
    EVM = "evm"
    CARDANO = "cardano"


@dataclass(frozen=True, slots=True)
class Asset:
    chain: str
    symbol: str
    id: str
    """Canonical text form: checksummed address, ``lovelace`` or ``policy.name``."""
    raw: bytes
    decimals: int
    usd_price: Fraction


@dataclass(frozen=True, slots=True)
class ParsedAddress:
    text: str
    """Canonical text form (EIP-55 checksummed address or bech32)."""
    raw: bytes
    payment_key_hash: bytes | None = None
    """Cardano only: the payment credential when it is a key hash."""


@dataclass(frozen=True, slots=True)
class Chain:
    name: str
    kind: ChainKind
    chain_id: int
    assets: Mapping[str, Asset]
    safety_deposit: int
    finality_seconds: int
    cardano_network: Network | None = None

    def parse_address(self, text: str, *, field: str) -> ParsedAddress:
        if self.kind is ChainKind.EVM:
            return ParsedAddress(text=checksum_address(text, field=field),
                                 raw=bytes.fromhex(text[2:]))
        return _parse_cardano_address(text, self.cardano_network, field=field)

    def asset(self, text: str, *, field: str) -> Asset:
        key = self._asset_key(text, field=field)
        found = self.assets.get(key)
        if found is None:
            for asset in self.assets.values():
                if asset.symbol == text:
                    return asset
            raise ValidationError(
                f"{field}: unknown asset {text!r} on {self.name}",
                code="UNKNOWN_ASSET",
                details={"field": field, "chain": self.name},
            )
        return found

    def _asset_key(self, text: str, *, field: str) -> str:
        if self.kind is ChainKind.EVM:
            if _EVM_ADDRESS.match(text):
                return checksum_address(text, field=field)
            return text
        return text.lower() if _CARDANO_ASSET.match(text.lower()) else text


class ChainRegistry:
    """The configured chains, by name and by chain id."""

    def __init__(self, chains: Mapping[str, Chain]) -> None:
        self._by_name = dict(chains)
        self._by_id = {chain.chain_id: chain for chain in chains.values()}

    @classmethod
    def from_settings(cls, settings: ChainsSettings) -> ChainRegistry:
        eth, ada = settings.ethereum, settings.cardano
        network = Network.MAINNET if ada.network == "mainnet" else Network.TESTNET
        ethereum = Chain(
            name="ethereum", kind=ChainKind.EVM, chain_id=eth.chain_id,
            assets=_assets("ethereum", ChainKind.EVM, eth.assets, None),
            safety_deposit=eth.safety_deposit, finality_seconds=eth.finality_seconds,
        )
        cardano = Chain(
            name="cardano", kind=ChainKind.CARDANO, chain_id=ada.chain_id,
            assets=_assets("cardano", ChainKind.CARDANO, ada.assets, network),
            safety_deposit=ada.safety_deposit, finality_seconds=ada.finality_seconds,
            cardano_network=network,
        )
        return cls({"ethereum": ethereum, "cardano": cardano})

    def get(self, name: str, *, field: str) -> Chain:
        chain = self._by_name.get(name)
        if chain is None:
            raise ValidationError(
                f"{field}: unknown chain {name!r}",
                code="UNKNOWN_CHAIN",
                details={"field": field, "known": sorted(self._by_name)},
            )
        return chain

    def by_id(self, chain_id: int) -> Chain | None:
        return self._by_id.get(chain_id)

    def names(self) -> list[str]:
        return sorted(self._by_name)


def _assets(
    chain: str, kind: ChainKind, table: Mapping[str, AssetSettings], network: Network | None
) -> dict[str, Asset]:
    assets = {}
    for symbol, entry in table.items():
        field = f"chains.{chain}.assets.{symbol}.id"
        if kind is ChainKind.EVM:
            text = checksum_address(entry.id, field=field)
            raw = bytes.fromhex(text[2:])
        elif entry.id == "lovelace":
            text, raw = "lovelace", b""
        else:
            match = _CARDANO_ASSET.match(entry.id.lower())
            if match is None:
                raise ValidationError(f"{field}: not lovelace or <policy>.<name>",
                                      code="CONFIG_ERROR")
            text = entry.id.lower()
            raw = bytes.fromhex(match.group(1) + match.group(2))
        assets[text] = Asset(chain=chain, symbol=symbol, id=text, raw=raw,
                             decimals=entry.decimals, usd_price=Fraction(entry.usd_price))
    return assets


def checksum_address(text: str, *, field: str) -> str:
    """EIP-55 form of ``text``; a mixed-case input must already carry a valid checksum."""
    if not _EVM_ADDRESS.match(text):
        raise ValidationError(
            f"{field}: not an Ethereum address (0x and 40 hex digits)",
            code="INVALID_ADDRESS",
            details={"field": field},
        )
    body = text[2:]
    lower = body.lower()
    digest = keccak256(lower.encode()).hex()
    checksummed = "".join(
        ch.upper() if ch.isalpha() and int(digest[i], 16) >= 8 else ch
        for i, ch in enumerate(lower)
    )
    if body != lower and body != body.upper() and body != checksummed:
        raise ValidationError(
            f"{field}: bad EIP-55 checksum",
            code="INVALID_ADDRESS",
            details={"field": field},
        )
    return "0x" + checksummed


def _parse_cardano_address(text: str, network: Network | None, *, field: str) -> ParsedAddress:
    """A Shelley payment address (base, pointer or enterprise) in bech32.

    Header byte: the high nibble is the address type (0-3 base, 4-5 pointer,
    6-7 enterprise; even types have a key-hash payment part), the low nibble the
    network id (0 testnet, 1 mainnet).
    """
    def bad(reason: str) -> ValidationError:
        return ValidationError(f"{field}: not a Cardano payment address ({reason})",
                               code="INVALID_ADDRESS", details={"field": field})

    try:
        hrp, raw = bech32.decode(text)
    except bech32.Bech32Error as exc:
        raise bad(str(exc)) from None
    if not raw:
        raise bad("empty")
    kind, network_id = raw[0] >> 4, raw[0] & 0x0F
    if kind > 7:
        raise bad("not a payment address type")
    expected_length = {0: 57, 1: 57, 2: 57, 3: 57, 6: 29, 7: 29}.get(kind)
    if (expected_length is not None and len(raw) != expected_length) or len(raw) < 29:
        raise bad("wrong length")
    if network_id > 1 or hrp != ("addr" if network_id == 1 else "addr_test"):
        raise bad("prefix does not match the network")
    if network is not None and network_id != network.value:
        raise ValidationError(
            f"{field}: address is for {'mainnet' if network_id else 'testnet'},"
            f" the relayer runs on {network.name.lower()}",
            code="INVALID_ADDRESS",
            details={"field": field},
        )
    key_hash = raw[1:29] if kind % 2 == 0 else None
    return ParsedAddress(text=text.lower(), raw=raw, payment_key_hash=key_hash)
