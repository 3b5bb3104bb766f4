"""``python -m resolver --config FILE`` (``relayer-resolver``): run the reference resolver
until SIGINT/SIGTERM (docs/resolver.md)."""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
from collections.abc import Sequence

import structlog
from pycardano import Network, PaymentSigningKey

from relayer.chains.cardano.scripts import load_validators
from relayer.config import load_settings
from relayer.errors import ConfigError
from relayer.log_setup import configure_logging
from relayer.networks.registry import ChainRegistry
from relayer.orders.model import UtxoRef
from resolver.cardano import CardanoWallet
from resolver.cardano_tx import ScriptRefs
from resolver.chains import ChainWallet
from resolver.client import RelayerClient
from resolver.engine import Resolver
from resolver.ethereum import EthereumWallet
from resolver.pricing import Pricer
from resolver.settings import ResolverSettings, load_resolver_settings

PROG = "relayer-resolver"

log = structlog.get_logger(__name__)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG, description="Run the reference resolver: it watches the relayer's orders "
                               "and fills those its prices make profitable (docs/resolver.md).")
    parser.add_argument("--config", required=True, help="the resolver's TOML config")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = load_resolver_settings(args.config)
        chains = ChainRegistry.from_settings(load_settings(settings.chains_config).chains)
    except ConfigError as exc:
        print(f"{PROG}: configuration error: {exc.message}", file=sys.stderr)
        return 2
    configure_logging(format="json", level="info")
    asyncio.run(run(settings, chains))
    return 0


def open_wallets(settings: ResolverSettings, chains: ChainRegistry) -> dict[str, ChainWallet]:
    wallets: dict[str, ChainWallet] = {}
    if settings.ethereum is not None:
        eth = settings.ethereum
        wallets["ethereum"] = EthereumWallet(rpc_url=eth.rpc_url, private_key=eth.private_key,
                                             factory=eth.factory, chain_id=eth.chain_id,
                                             chains=chains)
    if settings.cardano is not None:
        ada = settings.cardano
        refs = None
        if ada.reference_scripts:
            refs = ScriptRefs(escrow=_utxo(ada.reference_scripts["escrow"]),
                              order=_utxo(ada.reference_scripts["order"]))
        wallets["cardano"] = CardanoWallet(
            ogmios_url=ada.ogmios_url,
            signing_key=PaymentSigningKey.from_cbor(ada.signing_key_cbor_hex),
            validators=load_validators(), chains=chains,
            network=Network.MAINNET if ada.network == "mainnet" else Network.TESTNET,
            references=refs)
    return wallets


def _utxo(text: str) -> UtxoRef:
    tx_id, _, index = text.partition("#")
    return UtxoRef(tx_id=tx_id, index=int(index))


async def run(settings: ResolverSettings, chains: ChainRegistry) -> None:
    client = RelayerClient(settings.relayer_url, api_key=settings.api_key)
    wallets = open_wallets(settings, chains)
    resolver = Resolver(name=settings.name, client=client, wallets=wallets,
                        pricer=Pricer(list(settings.rates), settings.costs,
                                      parts_per_fill=settings.parts_per_fill),
                        timing=settings.timing, max_swaps=settings.max_swaps)
    task = asyncio.create_task(resolver.run())
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, task.cancel)
    try:
        await task
    except asyncio.CancelledError:
        log.info("resolver_stopped", resolver=settings.name)
    finally:
        for wallet in wallets.values():
            await wallet.close()
        await client.close()
