"""Transactions against the ledger simulator, built by pycardano's TransactionBuilder with a
fresh chain context each (pycardano caches tips and UTxOs)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass

from pycardano import (
    Address,
    ExecutionUnits,
    Network,
    PaymentSigningKey,
    PaymentVerificationKey,
    Redeemer,
    Transaction,
    TransactionBuilder,
    TransactionOutput,
    UTxO,
    Value,
)

from devnet.cardano import CardanoSimulator, GenesisAccount
from relayer.chains.cardano.datums import Encodable, to_plutus_data
from relayer.chains.cardano.plutus_data import OutputTag, PlutusAddress
from relayer.chains.cardano.scripts import CompiledValidator, Validators

NETWORK = Network.TESTNET
# Declared budgets skip pycardano's evaluation, so a failing script reaches the ledger.
BUDGET = ExecutionUnits(3_000_000, 1_500_000_000)


def plutus_address(account: GenesisAccount) -> PlutusAddress:
    return PlutusAddress.from_address(Address.from_primitive(account.address))


def key_hash_of(account: GenesisAccount) -> bytes:
    return bytes(PaymentVerificationKey.from_signing_key(account.signing_key).hash().payload)


def tag_of(utxo: UTxO) -> OutputTag:
    return OutputTag(utxo.input.transaction_id.payload, utxo.input.index)


def pay(to: PlutusAddress, lovelace: int, *, datum: Encodable | None = None) -> TransactionOutput:
    return TransactionOutput(to.to_address(NETWORK), Value(lovelace),
                             datum=None if datum is None else to_plutus_data(datum))


@dataclass
class Chain:
    """The simulator with the two validators deployed as reference scripts."""

    sim: CardanoSimulator
    validators: Validators
    references: dict[str, UTxO]

    def ms(self, slot: int) -> int:
        return self.sim.genesis.slot_to_posix_ms(slot)

    @property
    def slot(self) -> int:
        return self.sim.current_slot

    async def submit(self, tx: Transaction) -> None:
        await self.sim.submit(tx.to_cbor())
        await self.sim.advance()

    async def lock(self, sender: GenesisAccount, validator: CompiledValidator,
                   lovelace: int, datum: Encodable) -> UTxO:
        """Lock ``lovelace`` at ``validator`` with an inline ``datum``; the new output."""
        output = TransactionOutput(validator.address(NETWORK), Value(lovelace),
                                   datum=to_plutus_data(datum))
        tx = await asyncio.to_thread(self._build, sender, [output], [])
        await self.submit(tx)
        return await self.output_of(tx, 0)

    async def spend(
        self,
        caller: GenesisAccount,
        locked: UTxO,
        validator: CompiledValidator,
        redeemer: Encodable,
        outputs: Sequence[TransactionOutput],
        *,
        lower: int | None,
        upper: int | None,
        signers: Sequence[GenesisAccount] = (),
        budget: ExecutionUnits | None = None,
    ) -> Transaction:
        """A signed spend of ``locked`` (the script from its reference output), validity
        ``[lower, upper)`` in slots; ``budget=None`` lets the simulator evaluate it."""
        def build() -> Transaction:
            return self._build(
                caller, outputs, signers, lower=lower, upper=upper,
                script_input=(locked, self.references[validator.name],
                              Redeemer(to_plutus_data(redeemer), budget)),
            )

        return await asyncio.to_thread(build)

    async def output_of(self, tx: Transaction, index: int) -> UTxO:
        utxos: list[UTxO] = await asyncio.to_thread(
            self.sim.chain_context().utxos, tx.transaction_body.outputs[index].address
        )
        (found,) = [u for u in utxos if u.input.transaction_id == tx.id and u.input.index == index]
        return found

    async def utxos_at(self, address: Address) -> list[UTxO]:
        utxos: list[UTxO] = await asyncio.to_thread(self.sim.chain_context().utxos, address)
        return utxos

    def _build(
        self,
        caller: GenesisAccount,
        outputs: Sequence[TransactionOutput],
        signers: Sequence[GenesisAccount],
        *,
        lower: int | None = None,
        upper: int | None = None,
        script_input: tuple[UTxO, UTxO, Redeemer] | None = None,
    ) -> Transaction:
        builder = TransactionBuilder(self.sim.chain_context())
        if script_input is not None:
            locked, reference, redeemer = script_input
            builder.add_script_input(locked, script=reference, redeemer=redeemer)
        builder.add_input_address(caller.address)
        for output in outputs:
            builder.add_output(output)
        builder.validity_start = lower
        builder.ttl = upper
        if signers:
            builder.required_signers = [
                PaymentVerificationKey.from_signing_key(s.signing_key).hash() for s in signers
            ]
        keys: list[PaymentSigningKey] = [caller.signing_key]
        keys += [s.signing_key for s in signers if s.signing_key != caller.signing_key]
        return builder.build_and_sign(keys, change_address=Address.from_primitive(caller.address))


async def deploy(sim: CardanoSimulator, validators: Validators) -> Chain:
    """Put both validators on chain as reference scripts of the first account."""
    owner = sim.accounts[0]
    chain = Chain(sim, validators, {})
    outputs = [
        TransactionOutput(Address.from_primitive(owner.address), Value(60_000_000), script=v.script)
        for v in (validators.escrow, validators.order)
    ]
    tx = await asyncio.to_thread(chain._build, owner, outputs, [])
    await chain.submit(tx)
    chain.references = {"escrow": await chain.output_of(tx, 0),
                        "order": await chain.output_of(tx, 1)}
    return chain
