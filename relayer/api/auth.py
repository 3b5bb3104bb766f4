"""Who is calling: the API-key middleware and the scope checks routes make.

The middleware reads credentials on every HTTP request and WebSocket
handshake, and either attaches a ``Principal`` to the scope or refuses the
request at once: a key that is presented must be valid, even on a public
route. No credentials at all is anonymous; routes that need a scope say so
with ``require`` or ``requires_scope``.

Credentials:

- signed: the four ``X-Relayer-*`` headers (``relayer/security/signing.py``);
  any one of them makes the request a signed one, which must then be complete;
- plain: ``Authorization: Bearer <key>`` or ``X-API-Key: <key>`` (refused with
  ``SIGNATURE_REQUIRED`` when ``security.require_signatures`` is on).

Every credential presented must be valid, and all must be the same key: a junk
``X-API-Key`` beside a valid ``Authorization`` (or a second header of either) is
refused, never ignored. A failed authentication spends from the client address's
rate-limit bucket (``FailureLimit``); once that is empty the answer is 429 with
``Retry-After`` instead of 401.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable

from starlette.datastructures import Headers
from starlette.requests import HTTPConnection, Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from relayer.api.errors import error_response
from relayer.api.limits import BodyTooLarge
from relayer.clock import Clock
from relayer.security.errors import (
    AuthInvalid,
    AuthRequired,
    ForbiddenScope,
    SecurityError,
    SignatureInvalid,
    SignatureRequired,
)
from relayer.security.principal import Authenticator, Principal
from relayer.security.principal import Scope as KeyScope
from relayer.security.ratelimit import FailureLimit, rate_limited
from relayer.security.signing import SIGNATURE_HEADERS, SignatureVerifier, SignedRequest

PRINCIPAL_KEY = "relayer.principal"
WS_AUTH_CLOSE_CODE = 4401
"""WebSocket close code for refused credentials at the handshake (HTTP 403 to the client)."""

Endpoint = Callable[[Request], Awaitable[Response]]


def principal_of(connection: HTTPConnection) -> Principal | None:
    """The authenticated caller of a request or WebSocket, ``None`` when anonymous."""
    principal = connection.scope.get(PRINCIPAL_KEY)
    return principal if isinstance(principal, Principal) else None


def require(connection: HTTPConnection, scope: KeyScope) -> Principal:
    """The caller, if it holds ``scope`` (admin holds every scope); raises otherwise."""
    principal = principal_of(connection)
    if principal is None:
        raise AuthRequired("this route needs an API key", details={"scope": scope.value})
    if not principal.allows(scope):
        raise ForbiddenScope(f"the API key lacks the {scope.value} scope",
                             details={"scope": scope.value, "key_id": principal.key_id})
    return principal


def requires_scope(scope: KeyScope) -> Callable[[Endpoint], Endpoint]:
    """Decorate a route endpoint so it runs only for callers holding ``scope``."""

    def decorate(endpoint: Endpoint) -> Endpoint:
        @functools.wraps(endpoint)
        async def guarded(request: Request) -> Response:
            require(request, scope)
            return await endpoint(request)

        return guarded

    return decorate


def security_error_response(error: SecurityError) -> Response:
    return error_response(error.http_status, error.code, error.message, error.details,
                          headers=error.headers())


async def on_security_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, SecurityError)
    return security_error_response(exc)


def client_host(scope: Scope) -> str:
    """The client's address (after uvicorn applied trusted ``X-Forwarded-For``)."""
    client = scope.get("client")
    return str(client[0]) if client else ""


