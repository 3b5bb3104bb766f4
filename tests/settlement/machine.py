"""A stateful adversary against settlement: no secret ever opens an unpaid escrow.

Hypothesis drives ``SettlementAdversary`` against the real coordinator, policy and
SQLite log: orders in both directions, whole and in parts, sharing secrets;
several resolvers; source escrows authentic, forged (a copy of the order's datum
paid to the order script by someone else) and foreign; destinations right and
wrong in every term; duplicated, late, reverted and re-included events; lagging
and rolled-back tips; the clock across every window; restarts and a second
coordinator on the same log; custody and maker mode. After every step the
oracle of ``tests/settlement/oracle.py`` must have found nothing wrong with
any release, no coordinator may have raised, and a clean honest fill must have
got its secret (docs/settlement.md, "Adversarial model").

``run`` plays it: fixed (derandomized) in CI (``tests/settlement/test_adversarial.py``);
``make fuzz`` runs the same machine with a fresh seed and many more runs
(``scripts/fuzz_settlement.py``).
"""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
import tempfile
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import structlog
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    rule,
    run_state_machine_as_test,
)

from relayer.chains.events import EscrowRole
from relayer.errors import ConflictError
from relayer.orders.status import CANCELLABLE, OrderStatus
from relayer.settlement.coordinator import Coordinator
from tests.settlement.adversary import World
from tests.settlement.harness import Harness
from tests.settlement.oracle import (
    CRASH,
    LIVENESS,
    LOG,
    NOT_AUTHENTIC,
    TWICE,
    UNCOVERED,
    UNKNOWN_ON_CHAIN,
    clean_fills,
)
from tests.settlement.pieces import RESOLVERS, Escrow, Lot, OrderPlan

STEPS = 8

PLANS = st.builds(OrderPlan, direction=st.sampled_from(["eth_to_ada", "ada_to_eth"]),
                  parts=st.sampled_from([1, 1, 2, 3]), gas=st.booleans(),
                  share=st.one_of(st.none(), st.integers(0, 1)))
ORIGINS = ("authentic", "authentic", "forged", "foreign", "other_lineage")
AMOUNTS = ("part", "part", "rest", "whole", "one", "over", "zero")
HASHLOCKS = ("expected", "expected", "expected", "next", "shared", "random")
SRC_FAULTS = ("none", "none", "none", "none", "token", "deposit", "timelocks", "maker")
DST_FAULTS = ("ok", "amount", "token", "receiver", "taker", "rogue_taker", "hashlock", "chain",
              "order_hash", "late_cancel", "finality0", "deposit", "short_window")
DSTS = ("ok", "ok", "ok", "ok", "ok", "absent", "absent", *DST_FAULTS[1:])
WHERE = ("new", "new", "tip", "late")
CHAINS = ("ethereum", "cardano")
STAGES = (0, 1, 2, 3, 4, 5, 6, "lock", "margin")


@dataclass
class Stats:
    runs: int = 0
    steps: int = 0
    releases: int = 0
    released_runs: int = 0
    seconds: float = 0.0
    violating_runs: int = 0
    kinds: Counter[str] = field(default_factory=Counter)
    examples: dict[str, str] = field(default_factory=dict)

    @property
    def share(self) -> float:
        return self.released_runs / self.runs if self.runs else 0.0

    def line(self) -> str:
        return (f"runs={self.runs} steps={self.steps} releases={self.releases} "
                f"runs_reaching_a_release={self.released_runs} ({self.share:.1%}) "
                f"violating_runs={self.violating_runs} wall={self.seconds:.1f}s")


STATS = Stats()
"""Totals over every run of the process (printed by the test and the fuzz script)."""


def _scratch() -> str | None:
    """A RAM-backed directory for the thousands of throwaway logs, where there is one."""
    shm = Path("/dev/shm")
    return str(shm) if shm.is_dir() and os.access(shm, os.W_OK) else None


class Violation(AssertionError):
    """The oracle found something wrong; one subclass per kind, so that hypothesis
    shrinks a counterexample for each kind it meets."""


KINDS = {kind: type(f"{kind.title().replace('_', '')}Violation", (Violation,), {})
         for kind in (UNCOVERED, NOT_AUTHENTIC, TWICE, UNKNOWN_ON_CHAIN, LIVENESS, CRASH, LOG)}


def fail(violations: list[tuple[str, str]]) -> None:
    if violations:
        raise KINDS[violations[0][0]]("\n".join(f"{kind}: {text}" for kind, text in violations))


