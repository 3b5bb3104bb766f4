"""Settlement events reach the `secrets` and `actions` channels (and only those)."""

from __future__ import annotations

import json

from relayer.auction.gas import StaticBaseFee
from relayer.orders.book import OrderBook
from relayer.public.events import PublicEvents
from relayer.security.principal import Scope
from relayer.settlement.events import PublicActionAvailable, SecretShared


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
    (action,) = public.map(PublicActionAvailable(order_hash="0xab", fill_id="ethereum:0x1",
                                                 action="public_cancel", chain="ethereum",
                                                 escrow="0x1", at=6))
    assert action.event == "public_action" and action.channels == ("actions",)
    assert json.loads(action.data)["action"] == "public_cancel"