class AuthMiddleware:
    def __init__(self, app: ASGIApp, *, authenticator: Authenticator,
                 verifier: SignatureVerifier, clock: Clock, require_signatures: bool = False,
                 on_refused: Callable[[str], None] | None = None,
                 failures: FailureLimit | None = None,
                 on_failure: Callable[[str, bool], None] | None = None) -> None:
        """``on_refused(code)`` counts each refusal by code; ``on_failure(transport,
        throttled)`` each failure, and whether the address was over its limit."""
        self.app = app
        self._authenticator = authenticator
        self._verifier = verifier
        self._clock = clock
        self._require_signatures = require_signatures
        self._on_refused = on_refused
        self._failures = failures
        self._on_failure = on_failure

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        found = _credential_headers(scope["headers"])
        if not found:
            scope[PRINCIPAL_KEY] = None  # anonymous: the common case, decided in one scan
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        principal: Principal | None = None
        try:
            if found & _SIGNING_HEADERS:
                principal, receive = await self._signed(scope, headers, receive)
            plain = self._plain(headers)
            if principal is None:
                principal = plain
            elif plain is not None and plain.key_id != principal.key_id:
                raise AuthInvalid("the request presents two different API keys")
        except BodyTooLarge as exc:
            response = error_response(413, exc.code, exc.message, exc.details)
            await response(scope, receive, send)
            return
        except SecurityError as exc:
            await self._refuse(exc, scope, receive, send)
            return
        scope[PRINCIPAL_KEY] = principal
        await self.app(scope, receive, send)

    async def _refuse(self, exc: SecurityError, scope: Scope, receive: Receive,
                      send: Send) -> None:
        if self._on_refused is not None:
            self._on_refused(exc.code)
        wait = 0.0 if self._failures is None else self._failures.failure(client_host(scope))
        if self._on_failure is not None:
            self._on_failure(scope["type"], wait > 0)
        if scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": WS_AUTH_CLOSE_CODE,
                        "reason": exc.code})
            return
        refusal = rate_limited("auth", wait) if wait > 0 else exc
        await security_error_response(refusal)(scope, receive, send)

    def _plain(self, headers: Headers) -> Principal | None:
        """The principal of the plain keys presented (``None`` for none); every one must
        be valid, and all the same key."""
        keys = []
        for authorization in headers.getlist("authorization"):
            kind, _, key = authorization.partition(" ")
            if kind.lower() != "bearer" or not key.strip():
                raise AuthInvalid("Authorization must be 'Bearer <api key>'")
            keys.append(key.strip())
        for key in headers.getlist("x-api-key"):
            if not key.strip():
                raise AuthInvalid("X-API-Key is empty")
            keys.append(key.strip())
        if not keys:
            return None
        if self._require_signatures:
            raise SignatureRequired("this relayer accepts only signed requests")
        if len(set(keys)) > 1:
            raise AuthInvalid("the request presents more than one API key; every key "
                              "presented must be valid, and the same")
        principal = self._authenticator.authenticate(keys[0])
        if principal is None:
            raise AuthInvalid("the API key is not valid")
        return principal

    async def _signed(self, scope: Scope, headers: Headers,
                      receive: Receive) -> tuple[Principal, Receive]:
        for name in SIGNATURE_HEADERS:
            if len(headers.getlist(name)) > 1:
                raise SignatureInvalid(f"the {name} header appears more than once",
                                       details={"header": name})
        body = b""
        replay = receive
        if scope["type"] == "http":
            body, replay = await _buffer_body(receive)
        request = SignedRequest(
            method=scope.get("method", "GET"), path=scope["path"],
            query=scope.get("query_string", b"").decode("latin-1"),
            headers={name: headers[name] for name in headers.keys()}, body=body)
        return self._verifier.verify(request, self._clock.now()), replay


_SIGNING_HEADERS = frozenset(name.encode() for name in SIGNATURE_HEADERS)
_CREDENTIAL_HEADERS = frozenset({b"authorization", b"x-api-key"}) | _SIGNING_HEADERS


def _credential_headers(raw: list[tuple[bytes, bytes]]) -> set[bytes]:
    """Which credential headers a request carries (ASGI header names are lower case)."""
    return {name for name, _ in raw if name in _CREDENTIAL_HEADERS}


async def _buffer_body(receive: Receive) -> tuple[bytes, Receive]:
    """Read the whole body (the body limit sits outside), and a ``receive`` that replays it."""
    chunks = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    body = b"".join(chunks)
    delivered = False

    async def replay() -> Message:
        nonlocal delivered
        if not delivered:
            delivered = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return body, replay
