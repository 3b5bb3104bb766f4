"""``python -m resolver --config FILE`` (``relayer-resolver``) as a newcomer meets it: help
for its flag, and a configuration error named before anything starts."""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

import pytest

from resolver.main import build_parser, main


def test_every_flag_says_what_it_does() -> None:
    parser = build_parser()
    assert parser.description and "docs/resolver.md" in parser.description
    actions = [a for a in parser._actions if not isinstance(a, argparse._HelpAction)]
    assert [a.option_strings for a in actions] == [["--config"]]
    assert actions[0].required and actions[0].help


def test_the_config_is_required(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main([])
    assert exited.value.code == 2
    assert "--config" in capsys.readouterr().err


def test_python_m_resolver_names_a_missing_config(tmp_path: Path) -> None:
    missing = tmp_path / "resolver.toml"
    done = subprocess.run([sys.executable, "-m", "resolver", "--config", str(missing)],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert done.stderr == (f"relayer-resolver: configuration error: resolver config not "
                           f"found: {missing}\n")
