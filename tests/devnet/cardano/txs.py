"""Transaction builders for the simulator tests: pycardano's TransactionBuilder against the
simulator's Ogmios endpoint (a fresh chain context per build, as pycardano caches tips)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from Crypto.Hash import keccak
from pycardano import (
    Address,
    ExecutionUnits,
    Network,
    PaymentSigningKey,
    PaymentVerificationKey,
    PlutusData,
    PlutusV3Script,
    Redeemer,
    Transaction,
    TransactionBuilder,
    TransactionOutput,
    UTxO,
    Value,
    VerificationKeyWitness,
    plutus_script_hash,
)

from devnet.cardano import CardanoSimulator, GenesisAccount

DATA = Path(__file__).parent / "data"


@dataclass
class LockDatum(PlutusData):
    CONSTR_ID = 0
    owner: bytes
    hashlock: bytes
    not_before: int


def keccak_256(data: bytes) -> bytes:
    return keccak.new(digest_bits=256, data=data).digest()


def hashlock_script() -> PlutusV3Script:
    return PlutusV3Script(bytes.fromhex((DATA / "hashlock_validator.cbor").read_text().strip()))


def script_address(script: PlutusV3Script) -> Address:
    return Address(plutus_script_hash(script), network=Network.TESTNET)


def key_hash(key: PaymentSigningKey) -> bytes:
    return bytes(PaymentVerificationKey.from_signing_key(key).hash().payload)


def build_payment(
    sim: CardanoSimulator,
    sender: GenesisAccount,
    receiver: str,
    lovelace: int,
    *,
    ttl: int | None = None,
) -> Transaction:
    context = sim.chain_context()
    builder = TransactionBuilder(context)
    builder.ttl = ttl
    builder.add_input_address(sender.address)
    builder.add_output(TransactionOutput(Address.from_primitive(receiver), Value(lovelace)))
    return builder.build_and_sign(
        [sender.signing_key], change_address=Address.from_primitive(sender.address)
    )


def build_lock(
    sim: CardanoSimulator,
    sender: GenesisAccount,
    datum: LockDatum,
    lovelace: int,
    *,
    inline: bool = True,
    reference_script: PlutusV3Script | None = None,
) -> Transaction:
    """Lock `lovelace` at the hashlock script with `datum` (inline or by hash)."""
    context = sim.chain_context()
    builder = TransactionBuilder(context)
    builder.add_input_address(sender.address)
    address = script_address(hashlock_script())
    if inline:
        output = TransactionOutput(address, Value(lovelace), datum=datum)
    else:
        output = TransactionOutput(address, Value(lovelace), datum_hash=datum.hash())
    builder.add_output(output)
    if reference_script is not None:
        builder.add_output(
            TransactionOutput(
                Address.from_primitive(sender.address),
                Value(30_000_000),
                script=reference_script,
            )
        )
    return builder.build_and_sign(
        [sender.signing_key], change_address=Address.from_primitive(sender.address)
    )


def build_unlock(
    sim: CardanoSimulator,
    spender: GenesisAccount,
    utxo: UTxO,
    secret: bytes,
    *,
    datum: LockDatum | None = None,
    reference_utxo: UTxO | None = None,
    lower_slot: int | None = None,
    signers: list[PaymentSigningKey] | None = None,
    ex_units: ExecutionUnits | None = None,
) -> Transaction:
    """Spend a hashlock UTxO with `secret`; the validity interval starts at the tip."""
    context = sim.chain_context()
    builder = TransactionBuilder(context)
    script: PlutusV3Script | UTxO = reference_utxo if reference_utxo else hashlock_script()
    builder.add_script_input(utxo, script=script, datum=datum, redeemer=Redeemer(secret, ex_units))
    builder.add_input_address(spender.address)
    builder.required_signers = [PaymentVerificationKey.from_signing_key(spender.signing_key).hash()]
    tip = context.last_block_slot
    builder.validity_start = tip if lower_slot is None else lower_slot
    builder.ttl = tip + 100
    return builder.build_and_sign(
        signers if signers is not None else [spender.signing_key],
        change_address=Address.from_primitive(spender.address),
    )


def script_utxos(sim: CardanoSimulator) -> list[UTxO]:
    utxos: list[UTxO] = sim.chain_context().utxos(script_address(hashlock_script()))
    return utxos


def resign(tx: Transaction, keys: list[PaymentSigningKey]) -> Transaction:
    """Replace the vkey witnesses by signatures of `keys` over the (possibly edited) body."""
    body_hash = tx.transaction_body.hash()
    tx.transaction_witness_set.vkey_witnesses = [
        VerificationKeyWitness(PaymentVerificationKey.from_signing_key(k), k.sign(body_hash))
        for k in keys
    ]
    return tx
