"""A start that cannot work says why in one line: the setting, the path and the reason."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration


def serve(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RELAYER_")}
    env.update({"RELAYER_CHAINS_ETHEREUM_FOLLOW": "false",
                "RELAYER_CHAINS_CARDANO_FOLLOW": "false"})
    return subprocess.run([sys.executable, "-m", "relayer", "serve", "--port", "0", *args],
                          capture_output=True, text=True, env=env, timeout=60, check=False)


@pytest.mark.parametrize("where", ["under_a_file", "read_only_fs"])
def test_an_unwritable_data_directory_is_one_line(tmp_path: Path, where: str) -> None:
    if where == "under_a_file":
        blocker = tmp_path / "a-file"
        blocker.write_text("")
        data_dir, reason = blocker / "data", "Not a directory"
    else:
        data_dir = Path("/proc/relayer-data")  # read-only for every user, root included
        reason = ""
    done = serve("--data-dir", str(data_dir))
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith(f"relayer: cannot start: data_dir {data_dir} ")
    assert reason in lines[0]
    assert "Traceback" not in done.stderr


def test_an_unwritable_store_directory_is_one_line(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    done = serve("--data-dir", str(tmp_path / "data"),
                 "--store-url", f"sqlite:///{blocker}/log.sqlite3")
    assert done.returncode == 2, done.stderr
    assert done.stderr.strip() == (f"relayer: cannot start: store.url {blocker} is not a"
                                   " writable directory: Not a directory")
