"""How escrows, fills, released secrets and public actions look outside: the one shape of
each, shared by REST (``/api/orders/{hash}/fills``, ``/api/actions/public``), the
WebSocket and webhooks (``escrow_created``, ``public_action``)."""

from __future__ import annotations

from typing import Annotated

import msgspec
from msgspec import Meta

from relayer.chains.escrows import EscrowPhase, EscrowState
from relayer.chains.events import ChainPoint, DstComplement, EscrowCreated, EscrowImmutables
from relayer.settlement.fills import FillStatus
from relayer.settlement.ledger import Fill


class EscrowView(msgspec.Struct):
    order_hash: str
    chain: str
    role: str
    """``src`` (holds the maker's funds) or ``dst`` (pays the maker's receiver)."""
    escrow: str
    hashlock: str
    maker: str
    taker: str
    token: str
    amount: str
    safety_deposit: str
    timelocks: str
    dst_amount: str | None
    """The destination amount a source escrow promises; ``None`` for destination escrows."""
    phase: str
    """``open``, ``withdrawn`` or ``cancelled`` as the relayer last indexed it."""
    tx_id: str
    """The transaction that created the escrow."""
    block_height: int
    block_id: str
    timestamp: int


def escrow_view(state: EscrowState | None) -> EscrowView | None:
    if state is None:
        return None
    return _view(state.chain, str(state.role), state.escrow, state.immutables,
                 state.complement, state.created, str(state.phase))


def created_view(event: EscrowCreated) -> EscrowView:
    """An escrow as its creation shows it (nothing has happened to it yet)."""
    return _view(event.point.chain, str(event.role), event.escrow, event.immutables,
                 event.complement, event.point, str(EscrowPhase.OPEN))


def _view(chain: str, role: str, escrow: str, terms: EscrowImmutables,
          complement: DstComplement | None, point: ChainPoint, phase: str) -> EscrowView:
    return EscrowView(
        order_hash=terms.order_hash, chain=chain, role=role, escrow=escrow,
        hashlock=terms.hashlock, maker=terms.maker, taker=terms.taker, token=terms.token,
        amount=str(terms.amount), safety_deposit=str(terms.safety_deposit),
        timelocks=str(terms.timelocks),
        dst_amount=None if complement is None else str(complement.amount), phase=phase,
        tx_id=point.tx_id, block_height=point.height, block_id=point.block_id,
        timestamp=point.timestamp)


class FillView(msgspec.Struct):
    fill_id: str
    idx: int
    status: FillStatus
    reasons: list[str]
    """Why the secret is withheld (stable codes, docs/settlement.md); empty once out."""
    src_escrow: EscrowView | None
    dst_escrow: EscrowView | None


class FillList(msgspec.Struct):
    order_hash: str
    fills: list[FillView]


def fill_view(fill: Fill) -> FillView:
    return FillView(fill_id=fill.fill_id, idx=fill.secret_index, status=fill.status,
                    reasons=list(fill.reasons), src_escrow=escrow_view(fill.src),
                    dst_escrow=escrow_view(fill.dst))


class SecretView(msgspec.Struct):
    idx: int
    secret: str
    secret_hash: str
    fill_id: str
    source: str
    released_at: int


class SecretList(msgspec.Struct):
    order_hash: str
    secrets: list[SecretView]


class PublicActionView(msgspec.Struct):
    action: str
    """``public_withdraw`` or ``public_cancel``."""
    order_hash: str
    fill_id: str
    escrow: EscrowView
    secret: Annotated[str | None, Meta(description=(
        "the secret a public withdraw needs; null for a public cancel, on the WebSocket and"
        " in webhooks, and for callers whose API key lacks the secrets scope"))]


class PublicActionList(msgspec.Struct):
    actions: list[PublicActionView]
