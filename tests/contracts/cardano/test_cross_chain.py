"""One secret opens an Ethereum source escrow and a Cardano destination escrow: the
resolver withdraws on Cardano for the maker, which reveals the secret in the redeemer,
and then withdraws the Ethereum escrow with the secret read back from the Cardano block."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from pycardano import Address

from devnet.cardano import CardanoSimulator, GenesisConfig
from devnet.ethereum import EthereumDevnet
from relayer.chains.cardano.escrow_datum import DstEscrowDatum, Withdraw, decode_escrow_redeemer
from relayer.chains.cardano.plutus_data import LOVELACE, PlutusAddress
from relayer.chains.cardano.scripts import Validators
from relayer.orders.timelocks import Timelocks
from tests.contracts.cardano.onchain import deploy, pay, plutus_address, tag_of
from tests.contracts.evm.chain import TIMELOCKS
from tests.contracts.evm.chain import Chain as EvmChain

ADA_AMOUNT, ADA_DEPOSIT = 100_000_000, 2_000_000   # above the curve at its start


@pytest.fixture
def evm() -> Iterator[EvmChain]:
    with EthereumDevnet() as devnet:
        yield EvmChain(devnet)


async def test_one_secret_opens_both_escrows(evm: EvmChain, validators: Validators) -> None:
    async with CardanoSimulator(GenesisConfig(seed=bytes(range(32)))) as sim:
        cardano = await deploy(sim, validators)
        receiver, resolver = sim.accounts[0], sim.accounts[1]
        receiver_raw = bytes(Address.from_primitive(receiver.address))
        signed = evm.make_order(receiver=receiver_raw)
        evm.approve(evm.maker.address, signed.order.making_amount)
        _, src, _ = evm.create_src(signed, dst_amount=ADA_AMOUNT)

        now = cardano.slot
        escrow = DstEscrowDatum(
            order_hash=signed.order_hash, hashlock=signed.secrets.hashlock,
            maker=PlutusAddress.from_bytes(receiver_raw), taker=plutus_address(resolver),
            asset=LOVELACE, amount=ADA_AMOUNT, safety_deposit=ADA_DEPOSIT,
            withdrawal=cardano.ms(now + 10), public_withdrawal=cardano.ms(now + 100),
            cancellation=cardano.ms(now + 500),
        )
        locked = await cardano.lock(resolver, validators.escrow, ADA_AMOUNT + ADA_DEPOSIT,
                                    escrow)
        await sim.advance(10)
        slot = cardano.slot
        tx = await cardano.spend(resolver, locked, validators.escrow,
                                 Withdraw(signed.secrets.secrets[0]),
                                 [pay(escrow.maker, ADA_AMOUNT, datum=tag_of(locked))],
                                 lower=slot, upper=slot + 10, signers=[resolver])
        await cardano.submit(tx)
        (validated,) = sim.tip.transactions
        (redeemer,) = validated.tx.redeemers
        revealed = decode_escrow_redeemer(redeemer.data)
        assert isinstance(revealed, Withdraw)

    deployed_at = Timelocks.unpack(src[7])[1]
    escrow_src = evm.escrow_src(evm.src_address(src))
    receipt = evm.send(escrow_src, "withdraw", revealed.secret, src,
                       sender=evm.resolver.address, at=deployed_at + TIMELOCKS.src_withdrawal)
    (event,) = evm.events(escrow_src, "EscrowWithdrawal", receipt)
    assert event["secret"] == signed.secrets.secrets[0]
    assert evm.balance(evm.resolver.address, evm.token) >= signed.order.making_amount
