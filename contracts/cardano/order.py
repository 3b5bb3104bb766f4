# ruff: noqa  (OpShin source: star imports and `assert False` are its idioms)
"""The order validator (Cardano as source chain), parameterized by the escrow script hash.

Reclaim: the maker's payment key signs; nothing else is checked.

Fill: the only input from this script; the output at `escrow_output` is a source escrow at
the escrow script's enterprise address whose inline datum is the order's terms for this
fill: same order hash, maker, asset and safety deposit, `amount` = the fill, stages at
lower bound + offset * 1000, the hashlock (or a Merkle leaf of the right secret index for
an order in parts), a taker whose key signs, and a `dst_amount` of at least the Dutch
curve's taking amount for the fill at the lower validity bound (floored to the second;
no gas adjustment: Cardano has no base fee). The escrow holds the fill and the safety
deposit. The fill must end by the order's deadline and its validity interval may span at
most MAX_FILL_VALIDITY_MS. What the order held beyond the fill stays with the maker: in
the continuing order output of a partial fill (datum: `filled` raised by the fill), or in
a payment to the maker tagged with the order's output reference when the fill completes
the order.
"""

from opshin.prelude import *
from opshin.std.builtins import *
from opshin.std.integrity import check_integrity
from datums import *
from checks import *

RATE_BUMP_DENOMINATOR = 10000000
MAX_FILL_VALIDITY_MS = 300000
STAGE_BITS = 4294967296


def auction_rate_bump(auction: Auction, t: int) -> int:
    """`relayer.auction.curve.auction_rate_bump`: the bump at unix time `t`."""
    start = auction.start_time
    end = start + auction.duration
    if t <= start:
        result = auction.initial_rate_bump
    elif t >= end:
        result = 0
    else:
        point_time = start
        point_bump = auction.initial_rate_bump
        found = False
        result = 0
        for point in auction.points:
            if not found:
                next_time = point_time + point.delay
                if t <= next_time:
                    result = ((t - point_time) * point.rate_bump + (next_time - t) * point_bump) // (next_time - point_time)
                    found = True
                else:
                    point_time = next_time
                    point_bump = point.rate_bump
        if not found:
            result = ((end - t) * point_bump) // (end - point_time)
    return result


def ceil_div(numerator: int, denominator: int) -> int:
    return (numerator + denominator - 1) // denominator


def fill_taking_amount(order: OrderDatum, fill_amount: int, t: int) -> int:
    """`relayer.auction.curve.fill_taking_amount` with a base fee of 0."""
    bump = auction_rate_bump(order.auction, t)
    whole = ceil_div(order.taking_amount * (RATE_BUMP_DENOMINATOR + bump), RATE_BUMP_DENOMINATOR)
    return ceil_div(whole * fill_amount, order.making_amount)


def secret_index(filled_before: int, amount: int, total: int, parts: int) -> int:
    if filled_before + amount == total:
        result = parts
    else:
        result = (filled_before + amount - 1) * parts // total
    return result


def merkle_verify(root: bytes, index: int, secret_hash: bytes, proof: List[bytes]) -> bool:
    """`relayer.orders.merkle.verify_proof`: leaf keccak(uint64 index || hash), sorted pairs."""
    node = keccak_256(integer_to_byte_string(True, 8, index) + secret_hash)
    for sibling in proof:
        if node <= sibling:
            node = keccak_256(node + sibling)
        else:
            node = keccak_256(sibling + node)
    return node == root


