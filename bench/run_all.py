"""``make bench``: every benchmark, one after another, each printing its figures.

Copy the closing lines into docs/benchmarks.md with the date and the command.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCHMARKS = [
    ["-m", "bench.intake"],
    ["-m", "bench.polling"],
    ["bench/cardano_chainsync.py"],
    ["bench/cardano_monitor.py"],
    ["-m", "bench.eth_indexing"],
    ["-m", "bench.decayer"],
    ["-m", "bench.ws_fanout"],
    ["-m", "bench.settlement"],
]


def main() -> int:
    failed = 0
    for args in BENCHMARKS:
        print(f"== {' '.join(args)}", flush=True)
        failed += subprocess.call([sys.executable, *args], cwd=ROOT) != 0
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
