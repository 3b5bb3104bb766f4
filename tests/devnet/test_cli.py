"""``python -m devnet`` (``relayer-devnet``) as a newcomer meets it: help for every flag,
the listing of the scenarios, and the exit status of a scenario that cannot run here."""

from __future__ import annotations

import argparse
import subprocess
import sys

import pytest

from devnet.cli import CANNOT_RUN_HERE, build_parser, main
from devnet.scenarios import NEEDS, SCENARIOS


def test_every_flag_says_what_it_does() -> None:
    parser = build_parser()
    assert parser.description and "docs/devnet.md" in parser.description
    flags = set()
    for action in parser._actions:
        if isinstance(action, argparse._HelpAction):
            continue
        flags.add(action.option_strings[0])
        assert action.help and action.help.strip(), f"{action.option_strings} has no help"
    assert flags == {"--config", "--port", "--scenario", "--json", "--list-scenarios", "--dir",
                     "--anvil-port", "--ogmios-port", "--store-url", "--replicas"}


def test_the_listing_says_what_a_scenario_needs(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--list-scenarios"]) == 0
    listed = dict(line.split("\t", 1) for line in capsys.readouterr().out.splitlines())
    assert list(listed) == list(SCENARIOS)
    assert listed["leader-failover"].startswith(
        "(needs --store-url postgresql://... --replicas 2) ")
    assert all("needs" not in listed[name][:10] for name in SCENARIOS if name not in NEEDS)


@pytest.mark.parametrize("flags", [
    [], ["--replicas", "2"], ["--store-url", "postgresql://u@127.0.0.1/db"],
    ["--store-url", "sqlite:///x.sqlite3", "--replicas", "2"]])
def test_a_scenario_that_cannot_run_here_exits_3_at_once(
        flags: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    """Before any chain starts: no devnet comes up, and the status is not a failed check's."""
    assert main(["--scenario", "leader-failover", *flags]) == CANNOT_RUN_HERE == 3
    assert ("scenario leader-failover cannot run here: it needs --store-url "
            "postgresql://... --replicas 2") in capsys.readouterr().err


def test_an_unknown_scenario_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--scenario", "no-such-thing"]) == 2
    assert "relayer-devnet: unknown scenario 'no-such-thing'" in capsys.readouterr().err


def test_python_m_devnet_runs_the_command() -> None:
    done = subprocess.run([sys.executable, "-m", "devnet", "--list-scenarios"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert [line.split("\t")[0] for line in done.stdout.splitlines()] == list(SCENARIOS)
