"""The lifecycle: components start in order and stop in reverse under a deadline; a
leader-only job never runs on a follower."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field

from relayer.lifecycle import Job, LeaderOnly, Lifecycle


@dataclass
class Part:
    name: str
    log: list[str]
    hang: bool = False
    my_jobs: list[Job] = field(default_factory=list)

    async def start(self) -> None:
        self.log.append(f"start {self.name}")

    async def stop(self) -> None:
        if self.hang:
            await asyncio.Event().wait()  # never set: only cancellation ends it
        self.log.append(f"stop {self.name}")

    def jobs(self) -> Sequence[Job]:
        return self.my_jobs


@dataclass
class Leadership:
    is_leader: bool = True


async def test_parts_start_in_order_and_stop_in_reverse() -> None:
    log: list[str] = []
    lifecycle = Lifecycle([Part("log", log), Part("pricing", log), Part("replica", log)],
                          leadership=Leadership(), stop_timeout=5, run_jobs=False)
    await lifecycle.start()
    await lifecycle.stop()
    assert log == ["start log", "start pricing", "start replica",
                   "stop replica", "stop pricing", "stop log"]


async def test_a_part_that_overstays_is_cancelled_and_the_rest_still_stop() -> None:
    log: list[str] = []
    lifecycle = Lifecycle([Part("store", log), Part("stuck", log, hang=True)],
                          leadership=Leadership(), stop_timeout=0, run_jobs=False)
    await lifecycle.start()
    await lifecycle.stop()
    assert log == ["start store", "start stuck", "stop store"]


async def test_leader_only_jobs_return_at_once_on_a_follower() -> None:
    ran: list[str] = []
    leadership = Leadership(is_leader=False)
    lifecycle = Lifecycle([], leadership=leadership, stop_timeout=1, run_jobs=False)
    lead = lifecycle._gated(Job("tick", lambda: ran.append("tick"), 1, leader_only=True))
    every = lifecycle._gated(Job("retries", lambda: ran.append("retries"), 1))
    await lead()
    await every()
    assert ran == ["retries"]
    leadership.is_leader = True
    await lead()
    assert ran == ["retries", "tick"]


async def test_the_leaders_parts_stop_in_reverse() -> None:
    log: list[str] = []
    duties = LeaderOnly([Part("delivery", log), Part("monitor", log)])
    await duties.start()
    await duties.stop()
    assert log == ["start delivery", "start monitor", "stop monitor", "stop delivery"]
