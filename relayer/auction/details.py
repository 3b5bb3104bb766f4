"""Auction details and their packed on-chain layout.

Layout (big-endian, no padding, as 1inch packs it)::

    uint24 gasBumpEstimate | uint32 gasPriceEstimate | uint32 startTime
    | uint24 duration | uint24 initialRateBump | uint8 N
    | N x (uint24 rateBump, uint16 delay)
"""

from __future__ import annotations

from dataclasses import dataclass, field

from relayer.errors import ValidationError

_U8, _U16, _U24, _U32 = (1 << 8) - 1, (1 << 16) - 1, (1 << 24) - 1, (1 << 32) - 1
_HEADER_LEN = 3 + 4 + 4 + 3 + 3 + 1
_POINT_LEN = 3 + 2


@dataclass(frozen=True, slots=True)
class AuctionPoint:
    """A corner of the price curve: ``rate_bump`` reached ``delay`` s after the previous one."""

    rate_bump: int
    delay: int


@dataclass(frozen=True, slots=True)
class AuctionDetails:
    start_time: int
    duration: int
    initial_rate_bump: int
    points: tuple[AuctionPoint, ...] = field(default=())
    gas_bump_estimate: int = 0
    gas_price_estimate: int = 0

    @property
    def end_time(self) -> int:
        return self.start_time + self.duration

    def point_times(self) -> list[int]:
        """Absolute time of each point, in order."""
        times, at = [], self.start_time
        for point in self.points:
            at += point.delay
            times.append(at)
        return times

    def check(self) -> None:
        """Raise ``ValidationError`` unless every field fits its packed width and the
        points lie inside the auction."""
        _fits("auction.gas_bump_estimate", self.gas_bump_estimate, _U24)
        _fits("auction.gas_price_estimate", self.gas_price_estimate, _U32)
        _fits("auction.start_time", self.start_time, _U32)
        _fits("auction.duration", self.duration, _U24)
        _fits("auction.initial_rate_bump", self.initial_rate_bump, _U24)
        if self.duration == 0:
            raise ValidationError("auction.duration must be positive", code="INVALID_AUCTION")
        if len(self.points) > _U8:
            raise ValidationError("auction.points: at most 255 points", code="INVALID_AUCTION")
        for i, point in enumerate(self.points):
            _fits(f"auction.points[{i}].rate_bump", point.rate_bump, _U24)
            _fits(f"auction.points[{i}].delay", point.delay, _U16)
        times = self.point_times()
        if times and times[-1] > self.end_time:
            raise ValidationError(
                "auction.points must lie inside the auction duration",
                code="INVALID_AUCTION",
                details={"last_point_offset": times[-1] - self.start_time,
                         "duration": self.duration},
            )

    def encode(self) -> bytes:
        self.check()
        out = bytearray()
        out += self.gas_bump_estimate.to_bytes(3, "big")
        out += self.gas_price_estimate.to_bytes(4, "big")
        out += self.start_time.to_bytes(4, "big")
        out += self.duration.to_bytes(3, "big")
        out += self.initial_rate_bump.to_bytes(3, "big")
        out += len(self.points).to_bytes(1, "big")
        for point in self.points:
            out += point.rate_bump.to_bytes(3, "big")
            out += point.delay.to_bytes(2, "big")
        return bytes(out)

    @classmethod
    def decode(cls, data: bytes) -> AuctionDetails:
        if len(data) < _HEADER_LEN:
            raise ValidationError("packed auction details too short", code="INVALID_AUCTION")
        count = data[_HEADER_LEN - 1]
        if len(data) != _HEADER_LEN + count * _POINT_LEN:
            raise ValidationError(
                "packed auction details length does not match its point count",
                code="INVALID_AUCTION",
            )
        points = []
        for i in range(count):
            at = _HEADER_LEN + i * _POINT_LEN
            points.append(AuctionPoint(
                rate_bump=int.from_bytes(data[at:at + 3], "big"),
                delay=int.from_bytes(data[at + 3:at + 5], "big"),
            ))
        return cls(
            gas_bump_estimate=int.from_bytes(data[0:3], "big"),
            gas_price_estimate=int.from_bytes(data[3:7], "big"),
            start_time=int.from_bytes(data[7:11], "big"),
            duration=int.from_bytes(data[11:14], "big"),
            initial_rate_bump=int.from_bytes(data[14:17], "big"),
            points=tuple(points),
        )


def _fits(name: str, value: int, maximum: int) -> None:
    if not 0 <= value <= maximum:
        raise ValidationError(
            f"{name} must be an integer in [0, {maximum}]",
            code="INVALID_AUCTION",
            details={"field": name, "value": value},
        )
