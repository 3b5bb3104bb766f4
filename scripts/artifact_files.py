"""Writing committed build outputs, or checking them against a fresh build.

Shared by ``build_evm_contracts.py`` and ``build_cardano_contracts.py``: each
builds its artifacts as file name -> text and hands them to ``write_or_check``.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def check(files: dict[str, str], output: Path) -> list[str]:
    """What differs between a fresh build and the committed artifacts."""
    problems = []
    for name, text in files.items():
        path = output / name
        if not path.is_file():
            problems.append(f"missing: {path.relative_to(ROOT)}")
        elif path.read_text(encoding="utf-8") != text:
            problems.append(f"differs: {path.relative_to(ROOT)}")
    for path in sorted(output.glob("*.json")):
        if path.name not in files:
            problems.append(f"stale: {path.relative_to(ROOT)}")
    return problems


def write_or_check(argv: list[str] | None, *, description: str,
                   build: Callable[[], dict[str, str]], output: Path,
                   error: type[Exception], script: str) -> int:
    """The command line of a build script: write the artifacts, or ``--check`` them."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--check", action="store_true", help="compare with the committed files")
    args = parser.parse_args(argv)
    try:
        files = build()
    except error as exc:
        print(exc, file=sys.stderr)
        return 2
    where = output.relative_to(ROOT)
    if args.check:
        problems = check(files, output)
        for problem in problems:
            print(problem, file=sys.stderr)
        if problems:
            print(f"run {script} and commit the result", file=sys.stderr)
            return 1
        print(f"{where} is up to date ({len(files)} artifacts)")
        return 0
    output.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (output / name).write_text(text, encoding="utf-8")
    for path in output.glob("*.json"):
        if path.name not in files:
            path.unlink()
    print(f"wrote {len(files)} artifacts to {where}")
    return 0
