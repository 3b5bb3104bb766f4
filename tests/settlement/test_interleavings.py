"""Random interleavings of chain events: the secret goes out exactly when the rules hold.

Hypothesis plays both chains against a coordinator over a real SQLite log:
escrows good and bad, reorgs and rollbacks, duplicated and late events, time
and confirmations. An oracle written here, independently of the policy
module, says when every rule of ARCHITECTURE section 5 holds. After every
step: a custody release happened only while the oracle allowed it, and when
the oracle allows it the secret is out; never more than one release.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from relayer.events.chain import ChainEvent, EscrowCreated
from relayer.events.settlement import SecretReleased
from relayer.orders.status import OrderStatus
from tests.settlement.harness import POLICY, Harness

BAD_DESTINATIONS = ("amount", "receiver", "taker", "late", "deposit")
CHOICES: list[tuple[object, ...]] = [
    ("src",), ("dst",), ("confirm", 1), ("time", 12), ("src",), ("dst",), ("confirm", 2),
    ("time", 1), ("time", 5), ("confirm_dst", 3), ("time", 40), ("time", 200),
    ("time", 400), ("confirm", 3),
    *[("bad", kind) for kind in BAD_DESTINATIONS],
    ("revert_src",), ("revert_dst",), ("duplicate",), ("cancel_order",), ("tick",),
]
STEPS = st.lists(st.sampled_from(CHOICES), min_size=1, max_size=20)


@dataclass
class World:
    """What the test knows it put on the chains."""

    src: EscrowCreated | None = None
    dst: EscrowCreated | None = None
    last: ChainEvent | None = None
    cancelled: bool = False
    bad: list[EscrowCreated] = field(default_factory=list)


def oracle(h: Harness, world: World) -> bool:
    """Every reveal rule holds now (computed here, not by the policy module)."""
    if world.src is None or world.dst is None or world.cancelled:
        return False
    src_conf = h.chains.heights["ethereum"] - world.src.point.height + 1
    dst_conf = h.chains.heights["cardano"] - world.dst.point.height + 1
    deployed = world.dst.immutables.timelocks >> 224
    src_deployed = world.src.immutables.timelocks >> 224
    order = h.signed.order  # type: ignore[union-attr]
    now = int(h.clock.now())
    return (deployed + order.timelocks.dst_cancellation
            <= src_deployed + order.timelocks.src_cancellation
            and src_conf >= POLICY.confirmations["ethereum"]
            and dst_conf >= POLICY.confirmations["cardano"]
            and now >= deployed + order.timelocks.dst_withdrawal
            and now + POLICY.safety_margin < deployed + order.timelocks.dst_cancellation)


def bad_destination(h: Harness, src: EscrowCreated, kind: str, n: int) -> EscrowCreated:
    good = h.dst_escrow(src)
    escrow = f"{n:064x}#9"
    imm = good.immutables
    changes: dict[str, object] = {
        "amount": {"amount": imm.amount - 1},
        "receiver": {"maker": "ab" * 28},
        "taker": {"taker": "cd" * 28},
        "late": {"timelocks": imm.timelocks + (10_000 << (32 * 6))},
        "deposit": {"safety_deposit": imm.safety_deposit - 1},
    }[kind]
    return h.dst_escrow(src, escrow=escrow, **changes)


async def play(steps: list[tuple[object, ...]]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        h = Harness(Path(tmp))
        await h.open()
        try:
            await h.submit()
            world = World()
            for step in steps:
                before = sum(isinstance(e, SecretReleased) for e in h.published)
                await apply(h, world, step)
                await h.coordinator.tick()
                releases = [e for e in h.published if isinstance(e, SecretReleased)]
                assert len(releases) <= 1, "a secret was released twice"
                if len(releases) > before:
                    assert releases[0].source == "custody"
                    assert oracle(h, world), f"released while a rule failed, at {step}"
                if oracle(h, world):
                    assert releases, f"every rule holds but nothing was released, at {step}"
        finally:
            await h.close()


async def apply(h: Harness, world: World, step: tuple[object, ...]) -> None:
    kind = step[0]
    if kind == "src" and world.src is None:
        world.src = h.src_escrow()
        await send(h, world, world.src)
    elif kind == "dst" and world.src is not None and world.dst is None:
        world.dst = h.dst_escrow(world.src)
        await send(h, world, world.dst)
    elif kind == "bad" and world.src is not None:
        bad = bad_destination(h, world.src, str(step[1]), len(world.bad) + 1)
        world.bad.append(bad)
        await send(h, world, bad)
    elif kind == "revert_src" and world.src is not None:
        await send(h, world, h.reverted(world.src))
        world.src = None
        if world.dst is not None:  # its fill is gone with the source: drop it too
            await send(h, world, h.reverted(world.dst))
            world.dst = None
    elif kind == "revert_dst" and world.dst is not None:
        await send(h, world, h.reverted(world.dst))
        world.dst = None
    elif kind == "confirm":
        h.confirm(int(str(step[1])))
    elif kind == "confirm_dst":
        h.chains.heights["cardano"] += int(str(step[1]))
    elif kind == "time":
        h.clock.advance(int(str(step[1])))
    elif kind == "duplicate" and world.last is not None:
        await h.chain(world.last)
    elif kind == "cancel_order" and not world.cancelled:
        entry = h.book.get(h.order_hash)
        assert entry is not None
        if entry.status in (OrderStatus.ACTIVE, OrderStatus.PENDING,
                            OrderStatus.PARTIALLY_FILLED):
            await h.desk.transition(h.order_hash, OrderStatus.CANCELLED, reason="test")
            world.cancelled = True


async def send(h: Harness, world: World, event: ChainEvent) -> None:
    world.last = event
    await h.chain(event)


@settings(max_examples=300, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(steps=STEPS)
@example(steps=[("src",), ("dst",), ("confirm", 1), ("time", 12)])
@example(steps=[("src",), ("dst",), ("confirm_dst", 3), ("time", 12), ("confirm", 1)])
@example(steps=[("src",), ("dst",), ("time", 400), ("time", 40), ("confirm", 3)])
@example(steps=[("src",), ("dst",), ("confirm", 3), ("time", 5), ("time", 5)])
@example(steps=[("src",), ("dst",), ("cancel_order",), ("confirm", 3), ("time", 12)])
@example(steps=[("src",), ("bad", "amount"), ("dst",), ("confirm", 3), ("time", 12)])
@example(steps=[("src",), ("time", 200), ("dst",), ("confirm", 3), ("time", 12)])
@example(steps=[("src",), ("dst",), ("revert_dst",), ("confirm", 3), ("time", 12)])
@example(steps=[("src",), ("dst",), ("revert_src",), ("src",), ("confirm", 1), ("dst",),
                ("confirm", 3), ("duplicate",), ("time", 12)])
async def test_secret_released_exactly_when_every_rule_holds(
        steps: list[tuple[object, ...]]) -> None:
    await play(steps)


async def test_the_happy_interleaving_releases() -> None:
    await play([("src",), ("dst",), ("confirm", 3), ("time", 12), ("tick",)])
