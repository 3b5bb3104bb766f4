"""docs/architecture.md keeps up with the code: its layer diagram is the one
``scripts/architecture_diagram.py`` draws from the import-linter contracts in
pyproject.toml, and every file or folder it names exists."""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "architecture.md"


def load_script(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, ROOT / "scripts" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def test_the_layer_diagram_is_the_one_drawn_from_the_contracts() -> None:
    diagram = load_script("architecture_diagram")
    documented = diagram.documented(DOC.read_text())
    assert documented is not None, "docs/architecture.md lost its layer diagram markers"
    assert documented == diagram.block(diagram.diagram()), (
        "docs/architecture.md's layer diagram differs from pyproject.toml's contracts: "
        "run python scripts/architecture_diagram.py --write")


def test_every_layer_of_the_contract_is_drawn() -> None:
    diagram = load_script("architecture_diagram")
    (layers,) = [c for c in diagram.contracts() if c["type"] == "layers"]
    drawn = diagram.diagram()
    for layer in layers["layers"]:
        for room in diagram.rooms(layer):
            assert re.search(rf"\|\s*{re.escape(room)}\s*\|", drawn), room


def test_every_path_the_document_names_exists() -> None:
    named = set(re.findall(r"`((?:relayer|devnet|resolver|scripts|tests|docs)/[\w./]*)`",
                           DOC.read_text()))
    assert named, "the document names no path"
    missing = sorted(path for path in named if not (ROOT / path).exists())
    assert missing == [], f"docs/architecture.md names paths that do not exist: {missing}"
