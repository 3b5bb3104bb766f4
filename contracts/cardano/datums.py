# ruff: noqa  (OpShin source: star imports are its idiom)
"""The Plutus data of the escrow and order validators (docs/protocol.md, "Cardano datums
and redeemers"); `relayer/chains/cardano/datums.py` is the off-chain codec of the same
layout. Assets use the prelude's `Token(policy_id, token_name)`, lovelace being
`Token(b"", b"")`."""

from opshin.prelude import *


@dataclass()
class SrcEscrowDatum(PlutusData):
    """A source escrow: created by an order's Fill; times are POSIX ms."""

    CONSTR_ID = 0
    order_hash: bytes
    hashlock: bytes
    maker: Address
    taker: Address
    asset: Token
    amount: int
    safety_deposit: int
    withdrawal: int
    public_withdrawal: int
    cancellation: int
    public_cancellation: int
    dst_amount: int


@dataclass()
class DstEscrowDatum(PlutusData):
    """A destination escrow: created by a resolver for the maker's receiver."""

    CONSTR_ID = 1
    order_hash: bytes
    hashlock: bytes
    maker: Address
    taker: Address
    asset: Token
    amount: int
    safety_deposit: int
    withdrawal: int
    public_withdrawal: int
    cancellation: int


@dataclass()
class Withdraw(PlutusData):
    CONSTR_ID = 0
    secret: bytes


@dataclass()
class PublicWithdraw(PlutusData):
    CONSTR_ID = 1
    secret: bytes


@dataclass()
class Cancel(PlutusData):
    CONSTR_ID = 2


@dataclass()
class PublicCancel(PlutusData):
    CONSTR_ID = 3


@dataclass()
class AuctionPoint(PlutusData):
    CONSTR_ID = 0
    rate_bump: int
    delay: int


@dataclass()
class Auction(PlutusData):
    """The order's auction details, unpacked; times in unix seconds."""

    CONSTR_ID = 0
    start_time: int
    duration: int
    initial_rate_bump: int
    points: List[AuctionPoint]
    gas_bump_estimate: int
    gas_price_estimate: int


@dataclass()
class OrderDatum(PlutusData):
    CONSTR_ID = 0
    order_hash: bytes
    maker: Address
    maker_asset: Token
    making_amount: int
    taking_amount: int
    auction: Auction
    hashlock: bytes
    parts: int
    timelocks: int
    src_safety_deposit: int
    dst_safety_deposit: int
    deadline: int
    filled: int


@dataclass()
class Reclaim(PlutusData):
    CONSTR_ID = 0


@dataclass()
class Fill(PlutusData):
    CONSTR_ID = 1
    escrow_output: int
    order_output: int
    secret_index: int
    proof: List[bytes]
