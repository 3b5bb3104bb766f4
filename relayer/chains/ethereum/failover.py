"""``FailoverRpc``: one ``EthereumRpc`` over several node URLs, on web3.py's AsyncWeb3.

Each call goes to the endpoint that answered last. A transport failure
(connection refused or reset, the per-call timeout, an HTTP error status, a
body that is not JSON) counts against that endpoint, which then rests for an
exponential, jittered pause, and the call moves on to the next URL. When every
endpoint is resting they are all tried anyway, so a caller that retries (with
its own backoff) finds the first one to come back. When none answers the call
raises ``ChainUnavailable`` and ``health()`` says the chain is disconnected.

A JSON-RPC error answer is not a transport failure: the node is up and said no
(a reverted ``eth_call``, a log query too large), so it raises ``RpcError``
without failing over.

Calls go through the provider's raw ``make_request`` / ``make_batch_request``
and skip web3's result formatters: the monitor decodes hex itself, which is
several times faster for thousands of logs.
"""

from __future__ import annotations

import asyncio
import json
import random
import time
from collections.abc import Callable, Sequence
from typing import Any
from urllib.parse import urlsplit

import aiohttp
import structlog
from web3 import AsyncHTTPProvider, AsyncWeb3
from web3.types import RPCEndpoint

from relayer.chains.ethereum.backoff import Backoff
from relayer.chains.ethereum.rpc import (
    BlockHeader,
    ChainUnavailable,
    RawLog,
    RpcError,
    RpcHealth,
    Transaction,
)

log = structlog.get_logger(__name__)

_TRANSPORT_ERRORS = (aiohttp.ClientError, TimeoutError, OSError, json.JSONDecodeError,
                     UnicodeDecodeError)
_BATCH_SIZE = 100


def redact(url: str) -> str:
    """``scheme://host:port`` of ``url``: RPC URLs often carry an API key in the path."""
    parts = urlsplit(url)
    host = parts.hostname or "?"
    return f"{parts.scheme}://{host}:{parts.port}" if parts.port else f"{parts.scheme}://{host}"


class _Endpoint:
    def __init__(self, url: str, timeout: float, backoff: Backoff) -> None:
        self.label = redact(url)
        provider = AsyncHTTPProvider(
            url, request_kwargs={"timeout": aiohttp.ClientTimeout(total=timeout)},
            exception_retry_configuration=None,
        )
        self.w3 = AsyncWeb3(provider)
        self.provider = provider
        self.backoff = backoff
        self.resting_until = 0.0


