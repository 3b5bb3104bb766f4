"""Value rules of phase 1: fee floor, balance, minimum UTxO, collateral, budget."""

from __future__ import annotations

from devnet.cardano import errors as codes
from devnet.cardano.encoders import output_json, reference_json, value_json
from devnet.cardano.errors import SubmissionError
from devnet.cardano.model import (
    Assets,
    DecodedTx,
    Output,
    TxIn,
    value_add,
    value_normalise,
)
from devnet.cardano.params import ProtocolParameters


def check_fee(tx: DecodedTx, resolved: dict[TxIn, Output], params: ProtocolParameters) -> None:
    memory = sum(r.memory for r in tx.redeemers)
    cpu = sum(r.cpu for r in tx.redeemers)
    ref_size = sum(
        len(script.body)
        for ref in (*tx.inputs, *tx.reference_inputs)
        if (script := resolved[ref].script) is not None
    )
    minimum = params.min_fee(tx.size, memory, cpu, ref_size)
    if tx.fee < minimum:
        raise SubmissionError(
            codes.FEE_TOO_SMALL,
            "The transaction fee is below the minimum.",
            {
                "minimumRequiredFee": {"ada": {"lovelace": minimum}},
                "providedFee": {"ada": {"lovelace": tx.fee}},
            },
        )


def check_balance(tx: DecodedTx, resolved: dict[TxIn, Output]) -> None:
    consumed_assets: Assets = {}
    consumed = 0
    for ref in tx.inputs:
        consumed += resolved[ref].lovelace
        value_add(consumed_assets, resolved[ref].assets)
    value_add(consumed_assets, tx.mint)
    produced_assets: Assets = {}
    produced = tx.fee
    for output in tx.outputs:
        produced += output.lovelace
        value_add(produced_assets, output.assets)
    consumed_assets = value_normalise(consumed_assets)
    produced_assets = value_normalise(produced_assets)
    if consumed != produced or consumed_assets != produced_assets:
        raise SubmissionError(
            codes.VALUE_NOT_CONSERVED,
            "The transaction does not balance: consumed and produced values differ.",
            {
                "valueConsumed": value_json(consumed, consumed_assets),
                "valueProduced": value_json(produced, produced_assets),
            },
        )


def check_min_utxo(tx: DecodedTx, params: ProtocolParameters) -> None:
    short = []
    for output in (*tx.outputs, *([tx.collateral_return] if tx.collateral_return else [])):
        minimum = (160 + len(output.raw)) * params.min_utxo_deposit_coefficient
        if output.lovelace < minimum:
            short.append(
                {
                    "output": output_json(output),
                    "minimumRequiredValue": {"ada": {"lovelace": minimum}},
                }
            )
    if short:
        raise SubmissionError(
            codes.INSUFFICIENTLY_FUNDED_OUTPUTS,
            "Some outputs hold less than the minimum UTxO value.",
            {"insufficientlyFundedOutputs": short},
        )


def check_collateral(
    tx: DecodedTx, resolved: dict[TxIn, Output], params: ProtocolParameters
) -> None:
    p = params
    if not tx.collateral:
        raise SubmissionError(
            codes.MISSING_COLLATERAL_INPUTS, "The transaction runs scripts without collateral."
        )
    if len(tx.collateral) > p.max_collateral_inputs:
        raise SubmissionError(
            codes.TOO_MANY_COLLATERAL_INPUTS,
            "Too many collateral inputs.",
            {
                "countedCollateralInputs": len(tx.collateral),
                "maximumCollateralInputs": p.max_collateral_inputs,
            },
        )
    locked = [ref for ref in tx.collateral if (resolved[ref].payment_credential or (1, b""))[0]]
    if locked:
        raise SubmissionError(
            codes.COLLATERAL_LOCKED_BY_SCRIPT,
            "Some collateral inputs are locked by scripts.",
            {"unsuitableCollateralInputs": [reference_json(r) for r in locked]},
        )
    lovelace = sum(resolved[ref].lovelace for ref in tx.collateral)
    assets: Assets = {}
    for ref in tx.collateral:
        value_add(assets, resolved[ref].assets)
    if tx.collateral_return is not None:
        lovelace -= tx.collateral_return.lovelace
        value_add(assets, tx.collateral_return.assets, -1)
    assets = value_normalise(assets)
    if assets:
        raise SubmissionError(
            codes.NON_ADA_COLLATERAL,
            "The collateral balance holds native assets.",
            {"unsuitableCollateralValue": value_json(lovelace, assets)},
        )
    if lovelace * 100 < tx.fee * p.collateral_percentage:
        raise SubmissionError(
            codes.INSUFFICIENT_COLLATERAL,
            "The collateral does not cover the required percentage of the fee.",
            {
                "providedCollateral": value_json(lovelace, {}),
                "minimumRequiredCollateral": {
                    "ada": {"lovelace": -(-tx.fee * p.collateral_percentage // 100)}
                },
            },
        )
    if tx.total_collateral is not None and tx.total_collateral != lovelace:
        raise SubmissionError(
            codes.TOTAL_COLLATERAL_MISMATCH,
            "The declared total collateral differs from the collateral balance.",
            {
                "declaredTotalCollateral": {"ada": {"lovelace": tx.total_collateral}},
                "computedTotalCollateral": value_json(lovelace, {}),
            },
        )


def check_budget(tx: DecodedTx, params: ProtocolParameters) -> None:
    memory = sum(r.memory for r in tx.redeemers)
    cpu = sum(r.cpu for r in tx.redeemers)
    p = params
    if memory > p.max_tx_memory or cpu > p.max_tx_cpu:
        raise SubmissionError(
            codes.EXECUTION_UNITS_TOO_LARGE,
            "The transaction declares more execution units than allowed.",
            {
                "providedExecutionUnits": {"memory": memory, "cpu": cpu},
                "maximumExecutionUnits": {"memory": p.max_tx_memory, "cpu": p.max_tx_cpu},
            },
        )
