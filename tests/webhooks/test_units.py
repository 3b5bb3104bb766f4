"""Pure parts: signatures, the retry schedule, sealing, filters, delivery statuses."""

from __future__ import annotations

import hashlib
import hmac
import random
import stat
from pathlib import Path

import pytest

from relayer.errors import ConfigError, StoreError, TransitionError
from relayer.webhooks.backoff import RetryPolicy
from relayer.webhooks.model import (
    Attempt,
    Delivery,
    DeliveryStatus,
    Filters,
    Webhook,
)
from relayer.webhooks.sealing import SecretBox, load_key
from relayer.webhooks.signing import new_secret, signature_header, verify

BODY = b'{"id":"dlv_1","event":"order_created"}'


def test_signature_is_hmac_sha256_of_timestamp_dot_body() -> None:
    secret = new_secret().encode()
    header = signature_header(secret, 1_700_000_000, BODY)
    expected = hmac.new(secret, b"1700000000." + BODY, hashlib.sha256).hexdigest()
    assert header == f"t=1700000000,v1={expected}"
    assert verify(secret, header, BODY, now=1_700_000_100)


@pytest.mark.parametrize("change", ["body", "secret", "timestamp", "stale", "garbage"])
def test_signature_refuses_any_change(change: str) -> None:
    secret = b"whsec_test"
    header = signature_header(secret, 1_700_000_000, BODY)
    now = 1_700_000_000
    if change == "body":
        assert not verify(secret, header, BODY + b" ", now=now)
    elif change == "secret":
        assert not verify(b"whsec_other", header, BODY, now=now)
    elif change == "timestamp":
        assert not verify(secret, header.replace("t=1700000000", "t=1700000001"), BODY, now=now)
    elif change == "stale":
        assert not verify(secret, header, BODY, now=now + 301)
    else:
        assert not verify(secret, "v1=abc", BODY, now=now)


def test_secrets_are_long_and_distinct() -> None:
    made = {new_secret() for _ in range(100)}
    assert len(made) == 100
    assert all(s.startswith("whsec_") and len(s) >= 48 for s in made)


def test_backoff_doubles_up_to_the_cap_with_bounded_jitter() -> None:
    policy = RetryPolicy(max_attempts=10, initial_seconds=2.0, max_seconds=60.0, jitter=0.25)
    assert [policy.nominal(n) for n in range(1, 8)] == [2, 4, 8, 16, 32, 60, 60]
    rng = random.Random(7)
    delays = [policy.delay(3, rng) for _ in range(500)]
    assert min(delays) >= 6.0 and max(delays) <= 8.0
    assert max(delays) - min(delays) > 1.5, "jitter spreads retries"
    assert not policy.gives_up_after(9) and policy.gives_up_after(10)


def test_no_jitter_means_exact_delays() -> None:
    policy = RetryPolicy(max_attempts=3, initial_seconds=1.5, max_seconds=100.0, jitter=0.0)
    assert policy.delay(2, random.Random()) == 3.0


def test_sealed_secret_opens_only_with_its_key_and_webhook() -> None:
    box = SecretBox(bytes(range(32)))
    sealed = box.seal(b"whsec_abc", context="wh_1")
    assert b"whsec_abc" not in sealed.encode()
    assert box.open(sealed, context="wh_1", fingerprint=box.fingerprint) == b"whsec_abc"
    with pytest.raises(StoreError):
        box.open(sealed, context="wh_2", fingerprint=box.fingerprint)
    other = SecretBox(bytes(32))
    with pytest.raises(ConfigError) as refused:
        other.open(sealed, context="wh_1", fingerprint=box.fingerprint)
    assert refused.value.details["key"] == "webhooks.secret_key"
    assert box.seal(b"x", context="a") != box.seal(b"x", context="a"), "fresh nonce each time"


def test_key_file_is_created_private_and_reused(tmp_path: Path) -> None:
    key = load_key("", "", str(tmp_path))
    path = tmp_path / "webhook-secrets.key"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_key("", "", str(tmp_path)) == key and len(key) == 32
    assert load_key("ab" * 32, "", str(tmp_path)) == bytes([0xAB]) * 32


@pytest.mark.parametrize("value", ["abc", "zz" * 32, "ab" * 31])
def test_bad_configured_key_is_a_config_error(value: str, tmp_path: Path) -> None:
    with pytest.raises(ConfigError):
        load_key(value, "", str(tmp_path))
    bad = tmp_path / "bad.key"
    bad.write_text(value)
    with pytest.raises(ConfigError):
        load_key("", str(bad), str(tmp_path))


def test_filters_match_event_chain_and_maker() -> None:
    everything = Filters(frozenset({"order_created"}), frozenset(), frozenset())
    assert everything.matches("order_created", ("ethereum", "cardano"), "0xA")
    assert not everything.matches("order_cancelled", ("ethereum", "cardano"), "0xA")
    chains = Filters(frozenset({"order_created"}), frozenset({"cardano"}), frozenset())
    assert chains.matches("order_created", ("ethereum", "cardano"), None)
    assert chains.matches("order_created", ("cardano", "ethereum"), None)
    assert not chains.matches("order_created", ("ethereum", "polygon"), None)
    assert not chains.matches("order_created", None, None)
    makers = Filters(frozenset({"order_created"}), frozenset(), frozenset({"0xA"}))
    assert makers.matches("order_created", None, "0xA")
    assert not makers.matches("order_created", None, "0xB")
    assert not makers.matches("order_created", None, None)


def test_a_webhook_never_shows_its_secret() -> None:
    webhook = Webhook(webhook_id="wh_1", owner="k", url="https://a.example/h",
                      filters=Filters(frozenset(), frozenset(), frozenset()), description="",
                      created_at=1, secret=b"whsec_hidden")
    assert "whsec_hidden" not in repr(webhook) and "whsec_hidden" not in str(webhook)
    key = bytes(range(32))
    assert key.hex() not in repr(SecretBox(key)) and repr(key) not in repr(SecretBox(key))


def test_finished_deliveries_take_no_more_attempts() -> None:
    delivery = Delivery(webhook_id="wh", delivery_id="dlv", event="order_created",
                        order_hash="0x", body=b"{}", created_at=1.0)
    attempt = Attempt(number=1, at=2.0, duration_ms=5, status_code=500, error="HTTP 500")
    delivery.record(attempt, DeliveryStatus.PENDING, 4.0)
    assert delivery.next_attempt_at == 4.0
    delivery.record(attempt, DeliveryStatus.DELIVERED, None)
    assert delivery.next_attempt_at is None
    with pytest.raises(TransitionError):
        delivery.record(attempt, DeliveryStatus.PENDING, 9.0)
