"""The devnet: anvil with TUSD and the factory at the relayer's default addresses."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from devnet.ethereum import TUSD, DevnetError, EthereumDevnet, free_port
from relayer.config import EthereumSettings
from relayer.signing.eip712 import order_digest
from relayer.signing.secp256k1 import private_key_address
from tests.contracts.evm.chain import Chain

ROOT = Path(__file__).resolve().parents[3]


def test_contracts_at_the_configured_default_addresses(chain: Chain) -> None:
    settings = EthereumSettings()
    deployment = chain.deployment
    assert deployment.factory == settings.escrow_factory
    assert deployment.token == settings.assets["TUSD"].id
    assert deployment.chain_id == settings.chain_id == chain.w3.eth.chain_id
    assert chain.w3.eth.get_code(deployment.factory)  # type: ignore[arg-type]
    assert chain.token.functions.symbol().call() == "TUSD"
    assert chain.token.functions.decimals().call() == 6
    assert chain.factory.functions.ESCROW_SRC_IMPLEMENTATION().call() == (
        deployment.escrow_src_implementation)


def test_accounts_are_anvils_and_funded(chain: Chain) -> None:
    deployment = chain.deployment
    accounts = chain.w3.eth.accounts
    assert [deployment.deployer.address, deployment.maker.address,
            deployment.resolver.address] == accounts[:3]
    for account in (deployment.maker, deployment.resolver):
        assert "0x" + private_key_address(account.private_key).hex() == account.address.lower()
        assert chain.balance(account.address, chain.token) == 1_000_000 * TUSD
        assert chain.balance(account.address) >= 9_999 * 10**18


def test_the_factory_hashes_orders_like_the_relayer(chain: Chain) -> None:
    for parts in (1, 3):
        signed = chain.make_order(parts=parts)
        on_chain = chain.factory.functions.hashOrder(signed.as_tuple()).call()
        assert on_chain == order_digest(signed.order, chain.domain) == signed.order_hash
    assert chain.factory.functions.domainSeparator().call() == chain.domain.separator()


def test_a_second_devnet_runs_beside_and_stops_cleanly(devnet: EthereumDevnet) -> None:
    with EthereumDevnet() as other:
        assert other.rpc_url != devnet.rpc_url
        assert other.deployment.factory == devnet.deployment.factory
        pid = other.pid
        port = int(other.rpc_url.rsplit(":", 1)[1])
    assert pid is not None and not other.is_running()
    with socket.socket() as sock:  # the port is free again
        sock.bind(("127.0.0.1", port))


def test_a_taken_port_is_reported_not_borrowed(devnet: EthereumDevnet) -> None:
    port = int(devnet.rpc_url.rsplit(":", 1)[1])
    other = EthereumDevnet(port=port)
    with pytest.raises(DevnetError, match="Address already in use"):
        other.start()
    assert not other.is_running()
    assert devnet.is_running()


def test_module_entry_prints_the_deployment_and_stops_on_sigterm() -> None:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "devnet.ethereum", "--port", str(port)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        deployment = json.loads(line)
        assert deployment["rpc_url"] == f"http://127.0.0.1:{port}"
        assert deployment["factory"] == EthereumSettings().escrow_factory
        assert deployment["maker"]["address"] == "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
        proc.stdout.close()  # type: ignore[union-attr]
        proc.stderr.close()  # type: ignore[union-attr]


async def test_async_context_manager() -> None:
    async with EthereumDevnet() as running:
        assert running.is_running()
        assert int(running.request("eth_chainId"), 16) == 31337
        assert running.deployment.token == EthereumSettings().assets["TUSD"].id
    assert not running.is_running()
