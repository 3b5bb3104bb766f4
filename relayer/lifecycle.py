"""The lifecycle of a running relayer: its parts start in order and stop in reverse.

Every part the app runs is a ``Component``: it starts (after the parts before it), stops
(before them), and names the jobs it wants run on a schedule. ``Lifecycle`` holds the
components in their start order, one scheduler for every job, and the one place that
keeps leader-only jobs off a follower. Stopping runs under one deadline: a component
that overstays its share is cancelled, and the rest still stop.

The parts only a leader runs (chain monitors, webhook delivery) are a ``LeaderOnly``
group that the replica's election starts and stops (``relayer.replica``).
"""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

import structlog
from apscheduler.schedulers.asyncio import AsyncIOScheduler

log = structlog.get_logger(__name__)

_LAST_GRACE = 0.5
"""Seconds a component still gets to stop once the deadline has passed (closing files
and sockets must not be skipped because an earlier part overstayed)."""


@dataclass(frozen=True, slots=True)
class Job:
    """Work that runs every ``seconds`` (one run at a time; a missed run is dropped)."""

    name: str
    run: Callable[[], object]
    seconds: float
    leader_only: bool = False
    first: datetime | None = None
    """When the first run is due (``None``: one interval after start)."""


class Service(Protocol):
    @property
    def name(self) -> str: ...

    async def start(self) -> None: ...

    async def stop(self) -> None: ...


class Component(Service, Protocol):
    def jobs(self) -> Sequence[Job]:
        """What the component wants run on a schedule (read once, after every start)."""
        ...


class IsLeader(Protocol):
    @property
    def is_leader(self) -> bool: ...


class Lifecycle:
    def __init__(self, components: Sequence[Component], *, leadership: IsLeader,
                 stop_timeout: float, run_jobs: bool = True) -> None:
        """``run_jobs``: schedule the components' jobs (tests drive them by hand)."""
        self.components = tuple(components)
        self._leadership = leadership
        self._stop_timeout = stop_timeout
        self._run_jobs = run_jobs
        self._started: list[Component] = []
        self._scheduler: AsyncIOScheduler | None = None

    async def start(self) -> None:
        try:
            for component in self.components:
                await component.start()
                self._started.append(component)
        except BaseException:
            await self.stop()  # what did start stops again, in reverse
            raise
        if self._run_jobs:
            scheduler = AsyncIOScheduler()
            for component in self.components:
                for job in component.jobs():
                    scheduler.add_job(self._gated(job), "interval", seconds=job.seconds,
                                      id=job.name, max_instances=1, coalesce=True,
                                      start_date=job.first)
            scheduler.start()
            self._scheduler = scheduler
        log.info("relayer_started", components=[c.name for c in self.components])

    def _gated(self, job: Job) -> Callable[[], Awaitable[None]]:
        async def run() -> None:
            if job.leader_only and not self._leadership.is_leader:
                return
            result = job.run()
            if inspect.isawaitable(result):
                await result

        run.__qualname__ = job.name
        return run

    async def stop(self) -> None:
        """Stop the jobs, then every started component in reverse order, under the
        deadline; one that overstays is cancelled."""
        scheduler, self._scheduler = self._scheduler, None
        if scheduler is not None:
            scheduler.shutdown(wait=False)
        deadline = time.monotonic() + self._stop_timeout
        while self._started:
            component = self._started.pop()
            left = max(deadline - time.monotonic(), _LAST_GRACE)
            try:
                await asyncio.wait_for(component.stop(), left)
            except TimeoutError:
                log.warning("component_stop_timed_out", component=component.name,
                            seconds=round(left, 3))
            except Exception:
                log.exception("component_stop_failed", component=component.name)


class LeaderOnly:
    """Components that run only while this replica leads, started in order and stopped
    in reverse (the ``Duties`` a ``Leadership`` starts when elected)."""

    def __init__(self, components: Sequence[Service]) -> None:
        self.components = tuple(components)
        self._started: list[Service] = []

    async def start(self) -> None:
        try:
            for component in self.components:
                await component.start()
                self._started.append(component)
        except BaseException:
            await self.stop()
            raise
        log.info("leader_duties_started", components=[c.name for c in self.components])

    async def stop(self) -> None:
        """Stop each started part in reverse; one that fails or is cancelled (the app's
        stop deadline passed) does not keep the others running."""
        cancelled = False
        while self._started:
            component = self._started.pop()
            try:
                await component.stop()
            except asyncio.CancelledError:
                cancelled = True
            except Exception:
                log.exception("leader_duty_stop_failed", component=component.name)
        log.info("leader_duties_stopped")
        if cancelled:
            raise asyncio.CancelledError
