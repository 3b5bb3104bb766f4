"""Ledger rules: phase 1 (structure, witnesses, balance, fee, interval, collateral) and
phase 2 (Plutus V3 scripts), with the Ogmios v6 error codes of each failure."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any, Protocol

import cbor2
from nacl.exceptions import BadSignatureError
from nacl.signing import VerifyKey

from devnet.cardano import errors as codes
from devnet.cardano.encoders import reference_json
from devnet.cardano.errors import OgmiosError, ScriptFailure, SubmissionError
from devnet.cardano.ledger import UtxoDelta
from devnet.cardano.model import (
    REDEEMER_PURPOSES,
    DecodedTx,
    Output,
    Redeemer,
    Script,
    TxIn,
    blake2b_224,
    blake2b_256,
)
from devnet.cardano.params import ProtocolParameters
from devnet.cardano.plutus import ExecutionResult, PlutusEvaluator
from devnet.cardano.script_context import MINT, SPEND, ContextBuilder
from devnet.cardano.value_rules import (
    check_balance,
    check_budget,
    check_collateral,
    check_fee,
    check_min_utxo,
)

UNKNOWN_OUTPUT_REFERENCE_MESSAGE = (
    "The transaction contains unknown UTxO references as inputs. This can happen if the "
    "inputs you're trying to spend have already been spent, or if you've simply referred "
    "to non-existing UTxO altogether. The field 'data.unknownOutputReferences' indicates "
    "all unknown inputs."
)
"""Ogmios v6's message for 3117 (the schema's description of the error)."""

# Ledger language ids in the script integrity hash's language views.
_LANGUAGE_VIEW_IDS = {2: 1, 3: 2}


class UtxoLookup(Protocol):
    def get(self, ref: TxIn) -> Output | None: ...


@dataclass(frozen=True, slots=True)
class ValidatedTx:
    tx: DecodedTx
    resolved: dict[TxIn, Output]
    executions: list[tuple[Redeemer, ExecutionResult]]
    delta: UtxoDelta

    @property
    def spends_inputs(self) -> bool:
        return self.tx.is_valid


@dataclass(frozen=True, slots=True)
class _ScriptNeed:
    tag: int
    index: int
    script_hash: bytes
    spent: TxIn | None


class Validator:
    def __init__(
        self,
        params: ProtocolParameters,
        evaluator: PlutusEvaluator,
        slot_to_posix_ms: Callable[[int], int],
        network_id: int,
    ) -> None:
        self._params = params
        self._evaluator = evaluator
        self._slot_to_posix_ms = slot_to_posix_ms
        self._network_id = network_id

    # -- public -------------------------------------------------------------------------

    def validate(self, tx: DecodedTx, utxo: UtxoLookup, slot: int) -> ValidatedTx:
        """Apply every ledger rule; raise SubmissionError (or OgmiosError 3010) on failure."""
        p = self._params
        if not tx.inputs:
            raise SubmissionError(codes.EMPTY_INPUTS, "The transaction has no inputs.")
        if tx.size > p.max_transaction_size:
            raise SubmissionError(
                codes.TRANSACTION_TOO_LARGE,
                "The transaction exceeds the maximum size.",
                {
                    "measuredTransactionSize": tx.size,
                    "maximumTransactionSize": p.max_transaction_size,
                },
            )
        resolved = self._resolve(tx, utxo)
        self._check_interval(tx, slot)
        self._check_network(tx)
        self._check_witnesses(tx, resolved)
        needs = self._script_needs(tx, resolved)
        scripts = self._available_scripts(tx, resolved)
        self._check_scripts(needs, scripts, tx)
        self._check_redeemers(needs, tx)
        spend_datums = self._check_datums(needs, tx, resolved)
        self._check_integrity_hash(tx, needs, scripts)
        check_fee(tx, resolved, p)
        check_balance(tx, resolved)
        check_min_utxo(tx, p)
        if tx.redeemers:
            check_collateral(tx, resolved, p)
            check_budget(tx, p)
        executions, failures = self._run_scripts(tx, resolved, needs, scripts, spend_datums)
        if failures and tx.is_valid:
            # A real node answers a failing phase 2 of a tx declared valid with the
            # ValidationTagMismatch predicate, which Ogmios v6 reports as SpendsMismatch.
            raise SubmissionError(
                codes.SPENDS_MISMATCH,
                "The transaction declares it spends its inputs, yet some scripts fail.",
                {"declaredSpending": "inputs", "mismatchReason": _failure_reason(failures)},
            )
        if not failures and not tx.is_valid:
            raise SubmissionError(
                codes.SPENDS_MISMATCH,
                "The transaction declares it spends collaterals, yet all its scripts succeed.",
                {"declaredSpending": "collaterals", "mismatchReason": "all scripts succeeded"},
            )
        return ValidatedTx(tx, resolved, executions, self._delta(tx, resolved))

    def evaluate(self, tx: DecodedTx, utxo: UtxoLookup) -> list[tuple[Redeemer, ExecutionResult]]:
        """Run every redeemer with the maximum budget (for `evaluateTransaction`)."""
        missing = [ref for ref in (*tx.inputs, *tx.reference_inputs) if utxo.get(ref) is None]
        if missing:
            unknown = ", ".join(f"{r[0].hex()}#{r[1]}" for r in missing)
            raise OgmiosError(
                3004,
                "Unable to create the evaluation context.",
                {"reason": f"unknown output references: {unknown}"},
            )
        resolved = {
            ref: out for ref in (*tx.inputs, *tx.reference_inputs) if (out := utxo.get(ref))
        }
        needs = self._script_needs(tx, resolved)
        scripts = self._available_scripts(tx, resolved)
        datums = {n.index: self._spend_datum(n, tx, resolved) for n in needs if n.tag == SPEND}
        budgeted = [
            Redeemer(r.tag, r.index, r.data, self._params.max_tx_memory, self._params.max_tx_cpu)
            for r in tx.redeemers
        ]
        unbounded = _replace_redeemers(tx, budgeted)
        executions, failures = self._run_scripts(unbounded, resolved, needs, scripts, datums)
        if failures:
            raise _script_execution_error(failures)
        return executions

    # -- phase 1 ------------------------------------------------------------------------

    def _resolve(self, tx: DecodedTx, utxo: UtxoLookup) -> dict[TxIn, Output]:
        resolved: dict[TxIn, Output] = {}
        unknown: list[TxIn] = []
        for ref in (*tx.inputs, *tx.reference_inputs, *tx.collateral):
            output = utxo.get(ref)
            if output is None:
                unknown.append(ref)
            else:
                resolved[ref] = output
        if unknown:
            # The ledger reports a set of inputs: in ascending order, each once.
            raise SubmissionError(
                codes.UNKNOWN_OUTPUT_REFERENCE,
                UNKNOWN_OUTPUT_REFERENCE_MESSAGE,
                {"unknownOutputReferences": [reference_json(r) for r in sorted(set(unknown))]},
            )
        return resolved

    def _check_interval(self, tx: DecodedTx, slot: int) -> None:
        too_early = tx.validity_start is not None and slot < tx.validity_start
        too_late = tx.ttl is not None and slot >= tx.ttl
        if too_early or too_late:
            interval: dict[str, int] = {}
            if tx.validity_start is not None:
                interval["invalidBefore"] = tx.validity_start
            if tx.ttl is not None:
                interval["invalidAfter"] = tx.ttl
            raise SubmissionError(
                codes.OUTSIDE_VALIDITY_INTERVAL,
                "The transaction is outside of its validity interval.",
                {"validityInterval": interval, "currentSlot": slot},
            )

    def _check_network(self, tx: DecodedTx) -> None:
        wrong = [o for o in tx.outputs if o.address[0] & 0x0F != self._network_id]
        expected = "mainnet" if self._network_id else "testnet"
        if wrong:
            raise SubmissionError(
                codes.NETWORK_MISMATCH,
                "Some output addresses belong to another network.",
                {
                    "expectedNetwork": expected,
                    "discriminatedType": "address",
                    "invalidEntities": [o.bech32 for o in wrong],
                },
            )
        if tx.network_id is not None and tx.network_id != self._network_id:
            raise SubmissionError(
                codes.NETWORK_MISMATCH,
                "The transaction's network id belongs to another network.",
                {
                    "expectedNetwork": expected,
                    "discriminatedType": "transaction",
                    "invalidEntities": ["mainnet" if tx.network_id else "testnet"],
                },
            )

    def _check_witnesses(self, tx: DecodedTx, resolved: dict[TxIn, Output]) -> None:
        invalid = []
        provided = set()
        for vkey, signature in tx.vkey_witnesses:
            try:
                VerifyKey(vkey).verify(tx.id, signature)
            except (BadSignatureError, ValueError):
                invalid.append(vkey.hex())
            provided.add(blake2b_224(vkey))
        if invalid:
            raise SubmissionError(
                codes.INVALID_SIGNATORIES,
                "Some signatures are invalid.",
                {"invalidSignatories": invalid},
            )
        required: set[bytes] = set(tx.required_signers)
        for ref in (*tx.inputs, *tx.collateral):
            credential = resolved[ref].payment_credential
            if credential is not None and not credential[0]:
                required.add(credential[1])
        missing = sorted(required - provided)
        if missing:
            raise SubmissionError(
                codes.MISSING_SIGNATORIES,
                "The transaction is missing required signatures.",
                {"missingSignatories": [k.hex() for k in missing]},
            )

    def _script_needs(self, tx: DecodedTx, resolved: dict[TxIn, Output]) -> list[_ScriptNeed]:
        needs = []
        for index, ref in enumerate(tx.inputs):
            credential = resolved[ref].payment_credential
            if credential is not None and credential[0]:
                needs.append(_ScriptNeed(SPEND, index, credential[1], ref))
        for index, policy in enumerate(sorted(tx.mint)):
            needs.append(_ScriptNeed(MINT, index, policy, None))
        return needs

    def _available_scripts(
        self, tx: DecodedTx, resolved: dict[TxIn, Output]
    ) -> dict[bytes, Script]:
        scripts = dict(tx.scripts)
        for ref in (*tx.inputs, *tx.reference_inputs):
            script = resolved[ref].script
            if script is not None:
                scripts.setdefault(script.hash, script)
        return scripts

    def _check_scripts(
        self, needs: list[_ScriptNeed], scripts: dict[bytes, Script], tx: DecodedTx
    ) -> None:
        needed = {n.script_hash for n in needs}
        missing = sorted(needed - scripts.keys())
        if missing:
            raise SubmissionError(
                codes.MISSING_SCRIPTS,
                "The transaction is missing scripts.",
                {"missingScripts": [h.hex() for h in missing]},
            )
        extraneous = sorted(set(tx.scripts) - needed)
        if extraneous:
            raise SubmissionError(
                codes.EXTRANEOUS_SCRIPTS,
                "The transaction carries scripts it does not need.",
                {"extraneousScripts": [h.hex() for h in extraneous]},
            )
        native = [n for n in needs if scripts[n.script_hash].language == 0]
        if native:
            raise SubmissionError(
                codes.DESERIALISATION_FAILURE, "The simulator does not run native scripts."
            )

    def _check_redeemers(self, needs: list[_ScriptNeed], tx: DecodedTx) -> None:
        wanted = {(n.tag, n.index) for n in needs}
        given = {(r.tag, r.index) for r in tx.redeemers}
        if wanted - given:
            raise SubmissionError(
                codes.MISSING_REDEEMERS,
                "The transaction is missing redeemers.",
                {
                    "missingRedeemers": [
                        _purpose_json(n, tx) for n in needs if (n.tag, n.index) in wanted - given
                    ]
                },
            )
        if given - wanted:
            raise SubmissionError(
                codes.EXTRANEOUS_REDEEMERS,
                "The transaction carries redeemers no script needs.",
                {
                    "extraneousRedeemers": [
                        {"purpose": _purpose_name(t), "index": i} for t, i in sorted(given - wanted)
                    ]
                },
            )

    def _spend_datum(
        self, need: _ScriptNeed, tx: DecodedTx, resolved: dict[TxIn, Output]
    ) -> bytes | None:
        assert need.spent is not None
        output = resolved[need.spent]
        if output.datum is not None:
            return output.datum
        if output.datum_hash is not None:
            return tx.datums.get(output.datum_hash)
        return None

    def _check_datums(
        self, needs: list[_ScriptNeed], tx: DecodedTx, resolved: dict[TxIn, Output]
    ) -> dict[int, bytes | None]:
        datums: dict[int, bytes | None] = {}
        missing: list[str] = []
        for need in needs:
            if need.tag != SPEND or need.spent is None:
                continue
            output = resolved[need.spent]
            if output.datum_hash is not None and output.datum_hash not in tx.datums:
                missing.append(output.datum_hash.hex())
            datums[need.index] = self._spend_datum(need, tx, resolved)
        if missing:
            raise SubmissionError(
                codes.MISSING_DATUMS,
                "The transaction is missing datums.",
                {"missingDatums": missing},
            )
        return datums

    def _check_integrity_hash(
        self, tx: DecodedTx, needs: list[_ScriptNeed], scripts: dict[bytes, Script]
    ) -> None:
        expected: bytes | None = None
        if tx.redeemers or tx.datums:
            views: dict[int, list[int]] = {}
            if tx.redeemers:
                for need in needs:
                    language = scripts[need.script_hash].language
                    if language in _LANGUAGE_VIEW_IDS:
                        model = self._params.cost_models[f"plutus:v{language}"]
                        views[_LANGUAGE_VIEW_IDS[language]] = list(model)
            redeemers = tx.redeemers_raw if tx.redeemers_raw is not None else b"\xa0"
            payload = redeemers + (tx.datums_raw or b"") + cbor2.dumps(views, canonical=True)
            expected = blake2b_256(payload)
        if expected != tx.script_data_hash:
            raise SubmissionError(
                codes.SCRIPT_INTEGRITY_MISMATCH,
                "The script integrity hash does not match the redeemers, datums and cost models.",
                {
                    "providedScriptIntegrity": _hex(tx.script_data_hash),
                    "computedScriptIntegrity": _hex(expected),
                },
            )

    # -- phase 2 ------------------------------------------------------------------------

    def _run_scripts(
        self,
        tx: DecodedTx,
        resolved: dict[TxIn, Output],
        needs: list[_ScriptNeed],
        scripts: dict[bytes, Script],
        spend_datums: dict[int, bytes | None],
    ) -> tuple[list[tuple[Redeemer, ExecutionResult]], list[ScriptFailure]]:
        if not tx.redeemers:
            return [], []
        by_pointer = {(n.tag, n.index): n for n in needs}
        builder = ContextBuilder(tx, resolved, self._slot_to_posix_ms)
        executions: list[tuple[Redeemer, ExecutionResult]] = []
        failures: list[ScriptFailure] = []
        for redeemer in tx.redeemers:
            need = by_pointer.get((redeemer.tag, redeemer.index))
            if need is None:
                failures.append(
                    ScriptFailure(redeemer.purpose, redeemer.index, "no script for redeemer", [])
                )
                continue
            datum = spend_datums.get(need.index) if need.tag == SPEND else None
            try:
                context = builder.context(redeemer, datum)
                result = self._evaluator.run(
                    scripts[need.script_hash],
                    context,
                    purpose=redeemer.purpose,
                    index=redeemer.index,
                    memory=redeemer.memory,
                    cpu=redeemer.cpu,
                )
            except ScriptFailure as failure:
                failures.append(failure)
                continue
            executions.append((redeemer, result))
        return executions, failures

    def _delta(self, tx: DecodedTx, resolved: dict[TxIn, Output]) -> UtxoDelta:
        if tx.is_valid:
            return UtxoDelta(
                consumed=[(ref, resolved[ref]) for ref in tx.inputs],
                produced=[((tx.id, i), out) for i, out in enumerate(tx.outputs)],
            )
        produced = []
        if tx.collateral_return is not None:
            produced.append(((tx.id, len(tx.outputs)), tx.collateral_return))
        return UtxoDelta(
            consumed=[(ref, resolved[ref]) for ref in tx.collateral], produced=produced
        )


def _script_execution_error(failures: list[ScriptFailure]) -> OgmiosError:
    return OgmiosError(
        codes.SCRIPT_EXECUTION_FAILURE,
        "Some scripts of the transaction terminated with error(s).",
        [
            {
                "validator": f.validator(),
                "error": {
                    "code": 3012,
                    "message": "Some of the scripts failed to evaluate to a positive outcome.",
                    "data": {"validationError": f.message, "traces": f.traces},
                },
            }
            for f in failures
        ],
    )


def _replace_redeemers(tx: DecodedTx, redeemers: list[Redeemer]) -> DecodedTx:
    return replace(tx, redeemers=redeemers)


def _purpose_name(tag: int) -> str:
    return REDEEMER_PURPOSES[tag]


def _purpose_json(need: _ScriptNeed, tx: DecodedTx) -> dict[str, Any]:
    if need.tag == SPEND and need.spent is not None:
        return {"purpose": "spend", "outputReference": reference_json(need.spent)}
    return {"purpose": "mint", "policy": need.script_hash.hex()}


def _failure_reason(failures: list[ScriptFailure]) -> str:
    parts = []
    for failure in failures:
        traces = "; ".join(failure.traces)
        parts.append(
            f"{failure.purpose}:{failure.index} failed: {failure.message}"
            + (f" (traces: {traces})" if traces else "")
        )
    return " | ".join(parts)


def _hex(value: bytes | None) -> str | None:
    return None if value is None else value.hex()