class SettlementAdversary(RuleBasedStateMachine):
    strict = True
    """Fail at the first violation (False: only count them, to survey a relayer)."""

    def __init__(self) -> None:
        super().__init__()
        self.loop = asyncio.new_event_loop()
        self.tmp = tempfile.mkdtemp(prefix="adversary-", dir=_scratch())
        self.world: World | None = None
        self.rival: Coordinator | None = None
        self.detach_rival: Callable[[], None] = lambda: None
        self.steps = 0

    @property
    def w(self) -> World:
        assert self.world is not None
        return self.world

    def run(self, step: Awaitable[Any]) -> None:
        self.loop.run_until_complete(step)

    @initialize(custody=st.sampled_from([True, True, False]),
                plans=st.lists(PLANS, min_size=1, max_size=3))
    def orders(self, custody: bool, plans: list[OrderPlan]) -> None:
        h = Harness(Path(self.tmp), custody=custody, resolvers=RESOLVERS, synchronous="OFF")
        self.world = World(h, custody)
        self.run(h.open())
        self.run(self.w.submit(plans))

    # -- fills -------------------------------------------------------------------------

    @rule(order=st.integers(0, 2), taker=st.sampled_from([0, 0, 1]),
          amount=st.sampled_from(["part", "rest"]), where=st.sampled_from(WHERE),
          finish=st.sampled_from([True, True, True, False]))
    def honest(self, order: int, taker: int, amount: str, where: str, finish: bool) -> None:
        """A registered resolver fills the order's next part from the maker's funds and
        pays the receiver; mostly it then waits until both are final and asks."""
        self._fill(order, "authentic", amount, "expected", taker, "none", "ok", where, finish)

    @rule(order=st.integers(0, 2), taker=st.sampled_from([0, 1]))
    def swap(self, order: int, taker: int) -> None:
        """A whole honest swap of the order's next part: lock both, wait until final, get
        the secret, withdraw the destination, then the source."""
        w = self.w
        self._fill(order, "authentic", "part", "expected", taker, "none", "ok", "new", True)
        lot = w.lots[order % len(w.lots)]
        last = max(w.escrows.values(), key=lambda e: e.created.point.index)
        for escrow in [e for e in w.escrows.values() if e.hashlock == last.hashlock
                       and e.imm.order_hash.lower() == lot.order_hash and e.is_open][::-1]:
            secret = w.secret_of(escrow.hashlock)
            if secret is not None and w.spendable(escrow, cancel=False):
                self.run(w.withdraw(escrow, secret))

    @rule(order=st.integers(0, 2), origin=st.sampled_from(ORIGINS),
          amount=st.sampled_from(AMOUNTS), hashlock=st.sampled_from(HASHLOCKS),
          taker=st.sampled_from([0, 1, 2]), src_fault=st.sampled_from(SRC_FAULTS),
          dst=st.sampled_from(DSTS), where=st.sampled_from(WHERE),
          finish=st.sampled_from([True, True, False]))
    def fill(self, order: int, origin: str, amount: str, hashlock: str, taker: int,
             src_fault: str, dst: str, where: str, finish: bool) -> None:
        """Anyone locks a source escrow for an order (on Cardano maybe from a forged or
        foreign lock), any amount, any hash; maybe a destination, right or wrong; then
        maybe waits until both are final and asks for the secret."""
        self._fill(order, origin, amount, hashlock, taker, src_fault, dst, where, finish)

    def _fill(self, order: int, origin: str, amount: str, hashlock: str, taker: int,
              src_fault: str, dst: str, where: str, finish: bool) -> None:
        w = self.w
        lot = w.lots[order % len(w.lots)]
        making = w.amount(lot, amount)
        created, made_as = w.source(lot, origin=origin, amount=making,
                                    hashlock=w.hashlock(lot, hashlock, making), taker=taker,
                                    fault=src_fault, where=where)
        self.run(w.deliver(created, made_as=made_as))
        src = w.escrows[(created.point.chain, created.escrow)]
        locked: list[Escrow] = [src]
        target = None if dst == "absent" else w.destination(src, dst, "new")
        if target is not None:
            self.run(w.deliver(target, made_as=dst))
            locked.append(w.escrows[(target.point.chain, target.escrow)])
        if finish:
            w.finalize(locked)
            index = lot.index_of(src.hashlock)
            if w.custody:
                self.run(self._tick())
            elif index is not None:
                self.run(self._post(lot, index))

    @rule(source=st.integers(0, 15), fault=st.sampled_from(DST_FAULTS),
          where=st.sampled_from(WHERE))
    def destination(self, source: int, fault: str, where: str) -> None:
        """Another destination for any source escrow, right or wrong, maybe late."""
        w = self.w
        sources = [e for e in w.escrows.values() if e.present and e.role is EscrowRole.SRC]
        target = w.destination(sources[source % len(sources)], fault, where) if sources \
            else None
        if target is not None:
            self.run(w.deliver(target, made_as=fault))

    @rule(escrow=st.integers(0, 15), cancel=st.booleans())
    def spend(self, escrow: int, cancel: bool) -> None:
        """An open escrow is cancelled, or withdrawn with its secret if that is public,
        when its time locks allow it."""
        w = self.w
        spendable = [e for e in w.escrows.values()
                     if e.is_open and w.spendable(e, cancel=cancel)]
        if not spendable:
            return
        target = spendable[escrow % len(spendable)]
        secret = w.secret_of(target.hashlock)
        if cancel:
            self.run(w.cancel(target))
        elif secret is not None:
            self.run(w.withdraw(target, secret))

    # -- chain disorder ----------------------------------------------------------------

    @rule(action=st.sampled_from(["mine", "mine", "reorg", "rollback", "reinclude",
                                  "duplicate", "lag"]),
          chain=st.sampled_from(CHAINS), n=st.integers(0, 31), where=st.sampled_from(WHERE))
    def disorder(self, action: str, chain: str, n: int, where: str) -> None:
        """Blocks are mined; a reorg drops a transaction, or a chain's last blocks (never
        one that was ever final); a dropped creation comes back in another block; the
        monitor repeats an event; the tip the relayer reads lags behind."""
        w = self.w
        if action == "mine":
            w.blocks(chain, 1 + n % 4)
        elif action == "lag":
            w.lag(chain, 1 + n % 3)
        elif action == "rollback":
            self.run(w.rollback(chain, 1 + n % 2))
        elif action == "reorg":
            shallow = [e for e in w.applied() if w.shallow(e.point)]
            if shallow:
                self.run(w.drop(shallow[n % len(shallow)]))
        elif action == "duplicate":
            applied = w.applied()
            if applied:
                self.run(w.h.chain(applied[n % len(applied)]))
        else:
            gone = [e for e in w.escrows.values() if not e.present]
            if gone:
                again = gone[n % len(gone)]
                point = w.point(again.chain, where, again.created.point.tx_id)
                self.run(w.deliver(replace(again.created, point=point)))

    @rule(escrow=st.integers(0, 15), stage=st.sampled_from(STAGES),
          delta=st.sampled_from([0, -1, 1]), seconds=st.sampled_from([1, 12, 60, 200, 600]))
    def clock(self, escrow: int, stage: int | str, delta: int, seconds: int) -> None:
        """The clock steps to an edge of one of an escrow's windows (or ``delta`` around
        it); when that edge is past, it moves on by ``seconds``."""
        w = self.w
        present = [e for e in w.escrows.values() if e.present]
        edge = w.window_edge(present[escrow % len(present)], stage) if present else None
        if edge is not None and edge + delta > w.now:
            w.h.clock.set(edge + delta)
        else:
            w.h.clock.advance(seconds)

    # -- the relayer -------------------------------------------------------------------

    @rule(action=st.sampled_from(["tick", "tick", "post", "restart", "rival", "cancel_order"]),
          order=st.integers(0, 2), index=st.integers(0, 3))
    def relayer(self, action: str, order: int, index: int) -> None:
        """The relayer ticks (a second coordinator, if one runs, at the same time); the
        maker posts a secret; the relayer restarts; a second coordinator starts or
        stops; the maker cancels an order."""
        w = self.w
        lot = w.lots[order % len(w.lots)]
        if action == "tick":
            self.run(self._tick())
        elif action == "post":
            self.run(self._post(lot, index % len(lot.secrets.secrets)))
        elif action == "restart":
            self.run(self._restart())
        elif action == "rival" and self.rival is None:
            self.rival = w.h.new_coordinator()
            self.run(self.rival.rebuild())
            self.detach_rival = self.rival.attach()
        elif action == "rival":
            self.detach_rival()
            self.rival = None
        elif action == "cancel_order":
            self.run(self._cancel_order(lot))

    async def _tick(self) -> None:
        """A tick of every coordinator at once; after it, every clean fill's secret is out
        (custody mode)."""
        w = self.w
        clean = [(lot.slot, index) for lot, index in clean_fills(w)] if w.custody else []
        coordinators = [w.h.coordinator, *([self.rival] if self.rival else [])]
        outcomes = await asyncio.gather(*(c.tick() for c in coordinators),
                                        return_exceptions=True)
        await w.h.bus.drain()
        w.violations.extend((CRASH, f"tick raised {o!r}") for o in outcomes
                            if isinstance(o, BaseException))
        for slot, index in clean:
            if (w.lots[slot].order_hash, index) not in w.released:
                w.violations.append((LIVENESS, f"secret {index} of O{slot} not released by "
                                     "a tick although its fill is valid, final and alone"))

    async def _post(self, lot: Lot, index: int) -> None:
        """The maker posts secret ``index``: refused only while no fill is ready for it."""
        w = self.w
        clean = (lot.slot, index) in [(c.slot, i) for c, i in clean_fills(w)]
        try:
            await w.h.coordinator.accept_secret(lot.order_hash, index,
                                                lot.secrets.secrets[index])
        except ConflictError as exc:
            if exc.code != "FILL_NOT_READY":
                w.violations.append((CRASH, f"accept_secret raised {exc!r}"))
            elif clean:
                w.violations.append((LIVENESS, f"the maker's secret {index} of O{lot.slot} "
                                     f"was refused although its fill is valid, final and "
                                     f"alone: {exc.details}"))
        except Exception as exc:  # the coordinator broke: a finding, not a test error
            w.violations.append((CRASH, f"accept_secret raised {exc!r}"))
        await w.h.bus.drain()

    async def _restart(self) -> None:
        """A new coordinator over the same log, book and escrows, rebuilt from the log."""
        h = self.w.h
        h.detach()
        h.coordinator = h.new_coordinator()
        await h.coordinator.rebuild()
        h.detach = h.coordinator.attach()

    async def _cancel_order(self, lot: Lot) -> None:
        h = self.w.h
        entry = h.book.get(lot.order_hash)
        if entry is not None and entry.status in CANCELLABLE:
            await h.desk.transition(lot.order_hash, OrderStatus.CANCELLED,
                                    reason="maker_cancelled")
            await h.bus.drain()

    # -- the oracle --------------------------------------------------------------------

    @invariant()
    def nothing_wrong(self) -> None:
        self.steps += 1
        if self.strict and self.world is not None:
            fail(self.world.violations)

    async def _audit(self) -> None:
        """Every release in the log was published (and so judged), once per secret."""
        w = self.w
        records = await w.h.store.read(limit=1_000_000)
        streams = [r.stream for r in records if r.type == "SecretReleased"]
        logged = {(s.split(":")[1].lower(), int(s.split(":")[2])) for s in streams}
        if len(streams) != len(logged) or logged != w.released:
            w.violations.append((LOG, f"the log's releases {sorted(streams)} are not the "
                                 f"published ones {sorted(w.released)}"))

    def teardown(self) -> None:
        try:
            if self.world is not None:
                w = self.world
                self.detach_rival()
                self.run(self._audit())
                self.run(w.h.close())
                STATS.runs += 1
                STATS.steps += max(self.steps - 1, 0)
                STATS.releases += w.releases
                STATS.released_runs += w.releases > 0
                kinds = {kind for kind, _ in w.violations}
                STATS.violating_runs += bool(kinds)
                STATS.kinds.update(kinds)
                for kind, text in w.violations:
                    STATS.examples.setdefault(kind, text)
                if self.strict:
                    fail(w.violations)
        finally:
            self.loop.run_until_complete(self.loop.shutdown_default_executor())
            self.loop.close()
            shutil.rmtree(self.tmp, ignore_errors=True)


