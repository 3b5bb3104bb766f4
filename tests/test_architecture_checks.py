"""Each check of ``scripts/check_architecture.py`` fails on a violation of its rule."""

from __future__ import annotations

from pathlib import Path

import grimp

from tests.test_architecture_doc import load_script

checks = load_script("check_architecture")


def graph(*imports: tuple[str, str]) -> grimp.ImportGraph:
    built = grimp.ImportGraph()
    for importer, imported in imports:
        built.add_import(importer=importer, imported=imported, line_number=1,
                         line_contents=f"import {imported}")
    return built


def test_strongly_connected_finds_each_cycle_once() -> None:
    edges = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a", "e"}, "e": {"d"}, "f": {"f"}}
    assert checks.strongly_connected(edges) == [["a", "b", "c"], ["d", "e"]]
    assert checks.strongly_connected({"a": {"b"}, "b": set()}) == []


def test_a_package_cycle_fails_and_names_its_imports() -> None:
    kept = checks.package_cycles(graph(("relayer.api.app", "relayer.orders.desk"),
                                       ("relayer.orders.desk", "relayer.store.base")))
    assert kept.problems == ()
    broken = checks.package_cycles(graph(("relayer.api.app", "relayer.orders.desk"),
                                         ("relayer.orders.book", "relayer.api.views")))
    assert broken.problems[0] == "cycle: relayer.api, relayer.orders"
    assert "relayer.orders.book:1 imports relayer.api.views" in "\n".join(broken.problems)


def test_a_file_cycle_fails_even_through_a_typing_only_import() -> None:
    every = graph(("devnet.a", "devnet.b"), ("devnet.b", "devnet.a"), ("devnet.b", "devnet.c"))
    runtime = graph(("devnet.a", "devnet.b"), ("devnet.b", "devnet.c"))
    outcome = checks.file_cycles(every, runtime)
    assert outcome.problems[0] == "cycle: devnet.a, devnet.b"
    assert "  devnet.b:1 imports devnet.a (typing only)" in outcome.problems
    assert checks.file_cycles(runtime, runtime).problems == ()


def test_a_module_over_the_limit_fails(tmp_path: Path) -> None:
    (tmp_path / "relayer").mkdir()
    (tmp_path / "relayer" / "short.py").write_text("x = 1\n" * 500)
    assert checks.module_sizes(tmp_path).problems == ()
    (tmp_path / "relayer" / "long.py").write_text("x = 1\n" * 501)
    assert checks.module_sizes(tmp_path).problems == ("relayer/long.py: 501 lines",)


def test_a_long_or_missing_create_app_fails(tmp_path: Path) -> None:
    module = tmp_path / "relayer" / "api" / "app.py"
    module.parent.mkdir(parents=True)
    body = "\n".join(f"    x{i} = {i}" for i in range(78))
    module.write_text(f"import functools\n\n\n@functools.cache\ndef create_app():\n{body}\n")
    assert checks.function_span(module.read_text(), "create_app") == 80
    assert checks.app_factory_size(tmp_path).problems == ()
    module.write_text(f"def create_app():\n{body}\n    x = 1\n    return x\n")
    assert checks.app_factory_size(tmp_path).problems == (
        "relayer/api/app.py: create_app is 81 lines",)
    module.write_text("def make_app():\n    pass\n")
    assert checks.app_factory_size(tmp_path).problems != ()


def test_a_plutus_tool_among_the_runtime_dependencies_fails(tmp_path: Path) -> None:
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text('[project]\ndependencies = ["starlette==1.10.0"]\n'
                         '[project.optional-dependencies]\ndevnet = ["uplc==1.3.3"]\n')
    assert checks.runtime_dependencies(pyproject).problems == ()
    pyproject.write_text('[project]\ndependencies = ["starlette==1.10.0", "OpShin>=0.28"]\n')
    assert checks.runtime_dependencies(pyproject).problems == (
        "[project] dependencies name opshin: move it to an extra",)
