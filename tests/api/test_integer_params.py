"""Every integer a client sends in a query goes through the one strict parser: odd text
('²', '٣', '1_000', 5,000 digits) is a 400 with INVALID_PARAMETER, never a 500."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from relayer.api.app import create_app
from relayer.clock import FakeClock
from relayer.public.views import encode_cursor
from relayer.security.keys import generate_key
from relayer.security.principal import Scope
from tests.factories import make_settings, submission, to_json

JSON = {"content-type": "application/json"}
ODD = ["²", "٣", "١٢", "１", "1_0", " 1", "1 ", "+1", "-1", "01", "1e3", "0x1", "1.0", "",
       "1\n", "9" * 3_900]
QUOTE = "/api/quote?src_chain=ethereum&dst_chain=cardano&src_token=ETH&dst_token=ADA"


@pytest.fixture
async def setup(tmp_path: Path, clock: FakeClock
                ) -> AsyncIterator[tuple[httpx.AsyncClient, dict[str, str], list[str]]]:
    """A client, a webhooks key's headers, and URLs with ``{}`` for an integer parameter."""
    key = generate_key(frozenset({Scope.WEBHOOKS}))
    keys = tmp_path / "keys.jsonl"
    keys.write_text(key.stored.to_line() + "\n")
    app = create_app(make_settings(data_dir=str(tmp_path),
                                   **{"security.api_keys_file": str(keys)}),
                     clock=clock, run_scheduler=False)
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                     base_url="http://relayer") as client:
            sub = submission()
            order_hash = (await client.post("/api/orders", content=to_json(sub),
                                            headers=JSON)).json()["order_hash"]
            headers = {"Authorization": f"Bearer {key.api_key}"}
            created = await client.post("/api/webhooks", headers=headers, json={
                "url": "https://hooks.example.com/relayer"})
            assert created.status_code == 201, created.text
            webhook = created.json()["webhook"]["id"]
            urls = [
                "/api/orders?limit={}",
                f"/api/orders/maker/{sub.order.maker}?limit={{}}",
                f"/api/orders/{order_hash}/auction?at={{}}",
                QUOTE + "&amount={}",
                QUOTE + "&amount=1000000000000000000&parts={}",
                f"/api/webhooks/{webhook}/deliveries?limit={{}}",
                f"/api/orders/{order_hash}/curve?samples={{}}",
            ]
            yield client, headers, urls


async def test_odd_integers_get_400_everywhere(
        setup: tuple[httpx.AsyncClient, dict[str, str], list[str]]) -> None:
    client, headers, urls = setup
    for url in urls:
        for text in ODD:
            response = await client.get(url.format(quote(text)), headers=headers)
            assert response.status_code == 400, (url, text, response.text)
            assert response.json()["error_code"] == "INVALID_PARAMETER", (url, text)
        # Past the query string limit (4 KiB) the whole query is refused first.
        response = await client.get(url.format("9" * 5_000), headers=headers)
        assert (response.status_code, response.json()["error_code"]) == (414, "QUERY_TOO_LONG")


async def test_a_cursor_with_odd_digits_is_an_invalid_cursor(
        setup: tuple[httpx.AsyncClient, dict[str, str], list[str]]) -> None:
    client, _, _ = setup
    assert (await client.get(f"/api/orders?cursor={encode_cursor(1)}")).status_code == 200
    for inner in ("p²", "p٣", "p1_0", "p" + "9" * 2_000, "p-1", "p01"):
        cursor = base64.urlsafe_b64encode(inner.encode()).decode().rstrip("=")
        response = await client.get(f"/api/orders?cursor={cursor}")
        assert response.status_code == 400, inner
        assert response.json()["error_code"] == "INVALID_CURSOR"


async def test_amounts_past_the_chains_range_are_refused(
        setup: tuple[httpx.AsyncClient, dict[str, str], list[str]]) -> None:
    client, _, _ = setup
    too_big = str(1 << 256)
    response = await client.get(QUOTE + f"&amount={too_big}")
    assert (response.status_code, response.json()["error_code"]) == (400, "INVALID_PARAMETER")
    # A source amount the chain holds, whose price the destination cannot.
    response = await client.get(QUOTE + f"&amount={(1 << 256) - 1}")
    assert (response.status_code, response.json()["error_code"]) == (400, "INVALID_AMOUNT")


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.text(max_size=12))
async def test_any_limit_text_is_a_page_or_a_400(
        setup: tuple[httpx.AsyncClient, dict[str, str], list[str]], text: str) -> None:
    client, _, _ = setup
    response = await client.get("/api/orders", params={"limit": text})
    canonical = text.isascii() and text.isdigit() and (text == "0" or text[0] != "0")
    if canonical and 1 <= int(text) <= 500:
        assert response.status_code == 200
    else:
        assert response.status_code == 400, text
