"""Running the committed validators with `uplc` on hand-made transactions.

A `Tx` lists resolved inputs, outputs, the validity interval and signatories; `run` turns
it into the simulator's decoded transaction and builds the V3 ScriptContext with the
simulator's own `ContextBuilder` (time is counted in milliseconds directly, so a bound can
sit one millisecond either side of a stage), then evaluates the script with the
simulator's `PlutusEvaluator` under the per-transaction budget.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field, replace
from typing import Any

import cbor2
from pycardano import Address, Network, PaymentSigningKey, ScriptHash, VerificationKeyHash

from devnet.cardano.errors import ScriptFailure
from devnet.cardano.model import DecodedTx, Output, Redeemer, Script, TxIn
from devnet.cardano.params import ProtocolParameters
from devnet.cardano.plutus import RECURSION_LIMIT, ExecutionResult, PlutusEvaluator
from devnet.cardano.script_context import ContextBuilder
from relayer.chains.cardano.datums import Encodable, encode, to_primitive
from relayer.chains.cardano.plutus_data import AssetClass, Credential, OutputTag, PlutusAddress
from relayer.chains.cardano.scripts import CompiledValidator

NETWORK = Network.TESTNET
TX_ID = b"\xab" * 32
_PARAMS = ProtocolParameters()


def key_hash(key: PaymentSigningKey) -> bytes:
    return bytes(key.to_verification_key().hash().payload)


def key_address(key: PaymentSigningKey, stake: bytes | None = None) -> PlutusAddress:
    return PlutusAddress(Credential(key_hash(key)),
                         None if stake is None else Credential(stake))


def raw_address(address: PlutusAddress) -> bytes:
    return bytes(address.to_address(NETWORK))


def script_address(script_hash: bytes) -> bytes:
    return bytes(Address(ScriptHash(script_hash), network=NETWORK))


def pubkey_address(hash28: bytes) -> bytes:
    return bytes(Address(VerificationKeyHash(hash28), network=NETWORK))


def output(
    address: bytes | PlutusAddress,
    lovelace: int,
    *,
    asset: AssetClass | None = None,
    quantity: int = 0,
    datum: Encodable | bytes | None = None,
) -> Output:
    """An output; ``datum`` (a codec value or raw CBOR) is inlined."""
    raw = raw_address(address) if isinstance(address, PlutusAddress) else address
    assets = {} if asset is None or asset.is_lovelace else {asset.policy_id: {asset.name: quantity}}
    if isinstance(datum, bytes) or datum is None:
        inline = datum
    else:
        inline = encode(datum)
    return Output(address=raw, lovelace=lovelace, assets=assets, datum=inline)


def tag(ref: TxIn) -> OutputTag:
    return OutputTag(ref[0], ref[1])


@dataclass
class Tx:
    """The parts of a transaction a validator can see. Times are POSIX ms."""

    inputs: dict[TxIn, Output]
    outputs: list[Output]
    lower: int | None = None
    upper: int | None = None
    signers: list[bytes] = field(default_factory=list)
    redeemers: dict[TxIn, Any] = field(default_factory=dict)
    """Spent script input -> redeemer (a codec value or cbor2 Plutus data)."""
    fee: int = 300_000

    def but(self, **changes: Any) -> Tx:
        return replace(self, **changes)

    def with_output(self, index: int, new: Output) -> Tx:
        outputs = list(self.outputs)
        outputs[index] = new
        return self.but(outputs=outputs)


def decoded(tx: Tx) -> DecodedTx:
    inputs = sorted(tx.inputs)
    redeemers = [
        Redeemer(tag=0, index=inputs.index(ref), data=_data(data),
                 memory=_PARAMS.max_tx_memory, cpu=_PARAMS.max_tx_cpu)
        for ref, data in tx.redeemers.items()
    ]
    return DecodedTx(
        cbor=b"", id=TX_ID, is_valid=True, inputs=inputs, outputs=list(tx.outputs), fee=tx.fee,
        ttl=tx.upper, validity_start=tx.lower, mint={}, script_data_hash=None, collateral=[],
        collateral_return=None, total_collateral=None, required_signers=sorted(tx.signers),
        reference_inputs=[], network_id=None, vkey_witnesses=[], scripts={}, datums={},
        redeemers=redeemers, redeemers_raw=None, datums_raw=None,
    )


def _data(value: Any) -> Any:
    return value if isinstance(value, cbor2.CBORTag) else to_primitive(value)


class ScriptRunner:
    """Evaluates committed validators; programs are decoded once."""

    def __init__(self) -> None:
        self._evaluator = PlutusEvaluator()

    def run(self, validator: CompiledValidator, tx: Tx, spent: TxIn) -> ExecutionResult:
        """Run ``validator`` for the spend of ``spent``; raises ScriptFailure if it fails."""
        body = decoded(tx)
        (redeemer,) = [r for r in body.redeemers if body.inputs[r.index] == spent]
        context = ContextBuilder(body, tx.inputs, slot_to_posix_ms=lambda ms: ms).context(
            redeemer, tx.inputs[spent].datum
        )
        script = Script(language=3, body=bytes(validator.script))
        # Hypothesis lowers the recursion limit while a test runs; uplc needs it high.
        limit = sys.getrecursionlimit()
        sys.setrecursionlimit(max(limit, RECURSION_LIMIT))
        try:
            return self._evaluator.run(script, context, purpose="spend", index=redeemer.index,
                                       memory=_PARAMS.max_tx_memory, cpu=_PARAMS.max_tx_cpu)
        finally:
            sys.setrecursionlimit(limit)

    def passes(self, validator: CompiledValidator, tx: Tx, spent: TxIn) -> bool:
        try:
            self.run(validator, tx, spent)
        except ScriptFailure:
            return False
        return True
