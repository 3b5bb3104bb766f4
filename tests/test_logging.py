"""Logs: JSON or console, request ids and order hashes bound, secrets redacted and absent."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from dataclasses import asdict
from pathlib import Path
from typing import Any

import httpx
import pytest
import structlog
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from relayer.api.app import create_app
from relayer.api.request_id import RequestIdMiddleware, bind_order_hash
from relayer.clock import FakeClock
from relayer.config import load_settings
from relayer.errors import ConfigError
from relayer.log_setup import REDACTED, configure_logging, is_secret_name, redact_secrets
from relayer.metrics import Metrics
from relayer.orders.signer import cancel_digest_of, make_secrets, sign_evm
from relayer.orders.status import OrderStatus
from relayer.orders.wire import CustodyWire
from relayer.security.keys import generate_key
from relayer.security.principal import Scope
from relayer.settlement.custody import seal_secret
from relayer.settlement.events import SecretShared
from relayer.settlement.fills import FillStatus
from tests.factories import EVM_MAKER_KEY, make_settings, make_validator, submission, to_json
from tests.settlement.harness import Harness


@pytest.fixture
def log_output() -> Iterator[io.StringIO]:
    """Capture everything logged as the production JSON format; restore logging after."""
    root = logging.getLogger()
    saved = (root.handlers[:], root.level)
    stream = io.StringIO()
    configure_logging(format="json", level="debug", stream=stream, cache=False)
    try:
        yield stream
    finally:
        structlog.reset_defaults()
        root.handlers, root.level = saved[0], saved[1]


def lines(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]


def test_secret_names() -> None:
    for name in ("secret", "secrets", "maker_secret", "api_key", "X-API-Key", "Authorization",
                 "password", "signing_secret", "private_key", "secret_key", "cookie"):
        assert is_secret_name(name), name
    for name in ("secret_hash", "secret_hashes", "secret_index", "order_hash", "key_id",
                 "src_token", "maker", "status"):
        assert not is_secret_name(name), name


def test_redaction_reaches_nested_fields_and_text() -> None:
    key = generate_key(frozenset({Scope.READ})).api_key
    event = redact_secrets(None, "info", {
        "event": f"oops {key} leaked", "secret": "0x" + "11" * 32,
        "secret_hash": "0x" + "22" * 32,
        "request": {"headers": {"authorization": f"Bearer {key}", "accept": "*/*"}},
        "fills": [{"secret": "s", "index": 1}], "count": 3,
    })
    assert event == {
        "event": f"oops {REDACTED} leaked", "secret": REDACTED,
        "secret_hash": "0x" + "22" * 32,
        "request": {"headers": {"authorization": REDACTED, "accept": "*/*"}},
        "fills": [{"secret": REDACTED, "index": 1}], "count": 3,
    }


def test_json_lines_from_structlog_and_the_standard_library(log_output: io.StringIO) -> None:
    structlog.get_logger("relayer.test").info("thing_happened", secret="s3cret", amount="5")
    logging.getLogger("uvicorn.error").warning("server said %s", "hello")
    try:
        raise ValueError("boom")
    except ValueError:
        structlog.get_logger("relayer.test").exception("thing_failed")
    first, second, third = lines(log_output)
    assert first["event"] == "thing_happened" and first["secret"] == REDACTED
    assert first["amount"] == "5" and first["level"] == "info" and "timestamp" in first
    assert second["event"] == "server said hello" and second["level"] == "warning"
    assert second["logger"] == "uvicorn.error"
    assert third["level"] == "error" and "ValueError: boom" in third["exception"]
    assert "s3cret" not in log_output.getvalue()


def test_console_format_is_for_people() -> None:
    root = logging.getLogger()
    saved = (root.handlers[:], root.level)
    stream = io.StringIO()
    configure_logging(format="console", level="info", stream=stream, cache=False)
    try:
        structlog.get_logger("relayer.test").info("started", port=8080, password="pw")
        structlog.get_logger("relayer.test").debug("hidden")
    finally:
        structlog.reset_defaults()
        root.handlers, root.level = saved[0], saved[1]
    text = stream.getvalue()
    assert "started" in text and "port=8080" in text and "hidden" not in text
    assert "pw" not in text.replace("password", "") and not text.lstrip().startswith("{")


def test_ogmios_script_trials_are_dropped_and_its_other_warnings_kept(
        log_output: io.StringIO) -> None:
    """What the resolver's log was full of: ogmios-python's model of a UTxO tries a Plutus
    script (as Ogmios v6 and the simulator send it) as a native script first and logs the
    failed trial. Those lines go; a warning about anything else stays."""
    from ogmios.datatypes import Utxo

    utxo = Utxo(tx_id="00" * 32, index=0, address="addr_test1vz", value={
        "ada": {"lovelace": 5}}, script={"language": "plutus:v3", "cbor": "4e4d01000033"})
    assert utxo.script == {"language": "plutus:v3", "cbor": "4e4d01000033"}
    logging.getLogger("ogmios").warning("pydantic warning:  __init__ failed to validate:\n "
                                        '{"language": "native"}')
    logging.getLogger("ogmios").warning("This is the original exception:\n[\"other\"]")
    logged = [(line["logger"], line["level"], line["event"][:16]) for line in lines(log_output)]
    assert logged == [("ogmios", "warning", "pydantic warning"),
                      ("ogmios", "warning", "This is the orig")]


def test_configured_ogmios_answers_at_info_stay_out(log_output: io.StringIO) -> None:
    configure_logging(format="json", level="info", stream=log_output, cache=False)
    logging.getLogger("ogmios").info("Parsed utxo response: [...]")
    logging.getLogger("ogmios").error("a real error")
    assert [line["event"] for line in lines(log_output)] == ["a real error"]


async def access_lines(settings_overrides: dict[str, Any], log_output: io.StringIO,
                       tmp_path: Path) -> list[tuple[str, str, int, str]]:
    """The ``http_request`` lines of a few requests to a relayer with these settings."""
    settings = make_settings(data_dir=str(tmp_path), **settings_overrides)
    app: Starlette = create_app(settings, run_scheduler=False)
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                     base_url="http://relayer") as client:
            for path in ("/health/live", "/metrics", "/api/orders?status=active",
                         "/api/orders/0x" + "00" * 32):
                await client.get(path)
            await client.post("/api/orders", content=b"{}",
                              headers={"content-type": "application/json"})
    return [(line["level"], line["method"], line["status"], line["route"])
            for line in lines(log_output) if line["event"] == "http_request"]


async def test_access_lines_all_at_info_by_default(log_output: io.StringIO,
                                                   tmp_path: Path) -> None:
    logged = await access_lines({}, log_output, tmp_path)
    assert [level for level, *_ in logged] == ["info"] * 5
    assert [route for *_, route in logged] == [
        "/health/live", "/metrics", "/api/orders", "/api/orders/{order_hash}", "/api/orders"]


async def test_access_changes_logs_successful_reads_at_debug(log_output: io.StringIO,
                                                             tmp_path: Path) -> None:
    """``log.access = "changes"`` (the devnet's): health checks, scrapes and polling that
    succeed go to debug; a refused read and every write stay at info."""
    logged = await access_lines({"log.access": "changes"}, log_output, tmp_path)
    assert logged == [
        ("debug", "GET", 200, "/health/live"), ("debug", "GET", 200, "/metrics"),
        ("debug", "GET", 200, "/api/orders"), ("info", "GET", 404, "/api/orders/{order_hash}"),
        ("info", "POST", 400, "/api/orders")]
    quiet = io.StringIO()
    configure_logging(format="json", level="info", stream=quiet, cache=False)
    await access_lines({"log.access": "changes"}, quiet, tmp_path / "again")
    assert [line["status"] for line in lines(quiet) if line["event"] == "http_request"] == [
        404, 400]


def test_log_access_is_checked() -> None:
    with pytest.raises(ConfigError) as refused:
        load_settings(environ={"RELAYER_LOG_ACCESS": "some"})
    assert refused.value.message == "RELAYER_LOG_ACCESS must be all or changes"


async def test_order_hash_is_bound_inside_routes(log_output: io.StringIO) -> None:
    async def endpoint(request: Request) -> Response:
        structlog.get_logger("relayer.test").info("inside_route")
        return Response("ok")

    routes = [Route("/things/{order_hash}", endpoint)]
    bind_order_hash(routes)
    app = RequestIdMiddleware(Starlette(routes=routes), routes=routes)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                 base_url="http://x") as client:
        await client.get("/things/0xabc", headers={"x-request-id": "req-7"})
    inside, access = [line for line in lines(log_output)
                      if line["event"] in ("inside_route", "http_request")]
    assert inside["event"] == "inside_route"
    assert inside["order_hash"] == "0xabc" and inside["request_id"] == "req-7"
    assert access["event"] == "http_request" and access["request_id"] == "req-7"
    assert access["route"] == "/things/{order_hash}"


async def test_no_secret_or_key_in_any_log_line(tmp_path: Path, clock: FakeClock,
                                                log_output: io.StringIO) -> None:
    """Everything the relayer can do with a secret today (custody intake, reads, cancel),
    with every log at debug level: neither the secrets nor the API key ever appear.
    (The whole swap, with settlement and reveal, joins this test when settlement lands.)"""
    key = generate_key(frozenset({Scope.ADMIN}))
    keys_file = tmp_path / "keys.jsonl"
    keys_file.write_text(key.stored.to_line() + "\n")
    settings = make_settings(data_dir=str(tmp_path),
                             **{"security.api_keys_file": str(keys_file)})
    app: Starlette = create_app(settings, clock=clock, run_scheduler=False)
    secrets = make_secrets(2)
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                     base_url="http://relayer") as client:
            auth = {"authorization": f"Bearer {key.api_key}", "x-request-id": "swap-1"}
            (custody_key,) = (await client.get("/api/custody/keys")).json()["keys"]
            wire = submission("eth_to_ada", parts=2, secrets=secrets)
            wire.custody = CustodyWire(key_id=custody_key["key_id"], sealed_secrets=[
                "0x" + seal_secret(custody_key["key_id"], s).hex() for s in secrets.secrets])
            response = await client.post("/api/orders", content=to_json(wire),
                                         headers={**auth, "content-type": "application/json"})
            assert response.status_code == 201, response.text
            order_hash = response.json()["order_hash"]
            assert (await client.get(f"/api/orders/{order_hash}", headers=auth)
                    ).status_code == 200
            assert (await client.get("/api/admin/keys", headers=auth)).status_code == 200
            assert (await client.get("/metrics")).status_code == 200
            digest = cancel_digest_of(make_validator(), order_hash)
            cancel = {"signature": sign_evm(digest, EVM_MAKER_KEY)}
            response = await client.request(
                "DELETE", f"/api/orders/{order_hash}", content=to_json(cancel),
                headers={**auth, "content-type": "application/json"})
            assert response.status_code == 200, response.text
            # A refused key is logged nowhere either.
            await client.get("/api/orders", headers={"x-api-key": key.api_key + "x"})
    text = log_output.getvalue()
    logged = lines(log_output)
    assert any(line["event"] == "order_submitted" for line in logged)
    changed = [line for line in logged if line["event"] == "order_status_changed"]
    assert changed and changed[0]["request_id"] == "swap-1"
    assert changed[0]["order_hash"] == order_hash
    for secret in secrets.secrets:
        for form in (secret.hex(), secret.hex().upper(), repr(secret)):
            assert form not in text
    assert key.api_key not in text and key.api_key[20:] not in text


async def test_a_whole_swap_logs_no_secret(tmp_path: Path, log_output: io.StringIO) -> None:
    """A custody swap through the settlement coordinator (chains played by the test, as in
    tests/settlement): intake, both escrows, finality, the release, both withdrawals (which
    carry the secret in the clear) and settlement, with every log at debug level. The secret
    appears in no log line; the release and the withheld reasons are counted."""
    h = Harness(tmp_path)
    metrics = Metrics()
    metrics.watch_settlement(h.bus)
    await h.open()
    try:
        await h.submit()
        secret = h.secrets.secrets[0]
        h.clock.advance(30)
        src = h.src_escrow()
        await h.chain(src)
        h.clock.advance(10)
        dst = h.dst_escrow(src)
        await h.chain(dst)
        h.confirm()
        await h.coordinator.tick()
        h.clock.advance(12)
        await h.coordinator.tick()
        (fill,) = h.coordinator.fills(h.order_hash)
        assert fill.status is FillStatus.SECRET_RELEASED
        shared = [e for e in h.published if isinstance(e, SecretShared)]
        assert shared and shared[0].secret == "0x" + secret.hex()
        # Someone logs the shared event carelessly: the redaction still holds.
        structlog.get_logger("relayer.test").info("careless", event_data=asdict(shared[0]))
        await h.chain(h.withdrawn(dst, secret))
        await h.chain(h.withdrawn(src, secret))
        h.confirm()
        await h.coordinator.tick()
        assert fill.status is FillStatus.SETTLED
        assert h.book.get(h.order_hash).status is OrderStatus.EXECUTED  # type: ignore[union-attr]
    finally:
        await h.close()
    text = log_output.getvalue()
    assert len(lines(log_output)) >= 5
    for form in (secret.hex(), secret.hex().upper(), repr(secret)):
        assert form not in text
    rendered = metrics.render().decode()
    assert 'relayer_secrets_released_total{source="custody"} 1.0' in rendered
    assert 'relayer_secrets_withheld_total{reason="DST_ESCROW_MISSING"} 1.0' in rendered
    assert 'relayer_secrets_withheld_total{reason="DST_FINALITY_LOCK"}' in rendered
