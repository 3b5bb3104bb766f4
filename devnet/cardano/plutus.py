"""Plutus script execution with `uplc`, within the budget the redeemer declares."""

from __future__ import annotations

import sys
from dataclasses import dataclass

import cbor2
import uplc
import uplc.ast
from uplc.cost_model import (
    Budget,
    default_builtin_cost_model_plutus_v3,
    default_cek_machine_cost_model_plutus_v3,
)
from uplc.machine import Machine

from devnet.cardano.errors import ScriptFailure
from devnet.cardano.model import Script

# `uplc` decodes and transforms programs recursively, one Python frame per nested term:
# real validators (a few KB) nest deeper than Python's default limit of 1000.
RECURSION_LIMIT = 20_000


@dataclass(frozen=True, slots=True)
class ExecutionResult:
    memory: int
    cpu: int
    traces: list[str]


class PlutusEvaluator:
    """Runs Plutus V3 scripts; decoded programs are cached by script hash."""

    def __init__(self) -> None:
        # The same mainnet cost model the protocol parameters publish (see params.py).
        self._cek_model = default_cek_machine_cost_model_plutus_v3()
        self._builtin_model = default_builtin_cost_model_plutus_v3()
        self._programs: dict[bytes, uplc.ast.Program] = {}
        # Raised once and never lowered, so concurrent evaluations cannot undo it.
        sys.setrecursionlimit(max(sys.getrecursionlimit(), RECURSION_LIMIT))

    def program(self, script: Script) -> uplc.ast.Program:
        cached = self._programs.get(script.hash)
        if cached is None:
            cached = _unflatten(script.body)
            self._programs[script.hash] = cached
        return cached

    def run(
        self,
        script: Script,
        context: uplc.ast.PlutusData,
        *,
        purpose: str,
        index: int,
        memory: int,
        cpu: int,
    ) -> ExecutionResult:
        """Evaluate `script` applied to `context`; raise ScriptFailure unless it returns unit."""
        if script.language != 3:
            raise ScriptFailure(
                purpose, index, f"plutus:v{script.language} scripts are not supported", []
            )
        try:
            program = self.program(script)
        except Exception as exc:  # a malformed script fails like any other script
            raise ScriptFailure(purpose, index, f"malformed script: {exc}", []) from exc
        machine = Machine(Budget(cpu=cpu, memory=memory), self._cek_model, self._builtin_model)
        applied = uplc.ast.Program(program.version, uplc.ast.Apply(program.term, context))
        result = machine.eval(applied)
        logs = [str(line) for line in result.logs]
        used = result.cost
        if isinstance(result.result, Exception):
            raise ScriptFailure(purpose, index, _describe(result.result), logs)
        if not isinstance(result.result, uplc.ast.BuiltinUnit):
            raise ScriptFailure(
                purpose, index, "the validator returned a value other than unit", logs
            )
        return ExecutionResult(memory=used.memory, cpu=used.cpu, traces=logs)


def _describe(exc: Exception) -> str:
    text = str(exc) or type(exc).__name__
    return text


def _unflatten(body: bytes) -> uplc.ast.Program:
    """Scripts arrive CBOR-wrapped once or twice around the flat encoding."""
    data = body
    for _ in range(3):
        try:
            return uplc.unflatten(data)
        except Exception:  # noqa: BLE001 - try one more CBOR layer
            data = cbor2.loads(data)
            if not isinstance(data, bytes):
                break
    raise ValueError("not a flat-encoded Plutus program")
