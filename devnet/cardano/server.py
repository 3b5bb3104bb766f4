"""Ogmios v6 JSON-RPC over WebSocket, served from a `Chain`.

Per connection, chain-sync requests (findIntersection, nextBlock) run in order on their own
task, so a `nextBlock` waiting for a new block never holds up queries on the same socket.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
import structlog
from pycardano import Address
from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed

from devnet.cardano.chain import Chain, Follower, Point, point_json
from devnet.cardano.encoders import evaluation_json, output_json, transaction_json
from devnet.cardano.errors import InvalidParams, OgmiosError
from devnet.cardano.model import Output, TxIn
from devnet.cardano.ogmios_input import parse_additional_utxo
from devnet.cardano.txcbor import decode_transaction

log = structlog.get_logger(__name__)

_CHAIN_SYNC = {"findIntersection", "nextBlock"}
Result = Any


class _Session:
    """State of one WebSocket connection."""

    def __init__(self, chain: Chain) -> None:
        self.follower: Follower = chain.follow()
        self.mempool_snapshot: list[Any] | None = None
        self.mempool_ids: frozenset[str] = frozenset()
        self.mempool_slot = 0


class OgmiosServer:
    def __init__(self, chain: Chain, *, host: str = "127.0.0.1", port: int = 0) -> None:
        self._chain = chain
        self._host = host
        self._port = port
        self._server: Server | None = None
        self._handlers: dict[str, Callable[[_Session, dict[str, Any]], Awaitable[Result]]] = {
            "queryNetwork/tip": self._network_tip,
            "queryNetwork/startTime": self._start_time,
            "queryNetwork/blockHeight": self._block_height,
            "queryNetwork/genesisConfiguration": self._genesis_configuration,
            "queryLedgerState/eraSummaries": self._era_summaries,
            "queryLedgerState/eraStart": self._era_start,
            "queryLedgerState/epoch": self._epoch,
            "queryLedgerState/tip": self._ledger_tip,
            "queryLedgerState/protocolParameters": self._protocol_parameters,
            "queryLedgerState/utxo": self._utxo,
            "submitTransaction": self._submit,
            "evaluateTransaction": self._evaluate,
            "acquireMempool": self._acquire_mempool,
            "nextTransaction": self._next_transaction,
            "hasTransaction": self._has_transaction,
            "sizeOfMempool": self._size_of_mempool,
            "releaseMempool": self._release_mempool,
        }

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("the server is not started")
        sockets = list(self._server.sockets)
        return int(sockets[0].getsockname()[1])

    async def start(self) -> None:
        self._server = await serve(
            self._connection,
            self._host,
            self._port,
            max_size=8 * 1024 * 1024,
            compression=None,
            ping_interval=None,
        )

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None

    # -- connection ---------------------------------------------------------------------

    async def _connection(self, ws: ServerConnection) -> None:
        session = _Session(self._chain)
        sync_queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        sync_task = asyncio.create_task(self._chain_sync_loop(ws, session, sync_queue))
        try:
            async for message in ws:
                request = self._parse(message)
                if request is None:
                    await ws.send(
                        _error_frame(None, None, InvalidParams("Invalid JSON-RPC")), text=True
                    )
                elif request.get("method") in _CHAIN_SYNC:
                    sync_queue.put_nowait(request)
                else:
                    await ws.send(await self._dispatch(session, request), text=True)
        except ConnectionClosed:
            pass
        finally:
            sync_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sync_task
            self._chain.unfollow(session.follower)

    async def _chain_sync_loop(
        self, ws: ServerConnection, session: _Session, queue: asyncio.Queue[dict[str, Any]]
    ) -> None:
        while True:
            request = await queue.get()
            method = request["method"]
            request_id = request.get("id")
            try:
                if method == "nextBlock":
                    result = await self._chain.next_block(session.follower)
                    frame = _result_frame_raw(method, request_id, result)
                else:
                    frame = _result_frame(method, request_id, self._intersect(session, request))
            except OgmiosError as exc:
                frame = _error_frame(method, request_id, exc)
            try:
                await ws.send(frame, text=True)
            except ConnectionClosed:
                return

    def _parse(self, message: str | bytes) -> dict[str, Any] | None:
        try:
            request = orjson.loads(message)
        except orjson.JSONDecodeError:
            return None
        if not isinstance(request, dict) or not isinstance(request.get("method"), str):
            return None
        return request

    async def _dispatch(self, session: _Session, request: dict[str, Any]) -> bytes:
        method = request["method"]
        request_id = request.get("id")
        handler = self._handlers.get(method)
        if handler is None:
            return _error_frame(method, request_id, OgmiosError(-32601, f"Unknown method {method}"))
        params = request.get("params") or {}
        if not isinstance(params, dict):
            return _error_frame(method, request_id, InvalidParams("params must be an object"))
        try:
            result = await handler(session, params)
        except OgmiosError as exc:
            return _error_frame(method, request_id, exc)
        except Exception as exc:
            log.exception("ogmios_handler_failed", method=method)
            return _error_frame(method, request_id, OgmiosError(-32603, f"Internal error: {exc}"))
        return _result_frame(method, request_id, result)

    # -- chain sync ---------------------------------------------------------------------

    def _intersect(self, session: _Session, request: dict[str, Any]) -> Result:
        params = request.get("params") or {}
        raw_points = params.get("points")
        if not isinstance(raw_points, list):
            raise InvalidParams("findIntersection expects a list of points")
        points: list[Point] = []
        for raw in raw_points:
            if raw == "origin":
                points.append(None)
            elif isinstance(raw, dict) and "slot" in raw and "id" in raw:
                try:
                    points.append((int(raw["slot"]), bytes.fromhex(raw["id"])))
                except (TypeError, ValueError) as exc:
                    raise InvalidParams(f"invalid point {raw!r}") from exc
            else:
                raise InvalidParams(f"invalid point {raw!r}")
        found = self._chain.find_intersection(session.follower, points)
        return {"intersection": point_json(found), "tip": self._chain.tip_json()}

    # -- queries ------------------------------------------------------------------------

    async def _network_tip(self, session: _Session, params: dict[str, Any]) -> Result:
        tip = self._chain.tip
        return "origin" if tip is None else {"slot": tip.slot, "id": tip.id.hex()}

    _ledger_tip = _network_tip

    async def _block_height(self, session: _Session, params: dict[str, Any]) -> Result:
        return self._chain.height if self._chain.height else "origin"

    async def _start_time(self, session: _Session, params: dict[str, Any]) -> Result:
        return self._chain.genesis.start_time_iso()

    async def _genesis_configuration(self, session: _Session, params: dict[str, Any]) -> Result:
        era = params.get("era")
        if era not in ("byron", "shelley", "alonzo", "conway"):
            raise InvalidParams("era must be one of byron, shelley, alonzo, conway")
        return self._chain.genesis.configuration(era)

    async def _era_summaries(self, session: _Session, params: dict[str, Any]) -> Result:
        return self._chain.genesis.era_summaries(self._chain.current_slot)

    async def _era_start(self, session: _Session, params: dict[str, Any]) -> Result:
        return {"time": {"seconds": 0}, "slot": 0, "epoch": 0}

    async def _epoch(self, session: _Session, params: dict[str, Any]) -> Result:
        return self._chain.genesis.epoch_of(self._chain.current_slot)

    async def _protocol_parameters(self, session: _Session, params: dict[str, Any]) -> Result:
        return self._chain.genesis.config.protocol_parameters.to_ogmios()

    async def _utxo(self, session: _Session, params: dict[str, Any]) -> Result:
        utxo = self._chain.utxo
        found: list[tuple[TxIn, Output]] = []
        if "addresses" in params:
            for text in params["addresses"] or []:
                try:
                    raw = bytes(Address.from_primitive(text).to_primitive())
                except Exception as exc:
                    raise InvalidParams(f"invalid address {text!r}") from exc
                found.extend(utxo.by_address(raw))
        elif "outputReferences" in params:
            for ref in params["outputReferences"] or []:
                try:
                    key = (bytes.fromhex(ref["transaction"]["id"]), int(ref["index"]))
                except (KeyError, TypeError, ValueError) as exc:
                    raise InvalidParams(f"invalid output reference {ref!r}") from exc
                output = utxo.get(key)
                if output is not None:
                    found.append((key, output))
        else:
            found = list(utxo.items())
        return [
            {"transaction": {"id": ref[0].hex()}, "index": ref[1], **output_json(out)}
            for ref, out in found
        ]

    # -- submission ---------------------------------------------------------------------

    def _transaction_cbor(self, params: dict[str, Any]) -> bytes:
        transaction = params.get("transaction")
        cbor = transaction.get("cbor") if isinstance(transaction, dict) else None
        if not isinstance(cbor, str):
            raise InvalidParams("expected params.transaction.cbor")
        try:
            return bytes.fromhex(cbor)
        except ValueError as exc:
            raise InvalidParams("transaction.cbor is not hexadecimal") from exc

    async def _submit(self, session: _Session, params: dict[str, Any]) -> Result:
        tx = decode_transaction(self._transaction_cbor(params))
        self._chain.submit(tx)
        return {"transaction": {"id": tx.id_hex}}

    async def _evaluate(self, session: _Session, params: dict[str, Any]) -> Result:
        tx = decode_transaction(self._transaction_cbor(params))
        view = self._chain.mempool_view()
        extra = parse_additional_utxo(params.get("additionalUtxo"))
        lookup = _WithExtra(view, extra)
        executions = self._chain.validator.evaluate(tx, lookup)
        return evaluation_json(executions)

    # -- mempool ------------------------------------------------------------------------

    async def _acquire_mempool(self, session: _Session, params: dict[str, Any]) -> Result:
        session.mempool_snapshot = self._chain.mempool
        session.mempool_ids = frozenset(v.tx.id_hex for v in session.mempool_snapshot)
        session.mempool_slot = self._chain.current_slot
        return {"acquired": "mempool", "slot": session.mempool_slot}

    def _snapshot(self, session: _Session) -> list[Any]:
        if session.mempool_snapshot is None:
            raise OgmiosError(4000, "You must acquire the mempool first.")
        return session.mempool_snapshot

    async def _next_transaction(self, session: _Session, params: dict[str, Any]) -> Result:
        snapshot = self._snapshot(session)
        if not snapshot:
            return {"transaction": None}
        validated = snapshot.pop(0)
        if params.get("fields") == "all":
            return {"transaction": transaction_json(validated.tx)}
        return {"transaction": {"id": validated.tx.id_hex}}

    async def _has_transaction(self, session: _Session, params: dict[str, Any]) -> Result:
        self._snapshot(session)
        # The acquired snapshot, as Ogmios answers (not the live mempool, and not what
        # nextTransaction has consumed of it).
        return params.get("id") in session.mempool_ids

    async def _size_of_mempool(self, session: _Session, params: dict[str, Any]) -> Result:
        self._snapshot(session)
        txs = self._chain.mempool
        return {
            "maxCapacity": {
                "bytes": 2 * self._chain.genesis.config.protocol_parameters.max_block_body_size
            },
            "currentSize": {"bytes": sum(v.tx.size for v in txs)},
            "transactions": {"count": len(txs)},
        }

    async def _release_mempool(self, session: _Session, params: dict[str, Any]) -> Result:
        self._snapshot(session)
        session.mempool_snapshot = None
        session.mempool_ids = frozenset()
        return {"released": "mempool"}


class _WithExtra:
    def __init__(self, base: Any, extra: dict[TxIn, Output]) -> None:
        self._base = base
        self._extra = extra

    def get(self, ref: TxIn) -> Output | None:
        return self._extra.get(ref) or self._base.get(ref)


def _frame(method: str | None, request_id: Any, key: str, value: Any) -> bytes:
    payload: dict[str, Any] = {"jsonrpc": "2.0"}
    if method is not None:
        payload["method"] = method
    payload[key] = value
    payload["id"] = request_id
    return orjson.dumps(payload)


def _result_frame(method: str, request_id: Any, result: Result) -> bytes:
    return _frame(method, request_id, "result", result)


def _result_frame_raw(method: str, request_id: Any, result: bytes) -> bytes:
    return (
        b'{"jsonrpc":"2.0","method":'
        + orjson.dumps(method)
        + b',"result":'
        + result
        + b',"id":'
        + orjson.dumps(request_id)
        + b"}"
    )


def _error_frame(method: str | None, request_id: Any, error: OgmiosError) -> bytes:
    return _frame(method, request_id, "error", error.to_json())
