"""The Cardano datum and redeemer codec: round trips, the documented layout, strict decoding."""

from __future__ import annotations

from typing import Any

import cbor2
import pytest
from hypothesis import given
from hypothesis import strategies as st
from pycardano import Address, Network, PointerAddress, RawPlutusData, VerificationKeyHash

from devnet.cardano.script_context import data_from_cbor
from relayer.auction.details import AuctionDetails, AuctionPoint
from relayer.chains.cardano.datums import Encodable, encode, to_plutus_data, to_primitive
from relayer.chains.cardano.escrow_datum import (
    Cancel,
    DstEscrowDatum,
    PublicCancel,
    PublicWithdraw,
    SrcEscrowDatum,
    Withdraw,
    decode_escrow_datum,
    decode_escrow_redeemer,
)
from relayer.chains.cardano.order_datum import (
    Fill,
    OrderDatum,
    Reclaim,
    decode_order_datum,
    decode_order_redeemer,
)
from relayer.chains.cardano.plutus_data import (
    LOVELACE,
    AssetClass,
    Credential,
    DatumError,
    OutputTag,
    PlutusAddress,
    decode_output_tag,
)
from relayer.orders.timelocks import Timelocks

naturals = st.integers(min_value=0, max_value=2**256)
u32 = st.integers(min_value=0, max_value=2**32 - 1)
hashes = st.binary(min_size=32, max_size=32)
credentials = st.builds(Credential, st.binary(min_size=28, max_size=28), st.booleans())
addresses = st.builds(PlutusAddress, credentials, st.none() | credentials)
assets = st.just(LOVELACE) | st.builds(
    AssetClass, st.binary(min_size=28, max_size=28), st.binary(max_size=32)
)
auctions = st.builds(
    AuctionDetails,
    start_time=u32, duration=u32, initial_rate_bump=u32,
    points=st.lists(st.builds(AuctionPoint, u32, u32), max_size=5).map(tuple),
    gas_bump_estimate=u32, gas_price_estimate=u32,
)
src_escrows = st.builds(
    SrcEscrowDatum, hashes, hashes, addresses, addresses, assets, naturals, naturals,
    naturals, naturals, naturals, naturals, naturals,
)
dst_escrows = st.builds(
    DstEscrowDatum, hashes, hashes, addresses, addresses, assets, naturals, naturals,
    naturals, naturals, naturals,
)
orders = st.builds(
    OrderDatum, hashes, addresses, assets, naturals, naturals, auctions, hashes, naturals,
    st.builds(Timelocks, u32, u32, u32, u32, u32, u32, u32), naturals, naturals, naturals,
    naturals,
)
escrow_redeemers = (st.builds(Withdraw, hashes) | st.builds(PublicWithdraw, hashes)
                    | st.just(Cancel()) | st.just(PublicCancel()))
order_redeemers = st.just(Reclaim()) | st.builds(
    Fill, naturals, naturals, naturals, st.lists(hashes, max_size=8).map(tuple)
)

KEY = b"\x11" * 28
MAKER = PlutusAddress(Credential(KEY), Credential(b"\x22" * 28, is_script=True))
ESCROW = SrcEscrowDatum(
    order_hash=b"\x01" * 32, hashlock=b"\x02" * 32, maker=MAKER, taker=PlutusAddress(
        Credential(b"\x33" * 28)), asset=LOVELACE, amount=10, safety_deposit=2,
    withdrawal=100, public_withdrawal=200, cancellation=300, public_cancellation=400,
    dst_amount=2**70,
)
ORDER = OrderDatum(
    order_hash=b"\x01" * 32, maker=MAKER, maker_asset=AssetClass(b"\x44" * 28, b"TUSD"),
    making_amount=100, taking_amount=90,
    auction=AuctionDetails(1_763_750_000, 180, 500_000, (AuctionPoint(250_000, 60),)),
    hashlock=b"\x02" * 32, parts=4, timelocks=Timelocks(12, 120, 600, 720, 12, 100, 500),
    src_safety_deposit=2_000_000, dst_safety_deposit=10**15, deadline=1_763_753_600,
)


def _round_trip(value: Encodable, decode: Any) -> None:
    raw = encode(value)
    assert decode(raw) == value
    assert decode(to_plutus_data(value)) == value
    assert decode(to_plutus_data(value).to_cbor()) == value   # pycardano's own encoding
    assert encode(decode(raw)) == raw
    data_from_cbor(raw)   # well-formed Plutus data for the script evaluator


@given(src_escrows | dst_escrows)
def test_escrow_datums_round_trip(datum: SrcEscrowDatum | DstEscrowDatum) -> None:
    _round_trip(datum, decode_escrow_datum)


@given(orders)
def test_order_datums_round_trip(datum: OrderDatum) -> None:
    _round_trip(datum, decode_order_datum)


@given(escrow_redeemers)
def test_escrow_redeemers_round_trip(redeemer: Withdraw | PublicWithdraw | Cancel) -> None:
    _round_trip(redeemer, decode_escrow_redeemer)


