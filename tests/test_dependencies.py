"""The server without the devnet's weight: building the app and importing every module
of ``relayer`` pulls in neither the devnet, the reference resolver, nor the Plutus
compiler and evaluator they need, and the server's install does not ask for those."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NOT_THE_SERVERS = {"devnet", "resolver", "opshin", "uplc"}
PLUTUS_TOOLS = {"opshin", "uplc"}

# In a fresh interpreter: which of NOT_THE_SERVERS are imported once the app is built,
# then after each module of relayer is imported (the first module to bring one in names
# the culprit).
PROBE = """
import importlib, json, pkgutil, sys

watched = set(sys.argv[2].split(","))
found = {}

def note(step):
    loaded = {name.partition(".")[0] for name in sys.modules} & watched
    for name in sorted(loaded - {n for names in found.values() for n in names}):
        found.setdefault(step, []).append(name)

import relayer
from relayer.api.app import create_app
from relayer.config import load_settings

create_app(load_settings(overrides={"data_dir": sys.argv[1],
                                    "chains.ethereum.follow": False,
                                    "chains.cardano.follow": False}))
note("create_app")
for module in pkgutil.walk_packages(relayer.__path__, "relayer."):
    if module.name.rpartition(".")[2] != "__main__":
        importlib.import_module(module.name)
        note(module.name)
print(json.dumps(found))
"""


def test_the_server_imports_no_devnet_resolver_or_plutus_tool(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-c", PROBE, str(tmp_path), ",".join(sorted(NOT_THE_SERVERS))],
        cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    pulled_in_by = json.loads(done.stdout.splitlines()[-1])
    assert pulled_in_by == {}, f"the server imports what is not its own: {pulled_in_by}"


def requirement_names(requirements: list[str]) -> set[str]:
    return {re.split(r"[\s\[<>=!~;]", r, maxsplit=1)[0].lower() for r in requirements}


def test_the_servers_install_leaves_the_plutus_tools_to_the_devnet_extra() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert not requirement_names(project["dependencies"]) & PLUTUS_TOOLS
    assert requirement_names(project["optional-dependencies"]["devnet"]) >= PLUTUS_TOOLS
