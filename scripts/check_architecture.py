"""Check the house rules that import-linter's contracts (pyproject.toml) do not state.

    python scripts/check_architecture.py

- package cycles: none among relayer's packages (``relayer.api``, ``relayer.orders``, ...),
  imports made only for type checking aside;
- file cycles: none among the modules of ``relayer/``, ``devnet/`` and ``resolver/``,
  counting every import, those made only for type checking too;
- module sizes: no ``.py`` file under ``relayer/``, ``devnet/``, ``resolver/`` or ``tests/``
  over 500 lines (one concept per module, split past 500);
- ``create_app`` in ``relayer/api/app.py`` is at most 80 lines long;
- the server's runtime dependencies (``[project] dependencies``) name neither ``opshin``
  nor ``uplc``: the Plutus tools belong to the ``devnet`` extra.

Prints one line per check, the culprits under a failing one, and exits 1 if any failed.
``make lint`` runs it after ``lint-imports`` (docs/architecture.md).
"""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import grimp

ROOT = Path(__file__).resolve().parent.parent
SERVER = "relayer"
PACKAGES = ("relayer", "devnet", "resolver")
SIZED = (*PACKAGES, "tests")
MAX_MODULE_LINES = 500
APP_MODULE = Path("relayer/api/app.py")
APP_FACTORY = "create_app"
MAX_APP_FACTORY_LINES = 80
NOT_THE_SERVERS = ("opshin", "uplc")


@dataclass(frozen=True, slots=True)
class Outcome:
    summary: str
    problems: tuple[str, ...] = ()


