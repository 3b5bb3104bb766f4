"""``relayer devnet``: the whole local system in one command.

Today it runs the relayer on SQLite under ``.devnet/``, with the local-chain
defaults. The devnet chains (anvil, the Cardano ledger simulator) and the
reference resolver join here as their issues land.
"""

from __future__ import annotations

import sys
from pathlib import Path

from relayer.config import Settings, load_settings

DEVNET_DIR = Path(".devnet")


def devnet_settings(config_file: str | None, *, port: int | None) -> Settings:
    return load_settings(config_file, overrides={
        "data_dir": str(DEVNET_DIR / "relayer"),
        "server.port": port,
    })


def run(settings: Settings) -> int:
    from relayer.cli import serve_forever

    url = f"http://{settings.server.host}:{settings.server.port}"
    print(f"devnet: relayer on {url} (data in {settings.data_dir}); Ctrl-C stops",
          file=sys.stderr)
    return serve_forever(settings)
