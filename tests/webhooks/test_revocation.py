"""Revocation reaches webhooks: a webhook whose owner key was revoked, or lost the scope of
an event, stops getting it, including deliveries already waiting for a retry."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from relayer.clock import FakeClock
from relayer.events.bus import EventBus
from relayer.security.keys import StoredKey, generate_key
from relayer.security.principal import Scope
from relayer.settlement.events import SecretShared
from relayer.webhooks.access import REVOKED
from tests.webhooks.conftest import Keys, running, until, webhook_settings
from tests.webhooks.receiver import Receiver
from tests.webhooks.test_delivery import submit
from tests.webhooks.tls import ReceiverCertificate


def share(bus: EventBus, order_hash: str, n: int) -> None:
    bus.publish(SecretShared(order_hash=order_hash, fill_id=f"f{n}", secret_index=0,
                             secret_hash="0x" + "11" * 32, secret="0x" + "22" * 32, at=n))


async def test_revoked_or_narrowed_keys_stop_their_webhooks(
        tmp_path: Path, clock: FakeClock, keys: Keys, receiver: Receiver,
        certificate: ReceiverCertificate) -> None:
    admin = generate_key(frozenset({Scope.ADMIN}))
    lines = [k.stored for k in (keys.hooks, keys.secrets, keys.other, keys.reader)]
    keys.path.write_text("".join(k.to_line() + "\n" for k in (*lines, admin.stored)))
    receiver.plan("/retry", 500)
    settings = webhook_settings(tmp_path, keys, certificate,
                                **{"webhooks.retry_jitter": 0.0})
    async with running(settings, clock, keys) as relayer:
        secrets_hook = await relayer.register(keys.secrets, url=receiver.url("/secrets"))
        retried = await relayer.register(keys.secrets, url=receiver.url("/retry"),
                                         events=["secret_shared"])
        orders_hook = await relayer.register(keys.other, url=receiver.url("/orders"),
                                             events=["order_created"])
        bus: EventBus = relayer.app.state.relayer.bus
        order_hash = await submit(relayer)
        share(bus, order_hash, 1)
        await receiver.wait_for(1, "/retry")  # its first attempt failed: a retry waits
        await until(lambda: relayer.webhooks.dispatcher.stats.retries_scheduled == 1)
        await receiver.wait_for(2, "/secrets")  # order_created and secret_shared
        await receiver.wait_for(1, "/orders")

        # keys.secrets keeps webhooks but loses secrets; keys.other is revoked.
        narrowed = StoredKey(key_id=keys.secrets.stored.key_id, sha256=keys.secrets.stored.sha256,
                             scopes=frozenset({Scope.WEBHOOKS}))
        keys.path.write_text("".join(k.to_line() + "\n"
                                     for k in (keys.hooks.stored, narrowed, admin.stored)))
        reloaded = await relayer.client.post(
            "/api/admin/keys/reload", headers={"authorization": f"Bearer {admin.api_key}"})
        assert reloaded.status_code == 200

        # The waiting retry of secret_shared is not sent: it fails with the reason.
        clock.advance(10)
        assert await relayer.webhooks.run_due() == 1
        await until(lambda: relayer.webhooks.dispatcher.stats.failed == 1)
        (waiting,) = await relayer.deliveries(retried["webhook"]["id"],
                                              key=keys.secrets)
        assert waiting["status"] == "failed" and waiting["last_error"] == REVOKED
        assert len(receiver.on("/retry")) == 1

        # New events: no secret_shared for the narrowed key, nothing for the revoked one;
        # order events still reach the narrowed key's webhook.
        share(bus, order_hash, 2)
        await submit(relayer, "ada_to_eth")
        await receiver.wait_for(3, "/secrets")
        events: list[Any] = [json.loads(r.body)["event"] for r in receiver.on("/secrets")]
        assert events.count("secret_shared") == 1 and events[-1] == "order_created"
        assert len(receiver.on("/orders")) == 1
        assert len(receiver.on("/retry")) == 1
        assert relayer.webhooks.registry.get(keys.other.stored.key_id,
                                             orders_hook["webhook"]["id"])  # still listed
        assert secrets_hook["webhook"]["id"]
