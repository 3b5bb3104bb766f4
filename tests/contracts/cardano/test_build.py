"""The committed Plutus scripts are what the pinned OpShin makes of the sources."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]


def test_artifacts_match_a_fresh_build() -> None:
    proc = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "build_cardano_contracts.py"), "--check"],
        capture_output=True, text=True, check=False, cwd=ROOT,
    )
    assert proc.returncode == 0, proc.stderr + proc.stdout
