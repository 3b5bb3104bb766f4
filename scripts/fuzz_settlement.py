"""Fuzz settlement: the adversarial state machine, many runs, a fresh random seed.

    python scripts/fuzz_settlement.py [--runs 10000] [--steps 8] [--seed N] [--survey]

The machine is ``tests/settlement/machine.py`` (docs/settlement.md,
"Adversarial model"). Prints runs, steps, releases, the share of runs that reached
a release, the seed and the wall time, and exits 1 on the first invariant
violation, after hypothesis has printed the shrunk steps (``--seed N`` runs the
same cases again). ``--survey`` counts violations by kind instead of stopping.
"""

from __future__ import annotations

import argparse
import random
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.settlement import machine as model  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument("--steps", type=int, default=model.STEPS)
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--survey", action="store_true",
                        help="count violations by kind instead of stopping at the first")
    args = parser.parse_args()
    seed = args.seed if args.seed is not None else random.SystemRandom().randrange(1 << 32)
    print(f"fuzzing settlement: runs={args.runs} steps<={args.steps} seed={seed}", flush=True)
    failed = False
    try:
        stats = model.run(runs=args.runs, derandomize=False, seed=seed, steps=args.steps,
                          strict=not args.survey)
    except Exception:
        failed = True
        stats = model.STATS
        raise
    finally:
        print(f"{stats.line()} seed={seed}")
        for kind, count in stats.kinds.most_common():
            print(f"  {kind}: {count} runs, e.g. {stats.examples[kind]}")
        if failed or stats.violating_runs:
            print(f"FAILED: reproduce with {Path(__file__).name} --seed {seed}"
                  f" --runs {args.runs} --steps {args.steps}")
    return 1 if stats.violating_runs else 0


if __name__ == "__main__":
    sys.exit(main())
