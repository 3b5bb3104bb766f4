"""The OpenAPI document is real: every route is in it, and responses match its schemas."""

from __future__ import annotations

from typing import Any

import httpx
import jsonschema
from starlette.applications import Starlette
from starlette.routing import Route, WebSocketRoute

from tests.factories import NOW, submission, to_json

UNDOCUMENTED = {"/openapi.json", "/health"}


async def _spec(client: httpx.AsyncClient) -> dict[str, Any]:
    response = await client.get("/openapi.json")
    assert response.status_code == 200
    spec: dict[str, Any] = response.json()
    assert spec["openapi"].startswith("3.1")
    return spec


def _check(spec: dict[str, Any], path: str, method: str, status: int, body: Any) -> None:
    schema = spec["paths"][path][method]["responses"][str(status)]["content"][
        "application/json"]["schema"]
    document = {**schema, "components": spec["components"]}
    jsonschema.Draft202012Validator(document).validate(body)


async def test_every_route_is_documented(client: httpx.AsyncClient, app: Starlette) -> None:
    spec = await _spec(client)
    for route in app.routes:
        if isinstance(route, WebSocketRoute):
            continue  # /ws speaks its own protocol (docs/websocket.md)
        assert isinstance(route, Route)
        if route.path in UNDOCUMENTED:
            continue
        for method in route.methods or ():
            if method == "HEAD":
                continue
            assert method.lower() in spec["paths"][route.path], (route.path, method)


async def test_responses_match_schemas(client: httpx.AsyncClient) -> None:
    spec = await _spec(client)
    headers = {"content-type": "application/json"}
    sub = submission("ada_to_eth", parts=3)
    r = await client.post("/api/orders", content=to_json(sub), headers=headers)
    _check(spec, "/api/orders", "post", 201, r.json())
    order_hash = r.json()["order_hash"]
    r = await client.post("/api/orders", content=to_json(sub), headers=headers)
    _check(spec, "/api/orders", "post", 409, r.json())
    await client.post("/api/orders", content=to_json(submission()), headers=headers)
    r = await client.get("/api/orders")
    _check(spec, "/api/orders", "get", 200, r.json())
    assert len(r.json()["orders"]) == 2
    r = await client.get(f"/api/orders/{order_hash}")
    _check(spec, "/api/orders/{order_hash}", "get", 200, r.json())
    r = await client.get(f"/api/orders/{order_hash}/auction?at={NOW + 5}")
    _check(spec, "/api/orders/{order_hash}/auction", "get", 200, r.json())
    r = await client.get("/api/quote?src_chain=cardano&dst_chain=ethereum&src_token=ADA"
                         "&dst_token=TUSD&amount=5000000&parts=4")
    _check(spec, "/api/quote", "get", 200, r.json())
    r = await client.get("/health/ready")
    _check(spec, "/health/ready", "get", 200, r.json())
    r = await client.post("/api/orders", content=b"{", headers=headers)
    _check(spec, "/api/orders", "post", 400, r.json())


async def test_scoped_routes_declare_their_scope(client: httpx.AsyncClient) -> None:
    spec = await _spec(client)
    assert set(spec["components"]["securitySchemes"]) == {"bearer", "apiKey"}
    secrets = spec["paths"]["/api/orders/{order_hash}/secrets"]
    assert secrets["get"]["security"] == [{"bearer": ["secrets"]}, {"apiKey": ["secrets"]}]
    assert "security" not in secrets["post"]  # the maker proves the secret by its hash
    actions = spec["paths"]["/api/actions/public"]["get"]
    assert actions["security"][0] == {}  # anonymous callers are served, without secrets
    assert spec["paths"]["/api/orders"]["get"].get("security") is None
    r = await client.get(f"/api/orders/{'0x' + '11' * 32}/secrets")
    assert r.status_code == 401
    _check(spec, "/api/orders/{order_hash}/secrets", "get", 401, r.json())
    r = await client.get("/api/actions/public")
    _check(spec, "/api/actions/public", "get", 200, r.json())
    secret = spec["components"]["schemas"]["PublicActionView"]["properties"]["secret"]
    assert "secrets scope" in secret["description"]
