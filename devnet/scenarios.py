"""The scripted devnet scenarios behind ``python -m devnet --scenario NAME``.

Each one drives real swaps through the running devnet and records checks
with what it measured; ``run_scenario`` gives the report (``--json`` prints
it). The names match the acceptance cases of the settlement issue.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace

import structlog

from devnet.attacks import forged_lock, shared_hashlock
from devnet.maker import MakerOrder
from devnet.scenario_kit import (
    EXECUTED,
    REFUND_TIMEOUT,
    REFUNDED,
    SETTLED,
    SHORT_TIMELOCKS,
    SWAP_TIMEOUT,
    Balances,
    Report,
    ScenarioFailed,
    Scene,
    all_in,
    check_metrics,
)
from devnet.stack import Devnet
from relayer.orders.timelocks import Stage
from relayer.settlement.policy import stage_start
from resolver.chains import ChainWallet, EscrowHandle, FillPlan, dst_terms
from resolver.client import FillState
from resolver.engine import Resolver
from resolver.ethereum import NATIVE
from resolver.pricing import Quote, fill_plan

log = structlog.get_logger(__name__)
Scenario = Callable[[Scene], Awaitable[None]]


async def eth_to_ada(scene: Scene) -> None:
    """An Ethereum-to-Cardano swap: the maker posts its secret when the relayer says the
    fill is ready; balances on both chains move by exactly the auction amounts."""
    alpha = scene.start_resolver("alpha")
    await _honest_swap(scene, "eth-to-ada", {"alpha": alpha}, custody=False)
    await check_metrics(scene, secrets=1)


async def ada_to_eth(scene: Scene) -> None:
    """A Cardano-to-Ethereum swap with the secret in the relayer's custody."""
    alpha = scene.start_resolver("alpha")
    await _honest_swap(scene, "ada-to-eth", {"alpha": alpha}, custody=True)


async def partial_fill(scene: Scene) -> None:
    """One order of 3 parts filled by two resolvers, one part per fill."""
    alpha = scene.start_resolver("alpha", parts_per_fill=1)
    spec = await scene.spec("eth-to-ada", parts=3, making=90 * 10**6)
    ledger = _Ledger(scene, spec.src_chain, spec.dst_chain, spec.receiver, ["alpha", "beta"])
    await ledger.snapshot()
    order = await scene.submit(spec)
    await ledger.submitted()
    scene.spawn(scene.maker.keep_revealing([order]))

    async def first_fill_seen() -> bool:
        return bool(await scene.client.fills(order.order_hash))

    await scene.until("the first fill", first_fill_seen, timeout=SWAP_TIMEOUT)
    beta = scene.start_resolver("beta", parts_per_fill=1)
    fills = await scene.until_fills(
        order, "three settled fills",
        lambda fs: len(fs) == 3 and all(f.status == SETTLED for f in fs),
        timeout=SWAP_TIMEOUT * 2)
    takers = {name for name, r in (("alpha", alpha), ("beta", beta))
              if any(rec.order_hash == order.order_hash and rec.outcome == SETTLED
                     for rec in r.records)}
    scene.check("three fills", len(fills) == 3, fills=[f.fill_id for f in fills])
    scene.check("secret indexes 0..parts used once each",
                sorted(f.idx for f in fills) == sorted({f.idx for f in fills}),
                indexes=sorted(f.idx for f in fills))
    scene.check("two resolvers filled", takers == {"alpha", "beta"}, takers=sorted(takers))
    await ledger.verify(order, {"alpha": alpha, "beta": beta})
    status = await scene.final_status(order, EXECUTED)
    scene.check("order executed", status == EXECUTED, status=status)