class FailoverRpc:
    def __init__(
        self,
        urls: Sequence[str],
        *,
        timeout: float = 10.0,
        backoff_initial: float = 0.5,
        backoff_max: float = 30.0,
        rng: random.Random | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        if not urls:
            raise ValueError("FailoverRpc needs at least one URL")
        rng = rng or random.Random()
        self._endpoints = [
            _Endpoint(url, timeout, Backoff(backoff_initial, backoff_max, rng=rng))
            for url in urls
        ]
        self._timeout = timeout
        self._monotonic = monotonic
        self._current = 0
        self._connected = False
        self._errors = 0
        self._detail = "no call made yet"

    # ------------------------------------------------------------------ EthereumRpc

    async def chain_id(self) -> int:
        return int(await self._request("eth_chainId", []), 16)

    async def block(self, number: int | str) -> BlockHeader | None:
        tag = hex(number) if isinstance(number, int) else number
        raw = await self._request("eth_getBlockByNumber", [tag, False])
        return BlockHeader.from_json(raw) if raw else None

    async def blocks(self, numbers: Sequence[int]) -> list[BlockHeader | None]:
        answers = await self._batches([("eth_getBlockByNumber", [hex(n), False])
                                       for n in numbers])
        return [BlockHeader.from_json(raw) if raw else None for raw in answers]

    async def transactions(self, hashes: Sequence[str]) -> list[Transaction | None]:
        answers = await self._batches([("eth_getTransactionByHash", [h]) for h in hashes])
        return [Transaction.from_json(raw) if raw else None for raw in answers]

    async def logs(self, *, from_block: int, to_block: int,
                   topics: Sequence[Sequence[str]], address: Sequence[str] | None = None
                   ) -> list[RawLog]:
        query: dict[str, Any] = {"fromBlock": hex(from_block), "toBlock": hex(to_block),
                                 "topics": [list(t) for t in topics]}
        if address is not None:
            query["address"] = list(address)
        result: list[RawLog] = await self._request("eth_getLogs", [query])
        return result

    async def call(self, to: str, data: bytes, block: int | str = "latest") -> bytes:
        tag = hex(block) if isinstance(block, int) else block
        result = await self._request("eth_call", [{"to": to, "data": "0x" + data.hex()}, tag])
        return bytes.fromhex(str(result)[2:])

    def health(self) -> RpcHealth:
        return RpcHealth(connected=self._connected, errors=self._errors,
                         endpoint=self._endpoints[self._current].label, detail=self._detail)

    async def close(self) -> None:
        for endpoint in self._endpoints:
            await endpoint.provider.disconnect()

    # ------------------------------------------------------------------ transport

    async def _request(self, method: str, params: list[Any]) -> Any:
        response = await self._send(method, lambda ep: ep.provider.make_request(
            RPCEndpoint(method), params))
        if not isinstance(response, dict):
            raise RpcError(method, {"message": f"unexpected answer {type(response).__name__}"})
        if "error" in response:
            raise RpcError(method, response["error"])
        return response.get("result")

    async def _batches(self, calls: list[tuple[str, list[Any]]]) -> list[Any]:
        """``calls`` in JSON-RPC batches of at most ``_BATCH_SIZE``, sent concurrently."""
        chunks = [calls[i:i + _BATCH_SIZE] for i in range(0, len(calls), _BATCH_SIZE)]
        answers = await asyncio.gather(*(self._batch(chunk) for chunk in chunks))
        return [answer for chunk in answers for answer in chunk]

    async def _batch(self, calls: list[tuple[str, list[Any]]]) -> list[Any]:
        method = calls[0][0]
        requests = [(RPCEndpoint(m), p) for m, p in calls]
        responses = await self._send(method, lambda ep: ep.provider.make_batch_request(
            requests))
        if isinstance(responses, dict):
            raise RpcError(method, responses.get("error") or {"message": "batch refused"})
        results = []
        for response in responses:
            if "error" in response:
                raise RpcError(method, response["error"])
            results.append(response.get("result"))
        if len(results) != len(calls):
            raise RpcError(method, {"message": f"{len(results)} answers to {len(calls)} calls"})
        return results

    async def _send(self, method: str, send: Callable[[_Endpoint], Any]) -> Any:
        now = self._monotonic()
        count = len(self._endpoints)
        order = [(self._current + i) % count for i in range(count)]
        ready = [i for i in order if self._endpoints[i].resting_until <= now] or order
        last_error = ""
        for index in ready:
            endpoint = self._endpoints[index]
            try:
                async with asyncio.timeout(self._timeout):
                    response = await send(endpoint)
            except _TRANSPORT_ERRORS as exc:
                last_error = f"{endpoint.label}: {type(exc).__name__}: {exc}"[:300]
                self._failed(endpoint, method, last_error)
                continue
            if index != self._current or not self._connected:
                log.info("ethereum_rpc_endpoint_in_use", endpoint=endpoint.label)
            self._current = index
            endpoint.backoff.reset()
            endpoint.resting_until = 0.0
            self._connected = True
            self._detail = ""
            return response
        self._connected = False
        self._detail = f"no RPC endpoint answered ({count} tried); last: {last_error}"
        raise ChainUnavailable(f"no Ethereum RPC endpoint answered {method}",
                               details={"method": method, "endpoints": count})

    def _failed(self, endpoint: _Endpoint, method: str, error: str) -> None:
        self._errors += 1
        pause = endpoint.backoff.next_delay()
        endpoint.resting_until = self._monotonic() + pause
        log.warning("ethereum_rpc_failed", endpoint=endpoint.label, method=method,
                    error=error, rest_seconds=round(pause, 3))
