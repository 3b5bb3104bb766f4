"""A local Ethereum chain for development and tests: anvil with the escrow contracts deployed.

``EthereumDevnet`` starts the npm-pinned anvil on a loopback port, deploys from anvil's
account 0 the test token (nonce 0) and the escrow factory (nonce 1), so both land on the
addresses the relayer's configuration expects, and funds a maker and a resolver with ETH and
TUSD. Use it as a context manager (sync or async)::

    with EthereumDevnet() as devnet:
        devnet.deployment.rpc_url, devnet.deployment.factory, devnet.deployment.maker.address

``python -m devnet.ethereum --port 8545`` runs one until SIGINT / SIGTERM and prints
the deployment as one JSON line.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import IO, Any

import httpx

from relayer.signing.keccak import keccak256
from relayer.signing.secp256k1 import private_key_address

REPO_ROOT = Path(__file__).resolve().parents[1]
ANVIL_PATHS = (
    Path("node_modules/@foundry-rs/anvil-linux-amd64/bin/anvil"),
    Path("node_modules/.bin/anvil"),
)
ARTIFACTS_DIR = Path("contracts-abi/evm")

# The keys of anvil's ten accounts from its default mnemonic ("test test ... junk"), public
# development keys that never hold real funds. Accounts 0, 1 and 2 deploy, make and resolve.
ANVIL_KEYS = tuple(bytes.fromhex(k) for k in (
    "ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80",
    "59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d",
    "5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a",
    "7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6",
    "47e179ec197488593b187f80a00eb0da91f1b9d0b13f8733639f19c30a34926a",
    "8b3a350cf5c34c9194ca85829a2df0ec3153be0318b5e2d3348e872092edffba",
    "92db14e403b83dfe3df233f83dfa3a0d7096f21ca9b0d6d6b8d88b2b4ec1564e",
    "4bbbf85ce3377467afe5d46f804f221813b2bb87f24d81f60f1fcdbf7cbf4356",
    "dbda1821b80551c9d65939329250298aa3472ba22feea921c0cf5d620ea67b97",
    "2a871d0798f97d79848a013d4936a73bf4cc922c825d33c1cf7073dff6d409c6",
))
DEPLOYER_KEY, MAKER_KEY, RESOLVER_KEY = ANVIL_KEYS[:3]

TOKEN_ADDRESS = "0x5FbDB2315678afecb367f032d93F642f64180aa3"
FACTORY_ADDRESS = "0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512"

ETHER = 10**18
TUSD = 10**6
RESCUE_DELAY = 8 * 24 * 3600


class DevnetError(RuntimeError):
    """The local chain could not be started or set up."""


@dataclass(frozen=True, slots=True)
class DevAccount:
    address: str
    """EIP-55 checksummed."""
    private_key: bytes

    @classmethod
    def from_key(cls, private_key: bytes) -> DevAccount:
        return cls(to_checksum(private_key_address(private_key)), private_key)

    def to_json(self) -> dict[str, str]:
        return {"address": self.address, "private_key": "0x" + self.private_key.hex()}


@dataclass(frozen=True, slots=True)
class EthereumDeployment:
    rpc_url: str
    chain_id: int
    token: str
    factory: str
    escrow_src_implementation: str
    escrow_dst_implementation: str
    deployer: DevAccount
    maker: DevAccount
    resolver: DevAccount
    accounts: tuple[DevAccount, ...] = ()
    """Every anvil dev account in anvil's order, with its key (10000 ETH each at start;
    only ``maker`` and ``resolver`` are given TUSD)."""

    def to_json(self) -> dict[str, Any]:
        return {
            "rpc_url": self.rpc_url,
            "chain_id": self.chain_id,
            "token": self.token,
            "factory": self.factory,
            "escrow_src_implementation": self.escrow_src_implementation,
            "escrow_dst_implementation": self.escrow_dst_implementation,
            "deployer": self.deployer.to_json(),
            "maker": self.maker.to_json(),
            "resolver": self.resolver.to_json(),
            "accounts": [account.to_json() for account in self.accounts],
        }


class EthereumDevnet:
    """One anvil process with the contracts deployed; start it once, stop it once."""

    def __init__(
        self,
        *,
        port: int | None = None,
        host: str = "127.0.0.1",
        chain_id: int = 31337,
        block_time: int | None = None,
        root: Path = REPO_ROOT,
        anvil_path: Path | None = None,
        startup_timeout: float = 15.0,
        stop_timeout: float = 5.0,
        maker_key: bytes = MAKER_KEY,
        resolver_key: bytes = RESOLVER_KEY,
        funding_eth: int = 10_000 * ETHER,
        funding_tusd: int = 1_000_000 * TUSD,
        rescue_delay: int = RESCUE_DELAY,
    ) -> None:
        self._port = port
        self._host = host
        self._chain_id = chain_id
        self._block_time = block_time
        self._root = root
        self._anvil_path = anvil_path
        self._startup_timeout = startup_timeout
        self._stop_timeout = stop_timeout
        self._maker = DevAccount.from_key(maker_key)
        self._resolver = DevAccount.from_key(resolver_key)
        self._deployer = DevAccount.from_key(DEPLOYER_KEY)
        self._funding_eth = funding_eth
        self._funding_tusd = funding_tusd
        self._rescue_delay = rescue_delay
        self._process: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None
        self._client: httpx.Client | None = None
        self._deployment: EthereumDeployment | None = None
        self._request_id = 0

    @property
    def deployment(self) -> EthereumDeployment:
        if self._deployment is None:
            raise DevnetError("the devnet is not running")
        return self._deployment

    @property
    def rpc_url(self) -> str:
        return self.deployment.rpc_url

    @property
    def chain_id(self) -> int:
        return self.deployment.chain_id

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    def is_running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    # -------------------------------------------------------------- lifecycle

    def start(self) -> EthereumDeployment:
        if self._process is not None:
            raise DevnetError("the devnet is already started")
        try:
            rpc_url = self._launch()
            self._deployment = self._deploy(rpc_url)
        except BaseException:
            self.stop()
            raise
        return self._deployment

    def stop(self) -> None:
        """Terminate anvil, wait for it, kill it if it does not exit in time."""
        process, self._process = self._process, None
        self._deployment = None
        if self._client is not None:
            self._client.close()
            self._client = None
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=self._stop_timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=self._stop_timeout)
        if self._log is not None:
            self._log.close()
            self._log = None

    def __enter__(self) -> EthereumDevnet:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    async def __aenter__(self) -> EthereumDevnet:
        await asyncio.to_thread(self.start)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await asyncio.to_thread(self.stop)

    # -------------------------------------------------------------- JSON-RPC

    def request(self, method: str, *params: Any) -> Any:
        """One JSON-RPC call; raises ``DevnetError`` on an error answer."""
        if self._client is None:
            raise DevnetError("the devnet is not running")
        return self._call(self._client, method, list(params))

    def _call(self, client: httpx.Client, method: str, params: list[Any]) -> Any:
        self._request_id += 1
        body = {"jsonrpc": "2.0", "id": self._request_id, "method": method, "params": params}
        answer = client.post("", json=body).json()
        if "error" in answer:
            raise DevnetError(f"{method} failed: {answer['error']}")
        return answer["result"]

    # -------------------------------------------------------------- startup

    def _find_anvil(self) -> Path:
        candidates = [self._anvil_path] if self._anvil_path else list(ANVIL_PATHS)
        for candidate in candidates:
            path = candidate if candidate.is_absolute() else self._root / candidate
            if path.is_file():
                return path
        raise DevnetError(
            f"anvil not found (looked for {', '.join(map(str, candidates))}): run `npm ci`"
        )

    def _launch(self) -> str:
        anvil = self._find_anvil()
        # A port picked by the OS may be taken again before anvil binds it: retry a few times.
        attempts = 1 if self._port is not None else 3
        for attempt in range(attempts):
            port = self._port if self._port is not None else free_port(self._host)
            args = [
                str(anvil), "--host", self._host, "--port", str(port),
                "--chain-id", str(self._chain_id),
            ]
            if self._block_time is not None:
                args += ["--block-time", str(self._block_time)]
            self._log = tempfile.TemporaryFile()
            self._process = subprocess.Popen(
                args, stdin=subprocess.DEVNULL, stdout=self._log, stderr=subprocess.STDOUT
            )
            rpc_url = f"http://{self._host}:{port}"
            self._client = httpx.Client(base_url=rpc_url, timeout=5.0)
            try:
                self._wait_ready(port)
            except DevnetError:
                if attempt + 1 == attempts:
                    raise
                self.stop()
                continue
            return rpc_url
        raise AssertionError("unreachable")

    def _wait_ready(self, port: int) -> None:
        """Poll until our anvil reports listening and answers eth_chainId, it exits, or the
        deadline passes. The log line matters: another process may hold the port, and its
        answers must not be taken for ours."""
        assert self._process is not None and self._client is not None
        deadline = time.monotonic() + self._startup_timeout
        listening = f"Listening on {self._host}:{port}"
        while True:
            if self._process.poll() is not None:
                raise DevnetError(
                    f"anvil exited with {self._process.returncode}: {self._output()[-2000:]}"
                )
            try:
                if listening not in self._output():
                    raise httpx.ConnectError("anvil is not listening yet")
                chain_id = int(self._call(self._client, "eth_chainId", []), 16)
            except httpx.TransportError:
                if time.monotonic() >= deadline:
                    raise DevnetError(
                        f"anvil did not answer within {self._startup_timeout} s: "
                        f"{self._output()[-2000:]}"
                    ) from None
                time.sleep(0.02)
                continue
            if chain_id != self._chain_id:
                raise DevnetError(f"anvil reports chain id {chain_id}, not {self._chain_id}")
            return

    def _output(self) -> str:
        if self._log is None:
            return ""
        self._log.seek(0)
        return self._log.read().decode(errors="replace")

    # -------------------------------------------------------------- deployment

    def _deploy(self, rpc_url: str) -> EthereumDeployment:
        deployer = self._deployer.address
        if int(self.request("eth_getTransactionCount", deployer, "latest"), 16) != 0:
            raise DevnetError("the deployer has sent transactions already: not a fresh anvil")
        token = self._deploy_contract("TestToken", b"")
        factory = self._deploy_contract(
            "EscrowFactory", word(self._rescue_delay) + word(self._rescue_delay)
        )
        for account in (self._maker, self._resolver):
            self.request("anvil_setBalance", account.address, hex(self._funding_eth))
            self._transact(token, selector("mint(address,uint256)")
                           + word(int(account.address, 16)) + word(self._funding_tusd))
        return EthereumDeployment(
            rpc_url=rpc_url,
            chain_id=self._chain_id,
            token=token,
            factory=factory,
            escrow_src_implementation=self._read_address(factory, "ESCROW_SRC_IMPLEMENTATION()"),
            escrow_dst_implementation=self._read_address(factory, "ESCROW_DST_IMPLEMENTATION()"),
            deployer=self._deployer,
            maker=self._maker,
            resolver=self._resolver,
            accounts=self._accounts(),
        )

    def _accounts(self) -> tuple[DevAccount, ...]:
        """anvil's accounts (``eth_accounts``) with their keys, checked against them."""
        listed = [str(a).lower() for a in self.request("eth_accounts")]
        accounts = tuple(DevAccount.from_key(key) for key in ANVIL_KEYS)
        if [a.address.lower() for a in accounts] != listed:
            raise DevnetError(f"anvil's accounts {listed} are not those of its default mnemonic")
        return accounts

    def _deploy_contract(self, name: str, constructor_args: bytes) -> str:
        artifact = load_artifact(name, self._root)
        code = bytes.fromhex(str(artifact["bytecode"]).removeprefix("0x")) + constructor_args
        receipt = self._transact(None, code)
        address = receipt.get("contractAddress")
        if not address:
            raise DevnetError(f"deploying {name} gave no contract address")
        return to_checksum(bytes.fromhex(str(address)[2:]))

    def _transact(self, to: str | None, data: bytes) -> dict[str, Any]:
        """Send from the (unlocked) deployer, mined at once by automine; the receipt."""
        tx: dict[str, Any] = {"from": self._deployer.address, "data": "0x" + data.hex()}
        if to is not None:
            tx["to"] = to
        tx_hash = self.request("eth_sendTransaction", tx)
        # Automine answers at once; with --block-time the receipt comes with the next block.
        deadline = time.monotonic() + self._startup_timeout
        while (receipt := self.request("eth_getTransactionReceipt", tx_hash)) is None:
            if time.monotonic() >= deadline:
                raise DevnetError(f"devnet setup transaction {tx_hash} was not mined in time")
            time.sleep(0.05)
        if int(receipt["status"], 16) != 1:
            raise DevnetError(f"devnet setup transaction failed: {receipt}")
        result: dict[str, Any] = receipt
        return result

    def _read_address(self, contract: str, signature: str) -> str:
        call = {"to": contract, "data": "0x" + selector(signature).hex()}
        result = self.request("eth_call", call, "latest")
        return to_checksum(bytes.fromhex(str(result)[2:])[12:32])