async def bad_dst_escrow(scene: Scene) -> None:
    """A rogue resolver answers source escrows with wrong destination escrows: wrong
    amount, wrong receiver, wrong hashlock, a late cancellation. The secret is never
    released, each fill shows why, and the maker gets its funds back."""
    rogue = scene.wallets("beta")
    spoilers: dict[str, tuple[Callable[..., object], str]] = {
        "wrong amount": (lambda t: replace(t, amount=t.amount - 1), "DST_AMOUNT_TOO_LOW"),
        "wrong receiver": (lambda t: replace(t, maker=rogue["cardano"].address),
                           "DST_RECEIVER_MISMATCH"),
        "wrong hashlock": (lambda t: replace(t, hashlock=bytes(32)), "DST_ESCROW_MISSING"),
        "late cancellation": (
            lambda t: replace(t, timelocks=replace(
                t.timelocks, dst_cancellation=t.timelocks.src_cancellation + 30),
                src_cancellation=t.src_cancellation + 60),
            "DST_CANCELS_LATE"),
    }

    async def one(name: str) -> None:
        spoil, reason = spoilers[name]
        spec = await scene.spec("eth-to-ada", timelocks=SHORT_TIMELOCKS)
        order = await scene.submit(spec)
        scene.spawn(scene.maker.keep_revealing([order]))
        src, dst = await _rogue_fill(scene, rogue, order, spoil)

        def shown(fills: list[FillState]) -> bool:
            # Once both escrows are final, only the spoiled rule holds the secret back (a
            # destination escrow with another hashlock is no destination at all).
            return any(reason in f.reasons and "SRC_NOT_FINAL" not in f.reasons
                       and (reason == "DST_ESCROW_MISSING" or "DST_NOT_FINAL" not in f.reasons)
                       for f in fills)

        await scene.until_fills(order, f"{name}: {reason} shown", shown, timeout=SWAP_TIMEOUT)
        # Past the moment an honest escrow would have had its secret: none for this one.
        await _until_chain(rogue["cardano"], stage_start(dst.immutables.timelocks,
                                                         Stage.DST_WITHDRAWAL) + 4)
        secrets = await scene.watcher.secrets(order.order_hash)
        scene.check(f"{name}: secret withheld", not secrets, reason=reason,
                    reasons_seen=scene.swap_report(order).reasons_seen)
        if dst is not src:
            await _until_chain(rogue["cardano"], stage_start(dst.immutables.timelocks,
                                                             Stage.DST_CANCELLATION))
            await rogue["cardano"].cancel(dst)
        await _until_chain(rogue["ethereum"], stage_start(src.immutables.timelocks,
                                                          Stage.SRC_CANCELLATION))
        await rogue["ethereum"].cancel(src)
        await scene.until_fills(order, f"{name}: refunded", all_in({REFUNDED}),
                                timeout=REFUND_TIMEOUT)
        scene.check(f"{name}: no secret ever released",
                    not await scene.watcher.secrets(order.order_hash))

    maker_before = await scene.eth_maker.balance(scene.token)
    await asyncio.gather(*(one(name) for name in spoilers))
    moved = await scene.eth_maker.balance(scene.token) - maker_before
    scene.check("maker refunded in full", moved == 0, moved=moved)


async def resolver_vanishes(scene: Scene) -> None:
    """A resolver locks the maker's funds in a source escrow and is never heard from
    again: once the public cancellation begins, another resolver cancels the escrow
    for the safety deposit and the maker has every unit back."""
    rogue = scene.wallets("beta")
    spec = await scene.spec("eth-to-ada", timelocks=SHORT_TIMELOCKS)
    maker_before = await scene.eth_maker.balance(scene.token)
    order = await scene.submit(spec)
    src, _ = await _rogue_fill(scene, rogue, order, None)
    alpha = scene.start_resolver("alpha")
    eth_alpha = alpha.wallet("ethereum")
    alpha_eth_before = await eth_alpha.balance(_native("ethereum"))
    await scene.until_fills(order, "refunded", all_in({REFUNDED}), timeout=REFUND_TIMEOUT)
    maker_after = await scene.eth_maker.balance(scene.token)
    actions = [(a, s) for a, s in alpha.public_sent if a.escrow.escrow == src.escrow]
    scene.check("public cancel by another resolver",
                [a.action for a, _ in actions] == ["public_cancel"],
                actions=[a.action for a, _ in actions])
    scene.check("maker refunded in full", maker_after == maker_before,
                moved=maker_after - maker_before)
    earned = await eth_alpha.balance(_native("ethereum")) - alpha_eth_before
    fees = sum(s.fee for _, s in actions)
    scene.check("canceller earned the safety deposit",
                earned == spec.src_safety_deposit - fees,
                earned=earned, deposit=spec.src_safety_deposit, fees=fees)
    scene.check("no secret released", not await scene.watcher.secrets(order.order_hash))
    scene.swap_report(order).moved = {"maker": {f"ethereum:{scene.token}":
                                                maker_after - maker_before}}