class SettlementSurvey(SettlementAdversary):
    """The same adversary that counts violations instead of stopping at the first."""

    strict = False


@contextmanager
def quiet_logs() -> Iterator[None]:
    """No log lines for thousands of runs (the relayer logs every fill's move)."""
    config = structlog.get_config()
    if config["cache_logger_on_first_use"]:  # loggers made now would stay quiet: leave it
        yield
        return
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.CRITICAL))
    try:
        yield
    finally:
        structlog.configure(**config)


def run(*, runs: int, derandomize: bool, seed: int | None = None, steps: int = STEPS,
        strict: bool = True) -> Stats:
    """Run the machine ``runs`` times; a violation raises with the shrunk steps."""
    global STATS
    STATS = Stats()
    machine: type[SettlementAdversary] = SettlementAdversary if strict else SettlementSurvey
    if seed is not None:  # what hypothesis.seed does to a state machine class
        machine = type(machine.__name__, (machine,), {"_hypothesis_internal_use_seed": seed})
    started = time.perf_counter()
    try:
        with quiet_logs():
            run_state_machine_as_test(machine, settings=settings(
                max_examples=runs, stateful_step_count=steps, derandomize=derandomize,
                database=None, deadline=None, print_blob=True,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much,
                                       HealthCheck.data_too_large]))
    finally:
        STATS.seconds += time.perf_counter() - started
    return STATS
