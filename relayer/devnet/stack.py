"""``relayer devnet``: the whole local system in one command.

Starts the devnet chains as child processes (anvil with the escrow contracts
deployed, and the Cardano ledger simulator speaking Ogmios), waits until each
reports itself ready, then runs the relayer on SQLite under ``.devnet/``
pointed at them, with the Ethereum monitor following anvil. The chains start
from genesis every time, so the relayer's event log starts empty too (a log
that followed an earlier anvil would refuse the new chain). Ctrl-C stops
everything. The reference resolver joins here with the settlement issue.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import IO

from relayer.config import Settings, load_settings

DEVNET_DIR = Path(".devnet")
ANVIL_PORT = 8545
OGMIOS_PORT = 1337
READY_TIMEOUT = 60.0


def devnet_settings(config_file: str | None, *, port: int | None) -> Settings:
    return load_settings(config_file, overrides={
        "data_dir": str(DEVNET_DIR / "relayer"),
        "server.port": port,
        "chains.ethereum.rpc_urls": [f"http://127.0.0.1:{ANVIL_PORT}"],
        "chains.ethereum.follow": True,
        "chains.cardano.ogmios_url": f"ws://127.0.0.1:{OGMIOS_PORT}",
        "chains.cardano.follow": True,
    })


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


def _forget_earlier_chains(settings: Settings) -> None:
    """Delete the SQLite event log of an earlier devnet run: its chains are gone."""
    if settings.store_url.startswith("sqlite:///"):
        path = Path(settings.store_url.removeprefix("sqlite:///"))
        for stale in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
            stale.unlink(missing_ok=True)


def run(settings: Settings) -> int:
    from relayer.cli import serve_forever

    DEVNET_DIR.mkdir(exist_ok=True)
    _forget_earlier_chains(settings)
    children: list[subprocess.Popen[str]] = []
    try:
        with open(DEVNET_DIR / "anvil.log", "a") as anvil_log:
            anvil = subprocess.Popen(
                [sys.executable, "-m", "relayer.devnet.ethereum", "--port", str(ANVIL_PORT)],
                stdout=subprocess.PIPE, stderr=anvil_log, text=True)
        children.append(anvil)
        keys = DEVNET_DIR / "cardano-keys.json"
        with open(DEVNET_DIR / "cardano.log", "a") as cardano_log:
            cardano = subprocess.Popen(
                [sys.executable, "-m", "relayer.devnet.cardano", "--port", str(OGMIOS_PORT),
                 "--keys-file", str(keys)],
                stdout=subprocess.PIPE, stderr=cardano_log, text=True)
        children.append(cardano)
        deployment = json.loads(_ready_line(anvil, "anvil", "{"))
        (DEVNET_DIR / "ethereum.json").write_text(json.dumps(deployment, indent=2))
        ogmios = _ready_line(cardano, "cardano simulator", "ogmios:")
        url = f"http://{settings.server.host}:{settings.server.port}"
        print(f"devnet: ethereum {deployment['rpc_url']} (deployment in "
              f"{DEVNET_DIR / 'ethereum.json'})\n"
              f"devnet: cardano {ogmios.removeprefix('ogmios: ')} (funded keys in {keys})\n"
              f"devnet: relayer on {url} (data in {settings.data_dir}); Ctrl-C stops",
              file=sys.stderr, flush=True)
        return serve_forever(settings)
    except RuntimeError as exc:
        print(f"devnet: {exc}", file=sys.stderr)
        return 1
    finally:
        for child in children:
            child.terminate()
        for child in children:
            try:
                child.wait(timeout=10)
            except subprocess.TimeoutExpired:
                child.kill()
