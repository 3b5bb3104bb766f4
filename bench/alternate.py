"""Old code against new in one run: a benchmark of this tree and the same benchmark of an
earlier commit, taking turns, on the same machine at the same time of day.

    .venv/bin/python -m bench.alternate --ref 4d08877 --bench intake --pairs 5

The earlier commit is checked out into a temporary git worktree; its benchmark runs there
(``python -m bench.<name>``), so its own ``relayer serve`` children run its own code. Each
pair runs both once, the order swapped every pair so neither always runs on a warmer
machine. Prints every run's figures and the medians of each side.
"""

from __future__ import annotations

import argparse
import re
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
_FIGURES = re.compile(r"median sustained (\d+) \S+ .*median p50 ([\d.]+) ms, median p99 "
                      r"([\d.]+) ms")


def run_once(tree: Path, bench: str, duration: float) -> tuple[float, float, float]:
    done = subprocess.run([sys.executable, "-m", f"bench.{bench}", "--rounds", "1",
                           "--duration", str(duration)], cwd=tree, capture_output=True,
                          text=True, check=True)
    found = _FIGURES.search(done.stdout)
    if found is None:
        raise SystemExit(f"no figures in the output of {tree}:\n{done.stdout}{done.stderr}")
    return float(found[1]), float(found[2]), float(found[3])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--ref", required=True, help="the earlier commit to compare with")
    parser.add_argument("--bench", required=True, choices=("intake", "polling"))
    parser.add_argument("--pairs", type=int, default=5)
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per run")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        old = Path(tmp) / "old"
        subprocess.run(["git", "worktree", "add", "--detach", str(old), args.ref], cwd=ROOT,
                       check=True, capture_output=True)
        try:
            (old / "node_modules").symlink_to(ROOT / "node_modules")
            sides: dict[str, list[tuple[float, float, float]]] = {"old": [], "new": []}
            for pair in range(args.pairs):
                order = [("old", old), ("new", ROOT)]
                if pair % 2:
                    order.reverse()
                for name, tree in order:
                    figures = run_once(tree, args.bench, args.duration)
                    sides[name].append(figures)
                    print(f"pair {pair + 1} {name}: {figures[0]:.0f}/s sustained, "
                          f"p50 {figures[1]:.1f} ms, p99 {figures[2]:.1f} ms", flush=True)
        finally:
            subprocess.run(["git", "worktree", "remove", "--force", str(old)], cwd=ROOT,
                           check=False, capture_output=True)
    for name, runs in sides.items():
        print(f"{args.bench} {name} ({args.ref if name == 'old' else 'this tree'}): median "
              f"{statistics.median(r[0] for r in runs):.0f}/s sustained, p50 "
              f"{statistics.median(r[1] for r in runs):.1f} ms, p99 "
              f"{statistics.median(r[2] for r in runs):.1f} ms over {len(runs)} runs")
    change = (statistics.median(r[0] for r in sides["new"])
              / statistics.median(r[0] for r in sides["old"]) - 1) * 100
    print(f"{args.bench}: new sustained throughput {change:+.1f} % against old")


if __name__ == "__main__":
    main()
