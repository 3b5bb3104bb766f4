"""The theft a forged order lock enables, on the simulator running the committed validators:
an attacker pays a little of its own to the order script with a copy of the order's datum
(same order hash, a tiny making amount) and fills it into a source escrow locked with the
same secret hash as the maker's. The validator accepts that fill, so the monitor must tell
the two escrows apart: the maker's escrows (also the one filled from the continuing output
of a partial fill) carry the maker's registered lock as their root, the forged one its own.
"""

from __future__ import annotations

import asyncio
import dataclasses

from pycardano import Address, TransactionOutput, Value, plutus_script_hash

from devnet.cardano import CardanoSimulator, GenesisAccount
from relayer.auction import taking_amount
from relayer.chains.cardano.datums import to_plutus_data
from relayer.chains.cardano.decode import ScriptHashes
from relayer.chains.cardano.funds import expected_datum
from relayer.chains.cardano.order_datum import Fill, OrderDatum
from relayer.chains.cardano.plutus_data import PlutusAddress
from relayer.chains.events import EscrowCreated, LockOrigin
from relayer.networks.registry import ChainRegistry
from relayer.orders.merkle import merkle_proof, secret_index
from relayer.orders.signer import make_secrets
from relayer.store.sqlite import SQLiteEventStore
from tests.factories import (
    CARDANO_MAKER_KEY,
    cardano_address,
    make_settings,
    make_validator,
    submission,
)
from tests.integration.cardano.chain import (
    Harness,
    abi_script,
    key_hash,
    lock,
    pay,
    script_address,
    spend,
    submit,
    utxos_at,
)

ADA = 1_000_000
ESCROW = abi_script("escrow")
ORDER = abi_script("order")
REAL = ScriptHashes(escrow=frozenset({bytes(plutus_script_hash(ESCROW).payload)}),
                    order=frozenset({bytes(plutus_script_hash(ORDER).payload)}))
MAKER = GenesisAccount(address=cardano_address(), signing_key=CARDANO_MAKER_KEY, lovelace=0)


async def _fill(sim: CardanoSimulator, resolver: GenesisAccount, ref: str, datum: OrderDatum,
                amount: int, hashlock: bytes, *, index: int = 0,
                proof: tuple[bytes, ...] = ()) -> str:
    """``resolver`` fills ``amount`` of the order output ``ref`` (whose datum is ``datum``)
    into a source escrow at output 0, leaving the continuing output at output 1 when
    something remains; returns the fill's transaction id."""
    await sim.advance(5)
    lower = sim.current_slot
    lower_ms = sim.genesis.slot_to_posix_ms(lower)
    escrow = datum.src_escrow(
        taker=PlutusAddress.from_address(Address.from_primitive(resolver.address)),
        amount=amount, hashlock=hashlock, deployed_at_ms=lower_ms,
        dst_amount=taking_amount(datum.taking_amount, datum.auction, lower_ms // 1000))
    outputs = [TransactionOutput(script_address(ESCROW), Value(amount + escrow.safety_deposit),
                                 datum=to_plutus_data(escrow))]
    (utxo,) = [u for u in await asyncio.to_thread(utxos_at, sim, ORDER)
               if f"{u.input.transaction_id}#{u.input.index}" == ref]
    if datum.filled + amount < datum.making_amount:
        following = dataclasses.replace(datum, filled=datum.filled + amount)
        outputs.append(TransactionOutput(script_address(ORDER),
                                         Value(utxo.output.amount.coin - amount),
                                         datum=to_plutus_data(following)))
    tx = await asyncio.to_thread(
        spend, sim, resolver, utxo, ORDER,
        Fill(escrow_output=0, order_output=1, secret_index=index, proof=proof),
        outputs=outputs, required=[key_hash(resolver.signing_key)],
        lower=lower, upper=lower + 100)
    await submit(sim, tx)
    block = await sim.advance()
    assert block.transactions[0].executions, "the order validator ran"
    return str(tx.id)


async def test_a_forged_locks_escrow_roots_at_the_forgery_and_the_makers_at_its_lock(
        sim: CardanoSimulator, store: SQLiteEventStore) -> None:
    resolver, attacker = sim.accounts[1], sim.accounts[2]
    await submit(sim, await asyncio.to_thread(pay, sim, sim.accounts[0], MAKER.address,
                                              500_000_000))
    await sim.advance()
    now = sim.genesis.slot_to_posix_ms(sim.current_slot) // 1000
    settings = make_settings()
    secrets = make_secrets(2)
    wire = submission("ada_to_eth", now=now, parts=2, secrets=secrets)
    signed = make_validator(settings).accept(wire, now=now)
    order = expected_datum(signed, ChainRegistry.from_settings(settings.chains))
    harness = Harness(store=store, url=sim.url, scripts=REAL)
    await harness.start()
    try:
        # The maker's lock: the order's registered `src_order_utxo`.
        locked = await asyncio.to_thread(lock, sim, MAKER, ORDER, order, order.making_amount)
        await submit(sim, locked)
        await sim.advance()
        registered = f"{locked.id}#0"

        # A resolver fills the first half with secret 0, leaving the continuing output.
        half = order.making_amount // 2
        first = secret_index(0, half, order.making_amount, order.parts)
        first_tx = await _fill(sim, resolver, registered, order, half, secrets.hashes[first],
                               index=first,
                               proof=tuple(merkle_proof(secrets.hashes, first)))
        continuing = f"{first_tx}#1"

        # The attacker copies the datum as a one-part order of 3 ADA locked with secret
        # 0's hash, pays 3 ADA of its own to the order script and fills it.
        forged_datum = dataclasses.replace(order, making_amount=3 * ADA, parts=1,
                                           hashlock=secrets.hashes[first])
        forged_lock = await asyncio.to_thread(lock, sim, attacker, ORDER, forged_datum, 3 * ADA)
        await submit(sim, forged_lock)
        await sim.advance()
        forged = f"{forged_lock.id}#0"
        forged_tx = await _fill(sim, attacker, forged, forged_datum, 3 * ADA,
                                secrets.hashes[first])

        # The resolver completes the order from the continuing output with the last secret.
        after_first = dataclasses.replace(order, filled=half)
        last = secret_index(half, order.making_amount - half, order.making_amount,
                            order.parts)
        last_tx = await _fill(sim, resolver, continuing, after_first,
                              order.making_amount - half, secrets.hashes[last], index=last,
                              proof=tuple(merkle_proof(secrets.hashes, last)))
        await harness.synced(sim)

        origins = {e.escrow: e.origin for e in harness.of_type(EscrowCreated)}
        assert origins == {
            f"{first_tx}#0": LockOrigin(lock=registered, root=registered, filled_before=0,
                                        depth=0),
            f"{forged_tx}#0": LockOrigin(lock=forged, root=forged, filled_before=0, depth=0),
            f"{last_tx}#0": LockOrigin(lock=continuing, root=registered, filled_before=half,
                                       depth=1),
        }
        # Same order, same secret hash: only the lineage tells the forgery apart.
        forged_escrow = harness.escrows.get("cardano", f"{forged_tx}#0")
        makers_escrow = harness.escrows.get("cardano", f"{first_tx}#0")
        assert forged_escrow is not None and makers_escrow is not None
        assert forged_escrow.immutables.hashlock == makers_escrow.immutables.hashlock
        assert forged_escrow.order_hash == makers_escrow.order_hash == signed.order_hash
        assert forged_escrow.origin == LockOrigin(forged, forged, 0, 0)
    finally:
        await harness.stop()