def strongly_connected(edges: Mapping[str, Iterable[str]]) -> list[list[str]]:
    """The cycles of a directed graph: its strongly connected parts of two or more nodes,
    each sorted, in name order (Tarjan's algorithm, without recursion)."""
    nodes = sorted(set(edges) | {w for targets in edges.values() for w in targets})
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for start in nodes:
        if start in index:
            continue
        work = [(start, iter(sorted(edges.get(start, ()))))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, targets = work[-1]
            for target in targets:
                if target not in index:
                    index[target] = low[target] = len(index)
                    stack.append(target)
                    on_stack.add(target)
                    work.append((target, iter(sorted(edges.get(target, ())))))
                    break
                if target in on_stack:
                    low[node] = min(low[node], index[target])
            else:
                work.pop()
                if work:
                    parent = work[-1][0]
                    low[parent] = min(low[parent], low[node])
                if low[node] == index[node]:
                    part = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        part.append(member)
                        if member == node:
                            break
                    if len(part) > 1:
                        found.append(sorted(part))
    return sorted(found)


def package_of(module: str) -> str:
    """``relayer.orders.desk`` -> ``relayer.orders``; ``relayer.cli`` stays itself."""
    return ".".join(module.split(".")[:2])


def import_line(graph: grimp.ImportGraph, importer: str, imported: str) -> str:
    details = graph.get_import_details(importer=importer, imported=imported)
    where = f":{details[0]['line_number']}" if details else ""
    return f"{importer}{where} imports {imported}"


def package_cycles(graph: grimp.ImportGraph) -> Outcome:
    """Cycles among the packages directly under the server's package."""
    edges: dict[str, set[str]] = {}
    example: dict[tuple[str, str], tuple[str, str]] = {}
    for module in sorted(graph.modules):
        for imported in sorted(graph.find_modules_directly_imported_by(module)):
            a, b = package_of(module), package_of(imported)
            if a != b:
                edges.setdefault(a, set()).add(b)
                example.setdefault((a, b), (module, imported))
    packages = {package_of(m) for m in graph.modules}
    problems = []
    for part in strongly_connected(edges):
        problems.append("cycle: " + ", ".join(part))
        for a in part:
            for b in sorted(edges.get(a, set()) & set(part)):
                problems.append(f"  {a} -> {b}: {import_line(graph, *example[(a, b)])}")
    summary = (f"package cycles: {sum(p.startswith('cycle') for p in problems)} among "
               f"{len(packages)} packages of {SERVER} (typing-only imports aside)")
    return Outcome(summary, tuple(problems))


def file_cycles(graph: grimp.ImportGraph, runtime: grimp.ImportGraph) -> Outcome:
    """Cycles among modules in ``graph`` (every import); ``runtime`` (without the imports
    made only for type checking) tells which imports of a cycle are typing-only."""
    edges = {m: graph.find_modules_directly_imported_by(m) for m in graph.modules}
    problems = []
    parts = strongly_connected(edges)
    for part in parts:
        problems.append("cycle: " + ", ".join(part))
        for a in part:
            for b in sorted(edges[a] & set(part)):
                typing_only = not runtime.direct_import_exists(importer=a, imported=b)
                note = " (typing only)" if typing_only else ""
                problems.append(f"  {import_line(graph, a, b)}{note}")
    names = sorted({m.partition(".")[0] for m in graph.modules})
    summary = (f"file cycles: {len(parts)} among {len(graph.modules)} modules of "
               f"{', '.join(names)} (every import, typing-only ones too)")
    return Outcome(summary, tuple(problems))


def line_count(path: Path) -> int:
    with path.open("rb") as f:
        return sum(1 for _ in f)


def module_sizes(root: Path, packages: Iterable[str] = SIZED,
                 limit: int = MAX_MODULE_LINES) -> Outcome:
    """Every ``.py`` file under ``packages`` longer than ``limit`` lines."""
    problems = []
    checked = 0
    for package in packages:
        directory = root / package
        if not directory.is_dir():
            continue
        for path in sorted(directory.rglob("*.py")):
            checked += 1
            lines = line_count(path)
            if lines > limit:
                problems.append(f"{path.relative_to(root)}: {lines} lines")
    summary = f"module sizes: {len(problems)} of {checked} modules over {limit} lines"
    return Outcome(summary, tuple(problems))


def function_span(source: str, name: str) -> int | None:
    """Lines from the first decorator (or ``def``) to the end of the top-level function
    ``name``, or None if the module has no such function."""
    for node in ast.parse(source).body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name == name:
            first = min([node.lineno, *(d.lineno for d in node.decorator_list)])
            return (node.end_lineno or node.lineno) - first + 1
    return None


def app_factory_size(root: Path, module: Path = APP_MODULE, name: str = APP_FACTORY,
                     limit: int = MAX_APP_FACTORY_LINES) -> Outcome:
    path = root / module
    span = function_span(path.read_text(), name) if path.is_file() else None
    if span is None:
        return Outcome(f"{name}: not found", (f"{module} defines no function {name}",))
    problems = (f"{module}: {name} is {span} lines",) if span > limit else ()
    return Outcome(f"{name}: {span} lines (at most {limit})", problems)


def requirement_name(requirement: str) -> str:
    name = re.split(r"[\s\[<>=!~;@]", requirement.strip(), maxsplit=1)[0]
    return re.sub(r"[-_.]+", "-", name).lower()


def runtime_dependencies(pyproject: Path, banned: Iterable[str] = NOT_THE_SERVERS) -> Outcome:
    project = tomllib.loads(pyproject.read_text())["project"]
    names = [requirement_name(r) for r in project.get("dependencies", [])]
    problems = tuple(f"[project] dependencies name {name}: move it to an extra"
                     for name in names if name in set(banned))
    summary = (f"runtime dependencies: {len(names)}, "
               f"naming {' or '.join(banned)}: {len(problems)}")
    return Outcome(summary, problems)


def checks(root: Path) -> list[Callable[[], Outcome]]:
    if str(root) not in sys.path:
        sys.path.insert(0, str(root))
    present = [p for p in PACKAGES if (root / p / "__init__.py").is_file()]

    def packages() -> Outcome:
        return package_cycles(
            grimp.build_graph(SERVER, exclude_type_checking_imports=True, cache_dir=None))

    def files() -> Outcome:
        every = grimp.build_graph(*present, cache_dir=None)
        runtime = grimp.build_graph(*present, exclude_type_checking_imports=True,
                                    cache_dir=None)
        return file_cycles(every, runtime)

    return [
        packages,
        files,
        lambda: module_sizes(root),
        lambda: app_factory_size(root),
        lambda: runtime_dependencies(root / "pyproject.toml"),
    ]


def main() -> int:
    outcomes = [check() for check in checks(ROOT)]
    for outcome in outcomes:
        print(f"{'FAIL' if outcome.problems else 'ok':4}  {outcome.summary}")
        for problem in outcome.problems:
            print(f"        {problem}")
    failed = sum(bool(o.problems) for o in outcomes)
    print(f"architecture: {len(outcomes) - failed} of {len(outcomes)} checks hold")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
