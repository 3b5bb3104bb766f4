from __future__ import annotations

from dataclasses import dataclass

from relayer.events.bus import EventBus


@dataclass(frozen=True, slots=True)
class Happened:
    n: int


async def test_failing_subscriber_is_counted_and_others_still_run() -> None:
    bus = EventBus()
    got: list[int] = []
    failed: list[str] = []
    bus.on_handler_error = failed.append

    def broken(event: Happened) -> None:
        raise RuntimeError("boom")

    async def slow_ok(event: Happened) -> None:
        got.append(event.n * 10)

    async def async_broken(event: Happened) -> None:
        raise RuntimeError("boom")

    bus.subscribe(Happened, broken)
    bus.subscribe(Happened, lambda e: got.append(e.n))
    bus.subscribe(None, slow_ok)
    bus.subscribe(None, async_broken)
    bus.publish(Happened(1))
    bus.publish(Happened(2))
    await bus.drain()
    assert sorted(got) == [1, 2, 10, 20]
    assert bus.handler_errors == 4
    assert len(failed) == 4


async def test_unsubscribe() -> None:
    bus = EventBus()
    got: list[Happened] = []
    stop = bus.subscribe(Happened, got.append)
    bus.publish(Happened(1))
    stop()
    bus.publish(Happened(2))
    assert got == [Happened(1)]
