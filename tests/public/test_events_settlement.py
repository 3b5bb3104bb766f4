"""Settlement events reach the `secrets` and `actions` channels (and only those)."""

from __future__ import annotations

import json

import msgspec

from relayer.auction.gas import StaticBaseFee
from relayer.chains.escrows import EscrowBook
from relayer.orders.book import OrderBook
from relayer.public.events import PublicEvents
from relayer.public.fills import escrow_view
from relayer.security.principal import Scope
from relayer.settlement.events import PublicActionAvailable, SecretShared
from tests.chains.test_escrows import ESCROW, ORDER, created, point


def test_secret_shared_and_public_action_are_mapped() -> None:
    public = PublicEvents(OrderBook(), StaticBaseFee(0))
    (shared,) = public.map(SecretShared(order_hash="0xab", fill_id="ethereum:0x1",
                                        secret_index=2, secret_hash="0xcd",
                                        secret="0x" + "11" * 32, at=5))
    assert shared.event == "secret_shared" and shared.channels == ("secrets",)
    assert shared.required_scope is Scope.SECRETS
    assert json.loads(shared.data) == {"order_hash": "0xab", "fill_id": "ethereum:0x1",
                                       "idx": 2, "secret_hash": "0xcd",
                                       "secret": "0x" + "11" * 32, "at": 5}



def test_a_public_action_carries_its_escrow_as_rest_shows_it() -> None:
    escrows = EscrowBook()
    creation = created(point(12))
    escrows.apply(creation)
    public = PublicEvents(OrderBook(), StaticBaseFee(0), escrows=escrows)
    available = PublicActionAvailable(order_hash=ORDER, fill_id=f"ethereum:{ESCROW}",
                                      action="public_cancel", chain="ethereum",
                                      escrow=ESCROW, at=6)
    (action,) = public.map(available)
    assert action.event == "public_action" and action.channels == ("actions",)
    body = json.loads(action.data)
    assert body["action"] == "public_cancel" and body["secret"] is None
    state = escrows.get("ethereum", ESCROW)
    assert body["escrow"] == json.loads(msgspec.json.encode(escrow_view(state)))
    assert body["escrow"]["block_height"] == 12 and body["escrow"]["phase"] == "open"
    # The escrow left the chain before the action went out: nothing to announce.
    assert PublicEvents(OrderBook(), StaticBaseFee(0)).map(available) == []