def stage(order: OrderDatum, deployed_at: int, index: int) -> int:
    """Absolute time (ms) of source stage `index` for an escrow deployed at `deployed_at`."""
    offset = (order.timelocks // (STAGE_BITS ** index)) % STAGE_BITS
    return deployed_at + offset * 1000


def check_hashlock(order: OrderDatum, fill: Fill, amount: int, hashlock: bytes) -> None:
    if order.parts == 1:
        assert amount == order.making_amount, "an order in one part is filled whole"
        assert hashlock == order.hashlock, "wrong hashlock"
    else:
        expected = secret_index(order.filled, amount, order.making_amount, order.parts)
        assert fill.secret_index == expected, "wrong secret index"
        if order.filled != 0:
            used = secret_index(0, order.filled, order.making_amount, order.parts)
            assert expected != used, "secret index already used"
        assert merkle_verify(order.hashlock, expected, hashlock, fill.proof), "invalid Merkle proof"


def check_fill(order: OrderDatum, fill: Fill, escrow_hash: bytes, own_ref: TxOutRef, own: TxOut, tx: TxInfo) -> None:
    own_address = own.address
    own_inputs = [i for i in tx.inputs if i.resolved.address.payment_credential == own_address.payment_credential]
    assert len(own_inputs) == 1, "a fill spends one order output"
    lower = lower_bound(tx)
    upper = upper_bound(tx)
    assert upper <= order.deadline * 1000, "the order's deadline has passed"
    assert upper - lower <= MAX_FILL_VALIDITY_MS, "the validity interval is too long"

    escrow_out = tx.outputs[fill.escrow_output]
    assert escrow_out.address == Address(ScriptCredential(escrow_hash), NoStakingCredential()), "the escrow output is not at the escrow script"
    escrow_datum = escrow_out.datum
    if isinstance(escrow_datum, SomeOutputDatum):
        escrow: SrcEscrowDatum = escrow_datum.datum
    else:
        assert False, "the escrow output has no inline datum"
    check_integrity(escrow)
    amount = escrow.amount
    assert amount > 0, "the fill amount must be positive"
    assert amount <= order.making_amount - order.filled, "the fill exceeds what remains"
    check_hashlock(order, fill, amount, escrow.hashlock)
    expected = SrcEscrowDatum(
        order.order_hash,
        escrow.hashlock,
        order.maker,
        escrow.taker,
        order.maker_asset,
        amount,
        order.src_safety_deposit,
        stage(order, lower, 0),
        stage(order, lower, 1),
        stage(order, lower, 2),
        stage(order, lower, 3),
        escrow.dst_amount,
    )
    assert escrow == expected, "the escrow datum does not match the order"
    assert signed_by(tx, escrow.taker), "the taker did not sign"
    required = fill_taking_amount(order, amount, lower // 1000)
    assert escrow.dst_amount >= required, "the promised amount is below the auction curve"

    ada = Token(b"", b"")
    asset = order.maker_asset
    is_ada = asset.policy_id == b""
    escrow_ada = order.src_safety_deposit + amount if is_ada else order.src_safety_deposit
    assert quantity(escrow_out.value, asset) >= amount, "the escrow does not hold the fill"
    assert quantity(escrow_out.value, ada) >= escrow_ada, "the escrow does not hold the safety deposit"

    rest_asset = quantity(own.value, asset) - amount
    rest_ada = quantity(own.value, ada) - amount if is_ada else quantity(own.value, ada)
    if order.filled + amount < order.making_amount:
        next_out = tx.outputs[fill.order_output]
        assert next_out.address == own_address, "the continuing output is not at the order"
        next_order = OrderDatum(
            order.order_hash,
            order.maker,
            order.maker_asset,
            order.making_amount,
            order.taking_amount,
            order.auction,
            order.hashlock,
            order.parts,
            order.timelocks,
            order.src_safety_deposit,
            order.dst_safety_deposit,
            order.deadline,
            order.filled + amount,
        )
        assert next_out.datum == SomeOutputDatum(next_order), "wrong continuing order datum"
        assert quantity(next_out.value, asset) >= rest_asset, "the continuing output lost the maker's asset"
        assert quantity(next_out.value, ada) >= rest_ada, "the continuing output lost the maker's lovelace"
    elif rest_asset > 0 or rest_ada > 0:
        assert pays(tx, order.maker, asset, rest_asset, rest_ada, own_ref), "the maker's leftover is not returned"


def validator(escrow_hash: bytes, context: ScriptContext) -> None:
    purpose: Spending = context.purpose
    order: OrderDatum = own_datum_unsafe(context)
    check_integrity(order)
    redeemer: Union[Reclaim, Fill] = context.redeemer
    check_integrity(redeemer)
    tx = context.transaction
    if isinstance(redeemer, Reclaim):
        assert signed_by(tx, order.maker), "the maker did not sign"
    else:
        own = own_spent_utxo(tx.inputs, purpose)
        check_fill(order, redeemer, escrow_hash, purpose.tx_out_ref, own, tx)