@given(order_redeemers)
def test_order_redeemers_round_trip(redeemer: Reclaim | Fill) -> None:
    _round_trip(redeemer, decode_order_redeemer)


@given(hashes, naturals)
def test_output_tags_round_trip(tx_id: bytes, index: int) -> None:
    _round_trip(OutputTag(tx_id, index), decode_output_tag)


@given(addresses, st.sampled_from([Network.TESTNET, Network.MAINNET]))
def test_addresses_convert_to_pycardano_and_back(address: PlutusAddress, net: Network) -> None:
    converted = address.to_address(net)
    assert PlutusAddress.from_address(converted) == address
    assert PlutusAddress.from_bytes(bytes(converted)) == address


def test_layout_is_the_documented_one() -> None:
    tag = cbor2.CBORTag
    maker = tag(121, [tag(121, [KEY]), tag(121, [tag(121, [tag(122, [b"\x22" * 28])])])])
    taker = tag(121, [tag(121, [b"\x33" * 28]), tag(122, [])])
    assert to_primitive(ESCROW) == tag(121, [
        b"\x01" * 32, b"\x02" * 32, maker, taker, tag(121, [b"", b""]), 10, 2,
        100, 200, 300, 400, 2**70,
    ])
    assert to_primitive(ORDER) == tag(121, [
        b"\x01" * 32, maker, tag(121, [b"\x44" * 28, b"TUSD"]), 100, 90,
        tag(121, [1_763_750_000, 180, 500_000, [tag(121, [250_000, 60])], 0, 0]),
        b"\x02" * 32, 4, ORDER.timelocks.pack(), 2_000_000, 10**15, 1_763_753_600, 0,
    ])
    assert to_primitive(Withdraw(b"\x05" * 32)) == tag(121, [b"\x05" * 32])
    assert to_primitive(PublicWithdraw(b"\x05" * 32)) == tag(122, [b"\x05" * 32])
    assert to_primitive(Cancel()) == tag(123, [])
    assert to_primitive(PublicCancel()) == tag(124, [])
    assert to_primitive(Reclaim()) == tag(121, [])
    assert to_primitive(Fill(1, 2, 3, (b"\x06" * 32,))) == tag(122, [1, 2, 3, [b"\x06" * 32]])
    assert to_primitive(OutputTag(b"\x07" * 32, 1)) == tag(121, [b"\x07" * 32, 1])
    # a destination escrow is constructor 1 with three stages and no promised amount
    dst = DstEscrowDatum(*[getattr(ESCROW, f) for f in DstEscrowDatum.__dataclass_fields__])
    assert to_primitive(dst).tag == 122 and len(to_primitive(dst).value) == 10


def test_general_constructor_forms_decode() -> None:
    raw = to_primitive(Cancel())
    assert decode_escrow_redeemer(cbor2.CBORTag(102, [2, raw.value])) == Cancel()


def test_the_src_escrow_of_a_fill_starts_each_stage_at_its_offset() -> None:
    taker = PlutusAddress(Credential(b"\x33" * 28))
    escrow = ORDER.src_escrow(taker=taker, amount=25, hashlock=b"\x09" * 32, dst_amount=77,
                              deployed_at_ms=1_000_000)
    assert (escrow.withdrawal, escrow.public_withdrawal, escrow.cancellation,
            escrow.public_cancellation) == (1_012_000, 1_120_000, 1_600_000, 1_720_000)
    assert (escrow.maker, escrow.asset, escrow.safety_deposit) == (
        ORDER.maker, ORDER.maker_asset, ORDER.src_safety_deposit)


def _replace_field(value: Encodable, index: int, new: Any) -> cbor2.CBORTag:
    data = to_primitive(value)
    fields = list(data.value)
    fields[index] = new
    return cbor2.CBORTag(data.tag, fields)


MALFORMED_ESCROWS = {
    "not CBOR": b"\xff\x00",
    "not a constructor": cbor2.dumps([1, 2]),
    "unknown constructor": cbor2.dumps(cbor2.CBORTag(123, to_primitive(ESCROW).value)),
    "missing field": cbor2.dumps(cbor2.CBORTag(121, to_primitive(ESCROW).value[:-1])),
    "extra field": cbor2.dumps(cbor2.CBORTag(121, [*to_primitive(ESCROW).value, 0])),
    "short order hash": cbor2.dumps(_replace_field(ESCROW, 0, b"\x01" * 31)),
    "hashlock not bytes": cbor2.dumps(_replace_field(ESCROW, 1, 5)),
    "negative amount": cbor2.dumps(_replace_field(ESCROW, 5, -1)),
    "amount as bytes": cbor2.dumps(_replace_field(ESCROW, 5, b"\x01")),
    "bool time": cbor2.dumps(_replace_field(ESCROW, 7, True)),
    "short key hash": cbor2.dumps(_replace_field(
        ESCROW, 3, cbor2.CBORTag(121, [cbor2.CBORTag(121, [b"\x01"]), cbor2.CBORTag(122, [])]))),
    "credential constructor 2": cbor2.dumps(_replace_field(
        ESCROW, 3, cbor2.CBORTag(121, [cbor2.CBORTag(123, [KEY]), cbor2.CBORTag(122, [])]))),
    "pointer address": cbor2.dumps(_replace_field(ESCROW, 3, cbor2.CBORTag(121, [
        cbor2.CBORTag(121, [KEY]),
        cbor2.CBORTag(121, [cbor2.CBORTag(122, [1, 2, 3])]),
    ]))),
    "lovelace with a name": cbor2.dumps(_replace_field(ESCROW, 4, cbor2.CBORTag(121, [b"",
                                                                                        b"x"]))),
    "short policy": cbor2.dumps(_replace_field(ESCROW, 4, cbor2.CBORTag(121, [b"\x01", b""]))),
    "long asset name": cbor2.dumps(_replace_field(
        ESCROW, 4, cbor2.CBORTag(121, [b"\x01" * 28, b"x" * 33]))),
    "not a Plutus tag": cbor2.dumps(cbor2.CBORTag(2000, [])),
}


