"""Health: liveness (the process serves), readiness (store and chains usable), a status page.

``/health/ready`` answers 503 with stable reasons when the store does not
answer a ping in time or a chain monitor is disconnected or behind its head by
more than its allowed lag (``ChainStatus.healthy``); a load balancer then stops
sending traffic, while liveness stays 200 so the process is not restarted for
a chain outage it cannot fix.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import msgspec
from starlette.requests import Request
from starlette.responses import Response

from relayer import __version__
from relayer.api.context import Relayer
from relayer.chains.status import ChainMonitor, ChainStatus
from relayer.errors import StoreError

_encoder = msgspec.json.Encoder()
STORE_UNREACHABLE = "store_unreachable"
STORE_TIMEOUT = 2.0
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


class HealthRoutes:
    def __init__(self, relayer: Relayer) -> None:
        self._relayer = relayer

    async def live(self, request: Request) -> Response:
        return Response(b'{"status":"ok"}', media_type="application/json")

    async def ready(self, request: Request) -> Response:
        reasons = []
        if await self._store_latency() is None:
            reasons.append(STORE_UNREACHABLE)
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
        statuses = [monitor.status() for monitor in self._running_monitors()]
        body = {
            "version": __version__,
            "uptime_seconds": int(time.monotonic() - relayer.started_at),
            "ready": latency is not None and all(s.healthy for s in statuses),
            "orders": len(relayer.desk.book),
            "log_position": relayer.desk.position,
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
