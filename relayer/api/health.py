"""Health probes: liveness (the process serves) and readiness (its store answers)."""

from __future__ import annotations

import time

import msgspec
from starlette.requests import Request
from starlette.responses import Response

from relayer import __version__
from relayer.api.context import Relayer
from relayer.errors import StoreError

_encoder = msgspec.json.Encoder()
_STORE_TIMEOUT_REASON = "store_unreachable"


class HealthRoutes:
    def __init__(self, relayer: Relayer) -> None:
        self._relayer = relayer

    async def live(self, request: Request) -> Response:
        return Response(b'{"status":"ok"}', media_type="application/json")

    async def ready(self, request: Request) -> Response:
        reasons = []
        try:
            await self._relayer.store.ping()
        except StoreError:
            reasons.append(_STORE_TIMEOUT_REASON)
        body = {"status": "ready" if not reasons else "not_ready", "reasons": reasons}
        return Response(_encoder.encode(body), status_code=503 if reasons else 200,
                        media_type="application/json")

    async def status(self, request: Request) -> Response:
        relayer = self._relayer
        try:
            store_latency_ms: float | None = round(await relayer.store.ping() * 1000, 3)
        except StoreError:
            store_latency_ms = None
        body = {
            "version": __version__,
            "uptime_seconds": int(time.monotonic() - relayer.started_at),
            "orders": len(relayer.desk.book),
            "log_position": relayer.desk.position,
            "store_latency_ms": store_latency_ms,
        }
        return Response(_encoder.encode(body), media_type="application/json")