async def relayer_restart(scene: Scene) -> None:
    """kill -9 of the relayer while a swap waits for its secret (custody mode), then a
    restart: the swap completes and the secret is released exactly once."""

    async def restart() -> None:
        scene.devnet.kill_relayer()
        await scene.devnet.start_relayer()

    await _swap_across(scene, "restart", restart)


async def leader_failover(scene: Scene) -> None:
    """Two relayer replicas on one PostgreSQL (``--store-url postgresql://...``): kill -9
    of the leader while a swap waits for its secret (custody mode); the follower takes
    over the chain work, the swap settles and the secret is released once."""
    devnet = scene.devnet
    if devnet.options.replicas < 2 or not devnet.options.store_url:
        raise ScenarioFailed("leader-failover needs --store-url postgresql://... "
                             "and --replicas 2")
    roles = [await _role(devnet, index) for index in range(devnet.options.replicas)]
    scene.check("one leader at the start", roles.count("leader") == 1, roles=roles)
    leader = roles.index("leader")
    survivor = next(i for i in range(devnet.options.replicas) if i != leader)

    async def took_over() -> bool:
        return await _role(devnet, survivor) == "leader"

    async def kill_the_leader() -> None:
        devnet.kill_relayer(leader)
        await scene.until("the follower to take over", took_over, timeout=30)

    await _swap_across(scene, "takeover", kill_the_leader)


async def _swap_across(scene: Scene, what: str,
                       disruption: Callable[[], Awaitable[None]]) -> None:
    """A custody-mode swap by ``alpha`` with ``disruption`` done to the relayer once the
    source escrow is indexed (before any secret can go out): the swap still settles,
    with the right secret released once and exact balances."""
    alpha = scene.start_resolver("alpha")
    spec = await scene.spec("eth-to-ada", custody=True)
    ledger = _Ledger(scene, spec.src_chain, spec.dst_chain, spec.receiver, ["alpha"])
    await ledger.snapshot()
    order = await scene.submit(spec)
    await ledger.submitted()
    await scene.until_fills(order, "the source escrow indexed", bool, timeout=SWAP_TIMEOUT)
    started = time.monotonic()
    await disruption()
    scene.swap_report(order).timings[f"{what}_seconds"] = round(time.monotonic() - started, 2)
    await scene.until_fills(order, f"settled after the {what}", all_in({SETTLED}),
                            timeout=SWAP_TIMEOUT)
    secrets = await scene.watcher.secrets(order.order_hash)
    scene.check("secret released once, and the right one",
                list(secrets) == [0] and secrets[0] == order.secrets.secrets[0])
    await ledger.verify(order, {"alpha": alpha})


async def _role(devnet: Devnet, index: int) -> str:
    import httpx

    url = f"http://127.0.0.1:{devnet.ports[index]}/health"
    try:
        async with httpx.AsyncClient() as http:
            body = (await http.get(url, timeout=2)).json()
    except (httpx.HTTPError, ValueError):
        return "down"
    return str((body.get("replica") or {}).get("role", "leader"))


SCENARIOS: dict[str, Scenario] = {
    "eth-to-ada": eth_to_ada,
    "ada-to-eth": ada_to_eth,
    "partial-fill": partial_fill,
    "bad-dst-escrow": bad_dst_escrow,
    "resolver-vanishes": resolver_vanishes,
    "relayer-restart": relayer_restart,
    "leader-failover": leader_failover,
    "forged-lock": forged_lock,
    "shared-hashlock": shared_hashlock,
}


