"""One replica's lifecycle: follow the shared log, campaign for the lead, report both.

On PostgreSQL several replicas share the log: each follows it (records of the
others reach its book and bus) and campaigns for the leader lock. On SQLite
the one process follows only itself and always leads; the code is the same.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Sequence
from typing import Any

import structlog

from relayer.config import Settings
from relayer.errors import StoreError
from relayer.lifecycle import Job
from relayer.metrics import ReplicaReading
from relayer.store.base import EventStore
from relayer.store.feed import CommitSignal
from relayer.store.leader import Duties, Leadership, PostgresLeadership, SoleLeader
from relayer.store.postgres import PostgresEventStore
from relayer.store.sequenced import Apply, SequencedStore

log = structlog.get_logger(__name__)

_RESTART_SECONDS = 1.0


def leadership_for(store: EventStore, settings: Settings) -> Leadership:
    """An advisory-lock election on a shared PostgreSQL store; otherwise the sole leader."""
    if isinstance(store, PostgresEventStore):
        return PostgresLeadership(store.url,
                                  takeover_seconds=settings.store.leader_takeover_seconds)
    return SoleLeader()


class Replica:
    name = "replica"

    def __init__(self, *, store: SequencedStore, leadership: Leadership, apply: Apply,
                 applied: Callable[[], int], duties: Duties) -> None:
        """``apply``: where other replicas' records go (``Projector.followed``);
        ``applied``: the log position the replay reached; ``duties``: what this replica
        runs while it leads (``relayer.lifecycle.LeaderOnly``)."""
        self._applied = applied
        self._duties = duties
        self.store = store
        self.leadership = leadership
        self._apply = apply
        self._follower: asyncio.Task[None] | None = None
        self._head = 0
        """The newest log position read by ``status``."""

    @property
    def shared(self) -> bool:
        """Other processes may write the same log."""
        return not isinstance(self.leadership, SoleLeader)

    @property
    def role(self) -> str:
        return "leader" if self.leadership.is_leader else "follower"

    async def start(self) -> None:
        """Follow the log after what the replay folded in, then campaign."""
        self.store.start_at(self._applied())
        if self.store.feed is not None:
            self._follower = asyncio.create_task(self._follow(), name="log-follower")
        await self.leadership.start(self._duties)

    def jobs(self) -> Sequence[Job]:
        return []

    async def stop(self) -> None:
        try:
            await self.leadership.stop()
        finally:
            # Also when the stop is cancelled: nothing follows the log after it.
            follower, self._follower = self._follower, None
            if follower is not None:
                follower.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await follower

    async def _follow(self) -> None:
        while True:
            try:
                await self.store.follow(self._apply)
                return
            except Exception:
                log.exception("log_follower_failed")
                await asyncio.sleep(_RESTART_SECONDS)

    @property
    def following(self) -> bool:
        return self._follower is not None and not self._follower.done()

    def reading(self) -> ReplicaReading:
        """What the metrics show, without a store call: the log head is the newest
        position this replica heard of (commit notifications, its own commits, the
        last ``status``), so a lag shows as soon as a notification announces it."""
        applied = self.store.applied
        signal = getattr(self.store.feed, "signal", None)
        heard = signal.heard if isinstance(signal, CommitSignal) else 0
        return ReplicaReading(leader=self.leadership.is_leader,
                              elections=self.leadership.elections,
                              schema_version=self.store.schema_version or 0,
                              log_head=max(heard, self._head, applied), applied=applied)

    async def status(self) -> dict[str, Any]:
        """Role, fan-out lag and schema version, as ``/health`` reports them."""
        try:
            head: int | None = await self.store.last_position()
        except StoreError:
            head = None
        if head is not None:
            self._head = max(self._head, head)
        applied = self.store.applied
        return {
            "role": self.role,
            "shared_store": self.shared,
            "schema_version": self.store.schema_version,
            "elections": self.leadership.elections,
            "following": self.following,
            "log_head": head,
            "applied_position": applied,
            "fanout_lag": None if head is None else max(head - applied, 0),
            "applied_from_others": self.store.applied_foreign,
            "apply_errors": self.store.apply_errors,
        }
