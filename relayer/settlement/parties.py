"""Who is who across chains: comparing makers, receivers, tokens and resolvers.

Escrows name parties in chain-native text (an EIP-55 address on Ethereum; a
bech32 address or a 28-byte payment key hash on Cardano), orders in their own
canonical form. A resolver has one address per chain; which addresses belong
together is configured (``[[settlement.resolvers]]``), since nothing on chain
links them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from relayer.errors import ValidationError
from relayer.networks.registry import ChainKind, ChainRegistry

_KEY_HASH = re.compile(r"^(0x)?[0-9a-fA-F]{56}$")
_CACHE_LIMIT = 100_000


class RegistryParties:
    def __init__(self, chains: ChainRegistry,
                 resolvers: Mapping[str, Mapping[str, str]] | None = None) -> None:
        self._chains = chains
        self._canonicals: dict[tuple[str, str, bool], str] = {}
        """Parsed parties (bech32 decoding is the coordinator's hottest path)."""
        self._resolver_of: dict[tuple[str, str], str] = {}
        for name, addresses in (resolvers or {}).items():
            for chain, address in addresses.items():
                self._resolver_of[(chain, self._canonical(chain, address))] = name

    def same(self, chain: str, a: str, b: str) -> bool:
        return a == b or self._cached(chain, a) == self._cached(chain, b)

    def same_address(self, chain: str, a: str, b: str) -> bool:
        if a == b:
            return True
        kind = self._chains.get(chain, field="chain").kind
        if kind is ChainKind.EVM:
            return a.lower() == b.lower()
        return self._cached(chain, a, whole=True) == self._cached(chain, b, whole=True)

    def same_resolver(self, src_chain: str, src_taker: str,
                      dst_chain: str, dst_taker: str) -> bool:
        if src_chain == dst_chain:
            return self.same(src_chain, src_taker, dst_taker)
        src = self._resolver_of.get((src_chain, self._cached(src_chain, src_taker)))
        dst = self._resolver_of.get((dst_chain, self._cached(dst_chain, dst_taker)))
        return src is not None and src == dst

    def resolver(self, chain: str, address: str) -> str | None:
        """The configured resolver that owns ``address`` on ``chain``."""
        return self._resolver_of.get((chain, self._canonical(chain, address)))

    def _cached(self, chain: str, text: str, *, whole: bool = False) -> str:
        key = (chain, text, whole)
        found = self._canonicals.get(key)
        if found is None:
            if len(self._canonicals) >= _CACHE_LIMIT:
                self._canonicals.clear()
            found = (self._raw(chain, text) if whole else self._canonical(chain, text))
            self._canonicals[key] = found
        return found

    def _raw(self, chain_name: str, text: str) -> str:
        """The whole Cardano address as hex (payment and stake parts), or the text."""
        try:
            parsed = self._chains.get(chain_name, field="chain").parse_address(
                text, field="address")
        except ValidationError:
            return text.lower()
        return parsed.raw.hex()

    def _canonical(self, chain_name: str, text: str) -> str:
        """One text per party: lowercase hex for EVM; for Cardano the payment key
        hash when the address has one (a receiver's stake part does not decide who
        can spend), else the whole address."""
        chain = self._chains.get(chain_name, field="chain")
        if chain.kind is ChainKind.EVM:
            return text.lower()
        if text == "lovelace" or "." in text:
            return text.lower()
        if _KEY_HASH.match(text):
            return text.lower().removeprefix("0x")
        try:
            parsed = chain.parse_address(text, field="address")
        except ValidationError:
            return text.lower()
        if parsed.payment_key_hash is not None:
            return parsed.payment_key_hash.hex()
        return parsed.raw.hex()