@dataclass(frozen=True, slots=True)
class Needs:
    """What a scenario needs beyond the default devnet (SQLite, one relayer)."""

    postgresql: bool = False
    replicas: int = 1

    @property
    def flags(self) -> str:
        wanted = ["--store-url postgresql://..."] if self.postgresql else []
        if self.replicas > 1:
            wanted.append(f"--replicas {self.replicas}")
        return " ".join(wanted)

    def missing(self, *, store_url: str | None, replicas: int) -> bool:
        on_postgresql = (store_url or "").startswith(("postgresql://", "postgres://"))
        return (self.postgresql and not on_postgresql) or replicas < self.replicas


NEEDS: dict[str, Needs] = {"leader-failover": Needs(postgresql=True, replicas=2)}
"""Scenarios that cannot run on the default devnet; ``python -m devnet`` exits 3 for them
when the flags do not provide it."""


def describe(name: str) -> str:
    doc = " ".join((SCENARIOS[name].__doc__ or "").split())
    needs = NEEDS.get(name)
    return f"(needs {needs.flags}) {doc}" if needs else doc


async def run_scenario(name: str, devnet: Devnet) -> Report:
    report = Report(scenario=name)
    scene = Scene(devnet, report)
    started = time.monotonic()
    try:
        await SCENARIOS[name](scene)
    except ScenarioFailed as exc:
        report.error = exc.message
    except Exception as exc:  # the report still goes out, saying what broke
        log.exception("scenario_crashed", scenario=name)
        report.error = f"{type(exc).__name__}: {exc}"
    finally:
        await scene.finish()
        await scene.close()
    report.seconds = round(time.monotonic() - started, 2)
    report.ok = report.error is None and bool(report.checks) and all(
        c.ok for c in report.checks)
    return report


# ---------------------------------------------------------------------- shared steps


async def _honest_swap(scene: Scene, direction: str, resolvers: dict[str, Resolver], *,
                       custody: bool) -> MakerOrder:
    spec = await scene.spec(direction, custody=custody)
    ledger = _Ledger(scene, spec.src_chain, spec.dst_chain, spec.receiver, list(resolvers))
    await ledger.snapshot()
    order = await scene.submit(spec)
    await ledger.submitted()
    if not custody:
        scene.spawn(scene.maker.keep_revealing([order]))
    await scene.until_fills(order, "the swap settled", all_in({SETTLED}),
                            timeout=SWAP_TIMEOUT)
    report = scene.swap_report(order)
    for reason in ("DST_FINALITY_LOCK",):
        scene.check(f"secret waited for {reason}", reason in report.reasons_seen,
                    reasons_seen=report.reasons_seen)
    await ledger.verify(order, resolvers)
    status = await scene.final_status(order, EXECUTED)
    scene.check("order executed", status == EXECUTED, status=status)
    return order


async def _rogue_fill(scene: Scene, rogue: dict[str, ChainWallet], order: MakerOrder,
                      spoil: Callable[..., object] | None
                      ) -> tuple[EscrowHandle, EscrowHandle]:
    """The rogue fills ``order`` at once at the auction's start price; with ``spoil`` it
    also creates the spoiled destination escrow (else it vanishes)."""
    signed = order.signed
    wallet = rogue[signed.order.src_chain]
    now = await wallet.chain_time()
    from relayer.auction.curve import fill_taking_amount

    o = signed.order
    required = fill_taking_amount(o.taking_amount, o.making_amount, o.making_amount,
                                  o.auction, now)
    plan: FillPlan = fill_plan(signed, 0, Quote(o.making_amount, required, required))
    src = await wallet.fill(plan)
    if spoil is None:
        return src, src
    terms = spoil(dst_terms(signed, src))
    dst = await rogue[o.dst_chain].create_dst(terms)  # type: ignore[arg-type]
    return src, dst


async def _until_chain(wallet: ChainWallet, at: int) -> None:
    while await wallet.chain_time() < at:
        await asyncio.sleep(0.25)


def _native(chain: str) -> str:
    """The chain's own coin, as the wallets name it in ``balance``."""
    return NATIVE if chain == "ethereum" else "lovelace"


