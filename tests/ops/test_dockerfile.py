"""The Dockerfile, read statically (no container engine here): base, user, healthcheck."""

from __future__ import annotations

import fnmatch
import json
import re
import shlex
from dataclasses import dataclass
from pathlib import Path

import yaml
from starlette.routing import Route

from relayer.api.app import create_app
from relayer.config import ServerSettings, load_settings
from tests.factories import make_settings

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Instruction:
    name: str
    args: str


def parse(text: str) -> list[Instruction]:
    """Instructions with continuation lines joined and comments dropped."""
    joined = re.sub(r"\\\n", " ", "\n".join(line for line in text.splitlines()
                                             if not line.lstrip().startswith("#")))
    result = []
    for line in joined.splitlines():
        if line.strip():
            name, _, args = line.strip().partition(" ")
            result.append(Instruction(name.upper(), args.strip()))
    return result


def stages(instructions: list[Instruction]) -> list[list[Instruction]]:
    found: list[list[Instruction]] = []
    for instruction in instructions:
        if instruction.name == "FROM":
            found.append([])
        if found:
            found[-1].append(instruction)
    return found


def exec_form(args: str) -> list[str]:
    value = json.loads(args)
    assert isinstance(value, list), args
    return [str(v) for v in value]


INSTRUCTIONS = parse((ROOT / "Dockerfile").read_text())
ARGS = {i.args.split("=", 1)[0]: i.args.split("=", 1)[1] for i in INSTRUCTIONS
        if i.name == "ARG" and "=" in i.args}


def resolve(text: str) -> str:
    return re.sub(r"\$\{(\w+)\}", lambda m: ARGS[m.group(1)], text)


def test_multi_stage_on_slim_python_311() -> None:
    built = stages(INSTRUCTIONS)
    assert len(built) >= 2
    for stage in built:
        image = resolve(stage[0].args.split()[0])
        assert re.fullmatch(r"python:3\.11(\.\d+)?-slim(-\w+)?", image), image
    runtime = built[-1]
    copies_from_build = [i for i in runtime if i.name == "COPY" and "--from=" in i.args]
    assert copies_from_build, "the runtime copies the built environment, not the compilers"
    assert not any("build-essential" in i.args for i in runtime if i.name == "RUN")


def test_runtime_runs_as_an_unprivileged_user() -> None:
    runtime = stages(INSTRUCTIONS)[-1]
    users = [i.args for i in runtime if i.name == "USER"]
    assert users, "the runtime stage sets USER"
    user = users[-1].split(":")[0]
    assert user not in ("0", "root")
    created = " ".join(i.args for i in runtime if i.name == "RUN")
    assert re.search(rf"useradd\b.*--uid {user}\b", created), "the user is created"
    pod_user = yaml.safe_load((ROOT / "k8s" / "deployment.yaml").read_text())[
        "spec"]["template"]["spec"]["securityContext"]["runAsUser"]
    assert str(pod_user) == user


def test_healthcheck_probes_liveness_and_the_command_serves(tmp_path: Path) -> None:
    runtime = stages(INSTRUCTIONS)[-1]
    (healthcheck,) = [i.args for i in runtime if i.name == "HEALTHCHECK"]
    assert "--interval=" in healthcheck and "--timeout=" in healthcheck
    command = exec_form(healthcheck.split("CMD", 1)[1].strip())
    probe = re.search(r"http://127\.0\.0\.1:\{port\}(/[\w/]+)", command[-1])
    assert probe is not None
    app = create_app(make_settings(data_dir=str(tmp_path)), run_scheduler=False)
    paths = {r.path for r in app.routes if isinstance(r, Route)}
    assert probe.group(1) == "/health/live" and probe.group(1) in paths

    entrypoint = exec_form([i.args for i in runtime if i.name == "ENTRYPOINT"][-1])
    cmd = exec_form([i.args for i in runtime if i.name == "CMD"][-1])
    assert entrypoint + cmd == ["python", "-m", "relayer", "serve"]
    env = dict(pair.split("=", 1) for i in runtime if i.name == "ENV"
               for pair in shlex.split(i.args))
    exposed = [int(i.args.split("/")[0]) for i in runtime if i.name == "EXPOSE"]
    assert exposed == [int(env["RELAYER_SERVER_PORT"])] == [ServerSettings().port]
    # The image's environment is a valid configuration on its own.
    settings = load_settings(environ={k: v for k, v in env.items() if k.startswith("RELAYER_")})
    assert settings.server.host == "0.0.0.0" and settings.log.format == "json"


def test_copied_sources_exist_and_are_not_ignored() -> None:
    patterns = [line.strip() for line in (ROOT / ".dockerignore").read_text().splitlines()
                if line.strip() and not line.startswith("#")]
    copied = []
    for instruction in INSTRUCTIONS:
        if instruction.name == "COPY" and "--from=" not in instruction.args:
            *sources, _dest = instruction.args.split()
            copied += sources
    assert {"relayer", "contracts-abi", "pyproject.toml", "constraints.txt"} <= set(copied)
    for source in copied:
        assert (ROOT / source).exists(), source
        assert not any(fnmatch.fnmatch(source, p) for p in patterns), source
    for private in (".venv", "node_modules", ".git", ".data", "tests", "*.key"):
        assert private in patterns, private
    # The server alone: the devnet and the reference resolver stay out of the image.
    for client in ("devnet", "resolver"):
        assert client in patterns and client not in copied, client
