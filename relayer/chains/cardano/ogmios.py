"""A direct async Ogmios v6 JSON-RPC client over ``websockets.asyncio``.

The ``ogmios`` package is synchronous and sends one request at a time; chain sync wants
several ``nextBlock`` requests in flight (a window) so the node streams blocks while we
decode and persist. Responses are matched to requests by id, so queries may share the
socket with a ``nextBlock`` that waits at the tip.

Every failure of the connection or of a request surfaces as ``ChainError`` (or its
subclass ``OgmiosError`` for an error answer), raised ``from`` the library's exception.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections import deque
from collections.abc import AsyncIterator, Sequence
from typing import Any

import orjson
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidURI

from relayer.chains.cardano.node import (
    ChainSyncStep,
    Intersection,
    IntersectionNotFound,
    Json,
    Point,
    RollBackward,
    RollForward,
    Tip,
)
from relayer.chains.cardano.slots import SlotClock
from relayer.errors import ChainError

INTERSECTION_NOT_FOUND = 1000
DEFAULT_WINDOW = 100
OPEN_TIMEOUT = 10.0
REQUEST_TIMEOUT = 30.0
CLOSE_TIMEOUT = 1.0


class OgmiosError(ChainError):
    """Ogmios answered a request with an error object."""

    def __init__(self, method: str, error: Json) -> None:
        code = error.get("code")
        super().__init__(f"ogmios {method} failed: {error.get('message', '')}",
                         details={"method": method, "ogmios_code": code})
        self.method = method
        self.ogmios_code = code
        self.data = error.get("data")


class OgmiosConnection:
    """One WebSocket to Ogmios; a reader task resolves each request's future by id."""

    def __init__(self, ws: ClientConnection) -> None:
        self._ws = ws
        self._ids = itertools.count(1)
        self._pending: dict[int, tuple[str, asyncio.Future[Any]]] = {}
        self._closed: ChainError | None = None
        self._reader = asyncio.create_task(self._read(), name="ogmios-reader")

    @classmethod
    async def open(cls, url: str, *, timeout: float = OPEN_TIMEOUT) -> OgmiosConnection:
        try:
            # A node that stops answering must not hold up shutdown: the closing handshake
            # gets CLOSE_TIMEOUT seconds, then the TCP connection is dropped.
            ws = await connect(url, max_size=None, compression=None, open_timeout=timeout,
                               ping_interval=20, ping_timeout=20, close_timeout=CLOSE_TIMEOUT)
        except (OSError, InvalidHandshake, InvalidURI, TimeoutError) as exc:
            raise ChainError(f"cannot connect to ogmios at {url}: {exc}") from exc
        return cls(ws)

    async def send(self, method: str, params: Json | None = None) -> asyncio.Future[Any]:
        """Send a request; the returned future resolves to its result (or raises)."""
        if self._closed is not None:
            raise self._closed
        request_id = next(self._ids)
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._pending[request_id] = (method, future)
        message: Json = {"jsonrpc": "2.0", "method": method, "id": request_id}
        if params is not None:
            message["params"] = params
        try:
            await self._ws.send(orjson.dumps(message).decode())
        except ConnectionClosed as exc:
            self._pending.pop(request_id, None)
            raise ChainError(f"ogmios connection lost: {exc}") from exc
        return future

    async def request(self, method: str, params: Json | None = None, *,
                      timeout: float = REQUEST_TIMEOUT) -> Any:
        future = await self.send(method, params)
        try:
            return await asyncio.wait_for(future, timeout)
        except TimeoutError as exc:
            raise ChainError(f"ogmios {method} timed out after {timeout}s") from exc

    async def _read(self) -> None:
        error: ChainError
        try:
            async for message in self._ws:
                self._dispatch(orjson.loads(message))
            error = ChainError("ogmios closed the connection")
        except ConnectionClosed as exc:
            error = ChainError(f"ogmios connection lost: {exc}")
            error.__cause__ = exc
        except (orjson.JSONDecodeError, KeyError, TypeError) as exc:
            error = ChainError(f"ogmios sent an unreadable message: {exc}")
            error.__cause__ = exc
        self._fail_all(error)

    def _dispatch(self, response: Json) -> None:
        entry = self._pending.pop(response["id"], None)
        if entry is None:
            return
        method, future = entry
        if future.done():
            return
        if "error" in response:
            future.set_exception(OgmiosError(method, response["error"]))
        else:
            future.set_result(response["result"])

    def _fail_all(self, error: ChainError) -> None:
        self._closed = error
        pending, self._pending = self._pending, {}
        for _, future in pending.values():
            if not future.done():
                future.set_exception(error)
                future.exception()  # pipelined requests nobody awaits any more: not a leak

    async def close(self) -> None:
        self._fail_all(ChainError("ogmios connection closed"))
        await self._ws.close()
        self._reader.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._reader


