"""Sending one HTTP POST: the interface the dispatcher needs, and the httpx implementation."""

from __future__ import annotations

import ssl
from collections.abc import Mapping
from typing import Protocol

import httpx

from relayer.errors import RelayerError

_MAX_ANSWER = 65_536


class DeliveryFailed(RelayerError):
    """No HTTP answer came back: refused, TLS failure, timeout."""

    default_code = "DELIVERY_FAILED"


class Transport(Protocol):
    async def post(self, url: str, body: bytes, headers: Mapping[str, str]) -> int:
        """POST ``body``; the answer's status code, or ``DeliveryFailed``."""

    async def aclose(self) -> None: ...


def tls_context(ca_file: str) -> ssl.SSLContext:
    """System CAs, plus the ones in ``ca_file`` (a private CA, a test certificate)."""
    context = ssl.create_default_context()
    if ca_file:
        context.load_verify_locations(cafile=ca_file)
    return context


class HttpxTransport:
    """One pooled client for every endpoint; redirects are not followed (a 3xx is a failure)."""

    def __init__(self, *, timeout: float, ca_file: str = "", max_connections: int = 200,
                 user_agent: str = "relayer-webhooks") -> None:
        self._client = httpx.AsyncClient(
            verify=tls_context(ca_file),
            timeout=httpx.Timeout(timeout),
            follow_redirects=False,
            limits=httpx.Limits(max_connections=max_connections,
                                max_keepalive_connections=max_connections // 2),
            headers={"User-Agent": user_agent},
            trust_env=False,
        )

    async def post(self, url: str, body: bytes, headers: Mapping[str, str]) -> int:
        try:
            async with self._client.stream("POST", url, content=body,
                                           headers=dict(headers)) as response:
                # Receivers owe us only a status: read at most a little of the answer.
                seen = 0
                async for chunk in response.aiter_raw():
                    seen += len(chunk)
                    if seen >= _MAX_ANSWER:
                        break
                return response.status_code
        except httpx.TimeoutException as exc:
            raise DeliveryFailed(f"timeout ({type(exc).__name__})") from exc
        except httpx.HTTPError as exc:
            raise DeliveryFailed(_describe(exc)) from exc
        except ssl.SSLError as exc:
            raise DeliveryFailed(f"tls: {exc.reason or exc}") from exc

    async def aclose(self) -> None:
        await self._client.aclose()


def _describe(exc: httpx.HTTPError) -> str:
    text = str(exc) or type(exc).__name__
    return f"{type(exc).__name__}: {text}"[:300]
