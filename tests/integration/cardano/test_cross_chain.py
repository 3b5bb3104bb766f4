"""One secret opens an Ethereum escrow (the Solidity contracts on anvil) and a Cardano
escrow (the OpShin validator on the ledger simulator): both hash it with keccak-256, and
the Cardano monitor captures the same secret the Ethereum withdrawal revealed."""

from __future__ import annotations

import asyncio
import secrets

from pycardano import Address, TransactionOutput, Value

from devnet.cardano import CardanoSimulator
from devnet.ethereum import EthereumDevnet
from relayer.chains.cardano.escrow_datum import Withdraw
from relayer.chains.events import EscrowCreated, EscrowWithdrawn
from relayer.orders.timelocks import Stage
from relayer.signing.keccak import keccak256
from relayer.store.sqlite import SQLiteEventStore
from tests.contracts.evm.chain import DST_DEPOSIT, TIMELOCKS, Chain
from tests.integration.cardano.chain import Harness, dst_datum, key_hash, lock, spend, submit
from tests.integration.cardano.test_validators import ESCROW, REAL, slot_at, tag, utxos_at

ETH_AMOUNT = 10**16


def _ethereum_withdrawal(secret: bytes) -> bytes:
    """Create a destination escrow (native ETH) locked by keccak256(secret) and withdraw it
    with the secret; return the secret the ``EscrowWithdrawal`` event revealed."""
    with EthereumDevnet() as devnet:
        chain = Chain(devnet)
        immutables = (b"\x0c" * 32, keccak256(secret), int(chain.other, 16),
                      int(chain.resolver.address, 16), 0, ETH_AMOUNT, DST_DEPOSIT,
                      TIMELOCKS.pack())
        at = chain.now() + 5
        _, deployed = chain.create_dst(immutables, at + 10_000, at=at)
        escrow = chain.escrow_dst(chain.dst_address(deployed))
        receipt = chain.send(escrow, "withdraw", secret, deployed,
                             sender=chain.resolver.address,
                             at=TIMELOCKS.at(Stage.DST_WITHDRAWAL, at))
        (event,) = chain.events(escrow, "EscrowWithdrawal", receipt)
        assert chain.balance(chain.other) >= ETH_AMOUNT
        revealed: bytes = event["secret"]
        return revealed


async def test_the_same_secret_opens_an_ethereum_and_a_cardano_escrow(
        sim: CardanoSimulator, store: SQLiteEventStore) -> None:
    secret = secrets.token_bytes(32)
    revealed = await asyncio.to_thread(_ethereum_withdrawal, secret)
    assert revealed == secret

    harness = Harness(store=store, url=sim.url, scripts=REAL)
    await harness.start()
    try:
        maker, taker = sim.accounts[0], sim.accounts[1]
        datum = dst_datum(sim, maker=maker, taker=taker, secret=secret)
        await submit(sim, await asyncio.to_thread(lock, sim, taker, ESCROW, datum, 12_000_000))
        await sim.advance()
        lower = slot_at(sim, datum.withdrawal)
        await sim.advance(lower - sim.current_slot)
        (escrow,) = await asyncio.to_thread(utxos_at, sim, ESCROW)
        ref = f"{escrow.input.transaction_id}#{escrow.input.index}"
        payout = TransactionOutput(Address.from_primitive(maker.address), Value(datum.amount),
                                   datum=tag(ref))
        # The secret the Ethereum withdrawal made public opens the Cardano escrow.
        withdraw = await asyncio.to_thread(
            spend, sim, taker, escrow, ESCROW, Withdraw(revealed), outputs=[payout],
            required=[key_hash(taker.signing_key)], lower=lower, upper=lower + 60)
        await submit(sim, withdraw)
        await sim.advance()
        await harness.synced(sim)

        (created,) = harness.of_type(EscrowCreated)
        assert created.immutables.hashlock == "0x" + keccak256(secret).hex()
        (withdrawn,) = harness.of_type(EscrowWithdrawn)
        assert withdrawn.escrow == ref and withdrawn.secret == "0x" + secret.hex()
    finally:
        await harness.stop()
