"""Settings of the serving process: where it listens and stores, what one request or
connection may cost, the WebSocket hub and the log.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ServerSettings:
    host: str = "127.0.0.1"
    port: int = 8080
    gc_freeze_seconds: float = 1.0
    """How often long-lived objects are moved out of the GC's sight (0: never)."""
    shutdown_timeout_seconds: float = 10.0
    """At shutdown, the parts stop in reverse order within this; one that overstays is
    cancelled (``relayer.lifecycle``)."""
    forwarded_allow_ips: str = "127.0.0.1"
    """Proxies whose ``X-Forwarded-For`` names the client (uvicorn's setting; ``*``: any)."""


@dataclass(frozen=True, slots=True)
class StoreSettings:
    url: str = ""
    """``sqlite:///path`` or ``postgresql://user:password@host:port/db``; empty means
    ``<data_dir>/relayer.sqlite3``."""
    synchronous: str = "FULL"
    pool_size: int = 8
    """PostgreSQL: connections each replica opens for reads and commits."""
    poll_seconds: float = 1.0
    """PostgreSQL: how often a replica reads the shared log when no notification came."""
    leader_takeover_seconds: float = 10.0
    """PostgreSQL: a dead or cut-off leader's duties move to another replica within this."""
    write_timeout_seconds: float = 10.0
    """Every store write must commit within this, else it fails (an API request answers
    503 ``STORE_TIMEOUT``) instead of hanging on a frozen disk or a lost database."""


@dataclass(frozen=True, slots=True)
class LimitSettings:
    """What one request or connection may cost, in one place (docs/security.md)."""

    header_count: int = 100
    """Header lines in one request; more: 431 ``HEADERS_TOO_LARGE``."""
    header_bytes: int = 16_384
    """The request line and all header lines together; more: 431 ``HEADERS_TOO_LARGE``
    (checked as the bytes arrive, so a huge header is never read whole)."""
    query_bytes: int = 4_096
    """The query string; longer: 414 ``QUERY_TOO_LONG``."""
    body_bytes: int = 65_536
    """A request body; larger: 413 ``BODY_TOO_LARGE`` (was ``server.max_body_bytes``)."""
    ws_message_bytes: int = 65_536
    """A WebSocket message from a client, fragments added up; larger: close 1009
    (was ``websocket.max_frame_bytes``)."""
    ws_send_queue_messages: int = 1_024
    """Messages waiting for one WebSocket client whose socket is blocked; more: close 1013
    (was ``websocket.send_queue``)."""
    ws_send_queue_bytes: int = 4_194_304
    """Bytes of the messages waiting for one blocked WebSocket client; more: close 1013."""
    ws_send_timeout_seconds: float = 30.0
    """A WebSocket client whose socket takes nothing for this long is closed (1013), by a
    timer of its own (was ``websocket.send_timeout_seconds``)."""


@dataclass(frozen=True, slots=True)
class WebSocketSettings:
    """The WebSocket hub at ``/ws`` (docs/websocket.md)."""

    max_connections: int = 10_000
    max_subscriptions: int = 100
    """Channels one connection may subscribe to."""
    heartbeat_seconds: float = 15.0
    """Interval of the ``heartbeat`` message to every client."""
    ping_interval_seconds: float = 20.0
    """WebSocket protocol pings (``relayer serve``); a peer that does not answer within
    ``ping_timeout_seconds`` is dropped."""
    ping_timeout_seconds: float = 20.0
    snapshot_limit: int = 100
    """Orders in the snapshot of ``orders`` and ``prices`` (page on with getActiveOrders)."""
    per_message_deflate: bool = False
    """Compress messages when the client offers it: less bandwidth, much more CPU and
    memory per connection."""


@dataclass(frozen=True, slots=True)
class LogSettings:
    format: str = "console"
    """``console`` for people, ``json`` for production."""
    level: str = "info"
    access: str = "all"
    """``all``: every HTTP request's ``http_request`` line at info. ``changes``: at info only
    requests that change something (not GET, HEAD, OPTIONS) and refused or failed ones
    (status 400 and up); successful reads (health checks, metrics scrapes, polling) at
    debug."""
