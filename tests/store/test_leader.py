"""Leader election on a real PostgreSQL: one leader at a time, fast takeover."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import asyncpg
import pytest

from devnet.process import wait_until
from relayer.store.leader import PostgresLeadership, SoleLeader

TAKEOVER = 2.0


class RecordingDuties:
    """Counts starts and stops, and notes whether two replicas ever led together."""

    def __init__(self, name: str, running: set[str]) -> None:
        self.name = name
        self.running = running
        self.starts = 0
        self.stops = 0
        self.overlaps = 0

    async def start(self) -> None:
        if self.running:
            self.overlaps += 1
        self.running.add(self.name)
        self.starts += 1

    async def stop(self) -> None:
        self.running.discard(self.name)
        self.stops += 1


@pytest.fixture
async def two(pg_url: str) -> AsyncIterator[list[tuple[PostgresLeadership, RecordingDuties]]]:
    running: set[str] = set()
    pairs = [(PostgresLeadership(pg_url, takeover_seconds=TAKEOVER, name=f"relayer-test-{n}"),
              RecordingDuties(n, running)) for n in ("a", "b")]
    for leadership, duties in pairs:
        await leadership.start(duties)
    try:
        yield pairs
    finally:
        for leadership, _ in pairs:
            await leadership.stop()


async def one_leader(pairs: list[tuple[PostgresLeadership, RecordingDuties]]
                     ) -> tuple[PostgresLeadership, RecordingDuties]:
    async def elected() -> bool:
        return sum(1 for leadership, _ in pairs if leadership.is_leader) == 1

    await wait_until(elected, timeout=TAKEOVER * 2, what="one leader")
    return next(pair for pair in pairs if pair[0].is_leader)


async def test_exactly_one_replica_leads(
        two: list[tuple[PostgresLeadership, RecordingDuties]]) -> None:
    leadership, duties = await one_leader(two)

    async def started() -> bool:
        return duties.starts == 1

    await wait_until(started, timeout=TAKEOVER, what="duties to start")
    assert duties.running == {duties.name}
    assert sum(d.starts for _, d in two) == 1


async def test_a_stopped_leader_hands_over_within_the_takeover_time(
        two: list[tuple[PostgresLeadership, RecordingDuties]]) -> None:
    leadership, duties = await one_leader(two)
    await leadership.stop()
    assert duties.stops == 1 and not leadership.is_leader
    started = asyncio.get_running_loop().time()
    successor, successor_duties = await one_leader(two)
    assert successor is not leadership
    assert asyncio.get_running_loop().time() - started < TAKEOVER
    assert all(d.overlaps == 0 for _, d in two)


async def test_a_leader_whose_session_is_killed_steps_down_and_one_leads_again(
        pg_url: str, two: list[tuple[PostgresLeadership, RecordingDuties]]) -> None:
    leadership, duties = await one_leader(two)
    admin = await asyncpg.connect(pg_url)
    try:
        killed = await admin.fetchval(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
            " WHERE application_name = $1", leadership.name)
    finally:
        await admin.close()
    assert killed == 1

    async def led_again() -> bool:
        # Usually the other replica wins; the old one may win the race back after
        # reconnecting. Either way its duties stopped first and one replica leads.
        return duties.stops == 1 and any(
            other.is_leader and other_duties.running == {other_duties.name}
            for other, other_duties in two)

    await wait_until(led_again, timeout=TAKEOVER * 2, what="a replica to lead again")
    assert all(d.overlaps == 0 for _, d in two)


async def test_sole_leader_leads_from_start_to_stop() -> None:
    running: set[str] = set()
    duties = RecordingDuties("only", running)
    leader = SoleLeader()
    assert not leader.is_leader
    await leader.start(duties)
    assert leader.is_leader and running == {"only"}
    await leader.stop()
    assert not leader.is_leader and duties.stops == 1 and not running
