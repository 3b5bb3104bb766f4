"""A scripted ``CardanoNode`` for monitor unit tests: the test appends blocks and rolls the
chain back; each chain-sync session replays from its intersection, then follows."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from typing import Any

from relayer.chains.cardano.node import (
    ChainSyncStep,
    Intersection,
    IntersectionNotFound,
    Point,
    RollBackward,
    RollForward,
    Tip,
)
from relayer.chains.cardano.slots import SlotClock

Json = dict[str, Any]


class FakeChain:
    def __init__(self, clock: SlotClock) -> None:
        self.clock = clock
        self.blocks: list[Json] = []
        self._sessions: set[FakeSession] = set()

    @property
    def url(self) -> str:
        return "fake://cardano"

    @property
    def tip(self) -> Tip | None:
        if not self.blocks:
            return None
        last = self.blocks[-1]
        return Tip(int(last["slot"]), str(last["id"]), int(last["height"]))

    def add(self, *blocks: Json) -> None:
        for block in blocks:
            self.blocks.append(block)
            for session in self._sessions:
                session.push(RollForward(block, self.tip))

    def roll_back(self, slot: int) -> None:
        """Drop the blocks after ``slot``; followers roll back to the newest one left."""
        self.blocks = [b for b in self.blocks if int(b["slot"]) <= slot]
        point = None if not self.blocks else _point(self.blocks[-1])
        for session in self._sessions:
            session.push(RollBackward(point, self.tip))

    @asynccontextmanager
    async def chain_sync(self) -> AsyncIterator[FakeSession]:
        session = FakeSession(self)
        self._sessions.add(session)
        try:
            yield session
        finally:
            self._sessions.discard(session)

    async def utxos(self, refs: Sequence[tuple[str, int]]) -> list[Json]:
        return []


class FakeSession:
    def __init__(self, chain: FakeChain) -> None:
        self._chain = chain
        self._steps: asyncio.Queue[ChainSyncStep] = asyncio.Queue()

    def push(self, step: ChainSyncStep) -> None:
        self._steps.put_nowait(step)

    async def slot_clock(self) -> SlotClock:
        return self._chain.clock

    async def find_intersection(self, points: Sequence[Intersection]) -> Intersection:
        blocks = self._chain.blocks
        ids = [str(b["id"]) for b in blocks]
        for point in points:
            if point is None or point.id in ids:
                start = 0 if point is None else ids.index(point.id) + 1
                self.push(RollBackward(point, self._chain.tip))
                for block in blocks[start:]:
                    self.push(RollForward(block, self._chain.tip))
                return point
        raise IntersectionNotFound

    async def next(self) -> ChainSyncStep:
        return await self._steps.get()

    def buffered(self) -> int:
        return self._steps.qsize()


def _point(block: Json) -> Point:
    return Point(int(block["slot"]), str(block["id"]))


async def until(check: Callable[[], bool], what: str, timeout: float = 5.0) -> None:
    """Poll ``check`` with a deadline (the loop runs between polls; no fixed sleeps)."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out waiting for {what}")
        await asyncio.sleep(0.001)