# ------------------------------------------------------------------ helpers


def load_artifact(name: str, root: Path = REPO_ROOT) -> dict[str, Any]:
    """The committed build output (abi, bytecode, deployedBytecode) of contract ``name``."""
    path = root / ARTIFACTS_DIR / f"{name}.json"
    try:
        artifact: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise DevnetError(f"{path} not found: run scripts/build_evm_contracts.py") from exc
    return artifact


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


def selector(signature: str) -> bytes:
    return keccak256(signature.encode())[:4]


def word(value: int) -> bytes:
    return value.to_bytes(32, "big")


def to_checksum(address: bytes) -> str:
    """EIP-55 checksummed hex of a 20-byte address."""
    plain = address.hex()
    digest = keccak256(plain.encode()).hex()[: len(plain)]
    return "0x" + "".join(
        c.upper() if int(h, 16) >= 8 else c for c, h in zip(plain, digest, strict=True)
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m devnet.ethereum",
        description="Run anvil with the escrow contracts deployed until SIGINT or SIGTERM.",
    )
    parser.add_argument("--port", type=int, default=8545)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--chain-id", type=int, default=31337)
    parser.add_argument("--block-time", type=int, default=None,
                        help="seconds per block (default: mine each transaction at once)")
    args = parser.parse_args(argv)

    stop = threading.Event()

    def request_stop(signum: int, frame: object) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, request_stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    devnet = EthereumDevnet(
        port=args.port, host=args.host, chain_id=args.chain_id, block_time=args.block_time
    )
    try:
        try:
            deployment = devnet.start()
        except DevnetError as exc:
            print(f"devnet failed: {exc}", file=sys.stderr)
            return 1
        print(json.dumps(deployment.to_json()), flush=True)
        while not stop.wait(timeout=1.0):
            if not devnet.is_running():
                print("anvil exited", file=sys.stderr)
                return 1
        return 0
    finally:
        devnet.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)


if __name__ == "__main__":
    sys.exit(main())
