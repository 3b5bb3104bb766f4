"""Escrow timelock offsets and their packed uint256 form (docs/protocol.md)."""

from __future__ import annotations

from dataclasses import dataclass, fields
from enum import IntEnum

from relayer.errors import ValidationError

_U32 = (1 << 32) - 1
_DEPLOYED_AT_SHIFT = 224


class Stage(IntEnum):
    SRC_WITHDRAWAL = 0
    SRC_PUBLIC_WITHDRAWAL = 1
    SRC_CANCELLATION = 2
    SRC_PUBLIC_CANCELLATION = 3
    DST_WITHDRAWAL = 4
    DST_PUBLIC_WITHDRAWAL = 5
    DST_CANCELLATION = 6


@dataclass(frozen=True, slots=True)
class Timelocks:
    """Seconds after an escrow's deployment at which each stage begins."""

    src_withdrawal: int
    src_public_withdrawal: int
    src_cancellation: int
    src_public_cancellation: int
    dst_withdrawal: int
    dst_public_withdrawal: int
    dst_cancellation: int

    def offsets(self) -> tuple[int, ...]:
        return tuple(getattr(self, f.name) for f in fields(self))

    def check(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if not 0 <= value <= _U32:
                raise ValidationError(
                    f"timelocks.{f.name} must be an integer in [0, {_U32}]",
                    code="INVALID_TIMELOCKS",
                    details={"field": f"timelocks.{f.name}"},
                )
        src = (self.src_withdrawal, self.src_public_withdrawal,
               self.src_cancellation, self.src_public_cancellation)
        dst = (self.dst_withdrawal, self.dst_public_withdrawal, self.dst_cancellation)
        if not _strictly_increasing(src):
            raise ValidationError(
                "source timelocks must satisfy withdrawal < public withdrawal"
                " < cancellation < public cancellation",
                code="INVALID_TIMELOCKS",
                details={"source": list(src)},
            )
        if not _strictly_increasing(dst):
            raise ValidationError(
                "destination timelocks must satisfy withdrawal < public withdrawal"
                " < cancellation",
                code="INVALID_TIMELOCKS",
                details={"destination": list(dst)},
            )

    def pack(self, deployed_at: int = 0) -> int:
        packed = deployed_at << _DEPLOYED_AT_SHIFT
        for stage, offset in enumerate(self.offsets()):
            packed |= offset << (32 * stage)
        return packed

    @classmethod
    def unpack(cls, packed: int) -> tuple[Timelocks, int]:
        """The offsets and the ``deployedAt`` timestamp held in ``packed``."""
        offsets = [(packed >> (32 * stage)) & _U32 for stage in Stage]
        return cls(*offsets), packed >> _DEPLOYED_AT_SHIFT

    def at(self, stage: Stage, deployed_at: int) -> int:
        """Absolute unix time at which ``stage`` begins for an escrow deployed then."""
        return deployed_at + self.offsets()[stage]


def _strictly_increasing(values: tuple[int, ...]) -> bool:
    return all(a < b for a, b in zip(values, values[1:], strict=False))