class OgmiosChainSync:
    """Chain sync on one connection, keeping ``window`` ``nextBlock`` requests in flight."""

    def __init__(self, connection: OgmiosConnection, *, window: int = DEFAULT_WINDOW) -> None:
        if window < 1:
            raise ValueError("window must be at least 1")
        self._connection = connection
        self._window = window
        self._in_flight: deque[asyncio.Future[Any]] = deque()

    async def slot_clock(self) -> SlotClock:
        start = await self._connection.send("queryNetwork/startTime")
        summaries = await self._connection.send("queryLedgerState/eraSummaries")
        return SlotClock.from_ogmios(await start, await summaries)

    async def find_intersection(self, points: Sequence[Intersection]) -> Intersection:
        if self._in_flight:
            raise RuntimeError("find_intersection while nextBlock requests are in flight")
        wire = [("origin" if p is None else p.to_json()) for p in points]
        try:
            result = await self._connection.request("findIntersection", {"points": wire})
        except OgmiosError as exc:
            if exc.ogmios_code == INTERSECTION_NOT_FOUND:
                raise IntersectionNotFound(str(exc)) from exc
            raise
        return _point(result["intersection"])

    async def next(self) -> ChainSyncStep:
        while len(self._in_flight) < self._window:
            self._in_flight.append(await self._connection.send("nextBlock"))
        result = await self._in_flight.popleft()
        tip = _tip(result.get("tip"))
        if result["direction"] == "forward":
            return RollForward(result["block"], tip)
        return RollBackward(_point(result["point"]), tip)

    def buffered(self) -> int:
        count = 0
        for future in self._in_flight:
            if not future.done():
                break
            count += 1
        return count


class OgmiosNode:
    """``CardanoNode`` over Ogmios v6 at ``url`` (``ws://host:port``)."""

    def __init__(self, url: str, *, window: int = DEFAULT_WINDOW,
                 timeout: float = OPEN_TIMEOUT) -> None:
        self._url = url
        self._window = window
        self._timeout = timeout

    @property
    def url(self) -> str:
        return self._url

    @contextlib.asynccontextmanager
    async def chain_sync(self) -> AsyncIterator[OgmiosChainSync]:
        connection = await OgmiosConnection.open(self._url, timeout=self._timeout)
        try:
            yield OgmiosChainSync(connection, window=self._window)
        finally:
            await connection.close()

    async def utxos(self, refs: Sequence[tuple[str, int]]) -> list[Json]:
        connection = await OgmiosConnection.open(self._url, timeout=self._timeout)
        try:
            params = {"outputReferences": [{"transaction": {"id": tx_id}, "index": index}
                                           for tx_id, index in refs]}
            result: list[Json] = await connection.request("queryLedgerState/utxo", params)
            return result
        finally:
            await connection.close()


def _point(value: Any) -> Intersection:
    if value == "origin":
        return None
    return Point(slot=int(value["slot"]), id=str(value["id"]))


def _tip(value: Any) -> Tip | None:
    if value is None or value == "origin":
        return None
    return Tip(slot=int(value["slot"]), id=str(value["id"]), height=int(value["height"]))
