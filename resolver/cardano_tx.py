"""The pieces every Cardano wallet transaction is made of: ``build`` (pycardano's
builder with the wallet as payer, signer and change address), the collateral a failing
script would cost, values and output tags, and reading outputs and datums.
"""

from __future__ import annotations

from dataclasses import dataclass

from pycardano import (
    Address,
    MultiAsset,
    OgmiosV6ChainContext,
    PaymentSigningKey,
    PaymentVerificationKey,
    PlutusV3Script,
    Redeemer,
    Transaction,
    TransactionBuilder,
    TransactionOutput,
    UTxO,
    Value,
    VerificationKeyHash,
    min_lovelace_post_alonzo,
)

from relayer.chains.cardano.datums import Encodable, to_plutus_data
from relayer.chains.cardano.plutus_data import AssetClass, DatumError, OutputTag
from relayer.orders.model import UtxoRef
from resolver.errors import NOT_FOUND, WalletError


@dataclass(frozen=True, slots=True)
class ScriptRefs:
    """Outputs carrying the escrow and order validators as reference scripts."""

    escrow: UtxoRef
    order: UtxoRef


def find_utxo(context: OgmiosV6ChainContext, ref: UtxoRef) -> UTxO | None:
    found: UTxO | None = context.utxo_by_tx_id(ref.tx_id, ref.index)
    return found


@dataclass(frozen=True, slots=True)
class ScriptSpend:
    """A script output to spend: the validator comes attached or from a reference output."""

    utxo: UTxO
    script: PlutusV3Script | UTxO
    redeemer: Encodable


@dataclass(frozen=True, slots=True)
class Signer:
    key: PaymentSigningKey
    address: Address

    @property
    def key_hash(self) -> VerificationKeyHash:
        return PaymentVerificationKey.from_signing_key(self.key).hash()


def build(context: OgmiosV6ChainContext, signer: Signer, outputs: list[TransactionOutput],
          *, spend: ScriptSpend | None = None, lower: int | None = None,
          upper: int | None = None, sign_required: bool = False,
          exclude: list[UTxO] | None = None) -> Transaction:
    """A signed transaction paying ``outputs`` (in this order, the change after them)
    from ``signer``'s address, spending ``spend`` if given, valid in slots
    ``[lower, upper)``; ``sign_required`` lists the signer as a required signer (what a
    validator's "signed by" sees). The node evaluates the scripts: a failing one raises
    here, before anything is submitted."""
    builder = TransactionBuilder(context)
    if spend is not None:
        builder.add_script_input(spend.utxo, script=spend.script,
                                 redeemer=Redeemer(to_plutus_data(spend.redeemer)))
    builder.add_input_address(signer.address)
    for output in outputs:
        builder.add_output(output)
    builder.validity_start = lower
    builder.ttl = upper
    if sign_required:
        builder.required_signers = [signer.key_hash]
    if exclude:
        builder.excluded_inputs = list(exclude)
    tx: Transaction = builder.build_and_sign([signer.key], change_address=signer.address)
    return tx


def collateral_cost(context: OgmiosV6ChainContext, tx: Transaction) -> int:
    """What ``tx`` pays if its scripts fail: its collateral less the collateral return."""
    body = tx.transaction_body
    if not body.collateral:
        return 0
    if body.total_collateral is not None:
        return int(body.total_collateral)
    total = 0
    for ref in body.collateral:
        utxo = context.utxo_by_tx_id(str(ref.transaction_id), int(ref.index))
        total += 0 if utxo is None else int(utxo.output.amount.coin)
    returned = body.collateral_return
    return total - (0 if returned is None else int(returned.amount.coin))


def with_min_ada(context: OgmiosV6ChainContext, output: TransactionOutput) -> TransactionOutput:
    """``output`` with its lovelace raised to the ledger's minimum if it holds less."""
    needed = min_lovelace_post_alonzo(output, context)
    if output.amount.coin >= needed:
        return output
    value = Value(needed, output.amount.multi_asset)
    return TransactionOutput(output.address, value, datum=output.datum)


# -- outputs ----------------------------------------------------------------------------


def value_of(asset: AssetClass, amount: int, lovelace: int) -> Value:
    """``amount`` of ``asset`` plus ``lovelace`` (one sum when the asset is lovelace)."""
    if asset.is_lovelace:
        return Value(amount + lovelace)
    tokens = MultiAsset.from_primitive({asset.policy_id: {asset.name: amount}})
    return Value(lovelace, tokens)


def without(value: Value, asset: AssetClass, amount: int) -> Value:
    """``value`` without ``amount`` of ``asset``: what an order output keeps after a fill."""
    if asset.is_lovelace:
        return Value(value.coin - amount, value.multi_asset)
    tokens = value.multi_asset - MultiAsset.from_primitive(
        {asset.policy_id: {asset.name: amount}})
    return Value(value.coin, tokens)


def tag_of(utxo: UTxO) -> OutputTag:
    return OutputTag(utxo.input.transaction_id.payload, int(utxo.input.index))


def datum_bytes(utxo: UTxO | TransactionOutput) -> bytes:
    datum = (utxo.output if isinstance(utxo, UTxO) else utxo).datum
    cbor = getattr(datum, "cbor", None)
    if isinstance(cbor, bytes):
        return cbor
    if datum is not None and hasattr(datum, "to_cbor"):
        return bytes(datum.to_cbor())
    raise DatumError("the output has no inline datum")


def existing(context: OgmiosV6ChainContext, ref: UtxoRef, what: str) -> UTxO:
    utxo = find_utxo(context, ref)
    if utxo is None:
        raise WalletError(f"{what} {ref.tx_id}#{ref.index} is not unspent on chain",
                          code=NOT_FOUND, details={"output": f"{ref.tx_id}#{ref.index}"})
    return utxo


def parse_ref(escrow: str) -> UtxoRef:
    tx_id, _, index = escrow.partition("#")
    return UtxoRef(tx_id=tx_id, index=int(index))
