"""The Cardano monitor's cursor: recent block points, persisted as the ``cardano`` checkpoint.

The cursor remembers the blocks it has processed as (slot, id, height). To resume, it
offers Ogmios' ``findIntersection`` its points newest first, plus the origin; the node
answers with the newest one still on its chain. Keeping every point would grow without
bound, keeping only the last one fails after any rollback past it, so the cursor keeps
the newest ``DENSE`` points and, further back, points ever more sparsely: at a depth of
``DENSE * 2**j`` to ``DENSE * 2**(j+1)`` blocks only heights divisible by ``2**j``. That is
about ``DENSE`` points per doubling of depth (a few hundred in all), and a rollback of
depth ``d`` resumes at most about ``d`` blocks before the fork.

The checkpoint also carries the version of the last record the monitor wrote to its
chain stream, so a restarted monitor numbers its next records without reading the log.
Both are written in the same store transaction as the records of the blocks they cover.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import msgspec

from relayer.chains.cardano.node import Point

CHECKPOINT_NAME = "cardano"
DENSE = 16
UNKNOWN_HEIGHT = -1
"""The height of a rollback point the cursor had already thinned out; set from the next
block (its height minus one)."""


@dataclass(frozen=True, slots=True)
class BlockPoint:
    slot: int
    id: str
    height: int

    @property
    def point(self) -> Point:
        return Point(self.slot, self.id)


class _Stored(msgspec.Struct, array_like=True, forbid_unknown_fields=True):
    points: list[tuple[int, str, int]]
    """(slot, id, height), oldest first."""
    stream_version: int


_encoder = msgspec.json.Encoder()
_decoder = msgspec.json.Decoder(_Stored)


@dataclass(slots=True)
class Cursor:
    points: list[BlockPoint] = field(default_factory=list)
    """Oldest first; the last is the newest processed block."""
    stream_version: int = 0
    """The version of the last record in the chain stream (0: none yet)."""
    checkpoint_version: int = 0
    """The stored checkpoint's version (0: never written); the next write is this + 1."""

    @property
    def tip(self) -> BlockPoint | None:
        return self.points[-1] if self.points else None

    def intersections(self) -> list[Point | None]:
        """Points to offer ``findIntersection``, newest first, then the origin (None)."""
        offered: list[Point | None] = [p.point for p in reversed(self.points)]
        offered.append(None)
        return offered

    def advance(self, point: BlockPoint) -> None:
        tip = self.tip
        if tip is not None and tip.height == UNKNOWN_HEIGHT:
            self.points[-1] = BlockPoint(tip.slot, tip.id, point.height - 1)
        self.points.append(point)

    def roll_back(self, point: Point | None) -> None:
        """Forget the points after ``point`` (None: the origin, forget all)."""
        if point is None:
            self.points.clear()
            return
        while self.points and self.points[-1].slot > point.slot:
            self.points.pop()
        tip = self.tip
        if tip is None or tip.id != point.id:
            self.points.append(BlockPoint(point.slot, point.id, UNKNOWN_HEIGHT))

    def thin(self) -> None:
        """Drop the points the spacing rule no longer keeps."""
        tip = self.tip
        if tip is None or tip.height == UNKNOWN_HEIGHT:
            return
        self.points = [p for p in self.points if keeps(tip.height, p.height)]

    def encode(self) -> bytes:
        return _encoder.encode(_Stored(
            points=[(p.slot, p.id, p.height) for p in self.points],
            stream_version=self.stream_version,
        ))

    @classmethod
    def decode(cls, data: bytes, *, checkpoint_version: int) -> Cursor:
        stored = _decoder.decode(data)
        return cls(points=[BlockPoint(*p) for p in stored.points],
                   stream_version=stored.stream_version,
                   checkpoint_version=checkpoint_version)


def keeps(tip_height: int, height: int) -> bool:
    """Whether the spacing rule keeps a point at ``height`` when the tip is at ``tip_height``."""
    depth = tip_height - height
    if depth < DENSE or height == UNKNOWN_HEIGHT:
        return True
    step = 1 << ((depth // DENSE).bit_length() - 1)
    return height % step == 0
