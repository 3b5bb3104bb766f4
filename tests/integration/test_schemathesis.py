"""schemathesis (pinned) against a real ``relayer serve`` child process: every check, every
phase, without and with an API key, a fixed seed and a bounded number of cases.

The document describes what the server enforces (``relayer/api/openapi.py``); what it
cannot say is in ``schemathesis.toml`` beside this file. The expectation is 0 server
errors and 0 failed checks; docs/security.md has the last report.
"""

from __future__ import annotations

import os
import subprocess
import sys
import xml.etree.ElementTree as ElementTree
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from devnet.process import RelayerProcess
from relayer.security.keys import generate_key
from relayer.security.principal import Scope

pytestmark = pytest.mark.integration

CONFIG = Path(__file__).with_name("schemathesis.toml")
SEED = 15
MAX_EXAMPLES = int(os.environ.get("SCHEMATHESIS_MAX_EXAMPLES", "50"))
"""Cases per operation and phase: about 2,800 cases and 30 s a run at 50."""


@dataclass
class Served:
    url: str
    admin_key: str


@pytest.fixture
async def served(tmp_path: Path) -> AsyncIterator[Served]:
    admin = generate_key(frozenset({Scope.ADMIN}), note="schemathesis")
    keys = tmp_path / "keys.jsonl"
    keys.write_text(admin.stored.to_line() + "\n")
    # Limits high enough that the cases reach the routes' own logic instead of 429s (the
    # limiter has its own tests); everything else is the default configuration.
    env = {"RELAYER_SECURITY_API_KEYS_FILE": str(keys),
           "RELAYER_SECURITY_RATE_LIMIT_PER_IP_RATE": "100000",
           "RELAYER_SECURITY_RATE_LIMIT_PER_IP_BURST": "100000",
           "RELAYER_SECURITY_RATE_LIMIT_PER_KEY_RATE": "100000",
           "RELAYER_SECURITY_RATE_LIMIT_PER_KEY_BURST": "100000"}
    relayer = RelayerProcess(tmp_path / "data", env=env)
    await relayer.start()
    try:
        yield Served(url=relayer.url, admin_key=admin.api_key)
    finally:
        relayer.stop()


def schemathesis(served: Served, report: Path, *headers: str) -> tuple[int, str]:
    command = [sys.executable, "-m", "schemathesis.cli", "--config-file", str(CONFIG), "run",
               f"{served.url}/openapi.json", "--checks", "all",
               "--phases", "examples,coverage,fuzzing,stateful",
               "--seed", str(SEED), "--max-examples", str(MAX_EXAMPLES), "--workers", "1",
               "--no-shrink", "--report", "junit", "--report-junit-path", str(report)]
    for header in headers:
        command += ["--header", header]
    env = {k: v for k, v in os.environ.items() if not k.startswith("RELAYER_")}
    # In the report's directory: schemathesis keeps a cache (.schemathesis/) where it runs.
    done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=600,
                          check=False, cwd=report.parent)
    return done.returncode, done.stdout + done.stderr


def cases(report: Path) -> tuple[int, int, int]:
    """Test cases (operations) run, failed and errored, from the JUnit report."""
    root = ElementTree.parse(report).getroot()
    suites = [root] if root.tag == "testsuite" else list(root)
    total = sum(int(s.get("tests", 0)) for s in suites)
    failed = sum(int(s.get("failures", 0)) for s in suites)
    errors = sum(int(s.get("errors", 0)) for s in suites)
    return total, failed, errors


@pytest.mark.timeout(900)
async def test_schemathesis_finds_nothing(served: Served, tmp_path: Path) -> None:
    for name, headers in (("anonymous", ()),
                          ("admin key", (f"Authorization: Bearer {served.admin_key}",))):
        report = tmp_path / f"{name.replace(' ', '-')}.xml"
        code, output = schemathesis(served, report, *headers)
        summary = "\n".join(output.splitlines()[-30:])
        assert code == 0, f"schemathesis ({name}) failed:\n{output[-20_000:]}"
        total, failed, errors = cases(report)
        assert total > 0 and failed == 0 and errors == 0, summary
        assert "generated" in output, summary
