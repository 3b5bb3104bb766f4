"""Check that no Python module is over 500 lines: one concept per module, split past 500.

    python scripts/check_module_sizes.py

Looks at every ``.py`` file under ``relayer/``, ``devnet/``, ``resolver/`` and ``tests/``
(those that exist), lists each one over the limit with its line count, and exits 1 if
there is any; else it exits 0.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("relayer", "devnet", "resolver", "tests")
MAX_LINES = 500


def line_count(path: Path) -> int:
    with path.open("rb") as f:
        return sum(1 for _ in f)


def oversized(root: Path, packages: tuple[str, ...] = PACKAGES,
              limit: int = MAX_LINES) -> list[tuple[Path, int]]:
    """Every module under ``packages`` longer than ``limit`` lines, with its length."""
    found = []
    for package in packages:
        directory = root / package
        if not directory.is_dir():
            continue
        for path in sorted(directory.rglob("*.py")):
            lines = line_count(path)
            if lines > limit:
                found.append((path.relative_to(root), lines))
    return found


def main() -> int:
    found = oversized(ROOT)
    for path, lines in found:
        print(f"{path}: {lines} lines (limit {MAX_LINES})")
    if found:
        print(f"{len(found)} module(s) over {MAX_LINES} lines: split them by concept",
              file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
