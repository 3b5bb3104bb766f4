from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pycardano import Address, Network, PaymentVerificationKey, ScriptHash, VerificationKeyHash

from relayer.config import load_settings
from relayer.errors import ValidationError
from relayer.networks.registry import ChainRegistry


@pytest.fixture(scope="module")
def chains() -> ChainRegistry:
    return ChainRegistry.from_settings(load_settings().chains)


@given(payment=st.binary(min_size=28, max_size=28), stake=st.none() | st.binary(min_size=28,
                                                                               max_size=28),
       script=st.booleans())
def test_cardano_addresses_agree_with_pycardano(payment: bytes, stake: bytes | None,
                                                script: bool) -> None:
    chain = ChainRegistry.from_settings(load_settings().chains).get("cardano", field="x")
    part = ScriptHash(payment) if script else VerificationKeyHash(payment)
    address = Address(part, None if stake is None else VerificationKeyHash(stake),
                      network=Network.TESTNET)
    parsed = chain.parse_address(str(address), field="receiver")
    assert parsed.raw == bytes(address)
    assert parsed.text == str(address)
    assert parsed.payment_key_hash == (None if script else payment)
    assert chain.parse_address(str(address).upper(), field="receiver").raw == bytes(address)


@pytest.mark.parametrize("text", [
    "addr_test1vpt780ulj0qpqs72xwftrvkfuztqxgr43zqk3j4m3x4tndg6qr3hz",  # checksum
    "addr_test1Vpt780ulj0qpqs72xwftrvkfuztqxgr43zqk3j4m3x4tndg6qr3hs",  # mixed case
    "stake_test1uqfu74w3wh4gfzu8m6e7j987h4lq9r3t7ef5gaw497uu85qsqfy27",  # reward address
    "addr_test1",
    "0x70997970C51812dc3A010C7d01b50e0d17dc79C8",
])
def test_bad_cardano_addresses(chains: ChainRegistry, text: str) -> None:
    with pytest.raises(ValidationError) as err:
        chains.get("cardano", field="x").parse_address(text, field="receiver")
    assert err.value.code == "INVALID_ADDRESS"


def test_mainnet_address_rejected_on_testnet(chains: ChainRegistry) -> None:
    key = PaymentVerificationKey(b"\x01" * 32)
    mainnet = str(Address(key.hash(), network=Network.MAINNET))
    with pytest.raises(ValidationError, match="mainnet"):
        chains.get("cardano", field="x").parse_address(mainnet, field="receiver")


def test_evm_checksum(chains: ChainRegistry) -> None:
    eth = chains.get("ethereum", field="x")
    good = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"
    assert eth.parse_address(good.lower(), field="m").text == good
    assert eth.parse_address("0x" + good[2:].upper(), field="m").text == good
    for bad in ("0x70997970c51812dc3A010C7d01b50e0d17dc79C8", "0x1234",
                "70997970C51812dc3A010C7d01b50e0d17dc79C8aa"):
        with pytest.raises(ValidationError):
            eth.parse_address(bad, field="m")
