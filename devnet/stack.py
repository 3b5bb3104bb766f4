"""The whole local system: both devnet chains, the relayer, and who acts on them.

``Devnet`` starts anvil (one block a second) and the Cardano simulator (one
slot and block a second) as child processes, funds the devnet's parties,
writes the relayer's config and each reference resolver's config and keys
under ``.devnet/``, and runs ``relayer serve`` as a child process too, so a
scenario can kill -9 it and start it again. The chains start from genesis
every time, so the relayer's event log starts empty as well.

Parties (public test keys: never use them with real funds):

- Ethereum: the deployment's maker; resolvers ``alpha`` (the deployment's
  resolver) and ``beta`` (anvil account 4), each with TUSD for destination
  escrows; the deployer mints.
- Cardano: genesis account 0 holds the reference scripts; 1 is the maker;
  2 and 3 are ``alpha`` and ``beta``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import structlog
from pycardano import Address, Network, PaymentSigningKey, PaymentVerificationKey

from devnet import toml_out
from devnet.process import RelayerProcess, free_port
from relayer.chains.cardano.scripts import load_validators
from relayer.config import Settings, load_settings
from relayer.networks.registry import ChainRegistry
from relayer.security.keys import generate_key, parse_scopes
from resolver.cardano import CardanoWallet
from resolver.cardano_tx import ScriptRefs
from resolver.ethereum import EthereumWallet

log = structlog.get_logger(__name__)

DEVNET_DIR = Path(".devnet")
ANVIL_PORT = 8545
OGMIOS_PORT = 1337
RELAYER_PORT = 8080
READY_TIMEOUT = 60.0
RESOLVERS = ("alpha", "beta")
ETH_ACCOUNT = {"alpha": None, "beta": 4}
"""Which anvil account each resolver uses (None: the deployment's resolver)."""
CARDANO_ACCOUNT = {"maker": 1, "alpha": 2, "beta": 3}
TUSD_FLOAT = 10**15
"""TUSD (6 decimals) minted to the maker and to each resolver."""
ADA_PER_TUSD = "2"
"""What the reference resolvers value TUSD at: 1 TUSD = 2 ADA (as the default config's
USD prices say); both have 6 decimals, so base units trade at the same ratio."""
RESOLVER_COSTS = {"fixed": 0, "min_profit_bps": 100}
"""The reference resolvers' costs and margin: they pay at most 99% of what they value."""
QUOTE_PRESETS = {
    name: {"auction_duration": duration, "start_delay": 12, "initial_rate_bump": bump,
           "min_return_bps": 9_800, "order_lifetime": 1_800}
    for name, duration, bump in (("fast", 30, 150_000), ("medium", 60, 250_000),
                                 ("slow", 120, 400_000))
}
"""The relayer's quote presets on the devnet (``GET /api/quote``, the README's walkthrough):
minutes shorter than production's, and ending at 98% of the market price, so the reference
resolvers' 1% margin meets the price mid-auction (production's end at 99-99.5%: a
resolver asking 1% would never fill them)."""


@dataclass(frozen=True, slots=True)
class DevnetOptions:
    directory: Path = DEVNET_DIR
    relayer_port: int = RELAYER_PORT
    anvil_port: int = ANVIL_PORT
    ogmios_port: int = OGMIOS_PORT
    config_file: str | None = None
    """A relayer config to start from; the devnet overrides chains, ports and data."""
    safety_margin_seconds: int = 10
    confirmations: int = 2
    parts_per_fill: int = 0
    """The reference resolvers' fill size for orders of several parts (0: all)."""
    store_url: str | None = None
    """A ``postgresql://`` URL: the relayer's store (default: SQLite in the devnet dir)."""
    replicas: int = 1
    """Relayer processes on that store (several need PostgreSQL); the first started
    leads, and every client of the devnet talks to the last (a follower)."""


@dataclass
class Devnet:
    options: DevnetOptions = field(default_factory=DevnetOptions)
    children: list[subprocess.Popen[str]] = field(default_factory=list)
    deployment: dict[str, Any] = field(default_factory=dict)
    cardano_keys: list[dict[str, Any]] = field(default_factory=list)
    relayers: list[RelayerProcess] = field(default_factory=list)
    ports: list[int] = field(default_factory=list)
    """Each replica's port: ``relayer_port`` for the first, free ports for the rest."""

    def __post_init__(self) -> None:
        self.ports = [self.options.relayer_port,
                      *(free_port() for _ in range(self.options.replicas - 1))]
    references: ScriptRefs | None = None

    # ------------------------------------------------------------------ paths and parties

    @property
    def dir(self) -> Path:
        return self.options.directory

    @property
    def relayer_url(self) -> str:
        """Where clients go: the last replica (a follower when there are several)."""
        return f"http://127.0.0.1:{self.ports[-1]}"

    @property
    def relayer(self) -> RelayerProcess | None:
        return self.relayers[-1] if self.relayers else None

    @property
    def rpc_url(self) -> str:
        return f"http://127.0.0.1:{self.options.anvil_port}"

    @property
    def ogmios_url(self) -> str:
        return f"ws://127.0.0.1:{self.options.ogmios_port}"

    def eth_key(self, party: str) -> bytes:
        if party in ("maker", "deployer"):
            account = self.deployment[party]
        elif ETH_ACCOUNT.get(party) is None:
            account = self.deployment["resolver"]
        else:
            account = self.deployment["accounts"][ETH_ACCOUNT[party]]
        return bytes.fromhex(str(account["private_key"]).removeprefix("0x"))

    def cardano_key(self, party: str) -> PaymentSigningKey:
        index = 0 if party == "deployer" else CARDANO_ACCOUNT[party]
        key: PaymentSigningKey = PaymentSigningKey.from_cbor(
            self.cardano_keys[index]["signing_key"])
        return key

    def cardano_address(self, party: str) -> str:
        verification = PaymentVerificationKey.from_signing_key(self.cardano_key(party))
        return str(Address(verification.hash(), network=Network.TESTNET))

    def relayer_settings(self) -> Settings:
        return load_settings(self.dir / "relayer.toml")

    def chains(self) -> ChainRegistry:
        return ChainRegistry.from_settings(self.relayer_settings().chains)

    def ethereum_wallet(self, party: str) -> EthereumWallet:
        return EthereumWallet(rpc_url=self.rpc_url, private_key=self.eth_key(party),
                              factory=str(self.deployment["factory"]),
                              chain_id=int(self.deployment["chain_id"]), chains=self.chains())

    def cardano_wallet(self, party: str) -> CardanoWallet:
        return CardanoWallet(ogmios_url=self.ogmios_url, signing_key=self.cardano_key(party),
                             validators=load_validators(), chains=self.chains(),
                             references=self.references)

    # ------------------------------------------------------------------ life cycle

    async def start(self) -> None:
        self.dir.mkdir(exist_ok=True)
        (self.dir / "keys").mkdir(mode=0o700, exist_ok=True)
        self._start_chains()
        await self._fund()
        self._write_api_keys()
        self._write_relayer_config()
        for name in RESOLVERS:
            self._write_resolver_config(name)
        await self.start_relayer()

    async def start_relayer(self, replica: int | None = None) -> None:
        """Start every replica (in order: the first leads), or just ``replica`` again."""
        if not self.relayers:
            data = Path(self.relayer_settings().data_dir)
            for index in range(self.options.replicas):
                name = "relayer" if index == 0 else f"relayer-{index}"
                self.relayers.append(RelayerProcess(
                    data if index == 0 else data.with_name(data.name + f"-{index}"),
                    port=self.ports[index],
                    config=self.dir / "relayer.toml", follow=True,
                    log_file=self.dir / f"{name}.log"))
        for index, process in enumerate(self.relayers):
            if replica is None or index == replica:
                await process.start(timeout=READY_TIMEOUT)

    def kill_relayer(self, replica: int = -1) -> None:
        """kill -9 of one replica (default: the one clients use)."""
        self.relayers[replica].kill9()

    def stop(self) -> None:
        for process in self.relayers:
            process.stop()
        for child in self.children:
            child.terminate()
        for child in self.children:
            try:
                child.wait(timeout=10)
            except subprocess.TimeoutExpired:
                child.kill()
        self.children.clear()

    def _start_chains(self) -> None:
        with open(self.dir / "anvil.log", "a") as anvil_log:
            anvil = subprocess.Popen(
                [sys.executable, "-m", "devnet.ethereum",
                 "--port", str(self.options.anvil_port), "--block-time", "1"],
                stdout=subprocess.PIPE, stderr=anvil_log, text=True)
        self.children.append(anvil)
        keys = self.dir / "cardano-keys.json"
        with open(self.dir / "cardano.log", "a") as cardano_log:
            cardano = subprocess.Popen(
                [sys.executable, "-m", "devnet.cardano",
                 "--port", str(self.options.ogmios_port), "--keys-file", str(keys),
                 "--accounts", str(len(CARDANO_ACCOUNT) + 1)],
                stdout=subprocess.PIPE, stderr=cardano_log, text=True)
        self.children.append(cardano)
        self.deployment = json.loads(_ready_line(anvil, "anvil", "{"))
        (self.dir / "ethereum.json").write_text(json.dumps(self.deployment, indent=2))
        _ready_line(cardano, "cardano simulator", "keys:")
        self.cardano_keys = json.loads(keys.read_text())

    async def _fund(self) -> None:
        """TUSD for the maker and the resolvers; the Cardano reference scripts."""
        # The relayer config is not written yet: wallets use the default chains, which
        # the devnet's deployment matches (the token and factory addresses are fixed).
        deployer = EthereumWallet(rpc_url=self.rpc_url, private_key=self.eth_key("deployer"),
                                  factory=str(self.deployment["factory"]),
                                  chain_id=int(self.deployment["chain_id"]))
        try:
            for party in ("maker", *RESOLVERS):
                address = EthereumWallet(
                    rpc_url=self.rpc_url, private_key=self.eth_key(party),
                    factory=str(self.deployment["factory"]),
                    chain_id=int(self.deployment["chain_id"])).address
                await deployer.mint(str(self.deployment["token"]), address, TUSD_FLOAT)
        finally:
            await deployer.close()
        from relayer.config import ChainsSettings

        owner = CardanoWallet(ogmios_url=self.ogmios_url,
                              signing_key=self.cardano_key("deployer"),
                              validators=load_validators(),
                              chains=ChainRegistry.from_settings(ChainsSettings()))
        try:
            self.references = await owner.deploy_reference_scripts()
        finally:
            await owner.close()

    def api_key(self, party: str) -> str:
        """The API key of ``party`` (a resolver, or ``watcher``: read and secrets)."""
        return (self.dir / "keys" / f"{party}.api").read_text().strip()

    def _write_api_keys(self) -> None:
        """An API key per resolver and one for watchers (benchmarks, tests), each with the
        read and secrets scopes; the relayer stores only their digests."""
        lines = []
        for party in (*RESOLVERS, "watcher"):
            new = generate_key(parse_scopes("read,secrets"), note=f"devnet {party}")
            path = self.dir / "keys" / f"{party}.api"
            path.write_text(new.api_key + "\n")
            os.chmod(path, 0o600)
            lines.append(new.stored.to_line())
        keys_file = self.dir / "api-keys"
        keys_file.write_text("\n".join(lines) + "\n")
        os.chmod(keys_file, 0o600)

    def _write_relayer_config(self) -> None:
        base = {}
        if self.options.config_file:
            import tomllib

            base = tomllib.loads(Path(self.options.config_file).read_text())
        settings: dict[str, Any] = {
            **base,
            "data_dir": str(self.dir / "relayer"),
            "server": {**base.get("server", {}), "port": self.options.relayer_port},
            # Successful reads (the resolvers' and the maker's polling, health checks) at
            # debug: the log is for following the swaps.
            "log": {"format": "json", "level": "info", "access": "changes"},
            "quote": {"presets": QUOTE_PRESETS, **base.get("quote", {})},
            "security": {**base.get("security", {}),
                         "api_keys_file": str(self.dir / "api-keys"),
                         # Every party of the devnet calls from 127.0.0.1: the per-IP
                         # limit is for strangers, not for the maker and its wallets.
                         "rate_limit": {"per_ip_rate": 1000.0, "per_ip_burst": 2000}},
            "chains": {
                "ethereum": {**base.get("chains", {}).get("ethereum", {}),
                             "rpc_urls": [self.rpc_url], "follow": True,
                             "confirmations": self.options.confirmations,
                             "poll_seconds": 0.25},
                "cardano": {**base.get("chains", {}).get("cardano", {}),
                            "ogmios_url": self.ogmios_url, "follow": True,
                            "confirmations": self.options.confirmations},
            },
            "settlement": {
                **base.get("settlement", {}),
                # One custody key file for every replica: each opens what another sealed.
                "custody_keys_file": str(self._custody_keys()),
                "safety_margin_seconds": self.options.safety_margin_seconds,
                "resolvers": {name: {"ethereum": self.eth_address(name),
                                     "cardano": self.cardano_address(name)}
                              for name in RESOLVERS},
            },
        }
        if self.options.store_url:
            settings["store"] = {**base.get("store", {}), "url": self.options.store_url,
                                 "leader_takeover_seconds": 2.0}
        (self.dir / "relayer.toml").write_text(toml_out.dumps(settings))

    def _custody_keys(self) -> Path:
        from nacl.public import PrivateKey

        path = self.dir / "keys" / "custody-keys"
        if not path.exists():
            path.write_text(bytes(PrivateKey.generate()).hex() + "\n")
            os.chmod(path, 0o600)
        return path

    def eth_address(self, party: str) -> str:
        from devnet.ethereum import DevAccount

        return DevAccount.from_key(self.eth_key(party)).address

    def _write_resolver_config(self, name: str) -> Path:
        keys = self.dir / "keys"
        eth_key, ada_key = keys / f"{name}.eth", keys / f"{name}.skey"
        for path, text in ((eth_key, "0x" + self.eth_key(name).hex()),
                           (ada_key, self.cardano_key(name).to_cbor_hex())):
            path.write_text(text)
            os.chmod(path, 0o600)
        assert self.references is not None
        config = {
            "name": name,
            "relayer_url": self.relayer_url,
            "api_key_file": f"keys/{name}.api",
            "parts_per_fill": self.options.parts_per_fill,
            "poll_seconds": 0.25,
            "chains_config": "relayer.toml",
            "ethereum": {"rpc_url": self.rpc_url, "factory": str(self.deployment["factory"]),
                         "chain_id": int(self.deployment["chain_id"]),
                         "private_key_file": f"keys/{name}.eth"},
            "cardano": {"ogmios_url": self.ogmios_url, "signing_key_file": f"keys/{name}.skey",
                        "reference_scripts": {
                            "escrow": _ref(self.references.escrow),
                            "order": _ref(self.references.order)}},
            "costs": RESOLVER_COSTS,
        }
        token = str(self.deployment["token"])
        rates = (
            {"src_chain": "ethereum", "maker_asset": token, "dst_chain": "cardano",
             "taker_asset": "lovelace", "value": ADA_PER_TUSD},
            {"src_chain": "cardano", "maker_asset": "lovelace", "dst_chain": "ethereum",
             "taker_asset": token, "value": f"1/{ADA_PER_TUSD}"},
        )
        text = toml_out.dumps(config)
        text += "".join("\n[[rates]]\n" + "".join(f"{k} = {json.dumps(v)}\n"
                                                   for k, v in rate.items())
                        for rate in rates)
        path = self.dir / f"resolver-{name}.toml"
        path.write_text(text)
        return path


def _ref(ref: Any) -> str:
    return f"{ref.tx_id}#{ref.index}"


def _ready_line(process: subprocess.Popen[str], name: str, prefix: str) -> str:
    """The first stdout line of ``process`` starting with ``prefix`` (its readiness report)."""
    assert process.stdout is not None
    deadline = time.monotonic() + READY_TIMEOUT
    stream: IO[str] = process.stdout
    while time.monotonic() < deadline:
        line = stream.readline()
        if not line:
            raise RuntimeError(f"{name} exited before it was ready (see {DEVNET_DIR}/*.log)")
        if line.startswith(prefix):
            return line.strip()
    raise RuntimeError(f"{name} was not ready within {READY_TIMEOUT:.0f}s")


def forget_earlier_run(directory: Path) -> None:
    """Delete the event log of an earlier devnet run: its chains are gone."""
    import shutil

    shutil.rmtree(directory / "relayer", ignore_errors=True)
    for name in ("relayer.log", "anvil.log", "cardano.log", "resolver-alpha.log"):
        (directory / name).unlink(missing_ok=True)