@pytest.mark.parametrize("raw", MALFORMED_ESCROWS.values(), ids=MALFORMED_ESCROWS.keys())
def test_malformed_escrow_datums_are_refused(raw: bytes) -> None:
    with pytest.raises(DatumError) as err:
        decode_escrow_datum(raw)
    assert err.value.code == "INVALID_DATUM"


MALFORMED_ORDERS = {
    "timelocks with deployedAt": _replace_field(ORDER, 8, ORDER.timelocks.pack(5)),
    "negative filled": _replace_field(ORDER, 12, -3),
    "auction with 5 fields": _replace_field(
        ORDER, 5, cbor2.CBORTag(121, to_primitive(ORDER).value[5].value[:5])),
    "auction points not a list": _replace_field(
        ORDER, 5, cbor2.CBORTag(121, [1, 2, 3, b"", 0, 0])),
    "escrow datum as an order": to_primitive(ESCROW),
}


@pytest.mark.parametrize("data", MALFORMED_ORDERS.values(), ids=MALFORMED_ORDERS.keys())
def test_malformed_order_datums_are_refused(data: cbor2.CBORTag) -> None:
    with pytest.raises(DatumError):
        decode_order_datum(cbor2.dumps(data))


@pytest.mark.parametrize("data", [
    cbor2.CBORTag(121, [b"\x01" * 31]),          # a secret must be 32 bytes
    cbor2.CBORTag(123, [b"\x01" * 32]),          # Cancel takes no field
    cbor2.CBORTag(125, []),                      # no constructor 4
    cbor2.CBORTag(121, []),
])
def test_malformed_escrow_redeemers_are_refused(data: cbor2.CBORTag) -> None:
    with pytest.raises(DatumError):
        decode_escrow_redeemer(cbor2.dumps(data))


@pytest.mark.parametrize("data", [
    cbor2.CBORTag(122, [0, 0, 0]),
    cbor2.CBORTag(122, [0, 0, -1, []]),
    cbor2.CBORTag(122, [0, 0, 0, [b"\x01"]]),
    cbor2.CBORTag(122, [0, 0, 0, b""]),
    cbor2.CBORTag(121, [0]),
])
def test_malformed_order_redeemers_are_refused(data: cbor2.CBORTag) -> None:
    with pytest.raises(DatumError):
        decode_order_redeemer(cbor2.dumps(data))


def test_constructing_an_invalid_value_is_refused() -> None:
    with pytest.raises(DatumError):
        Withdraw(b"short")
    with pytest.raises(DatumError):
        AssetClass(b"", b"name")
    with pytest.raises(DatumError):
        OrderDatum(**{**{f: getattr(ORDER, f) for f in OrderDatum.__dataclass_fields__},
                      "timelocks": Timelocks(1, 2, 3, 2**32, 5, 6, 7)})


def test_pointer_addresses_are_refused() -> None:
    pointer = Address(VerificationKeyHash(KEY), PointerAddress(1, 2, 3), network=Network.TESTNET)
    with pytest.raises(DatumError):
        PlutusAddress.from_address(pointer)
    with pytest.raises(DatumError):
        PlutusAddress.from_bytes(b"\x01\x02")


plutus_data = st.recursive(
    st.integers(min_value=-(2**70), max_value=2**70) | st.binary(max_size=40) | st.booleans(),
    lambda inner: st.lists(inner, max_size=14) | st.builds(
        cbor2.CBORTag, st.sampled_from([102, 121, 122, 123, 124, 1280]),
        st.lists(inner, max_size=14),
    ),
    max_leaves=40,
)


@given(plutus_data)
def test_decoders_raise_only_datum_errors(data: Any) -> None:
    for decode in (decode_escrow_datum, decode_order_datum, decode_escrow_redeemer,
                   decode_order_redeemer, decode_output_tag):
        try:
            decode(cbor2.dumps(data))
        except DatumError:
            pass


def test_decoders_accept_pycardano_raw_data() -> None:
    assert decode_escrow_datum(RawPlutusData(to_primitive(ESCROW))) == ESCROW