class _Ledger:
    """Balances of the maker, the receiver and the resolvers around one swap, and the
    exact change each should see."""

    def __init__(self, scene: Scene, src: str, dst: str, receiver: str,
                 resolvers: list[str]) -> None:
        self._scene = scene
        self._src, self._dst = src, dst
        maker_wallet = scene.eth_maker if src == "ethereum" else scene.ada_maker
        dst_wallet = scene.eth_maker if dst == "ethereum" else scene.ada_maker
        self._maker_asset = scene.token if src == "ethereum" else "lovelace"
        self._taker_asset = scene.token if dst == "ethereum" else "lovelace"
        parties: dict[str, list[tuple[ChainWallet, str, str]]] = {
            "maker": [(maker_wallet, self._maker_asset, maker_wallet.address)],
            "receiver": [(dst_wallet, self._taker_asset, receiver)],
        }
        self._resolver_names = resolvers
        for name in resolvers:
            entries: list[tuple[ChainWallet, str, str]] = []
            readers: tuple[tuple[str, ChainWallet], ...] = (
                ("ethereum", scene.eth_maker), ("cardano", scene.ada_maker))
            for chain, wallet in readers:
                address = (scene.devnet.eth_address(name) if chain == "ethereum"
                           else scene.devnet.cardano_address(name))
                assets = {_native(chain), scene.token if chain == "ethereum"
                          else "lovelace"}
                entries += [(wallet, asset, address) for asset in sorted(assets)]
            parties[name] = entries
        self._balances = Balances(scene, parties)

    async def snapshot(self) -> None:
        await self._balances.snapshot()

    async def submitted(self) -> None:
        """A Cardano maker's funds leave at the lock, before the order is submitted:
        from here on its balance must not move (the relayer checked the lock holds
        exactly the making amount)."""
        if self._src == "cardano":
            await self._balances.snapshot("maker")

    async def verify(self, order: MakerOrder, resolvers: dict[str, Resolver]) -> None:
        moved = await self._balances.moved()
        scene = self._scene
        scene.swap_report(order).moved = moved
        src_key = f"{self._src}:{self._maker_asset}"
        dst_key = f"{self._dst}:{self._taker_asset}"
        expected: dict[str, dict[str, int]] = {name: {k: 0 for k in moved[name]}
                                               for name in moved}
        # An Ethereum maker's funds move at the fill; a Cardano maker's at the lock
        # (see ``submitted``).
        making = order.spec.making_amount
        expected["maker"][src_key] = -making if self._src == "ethereum" else 0
        for name, resolver in resolvers.items():
            for record in resolver.records:
                if record.order_hash != order.order_hash:
                    continue
                # Every transaction a swap paid for, also a failed one: two resolvers can
                # try the same part at once, and the loser's fill reverts (its gas is in
                # its record, whose outcome is "failed").
                for chain in ("ethereum", "cardano"):
                    expected[name][f"{chain}:{_native(chain)}"] -= record.fees(chain)
                if record.outcome != SETTLED:
                    continue
                expected["receiver"][dst_key] += record.dst_amount
                expected[name][src_key] += record.amount
                expected[name][dst_key] -= record.dst_amount
        scene.check("receiver got the promised amount",
                    moved["receiver"] == expected["receiver"],
                    moved=moved["receiver"], expected=expected["receiver"])
        scene.check("maker paid exactly the making amount",
                    moved["maker"] == expected["maker"],
                    moved=moved["maker"], expected=expected["maker"])
        for name in resolvers:
            scene.check(f"{name}: balances exact (amounts, deposits back, fees)",
                        moved[name] == expected[name],
                        moved=moved[name], expected=expected[name])
        fills_amount = sum(r.amount for res in resolvers.values() for r in res.records
                           if r.order_hash == order.order_hash and r.outcome == SETTLED)
        scene.check("fills cover the order", fills_amount == making,
                    filled=fills_amount, making=making)
        if not fills_amount:
            raise ScenarioFailed("no settled fill by the reference resolvers")
