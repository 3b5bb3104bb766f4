"""``relayer resolver --config FILE``: run the reference resolver until SIGINT/SIGTERM."""

from __future__ import annotations

import asyncio
import signal

import structlog
from pycardano import Network, PaymentSigningKey

from relayer.chains.cardano.scripts import load_validators
from relayer.chains.registry import ChainRegistry
from relayer.orders.model import UtxoRef
from relayer.resolver.cardano import CardanoWallet
from relayer.resolver.cardano_tx import ScriptRefs
from relayer.resolver.chains import ChainWallet
from relayer.resolver.client import RelayerClient
from relayer.resolver.engine import Resolver
from relayer.resolver.ethereum import EthereumWallet
from relayer.resolver.pricing import Pricer
from relayer.resolver.settings import ResolverSettings

log = structlog.get_logger(__name__)


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
