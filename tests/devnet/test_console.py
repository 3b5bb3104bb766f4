"""What ``make devnet`` prints: amounts as a person reads them, with symbols, exactly; and
the log lines of the process in ``devnet.log``, not among the devnet's own."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from devnet.cli import LOG_FILE, human_amount, moved_terms, submitted_terms
from devnet.maker import SwapSpec
from devnet.scenario_kit import TIMELOCKS
from relayer.auction.details import AuctionDetails
from relayer.config import load_settings
from relayer.networks.registry import ChainRegistry

TUSD_ID = "0x5FbDB2315678afecb367f032d93F642f64180aa3"


@pytest.mark.parametrize(("amount", "decimals", "signed", "text"), [
    (100_000_000, 6, False, "100"),
    (-100_000_000, 6, True, "-100"),
    (197_980_000, 6, True, "+197.98"),
    (-200_174_917, 6, True, "-200.174917"),
    (1, 6, False, "0.000001"),
    (0, 6, True, "0"),
    (1_234_567_000_000, 6, False, "1,234,567"),
    (10**18 + 1, 18, False, "1.000000000000000001"),
    (2**255, 18, False, f"{2**255 // 10**18:,}.{2**255 % 10**18:018d}".rstrip("0")),
    (42, 0, False, "42"),
])
def test_human_amounts_are_exact(amount: int, decimals: int, signed: bool, text: str) -> None:
    assert human_amount(amount, decimals, signed=signed) == text


def spec(direction: str) -> SwapSpec:
    eth_to_ada = direction == "eth-to-ada"
    return SwapSpec(
        src_chain="ethereum" if eth_to_ada else "cardano",
        dst_chain="cardano" if eth_to_ada else "ethereum",
        maker_asset=TUSD_ID if eth_to_ada else "lovelace",
        taker_asset="lovelace" if eth_to_ada else TUSD_ID,
        making_amount=100_000_000 if eth_to_ada else 200_000_000,
        taking_amount=190_000_000 if eth_to_ada else 95_000_000, receiver="r",
        auction=AuctionDetails(start_time=0, duration=60, initial_rate_bump=450_000),
        timelocks=TIMELOCKS, src_safety_deposit=1, dst_safety_deposit=1, deadline=600)


def test_the_demo_lines_name_symbols_not_addresses() -> None:
    chains = ChainRegistry.from_settings(load_settings().chains)
    assert submitted_terms(chains, spec("eth-to-ada")) == (
        "100 TUSD on ethereum for at least 190 ADA on cardano")
    assert moved_terms(chains, spec("eth-to-ada"), -100_000_000, 197_980_000) == (
        "maker -100 TUSD on ethereum; receiver +197.98 ADA on cardano")
    assert submitted_terms(chains, spec("ada-to-eth")) == (
        "200 ADA on cardano for at least 95 TUSD on ethereum")
    assert moved_terms(chains, spec("ada-to-eth"), -200_174_917, 98_990_000) == (
        "maker -200.174917 ADA on cardano (200 ADA locked before the order was submitted, "
        "and that transaction's fee of 0.174917 ADA); receiver +98.99 TUSD on ethereum")


def test_the_console_holds_the_devnets_lines_and_the_file_the_logs(tmp_path: Path) -> None:
    """``python -m devnet``'s entry point in a child process, its demo replaced by one that
    logs and speaks: what the devnet says is on stderr, alone; what the parties and the
    libraries logged is in devnet.log."""
    script = (
        "import logging, structlog, sys\n"
        "from devnet import cli\n"
        "async def fail(options):\n"
        "    structlog.get_logger('devnet').info('a_party_line', amount=5)\n"
        "    logging.getLogger('some.library').warning('a library line')\n"
        "    cli._say('what the devnet says')\n"
        "    return 1\n"
        "cli._demo = fail\n"
        f"sys.exit(cli.run(config=None, port=None, scenario=None, as_json=False, "
        f"list_only=False, directory={str(tmp_path)!r}))\n")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 1, done.stderr
    assert done.stderr == "devnet: what the devnet says\n"
    logged = (tmp_path / LOG_FILE).read_text()
    assert '"event": "a_party_line"' in logged and "a library line" in logged
