"""Health: liveness (the process serves), readiness (store and chains usable), a status page.

``/health/ready`` answers 503 with stable reasons when the store does not
answer a ping in time, cannot commit a write in time (a full disk, a frozen
filesystem, a read-only database), or a chain monitor is disconnected or behind
its head by more than its allowed lag (``ChainStatus.healthy``); a load balancer
then stops sending traffic, while liveness stays 200 so the process is not
restarted for a chain outage it cannot fix.

The write probe commits one checkpoint (``health:write-probe``) through the
same path as every write, so it meets what submissions meet: the writer
thread's queue, the fsync, the store write timeout. Its data is as large as the
largest request body (``limits.body_bytes``): on a full disk a one-page write
can still fit in SQLite's write-ahead log where a submission no longer does, and
readiness said ready while every submission failed. One probe runs at a time;
concurrent readiness requests share it.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import msgspec
import structlog
from starlette.requests import Request
from starlette.responses import Response

from relayer import __version__
from relayer.api.context import Relayer
from relayer.chains.status import ChainMonitor, ChainStatus
from relayer.errors import StoreError
from relayer.store.base import Checkpoint, EventStore, VersionConflict

_encoder = msgspec.json.Encoder()
log = structlog.get_logger(__name__)
STORE_UNREACHABLE = "store_unreachable"
STORE_UNWRITABLE = "store_unwritable"
STORE_TIMEOUT = 2.0
"""Seconds the ping and the write probe each have to answer."""
PROBE_CHECKPOINT = "health:write-probe"
LOG_NOT_FOLLOWED = "log_not_followed"
"""A replica on a shared store whose log follower is not running (it would serve stale data)."""


def chain_reason(status: ChainStatus) -> str | None:
    """The readiness reason for one chain, ``None`` when it is healthy."""
    if status.healthy:
        return None
    if not status.connected:
        return f"chain_disconnected:{status.chain}"
    if status.lag is None:
        return f"chain_not_synced:{status.chain}"
    return f"chain_behind:{status.chain}"


def chain_view(status: ChainStatus) -> dict[str, Any]:
    return {
        "connected": status.connected, "healthy": status.healthy, "head": status.head,
        "processed": status.processed, "lag": status.lag, "max_lag": status.max_lag,
        "reorgs": status.reorgs, "rpc_errors": status.rpc_errors, "detail": status.detail,
    }


class WriteProbe:
    """Commit a small write with a deadline: can the store take writes now?"""

    def __init__(self, store: EventStore, *, timeout: float = STORE_TIMEOUT,
                 size: int = 65_536) -> None:
        self._store = store
        self._timeout = timeout
        self._padding = bytes(size)
        self._running: asyncio.Future[bool] | None = None

    async def writable(self) -> bool:
        if self._running is None or self._running.done():
            self._running = asyncio.ensure_future(self._commit())
        try:
            return await asyncio.wait_for(asyncio.shield(self._running), self._timeout)
        except TimeoutError:
            log.warning("store_write_probe_timed_out", timeout_seconds=self._timeout)
            return False

    async def _commit(self) -> bool:
        store = self._store
        try:
            current = await store.read_checkpoint(PROBE_CHECKPOINT)
            version = 1 if current is None else current.version + 1
            data = str(time.time()).encode() + b"\n" + self._padding
            await store.append([], checkpoint=Checkpoint(PROBE_CHECKPOINT, version, data))
        except VersionConflict:
            return True  # another replica's probe committed in between: writable
        except StoreError as exc:
            log.warning("store_write_probe_failed", error_code=exc.code, message=exc.message)
            return False
        return True


class HealthRoutes:
    def __init__(self, relayer: Relayer) -> None:
        self._relayer = relayer
        self._probe = WriteProbe(relayer.store, size=relayer.settings.limits.body_bytes)

    async def live(self, request: Request) -> Response:
        return Response(b'{"status":"ok"}', media_type="application/json")

    async def ready(self, request: Request) -> Response:
        reasons = []
        if await self._store_latency() is None:
            reasons.append(STORE_UNREACHABLE)
        elif not await self._probe.writable():
            reasons.append(STORE_UNWRITABLE)
        replica = self._relayer.replica
        if replica is not None and replica.shared and not replica.following:
            reasons.append(LOG_NOT_FOLLOWED)
        for monitor in self._running_monitors():
            reason = chain_reason(monitor.status())
            if reason is not None:
                reasons.append(reason)
        body = {"status": "ready" if not reasons else "not_ready", "reasons": reasons}
        return Response(_encoder.encode(body), status_code=503 if reasons else 200,
                        media_type="application/json")

    async def status(self, request: Request) -> Response:
        relayer = self._relayer
        latency = await self._store_latency()
        writable = latency is not None and await self._probe.writable()
        statuses = [monitor.status() for monitor in self._running_monitors()]
        body = {
            "version": __version__,
            "uptime_seconds": int(time.monotonic() - relayer.started_at),
            "ready": writable and all(s.healthy for s in statuses),
            "store_writable": writable,
            "orders": len(relayer.desk.book),
            "log_position": relayer.log_position(),
            "store_latency_ms": round(latency * 1000, 3) if latency is not None else None,
            "chains": {s.chain: chain_view(s) for s in statuses},
            "queues": {name: depth() for name, depth in sorted(relayer.queue_depths.items())},
            "replica": await relayer.replica.status() if relayer.replica is not None else None,
        }
        return Response(_encoder.encode(body), media_type="application/json")

    def _running_monitors(self) -> tuple[ChainMonitor, ...]:
        """The chain monitors this replica runs: all of them if it leads, none if it follows."""
        replica = self._relayer.replica
        if replica is not None and not replica.leadership.is_leader:
            return ()
        return self._relayer.monitors

    async def _store_latency(self) -> float | None:
        try:
            return await asyncio.wait_for(self._relayer.store.ping(), STORE_TIMEOUT)
        except (StoreError, TimeoutError):
            return None
